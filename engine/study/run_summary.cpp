#include "run_summary.h"

#include <chrono>

namespace knee {

LatencySummaryMs summarize(const LatencyHistogram& h)
{
    LatencySummaryMs s;
    s.count = h.count();
    s.mean = h.mean() / double(kNanosPerMs);
    s.p50 = nanosToMs(h.quantile(0.50));
    s.p90 = nanosToMs(h.quantile(0.90));
    s.p95 = nanosToMs(h.quantile(0.95));
    s.p99 = nanosToMs(h.quantile(0.99));
    s.p999 = nanosToMs(h.quantile(0.999));
    s.max = nanosToMs(h.max());
    return s;
}

RunSummary summarize(const Engine& engine, double wallS)
{
    const RunMetrics& m = engine.metrics();
    RunSummary s;
    s.scenarioName = engine.scenario().name;
    s.arrived = m.arrived;
    s.completed = m.completed;
    s.failed = m.failed;
    s.rejected = m.rejected;
    s.inFlight = m.arrived - m.completed - m.failed - m.rejected;
    s.measuredCompleted = m.measuredCompleted;
    s.throughputRps = m.throughputRps();
    s.simulatedS = nanosToSeconds(engine.now());
    s.latency = summarize(m.latency);
    for (int p = 0; p < kPartCount; ++p)
        s.parts[std::size_t(p)] = summarize(m.parts[std::size_t(p)]);
    s.occupancyMean = m.occupancy.overallMean(engine.now());
    s.timeline = m.occupancy.windows(engine.now());
    s.warnings = engine.warnings();
    s.wallS = wallS;
    s.simRequestsPerWallS = wallS > 0 ? double(m.completed + m.failed + m.rejected) / wallS : 0;
    return s;
}

RunSummary simulateScenario(const Scenario& scenario)
{
    Engine engine(scenario);
    const auto start = std::chrono::steady_clock::now();
    engine.startLoad();
    engine.runToCompletion();
    const double wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    RunSummary s = summarize(engine, wallS);
    s.warnings = scenario.warnings(); // the whole run's, timed changes included
    return s;
}

} // namespace knee
