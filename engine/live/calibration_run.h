// Calibrating a model profile on this machine: the predict stage's time per call T(b, k) by batch size
// and calls in flight on one device (predict/calibration.h), and the live engine's own cost per call
// (the completion's hand-off to the engine thread and the next call's submit, measured by a short live
// run that keeps a queue at predict_concurrency 1): the
// predict_table virtual-time runs use, so that they predict what a live run does. One function for
// `knee calibrate` and the window's Model menu.
#pragma once
#include "sim/scenario.h"
#include "study/run_summary.h"

#include "live/backend_executor.h"
#include "predict/calibration.h"
#include "telemetry/host_contention.h"

#include <atomic>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace knee {

struct PredictBackendInfo;

struct CalibrationRequest {
    std::string profile = "small";
    predict::SharingOptions sharing;
    bool measureOverhead = true; // the live engine's own cost per call (two short live runs, about 3 s)
    // With measureOverhead and the idle curve: the batcher's delays (ms) at which the live engine's own
    // cost of a call that finds the device idle is measured (one user, dynamic batching: every call
    // follows the delay), replacing the waiting caller's curve from the first such gap on. Empty: the
    // waiting caller's curve stands. Why: on the H200 the waiting caller's median undercharged the calls
    // the batcher's timer releases (closed loops with dynamic batching 8-11 % slower live than virtual,
    // BENCHMARKS.md "Fidelity", run 13), and its mean overcharged them (run 12).
    std::vector<double> liveIdleDelaysMs{0.1, 0.2, 0.5, 1, 2};
    // With measureOverhead: also measure the live engine's cost per call at predict_concurrency k under a
    // queue, for each k of the table's concurrency axis above 1 (each a live run of about 3 s), and give
    // the table overhead_ms and engine_thread_ms by concurrency (ServiceTable::overheadSharedMs). False:
    // the one-call queue run's values stand for every k. Unset: on a GPU only. Why: on the H200 (run 28,
    // `medium`, with variation_alone and the idle curve held to the queue run) they took the p95 error from
    // 9.1 to 8.6 % and under Poisson load from 24.6 to 16.8 % (closed loops 6.1 to 6.4 %), while on this
    // project's 2-core CPU machine they took the CPU matrix's closed-loop p95 from 13.1 to 19.1 %
    // (BENCHMARKS.md "Fidelity", twenty-third session).
    std::optional<bool> measureSharedCost;
};

// The live engine's own cost with k calls in flight: predict_concurrency k on one replica, 4k closed-loop
// users (always a queue). Its engine thread's CPU time per call becomes engine_thread_ms at k, and
// overhead_ms at k is the one that makes the same run in virtual time (this table, that thread cost)
// complete as many calls per second (found by bisection: the calls' own time at k is the table's, so
// what the overhead takes up is the rest of the live engine's time between one call and the slot's next).
struct LiveQueuePoint {
    int concurrency = 0;
    double throughputRps = 0;   // live
    double engineThreadMs = 0;  // live: the thread's CPU time per call
    double overheadMs = 0;      // fitted
    double virtualRps = 0;      // virtual, at that overhead: how close the fit came
    LatencySummaryMs latency;   // live
    telemetry::HostContention host;
    int attempts = 1;
    double deviceSlowness = 0; // the device's host time per call in the run kept over the table's, less 1
};

// One delay of CalibrationRequest::liveIdleDelaysMs: the live engine's time between completions at one
// user (cycleMs), the device's idle gap that implies (the cycle less a mean call), and the extra time
// per call that makes virtual time give the same cycle; callerExtraMs is what the waiting caller's curve
// said at that gap, for the record.
struct LiveIdlePoint {
    double delayMs = 0;
    double cycleMs = 0;
    double gapMs = 0;
    double extraMs = 0;
    double callerExtraMs = 0;
    // The run's spread as the live engine met it: each request's time and its predict part (the batcher's
    // wait, the call, its wake-up and hand-off). Kept in the JSON so that a wake-up jitter taken from the live
    // path, not the waiting caller's, can be tried on stored runs (BENCHMARKS.md "Fidelity", nineteenth session).
    LatencySummaryMs latency, predict;
    telemetry::HostContention host; // during the run kept (see CalibrationResult::queueHost)
    int attempts = 1;
};

