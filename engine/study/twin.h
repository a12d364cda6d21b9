// A twin of a real deployment (DESIGN.md "A twin of a real deployment", issue 15): an ordinary scenario
// fitted to a closed-loop sweep of one replica, so that simulate, plan, sweeps and the grid answer what-ifs
// about the user's own model in virtual time.
//
// What the fit reads from the sweep's levels (concurrency k, throughput X(k), latency percentiles and the
// level's histogram; TTFT and inter-token time for streams):
//  - the fixed cost outside predict (network, HTTP server): the part of level 1's latency that does not
//    vary (a shifted lognormal through its 5th, 50th and 95th percentiles), run as preprocess/postprocess;
//  - the shape of a call's time: level 1's quantiles less that cost, over their median (the predict
//    table's per-call variation);
//  - the service curve: by Little's law a replica held by k users completes X(k), so a call with k in
//    flight takes k / X(k) less the fixed cost: T(1, k), a predict_table with a concurrency axis;
//  - where requests start to queue inside the replica (a semaphore such as Truss's predict_concurrency):
//    none, or one of the levels at which throughput has saturated, whichever replays the sweep best;
//  - streams: the decode step's time by sequences in flight (continuous batching) from the inter-token
//    time, time to first token less one step as the fixed cost before it, tokens per response.
// The mean-value start is then corrected by replaying the sweep on the twin (the engine's own closed loop)
// until each level's throughput (for streams, inter-token time below the limit) agrees, and the replay's error per level
// is what the user sees, with a leave-one-out cross-validation. Data that cannot identify the curve is
// refused with what to measure instead, never fitted into a silent bad twin.
//
// Qt-free (the CLI and the window parse sessions and targets and pass plain values in).
#pragma once
#include "sweep.h"

#include "sim/scenario.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace knee {

// How the fit's advice names what to change: the command line's flags by default; the window passes the
// names of its own fields and buttons, so that it never tells a user of the window to type a flag.
struct TwinAdviceTerms {
    std::string levels = "--levels 1,2,4,8,16,32";
    std::string windows = "longer --window-s and --cap-s";
    std::string serial = "fit it as such: knee fit --serial";
    std::string rates = "knee sweep --target URL --rates R1,R2 --out RATES.json, then knee fit SESSION.json --rates-session RATES.json";
    std::string skip = "knee fit SESSION.json --out TWIN.yaml --skip-levels {level}"; // {level}: the level to leave out
};

struct TwinFitOptions {
    std::string endpoint;   // what was measured: the URL, or the engine sweep's scenario name
    std::string mode = "http"; // the sweep's mode: http, live or virtual
    std::string measuredAt; // when the sweep ran (ISO 8601), if known
    std::string fittedAt;   // when the fit runs (ISO 8601); empty: now, in UTC
    std::string session;    // the session file it came from, if any
    int maxConnections = 0; // the client's most requests in flight (0: no limit known): levels above it are left out
    int maxTokens = 0;      // streams: the max_tokens the sweep asked for (0: unknown)
    // A throughput that is flat from level 1 may be a replica that serves one request at a time, or a queue
    // in front of it; the fit refuses it unless told it is the former.
    bool serial = false;
    // Levels the user leaves out of the fit (knee fit --skip-levels; the window's "Fit without level N"). The
    // twin replays them all the same, and the fit says how far it misses each (TwinFit::leftOut).
    std::vector<int> skipLevels;
    // Open-loop levels of the same endpoint and replica (a rate sweep), each with whether its arrivals were
    // evenly spaced (else Poisson). Closed-loop levels cannot tell how the replica divides itself among the
    // requests in flight (DeviceSharing::order: the same throughput and mean latency for any order); random
    // arrivals can, so the fit chooses the order by replaying these. Empty: processor sharing (order 0), and
    // the fit says what to measure.
    struct RateLevel {
        SweepLevel level;
        bool constant = false;
    };
    std::vector<RateLevel> rateLevels;
    bool crossValidate = true;
    // Threads the fit may run on at once, all its loops together (0: the cores free; 1: the calling thread
    // alone). Each replay is its own virtual run, so the twin and every figure of the fit are the same for
    // any count.
    int threads = 0;
    TwinAdviceTerms terms;
    std::uint64_t seed = 1;
};

