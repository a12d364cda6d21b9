#include "sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace knee {

namespace {

constexpr int kMinCompletionsPerWindow = 100; // a window shorter than this says little about p50

bool agree(double a, double b, double tolerance) { return b > 0 ? std::abs(a - b) / b <= tolerance : a == b; }

// Whether the windows' p50s trend (LevelRecorder's open-loop rule): the least-squares slope over the
// windows is both significant (t above Student's 97.5 % quantile) and large (the fitted change across the
// level beyond the tolerance of their mean). A queue that grows without bound trends at once; a steady
// level near capacity is noisy but does not, and one odd window does not make a trend. Two windows: they
// must agree.
bool drifts(const std::vector<double>& p50s, double tolerance)
{
    const std::size_t n = p50s.size();
    if (n < 2)
        return true; // nothing to compare yet
    if (n == 2)
        return !agree(p50s[1], p50s[0], tolerance);
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < n; ++i) {
        mx += double(i) / double(n);
        my += p50s[i] / double(n);
    }
    double sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sxx += (double(i) - mx) * (double(i) - mx);
        sxy += (double(i) - mx) * (p50s[i] - my);
    }
    const double slope = sxy / sxx;
    if (std::abs(slope) * double(n - 1) <= tolerance * my)
        return false; // too small to matter
    double sse = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double e = p50s[i] - (my + slope * (double(i) - mx));
        sse += e * e;
    }
    const double se = std::sqrt(sse / double(n - 2) / sxx);
    return se == 0 || std::abs(slope) / se > studentT975(int(n - 2));
}

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

Scenario repeatScenario(const Scenario& scenario, int repeat)
{
    if (repeat == 0)
        return scenario;
    Scenario s = scenario;
    // splitmix64's finaliser: repeats of neighbouring seeds share no stream.
    std::uint64_t z = scenario.workload.seed + 0x9E3779B97F4A7C15ull * std::uint64_t(repeat);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s.workload.seed = z ^ (z >> 31);
    return s;
}

void ServerScrape::merge(const ServerScrape& o)
{
    scrapes += o.scrapes;
    failures += o.failures;
    if (!o.lastError.empty())
        lastError = o.lastError;
    for (const auto& [name, m] : o.metrics) {
        auto [it, fresh] = metrics.try_emplace(name, m);
        if (fresh || m.samples == 0)
            continue;
        ServerMetricSummary& a = it->second;
        const double n = double(a.samples + m.samples);
        a.mean = (a.mean * double(a.samples) + m.mean * double(m.samples)) / n;
        a.min = a.samples ? std::min(a.min, m.min) : m.min;
        a.max = a.samples ? std::max(a.max, m.max) : m.max;
        a.last = m.last;
        a.samples += m.samples;
    }
}

void mergeGpuFigures(std::vector<GpuLevelFigures>& into, const std::vector<GpuLevelFigures>& more)
{
    for (const GpuLevelFigures& m : more) {
        auto it = std::find_if(into.begin(), into.end(), [&](const GpuLevelFigures& g) { return g.index == m.index; });
        if (it == into.end()) {
            into.push_back(m);
            continue;
        }
        GpuLevelFigures& a = *it;
        const double wa = double(a.samples), wm = double(m.samples);
        auto mean = [&](std::optional<double>& x, const std::optional<double>& y) {
            if (!x || !y)
                x = x ? x : y;
            else if (wa + wm > 0)
                x = (*x * wa + *y * wm) / (wa + wm);
        };
        auto most = [](std::optional<double>& x, const std::optional<double>& y) {
            if (y)
                x = x ? std::max(*x, *y) : *y;
        };
        mean(a.utilizationMeanPct, m.utilizationMeanPct);
        mean(a.powerMeanW, m.powerMeanW);
        mean(a.smClockMeanMHz, m.smClockMeanMHz);
        most(a.utilizationMaxPct, m.utilizationMaxPct);
        most(a.memoryUsedMaxBytes, m.memoryUsedMaxBytes);
        most(a.powerMaxW, m.powerMaxW);
        a.memoryTotalBytes = std::max(a.memoryTotalBytes, m.memoryTotalBytes);
        a.samples += m.samples;
    }
}

void LevelWindow::clear()
{
    latency.clear();
    ttft.clear();
    itl.clear();
    completed = failed = rejected = outputTokens = good = sent = 0;
    failuresByKind.clear();
}

void LevelWindow::countGood(Nanos latencyNs, Nanos ttftNs, Nanos itlNs)
{
    if (slos.any() && slos.metBy(nanosToMs(latencyNs), ttftNs >= 0 ? nanosToMs(ttftNs) : 0, itlNs >= 0 ? nanosToMs(itlNs) : 0))
        ++good;
}

void LevelWindow::merge(const LevelWindow& w)
{
    latency.merge(w.latency);
    ttft.merge(w.ttft);
    itl.merge(w.itl);
    completed += w.completed;
    failed += w.failed;
    rejected += w.rejected;
    outputTokens += w.outputTokens;
    good += w.good;
    sent += w.sent;
    for (const auto& [kind, count] : w.failuresByKind)
        failuresByKind[kind] += count;
}