// The live engine under Poisson sends at predict_concurrency 1, a quarter of the queue run's rate (so its
// thread is mostly asleep when a send falls due): how late the thread ran the sends it woke for becomes the
// table's engine_thread_wake_ms (ServiceTable::engineThreadWakeMs), at the variation's quantiles.
struct LiveOpenPoint {
    double rateRps = 0;       // sent
    double throughputRps = 0; // completed
    std::int64_t wakeUps = 0; // sends the thread woke for (the samples of wakeMs)
    std::vector<double> wakeMs; // at ServiceTable::kVariationQuantiles; empty: fewer than kMinWakeUps
    double engineThreadMs = 0;  // the thread's CPU time per call (the queue run's, for comparison: engine_thread_ms)
    LatencySummaryMs latency;
    telemetry::HostContention host;
    int attempts = 1;
    // The device call's own cost after an idle gap inside this run, from BackendExecutor's trace of its
    // calls (callIdleBins): what a call that an arrival started took, by the gap before it. The source of
    // the table's call curve (setCallIdleCurve), beside its idle curve, which the batcher's runs set
    // (LiveIdlePoint) and which then also holds the batcher timer's lateness: on the H100 `medium`'s calls in a Poisson run took 0.012 ms
    // more after gaps of 0.5-2 ms than back to back, where the curve charged 0.045-0.053 (run 48,
    // BENCHMARKS.md "Fidelity", thirty-fourth session). Empty: the trace had too few calls.
    struct CallIdleBin {
        double fromGapMs = 0, toGapMs = 0; // the bin: gaps in [from, to)
        double gapMs = 0;                  // its calls' median gap
        double hostMs = 0;                 // their median host time (submit to completion)
        std::int64_t calls = 0;
    };
    std::vector<CallIdleBin> callIdle;
    static constexpr std::int64_t kMinWakeUps = 200;
};

// A trace's calls of batch 1 (BackendExecutor::TracedCall) that start from `fromNs` on, binned by the gap
// between a call's start and the end of the previous call on its device (a call that overlaps that one is
// left out: predict_concurrency 1 runs one at a time): bins at kCallIdleEdgesMs, each kept with at least
// kMinCallsPerBin calls. The first bin holds the calls back to back (a request that waited behind the
// previous one starts after the hand-off alone).
inline constexpr double kCallIdleEdgesMs[] = {0, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 1e9};
inline constexpr std::int64_t kMinCallsPerBin = 30;
std::vector<LiveOpenPoint::CallIdleBin> callIdleBins(const std::vector<BackendExecutor::TracedCall>& trace, std::int64_t fromNs);

// ServiceTable::callIdleGapMs/callIdleExtraMs from the open-loop run's bins: at the queue run's gap (its
// cycle less a mean call, where overheadForCycle read the idle curve) the idle curve's own extra, so that
// calls back to back cost what they did and overhead_ms stands; beyond it each later bin's median gap,
// charged that extra plus the bin's median host time over the back-to-back bin's (never less). Needs the
// idle curve, the back-to-back bin and a bin beyond the queue's gap; else clears the call curve and
// returns false (every call then pays the idle curve).
bool setCallIdleCurve(ServiceTable& t, const std::vector<LiveOpenPoint::CallIdleBin>& bins, double queueCycleMs);

// Ratios to their point's median at ServiceTable::kVariationQuantiles (rounded to 1e-4; the median 1).
std::vector<double> variationQuantiles(std::vector<double> ratios);
// ServiceTable::variationShared from a calibration's host samples ([k][batch][call], k = 1 first) and their
// medians: one row for each k above 1, every batch's calls pooled; empty where a k has fewer than 100 calls.
std::vector<std::vector<double>> variationByConcurrency(const std::vector<std::vector<std::vector<double>>>& hostSamples,
                                                        const std::vector<std::vector<double>>& hostMs);

