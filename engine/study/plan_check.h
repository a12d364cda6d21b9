// The replica plan, end to end: the throughput of one replica at its concurrency target (measured
// by simulating the scenario, or given), the plan from seed 000's rule, and a check of that plan by
// simulating the traffic in virtual time with the autoscaler on: what users would get and what it
// would cost.
#pragma once
#include "replica_plan.h"
#include "run_summary.h"

#include <optional>

namespace knee {

struct ThroughputMeasurement {
    double throughputRps = 0;
    int concurrency = 0;   // closed-loop users = the concurrency target: one replica kept full
    std::int64_t requests = 0;
    double p50Ms = 0, p99Ms = 0;
};
// One replica (min = max = 1, no autoscaler), closed loop at the concurrency target, warm-up left out.
ThroughputMeasurement measureThroughputPerReplica(const Scenario& scenario, std::int64_t requests = 50'000);

struct PlanCheckOptions {
    double baselineRps = 0, peakRps = 0;
    double hours = 24;        // a day of traffic: baseline at the ends, peak in the middle (cosine)
    double sloMs = 0;         // 0: no SLO given
    double costPerReplicaHour = -1; // < 0: the scenario's own
};

struct PlanCheck {
    Scenario scenario;        // what was simulated
    RunSummary summary;
    double shareOverSlo = 0;  // of completed requests (when an SLO was given)
    std::string traffic;      // in words
};

// Simulates `scenario` with min/max from `plan`. Its own shaped open-loop traffic (step, spike,
// diurnal, trace) is kept; otherwise a diurnal cycle from baseline to peak over `hours`. Without
// an autoscaler in the scenario, Baseten's defaults are used, as a deployment would get.
PlanCheck checkPlan(const Scenario& scenario, const ReplicaPlan& plan, const PlanCheckOptions& options);

} // namespace knee
