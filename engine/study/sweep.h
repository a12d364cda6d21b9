// The benchmarking process of seed 000, run on the engine: one replica (min = max = 1), a
// concurrency target high enough not to bind, closed-loop levels 1, 2, 4, 8, …; at each level a
// warm-up, then measurement windows until two consecutive windows agree (p50 and throughput within
// `tolerance`) or the level's cap; p50/p95/p99, throughput and errors per level; then the knee,
// saturation, the alternatives and a recommendation (recommend.h), each with the rule that produced it.
// In virtual time, where running longer costs milliseconds, a level is judged by responses, not
// seconds: the warm-up lasts until every user has had a response, each window holds at least
// kMinResponsesPerVirtualWindow responses, and the cap is kMaxVirtualWindows windows; and while
// throughput still rises at the last level the sweep doubles its levels (up to extendLimit).
// Live and endpoint sweeps keep the time cap and the user's levels.
#pragma once
#include "confidence.h"
#include "metrics/latency_histogram.h"
#include "knee.h"
#include "rate_curve.h"
#include "recommend.h"
#include "replica_plan.h"
#include "run_summary.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace knee {

struct SweepOptions {
    std::vector<int> levels{1, 2, 4, 8, 16, 32, 64, 128};
    double warmupS = 10;      // simulated seconds left out at the start of each level
    double windowS = 10;      // measurement window
    double tolerance = 0.05;  // consecutive windows agree when p50 and throughput differ by at most 5 %
    int minWindows = 3;
    double capS = 300;        // a level that has not stabilised by then is reported as unstable (live, endpoint)
    double sloMs = 0;         // 0: none (on p95 latency)
    double ttftSloMs = 0;     // streaming models: on p95 time to first token; 0: none
    double itlSloMs = 0;      // streaming models: on p95 inter-token latency; 0: none
    double sensitivity = 1.0; // Kneedle's S
    double baselineRps = 0, peakRps = 0; // for the replica plan (both 0: no plan)
    int buffer = 2;
    double saturationTolerance = kDefaultSaturationTolerance; // saturation: within this share of peak throughput
    int extendLimit = 4096; // virtual sweeps double their levels up to this while throughput rises (0: never)
    // Issue 17. Each level measured this many times (each a fresh engine; in virtual time with its own
    // seed), its figures merged and a 95 % interval over the repeats on each (confidence.h).
    int repeats = 1;
    // Find the largest concurrency that meets every SLO: the listed levels stop at the first that misses
    // (or fails requests, or falls past saturation), then bisection between it and the last that met
    // them, down to one user. Needs an SLO.
    bool searchSlo = false;
    // Open-loop rate sweep (issue 17): one level per request rate (req/s), Poisson arrivals (or evenly
    // spaced ones with constantArrivals) on the engine or an endpoint, free of coordinated omission:
    // latency counts from each request's scheduled time. Empty: the closed-loop `levels`.
    std::vector<double> rates;
    bool constantArrivals = false;
    bool rateSweep() const { return !rates.empty(); }
    // Rate sweeps: the SLO search's bisection stops when its bracket is narrower than this share of the
    // rate that missed.
    double rateResolution = 0.05;
    // Told as each level starts (its users, or its rate in req/s), before its first repeat, on the sweep's
    // thread: which level a window can say it is measuring, the SLO search's and the doublings' included.
    // A hook of the run, never saved.
    std::function<void(double level)> levelStarting;
    // Told once the levels are done and runSweepRequest starts the predict_concurrency grid after them.
    std::function<void()> gridStarting;
    // Issue 13: a closed loop into a predict stage that batches dynamically can settle in more than one
    // steady state (the users' requests in one batch, or in groups that take turns), each of which
    // persists, with throughput as much as 50 % apart; which one a run finds is set by where in the
    // users' cycle they started (measured on an H100: bench/fidelity/results/h100_2026-12-07_run52_large/).
    // In virtual time such a level (2 users or more, measured once) is measured from up to this many
    // starts (all users at once; two groups half a round trip apart; one by one over a round trip), and
    // when the starts disagree the level reports the slowest. 0: kDynamicBatchingStarts for a scenario
    // that batches dynamically, else 1 (resolved by runLevels), in virtual time; a live sweep measures
    // its starts when asked to (starts > 1). Endpoints' levels start as their clients do.
    // A wall-clock level (live) runs its other starts only when the user asked for them (starts > 1):
    // each costs the level's time again. runLevels sets this when it resolved starts = 0.
    bool startsVirtualOnly = false;
    int starts = 0;
};
inline constexpr int kDynamicBatchingStarts = 3;
inline constexpr int kMaxStarts = 3;

