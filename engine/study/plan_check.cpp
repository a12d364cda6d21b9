#include "plan_check.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace knee {

ThroughputMeasurement measureThroughputPerReplica(const Scenario& scenario, std::int64_t requests)
{
    Scenario s = scenario;
    s.name += " (one replica at its target)";
    s.deployment.minReplicas = s.deployment.maxReplicas = s.deployment.initialReplicas = 1;
    s.deployment.autoscaler.policy = AutoscalerConfig::Policy::None;
    s.changes.clear();
    s.workload.arrival = ArrivalConfig::closed(s.deployment.concurrencyTarget);
    s.workload.requests = requests;
    s.workload.durationS = 0;
    s.workload.warmupS = 0;
    Engine engine(s);
    // Leave the first tenth out: the replica starts empty.
    std::int64_t seen = 0;
    Nanos measureFrom = 0;
    std::int64_t measured = 0;
    Nanos last = 0;
    LatencyHistogram latency;
    engine.setObserver([&](const Request& r) {
        if (r.outcome != Outcome::Completed)
            return;
        if (++seen == requests / 10)
            measureFrom = r.done;
        else if (seen > requests / 10) {
            ++measured;
            last = r.done;
            latency.record(r.latency());
        }
    });
    engine.startLoad();
    engine.runToCompletion();
    ThroughputMeasurement m;
    m.concurrency = s.deployment.concurrencyTarget;
    m.requests = measured;
    m.throughputRps = last > measureFrom ? double(measured) / nanosToSeconds(last - measureFrom) : 0;
    m.p50Ms = nanosToMs(latency.quantile(0.5));
    m.p99Ms = nanosToMs(latency.quantile(0.99));
    return m;
}

PlanCheck checkPlan(const Scenario& scenario, const ReplicaPlan& plan, const PlanCheckOptions& o)
{
    PlanCheck check;
    Scenario s = scenario;
    s.deployment.minReplicas = plan.minReplicas;
    s.deployment.maxReplicas = plan.maxReplicas;
    s.deployment.initialReplicas = std::max(plan.minReplicas, 1);
    if (s.deployment.autoscaler.policy == AutoscalerConfig::Policy::None)
        s.deployment.autoscaler.policy = AutoscalerConfig::Policy::Baseten;
    if (o.costPerReplicaHour >= 0)
        s.deployment.costPerReplicaHour = o.costPerReplicaHour;
    s.changes.clear();
    const ArrivalConfig& a = s.workload.arrival;
    const bool shaped = a.openLoop() && !a.hasFixedRate();
    char words[200];
    if (!shaped) {
        ArrivalConfig day;
        day.kind = ArrivalConfig::Kind::Diurnal;
        day.baselineRps = std::max(o.baselineRps, 1e-3);
        day.peakRps = std::max(o.peakRps, day.baselineRps);
        day.periodS = o.hours * 3600;
        day.peakAtS = day.periodS / 2;
        s.workload.arrival = day;
        s.workload.requests = 0;
        s.workload.durationS = day.periodS;
        s.workload.warmupS = 0;
        std::snprintf(words, sizeof words, "diurnal: %g req/s at the ends of %g h, %g req/s at its middle (Poisson)", day.baselineRps,
                      o.hours, day.peakRps);
    } else {
        std::snprintf(words, sizeof words, "the scenario's own %s traffic", toString(a.kind));
    }
    check.traffic = words;
    check.scenario = s;
    Engine engine(s);
    const auto start = std::chrono::steady_clock::now();
    engine.startLoad();
    engine.runToCompletion();
    check.summary = summarize(engine, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    check.shareOverSlo = o.sloMs > 0 ? shareOver(engine.metrics(), o.sloMs) : 0;
    return check;
}

} // namespace knee
