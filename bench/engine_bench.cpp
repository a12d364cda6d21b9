// knee-bench-engine: simulated requests per wall-second of the full engine (all metrics on)
// next to the bare event-heap loop of the same pipeline, measured in the same run, as a ratio.
//   knee-bench-engine [--requests N] [--repeats R] [--json]
// Each side runs R times; the median is reported. The mean latencies are printed so a reader can
// see both loops did the same work (they share seeds and stage streams, so they agree closely).
#include "bare_pipeline.h"

#include "study/run_summary.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace knee;

namespace {
double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
} // namespace

int main(int argc, char** argv)
{
    std::int64_t requests = 2'000'000;
    int repeats = 5;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--requests") && i + 1 < argc)
            requests = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--json"))
            json = true;
        else {
            std::fprintf(stderr, "usage: knee-bench-engine [--requests N] [--repeats R] [--json]\n");
            return 2;
        }
    }
    if (requests < 1000 || repeats < 1) {
        std::fprintf(stderr, "knee-bench-engine: --requests must be >= 1000 and --repeats >= 1\n");
        return 2;
    }

    bench::BarePipelineConfig bare;
    bare.requests = requests;
    Scenario s;
    s.name = "bench";
    s.deployment.concurrencyTarget = bare.concurrencyTarget;
    s.deployment.predictConcurrency = bare.predictConcurrency;
    s.model.preprocess = Distribution::exponential(bare.preprocessMs);
    s.model.predict = Distribution::exponential(bare.predictMs);
    s.model.postprocess = Distribution::exponential(bare.postprocessMs);
    s.workload.arrival = ArrivalConfig::poisson(bare.rateRps);
    s.workload.requests = requests;
    s.workload.seed = bare.seed;

    std::vector<double> engineRate, bareRate;
    double engineMeanMs = 0, bareMeanMs = 0;
    for (int r = 0; r < repeats; ++r) {
        const RunSummary summary = simulateScenario(s);
        engineRate.push_back(double(summary.completed) / summary.wallS);
        engineMeanMs = summary.latency.mean;

        const auto t0 = std::chrono::steady_clock::now();
        const bench::BarePipelineResult b = bench::runBarePipeline(bare);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        bareRate.push_back(double(b.completed) / wall);
        bareMeanMs = b.meanLatencyMs;
    }
    const double e = median(engineRate), b = median(bareRate);
    if (json) {
        std::printf("{\"requests\":%lld,\"repeats\":%d,\"engine_requests_per_wall_s\":%.0f,\"bare_requests_per_wall_s\":%.0f,"
                    "\"ratio\":%.3f,\"engine_mean_latency_ms\":%.4f,\"bare_mean_latency_ms\":%.4f}\n",
                    (long long)requests, repeats, e, b, e / b, engineMeanMs, bareMeanMs);
    } else {
        std::printf("pipeline: 1 replica, target 4, predict_concurrency 2, exp(4/10/2 ms), Poisson 150 req/s, %lld requests, median of %d\n",
                    (long long)requests, repeats);
        std::printf("%-34s %14s %16s\n", "", "requests/wall-s", "mean latency ms");
        std::printf("%-34s %14.0f %16.4f\n", "engine (all metrics on)", e, engineMeanMs);
        std::printf("%-34s %14.0f %16.4f\n", "bare event-heap loop", b, bareMeanMs);
        std::printf("engine / bare = %.3f (goal >= 0.333)\n", e / b);
    }
    return 0;
}