// What a level offers: `users` closed-loop users, or an open loop at `rateRps` (Poisson, or evenly
// spaced when `constant`), its arrivals drawn from `seed`.
struct LevelLoad {
    int users = 0;
    double rateRps = 0;
    bool constant = false;
    std::uint64_t seed = 1;
    // Closed loop: the users start in `groups` groups of (nearly) equal size, evenly spaced over
    // `spreadS` seconds (group g at g × spreadS ÷ groups); 1, or no spread: all at once.
    int groups = 1;
    double spreadS = 0;
    bool open() const { return rateRps > 0; }
};

// A closed-loop level measured from several starts (SweepOptions::starts): each start's figures.
struct LevelStart {
    std::string start; // "together", "two_groups", "one_by_one"
    double throughputRps = 0, p50 = 0, p95 = 0, p99 = 0;
    std::int64_t completed = 0;
    std::int64_t predictCalls = 0; // predict calls started in its measured windows
    bool stable = false;
    double requestsPerCall() const { return predictCalls > 0 ? double(completed) / double(predictCalls) : 0; }
};
struct LevelStates {
    std::vector<LevelStart> starts; // "together" first
    // The starts' throughput differs by more than the sweep's tolerance (of the fastest): the level has
    // more than one steady state, and its figures are the slowest start's.
    bool several = false;
    std::string chosen; // the start whose figures are the level's
    std::string rule;   // what was measured and why the level reports what it does, for people
    double slowestRps() const; // the starts' range of throughput
    double fastestRps() const;
};
// `several`, `chosen` and `rule` from the starts' figures (a saved session's are recomputed so).
LevelStates summarizeStates(std::vector<LevelStart> starts, double tolerance);
// A start's name for people: "all users at once", "two groups half a round trip apart", ….
std::string startText(const std::string& start);

inline constexpr int kMinResponsesPerVirtualWindow = 200; // virtual time: a window that says something about p50
inline constexpr int kMaxVirtualWindows = 30;             // virtual time: a level that never settles ends here

// An endpoint's level beyond its figures, for people: requests sent and left unanswered, the last error.
struct EndpointCounts {
    std::int64_t sent = 0;       // requests that ended in the measured windows: completed + failed
    std::int64_t unfinished = 0; // still in flight when the level ended (aborted, counted in neither)
    std::string lastError;       // the newest failure's kind and detail
};

// A level measured more than once (SweepOptions::repeats): each repeat's own figures, and the 95 %
// interval of their mean for each figure (confidence.h). The level's figures are the repeats' merged.
struct RepeatFigures {
    double p50 = 0, p95 = 0, p99 = 0, meanMs = 0, throughputRps = 0, goodputRps = 0, ttftP95 = 0, itlP95 = 0;
    std::int64_t completed = 0, failed = 0;
    double measuredS = 0;
    bool stable = false;
};
struct LevelRepeats {
    std::vector<RepeatFigures> runs;
    Interval p50, p95, p99, mean, throughput, goodput, ttftP95, itlP95;
    // "stable": every repeat stabilised and the intervals of throughput and p95 lie within the options'
    // tolerance of their mean; "noisy": stabilised, but the repeats disagree by more; "unstable": a repeat
    // did not stabilise.
    std::string verdict;
    std::string verdictRule;
};
// What the target server said about itself during a level's measured windows (issue 17: its Prometheus
// /metrics, scraped about once a second by engine/net's MetricsScraper during an endpoint sweep). Keys:
// requests_running, requests_waiting, kv_cache_usage, batch_size when the server reports them, and each
// name the user asked for.
struct ServerMetricSummary {
    std::string source; // the metric it was read from
    std::int64_t samples = 0;
    double mean = 0, min = 0, max = 0, last = 0;
};
struct ServerScrape {
    int scrapes = 0, failures = 0;
    std::string lastError;
    std::map<std::string, ServerMetricSummary> metrics;
    void merge(const ServerScrape& other); // a level's repeats: samples pooled
};

// One GPU during a live level's measured windows (issue 17: NVML, sampled by engine/telemetry's GpuSampler
// while the built-in predict stage runs). A figure the GPU does not report stays empty.
struct GpuLevelFigures {
    int index = 0;
    std::string name;
    std::int64_t samples = 0;
    std::optional<double> utilizationMeanPct, utilizationMaxPct, memoryUsedMaxBytes, powerMeanW, powerMaxW, smClockMeanMHz;
    double memoryTotalBytes = 0;
};
// A level's repeats: pooled by samples (means weighted, maxima of maxima).
void mergeGpuFigures(std::vector<GpuLevelFigures>& into, const std::vector<GpuLevelFigures>& more);

