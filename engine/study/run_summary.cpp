#include "run_summary.h"
#include "printf_text.h"

#include <chrono>
#include <cmath>

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
    s.timeToFirstToken = summarize(m.timeToFirstToken);
    s.interToken = summarize(m.interToken);
    for (int p = 0; p < kPartCount; ++p)
        s.parts[std::size_t(p)] = summarize(m.parts[std::size_t(p)]);
    s.occupancyMean = m.occupancy.overallMean(engine.now());
    s.timeline = m.occupancy.windows(engine.now());
    s.warnings = engine.warnings();
    if (auto w = engine.predictStage().sharingAssumption(); !w.empty())
        s.warnings.push_back(w); // virtual time only: a live run's device shares itself
    for (auto& reason : engine.stopReasons())
        s.warnings.push_back(std::move(reason));
    const DeploymentConfig& d = engine.scenario().deployment;
    s.autoscalerPolicy = toString(d.autoscaler.policy);
    s.replicaHours = engine.replicaHours();
    s.costPerReplicaHour = d.costPerReplicaHour;
    s.costUsd = s.replicaHours * d.costPerReplicaHour;
    s.meanReplicas = s.occupancyMean[std::size_t(Stage::Replicas)];
    for (const auto& w : s.timeline)
        s.peakReplicas = std::max(s.peakReplicas, int(std::ceil(w.mean[std::size_t(Stage::Replicas)] - 1e-9)));
    s.coldStarts = engine.coldStarts();
    s.scalingEvents = engine.scalingLog();
    s.scalingEventsDropped = engine.scalingEventsDropped();
    s.meanConcurrencyLimit = s.meanReplicas > 0 ? s.occupancyMean[std::size_t(Stage::Limit)] / s.meanReplicas : 0;
    s.wallS = wallS;
    s.simRequestsPerWallS = wallS > 0 ? double(m.completed + m.failed + m.rejected) / wallS : 0;
    return s;
}

double shareOver(const RunMetrics& m, double sloMs)
{
    const std::int64_t n = m.latency.count();
    return n > 0 ? double(m.latency.countAbove(msToNanos(sloMs))) / double(n) : 0.0;
}

std::string formatSummary(const RunSummary& s)
{
    std::string t;
    t += "Scenario: " + (s.scenarioName.empty() ? std::string("(unnamed)") : s.scenarioName) + "\n";
    t += printfText("Requests: %lld arrived, %lld completed, %lld failed, %lld rejected\n", (long long)s.arrived,
                (long long)s.completed, (long long)s.failed, (long long)s.rejected);
    t += printfText("Throughput: %.1f req/s over the measured window (%lld requests)\n", s.throughputRps,
                (long long)s.measuredCompleted);
    const auto& l = s.latency;
    t += printfText("Latency (ms): mean %.2f  p50 %.2f  p90 %.2f  p95 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", l.mean, l.p50, l.p90,
                l.p95, l.p99, l.p999, l.max);
    if (s.timeToFirstToken.count > 0)
        t += printfText("Streaming: time to first token p50 %.2f  p95 %.2f  p99 %.2f ms; inter-token p50 %.2f  p95 %.2f  p99 %.2f ms\n",
                    s.timeToFirstToken.p50, s.timeToFirstToken.p95, s.timeToFirstToken.p99, s.interToken.p50, s.interToken.p95,
                    s.interToken.p99);
    t += "Where the time goes (mean ms / p99 ms):\n";
    const char* labels[kPartCount] = {"deployment queue", "preprocess", "waiting for predict slot", "predict", "postprocess"};
    for (int p = 0; p < kPartCount; ++p)
        t += printfText("  %-26s %9.2f / %9.2f\n", labels[p], s.parts[std::size_t(p)].mean, s.parts[std::size_t(p)].p99);
    const auto& o = s.occupancyMean;
    t += printfText("Mean occupancy: queue %.2f, preprocess %.2f, predict wait %.2f, predict %.2f, postprocess %.2f, replicas %.2f\n",
                o[0], o[1], o[2], o[3], o[4], o[5]);
    t += printfText("Replicas: mean %.2f, peak %d; %.2f replica-hours", s.meanReplicas, s.peakReplicas, s.replicaHours);
    if (s.costPerReplicaHour > 0)
        t += printfText(" ($%.2f at $%.2f per replica-hour)", s.costUsd, s.costPerReplicaHour);
    t += printfText("; %lld cold starts; autoscaler: %s\n", (long long)s.coldStarts, s.autoscalerPolicy.c_str());
    if (!s.scalingEvents.empty()) {
        t += printfText("Scaling decisions: %zu", s.scalingEvents.size());
        const std::size_t shown = std::min<std::size_t>(s.scalingEvents.size(), 8);
        t += shown < s.scalingEvents.size() ? printfText(" (first %zu):\n", shown) : std::string(":\n");
        for (std::size_t i = 0; i < shown; ++i) {
            const ScalingEvent& e = s.scalingEvents[i];
            t += printfText("  %9.1f s  %-15s %d -> %d  ", nanosToSeconds(e.at), toString(e.action), e.from, e.to) + e.reason + "\n";
        }
    }
    t += printfText("Simulated %.1f s in %.3f s of wall time (%.0f requests per wall second)\n", s.simulatedS, s.wallS,
                s.simRequestsPerWallS);
    for (const auto& w : s.warnings)
        t += "Warning: " + w + "\n";
    return t;
}

RunSummary simulateScenario(const Scenario& scenario, const std::function<void(const Request&)>& observer)
{
    Engine engine(scenario);
    if (observer)
        engine.setObserver(observer);
    const auto start = std::chrono::steady_clock::now();
    engine.startLoad();
    engine.runToCompletion();
    const double wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    RunSummary s = summarize(engine, wallS);
    s.warnings = scenario.warnings(); // the whole run's, timed changes included
    if (auto w = engine.predictStage().sharingAssumption(); !w.empty())
        s.warnings.push_back(w); // virtual time only: a live run's device shares itself
    for (auto& reason : engine.stopReasons())
        s.warnings.push_back(std::move(reason));
    return s;
}

} // namespace knee
