#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace knee {

namespace {

constexpr int kMinCompletionsPerWindow = 100; // a window shorter than this says little about p50
constexpr int kMinCompletionsToAgree = 20;    // two windows with fewer responses cannot show the level is stable

struct Window {
    LatencyHistogram latency, ttft, itl;
    std::int64_t completed = 0, failed = 0, rejected = 0;
};

bool agree(double a, double b, double tolerance) { return b > 0 ? std::abs(a - b) / b <= tolerance : a == b; }

class VirtualDriver : public LevelDriver {
public:
    void start(Engine& e) override { e.startLoad(); }
    void advanceTo(Engine& e, Nanos t) override { e.runUntil(t); }
    const char* mode() const override { return "virtual"; }
};

} // namespace

std::unique_ptr<LevelDriver> makeVirtualDriver() { return std::make_unique<VirtualDriver>(); }

SweepLevel measureLevel(const Scenario& base, int concurrency, int target, const SweepOptions& o, LevelDriver& driver)
{
    Scenario s = base;
    s.deployment.minReplicas = s.deployment.maxReplicas = s.deployment.initialReplicas = 1;
    s.deployment.autoscaler.policy = AutoscalerConfig::Policy::None;
    s.deployment.concurrencyTarget = target; // high enough not to bind: the users set the concurrency
    s.changes.clear();
    const Distribution think = base.workload.arrival.kind == ArrivalConfig::Kind::Closed ? base.workload.arrival.think
                                                                                          : Distribution::constant(0);
    s.workload.arrival = ArrivalConfig::closed(concurrency, think);
    s.workload.requests = 0;
    s.workload.warmupS = 0;
    s.workload.durationS = o.warmupS + o.capS;
    Engine engine(s);
    Window current;
    engine.setObserver([&](const Request& r) {
        switch (r.outcome) {
        case Outcome::Completed:
            ++current.completed;
            current.latency.record(r.latency());
            if (r.firstToken >= 0) {
                current.ttft.record(r.firstToken - r.intended);
                if (r.tokens > 1) // the mean gap between this response's tokens
                    current.itl.record((r.predictDone - r.firstToken) / (r.tokens - 1));
            }
            break;
        case Outcome::Failed: ++current.failed; break;
        case Outcome::Rejected: ++current.rejected; break;
        case Outcome::InFlight: break;
        }
    });
    driver.start(engine);
    const Nanos warmupEnd = secondsToNanos(o.warmupS);
    driver.advanceTo(engine, warmupEnd); // warm-up: never counted
    // Size windows so each holds enough responses to say something about p50, but so that at least
    // minWindows still fit in the cap (a slow model would otherwise never get two windows to compare).
    const double warmupRate = o.warmupS > 0 ? double(current.completed) / o.warmupS : 0;
    const double wanted = warmupRate > 0 ? std::max(o.windowS, kMinCompletionsPerWindow / warmupRate) : o.windowS;
    const double windowS = std::max(1e-3, std::min(wanted, o.capS / std::max(1, o.minWindows)));
    current = Window();

    SweepLevel level;
    level.concurrency = concurrency;
    LatencyHistogram all, allTtft, allItl;
    Nanos t = warmupEnd;
    const Nanos cap = warmupEnd + secondsToNanos(o.capS);
    double prevP50 = -1, prevThroughput = -1;
    bool prevEnough = false;
    while (t < cap) {
        const Nanos end = std::min(cap, t + secondsToNanos(windowS));
        driver.advanceTo(engine, end);
        const double width = nanosToSeconds(end - t);
        t = end;
        const double p50 = nanosToMs(current.latency.quantile(0.5));
        const double throughput = double(current.completed) / width;
        const bool enough = current.completed >= kMinCompletionsToAgree;
        all.merge(current.latency);
        allTtft.merge(current.ttft);
        allItl.merge(current.itl);
        level.completed += current.completed;
        level.failed += current.failed;
        level.rejected += current.rejected;
        ++level.windows;
        current = Window();
        if (level.windows >= 2 && enough && prevEnough && agree(p50, prevP50, o.tolerance) && agree(throughput, prevThroughput, o.tolerance)
            && level.windows >= o.minWindows) {
            level.stable = true;
            break;
        }
        prevP50 = p50;
        prevThroughput = throughput;
        prevEnough = enough;
    }
    driver.stop(engine);
    level.measuredS = nanosToSeconds(t - warmupEnd);
    level.latency = summarize(all);
    level.ttft = summarize(allTtft);
    level.itl = summarize(allItl);
    level.throughputRps = level.measuredS > 0 ? double(level.completed) / level.measuredS : 0;
    level.histogram = all.toSparse();
    return level;
}

