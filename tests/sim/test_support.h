// Shared helpers for the engine tests: scenario builders and a recorder of finished requests.
#pragma once
#include "sim/engine.h"

#include <map>
#include <vector>

namespace knee::test {

inline Nanos ms(double v) { return msToNanos(v); }

// One replica, no load generator running unless the test starts it; stage times constant.
inline Scenario singleReplica(int target, int predictConcurrency, double preMs = 0, double predictMs = 0, double postMs = 0)
{
    Scenario s;
    s.name = "test";
    s.deployment.minReplicas = 1;
    s.deployment.maxReplicas = 1;
    s.deployment.concurrencyTarget = target;
    s.deployment.predictConcurrency = predictConcurrency;
    s.model.preprocess = Distribution::constant(preMs);
    s.model.predict = Distribution::constant(predictMs);
    s.model.postprocess = Distribution::constant(postMs);
    s.workload.arrival.kind = ArrivalConfig::Kind::Poisson;
    s.workload.arrival.rateRps = 1;
    s.workload.requests = 1;
    return s;
}

// Keeps every finished request by id.
struct Recorder {
    std::map<std::uint64_t, Request> done;
    int duplicates = 0;
    void attach(Engine& e)
    {
        e.setObserver([this](const Request& r) {
            if (!done.emplace(r.id, r).second)
                ++duplicates;
        });
    }
    const Request& operator[](std::uint64_t id) const { return done.at(id); }
};

} // namespace knee::test