void recordResponse(LevelWindow& w, const Request& r)
{
    switch (r.outcome) {
    case Outcome::Completed: {
        ++w.completed;
        w.latency.record(r.latency());
        Nanos ttft = -1, itl = -1;
        if (r.firstToken >= 0) {
            w.ttft.record(ttft = r.firstToken - r.intended);
            w.outputTokens += r.tokens;
            if (r.tokens > 1) // the mean gap between this response's tokens
                w.itl.record(itl = (r.predictDone - r.firstToken) / (r.tokens - 1));
        }
        w.countGood(r.latency(), ttft, itl);
        break;
    }
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

    void begin(const LevelLoad& load) override
    {
        Scenario s = m_base;
        s.deployment.minReplicas = s.deployment.maxReplicas = s.deployment.initialReplicas = 1;
        s.deployment.autoscaler.policy = AutoscalerConfig::Policy::None;
        s.deployment.concurrencyTarget = m_target; // high enough not to bind: the users set the concurrency
        s.changes.clear();
        const Distribution think = m_base.workload.arrival.kind == ArrivalConfig::Kind::Closed ? m_base.workload.arrival.think
                                                                                                : Distribution::constant(0);
        // An open loop's arrivals come from the scenario's seed (repeatScenario gives each repeat its own).
        s.workload.arrival = !load.open()   ? ArrivalConfig::closed(load.users, think)
                             : load.constant ? ArrivalConfig::constantRate(load.rateRps)
                                             : ArrivalConfig::poisson(load.rateRps);
        s.workload.requests = 0;
        s.workload.warmupS = 0;
        // The engine's own limit of one year; the level procedure ends the level long before.
        s.workload.durationS = limits::kMaxDurationS;
        // Users started in groups (LevelLoad::groups): the first group now, the others as their times come.
        const int groups = load.open() || !(load.spreadS > 0) ? 1 : std::clamp(load.groups, 1, std::max(1, load.users));
        auto startedBy = [&](int g) { return int((std::int64_t(load.users) * (g + 1) + groups - 1) / groups); }; // users in groups 0..g
        if (!load.open())
            s.workload.arrival.users = startedBy(0);
        m_open = load.open();
        m_calls = 0;
        m_engine = &m_driver.begin(s);
        m_engine->setObserver([this](const Request& r) { recordResponse(m_window, r); });
        m_driver.start(*m_engine);
        const Nanos t0 = m_engine->now();
        for (int g = 1; g < groups; ++g) {
            m_driver.advanceTo(*m_engine, t0 + secondsToNanos(load.spreadS * g / groups));
            m_driver.act(*m_engine, [&](Engine& e) { e.setUsers(startedBy(g)); });
        }
    }
    bool startsInGroups() const override { return true; }
    Nanos now() const override { return m_engine->now(); }
    std::int64_t sent() const override { return m_engine && m_open ? m_engine->metrics().arrived : 0; }
    void advanceTo(Nanos t) override { m_driver.advanceTo(*m_engine, t); }
    void measuring() override
    {
        m_driver.measuring(*m_engine);
        m_calls = -m_engine->snapshot().predictCalls;
    }
    void annotate(SweepLevel& level) const override
    {
        m_driver.annotate(level);
        level.predictCalls = std::max<std::int64_t>(0, m_calls);
    }
    LevelWindow& window() override { return m_window; }
    void end() override
    {
        if (m_engine) {
            m_calls += m_engine->snapshot().predictCalls;
            m_driver.stop(*m_engine);
        }
        m_engine = nullptr;
    }
    bool virtualTime() const override { return m_driver.virtualTime(); }
    const char* mode() const override { return m_driver.mode(); }

private:
    Scenario m_base;
    int m_target;
    LevelDriver& m_driver;
    Engine* m_engine = nullptr;
    bool m_open = false;
    std::int64_t m_calls = 0; // predict calls: minus the count at measuring(), then plus the count at end()
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
    l.sent = w.sent;
    l.sentRps = seconds > 0 ? double(w.sent) / seconds : 0;
    l.goodCounted = w.slos.any();
    l.good = w.good;
    l.goodputRps = seconds > 0 ? double(w.good) / seconds : 0;
    return l;
}

SweepLevel measureLevel(const Scenario& scenario, int concurrency, int target, const SweepOptions& o, LevelDriver& driver)
{
    EngineProbe probe(scenario, target, driver);
    return measureLevel(probe, concurrency, o);
}

void finishOpenLevel(SweepLevel& l, double rateRps, double tolerance, bool judgeGenerator)
{
    l.rateRps = rateRps;
    if (!l.open())
        return;
    l.concurrency = 0;
    l.sentRps = l.measuredS > 0 ? double(l.sent) / l.measuredS : 0;
    l.inFlightMean = l.throughputRps * l.latency.mean / 1000;
    // Behind: fewer sent than the rate asks for, by more than the tolerance and three standard
    // deviations of a Poisson count (a constant rate has none, so this errs towards trusting it).
    const double expected = rateRps * l.measuredS;
    l.behind = judgeGenerator && expected > 0 && double(l.sent) < (1 - tolerance) * expected - 3 * std::sqrt(expected);
}

SweepLevel measureLevel(LevelProbe& probe, const LevelLoad& load, const SweepOptions& o, LevelWindow* all)
{
    const bool byResponses = probe.virtualTime();
    const int concurrency = load.users;
    probe.begin(load);
    LevelWindow& current = probe.window();
    current.slos = Slos{o.sloMs, o.ttftSloMs, o.itlSloMs};
    current.clear();
    const Nanos yearEnd = secondsToNanos(limits::kMaxDurationS);
    // From the load's start: a live level's load waits for its replica's cold start.
    Nanos warmupEnd = probe.now() + secondsToNanos(o.warmupS);
    probe.advanceTo(warmupEnd); // warm-up: never counted
    // Virtual time: the first round of a closed loop is a burst (every user sends at once), so the
    // warm-up lasts until each user has had a response, in steps that double (a slow model's first
    // responses may take hours of simulated time), within a tenth of the year.
    for (Nanos step = warmupEnd; byResponses && step > 0 && finished(current) < std::max(1, concurrency) && warmupEnd < yearEnd / 10;
         step *= 2) {
        warmupEnd = std::min(yearEnd / 10, warmupEnd + step);
        probe.advanceTo(warmupEnd);
    }
    // A wall-clock probe's warm-up may have overrun its timer: measure from where the level really is.
    warmupEnd = std::max(warmupEnd, probe.now());
    probe.measuring();
    double windowS = byResponses ? windowByResponses(o, current.completed, nanosToSeconds(warmupEnd))
                                 : LevelRecorder::windowLength(o, current.completed);
    current.clear();
    std::int64_t sentBefore = probe.sent();

    LevelRecorder recorder(concurrency, o, byResponses ? kMinResponsesPerVirtualWindow : LevelRecorder::kMinResponsesToAgree, load.open());
    Nanos t = warmupEnd;
    const Nanos cap = std::min(byResponses ? yearEnd : warmupEnd + secondsToNanos(o.capS), probe.timeLimit());
    for (int windows = 1; t < cap; ++windows) {
        probe.advanceTo(std::min(cap, t + secondsToNanos(windowS)));
        const Nanos end = std::max(probe.now(), t); // the real end: a wall-clock timer may fire late
        const double width = nanosToSeconds(end - t);
        t = end;
        current.sent = probe.sent() - sentBefore;
        sentBefore += current.sent;
        const std::int64_t completed = current.completed;
        const bool stable = recorder.add(current, width);
        if (all)
            all->merge(current);
        current.clear();
        if (stable || (byResponses && windows >= kMaxVirtualWindows))
            break;
        if (byResponses && completed < kMinResponsesPerVirtualWindow)
            windowS *= 2; // slower than the warm-up promised: the next windows hold more
    }
    probe.end();
    SweepLevel level = recorder.finish(nanosToSeconds(t - warmupEnd));
    finishOpenLevel(level, load.rateRps, o.tolerance, probe.generatorMayLag());
    probe.annotate(level);
    return level;
}

LevelRecorder::LevelRecorder(int concurrency, const SweepOptions& options, std::int64_t minResponses, bool open)
    : m_options(options)
    , m_open(open)
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
    m_level.good += w.good;
    m_level.sent += w.sent;
    m_level.goodCounted = m_level.goodCounted || w.slos.any();
    m_level.completed += w.completed;
    m_level.failed += w.failed;
    m_level.rejected += w.rejected;
    for (const auto& [kind, count] : w.failuresByKind)
        m_level.failuresByKind[kind] += count;
    ++m_level.windows;
    if (m_open && enough)
        m_windowP50s.push_back(p50);
    const bool stable = m_level.windows >= 2 && enough && m_prevEnough && agree(p50, m_prevP50, m_options.tolerance)
        && agree(throughput, m_prevThroughput, m_options.tolerance) && m_level.windows >= m_options.minWindows
        && (!m_open || !drifts(m_windowP50s, m_options.tolerance));
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
    level.goodputRps = measuredS > 0 ? double(level.good) / measuredS : 0;
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

bool usableLevel(const SweepLevel& l) { return l.stable && l.failed == 0 && l.rejected == 0 && l.completed > 0 && !l.generatorBehind(); }

namespace {

std::vector<CurvePoint> curvePoints(const SweepResult& r)
{
    std::vector<CurvePoint> points;
    for (const SweepLevel& l : r.levels)
        points.push_back({l.concurrency, l.latency.p95, l.ttft.p95, l.itl.p95, l.throughputRps, usableLevel(l)});
    return points;
}

Slos slosOf(const SweepOptions& o) { return Slos{o.sloMs, o.ttftSloMs, o.itlSloMs}; }

std::vector<RatePoint> ratePoints(const SweepResult& r, const SweepOptions& o)
{
    std::vector<RatePoint> points;
    for (const SweepLevel& l : r.levels) {
        const bool keptUp = l.keptUp(o.tolerance);
        points.push_back({l.rateRps, l.sentRps, l.throughputRps, l.latency.p95, l.ttft.p95, l.itl.p95, l.latency.mean, l.inFlightMean,
                          keptUp, l.stable, l.behind, keptUp && l.stable && !l.behind});
    }
    std::stable_sort(points.begin(), points.end(), [](const RatePoint& a, const RatePoint& b) { return a.rateRps < b.rateRps; });
    return points;
}

} // namespace

RepeatFigures repeatFigures(const SweepLevel& l)
{
    return {l.latency.p50, l.latency.p95, l.latency.p99, l.latency.mean, l.throughputRps, l.goodputRps, l.ttft.p95, l.itl.p95,
            l.completed, l.failed + l.rejected, l.measuredS, l.stable};
}

LevelRepeats summarizeRepeats(std::vector<RepeatFigures> runs, double tolerance)
{
    LevelRepeats out;
    out.runs = std::move(runs);
    auto interval = [&](double RepeatFigures::*figure, std::uint64_t seed) {
        std::vector<double> v;
        for (const RepeatFigures& f : out.runs)
            v.push_back(f.*figure);
        return meanInterval95(v, seed);
    };
    // Each figure's resampling has its own seed: the intervals do not share their luck.
    out.p50 = interval(&RepeatFigures::p50, 1);
    out.p95 = interval(&RepeatFigures::p95, 2);
    out.p99 = interval(&RepeatFigures::p99, 3);
    out.mean = interval(&RepeatFigures::meanMs, 4);
    out.throughput = interval(&RepeatFigures::throughputRps, 5);
    out.goodput = interval(&RepeatFigures::goodputRps, 6);
    out.ttftP95 = interval(&RepeatFigures::ttftP95, 7);
    out.itlP95 = interval(&RepeatFigures::itlP95, 8);
    const bool allStable = std::all_of(out.runs.begin(), out.runs.end(), [](const RepeatFigures& f) { return f.stable; });
    auto within = [&](const Interval& i) { const double mid = (i.lo + i.hi) / 2; return i.halfWidth() <= tolerance * mid; };
    const int n = int(out.runs.size());
    if (!allStable) {
        out.verdict = "unstable";
        out.verdictRule = format("%.0f of %.0f repeats did not stabilise", double(std::count_if(out.runs.begin(), out.runs.end(),
                                                                                                 [](const RepeatFigures& f) { return !f.stable; })),
                                 n);
    } else if (!within(out.throughput) || !within(out.p95)) {
        out.verdict = "noisy";
        out.verdictRule = format("every repeat stabilised, but the 95 %% intervals (throughput ±%.1f %%, p95 ±%.1f %%) are wider than the tolerance",
                                 100 * out.throughput.halfWidth() / std::max(1e-12, (out.throughput.lo + out.throughput.hi) / 2),
                                 100 * out.p95.halfWidth() / std::max(1e-12, (out.p95.lo + out.p95.hi) / 2));
        out.verdictRule += format(" (±%.0f %%)", 100 * tolerance);
    } else {
        out.verdict = "stable";
        out.verdictRule = format("%.0f repeats stabilised and agree: the 95 %% intervals of throughput and p95 are within ±%.0f %% of their means", n,
                                 100 * tolerance);
    }
    return out;
}

SloVerdict sloVerdict(const SweepLevel& l, double bestBelow, const SweepOptions& o)
{
    SloVerdict v;
    if (l.completed == 0) {
        v.why = "no request completed";
        return v;
    }
    if (l.failed + l.rejected > 0) {
        v.why = format("%.0f requests failed", double(l.failed + l.rejected));
        return v;
    }
    if (l.generatorBehind()) { // the load was not what was asked: the level says nothing of the SLOs
        v.why = "the load generator fell behind: " + l.generator->why;
        return v;
    }
    if (bestBelow > 0 && l.throughputRps < (1 - o.saturationTolerance) * bestBelow) {
        v.why = format("past saturation: %.4g req/s, below the %.4g req/s of a smaller level", l.throughputRps, bestBelow);
        return v;
    }
    struct Check {
        const char* name;
        double slo, value;
        const Interval* interval;
    };
    const bool r = l.repeats.has_value();
    const Check checks[] = {{"p95", o.sloMs, l.latency.p95, r ? &l.repeats->p95 : nullptr},
                            {"TTFT p95", o.ttftSloMs, l.ttft.p95, r ? &l.repeats->ttftP95 : nullptr},
                            {"inter-token p95", o.itlSloMs, l.itl.p95, r ? &l.repeats->itlP95 : nullptr}};
    v.met = true;
    v.certain = l.stable && (!l.repeats || l.repeats->verdict != "unstable"); // a level that never settled proves nothing
    for (const Check& c : checks) {
        if (c.slo <= 0)
            continue;
        if (c.value > c.slo) {
            if (v.met) // the first miss names the level's verdict; its certainty is that miss's
                v.certain = v.certain && (!c.interval || c.interval->lo > c.slo);
            v.met = false;
            v.why += (v.why.empty() ? "" : ", ") + std::string(c.name) + format(" %.4g ms > %.4g ms", c.value, c.slo);
        } else if (v.met && c.interval && c.interval->hi > c.slo) {
            v.certain = false;
        }
    }
    return v;
}

static std::string levelText(double level, bool rates) { return rates ? formatRate(level) : format("%.0f users", level); }

SloSearch summarizeSloSearch(const std::vector<SweepLevel>& levels, const SweepOptions& o, const std::vector<double>& bisected,
                             const std::string& stop, const std::vector<double>& doubled)
{
    std::vector<const SweepLevel*> sorted;
    for (const SweepLevel& l : levels)
        sorted.push_back(&l);
    std::stable_sort(sorted.begin(), sorted.end(), [](const SweepLevel* a, const SweepLevel* b) { return a->axis() < b->axis(); });
    SloSearch s;
    s.rates = o.rateSweep();
    s.bisected = bisected;
    s.doubled = doubled;
    s.stop = stop;
    double best = 0;
    std::vector<std::pair<double, SloVerdict>> verdicts;
    for (const SweepLevel* l : sorted) {
        // An open loop's throughput follows its rate: past saturation it is the rate it did not serve.
        SloVerdict v = sloVerdict(*l, s.rates ? 0 : best, o);
        if (s.rates && l->completed > 0 && !l->keptUp(o.tolerance))
            v.certain = true; // an open loop not served in full only gets worse the longer it runs
        if (s.rates && v.met && !l->keptUp(o.tolerance)) {
            v.met = false;
            v.why = "past saturation: " + formatRate(l->throughputRps) + " served of " + formatRate(l->sentRps) + " sent";
        } else if (s.rates && v.met && l->behind) {
            v.met = false;
            v.why = "the load generator fell behind: " + formatRate(l->sentRps) + " sent of " + formatRate(l->rateRps) + " asked";
        }
        verdicts.emplace_back(l->axis(), v);
        if (l->completed > 0 && l->failed + l->rejected == 0)
            best = std::max(best, l->throughputRps);
    }
    std::string missWhy;
    for (const auto& [level, v] : verdicts) {
        if (!v.met) {
            s.smallestMissing = level;
            missWhy = v.why;
            break;
        }
        s.largest = level;
    }
    for (const auto& [level, v] : verdicts) {
        if (s.largest && level <= *s.largest && v.met && v.certain)
            s.low = level;
        if (s.smallestMissing && level >= *s.smallestMissing && !v.met && v.certain && s.high == 0)
            s.high = s.rates ? level : level - 1;
    }
    std::string slos;
    for (const auto& [name, value] : {std::pair<const char*, double>{"p95", o.sloMs}, {"TTFT p95", o.ttftSloMs}, {"inter-token p95", o.itlSloMs}})
        if (value > 0)
            slos += (slos.empty() ? "" : ", ") + std::string(name) + format(" <= %.4g ms", value);
    const bool rates = s.rates;
    if (s.largest)
        s.rule = levelText(*s.largest, rates) + (rates ? " is the largest rate" : " is the largest concurrency") + " measured to meet every SLO ("
            + slos + ")";
    else
        s.rule = "no level met every SLO (" + slos + ")";
    if (s.smallestMissing)
        s.rule += "; " + levelText(*s.smallestMissing, rates) + " missed them: " + missWhy;
    else
        s.rule += "; every level measured met them: the boundary is above the largest";
    auto list = [](const std::vector<double>& v) {
        std::string out;
        for (double b : v)
            out += (out.empty() ? "" : ", ") + format("%.6g", b);
        return out;
    };
    if (!doubled.empty())
        s.rule += "; every listed level met them, so the search doubled to " + list(doubled);
    if (!bisected.empty())
        s.rule += "; bisection measured " + list(bisected);
    if (s.largest && s.smallestMissing && (s.low != *s.largest || s.high != *s.smallestMissing - (rates ? 0 : 1)))
        s.rule += (s.high > 0 ? "; judged only by levels that settled (with repeats, whose 95 % intervals clear the SLOs), the boundary lies in "
                                    + levelText(s.low, rates) + " to " + levelText(s.high, rates)
                              : "; judged only by levels that settled (with repeats, whose 95 % intervals clear the SLOs), the boundary is "
                                    + levelText(s.low, rates) + " or more");
    return s;
}

namespace {

// A rate between two others, to four significant figures (a rate a person can read back and ask for).
double rateBetween(double lo, double hi)
{
    const double mid = (lo + hi) / 2;
    const double unit = std::pow(10.0, std::floor(std::log10(mid)) - 3);
    const double rounded = std::round(mid / unit) * unit;
    return rounded > lo && rounded < hi ? rounded : mid;
}

constexpr int kMaxRateBisections = 16; // a rate bracket halves each time: 2^-16 of the first is plenty
constexpr int kMaxRateDoublings = 16;

} // namespace

namespace {

LevelStart startOf(const std::string& name, const SweepLevel& l)
{
    return LevelStart{name, l.throughputRps, l.latency.p50, l.latency.p95, l.latency.p99, l.completed, l.predictCalls, l.stable};
}

// The level again from its other starts (SweepOptions::starts), on probes that start users in groups: two groups half a round trip apart, then (from 3 users) one by one over a round
// trip, the round trip being the first start's (users ÷ throughput, think time included). The level
// keeps its figures when the starts agree, and takes the slowest start's when they do not.
void measureOtherStarts(SweepLevel& level, int users, const SweepOptions& o, const LevelProbeFactory& probeFor)
{
    struct Way {
        const char* name;
        int groups;
    };
    std::vector<Way> ways{{"two_groups", 2}};
    if (users > 2) // two users one by one are two groups
        ways.push_back({"one_by_one", users});
    ways.resize(std::min<std::size_t>(ways.size(), std::size_t(std::min(o.starts, kMaxStarts) - 1)));
    const double roundTripS = double(users) / level.throughputRps;
    std::vector<LevelStart> starts{startOf("together", level)};
    std::vector<SweepLevel> measured;
    for (const Way& way : ways) {
        const std::unique_ptr<LevelProbe> probe = probeFor(users, 0);
        LevelLoad load{users};
        load.groups = way.groups;
        load.spreadS = roundTripS;
        measured.push_back(measureLevel(*probe, load, o));
        starts.push_back(startOf(way.name, measured.back()));
    }
    LevelStates states = summarizeStates(std::move(starts), o.tolerance);
    for (std::size_t i = 1; i < states.starts.size(); ++i)
        if (states.starts[i].start == states.chosen)
            level = measured[i - 1];
    level.states = std::move(states);
}

} // namespace

double LevelStates::slowestRps() const
{
    double v = starts.empty() ? 0 : starts.front().throughputRps;
    for (const LevelStart& st : starts)
        v = std::min(v, st.throughputRps);
    return v;
}

double LevelStates::fastestRps() const
{
    double v = 0;
    for (const LevelStart& st : starts)
        v = std::max(v, st.throughputRps);
    return v;
}

std::string startText(const std::string& start)
{
    if (start == "together")
        return "all users at once";
    if (start == "two_groups")
        return "two groups half a round trip apart";
    if (start == "one_by_one")
        return "one by one over a round trip";
    return start;
}

LevelStates summarizeStates(std::vector<LevelStart> starts, double tolerance)
{
    LevelStates out;
    out.starts = std::move(starts);
    if (out.starts.empty())
        return out;
    const auto [slow, fast] = std::minmax_element(out.starts.begin(), out.starts.end(),
                                                  [](const LevelStart& a, const LevelStart& b) { return a.throughputRps < b.throughputRps; });
    out.several = fast->throughputRps > 0 && (fast->throughputRps - slow->throughputRps) > tolerance * fast->throughputRps;
    out.chosen = out.several ? slow->start : out.starts.front().start;
    std::string each;
    for (const LevelStart& st : out.starts) {
        each += (each.empty() ? "" : "; ") + startText(st.start) + " " + formatThroughput(st.throughputRps) + " (p95 " + formatLatency(st.p95);
        if (st.predictCalls > 0)
            each += format(", %.2f requests a call", st.requestsPerCall());
        each += ")";
    }
    out.rule = "measured from " + std::to_string(out.starts.size()) + " starts: " + each + ". ";
    out.rule += out.several ? format("Throughput differs by %.0f %% (more than the tolerance's %.0f %%): the level has more than one steady "
                                     "state, and a real server may settle in either; its figures are the slowest start's (",
                                     100 * (fast->throughputRps - slow->throughputRps) / fast->throughputRps, 100 * tolerance)
                                  + startText(out.chosen) + ")"
                            : format("They agree within the tolerance's %.0f %%: one steady state", 100 * tolerance);
    return out;
}

SweepLevel measureRepeatedLevel(double level, const SweepOptions& o, const LevelProbeFactory& probeFor, std::string* mode, bool* extends)
{
    const bool rates = o.rateSweep();
    const int repeats = std::clamp(o.repeats, 1, kMaxRepeats);
    std::vector<RepeatFigures> runs;
    LevelWindow all;
    all.slos = slosOf(o);
    SweepLevel one;
    double measuredS = 0;
    int windows = 0;
    bool stable = true;
    std::optional<EndpointCounts> endpoint;
    std::optional<ServerScrape> server;
    std::vector<GpuLevelFigures> gpus;
    std::optional<LoadGeneratorFigures> generator; // the repeats': the last's figures, behind if any was
    std::vector<std::string> kinds;
    const int users = rates ? 0 : int(level);
    bool generatorMayLag = false;
    bool otherStarts = false; // the probes start users in groups, and may (SweepOptions::startsVirtualOnly)
    std::int64_t predictCalls = 0;
    for (int repeat = 0; repeat < repeats; ++repeat) {
        const std::unique_ptr<LevelProbe> probe = probeFor(users, repeat);
        if (mode)
            *mode = probe->mode();
        generatorMayLag = probe->generatorMayLag();
        otherStarts = probe->startsInGroups() && (!o.startsVirtualOnly || probe->virtualTime());
        if (extends)
            *extends = probe->virtualTime() && o.extendLimit > 0;
        // Each repeat's arrivals are its own (the engine's come from repeatScenario's seed).
        const LevelLoad load{users, rates ? level : 0, o.constantArrivals, std::uint64_t(repeat) + 1};
        one = measureLevel(*probe, load, o, repeats > 1 ? &all : nullptr);
        runs.push_back(repeatFigures(one));
        measuredS += one.measuredS;
        predictCalls += one.predictCalls;
        windows += one.windows;
        stable = stable && one.stable;
        if (one.endpoint) {
            EndpointCounts& e = endpoint ? *endpoint : endpoint.emplace();
            e.sent += one.endpoint->sent;
            e.unfinished += one.endpoint->unfinished;
            if (!one.endpoint->lastError.empty())
                e.lastError = one.endpoint->lastError;
        }
        if (one.server)
            (server ? *server : server.emplace()).merge(*one.server);
        for (const auto& [kind, count] : one.failuresByKind)
            kinds.push_back(kind);
        mergeGpuFigures(gpus, one.gpus);
        if (one.generator) {
            const bool wasBehind = generator && generator->behind;
            const std::string why = generator ? generator->why : std::string();
            generator = one.generator;
            if (wasBehind && !generator->behind) {
                generator->behind = true;
                generator->why = why;
            }
        }
    }
    if (repeats > 1) { // the repeats merged: their windows' responses over their measured seconds
        one = levelOf(all, users, measuredS);
        one.windows = windows;
        one.predictCalls = predictCalls;
        one.stable = stable;
        one.endpoint = endpoint;
        for (const std::string& kind : kinds) // an endpoint's record lists every kind, 0 where none
            one.failuresByKind.try_emplace(kind, 0);
        one.server = server;
        one.gpus = gpus;
        one.generator = generator;
        one.repeats = summarizeRepeats(std::move(runs), o.tolerance);
        finishOpenLevel(one, rates ? level : 0, o.tolerance, generatorMayLag);
    }
    if (otherStarts && repeats == 1 && !rates && users >= 2 && o.starts > 1 && one.throughputRps > 0)
        measureOtherStarts(one, users, o, probeFor);
    return one;
}

SweepOptions resolveStarts(const Scenario& scenario, SweepOptions o)
{
    if (o.starts <= 0) { // auto: the steady states of dynamic batching, in virtual time (SweepOptions::starts)
        o.starts = scenario.model.batching.mode == BatchingConfig::Mode::Dynamic ? kDynamicBatchingStarts : 1;
        o.startsVirtualOnly = true;
    }
    return o;
}

SweepResult runLevels(const Scenario& scenario, const SweepOptions& options, const LevelProbeFactory& probeFor,
                      const std::function<bool(const SweepLevel&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    const SweepOptions o = resolveStarts(scenario, options);
    SweepResult r;
    r.scenarioName = scenario.name;
    const bool rates = o.rateSweep();
    // The levels on the sweep's axis: users, or request rates.
    std::vector<double> levels;
    if (rates)
        levels = o.rates;
    else
        for (int l : o.levels)
            levels.push_back(l);
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    bool extends = false;
    auto measure = [&](double level) {
        if (o.levelStarting)
            o.levelStarting(level);
        SweepLevel one = measureRepeatedLevel(level, o, probeFor, &r.mode, &extends);
        r.levels.push_back(std::move(one));
        if (progress && !progress(r.levels.back()))
            r.cancelled = true;
        return !r.cancelled;
    };
    const bool search = o.searchSlo && slosOf(o).any();
    std::vector<double> bisected, doubled;
    std::string stop;
    for (std::size_t k = 0; k < levels.size(); ++k) {
        if (!measure(levels[k]))
            break;
        if (!search)
            continue;
        const SloSearch so = summarizeSloSearch(r.levels, o);
        if (so.smallestMissing && k + 1 < levels.size()) { // bracketed: the larger levels cannot be the answer
            stop = "stopped after " + levelText(levels[k], rates) + ", which missed the SLOs";
            break;
        }
    }
    if (search) {
        // Every listed level met the SLOs: in virtual time, double until one misses.
        while (extends && !r.cancelled && !summarizeSloSearch(r.levels, o).smallestMissing) {
            const double last = r.levels.back().axis();
            if (rates ? 2 * last > limits::kMaxRateRps || int(doubled.size()) >= kMaxRateDoublings : 2 * last > o.extendLimit)
                break;
            doubled.push_back(2 * last);
            if (!measure(2 * last))
                break;
        }
        // Bisection between the largest level that met them and the smallest that missed: down to one
        // user, or for rates to the resolution's share of the rate that missed.
        // A rate search that no level met halves down to a quarter of the smallest listed rate, no further:
        // rates have no floor as users have 1, and near-zero rates would take a live level hours.
        auto open = [&](const SloSearch& so) {
            if (!so.smallestMissing)
                return false;
            const double lo = so.largest.value_or(0), hi = *so.smallestMissing;
            if (!rates)
                return hi - lo > 1;
            if (!so.largest && hi <= levels.front() / 4)
                return false;
            return hi - lo > o.rateResolution * hi && int(bisected.size()) < kMaxRateBisections;
        };
        for (SloSearch so = summarizeSloSearch(r.levels, o); !r.cancelled && open(so); so = summarizeSloSearch(r.levels, o)) {
            const double lo = so.largest.value_or(0), hi = *so.smallestMissing;
            const double mid = rates ? rateBetween(lo, hi) : lo + std::floor((hi - lo) / 2);
            bisected.push_back(mid);
            if (!measure(mid))
                break;
        }
        std::stable_sort(r.levels.begin(), r.levels.end(), [](const SweepLevel& a, const SweepLevel& b) { return a.axis() < b.axis(); });
        r.search = summarizeSloSearch(r.levels, o, bisected, stop, doubled);
    }
    // Throughput still rising at the last level (a rate still served, with no knee): in virtual time,
    // measure the next doubling (issue 20).
    for (int doublings = 0; !search && extends && !r.cancelled; ++doublings) {
        std::optional<double> next;
        if (rates) {
            const std::vector<RatePoint> points = ratePoints(r, o);
            if (doublings < kMaxRateDoublings)
                next = nextRateToSaturate(points, analyzeRateCurve(points, slosOf(o), o.sensitivity, o.tolerance), slosOf(o));
        } else {
            const KneeAnalysis a = analyzeCurve(curvePoints(r), slosOf(o), o.sensitivity, o.saturationTolerance);
            if (const std::optional<int> l = nextLevelToSaturate(curvePoints(r), a, slosOf(o), o.extendLimit))
                next = *l;
        }
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
    return runLevels(scenario, o, [&](int level, int repeat) {
        driver = makeDriver();
        // An open loop's queue is the replica's: the target never turns requests away to the deployment queue.
        const int target = o.rateSweep() ? limits::kMaxConcurrency : std::max({level, listedMax, scenario.deployment.predictConcurrency});
        return engineLevelProbe(repeatScenario(scenario, repeat), target, *driver);
    }, progress);
}

namespace {

// A rate sweep's analysis and recommendation (rate_curve.h); the closed-loop fields stay empty.
void analyzeRateSweep(SweepResult& r, const Scenario& scenario, const SweepOptions& o)
{
    const std::vector<RatePoint> points = ratePoints(r, o);
    r.analysis = KneeAnalysis();
    r.analysis.kneeNote = "a rate sweep: see its rate analysis";
    r.extendedLevels.clear();
    RateAnalysis a = analyzeRateCurve(points, slosOf(o), o.sensitivity, o.tolerance);
    for (const SweepLevel& l : r.levels)
        if (!r.search && std::find(o.rates.begin(), o.rates.end(), l.rateRps) == o.rates.end())
            a.extendedRates.push_back(l.rateRps);
    const RateChoice choice = chooseRate(points, a, slosOf(o), r.cancelled, !a.extendedRates.empty());
    r.rateAnalysis = a;
    Recommendation& rec = r.recommendation;
    rec = Recommendation();
    rec.concurrencyTarget = choice.concurrencyTarget;
    rec.concurrencyTargetRule = choice.rule;
    rec.concurrencyTargetBasis = choice.basis;
    rec.ratePerReplicaRps = choice.rateRps.value_or(0);
    rec.throughputAtTargetRps = choice.throughputRps;
    const int pc = scenario.deployment.predictConcurrency;
    rec.predictConcurrency = pc;
    rec.predictConcurrencyRule = "as in the scenario (the model's own predict_concurrency); a rate sweep varies the rate only";
    if (rec.concurrencyTarget > 0 && pc > rec.concurrencyTarget) {
        rec.predictConcurrency = rec.concurrencyTarget;
        rec.predictConcurrencyRule = format("lowered from %.0f to the concurrency target: above it, predict concurrency is never reached", pc);
    }
    planReplicasAtTarget(rec, o);
}

} // namespace

void analyzeSweep(SweepResult& r, const Scenario& scenario, const SweepOptions& o)
{
    r.rateAnalysis.reset();
    if (o.rateSweep()) {
        analyzeRateSweep(r, scenario, o);
        return;
    }
    const std::vector<CurvePoint> points = curvePoints(r);
    r.analysis = analyzeCurve(points, slosOf(o), o.sensitivity, o.saturationTolerance);
    const KneeAnalysis& a = r.analysis;
    r.extendedLevels.clear();
    for (const SweepLevel& l : r.levels) // the search's own levels (doubled, bisected) are not "to reach saturation"
        if (std::find(o.levels.begin(), o.levels.end(), l.concurrency) == o.levels.end() && !r.search)
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
        if (l.concurrency == rec.concurrencyTarget) {
            rec.throughputAtTargetRps = l.throughputRps;
            rec.p95AtTargetMs = l.latency.p95;
            if (l.states && l.states->several) // issue 13: say which of its steady states the figures are
                rec.concurrencyTargetRule += "; this level has more than one steady state (" + formatThroughput(l.states->slowestRps()) + " to "
                    + formatThroughput(l.states->fastestRps()) + " by how the users start), and its figures are the slowest";
        }
    planReplicasAtTarget(rec, o);
}

void planReplicasAtTarget(Recommendation& rec, const SweepOptions& o)
{
    rec.replicas.reset();
    if (rec.throughputAtTargetRps > 0 && (o.baselineRps > 0 || o.peakRps > 0))
        rec.replicas = planReplicas({rec.throughputAtTargetRps, o.baselineRps, std::max(o.peakRps, o.baselineRps), o.buffer, 1});
}

std::string sweepPointsCsv(const SweepResult& r)
{
    // Columns only some sweeps have come last, so scripts that read the first nine keep working:
    // failures by kind (endpoints, e.g. "timeout=3;http_5xx=2"), goodput (with an SLO), and the 95 %
    // intervals and verdict (with repeats).
    const bool kinds = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return !l.failuresByKind.empty(); });
    const bool good = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.goodCounted; });
    const bool repeats = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.repeats.has_value(); });
    const bool open = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.open(); });
    std::string out = "concurrency,p50_ms,p95_ms,p99_ms,throughput_rps,completed,failed,rejected,stable";
    out += kinds ? ",failures_by_kind" : "";
    out += good ? ",good,goodput_rps" : "";
    out += repeats ? ",repeats,p95_lo_ms,p95_hi_ms,throughput_lo_rps,throughput_hi_rps,verdict" : "";
    out += open ? ",rate_rps,sent_rps,in_flight_mean,behind" : ""; // a rate sweep's levels (concurrency 0)
    out += '\n';
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
        if (good) {
            std::snprintf(row, sizeof row, ",%lld,%.10g", (long long)l.good, l.goodputRps);
            out += row;
        }
        if (repeats && l.repeats) {
            const LevelRepeats& p = *l.repeats;
            std::snprintf(row, sizeof row, ",%d,%.10g,%.10g,%.10g,%.10g,%s", int(p.runs.size()), p.p95.lo, p.p95.hi, p.throughput.lo,
                          p.throughput.hi, p.verdict.c_str());
            out += row;
        } else if (repeats) {
            out += ",1,,,,,";
        }
        if (open) {
            std::snprintf(row, sizeof row, ",%.10g,%.10g,%.10g,%s", l.rateRps, l.sentRps, l.inFlightMean, l.behind ? "true" : "false");
            out += row;
        }
        out += '\n';
    }
    return out;
}

} // namespace knee