// A live run of the calibration counts as disturbed (run again, up to CalibrationResult::kLiveAttempts times,
// and named in hostNotice if every attempt was) from this much hypervisor steal on: stricter than the 0.5 %
// that marks a measurement window (telemetry::HostContention::kDisturbedStealPct), since one run sets the
// table for every virtual run after it. Why: on the H100 the live idle runs of two calibrations of `large`
// had 0.17-0.48 % steal and ran the batcher's 0.2 ms cycle 7-10 % slower than the fidelity matrix's same
// experiment minutes later, and the matrix's medians came out 17-18 % off; the calibrations at most 0.07 %
// (ten, on the H200 and the H100) were within -5.6 to +4.2 % of it (BENCHMARKS.md "Fidelity", twenty-fourth
// session). /proc/stat counts 10 ms ticks: over a 1 s run of 16 CPUs 0.15 % is two or three of them.
inline constexpr double kCalibrationDisturbedStealPct = 0.15;
// A live queue run counts as disturbed too (run again, as above) when the device's calls in it took longer
// than the table says by this much or more (LiveRunResult::hostCallMeanMs against T(1, k), and at one call in
// flight the idle cost at the run's gap): the queue run sets overhead_ms, and the device's slowness must not
// pass for the engine's. Why: on the H100 `medium`'s queue run at one call in flight gave 3,720 / 4,510 /
// 3,994 calls/s in three processes minutes apart with the clocks at 1,980 / 2,619 MHz throughout and no
// throttle reason, and calibrate's own (4,020) set an overhead that made its fresh table read 7.5 % stale
// (bench/fidelity/results/h100_2026-12-06_drift/). 5 %: quiet runs on the H100 met the table within -8 to +3 %.
inline constexpr double kLiveDeviceSlowTolerance = 0.05;
// How much slower than `t` a live queue run's device was at k calls in flight: its host time per call
// (LiveRunResult::hostCallMeanMs) over the table's, less 1 (negative: faster; 0 without a measurement). The
// table's call is T(1, k) times its variation's mean, and at one call in flight also the idle cost at the
// run's own gap between calls (1000 / throughputRps less the host time per call). Calibrate judges its k = 1
// run on the waiting caller's idle curve (the live engine's points come after that run), --check on the
// table's final curve (capped at the queue run's gap: capIdleCurveAtQueueGap), so the two can differ a little.
double queueRunSlowness(const ServiceTable& t, int k, double hostCallMeanMs, double throughputRps);

// The idle phase's own check. Its calls after gaps below the jitter's first gap (0.1 ms) are calls back to
// back by another name: they should vary as the table's calls alone do (variation_alone, or variation). A
// disturbance of the host during the phase widens them and every other gap alike, and idle.jitter_ms,
// pooled from that phase, then carries it into every virtual call after an idle gap. Why: on the H100 one
// calibration of `large` had those calls reach 2.09x their median at p95 where the sweep's reached 1.12x;
// its virtual dynamic-batching p95 ran 26 % above live, where two calibrations minutes later (1.05-1.07x
// against 1.06x) met the same live cells within 4.1 % (BENCHMARKS.md "Fidelity", twenty-fourth session).
struct IdlePhaseCheck {
    double backToBackP95 = 0; // those calls' p95 over their gap's median (0: too few to say)
    double aloneP95 = 0;      // the table's calls alone, p95 over their median (variation_alone, or variation)
    bool disturbed = false;   // backToBackP95 - 1 exceeds kIdlePhaseSpreadLimit x (aloneP95 - 1)
};
inline constexpr double kIdlePhaseSpreadLimit = 2;

struct CalibrationResult {
    std::string error; // non-empty: nothing was measured (or it was cancelled)
    std::string profile;
    ServiceTable table;
    std::vector<std::vector<double>> deviceMs; // [k][batch]: the device's own time (layers and copies)
    std::vector<std::vector<double>> deviceInFlight; // [k][batch]: mean calls on the device while busy (SharingMeasurement)
    std::vector<std::vector<std::vector<double>>> hostSamples; // [k][batch]: every timed call's host time
    std::vector<std::vector<double>> idleHostSamples;          // [idle gap]: every timed call's host time
    std::string backendKind, deviceName;
    bool gpu = false;
    std::size_t parameterBytes = 0;
    double coldStartMs = 0, weightUploadMs = 0;
    double liveP50Ms = 0;   // median latency of a lone predict-only request in the live engine
    double liveCycleMs = 0; // the live engine's time between completions at predict_concurrency 1 under a queue (the overhead's source)
    std::vector<LiveIdlePoint> liveIdle; // the idle curve's points from the live engine (CalibrationRequest::liveIdleDelaysMs)
    bool idleCurveScaled = false;        // capIdleCurveAtQueueGap scaled the waiting caller's part of the curve
    IdlePhaseCheck idlePhase;            // was the idle phase (idle.jitter_ms's source) disturbed? (checkIdlePhase)
    std::vector<LiveQueuePoint> liveQueue; // k > 1 (CalibrationRequest::measureSharedCost)
    std::optional<LiveOpenPoint> liveOpen; // the thread's wake-up for timed sends (with the overhead)
    // What the host took during the queue run kept, and how many runs it took: a live run that the host
    // disturbed (kCalibrationDisturbedStealPct) is run again, up to kLiveAttempts times, and the
    // quietest kept. hostNotice says when every attempt of some run was disturbed ("" otherwise).
    telemetry::HostContention queueHost;
    int queueAttempts = 0;
    double queueDeviceSlowness = 0; // the queue run kept: its device's host time per call over the table's, less 1

