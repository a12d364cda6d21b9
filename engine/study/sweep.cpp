#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace knee {

namespace {

constexpr int kMinCompletionsPerWindow = 100; // a window shorter than this says little about p50

bool agree(double a, double b, double tolerance) { return b > 0 ? std::abs(a - b) / b <= tolerance : a == b; }

class VirtualDriver : public LevelDriver {
public:
    Engine& begin(const Scenario& s) override
    {
        m_engine = std::make_unique<Engine>(s);
        return *m_engine;
    }
    void start(Engine& e) override { e.startLoad(); }
    void advanceTo(Engine& e, Nanos t) override { e.runUntil(t); }
    void stop(Engine&) override { m_engine.reset(); }
    const char* mode() const override { return "virtual"; }
    bool virtualTime() const override { return true; }

private:
    std::unique_ptr<Engine> m_engine;
};

std::int64_t finished(const LevelWindow& w) { return w.completed + w.failed + w.rejected; }

// Virtual time: long enough for kMinResponsesPerVirtualWindow responses at the warm-up's rate, with a
// margin so that a window seldom falls just short; a whole number of the user's windows, so that a
// periodic server's cycles fit the window as they did before.
double windowByResponses(const SweepOptions& o, std::int64_t warmupCompleted, double warmupS)
{
    const double window = std::max(o.windowS, 1e-3);
    const double rate = warmupS > 0 ? double(warmupCompleted) / warmupS : 0;
    return rate > 0 ? window * std::ceil(std::max(1.0, 1.25 * kMinResponsesPerVirtualWindow / rate / window)) : window;
}

} // namespace

std::unique_ptr<LevelDriver> makeVirtualDriver() { return std::make_unique<VirtualDriver>(); }

void recordResponse(LevelWindow& w, const Request& r)
{
    switch (r.outcome) {
    case Outcome::Completed:
        ++w.completed;
        w.latency.record(r.latency());
        if (r.firstToken >= 0) {
            w.ttft.record(r.firstToken - r.intended);
            w.outputTokens += r.tokens;
            if (r.tokens > 1) // the mean gap between this response's tokens
                w.itl.record((r.predictDone - r.firstToken) / (r.tokens - 1));
        }
        break;
    case Outcome::Failed: ++w.failed; break;
    case Outcome::Rejected: ++w.rejected; break;
    case Outcome::InFlight: break;
    }
}

namespace {

// The engine as a level probe: a fresh engine per level from the driver, its responses into the window.
class EngineProbe : public LevelProbe {
public:
    EngineProbe(const Scenario& base, int target, LevelDriver& driver)
        : m_base(base)
        , m_target(target)
        , m_driver(driver)
    {
    }
    ~EngineProbe() override
    {
        if (m_engine)
            m_driver.stop(*m_engine);
    }

    void begin(int users) override
    {
        Scenario s = m_base;
        s.deployment.minReplicas = s.deployment.maxReplicas = s.deployment.initialReplicas = 1;
        s.deployment.autoscaler.policy = AutoscalerConfig::Policy::None;
        s.deployment.concurrencyTarget = m_target; // high enough not to bind: the users set the concurrency
        s.changes.clear();
        const Distribution think = m_base.workload.arrival.kind == ArrivalConfig::Kind::Closed ? m_base.workload.arrival.think
                                                                                                : Distribution::constant(0);
        s.workload.arrival = ArrivalConfig::closed(users, think);
        s.workload.requests = 0;
        s.workload.warmupS = 0;
        // The engine's own limit of one year; the level procedure ends the level long before.
        s.workload.durationS = limits::kMaxDurationS;
        m_engine = &m_driver.begin(s);
        m_engine->setObserver([this](const Request& r) { recordResponse(m_window, r); });
        m_driver.start(*m_engine);
    }
    Nanos now() const override { return m_engine->now(); }
    void advanceTo(Nanos t) override { m_driver.advanceTo(*m_engine, t); }
    LevelWindow& window() override { return m_window; }
    void end() override
    {
        if (m_engine)
            m_driver.stop(*m_engine);
        m_engine = nullptr;
    }
    bool virtualTime() const override { return m_driver.virtualTime(); }
    const char* mode() const override { return m_driver.mode(); }

private:
    Scenario m_base;
    int m_target;
    LevelDriver& m_driver;
    Engine* m_engine = nullptr;
    LevelWindow m_window;
};

} // namespace

