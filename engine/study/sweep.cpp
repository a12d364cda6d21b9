#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace knee {

namespace {

constexpr int kMinCompletionsPerWindow = 100; // a window shorter than this says little about p50
constexpr int kMinCompletionsToAgree = 20;    // two windows with fewer responses cannot show the level is stable

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
    Engine engine(s, driver.executorFor(s));
    LevelWindow current;
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
    const double windowS = LevelRecorder::windowLength(o, current.completed);
    current = LevelWindow();

    LevelRecorder recorder(concurrency, o);
    Nanos t = warmupEnd;
    const Nanos cap = warmupEnd + secondsToNanos(o.capS);
    while (t < cap) {
        const Nanos end = std::min(cap, t + secondsToNanos(windowS));
        driver.advanceTo(engine, end);
        const double width = nanosToSeconds(end - t);
        t = end;
        const bool stable = recorder.add(current, width);
        current = LevelWindow();
        if (stable)
            break;
    }
    driver.stop(engine);
    return recorder.finish(nanosToSeconds(t - warmupEnd));
}

LevelRecorder::LevelRecorder(int concurrency, const SweepOptions& options)
    : m_options(options)
{
    m_level.concurrency = concurrency;
}

double LevelRecorder::windowLength(const SweepOptions& o, std::int64_t warmupCompleted)
{
    const double warmupRate = o.warmupS > 0 ? double(warmupCompleted) / o.warmupS : 0;
    const double wanted = warmupRate > 0 ? std::max(o.windowS, kMinCompletionsPerWindow / warmupRate) : o.windowS;
    return std::max(1e-3, std::min(wanted, o.capS / std::max(1, o.minWindows)));
}

bool LevelRecorder::add(const LevelWindow& w, double widthS)
{
    const double p50 = nanosToMs(w.latency.quantile(0.5));
    const double throughput = widthS > 0 ? double(w.completed) / widthS : 0;
    const bool enough = w.completed >= kMinCompletionsToAgree;
    m_latency.merge(w.latency);
    m_ttft.merge(w.ttft);
    m_itl.merge(w.itl);
    m_level.completed += w.completed;
    m_level.failed += w.failed;
    m_level.rejected += w.rejected;
    for (const auto& [kind, count] : w.failuresByKind)
        m_level.failuresByKind[kind] += count;
    ++m_level.windows;
    const bool stable = m_level.windows >= 2 && enough && m_prevEnough && agree(p50, m_prevP50, m_options.tolerance)
        && agree(throughput, m_prevThroughput, m_options.tolerance) && m_level.windows >= m_options.minWindows;
    m_prevP50 = p50;
    m_prevThroughput = throughput;
    m_prevEnough = enough;
    m_level.stable = m_level.stable || stable;
    return stable;
}

SweepLevel LevelRecorder::finish(double measuredS)
{
    SweepLevel level = m_level;
    level.measuredS = measuredS;
    level.latency = summarize(m_latency);
    level.ttft = summarize(m_ttft);
    level.itl = summarize(m_itl);
    level.throughputRps = measuredS > 0 ? double(level.completed) / measuredS : 0;
    level.histogram = m_latency.toSparse();
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
    // Endpoint sweeps add one column: failures by kind, e.g. "timeout=3;http_5xx=2".
    const bool kinds = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return !l.failuresByKind.empty(); });
    std::string out = "concurrency,p50_ms,p95_ms,p99_ms,throughput_rps,completed,failed,rejected,stable";
    out += kinds ? ",failures_by_kind\n" : "\n";
    char row[256];
    for (const SweepLevel& l : r.levels) {
        std::snprintf(row, sizeof row, "%d,%.10g,%.10g,%.10g,%.10g,%lld,%lld,%lld,%s", l.concurrency, l.latency.p50, l.latency.p95,
                      l.latency.p99, l.throughputRps, (long long)l.completed, (long long)l.failed, (long long)l.rejected,
                      l.stable ? "true" : "false");
        out += row;
        if (kinds) {
            out += ',';
            for (const auto& [kind, count] : l.failuresByKind)
                out += (out.back() == ',' ? "" : ";") + kind + '=' + std::to_string(count);
        }
        out += '\n';
    }
    return out;
}

} // namespace knee