    std::string hostNotice;
    static constexpr int kLiveAttempts = 3;
    // The waiting caller's idle curve and the overhead derived on it, before the live points replaced the
    // curve's upper part: what the table would be without them (a replay's A/B on the same live data).
    std::vector<double> callerIdleGapMs, callerIdleExtraMs;
    double callerOverheadMs = 0;
    // How many passes each point took until an attempt agreed with its fastest ([k][batch]), and what never agreed ("" if all
    // did; then also part of hostNotice, the warning the command line and the dialog show).
    std::vector<std::vector<int>> pointAttempts;
    std::string confirmationNotice;
    predict::Settling settling; // before the table: whether three blocks of calls in a row agreed, and how
    // The scenario lines that carry the result: `profile: P` and `predict_table: {...}`.
    std::string yaml() const;
};

// The overhead_ms that makes virtual back-to-back calls at predict_concurrency 1 come every `cycleMs`
// (what the live engine measured): the cycle minus a call's mean time (T(1, 1) times the variation's
// mean) and minus the idle wake-up cost the table charges for the gap the overhead leaves. Never negative.
double overheadForCycle(const ServiceTable& table, double cycleMs);

// Puts the live engine's idle cost into the table: each point's cycleMs was measured at one user with
// dynamic batching and that delay. Virtual time runs such a user's calls every gap + mean call, where
// gap = delay + overhead + idleExtra(gap) (the device idles from one call's end through its hand-off
// and the batcher's delay), so each point becomes the curve's point (gap = cycle - mean call,
// extra = gap - overhead - delay), replacing the table's own points from the first such gap on.
// overhead_ms is derived again from queueCycleMs (when > 0) on the new curve. Fills the points' other
// fields.
void applyLiveIdle(ServiceTable& table, std::vector<LiveIdlePoint>& points, double queueCycleMs);

// Where the idle curve charges more at the queue run's gap (queueCycleMs less a mean call) than that whole
// gap, so that no overhead_ms could give virtual time the live engine's cycle, scales the curve's points
// below `belowGapMs` (the first live point's gap, the waiting caller's part of the curve; without live
// points, all of it) down by one factor until it charges the gap there (to 0.1 us, never more), and sets
// overhead_ms again (then about 0). True if it did; false where nothing needed it, or where the points
// above belowGapMs alone charge more than the gap (then the curve is left as it was). Why: one H200
// calibration's waiting caller charged 0.036 ms after a gap of 0.01 ms where the live engine's queue run
// left 0.012 ms between calls in all, and `medium` at one user ran 17 % slower in virtual time than live
// (BENCHMARKS.md "Fidelity", twenty-third session); another calibration's caller had said 0.003.
bool capIdleCurveAtQueueGap(ServiceTable& table, double queueCycleMs, double belowGapMs);

// The idle phase's own check (IdlePhaseCheck), on its samples by gap and the table's variation of one call.
IdlePhaseCheck checkIdlePhase(const std::vector<double>& gapsMs, const std::vector<std::vector<double>>& samples,
                              const std::vector<double>& variationOfOne);

// overhead_ms at the concurrency row `j` (table.concurrency[j] = k; table.overheadSharedMs has a value
// per row) that makes a virtual queue run at predict_concurrency k (4k closed-loop users, one replica on a
// local device, from warmupS to durationS) complete `liveRps` calls a second: bisection on the table's
// 0.1 us grid, since more overhead never completes more calls in such a loop but for the jumps of
// kSharedOverheadFitWindows, and of the overheads it ran the one whose rate came closest. 0 where even
// none completes fewer (the table's own time at k is then the longer one), or no more than
// kSharedOverheadTolerance more: where the device bounds the run, its rate hardly moves with the
// overhead, and a bisection to a rate a hair below would land anywhere on that plateau (on the H100,
// 0.587 ms at 8 calls in flight for a live rate 0.01 % below the virtual one; a second calibration
// minutes later found 0). virtualRps: what the run completes at the overhead returned.
inline constexpr double kSharedOverheadTolerance = 0.01;
// The virtual run the overhead is fitted on is this many times as long as the live queue run. At k calls
// in flight each call's time is the row of the calls in flight when it starts, times a draw from the
// variation, so a hair more overhead reorders the starts and the draws: for the tiny profile on this
// machine's CPU (4,400 calls a second at k = 8, a tail 4.5-5.6x the median from p90 on) the rate jumped by
// up to 3.9 % between overheads 1 us apart over the live run's 2 s, 1.4 % over 8 s and 0.8 % over 32 s,
// and a fit on 2 s landed 2.2 % below the live rate. A virtual run of 8 s took 55-75 ms there.
inline constexpr double kSharedOverheadFitWindows = 8;
double fitSharedOverhead(const std::string& profile, ServiceTable table, std::size_t j, double liveRps, double warmupS, double durationS,
                         double& virtualRps);