std::unique_ptr<LevelProbe> engineLevelProbe(const Scenario& scenario, int target, LevelDriver& driver)
{
    return std::make_unique<EngineProbe>(scenario, target, driver);
}

SweepLevel levelOf(const LevelWindow& w, int concurrency, double seconds)
{
    SweepLevel l;
    l.concurrency = concurrency;
    l.latency = summarize(w.latency);
    l.ttft = summarize(w.ttft);
    l.itl = summarize(w.itl);
    l.completed = w.completed;
    l.failed = w.failed;
    l.rejected = w.rejected;
    l.failuresByKind = w.failuresByKind;
    l.outputTokens = w.outputTokens;
    l.throughputRps = seconds > 0 ? double(w.completed) / seconds : 0;
    l.tokensPerS = seconds > 0 ? double(w.outputTokens) / seconds : 0;
    l.measuredS = seconds;
    l.stable = true;
    l.windows = 1;
    l.histogram = w.latency.toSparse();
    return l;
}

SweepLevel measureLevel(const Scenario& scenario, int concurrency, int target, const SweepOptions& o, LevelDriver& driver)
{
    EngineProbe probe(scenario, target, driver);
    return measureLevel(probe, concurrency, o);
}

SweepLevel measureLevel(LevelProbe& probe, int concurrency, const SweepOptions& o)
{
    const bool byResponses = probe.virtualTime();
    probe.begin(concurrency);
    LevelWindow& current = probe.window();
    current = LevelWindow();
    const Nanos yearEnd = secondsToNanos(limits::kMaxDurationS);
    // From the load's start: a live level's load waits for its replica's cold start.
    Nanos warmupEnd = probe.now() + secondsToNanos(o.warmupS);
    probe.advanceTo(warmupEnd); // warm-up: never counted
    // Virtual time: the first round of a closed loop is a burst (every user sends at once), so the
    // warm-up lasts until each user has had a response, in steps that double (a slow model's first
    // responses may take hours of simulated time), within a tenth of the year.
    for (Nanos step = warmupEnd; byResponses && step > 0 && finished(current) < concurrency && warmupEnd < yearEnd / 10; step *= 2) {
        warmupEnd = std::min(yearEnd / 10, warmupEnd + step);
        probe.advanceTo(warmupEnd);
    }
    // A wall-clock probe's warm-up may have overrun its timer: measure from where the level really is.
    warmupEnd = std::max(warmupEnd, probe.now());
    double windowS = byResponses ? windowByResponses(o, current.completed, nanosToSeconds(warmupEnd))
                                 : LevelRecorder::windowLength(o, current.completed);
    current = LevelWindow();

    LevelRecorder recorder(concurrency, o, byResponses ? kMinResponsesPerVirtualWindow : LevelRecorder::kMinResponsesToAgree);
    Nanos t = warmupEnd;
    const Nanos cap = byResponses ? yearEnd : warmupEnd + secondsToNanos(o.capS);
    for (int windows = 1; t < cap; ++windows) {
        probe.advanceTo(std::min(cap, t + secondsToNanos(windowS)));
        const Nanos end = std::max(probe.now(), t); // the real end: a wall-clock timer may fire late
        const double width = nanosToSeconds(end - t);
        t = end;
        const std::int64_t completed = current.completed;
        const bool stable = recorder.add(current, width);
        current = LevelWindow();
        if (stable || (byResponses && windows >= kMaxVirtualWindows))
            break;
        if (byResponses && completed < kMinResponsesPerVirtualWindow)
            windowS *= 2; // slower than the warm-up promised: the next windows hold more
    }
    probe.end();
    SweepLevel level = recorder.finish(nanosToSeconds(t - warmupEnd));
    probe.annotate(level);
    return level;
}