// Issue 18: a level whose load came from an outside generator (Locust's workers): what it achieved,
// and whether it fell behind (then the level is never chosen).
struct LoadGeneratorFigures {
    std::string name;          // "locust"
    int workers = 0;           // workers that reported during the level
    int usersAsked = 0;
    double usersMean = 0;      // the workers' users summed, averaged over their reports in the measured windows
    int usersMin = 0;
    double cpuMaxPct = 0;      // the busiest worker's CPU (its process; Locust samples it every 5 s)
    double loopLagMaxMs = 0;   // the latest a worker's 250 ms timer woke (a busy event loop times requests late too)
    double loopLagMeanMs = 0;  // how late on average
    bool recordsLost = false;  // a gap in a worker's batch sequence
    bool behind = false;       // users short of the asked, a worker's CPU over 90 %, or records lost
    std::string why;           // for people, when behind
};

struct SweepLevel {
    int concurrency = 0;
    LatencySummaryMs latency;
    LatencySummaryMs ttft, itl; // streaming (continuous batching); count 0 otherwise
    double throughputRps = 0;
    std::int64_t completed = 0, failed = 0, rejected = 0;
    bool stable = false;
    int windows = 0;
    double measuredS = 0;
    LatencyHistogram::Sparse histogram; // measured latencies, for sessions and comparisons
    // Endpoint sweeps (engine/net): failed requests by kind (refused, timeout, tls, http_4xx, …);
    // they add up to `failed`. Empty for the engine, whose failures have one kind.
    std::map<std::string, std::int64_t> failuresByKind;
    // Streaming (continuous batching, or an endpoint's streamed responses): tokens in the measured
    // responses, and per second of measurement. 0 otherwise.
    std::int64_t outputTokens = 0;
    double tokensPerS = 0;
    std::optional<EndpointCounts> endpoint; // endpoint sweeps (engine/net) only
    // Goodput (issue 17): with an SLO, the completed responses that met every SLO (latency; for streams
    // also TTFT and the mean inter-token gap), and per second of measurement.
    bool goodCounted = false;
    std::int64_t good = 0;
    double goodputRps = 0;
    double goodShare() const { const std::int64_t n = completed + failed + rejected; return n > 0 ? double(good) / double(n) : 0; }
    std::optional<LevelRepeats> repeats; // measured more than once
    std::optional<LevelStates> states;   // measured from several starts (dynamic batching, virtual time)
    // The engine's levels: predict calls started in the measured windows (completed ÷ calls is the
    // requests a call carried with batching). 0 where unknown (endpoints, sessions before it).
    std::int64_t predictCalls = 0;
    std::optional<ServerScrape> server;   // endpoint sweeps that scrape the target's /metrics
    std::vector<GpuLevelFigures> gpus;    // live sweeps, when NVML is there
    std::optional<LoadGeneratorFigures> generator; // an outside load generator's (Locust) figures
    bool generatorBehind() const { return generator && generator->behind; }
    // Open-loop levels (rate sweeps; concurrency is 0): the rate asked, the requests the load generator
    // sent in the measured windows and their rate (the achieved rate), whether it fell behind the asked
    // rate by more than a Poisson count's noise allows (the level is then never chosen), and the mean
    // requests in flight by Little's law (throughput × mean latency).
    double rateRps = 0;
    std::int64_t sent = 0;
    double sentRps = 0;
    bool behind = false;
    double inFlightMean = 0;
    bool open() const { return rateRps > 0; }
    double axis() const { return open() ? rateRps : double(concurrency); } // where the level sits on its sweep's axis
    // Served what was sent: completed every request it was sent within the tolerance, none failed.
    bool keptUp(double tolerance) const { return completed > 0 && failed + rejected == 0 && throughputRps >= (1 - tolerance) * sentRps; }
};
RepeatFigures repeatFigures(const SweepLevel& level);

