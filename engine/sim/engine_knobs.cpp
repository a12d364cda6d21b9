// The engine's knobs: each move is judged by the same rules as a scenario (scenario.h's check
// functions), acts at now(), and never kills work (a lowered knob lets the excess drain).
#include "engine.h"

#include <algorithm>

namespace knee {

std::string Engine::setConcurrencyTarget(int target)
{
    if (auto e = checkConcurrencyKnob("concurrency target", target); !e.empty())
        return e;
    m_scenario.deployment.concurrencyTarget = target;
    refreshLimitLevel();
    dispatch(); // a raise admits queued requests now; a lowering admits nothing until the excess drains
    return {};
}

std::string Engine::setPredictConcurrency(int predictSlots)
{
    if (auto e = checkConcurrencyKnob("predict_concurrency", predictSlots); !e.empty())
        return e;
    m_scenario.deployment.predictConcurrency = predictSlots;
    for (int i = 0; i < int(m_replicas.size()); ++i)
        if (m_replicas[std::size_t(i)].provisioned())
            m_predictStage.refill(i);
    return {};
}

std::string Engine::setReplicaBounds(int minReplicas, int maxReplicas)
{
    if (auto e = checkReplicaBounds(minReplicas, maxReplicas); !e.empty())
        return e;
    m_scenario.deployment.minReplicas = minReplicas;
    m_scenario.deployment.maxReplicas = maxReplicas;
    // The count moves only to stay inside the new bounds (the autoscaler, if any, works within them).
    const int active = m_replicas.active();
    scaleTo(std::clamp(active, minReplicas, maxReplicas));
    return {};
}

std::string Engine::setArrivalRate(double rps)
{
    if (auto e = checkArrivalRateFor(m_scenario.workload.arrival, rps); !e.empty())
        return e;
    m_scenario.workload.arrival.rateRps = rps;
    m_load.setRate(rps, m_now);
    return {};
}

std::string Engine::setUsers(int users)
{
    if (auto e = checkUsersFor(m_scenario.workload.arrival, users); !e.empty())
        return e;
    m_scenario.workload.arrival.users = users;
    m_load.setUsers(users, m_now);
    return {};
}

std::string Engine::setAutoscaler(const AutoscalerConfig& config)
{
    if (auto e = checkAutoscaler(config); !e.empty())
        return e;
    m_scenario.deployment.autoscaler = config;
    m_scaling.set(config, m_now, std::int64_t(m_queue.size()) + m_held); // a pending tick of the old one is stale
    scheduleTick();
    return {};
}

std::string Engine::setColdStart(double seconds)
{
    if (auto e = checkColdStart(seconds); !e.empty())
        return e;
    m_scenario.deployment.coldStartS = seconds;
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
