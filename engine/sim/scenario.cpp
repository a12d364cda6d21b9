#include "scenario.h"

#include <algorithm>
#include <cmath>

namespace knee {

const char* toString(ArrivalConfig::Kind kind)
{
    switch (kind) {
    case ArrivalConfig::Kind::Poisson: return "poisson";
    case ArrivalConfig::Kind::Constant: return "constant";
    case ArrivalConfig::Kind::Closed: return "closed";
    }
    return "?";
}

bool arrivalKindFromString(const std::string& name, ArrivalConfig::Kind& out)
{
    for (auto k : {ArrivalConfig::Kind::Poisson, ArrivalConfig::Kind::Constant, ArrivalConfig::Kind::Closed}) {
        if (name == toString(k)) {
            out = k;
            return true;
        }
    }
    return false;
}

std::string checkConcurrencyKnob(const char* name, int v)
{
    if (v < 1 || v > limits::kMaxConcurrency)
        return std::string(name) + " must be between 1 and " + std::to_string(limits::kMaxConcurrency) + ", got "
            + std::to_string(v);
    return {};
}

std::string checkReplicaBounds(int min, int max)
{
    if (min < 0 || min > limits::kMaxReplicas)
        return "min replicas must be between 0 and " + std::to_string(limits::kMaxReplicas) + ", got " + std::to_string(min);
    if (max < 1 || max > limits::kMaxReplicas)
        return "max replicas must be between 1 and " + std::to_string(limits::kMaxReplicas) + ", got " + std::to_string(max);
    if (min > max)
        return "min replicas (" + std::to_string(min) + ") cannot exceed max replicas (" + std::to_string(max) + ")";
    return {};
}

std::string checkArrivalRate(double r)
{
    if (!(std::isfinite(r) && r > 0 && r <= limits::kMaxRateRps))
        return "arrival rate must be > 0 and <= 1e7 requests/s";
    return {};
}

std::string checkUsers(int users)
{
    if (users < 1 || users > limits::kMaxUsers)
        return "users must be between 1 and " + std::to_string(limits::kMaxUsers) + ", got " + std::to_string(users);
    return {};
}

std::string Scenario::validate() const
{
    const auto& d = deployment;
    if (auto e = checkReplicaBounds(d.minReplicas, d.maxReplicas); !e.empty())
        return e;
    if (d.initialReplicas != 0 && (d.initialReplicas < std::max(d.minReplicas, 1) || d.initialReplicas > d.maxReplicas))
        return "replicas.initial must be between max(min, 1) and max";
    if (auto e = checkConcurrencyKnob("concurrency_target", d.concurrencyTarget); !e.empty())
        return e;
    if (auto e = checkConcurrencyKnob("predict_concurrency", d.predictConcurrency); !e.empty())
        return e;
    if (!std::isfinite(d.coldStartS) || d.coldStartS < 0 || d.coldStartS > limits::kMaxStageMs / 1000)
        return "cold_start_s must be between 0 and 86400";
    if (d.queueLimit < 0)
        return "queue_limit must be >= 0 (0 = unbounded)";

    for (auto [name, dist] : {std::pair{"model.preprocess", &model.preprocess}, std::pair{"model.predict", &model.predict},
                              std::pair{"model.postprocess", &model.postprocess}})
        if (auto e = dist->validate(); !e.empty())
            return std::string(name) + ": " + e;
    if (!std::isfinite(model.predictFailureRate) || model.predictFailureRate < 0 || model.predictFailureRate > 1)
        return "model.predict_failure_rate must be between 0 and 1";

    const auto& w = workload;
    if (w.arrival.kind == ArrivalConfig::Kind::Closed) {
        if (auto e = checkUsers(w.arrival.users); !e.empty())
            return "workload.arrival." + e;
        if (auto e = w.arrival.think.validate(); !e.empty())
            return "workload.arrival.think: " + e;
    } else if (auto e = checkArrivalRate(w.arrival.rateRps); !e.empty()) {
        return "workload.arrival.rate_rps: " + e;
    }
    if (w.requests < 0 || w.requests > limits::kMaxRequests)
        return "workload.requests must be between 0 and 1e10";
    if (!std::isfinite(w.durationS) || w.durationS < 0 || w.durationS > limits::kMaxDurationS)
        return "workload.duration_s must be between 0 and one year";
    if (w.requests == 0 && w.durationS == 0)
        return "workload needs requests > 0 or duration_s > 0, or the run would never end";
    if (!std::isfinite(w.warmupS) || w.warmupS < 0 || (w.durationS > 0 && w.warmupS >= w.durationS))
        return "workload.warmup_s must be >= 0 and shorter than duration_s";

    double lastAt = 0;
    for (const auto& c : changes) {
        if (!std::isfinite(c.atS) || c.atS < 0 || c.atS > limits::kMaxDurationS)
            return "changes: at_s must be between 0 and one year";
        if (c.atS < lastAt)
            return "changes must be sorted by at_s";
        lastAt = c.atS;
        if (c.concurrencyTarget)
            if (auto e = checkConcurrencyKnob("changes: concurrency_target", *c.concurrencyTarget); !e.empty())
                return e;
        if (c.predictConcurrency)
            if (auto e = checkConcurrencyKnob("changes: predict_concurrency", *c.predictConcurrency); !e.empty())
                return e;
        if (c.minReplicas || c.maxReplicas)
            if (auto e = checkReplicaBounds(c.minReplicas.value_or(d.minReplicas), c.maxReplicas.value_or(d.maxReplicas));
                !e.empty())
                return "changes: " + e;
        if (c.rateRps)
            if (auto e = checkArrivalRate(*c.rateRps); !e.empty())
                return "changes: " + e;
        if (c.users)
            if (auto e = checkUsers(*c.users); !e.empty())
                return "changes: " + e;
    }
    return {};
}

std::string targetBelowPredictWarning(int target, int pc)
{
    if (target >= pc)
        return {};
    return "concurrency_target (" + std::to_string(target) + ") is below predict_concurrency (" + std::to_string(pc)
        + "): a replica never holds enough requests to fill its predict slots";
}

std::vector<std::string> Scenario::warnings() const
{
    std::vector<std::string> out;
    auto targetBelowPredict = [&](int target, int pc, const std::string& when) {
        if (auto w = targetBelowPredictWarning(target, pc); !w.empty())
            out.push_back(when + w);
    };
    targetBelowPredict(deployment.concurrencyTarget, deployment.predictConcurrency, "");
    int target = deployment.concurrencyTarget, pc = deployment.predictConcurrency;
    for (const auto& c : changes) {
        if (!c.concurrencyTarget && !c.predictConcurrency)
            continue;
        const bool wasBelow = target < pc;
        target = c.concurrencyTarget.value_or(target);
        pc = c.predictConcurrency.value_or(pc);
        if (!wasBelow)
            targetBelowPredict(target, pc, "at " + std::to_string(c.atS) + " s: ");
    }
    if (workload.arrival.kind != ArrivalConfig::Kind::Closed && workload.requests == 0 && workload.durationS > 0
        && workload.arrival.rateRps * workload.durationS > 1e9)
        out.push_back("the workload sends more than a billion requests; the run will take a while");
    return out;
}

} // namespace knee