// `--search slo` (issue 17): the largest concurrency meeting every SLO, from the levels measured.
// Levels are users, or request rates in a rate sweep (`rates`).
struct SloSearch {
    bool rates = false;                    // on the rate axis (req/s)
    std::optional<double> largest;         // the largest level that met the SLOs below any that missed them; none: not even the first
    std::optional<double> smallestMissing; // the smallest level that missed them (none: every level met them)
    // With repeats, the levels whose intervals straddle an SLO: the boundary lies in [low, high]; without
    // repeats low = largest and high = smallestMissing - 1 (users) or smallestMissing (rates). high 0:
    // above every level measured.
    double low = 0, high = 0;
    std::vector<double> bisected; // the levels bisection added, in the order measured
    std::vector<double> doubled;  // virtual time: levels past the list, doubling while every level met the SLOs
    std::string stop;          // why the listed levels stopped early, if they did
    std::string rule;          // the answer and how it was reached, for people
};
// Whether a level meets the search's criteria: requests all answered, every SLO met (on the point
// figures), and throughput not fallen past saturation below the best of the smaller levels.
struct SloVerdict {
    bool met = false;
    bool certain = true; // with repeats: the intervals agree with `met` (no SLO inside an interval)
    std::string why;     // what missed, for people
};
SloVerdict sloVerdict(const SweepLevel& level, double bestThroughputBelowRps, const SweepOptions& options);
// The search's answer over measured levels (any order); `bisected` and `stop` are the run's.
SloSearch summarizeSloSearch(const std::vector<SweepLevel>& levels, const SweepOptions& options, const std::vector<double>& bisected = {},
                             const std::string& stop = {}, const std::vector<double>& doubled = {});

// One measurement window of a level: what ended in it.
struct LevelWindow {
    LatencyHistogram latency, ttft, itl;
    std::int64_t completed = 0, failed = 0, rejected = 0;
    std::map<std::string, std::int64_t> failuresByKind;
    std::int64_t outputTokens = 0; // streaming responses: tokens in the completed ones
    std::int64_t sent = 0;         // open loop: requests the load generator sent in the window
    // Goodput: the SLOs a response is held to (set by the level procedure, kept by clear()), and the
    // completed responses that met every one of them.
    Slos slos;
    std::int64_t good = 0;
    void clear(); // empty again, the SLOs kept
    // Adds one completed response's figures to `good` when it meets the SLOs (ttft, itl < 0: not a stream).
    void countGood(Nanos latency, Nanos ttft, Nanos itl);
    void merge(const LevelWindow& other);
};

LevelRepeats summarizeRepeats(std::vector<RepeatFigures> runs, double tolerance);

// An engine's ended request into the window, as every engine measurer counts it (the sweep's probe, a
// twin's runs): latency from its intended time; for streams TTFT and the mean gap between its tokens.
void recordResponse(LevelWindow& window, const Request& request);
// One window of `seconds` as a level of `concurrency` users (0: open loop): its figures, throughput and
// tokens per second over those seconds, one window, stable.
SweepLevel levelOf(const LevelWindow& window, int concurrency, double seconds);
// An open-loop level's own figures once measured (rateRps 0: a closed-loop level, left alone): the rate
// asked, the achieved rate, requests in flight by Little's law, and, where the generator is a client that
// can fall behind its schedule (`judgeGenerator`: an endpoint's), whether it did. (The engine's arrivals
// are events of its own clock: they stop only when its request budget stops the load, and a level so far
// past capacity is not served in full.)
void finishOpenLevel(SweepLevel& level, double rateRps, double tolerance, bool judgeGenerator);

// The level procedure's rules, shared by every measurer (the engine's, and endpoints' in engine/net):
// the window length, when a level is stable (two consecutive windows agree), and the level's figures.
class LevelRecorder {
public:
    // Two windows agree only when each holds at least `minResponses` completed responses.
    // An open loop's level (`open`) must also not drift: its windows' p50s show no significant trend, for
    // a queue that grows without bound (a rate just past capacity) changes little from one long window to
    // the next, but steadily over the level.
    LevelRecorder(int concurrency, const SweepOptions& options, std::int64_t minResponses = kMinResponsesToAgree, bool open = false);
    static constexpr std::int64_t kMinResponsesToAgree = 20; // fewer cannot show the level is stable
    // At least windowS; long enough for ~100 responses at the warm-up's rate; short enough that
    // minWindows still fit in the cap (a slow model would otherwise never get two windows to compare).
    static double windowLength(const SweepOptions& options, std::int64_t warmupCompleted);
    // Adds a closed window `widthS` seconds wide; true when the level is now stable.
    bool add(const LevelWindow& window, double widthS);
    SweepLevel finish(double measuredS);

private:
    SweepOptions m_options;
    SweepLevel m_level;
    LatencyHistogram m_latency, m_ttft, m_itl;
    double m_prevP50 = -1, m_prevThroughput = -1;
    std::vector<double> m_windowP50s; // open loop: each window's p50 that had enough responses
    bool m_prevEnough = false, m_open = false;
    std::int64_t m_minResponses;
};

