// The comparison baseline for the engine benchmark: the same pipeline (Poisson arrivals, FIFO
// deployment queue, replicas under a concurrency target, preprocess, predict slots, postprocess)
// written as a bare event-heap loop, with no metrics, no snapshots, no knobs and no observer.
// It exists only to measure what the engine's generality and bookkeeping cost.
#pragma once
#include <cstdint>

namespace knee::bench {

struct BarePipelineConfig {
    int replicas = 1;
    int concurrencyTarget = 4;
    int predictConcurrency = 2;
    double preprocessMs = 4, predictMs = 10, postprocessMs = 2; // exponential means
    double rateRps = 150;
    std::int64_t requests = 1'000'000;
    std::uint64_t seed = 42;
};

struct BarePipelineResult {
    std::int64_t completed = 0;
    double meanLatencyMs = 0; // a checksum that the loop did the same work as the engine
};

BarePipelineResult runBarePipeline(const BarePipelineConfig& config);

} // namespace knee::bench
