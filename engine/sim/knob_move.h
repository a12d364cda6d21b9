// The knobs a running engine is turned by, in one place: a move of one knob as a value, with the one
// rule that judges it (and its words) and the one place it is written into a scenario's knobs. The
// engine applies moves (Engine::applyKnob); the live host shows an accepted move at once and hands the
// same value to its engine thread (LiveEngineHost::applyKnob). KnobSetters gives both the same setters.
#pragma once
#include "scenario.h"

#include <string>
#include <variant>

namespace knee {

namespace knob {
// Each knob: check() is empty when the move may be applied to a run of `s`, else why not (the rules
// of scenario.h, shared with the scenario file); write() sets it in `s`.
struct ConcurrencyTarget {
    int target;
    std::string check(const Scenario&) const { return checkConcurrencyKnob("concurrency target", target); }
    void write(Scenario& s) const { s.deployment.concurrencyTarget = target; }
};
struct PredictConcurrency {
    int predictSlots; // not `slots`: Qt defines that word
    std::string check(const Scenario&) const { return checkConcurrencyKnob("predict_concurrency", predictSlots); }
    void write(Scenario& s) const { s.deployment.predictConcurrency = predictSlots; }
};
struct ReplicaBounds {
    int minReplicas, maxReplicas;
    std::string check(const Scenario&) const { return checkReplicaBounds(minReplicas, maxReplicas); }
    void write(Scenario& s) const
    {
        s.deployment.minReplicas = minReplicas;
        s.deployment.maxReplicas = maxReplicas;
    }
};
struct ArrivalRate {
    double rps;
    std::string check(const Scenario& s) const { return checkArrivalRateFor(s.workload.arrival, rps); }
    void write(Scenario& s) const { s.workload.arrival.rateRps = rps; }
};
struct Users {
    int users;
    std::string check(const Scenario& s) const { return checkUsersFor(s.workload.arrival, users); }
    void write(Scenario& s) const { s.workload.arrival.users = users; }
};
struct AutoscalerSetting {
    AutoscalerConfig config;
    std::string check(const Scenario&) const { return checkAutoscaler(config); }
    void write(Scenario& s) const { s.deployment.autoscaler = config; }
};
struct ColdStart {
    double seconds;
    std::string check(const Scenario&) const { return checkColdStart(seconds); }
    void write(Scenario& s) const { s.deployment.coldStartS = seconds; }
};
} // namespace knob

using KnobMove = std::variant<knob::ConcurrencyTarget, knob::PredictConcurrency, knob::ReplicaBounds, knob::ArrivalRate,
                              knob::Users, knob::AutoscalerSetting, knob::ColdStart>;

inline std::string checkKnob(const Scenario& s, const KnobMove& move)
{
    return std::visit([&](const auto& m) { return m.check(s); }, move);
}
inline void writeKnob(Scenario& s, const KnobMove& move)
{
    std::visit([&](const auto& m) { m.write(s); }, move);
}

// The knob setters, declared once for the engine and for what fronts it (the live host): each makes a
// move and hands it to Owner::applyKnob. Empty string = accepted, else why it was refused.
template <class Owner>
class KnobSetters {
public:
    // Knobs act at now(); lowering never kills work, the excess drains.
    std::string setConcurrencyTarget(int target) { return apply(knob::ConcurrencyTarget{target}); }
    std::string setPredictConcurrency(int predictSlots) { return apply(knob::PredictConcurrency{predictSlots}); }
    std::string setReplicaBounds(int minReplicas, int maxReplicas) { return apply(knob::ReplicaBounds{minReplicas, maxReplicas}); }
    std::string setArrivalRate(double rps) { return apply(knob::ArrivalRate{rps}); }
    std::string setUsers(int users) { return apply(knob::Users{users}); }
    // A new autoscaler policy or setting starts with an empty averaging window.
    std::string setAutoscaler(const AutoscalerConfig& config) { return apply(knob::AutoscalerSetting{config}); }
    std::string setColdStart(double seconds) { return apply(knob::ColdStart{seconds}); } // for replicas provisioned from now on

protected:
    KnobSetters() = default;
    ~KnobSetters() = default;

private:
    std::string apply(const KnobMove& move) { return static_cast<Owner&>(*this).applyKnob(move); }
};

} // namespace knee