struct Recommendation {
    int concurrencyTarget = 0; // 0: none (TargetChoice::basis says why)
    std::string concurrencyTargetRule;
    std::string concurrencyTargetBasis; // saturation, slo; or not_saturated, no_level_meets_slo, no_usable_level
    int predictConcurrency = 0;
    std::string predictConcurrencyRule;
    std::optional<ReplicaPlan> replicas; // when baseline and peak rates were given
    double throughputAtTargetRps = 0;
    double p95AtTargetMs = 0; // the p95 measured there (closed-loop sweeps)
    bool fromGrid = false;    // a grid set it (applyGridChoice): those two figures are its cell's
    // Rate sweeps: the rate one replica should take (the concurrency target is its requests in flight
    // there, by Little's law); 0 when none, or a closed-loop sweep.
    double ratePerReplicaRps = 0;
};

struct SweepResult {
    std::string scenarioName;
    std::string mode = "virtual"; // "live", or "http" for an endpoint
    // An endpoint sweep: what was measured, as compact JSON (kind, URL, stream, max tokens, header
    // names, timeouts, connections, the key's source — never the key, nor header values). Else empty.
    std::string target;
    std::vector<SweepLevel> levels; // finished levels (all, unless cancelled), with any the sweep added
    std::vector<int> extendedLevels; // levels measured beyond the options' own, to reach saturation
    bool cancelled = false;
    std::optional<SloSearch> search; // --search slo
    KneeAnalysis analysis;                   // closed-loop levels
    std::optional<RateAnalysis> rateAnalysis; // a rate sweep's levels (then `analysis` is empty)
    Recommendation recommendation;
    double wallS = 0;
};

// How a level's engine is made and advanced: in virtual time as fast as possible, or paced to the wall
// by the live clock with the real predict stage (engine/live's LiveRun). The level procedure (warm-up,
// windows, stability) is the same for both.
class LevelDriver {
public:
    virtual ~LevelDriver() = default;
    // The level's engine for `scenario`, owned by the driver until stop(). Throws std::invalid_argument
    // for an invalid scenario.
    virtual Engine& begin(const Scenario& scenario) = 0;
    virtual void start(Engine& engine) = 0;              // the load starts
    virtual void advanceTo(Engine& engine, Nanos t) = 0; // returns when the engine's time is t
    virtual void stop(Engine&) {}                        // the level is over; the engine may go
    virtual void measuring(Engine&) {}                   // the warm-up is over: the measured windows start
    virtual void annotate(SweepLevel&) const {}          // after stop(): what only this driver knows of the level
    // Wall-clock drivers: how late their clock ran the engine's events since the last call (its error:
    // a late arrival or hand-off adds to a request's time). Virtual time: nothing.
    virtual LatencyHistogram takeClockLag() { return {}; }
    // Changes the running engine now (a knob, the users): the live driver first runs what is due and
    // afterwards re-arms its clock for whatever the change scheduled.
    virtual void act(Engine& engine, const std::function<void(Engine&)>& change) { change(engine); }
    virtual const char* mode() const = 0;
    // Virtual time: running longer costs milliseconds, so levels are judged by responses and the
    // sweep may extend its levels (see the top of sweep.cpp). Wall-clock drivers: the time cap.
    virtual bool virtualTime() const { return false; }
};
using LevelDriverFactory = std::function<std::unique_ptr<LevelDriver>()>;

// What a level is measured on: the engine (virtual or live, through a LevelDriver) or an endpoint's
// closed-loop clients (engine/net). The level procedure — warm-up, windows until two agree or the cap,
// by responses in virtual time — is measureLevel's, the same for all of them.
class LevelProbe {
public:
    virtual ~LevelProbe() = default;
    virtual void begin(const LevelLoad& load) = 0; // the load starts (users, or an open loop's arrivals); the level's time is 0
    virtual std::int64_t sent() const { return 0; } // open loop: requests sent since begin()
    virtual bool generatorMayLag() const { return false; } // open loop: sent() may fall behind the schedule
    virtual Nanos now() const = 0;            // the level's time (simulated, or wall since begin)
    virtual void advanceTo(Nanos t) = 0;      // lets the level's time pass to t
    virtual void measuring() {}               // the warm-up is over: the measured windows start now
    virtual LevelWindow& window() = 0;        // what ended since the window was last reset
    virtual void end() = 0;                   // the users stop; what is still in flight is abandoned
    virtual bool virtualTime() const = 0;     // judged by responses, and a sweep may extend its levels
    virtual const char* mode() const = 0;     // "virtual", "live", "http"
    virtual void annotate(SweepLevel&) const {} // after end(): what only this probe knows of the level
    // A recorded level's time ends here (its last record): the level is measured up to it at most.
    virtual Nanos timeLimit() const { return std::numeric_limits<Nanos>::max(); }
    // Whether begin() honours LevelLoad's groups and spreadS (the engine's probe does).
    virtual bool startsInGroups() const { return false; }
};

