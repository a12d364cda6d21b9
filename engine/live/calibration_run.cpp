#include "calibration_run.h"

#include "backend_executor.h"
#include "live_run.h"

#include "io/scenario_reader.h"
#include "sim/predict_variation.h"
#include "study/run_summary.h"

// The predict headers name a member `slots`: knee_live builds with QT_NO_KEYWORDS.
#include "predict/backend.h"
#include "predict/model.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>

namespace knee {

std::string CalibrationResult::yaml() const
{
    return "# Paste under model: in a scenario (or keep beside it).\nprofile: " + profile + "\npredict_table: "
        + writePredictTableYaml(table) + "\n";
}

namespace {

// The value at quantile q of sorted values: the one q of the way through (the table's quantiles are
// read this way for the variation and the idle jitter alike).
double atQuantile(const std::vector<double>& sorted, double q)
{
    return sorted[std::min(sorted.size() - 1, std::size_t(q * double(sorted.size())))];
}

} // namespace

std::vector<double> variationQuantiles(std::vector<double> ratios)
{
    std::sort(ratios.begin(), ratios.end());
    std::vector<double> v;
    if (ratios.empty())
        return v;
    for (double q : ServiceTable::kVariationQuantiles)
        v.push_back(std::round(atQuantile(ratios, q) * 1e4) / 1e4);
    const std::size_t mid = std::size(ServiceTable::kVariationQuantiles) / 2; // the median, 1 by construction
    v[mid] = std::clamp(1.0, v[mid - 1], v[mid + 1]);
    return v;
}

std::vector<std::vector<double>> variationByConcurrency(const std::vector<std::vector<std::vector<double>>>& hostSamples,
                                                        const std::vector<std::vector<double>>& hostMs)
{
    std::vector<std::vector<double>> rows;
    for (std::size_t ki = 1; ki < hostSamples.size() && ki < hostMs.size(); ++ki) {
        std::vector<double> ratios;
        for (std::size_t bi = 0; bi < hostSamples[ki].size() && bi < hostMs[ki].size(); ++bi)
            for (double h : hostSamples[ki][bi])
                if (hostMs[ki][bi] > 0)
                    ratios.push_back(h / hostMs[ki][bi]);
        if (ratios.size() < 100) // too few for a p99: no rows at all rather than a row the pooled one would beat
            return {};
        rows.push_back(variationQuantiles(std::move(ratios)));
    }
    return rows;
}

namespace {

// ServiceTable::idleJitterMs: each call's host time after an idle gap minus its gap's mean, pooled over
// the gaps from kIdleJitterFromMs on, at the table's quantiles. Shorter gaps vary as calls back to back
// do (H200: p95 1.07-1.10x the median at 0.01-0.05 ms against 1.2-2.9x from 0.1 ms on), which the
// per-call variation already holds.
constexpr double kIdleJitterFromMs = 0.1;
void setIdleJitter(const std::vector<double>& gapsMs, const std::vector<std::vector<double>>& samples, ServiceTable& t)
{
    std::vector<double> pooled;
    double from = 0;
    for (std::size_t g = 0; g < gapsMs.size() && g < samples.size(); ++g) {
        if (gapsMs[g] < kIdleJitterFromMs || samples[g].empty())
            continue;
        if (from == 0)
            from = gapsMs[g];
        double mean = 0;
        for (double v : samples[g])
            mean += v;
        mean /= double(samples[g].size());
        for (double v : samples[g])
            pooled.push_back(v - mean);
    }
    if (pooled.size() < 100) // too few calls for a p99
        return;
    std::sort(pooled.begin(), pooled.end());
    for (double q : ServiceTable::kVariationQuantiles)
        t.idleJitterMs.push_back(std::round(atQuantile(pooled, q) * 1e4) / 1e4);
    t.idleJitterFromMs = std::round(from * 1e4) / 1e4;
}

} // namespace

IdlePhaseCheck checkIdlePhase(const std::vector<double>& gapsMs, const std::vector<std::vector<double>>& samples,
                              const std::vector<double>& variationOfOne)
{
    IdlePhaseCheck c;
    if (variationOfOne.size() != std::size(ServiceTable::kVariationQuantiles))
        return c;
    c.aloneP95 = variationOfOne[ServiceTable::kP95];
    std::vector<double> ratios;
    for (std::size_t g = 0; g < gapsMs.size() && g < samples.size(); ++g) {
        if (gapsMs[g] >= kIdleJitterFromMs || samples[g].empty())
            continue;
        std::vector<double> sorted = samples[g];
        std::sort(sorted.begin(), sorted.end());
        const double median = atQuantile(sorted, 0.5);
        if (median > 0)
            for (double v : sorted)
                ratios.push_back(v / median);
    }
    if (ratios.size() < 100) // too few calls for a p95 worth a warning
        return c;
    std::sort(ratios.begin(), ratios.end());
    c.backToBackP95 = atQuantile(ratios, 0.95);
    c.disturbed = c.backToBackP95 - 1 > kIdlePhaseSpreadLimit * std::max(0.0, c.aloneP95 - 1);
    return c;
}

namespace {

// A short live run of this profile, predict only, predict_concurrency 1, `users` closed-loop users, sent
// once the replica has started (runLive waits for its cold start), until `requests` were sent or
// `durationS` passed; the first `warmupS` left out. Null on failure (`error` says why).
// `users` closed-loop users, or with `openRps` above 0 Poisson sends at that rate.
std::optional<LiveRunResult> livePredictOnly(const std::string& profile, const PredictBackendInfo& backend, double soloMs,
                                          int users, std::int64_t requests, double warmupS, double durationS, std::string& error,
                                          const BatchingConfig& batching = {}, int predictConcurrency = 1, double openRps = 0)
{
    Scenario s;
    s.model.batching = batching;
    s.name = "calibrate: live engine cost per call";
    s.deployment.concurrencyTarget = openRps > 0 ? limits::kMaxConcurrency : users;
    s.deployment.predictConcurrency = predictConcurrency;
    s.model.predict = Distribution::constant(soloMs);
    s.model.profile = profile;
    s.workload.arrival = openRps > 0 ? ArrivalConfig::poisson(openRps) : ArrivalConfig::closed(users);
    s.workload.requests = requests;
    s.workload.durationS = durationS;
    s.workload.warmupS = warmupS;
    try {
        const LiveRunResult r = runLive(s, std::max(150.0, durationS + 60), &backend); // a cold start's margin
        if (r.predictErrors > 0 || r.replicaStartFailures > 0) {
            error = "the live engine's calls failed: " + r.lastPredictError;
            return std::nullopt;
        }
        if (r.summary.latency.count < 100 || r.summary.throughputRps <= 0) {
            error = "the live engine completed too few calls to measure its cost";
            return std::nullopt;
        }
        return r;
    } catch (const std::exception& e) {
        error = e.what();
        return std::nullopt;
    }
}

// A live run measured again while the host disturbed it (hypervisor steal: telemetry/host_contention.h), or,
// given `slowness`, while the device's calls ran slower than the table says (slowness(run) = the run's host
// time per call over the table's, less 1; disturbed above kLiveDeviceSlowTolerance): at most
// CalibrationResult::kLiveAttempts runs, the first quiet one kept, else the least disturbed (each measure
// over its threshold, the larger of the two). Where there is no /proc/stat, steal does not count.
struct QuietRun {
    std::optional<LiveRunResult> run;
    telemetry::HostContention host;
    int attempts = 0;
    int keptAttempt = 0;       // which attempt `run` is (1 the first)
    double deviceSlowness = 0; // the kept run's (0 unchecked)
    bool everyAttemptBusy = false; // the host disturbed each attempt (calibrationDisturbed)
    bool everyAttemptSlow = false; // the device ran beyond kLiveDeviceSlowTolerance in each attempt
};

bool calibrationDisturbed(const telemetry::HostContention& h) { return h.valid && h.stealPct >= kCalibrationDisturbedStealPct; }

template <typename Run>
QuietRun quietLive(Run run, const std::function<double(const LiveRunResult&)>& slowness = {})
{
    QuietRun best;
    double bestScore = INFINITY;
    best.everyAttemptBusy = best.everyAttemptSlow = true;
    for (int i = 0; i < CalibrationResult::kLiveAttempts; ++i) {
        const telemetry::HostMark from = telemetry::HostMark::now();
        std::optional<LiveRunResult> r = run();
        const telemetry::HostContention host = telemetry::between(from, telemetry::HostMark::now());
        ++best.attempts;
        if (!r) { // a failed run is not retried: its error is the answer, unless an earlier attempt stands
            if (best.run)
                break;
            return {std::nullopt, host, best.attempts, 0, false, false};
        }
        const double slow = slowness ? slowness(*r) : 0.0;
        const bool busy = calibrationDisturbed(host), slowDevice = slow >= kLiveDeviceSlowTolerance;
        best.everyAttemptBusy = best.everyAttemptBusy && busy;
        best.everyAttemptSlow = best.everyAttemptSlow && slowDevice;
        // Each measure over its threshold; the larger counts (where there is no /proc/stat, steal does not).
        const double score = std::max(host.valid ? host.stealPct / kCalibrationDisturbedStealPct : 0.0, slow / kLiveDeviceSlowTolerance);
        if (!best.run || score < bestScore) {
            best.run = std::move(r);
            best.keptAttempt = best.attempts;
            best.host = host;
            best.deviceSlowness = slow;
            bestScore = score;
        }
        if (!busy && !slowDevice)
            break;
    }
    return best;
}

// The live queue run at predict_concurrency k (4k closed-loop users, so always a queue; 0.5 s of warm-up, then
// measureS), measured again while the host disturbs it or, on a GPU, the device runs slower than `table`
// says: calibrate's source of the live engine's costs at k, and what checkTable compares with virtual time.
// Not on the CPU backend: there the "device" is the host's cores, whose calls the live engine's own threads
// slow down by design (BENCHMARKS.md "Calibration on the CPU backend"), so every run would count as slow.
QuietRun liveQueueRun(const std::string& profile, const PredictBackendInfo& backend, const ServiceTable& table, int k, double measureS,
                      std::string& error)
{
    std::function<double(const LiveRunResult&)> slowness;
    if (backend.gpu)
        slowness = [&table, k](const LiveRunResult& r) { return queueRunSlowness(table, k, r.hostCallMeanMs, r.summary.throughputRps); };
    return quietLive([&] { return livePredictOnly(profile, backend, table.msAt(1), 4 * k, 0, 0.5, 0.5 + measureS, error, {}, k); }, slowness);
}

// Adds "the queue run at k calls in flight (the host's figures)" to `disturbed` where the host disturbed every
// attempt, and to `slowDevice` "k calls in flight (+N %)" where the device ran slower than the table in every one.
void noteDisturbedQueueRun(const QuietRun& r, int k, std::string& disturbed, std::string& slowDevice)
{
    if (r.everyAttemptSlow) {
        char what[80];
        std::snprintf(what, sizeof what, "%d call%s in flight (+%.1f %% in the run kept)", k, k == 1 ? "" : "s", 100 * r.deviceSlowness);
        slowDevice += (slowDevice.empty() ? "" : ", ") + std::string(what);
    }
    if (!r.everyAttemptBusy)
        return;
    char what[160];
    std::snprintf(what, sizeof what, "the queue run at %d calls in flight (%s)", k, r.host.describe().c_str());
    disturbed += (disturbed.empty() ? "" : ", ") + std::string(what);
}

} // namespace

double queueRunSlowness(const ServiceTable& t, int k, double hostCallMeanMs, double throughputRps)
{
    if (!(hostCallMeanMs > 0) || !(throughputRps > 0))
        return 0;
    double expected = 0;
    if (k == 1) {
        const double gap = std::max(0.0, 1000.0 / throughputRps - hostCallMeanMs);
        expected = t.msAt(1) * variationMean(t.variationOfOne()) + t.callIdleExtraAt(gap); // its calls no timer released
    } else {
        // The live engine's slots idle during each hand-off, so fewer than k calls are sometimes on the device
        // and its calls come out a little faster than T(1, k): `medium` at k = 4 on the H100, 7-8 % in every
        // check (bench/fidelity/results/h100_2026-12-06_drift2/). That bias lets a slow run pass more easily
        // here than at k = 1; a run far off is still caught.
        // The variation a call that starts with k in flight draws (ServiceTable::variationAt: the row at k, else
        // the pooled one), at the table's quantiles.
        std::vector<double> atK;
        for (double q : ServiceTable::kVariationQuantiles)
            atK.push_back(t.variationOfOne().empty() ? 1.0 : t.variationAt(q, k));
        expected = t.msAt(1, k) * variationMean(atK);
    }
    return expected > 0 ? hostCallMeanMs / expected - 1 : 0;
}

// What the virtual engine must add to every call so that back-to-back calls at predict_concurrency 1 come
// as often as they did live. Between two such calls the device is idle for g = cycle - mean call; a call
// that found it idle for g holds its slot for overhead + idleExtra(g) after its device work (PredictStage),
// and that is the next call's gap: g = overhead + idleExtra(g), so overhead = g - idleExtra(g).
double overheadForCycle(const ServiceTable& t, double cycleMs)
{
    const double gap = std::max(0.0, cycleMs - t.msAt(1) * variationMean(t.variationOfOne()));
    return std::round(std::max(0.0, gap - t.idleExtraAt(gap)) * 1e4) / 1e4; // to 0.1 µs: below the clock's noise
}

bool capIdleCurveAtQueueGap(ServiceTable& t, double queueCycleMs, double belowGapMs)
{
    const double gap = queueCycleMs - t.msAt(1) * variationMean(t.variationOfOne());
    if (!(gap > 0) || !(t.idleExtraAt(gap) > gap))
        return false;
    // The scale that makes the curve charge the gap: where the gap lies between the caller's last point and
    // the first live one, the curve there mixes a scaled and an unscaled point, so it is solved for (the
    // curve at the gap grows with the scale) rather than taken as gap / extra.
    const std::vector<double> original = t.idleExtraMs;
    const auto charged = [&](double scale) {
        for (std::size_t i = 0; i < t.idleGapMs.size(); ++i)
            if (t.idleGapMs[i] < belowGapMs)
                t.idleExtraMs[i] = original[i] * scale;
        return t.idleExtraAt(gap);
    };
    if (charged(0) > gap) { // the live points alone charge more there: scaling the caller's cannot help
        t.idleExtraMs = original;
        return false;
    }
    double lo = 0, hi = 1;
    for (int i = 0; i < 40; ++i)
        (charged((lo + hi) / 2) > gap ? hi : lo) = (lo + hi) / 2;
    for (std::size_t i = 0; i < t.idleGapMs.size(); ++i) // rounded down: the curve never charges more than the gap
        if (t.idleGapMs[i] < belowGapMs)
            t.idleExtraMs[i] = std::floor(original[i] * lo * 1e4) / 1e4;
    t.overheadMs = overheadForCycle(t, queueCycleMs);
    return true;
}

void applyLiveIdle(ServiceTable& t, std::vector<LiveIdlePoint>& points, double queueCycleMs)
{
    if (points.empty())
        return;
    const ServiceTable caller = t; // the waiting caller's curve
    const double meanCall = t.msAt(1) * variationMean(t.variationOfOne());
    for (LiveIdlePoint& p : points) {
        p.gapMs = std::max(0.0, p.cycleMs - meanCall);
        p.callerExtraMs = caller.idleExtraAt(p.gapMs);
    }
    std::vector<LiveIdlePoint> byGap = points;
    std::sort(byGap.begin(), byGap.end(), [](const LiveIdlePoint& a, const LiveIdlePoint& b) { return a.gapMs < b.gapMs; });
    // The overhead depends on the curve at the queue's own gap and each point's extra on the overhead:
    // a few rounds settle both (the queue's gap, hundredths of a ms, lies below the live points, so the
    // first round is usually exact already).
    for (int round = 0; round < 4; ++round) {
        if (queueCycleMs > 0)
            t.overheadMs = overheadForCycle(t, queueCycleMs);
        t.idleGapMs.clear();
        t.idleExtraMs.clear();
        for (std::size_t i = 0; i < caller.idleGapMs.size() && caller.idleGapMs[i] < byGap.front().gapMs; ++i) {
            t.idleGapMs.push_back(caller.idleGapMs[i]);
            t.idleExtraMs.push_back(caller.idleExtraMs[i]);
        }
        for (const LiveIdlePoint& p : byGap) {
            const double gap = std::round(p.gapMs * 1e4) / 1e4;
            if (gap <= 0 || (!t.idleGapMs.empty() && gap <= t.idleGapMs.back()))
                continue; // the curve's gaps increase
            t.idleGapMs.push_back(gap);
            t.idleExtraMs.push_back(std::round(std::max(0.0, p.gapMs - t.overheadMs - p.delayMs) * 1e4) / 1e4);
        }
    }
    for (LiveIdlePoint& p : points)
        p.extraMs = t.idleExtraAt(std::round(p.gapMs * 1e4) / 1e4);
}

namespace {
// The same queue run as the live one at predict_concurrency k, in virtual time on `table` (its replica on a
// local device, as a live run's is, so that the engine thread is charged): calls completed per second.
double virtualQueueRps(const std::string& profile, const ServiceTable& table, int k, double warmupS, double durationS)
{
    Scenario s;
    s.name = "calibrate: virtual queue run";
    s.deployment.concurrencyTarget = 4 * k;
    s.deployment.predictConcurrency = k;
    s.deployment.devices = 1;
    s.model.profile = profile;
    s.model.predictTable = table;
    s.model.predict = Distribution::constant(table.msAt(1));
    s.workload.arrival = ArrivalConfig::closed(4 * k);
    s.workload.durationS = durationS;
    s.workload.warmupS = warmupS;
    return simulateScenario(s).throughputRps;
}

} // namespace

double fitSharedOverhead(const std::string& profile, ServiceTable table, std::size_t j, double liveRps, double warmupS, double durationS,
                         double& virtualRps)
{
    const int k = table.concurrency[j];
    // On the table's own grid (overhead_ms is kept to 0.1 us), so that what is returned is what was run.
    constexpr double kStepsPerMs = 1e4; // divided by, not multiplied by 1e-4: 2110 steps read back as 0.211
    constexpr long kMaxSteps = 10'000'000; // 1000 ms: the table's bound for overhead_ms (ServiceTable validation)
    auto at = [&](long steps) {
        table.overheadSharedMs[j] = double(steps) / kStepsPerMs;
        return virtualQueueRps(profile, table, k, warmupS, durationS);
    };
    virtualRps = at(0);
    if (virtualRps <= liveRps * (1 + kSharedOverheadTolerance))
        return 0;
    // Of the overheads run, the one whose rate came closest to the live one: the rate is not smooth in the
    // overhead (kSharedOverheadFitWindows), so the last one bisected to need not be the closest.
    long best = 0;
    auto consider = [&](long steps, double rps) {
        if (std::abs(rps / liveRps - 1) < std::abs(virtualRps / liveRps - 1)) {
            best = steps;
            virtualRps = rps;
        }
    };
    // One call's time (far more than any hand-off measured), within the table's bound.
    long lo = 0, hi = std::min(kMaxSteps, std::max(100L, std::lround(std::min(1000.0, table.msAt(1, k)) * kStepsPerMs)));
    for (;;) {
        const double rps = at(hi);
        consider(hi, rps);
        if (rps <= liveRps)
            break;
        if (hi >= kMaxSteps) // even the most overhead a table may hold completes more
            return double(best) / kStepsPerMs;
        lo = hi;
        hi = std::min(kMaxSteps, hi * 2);
    }
    while (hi - lo > 1) {
        const long mid = lo + (hi - lo) / 2;
        const double rps = at(mid);
        consider(mid, rps);
        (rps > liveRps ? lo : hi) = mid;
    }
    return double(best) / kStepsPerMs;
}

std::vector<LiveOpenPoint::CallIdleBin> callIdleBins(const std::vector<BackendExecutor::TracedCall>& trace, std::int64_t fromNs)
{
    std::vector<const BackendExecutor::TracedCall*> calls;
    for (const BackendExecutor::TracedCall& c : trace)
        if (c.batch == 1)
            calls.push_back(&c);
    std::sort(calls.begin(), calls.end(), [](const auto* a, const auto* b) { return a->startNs < b->startNs; });
    constexpr std::size_t kBins = std::size(kCallIdleEdgesMs) - 1;
    std::vector<double> gaps[kBins], hosts[kBins];
    std::map<int, std::int64_t> lastEnd; // by device: its previous call's end
    for (const BackendExecutor::TracedCall* c : calls) {
        const auto previous = lastEnd.find(c->device);
        const bool first = previous == lastEnd.end();
        const double gap = first ? 0 : double(c->startNs - previous->second) / 1e6;
        lastEnd[c->device] = first ? c->endNs : std::max(previous->second, c->endNs);
        if (first || c->startNs < fromNs)
            continue;
        if (gap < 0) // overlapping calls: not one slot's calls one after another
            continue;
        const std::size_t b = std::min(kBins - 1, std::size_t(std::upper_bound(std::begin(kCallIdleEdgesMs), std::end(kCallIdleEdgesMs), gap) - std::begin(kCallIdleEdgesMs)) - 1);
        gaps[b].push_back(gap);
        hosts[b].push_back(double(c->endNs - c->startNs) / 1e6);
    }
    const auto median = [](std::vector<double>& v) {
        std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
        return v[v.size() / 2];
    };
    std::vector<LiveOpenPoint::CallIdleBin> out;
    for (std::size_t b = 0; b < kBins; ++b) {
        if (std::int64_t(gaps[b].size()) < kMinCallsPerBin)
            continue;
        LiveOpenPoint::CallIdleBin bin;
        bin.fromGapMs = kCallIdleEdgesMs[b];
        bin.toGapMs = kCallIdleEdgesMs[b + 1];
        bin.calls = std::int64_t(gaps[b].size());
        bin.gapMs = std::round(median(gaps[b]) * 1e4) / 1e4;
        bin.hostMs = std::round(median(hosts[b]) * 1e4) / 1e4;
        out.push_back(bin);
    }
    return out;
}

bool setCallIdleCurve(ServiceTable& t, const std::vector<LiveOpenPoint::CallIdleBin>& bins, double queueCycleMs)
{
    t.callIdleGapMs.clear();
    t.callIdleExtraMs.clear();
    if (t.idleGapMs.empty() || bins.empty() || bins.front().fromGapMs > 0)
        return false; // no idle curve to anchor on, or no calls back to back to measure from
    const auto round4 = [](double ms) { return std::round(ms * 1e4) / 1e4; }; // to 0.1 us, as the table's other times
    const double queueGap = round4(std::max(0.0, queueCycleMs - t.msAt(1) * variationMean(t.variationOfOne())));
    const double anchor = t.idleExtraAt(queueGap);
    std::vector<double> gaps, extras;
    if (queueGap > 0) {
        gaps.push_back(queueGap);
        extras.push_back(round4(anchor));
    }
    for (std::size_t i = 1; i < bins.size(); ++i) {
        if (bins[i].gapMs <= (gaps.empty() ? 0.0 : gaps.back()))
            continue; // the curve's gaps increase
        gaps.push_back(bins[i].gapMs);
        extras.push_back(round4(anchor + std::max(0.0, bins[i].hostMs - bins.front().hostMs)));
    }
    if (gaps.size() < (queueGap > 0 ? 2u : 1u))
        return false; // no bin beyond the queue's gap
    t.callIdleGapMs = std::move(gaps);
    t.callIdleExtraMs = std::move(extras);
    return true;
}

namespace {
// Poisson sends at a quarter of the queue run's rate (`queueRps`): how late the asleep engine thread runs
// the ones its timerfd wakes it for (LiveOpenPoint). Long enough for twice kMinWakeUps sends (a slow
// model's queue window holds a few hundred calls, and a quarter of them would not do), at most 120 s. A run
// that fails, or sees too few wake-ups, leaves the table without the list and says so in `notice`: the rest
// of the calibration stands.
std::optional<LiveOpenPoint> measureThreadWake(const std::string& profile, const PredictBackendInfo& backend, double soloMs, double queueRps,
                                               double measureS, std::string& notice)
{
    const auto say = [&](const std::string& what) { notice += (notice.empty() ? "" : "; ") + what + ": the table has no engine_thread_wake_ms"; };
    const double rate = std::max(1.0, queueRps / 4);
    const double seconds = std::min(120.0, std::max(measureS, 2.0 * double(LiveOpenPoint::kMinWakeUps) / rate));
    std::string error;
    // Each attempt's calls, traced (their room: the sends of the run and its warm-up, with some to spare); a
    // trace that dropped calls is not kept.
    std::vector<std::vector<BackendExecutor::TracedCall>> traces;
    const std::size_t room = std::size_t(std::min(2.0e6, 1.5 * rate * (seconds + 1.0) + 1000));
    const QuietRun r = quietLive([&] {
        BackendExecutor::startTrace(room);
        std::optional<LiveRunResult> run = livePredictOnly(profile, backend, soloMs, 0, 0, 0.5, 0.5 + seconds, error, {}, 1, rate);
        std::int64_t dropped = 0;
        traces.push_back(BackendExecutor::stopTrace(&dropped));
        if (dropped > 0)
            traces.back().clear();
        return run;
    });
    if (!r.run) {
        say("the open-loop run (the engine thread's wake-up for timed sends) failed: " + error);
        return std::nullopt;
    }
    LiveOpenPoint p;
    p.rateRps = rate;
    p.throughputRps = r.run->summary.throughputRps;
    p.wakeUps = std::int64_t(r.run->sendWakeLag.count());
    if (p.wakeUps >= LiveOpenPoint::kMinWakeUps)
        for (double q : ServiceTable::kVariationQuantiles)
            p.wakeMs.push_back(std::round(nanosToMs(r.run->sendWakeLag.quantile(q)) * 1e4) / 1e4);
    else
        say("the open-loop run saw the engine thread wake for " + std::to_string(p.wakeUps) + " sends, fewer than "
            + std::to_string(LiveOpenPoint::kMinWakeUps) + " (with KNEE_LIVE_CLOCK=margin or spin it wakes otherwise)");
    p.engineThreadMs = std::round(r.run->engineThreadMsPerCall * 1e4) / 1e4;
    const std::vector<BackendExecutor::TracedCall>& trace = traces.at(std::size_t(r.keptAttempt - 1)); // the kept run's own calls
    if (!trace.empty()) { // the measured window: the run's last `seconds`, the warm-up before it left out
        std::int64_t lastEnd = 0;
        for (const BackendExecutor::TracedCall& c : trace)
            lastEnd = std::max(lastEnd, c.endNs);
        p.callIdle = callIdleBins(trace, lastEnd - std::int64_t(seconds * 1e9));
    }
    p.latency = r.run->summary.latency;
    p.host = r.host;
    p.attempts = r.attempts;
    return p;
}
} // namespace

CalibrationResult calibrateProfile(const CalibrationRequest& request, const PredictBackendInfo& backend)
{
    CalibrationResult out;
    out.profile = request.profile;
    const auto profile = predict::findProfile(request.profile);
    if (!profile) {
        out.error = "unknown profile '" + request.profile + "'";
        return out;
    }
    std::shared_ptr<const predict::Model> model;
    try {
        model = predict::Model::generate(*profile);
    } catch (const std::exception& e) {
        out.error = "cannot build the " + profile->name + " model: " + e.what();
        return out;
    }
    const predict::SharingOptions& o = request.sharing;
    predict::ReplicaConfig config;
    config.slots = *std::max_element(o.concurrency.begin(), o.concurrency.end());
    config.maxBatch = *std::max_element(o.batches.begin(), o.batches.end());
    config.warmBatches = o.batches;
    predict::CreatedReplica created = backend.backend->createReplica(model, config);
    if (!created.status.ok()) {
        out.error = created.status.error;
        return out;
    }
    const predict::ReplicaInfo& info = created.replica->info();
    out.backendKind = predict::toString(info.kind);
    out.deviceName = info.deviceName;
    out.gpu = info.kind == predict::BackendKind::Cuda;
    out.parameterBytes = model->parameterBytes();
    out.coldStartMs = info.coldStartMs;
    out.weightUploadMs = info.weightUploadMs;

    predict::SharingMeasurement m;
    if (const predict::Status st = predict::measureSharing(*created.replica, model->hidden(), o, m); !st.ok()) {
        out.error = st.error;
        return out;
    }
    out.settling = m.settling;
    out.pointAttempts = m.attempts;
    out.confirmationNotice = m.confirmationNotice();
    out.hostNotice = out.confirmationNotice;
    created.replica.reset(); // its device memory back before the live run starts its own replica
    ServiceTable& t = out.table;
    t.batch = m.batches;
    t.ms = m.hostMs[0];
    t.concurrency.assign(m.concurrency.begin() + 1, m.concurrency.end());
    t.msShared.assign(m.hostMs.begin() + 1, m.hostMs.end());
    out.deviceMs = m.deviceMs;
    out.deviceInFlight = m.deviceInFlight;
    // The device's own times stay in the JSON (device_ms), out of the table: with them in the table (only a call's
    // device work shared, ServiceTable::deviceMs) the stored H100 runs' `medium` Poisson p95 at 50 and 80 % of
    // capacity came closer, but its 16-slot closed loops and `large`'s closed loops moved away (BENCHMARKS.md
    // "Fidelity", thirty-fifth session); `knee-bench-fidelity refit --tail-ms device` puts them in for a what-if.
    out.hostSamples = m.hostSamples;
    out.idleHostSamples = m.idleHostSamples;
    // The per-call variation: ratios (host time over its point's median) at the table's quantiles. With
    // calls in flight measured, those of one call alone (variation_alone) apart from those beside others
    // (variation); else every point's pooled.
    std::vector<double> alone, beside;
    for (std::size_t ki = 0; ki < m.hostSamples.size() && ki < m.hostMs.size(); ++ki)
        for (std::size_t bi = 0; bi < m.hostSamples[ki].size() && bi < m.hostMs[ki].size(); ++bi)
            for (double h : m.hostSamples[ki][bi])
                if (m.hostMs[ki][bi] > 0)
                    (ki == 0 ? alone : beside).push_back(h / m.hostMs[ki][bi]);
    if (t.hasConcurrency() && alone.size() >= 100 && beside.size() >= 100) {
        t.variation = variationQuantiles(beside);
        t.variationAlone = variationQuantiles(alone);
        t.variationShared = variationByConcurrency(m.hostSamples, m.hostMs);
    } else if (m.ratios.size() >= 100) {
        t.variation = variationQuantiles(m.ratios);
    }
    for (std::size_t i = 0; i < m.idleGapMs.size(); ++i) {
        t.idleGapMs.push_back(std::round(m.idleGapMs[i] * 1e4) / 1e4);
        t.idleExtraMs.push_back(std::round(m.idleExtraMs[i] * 1e4) / 1e4);
    }
    setIdleJitter(m.idleGapMs, m.idleHostSamples, t);
    out.idlePhase = checkIdlePhase(m.idleGapMs, m.idleHostSamples, t.variationOfOne());
    if (out.idlePhase.disturbed && !t.idleJitterMs.empty()) {
        char what[400];
        std::snprintf(what, sizeof what,
                      "the idle phase was disturbed: batch 1 after gaps under %g ms reached %.2fx its median at p95, where the "
                      "table's calls alone (variation_alone) reached %.2fx; idle.jitter_ms, from that phase, may be overstated: calibrate again "
                      "when the machine is quieter",
                      kIdleJitterFromMs, out.idlePhase.backToBackP95, out.idlePhase.aloneP95);
        out.hostNotice += std::string(out.hostNotice.empty() ? "" : "; ") + what;
    }
    if (request.measureOverhead) {
        // One user: the latency a lone request sees (kept for the record). Four users keep a queue at
        // predict_concurrency 1, so the device is never waiting for a request: the time between
        // completions is one call plus the engine's hand-offs, without the request's own path and
        // without the idle wake-up that a lone user's calls each pay (the table charges that apart).
        std::string error;
        // The queue runs at least 2 s after a 0.5 s warm-up: on the H200 a 0.44 s run straight after the
        // cold start measured 0.220 ms between calls of `medium` where its cells ran at 0.182. A slow
        // model (the CPU's `large`: tens of ms a call) gets the time for 300 calls, up to 120 s.
        const double measureS = std::clamp(0.3 * t.msAt(1), 2.0, 120.0);
        std::optional<LiveRunResult> one = livePredictOnly(request.profile, backend, t.msAt(1), 1, 400, 0, 120, error);
        // The queue run sets overhead_ms for every call of every virtual run: on the H200 one taken while the
        // hypervisor stole CPU time gave `large` 0.21 ms where quiet runs give 0.03 (run 16a), so it is
        // measured again while the host disturbs it.
        QuietRun queued;
        if (one)
            queued = liveQueueRun(request.profile, backend, t, 1, measureS, error);
        if (!queued.run) {
            out.error = "measuring the live engine's cost per call: " + error;
            return out;
        }
        out.queueHost = queued.host;
        out.queueAttempts = queued.attempts;
        out.queueDeviceSlowness = queued.deviceSlowness;
        std::string disturbed; // the runs whose every attempt the host disturbed
        std::string slowDevice; // the queue runs whose every attempt met the device slower than the table
        noteDisturbedQueueRun(queued, 1, disturbed, slowDevice);
        out.liveP50Ms = one->summary.latency.p50;
        out.liveCycleMs = 1000.0 / queued.run->summary.throughputRps;
        t.overheadMs = overheadForCycle(t, out.liveCycleMs);
        // The engine thread's time per call in that queue run: what the run's calls cost the one thread they
        // all share (most of it overlaps the device; overhead_ms is the part that does not).
        t.engineThreadMs = std::round(queued.run->engineThreadMsPerCall * 1e4) / 1e4;
        if (std::optional<LiveOpenPoint> open = measureThreadWake(request.profile, backend, t.msAt(1), queued.run->summary.throughputRps,
                                                                   measureS, out.hostNotice)) {
            if (calibrationDisturbed(open->host))
                disturbed += (disturbed.empty() ? "" : ", ") + std::string("the open-loop run (") + open->host.describe() + ")";
            t.engineThreadWakeMs = open->wakeMs;
            out.liveOpen = std::move(open);
        }
        out.callerIdleGapMs = t.idleGapMs;
        out.callerIdleExtraMs = t.idleExtraMs;
        out.callerOverheadMs = t.overheadMs;
        if (!t.idleGapMs.empty()) {
            // One user, dynamic batching up to 2 (so a lone request waits out the delay): every call is
            // released by the batcher's timer after the device idled, as in a batching deployment's calls.
            for (double delay : request.liveIdleDelaysMs) {
                BatchingConfig batching;
                batching.mode = BatchingConfig::Mode::Dynamic;
                batching.maxBatch = 2;
                batching.maxDelayMs = delay;
                // 400 cycles or 0.5 s, whichever is longer (at most 60 s), after 0.3 s of warm-up.
                const double seconds = std::clamp(0.4 * (t.msAt(1) + delay + t.overheadMs), 0.5, 60.0);
                const QuietRun r = quietLive(
                    [&] { return livePredictOnly(request.profile, backend, t.msAt(1), 1, 0, 0.3, 0.3 + seconds, error, batching); });
                if (!r.run) {
                    out.error = "measuring the live engine's idle cost (batcher delay " + std::to_string(delay) + " ms): " + error;
                    return out;
                }
                LiveIdlePoint p;
                p.delayMs = delay;
                p.cycleMs = 1000.0 / r.run->summary.throughputRps;
                p.latency = r.run->summary.latency;
                p.predict = r.run->summary.parts[std::size_t(Part::Predict)];
                p.host = r.host;
                p.attempts = r.attempts;
                if (calibrationDisturbed(r.host)) {
                    char what[160];
                    std::snprintf(what, sizeof what, "the idle run at %g ms (%s)", delay, r.host.describe().c_str());
                    disturbed += (disturbed.empty() ? "" : ", ") + std::string(what);
                }
                out.liveIdle.push_back(p);
            }
            applyLiveIdle(t, out.liveIdle, out.liveCycleMs);
        }
        if (!t.idleGapMs.empty()) {
            double firstLive = INFINITY;
            for (const LiveIdlePoint& p : out.liveIdle)
                firstLive = std::min(firstLive, p.gapMs);
            // The live points' gaps are in the curve rounded to 0.1 us: below the first of them, half that less.
            out.idleCurveScaled = capIdleCurveAtQueueGap(t, out.liveCycleMs, std::round(firstLive * 1e4) / 1e4 - 5e-5);
        }
        // The calls no timer released get the open-loop run's own wake-up (before the fits below, which run
        // the table's queue in virtual time).
        if (out.liveOpen && !t.idleGapMs.empty())
            setCallIdleCurve(t, out.liveOpen->callIdle, out.liveCycleMs);
        if (request.measureSharedCost.value_or(out.gpu) && t.hasConcurrency()) {
            // k calls in flight, each k of the table's axis: the thread's cost measured, the overhead fitted
            // (LiveQueuePoint). Rows are filled in order, so a row's fit sees the rows below it as measured
            // and the ones above it at the one-call values.
            t.overheadSharedMs.assign(t.concurrency.size(), t.overheadMs);
            t.engineThreadSharedMs.assign(t.concurrency.size(), t.engineThreadMs);
            for (std::size_t j = 0; j < t.concurrency.size(); ++j) {
                const int k = t.concurrency[j];
                const QuietRun r = liveQueueRun(request.profile, backend, t, k, measureS, error);
                if (!r.run) {
                    out.error = "measuring the live engine's cost per call with " + std::to_string(k) + " calls in flight: " + error;
                    return out;
                }
                LiveQueuePoint p;
                p.concurrency = k;
                p.throughputRps = r.run->summary.throughputRps;
                p.engineThreadMs = std::round(r.run->engineThreadMsPerCall * 1e4) / 1e4;
                p.latency = r.run->summary.latency;
                p.host = r.host;
                p.attempts = r.attempts;
                p.deviceSlowness = r.deviceSlowness;
                t.engineThreadSharedMs[j] = p.engineThreadMs;
                p.overheadMs = fitSharedOverhead(request.profile, t, j, p.throughputRps, 0.5, 0.5 + kSharedOverheadFitWindows * measureS,
                                                 p.virtualRps);
                t.overheadSharedMs[j] = p.overheadMs;
                noteDisturbedQueueRun(r, k, disturbed, slowDevice);
                out.liveQueue.push_back(p);
            }
        }
        if (t.idleGapMs.empty()) { // the jitter and the call curve belong to an idle curve (ServiceTable::validate)
            t.idleJitterMs.clear();
            t.idleJitterFromMs = 0;
            t.callIdleGapMs.clear();
            t.callIdleExtraMs.clear();
        }
        if (!disturbed.empty())
            out.hostNotice += std::string(out.hostNotice.empty() ? "" : "; ") + "the host was busy through every attempt of " + disturbed
                + ": the live engine's cost may be overstated; calibrate again when the machine is quieter";
        if (!slowDevice.empty())
            out.hostNotice += std::string(out.hostNotice.empty() ? "" : "; ") + "the device's calls ran slower than the table's in every "
                + "attempt of the queue run at " + slowDevice + ": the live engine's cost there may hold the device's slowness; calibrate again";
    }
    char detail[1100];
    std::snprintf(detail, sizeof detail, " (H=%d, L=%d) on %s, %s, median host time per call of %d, calls in flight 1..%d%s%s%s%s%s%s",
                  profile->hidden, profile->layers, out.deviceName.empty() ? out.backendKind.c_str() : out.deviceName.c_str(),
                  QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString().c_str(), o.repeats, config.slots,
                  request.measureOverhead ? "; overhead: live engine's time between calls at predict_concurrency 1 under a queue minus the mean call; engine "
                                                   "thread: its CPU time per call in that run"
                                                 : "",
                  out.liveIdle.empty() ? "" : out.idleCurveScaled ? "; idle cost from the live engine's batcher above the first live gap, the waiting caller's below it scaled to the queue run's gap"
                                                                  : "; idle cost from the live engine's batcher above the first live gap",
                  out.liveQueue.empty() ? "" : "; by concurrency: engine thread from the queue run at predict_concurrency k, overhead fitted so that virtual time completes as many calls",
                  t.idleJitterMs.empty() ? "" : "; idle jitter: each call after an idle gap from jitter_from_ms on minus its gap's mean",
                  t.engineThreadWakeMs.empty() ? "" : "; engine thread wake-up: how late it ran the Poisson sends it woke for, at a quarter of the queue run's rate",
                  t.callIdleGapMs.empty() ? "" : "; call idle (calls no batcher's timer released): the idle cost at the queue run's gap, plus that open-loop run's calls after a gap over its calls back to back");
    t.source = "knee calibrate: " + profile->name + detail + "; " + out.settling.notice();
    return out;
}

std::string tableCheckRefusal(const ServiceTable& table)
{
    if (table.concurrency.empty() || table.concurrency.back() <= kMaxDeviceSlots)
        return {};
    return "the table's concurrency axis goes to " + std::to_string(table.concurrency.back()) + " calls in flight; the live engine runs at most "
        + std::to_string(kMaxDeviceSlots) + " on a device";
}

TableCheck checkTable(const std::string& profile, const ServiceTable& table, const PredictBackendInfo& backend, const std::atomic<bool>* cancel)
{
    TableCheck out;
    if (out.error = tableCheckRefusal(table); !out.error.empty())
        return out;
    const double soloMs = table.msAt(1);
    const double measureS = std::clamp(0.3 * soloMs, 2.0, 120.0); // calibrate's queue runs (calibrateProfile)
    std::vector<int> ks{1}; // then the table's rows above one call (ServiceTable::concurrency)
    ks.insert(ks.end(), table.concurrency.begin(), table.concurrency.end());
    std::string disturbed, slowDevice;
    out.deviceChecked = backend.gpu; // liveQueueRun holds the device to the table on a GPU only
    for (int k : ks) {
        if (cancel && cancel->load()) {
            out.error = "cancelled";
            return out;
        }
        std::string error;
        const QuietRun r = liveQueueRun(profile, backend, table, k, measureS, error);
        if (!r.run) {
            out.error = "the live queue run with " + std::to_string(k) + " calls in flight: " + error;
            return out;
        }
        TableCheckPoint p;
        p.concurrency = k;
        p.liveRps = r.run->summary.throughputRps;
        p.liveEngineThreadMs = std::round(r.run->engineThreadMsPerCall * 1e4) / 1e4;
        p.latency = r.run->summary.latency;
        p.host = r.host;
        p.attempts = r.attempts;
        p.deviceSlowness = r.deviceSlowness;
        p.virtualRps = virtualQueueRps(profile, table, k, 0.5, 0.5 + kSharedOverheadFitWindows * measureS);
        if (!(p.virtualRps > 0)) {
            char what[200];
            std::snprintf(what, sizeof what, "with %d calls in flight virtual time on the table completes no call in %g s, where live completed %.1f a second: "
                          "its calls are far slower than this device's; calibrate again", k, kSharedOverheadFitWindows * measureS, p.liveRps);
            out.error = what;
            return out;
        }
        noteDisturbedQueueRun(r, k, disturbed, slowDevice);
        out.points.push_back(p);
    }
    if (!disturbed.empty())
        out.hostNotice = "the host was busy through every attempt of " + disturbed + ": the live side may be slow; check again when the machine is quieter";
    if (!slowDevice.empty())
        out.hostNotice += std::string(out.hostNotice.empty() ? "" : "; ") + "the device's calls ran slower than the table's in every attempt at "
            + slowDevice + ": the device itself has slowed since the table was measured, or was slow for longer than "
            + std::to_string(CalibrationResult::kLiveAttempts) + " runs";
    return out;
}

} // namespace knee