// One level as measured and as the twin replays it (ms, req/s).
struct TwinLevelCheck {
    int concurrency = 0;
    double rateRps = 0; // an open-loop level (concurrency 0): its arrival rate
    bool streaming = false;
    bool open() const { return rateRps > 0; } // a rate level, named by its rate; else by its users
    double measuredRps = 0, twinRps = 0;
    double measuredP50 = 0, twinP50 = 0, measuredP95 = 0, twinP95 = 0;
    double measuredTtftP50 = 0, twinTtftP50 = 0, measuredTtftP95 = 0, twinTtftP95 = 0; // streams
    double measuredItlP50 = 0, twinItlP50 = 0;                                         // streams
    // (twin - measured) / measured, in percent (0 when nothing was measured).
    static double errorPct(double twin, double measured) { return measured > 0 ? 100.0 * (twin - measured) / measured : 0.0; }
    double throughputErrorPct() const { return errorPct(twinRps, measuredRps); }
    double p50ErrorPct() const { return errorPct(twinP50, measuredP50); }
    double p95ErrorPct() const { return errorPct(twinP95, measuredP95); }
    double ttftP50ErrorPct() const { return errorPct(twinTtftP50, measuredTtftP50); }
    double ttftP95ErrorPct() const { return errorPct(twinTtftP95, measuredTtftP95); }
    double itlP50ErrorPct() const { return errorPct(twinItlP50, measuredItlP50); }
    // The largest of the errors above that apply, in absolute value.
    double worstErrorPct() const;
};

struct TwinLeftOut {
    int concurrency = 0;
    std::string why;
};

struct TwinFit {
    std::optional<Scenario> twin; // set when the fit succeeded (its `twin` section filled)
    std::string refusal;          // else why not, for people
    std::vector<std::string> measureNext; // what to measure instead (refusals and caveats)
    std::vector<std::string> notes;       // the choices the fit made, each with its reason, and caveats
    std::vector<int> used;                // the levels fitted
    std::vector<TwinLeftOut> leftOut;     // levels not used, and why
    std::vector<TwinLevelCheck> replay;   // every used level, replayed on the twin
    std::vector<TwinLevelCheck> crossValidation; // each level predicted by a twin fitted without it
    std::vector<TwinLevelCheck> rateChecks;      // TwinFitOptions::rateLevels replayed on the twin (at the order chosen)
    // Refused because throughput is flat from level 1: fitted again with `serial` (the replica serves one
    // request at a time), the same sweep may give a twin. The user decides; the fit cannot tell.
    bool serialMayFit = false;
    // Refused at a stream's level between the limit the fit found and twice it, where a closed loop's
    // latencies depend on how its sequences group into steps (how its users started), not on the replica:
    // fitted again without that level (TwinFitOptions::skipLevels), the same sweep may give a twin. 0: none.
    int skipMayFit = 0;
    bool ok() const { return twin.has_value(); }
    // The order the twin was given (0 without rate levels, or when none kept the closed replay in its gate).
    double order() const { return twin ? twin->model.effectiveSharing().order : 0.0; }
};

// Throughput and p50 of every replayed level within this many percent, or the fit refuses its twin.
inline constexpr double kTwinMaxReplayErrorPct = 10.0;
// A level that a twin fitted without it predicts worse than this (throughput or p50; for streams TTFT and
// inter-token p50 too): the fit's notes say so (a what-if near it rests on that level alone).
inline constexpr double kTwinCrossValidationWarnPct = 2 * kTwinMaxReplayErrorPct;

TwinFit fitTwin(const SweepResult& sweep, const TwinFitOptions& options);

// The twin's closed loop: `users` users against `replicas` replicas (concurrency target as in the twin,
// unless `target` > 0), `responses` measured after a warm-up; the figures of a sweep level.
SweepLevel twinClosedLoop(const Scenario& twin, int replicas, int users, int target = 0, std::int64_t responses = 20000);
// The twin under Poisson arrivals at `rps` on `replicas` replicas for `durationS` simulated seconds (after
// a tenth of it as warm-up); evenly spaced arrivals with `constant`.
SweepLevel twinOpenLoop(const Scenario& twin, int replicas, double rps, double durationS, int target = 0, bool constant = false);

// A level as measured against the same level as the twin ran it (a stream when the measured level has TTFT).
TwinLevelCheck twinCheck(const SweepLevel& measured, const SweepLevel& twin);

// The largest error (absolute, percent) in any column of `errors`; 0 when it holds none.
double twinWorstErrorPct(const TwinErrors& errors);
// A line for people: what the twin is of, when, and its largest replay error ("twin of URL, measured …").
std::string twinBanner(const TwinSource& source);
// The deployment knobs a what-if moved away from the twin's as opened ("predict_concurrency 8 (as opened:
// 4), max replicas 3 (as opened: 1)"), or empty. A twin as `knee fit` wrote it holds the settings it was
// fitted at; beyond them its figures are predictions the sweep did not check.
std::string twinWhatIf(const DeploymentConfig& opened, const DeploymentConfig& now);
// The YAML comments that head a twin's file: where each value came from and the checks, line by line.
std::string twinComments(const TwinFit& fit);

} // namespace knee
