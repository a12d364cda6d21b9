#include "replica_plan.h"

#include "sim/scenario.h"

#include <cmath>
#include <cstdio>

namespace knee {

static std::string number(double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

ReplicaPlan planReplicas(const ReplicaPlanInput& in)
{
    ReplicaPlan plan;
    if (!std::isfinite(in.throughputPerReplicaRps) || in.throughputPerReplicaRps <= 0) {
        plan.error = "throughput per replica must be a positive number of requests/s";
        return plan;
    }
    if (!std::isfinite(in.baselineRps) || in.baselineRps < 0 || !std::isfinite(in.peakRps) || in.peakRps < 0) {
        plan.error = "baseline and peak rates must be finite and >= 0";
        return plan;
    }
    if (in.peakRps < in.baselineRps) {
        plan.error = "the peak rate (" + number(in.peakRps) + " req/s) is below the baseline (" + number(in.baselineRps) + " req/s)";
        return plan;
    }
    if (in.buffer < 0 || in.redundancy < 0) {
        plan.error = "buffer and redundancy must be >= 0";
        return plan;
    }
    const double baseQuotient = in.baselineRps / in.throughputPerReplicaRps;
    const double peakQuotient = in.peakRps / in.throughputPerReplicaRps;
    const double minD = std::ceil(baseQuotient) + in.redundancy;
    const double maxD = std::ceil(peakQuotient) + in.buffer;
    if (maxD > limits::kMaxReplicas) {
        plan.error = "the plan needs more than " + std::to_string(limits::kMaxReplicas) + " replicas";
        return plan;
    }
    plan.minReplicas = int(minD);
    plan.maxReplicas = std::max(int(maxD), plan.minReplicas);
    plan.minRule = "ceil(" + number(in.baselineRps) + " / " + number(in.throughputPerReplicaRps) + ") + "
        + std::to_string(in.redundancy) + " = " + std::to_string(plan.minReplicas);
    plan.maxRule = "ceil(" + number(in.peakRps) + " / " + number(in.throughputPerReplicaRps) + ") + " + std::to_string(in.buffer)
        + " = " + std::to_string(int(maxD));
    if (plan.maxReplicas != int(maxD))
        plan.maxRule += ", raised to min replicas (" + std::to_string(plan.minReplicas) + ")";
    return plan;
}

} // namespace knee
