// Issue 13's worked example of dynamic batching with two steady states, shared by the sweep, report and
// window tests. Device T(b, 1) = 1 ms for any batch, T(b, 2) = 2 ms (two calls share it fully), the batcher's
// delay 0.2 ms, predict_concurrency 8. All 8 users at once: one batch of 8 every 0.2 + 1 ms, 8 ÷ 1.2 ms =
// 6,667 req/s. In two groups of 4 half a round trip apart the groups' calls overlap: each call is alone for
// a ms and shared for s ms, with a + s ÷ 2 = 1 (its work) and 0.2 + a + s = 2a + s (the period, two calls'
// worth of device time), so a = 0.2, s = 1.6, a request takes 2.0 ms and 8 users make 4,000 req/s. At 16
// users every call is full (batches of 8 at most, by the table's largest batch) and the starts agree again.
#pragma once
#include "sim/scenario.h"

namespace knee::test {

inline constexpr double kOneBatchRps = 8 / 1.2e-3; // 8 users, all at once
inline constexpr double kTwoGroupsRps = 4000;      // 8 users in two groups (or one by one)

// `s` with the example's predict stage: its deployment and workload are the caller's.
inline Scenario withTwoSteadyStates(Scenario s)
{
    s.deployment.predictConcurrency = 8;
    s.model.predict = Distribution::constant(1);
    s.model.batching.mode = BatchingConfig::Mode::Dynamic;
    s.model.batching.maxBatch = 64;
    s.model.batching.maxDelayMs = 0.2;
    s.model.predictTable = ServiceTable({1, 8}, {1, 1}, "test");
    s.model.predictTable.concurrency = {2};
    s.model.predictTable.msShared = {{2, 2}};
    return s;
}

} // namespace knee::test