namespace {

std::string format(const char* f, double a = 0, double b = 0, double c = 0)
{
    char buf[320];
    std::snprintf(buf, sizeof buf, f, a, b, c);
    return buf;
}

} // namespace

SweepResult runVirtualSweep(const Scenario& scenario, const SweepOptions& o, const std::function<bool(const SweepLevel&)>& progress)
{
    return runSweep(scenario, o, makeVirtualDriver, progress);
}

SweepResult runSweep(const Scenario& scenario, const SweepOptions& o, const LevelDriverFactory& makeDriver,
                     const std::function<bool(const SweepLevel&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    SweepResult r;
    r.scenarioName = scenario.name;
    std::vector<int> levels = o.levels;
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    const int target = std::max(levels.empty() ? 1 : levels.back(), scenario.deployment.predictConcurrency);
    for (int level : levels) {
        const std::unique_ptr<LevelDriver> driver = makeDriver();
        r.mode = driver->mode();
        r.levels.push_back(measureLevel(scenario, level, target, o, *driver));
        if (progress && !progress(r.levels.back())) {
            r.cancelled = true;
            break;
        }
    }
    analyzeSweep(r, scenario, o);
    r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

void analyzeSweep(SweepResult& r, const Scenario& scenario, const SweepOptions& o)
{
    std::vector<CurvePoint> points;
    for (const SweepLevel& l : r.levels)
        points.push_back({l.concurrency, l.latency.p95, l.ttft.p95, l.itl.p95, l.throughputRps,
                          l.stable && l.failed == 0 && l.rejected == 0 && l.completed > 0});
    r.analysis = analyzeCurve(points, Slos{o.sloMs, o.ttftSloMs, o.itlSloMs}, o.sensitivity);
    const KneeAnalysis& a = r.analysis;

    Recommendation& rec = r.recommendation;
    if (a.knee && a.sloLevel && *a.sloLevel < *a.knee) {
        rec.concurrencyTarget = *a.sloLevel;
        rec.concurrencyTargetRule = format("the knee is at %.0f, but the SLOs hold only up to %.0f: the SLO binds", *a.knee, *a.sloLevel);
    } else if (a.knee) {
        rec.concurrencyTarget = *a.knee;
        rec.concurrencyTargetRule = "at the knee: " + a.kneeNote;
    } else if (a.sloLevel) {
        rec.concurrencyTarget = *a.sloLevel;
        rec.concurrencyTargetRule = "no clear knee; the largest level meeting every SLO set (p95 latency, time to first token, inter-token)";
    } else if (a.peakThroughput) {
        rec.concurrencyTarget = *a.peakThroughput;
        rec.concurrencyTargetRule = "no clear knee and no SLO; the level of peak throughput (latency still grows with it: set an SLO)";
    }
    const int pc = scenario.deployment.predictConcurrency;
    if (rec.concurrencyTarget > 0 && pc > rec.concurrencyTarget) {
        rec.predictConcurrency = rec.concurrencyTarget;
        rec.predictConcurrencyRule = format("lowered from %.0f to the concurrency target: above it, predict concurrency is never reached", pc);
    } else {
        rec.predictConcurrency = pc;
        rec.predictConcurrencyRule = "as in the scenario (the model's own predict_concurrency); a sweep varies concurrency only";
    }
    for (const SweepLevel& l : r.levels)
        if (l.concurrency == rec.concurrencyTarget)
            rec.throughputAtTargetRps = l.throughputRps;
    if (rec.throughputAtTargetRps > 0 && (o.baselineRps > 0 || o.peakRps > 0))
        rec.replicas = planReplicas({rec.throughputAtTargetRps, o.baselineRps, std::max(o.peakRps, o.baselineRps), o.buffer, 1});
}

std::string sweepPointsCsv(const SweepResult& r)
{
    std::string out = "concurrency,p50_ms,p95_ms,p99_ms,throughput_rps,completed,failed,rejected,stable\n";
    char row[256];
    for (const SweepLevel& l : r.levels) {
        std::snprintf(row, sizeof row, "%d,%.10g,%.10g,%.10g,%.10g,%lld,%lld,%lld,%s\n", l.concurrency, l.latency.p50, l.latency.p95,
                      l.latency.p99, l.throughputRps, (long long)l.completed, (long long)l.failed, (long long)l.rejected,
                      l.stable ? "true" : "false");
        out += row;
    }
    return out;
}

} // namespace knee