LevelRecorder::LevelRecorder(int concurrency, const SweepOptions& options, std::int64_t minResponses)
    : m_options(options)
    , m_minResponses(minResponses)
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
    const bool enough = w.completed >= m_minResponses;
    m_latency.merge(w.latency);
    m_ttft.merge(w.ttft);
    m_itl.merge(w.itl);
    m_level.outputTokens += w.outputTokens;
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
    level.tokensPerS = measuredS > 0 ? double(level.outputTokens) / measuredS : 0;
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

namespace {

std::vector<CurvePoint> curvePoints(const SweepResult& r)
{
    std::vector<CurvePoint> points;
    for (const SweepLevel& l : r.levels)
        points.push_back({l.concurrency, l.latency.p95, l.ttft.p95, l.itl.p95, l.throughputRps,
                          l.stable && l.failed == 0 && l.rejected == 0 && l.completed > 0});
    return points;
}

Slos slosOf(const SweepOptions& o) { return Slos{o.sloMs, o.ttftSloMs, o.itlSloMs}; }

} // namespace

SweepResult runLevels(const Scenario& scenario, const SweepOptions& o, const LevelProbeFactory& probeFor,
                      const std::function<bool(const SweepLevel&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    SweepResult r;
    r.scenarioName = scenario.name;
    std::vector<int> levels = o.levels;
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    bool extends = false;
    auto measure = [&](int level) {
        const std::unique_ptr<LevelProbe> probe = probeFor(level);
        r.mode = probe->mode();
        extends = probe->virtualTime() && o.extendLimit > 0;
        r.levels.push_back(measureLevel(*probe, level, o));
        if (progress && !progress(r.levels.back()))
            r.cancelled = true;
        return !r.cancelled;
    };
    for (int level : levels)
        if (!measure(level))
            break;
    // Throughput still rising at the last level: in virtual time, measure the next doubling (issue 20).
    while (extends && !r.cancelled) {
        const KneeAnalysis a = analyzeCurve(curvePoints(r), slosOf(o), o.sensitivity, o.saturationTolerance);
        const std::optional<int> next = nextLevelToSaturate(curvePoints(r), a, slosOf(o), o.extendLimit);
        if (!next || !measure(*next))
            break;
    }
    analyzeSweep(r, scenario, o);
    r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

SweepResult runSweep(const Scenario& scenario, const SweepOptions& o, const LevelDriverFactory& makeDriver,
                     const std::function<bool(const SweepLevel&)>& progress)
{
    // A concurrency target high enough not to bind: the users set the concurrency (the listed levels
    // share one; a level added to reach saturation gets its own).
    const int listedMax = o.levels.empty() ? 1 : *std::max_element(o.levels.begin(), o.levels.end());
    std::unique_ptr<LevelDriver> driver;
    return runLevels(scenario, o, [&](int level) {
        driver = makeDriver();
        return engineLevelProbe(scenario, std::max({level, listedMax, scenario.deployment.predictConcurrency}), *driver);
    }, progress);
}

void analyzeSweep(SweepResult& r, const Scenario& scenario, const SweepOptions& o)
{
    const std::vector<CurvePoint> points = curvePoints(r);
    r.analysis = analyzeCurve(points, slosOf(o), o.sensitivity, o.saturationTolerance);
    const KneeAnalysis& a = r.analysis;
    r.extendedLevels.clear();
    for (const SweepLevel& l : r.levels)
        if (std::find(o.levels.begin(), o.levels.end(), l.concurrency) == o.levels.end())
            r.extendedLevels.push_back(l.concurrency);

    Recommendation& rec = r.recommendation;
    rec = Recommendation();
    const TargetChoice choice = chooseConcurrencyTarget(points, a, slosOf(o), SweepReach{r.mode == "virtual" && o.extendLimit > 0, o.extendLimit, r.cancelled});
    rec.concurrencyTarget = choice.level.value_or(0);
    rec.concurrencyTargetRule = choice.rule;
    rec.concurrencyTargetBasis = choice.basis;
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
