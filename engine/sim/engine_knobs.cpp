// The engine's knobs: each move is judged by the same rules as a scenario (scenario.h's check
// functions), acts at now(), and never kills work (a lowered knob lets the excess drain).
#include "engine.h"

#include <algorithm>
#include <variant>

namespace knee {

namespace {
template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
// clang before 17 has no deduction for aggregates (the fuzz and sanitizer builds use clang 14).
template <class... F>
Overloaded(F...) -> Overloaded<F...>;
} // namespace

std::string Engine::applyKnob(const KnobMove& move)
{
    if (auto e = checkKnob(m_scenario, move); !e.empty())
        return e;
    writeKnob(m_scenario, move);
    // What the run does about it at once.
    std::visit(Overloaded{
                   [this](const knob::ConcurrencyTarget&) {
                       refreshLimitLevel();
                       dispatch(); // a raise admits queued requests now; a lowering admits nothing until the excess drains
                   },
                   [this](const knob::PredictConcurrency&) {
                       for (int i = 0; i < int(m_replicas.size()); ++i)
                           if (m_replicas[std::size_t(i)].provisioned())
                               m_predictStage.refill(i);
                   },
                   [this](const knob::ReplicaBounds& b) {
                       // The count moves only to stay inside the new bounds (the autoscaler, if any, works within them).
                       scaleTo(std::clamp(m_replicas.active(), b.minReplicas, b.maxReplicas));
                   },
                   [this](const knob::ArrivalRate& r) { m_load.setRate(r.rps, m_now); },
                   [this](const knob::Users& u) { m_load.setUsers(u.users, m_now); },
                   [this](const knob::AutoscalerSetting& a) {
                       m_scaling.set(a.config, m_now, std::int64_t(m_queue.size()) + m_held); // a pending tick of the old one is stale
                       scheduleTick();
                   },
                   [](const knob::ColdStart&) {}, // read when a replica is provisioned
               },
               move);
    return {};
}

void Engine::applyChange(std::size_t index)
{
    const KnobChange& c = m_scenario.changes[index];
    // Validated with the scenario, so none of these can refuse.
    if (c.minReplicas || c.maxReplicas)
        setReplicaBounds(c.minReplicas.value_or(m_scenario.deployment.minReplicas),
                         c.maxReplicas.value_or(m_scenario.deployment.maxReplicas));
    if (c.predictConcurrency)
        setPredictConcurrency(*c.predictConcurrency);
    if (c.concurrencyTarget)
        setConcurrencyTarget(*c.concurrencyTarget);
    if (c.rateRps && m_load.fixedRate())
        setArrivalRate(*c.rateRps);
    if (c.users && m_load.closedLoop())
        setUsers(*c.users);
}

std::vector<std::string> Engine::warnings() const
{
    std::vector<std::string> out;
    if (auto w = targetBelowPredictWarning(m_scenario.deployment.concurrencyTarget, m_scenario.deployment.predictConcurrency);
        !w.empty())
        out.push_back(w);
    return out;
}

} // namespace knee