// `all`, if given, also receives every measured window (the repeats of a level merged).
SweepLevel measureLevel(LevelProbe& probe, const LevelLoad& load, const SweepOptions& options, LevelWindow* all = nullptr);
inline SweepLevel measureLevel(LevelProbe& probe, int users, const SweepOptions& options, LevelWindow* all = nullptr)
{
    return measureLevel(probe, LevelLoad{users}, options, all);
}
// The engine as a probe: one replica (min = max = 1, no autoscaler) with the given concurrency target,
// a fresh engine per level from `driver`.
std::unique_ptr<LevelProbe> engineLevelProbe(const Scenario& scenario, int target, LevelDriver& driver);
// One engine level: engineLevelProbe + measureLevel.
SweepLevel measureLevel(const Scenario& scenario, int concurrency, int target, const SweepOptions& options, LevelDriver& driver);
std::unique_ptr<LevelDriver> makeVirtualDriver();
// The scenario of repeat `repeat` of a level: its own seed (repeat 0 keeps the scenario's).
Scenario repeatScenario(const Scenario& scenario, int repeat);

// The levels of a sweep on probes made by `probeFor(level, repeat)` (repeat 0 … options.repeats − 1, a
// fresh probe each): the listed levels, then (virtual time) the doublings until throughput saturates,
// or with `searchSlo` the SLO search; then the analysis against `scenario` (its predict_concurrency).
// `progress` is told of each finished level and may return false to cancel: the finished levels are
// kept and analysed.
// In a rate sweep, `level` is 0 (the probe's load comes to begin()).
using LevelProbeFactory = std::function<std::unique_ptr<LevelProbe>(int level, int repeat)>;
SweepResult runLevels(const Scenario& scenario, const SweepOptions& options, const LevelProbeFactory& probeFor,
                      const std::function<bool(const SweepLevel&)>& progress = {});

// `options` with its starts resolved for `scenario` (SweepOptions::starts 0: 3 with dynamic batching, in
// virtual time only; else 1), as runLevels and the grid measure levels.
SweepOptions resolveStarts(const Scenario& scenario, SweepOptions options);

// One level measured options.repeats times, each on a fresh probe from `probeFor` (the repeats' windows
// merged, their spread in `repeats`), as runLevels measures each level; the recorded levels' replay
// (engine/net) measures its repeats here too. `mode` and `extends`, if given, learn the probes' mode and
// whether a virtual-time sweep may extend its levels.
SweepLevel measureRepeatedLevel(double level, const SweepOptions& options, const LevelProbeFactory& probeFor, std::string* mode = nullptr,
                                bool* extends = nullptr);

// Runs the sweep. `progress` is told of each finished level and may return false to cancel: the
// finished levels are kept and analysed.
SweepResult runSweep(const Scenario& scenario, const SweepOptions& options, const LevelDriverFactory& driver,
                     const std::function<bool(const SweepLevel&)>& progress = {});
SweepResult runVirtualSweep(const Scenario& scenario, const SweepOptions& options,
                            const std::function<bool(const SweepLevel&)>& progress = {});

// The sweep points as CSV (one row per level), for spreadsheets and plots elsewhere.
std::string sweepPointsCsv(const SweepResult& result);

// Knee, alternatives and recommendation from finished levels (also used on a reopened session).
void analyzeSweep(SweepResult& result, const Scenario& scenario, const SweepOptions& options);
// A level the knee, saturation and recommendation may use: stable, no errors, a response, the load sent in full.
bool usableLevel(const SweepLevel& level);
// Min and max replicas from the recommendation's throughput at its target and the options' baseline and
// peak rates (none without either, or without a throughput).
void planReplicasAtTarget(Recommendation& rec, const SweepOptions& options);

} // namespace knee