// Blocks for the measurement (seconds to minutes): call it off the UI thread. Needs an event loop on
// the calling thread when measureOverhead is set (a QCoreApplication's main thread, or a QThread).
CalibrationResult calibrateProfile(const CalibrationRequest& request, const PredictBackendInfo& backend);

// `knee calibrate --check`: is a table still true of this device and this engine? At k = 1 and each k of the
// table's concurrency axis the live queue run that calibrate measured
// (predict_concurrency k, 4k closed-loop users, one replica, 0.5 s warm-up, then calibrate's measuring time),
// against the same run in virtual time on the table (a run kSharedOverheadFitWindows times as long).
// Why: a table can stop being true minutes after it was taken. On an H100 (BENCHMARKS.md "Fidelity",
// twenty-seventh session, run 34) `medium`'s live engine ran predict_concurrency 1 at 4,615-4,982 calls a
// second in the fidelity matrix, where the table calibrate had just written (and virtual time) gave 4,163,
// while at 2 and 4 calls in flight both agreed within 1 %; and the same card's T(1, 1) for `medium` was
// 0.2263 ms one day and 0.2004 ms the next. The device's own T(b, k) is not measured again: what a user's
// virtual runs stand on is the whole chain, and the queue runs measure it.
struct TableCheckPoint {
    int concurrency = 0;
    double liveRps = 0;            // live: calls completed per second
    double virtualRps = 0;         // virtual, on the table
    double liveEngineThreadMs = 0; // live: the engine thread's CPU time per call (the table's engine_thread_ms at k, for comparison)
    LatencySummaryMs latency;      // live
    telemetry::HostContention host;
    int attempts = 1;
    double deviceSlowness = 0; // live: the device's host time per call over the table's, less 1 (0 unmeasured)
    double error() const { return liveRps / virtualRps - 1; } // live ÷ virtual − 1 (checkTable never leaves virtualRps 0)
};
struct TableCheck {
    std::string error; // non-empty: a live run failed (nothing to compare)
    std::vector<TableCheckPoint> points;
    std::string hostNotice; // the runs whose every attempt the host disturbed ("" if none)
    bool deviceChecked = false; // on a GPU: each point's deviceSlowness measured (and slow runs run again)
    // The point furthest from virtual time (the last of equals); null without points.
    const TableCheckPoint* worst() const
    {
        const TableCheckPoint* w = nullptr;
        for (const TableCheckPoint& p : points)
            if (!w || std::abs(p.error()) >= std::abs(w->error()))
                w = &p;
        return w;
    }
    // Every point within tolerancePct of virtual time (and some measured), judged at the tenth of a point the check
    // prints: 1,050 against 1,000 calls/s is 5.0 % and holds at 5 % (in doubles it is 5.000000000000004).
    bool holds(double tolerancePct) const { return worst() && std::round(std::abs(worst()->error()) * 1000) / 10 <= tolerancePct; }
};
// The tolerance `knee calibrate --check` and Model ▸ Calibrate's check use unless told: the fidelity goal's median.
inline constexpr double kTableCheckTolerancePct = 5;
// Blocks like calibrateProfile, and needs the same event loop. `cancel`, when given, is read before each
// live run: set, the check stops after the run under way, with error "cancelled". A concurrency axis beyond
// kMaxDeviceSlots (the live engine's calls in flight on one device) is refused with an error, as is a table
// on which virtual time completes no call in its run (its calls far slower than any this device makes).
TableCheck checkTable(const std::string& profile, const ServiceTable& table, const PredictBackendInfo& backend,
                      const std::atomic<bool>* cancel = nullptr);
// Why checkTable cannot run on this table, before anything runs ("" if it can): the concurrency axis beyond
// kMaxDeviceSlots. The command line says it as bad input; checkTable as its error.
std::string tableCheckRefusal(const ServiceTable& table);

} // namespace knee
