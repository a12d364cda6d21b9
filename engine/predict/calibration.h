// Measures the predict stage's time per call T(b, k) by batch size b and by calls k in flight on one
// device: the table that virtual-time runs use (docs/DESIGN.md "The device"). k callers each keep one call in
// flight on their own slot of one replica (a call ends, the same caller submits the next at once), so the
// device holds k calls in steady state; the median host time per call (submit to completion: what the
// engine waits for) is kept, with the device's own time (CUDA events) beside it.
#pragma once
#include "predict/backend.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace knee::predict {

// Settling, before the first point: batch 1 back to back on one slot, in blocks, until the newest block
// agrees with each of the two before it (SharingOptions::settleTolerance). A guard, and a notice when the time
// per call keeps moving: an idle H200 sits at 345 MHz, and one table (bench/fidelity/results/h200_2026-12-03_rates/,
// predict_concurrency 4) had T(1, 1) = 0.99 ms where others give 0.54-0.58. Measured since (BENCHMARKS.md
// "Settling before calibration"): the cold start's own warm-ups already bring the clock up, settling took
// 38-411 calls (blocks then sized from the first call, and two agreeing), and no table moved beyond
// run-to-run noise.
struct Settling {
    bool settled = true;               // false: the budget ran out first (the table may hold a device warming up)
    int calls = 0;                     // calls made settling (0: not settled first)
    double ms = 0;                     // their host time
    std::vector<double> blockMedianMs; // each block's median host time per call, in order
    std::string notice() const;        // one line: how the device settled, or that it did not
};

struct SharingMeasurement {
    std::vector<int> batches;
    std::vector<int> concurrency;              // k values, from 1, increasing
    std::vector<std::vector<double>> hostMs;   // [k index][batch index]: median host time per call
    std::vector<std::vector<double>> deviceMs; // same order: median device time (layers and copies)
    // Same order: the mean calls on the device while it held any (the calls' device time over the union of their
    // device spans; 0 unknown). Below k where the host's hand-offs keep calls off the device: deviceMs[k] was
    // measured with that many sharing it, not k.
    std::vector<std::vector<double>> deviceInFlight;
    // Every timed call's host time over the median of its point, sorted: how much one call varies.
    // Pooled over every point, k calls in flight included: on the H200 this agreed better with live
    // runs than the ratios of calls alone (bench/gpu_session/replay.py, BENCHMARKS.md "Fidelity").
    std::vector<double> ratios;
    std::vector<std::vector<std::vector<double>>> hostSamples; // [k index][batch index]: every timed call's host time
    // Batch 1 alone, submitted `idleGapMs` after the previous call ended (the device and the threads that
    // report completions idle meanwhile): median host time minus the back-to-back one, never below 0.
    // The median, not the mean: a waiting caller's calls after a gap have a far longer tail than the live
    // engine's (H200 run 12, bench/fidelity/results/h200_2026-12-03_run12/: the mean charged dynamic
    // batching +3 to +11 % and medium's back-to-back calls up to +50 % too much; the median is within
    // -8 to +2 %).
    std::vector<double> idleGapMs, idleExtraMs;
    std::vector<std::vector<double>> idleHostSamples; // [gap]: every timed call's host time, for the record
    Settling settling;
    // Confirmation (SharingOptions::pointAttempts): attempts per point, [k index][batch index], and the
    // points and idle gaps (as asked) whose attempts never agreed; theirs is the fastest attempt.
    std::vector<std::vector<int>> attempts;
    std::vector<std::pair<int, int>> unconfirmed; // (batch, k)
    std::vector<double> unconfirmedIdleGapsMs;
    // Batch 1 alone, when its attempts agreed with each other but never came within confirmTolerance of the
    // settling's last block: (the kept median, that block's median); (0, 0) otherwise.
    std::pair<double, double> aloneAboveSettling{0, 0};
    std::string confirmationNotice() const; // "" when every point and gap was confirmed
};

struct SharingOptions {
    std::vector<int> batches{1, 2, 4, 8, 16, 32, 64};
    std::vector<int> concurrency{1, 2, 4, 8};
    int repeats = 20;   // timed calls per caller and point (after kWarmupCalls)
    // Gaps under 0.2 ms are waited out spinning (a sleep overshoots them by 0.05 ms or more), so the
    // curve is measured down to where back-to-back calls live, not drawn from 0 to its first point.
    std::vector<double> idleGapsMs{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2}; // empty: no idle measurement
    int idleRepeats = 200; // per gap (40 until run 12, whose medians moved by 0.03 ms between calibrations)
    // Each point (and idle gap) is measured in passes over the table until another attempt's median agrees
    // with the fastest's within confirmTolerance; the fastest is kept (a disturbance only adds time). At most
    // pointAttempts passes (1: each measured once, no confirmation and nothing named). Why: an H200 table
    // taken while the host was disturbed for seconds had T(1, 2) = 0.44 ms and T(1, 4) = 0.34 (more calls
    // in flight, less time per call) and 0.23 ms of idle cost at 0.01 ms against 0.02 at 0.02
    // (bench/fidelity/results/h200_2026-12-04_run22/medium-b/). Batch 1 alone is held to the settling's
    // last block too (when settled): its attempts agreeing on a slower value take more passes.
    int pointAttempts = 4;
    double confirmTolerance = 0.05;
    // Settling (see Settling): blocks of settleBlockMs of calls, stopping when a
    // block's median is within settleTolerance of each of the two blocks before it, or after settleMaxMs
    // of calls (0: no settling; the wall clock stops it at twice that). The budget counts the calls' host
    // time, so that it is the wall time of calls made back to back and a test's stand-in replica settles
    // in calls, not in seconds. Between blocks `progress` is told (0, planned attempts) and may cancel.
    double settleMaxMs = 10000;
    double settleBlockMs = 100;
    double settleTolerance = 0.02;
    // Told after each attempt of a (batch, k) point or an idle gap: attempts done, attempts planned so far
    // (it grows when points need another pass). Returns false to cancel.
    std::function<bool(int done, int total)> progress;
};
inline constexpr int kWarmupCalls = 2; // per caller and point, left out

// The mean number of calls on the device while it held any: the calls' device time over the union of their device
// spans (Completion::deviceStartNs..deviceEndNs, any order); 0 when there are none or one is unknown (0) or
// reversed. k callers do not keep k calls on the device where the host's hand-offs stagger them: this says how
// many a point's device time was measured at (SharingMeasurement::deviceInFlight).
double meanCallsOnDevice(std::vector<std::pair<std::int64_t, std::int64_t>> spans);

// Needs a replica with at least max(concurrency) slots and a maxBatch of at least max(batches). Blocks
// for the measurement's time (call it off any event loop). A failed call stops it with the device's error.
Status measureSharing(Replica& replica, int hidden, const SharingOptions& options, SharingMeasurement& out);

// One call in flight on slot 0 of each of `replicas` (k replicas: k calls on the device, no two sharing
// weights), `repeats` timed calls each after kWarmupCalls: every timed call's host time, in `hostMs`.
// Against measureSharing's k slots of one replica it shows what sharing weights is worth on the device
// (bench/predict/sharing_bench.cpp).
Status measureSpread(const std::vector<Replica*>& replicas, int hidden, int batch, int repeats, std::vector<double>& hostMs);

} // namespace knee::predict
