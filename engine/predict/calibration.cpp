#include "calibration.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace knee::predict {

namespace {

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
}

// Of a point's attempts (their medians), the one to keep: the fastest, once another attempt agrees with
// it within `tolerance` (relative to it); -1 until then. Only the fastest: a disturbance that comes back
// (a periodic job) can make two slow attempts agree, and must not confirm them while a quiet one exists.
int agreeing(const std::vector<double>& medians, double tolerance)
{
    if (medians.empty())
        return -1;
    const std::size_t f = std::size_t(std::min_element(medians.begin(), medians.end()) - medians.begin());
    for (std::size_t j = 0; j < medians.size(); ++j)
        if (j != f && medians[j] - medians[f] <= tolerance * medians[f])
            return int(f);
    return -1;
}

// The calibration's progress in attempts (SharingOptions::progress): `total` is what is planned so far and
// grows when a pass is added (points that did not agree yet), so the bar is never full while work is left.
struct Progress {
    const SharingOptions& o;
    int done = 0, total = 0;
    bool tick() // false: cancelled
    {
        ++done;
        total = std::max(total, done);
        return !o.progress || o.progress(done, total);
    }
};

// Measures `n` points in passes over all of them until another attempt of each agrees with its fastest
// (SharingOptions::pointAttempts, confirmTolerance; `agreeing`); `measure(i, attempt)` fills one attempt of
// point i, whose hostMedian is compared. Returns, per point, the attempt kept: the fastest, once another
// agrees with it (so a disturbance that recurs cannot confirm a slow value); if none agreed, the fastest
// still (a disturbance only adds time), with unconfirmed[i] set. Why passes and not attempts in a
// row: a later pass meets the host in another moment, so a disturbance of a few seconds, which slows
// every call of the points it overlaps, leaves its mark on one attempt.
// `reference` (empty, or one per point; 0: none): a median the point's kept attempt must not exceed by more
// than confirmTolerance, measured apart (batch 1 alone: the settling's last block). Two attempts can agree
// on a slow value when the device slows down for longer than a pass: on an H100, T(1, 1) of `large` came
// out 0.831 ms from two agreeing attempts, seconds after the settling's blocks ran at 0.696
// (bench/fidelity/results/h100_2026-12-06_run39_continuous/).
template <class Attempt, class Measure>
Status inPasses(std::size_t n, const SharingOptions& o, Progress& progress, std::vector<std::vector<Attempt>>& attempts, std::vector<int>& kept,
                std::vector<bool>& unconfirmed, Measure measure, const std::vector<double>& reference = {})
{
    const int passes = std::max(1, o.pointAttempts);
    attempts.assign(n, {});
    kept.assign(n, -1);
    unconfirmed.assign(n, false);
    for (int pass = 0; pass < passes; ++pass) {
        const int open = int(std::count(kept.begin(), kept.end(), -1));
        if (open == 0)
            break;
        // The first pass plans the second too (every point needs two); each later one plans itself.
        progress.total = std::max(progress.total, progress.done + open * (pass == 0 ? std::min(2, passes) : 1));
        for (std::size_t i = 0; i < n; ++i) {
            if (kept[i] >= 0)
                continue;
            Attempt a;
            if (Status st = measure(i, a); !st.ok())
                return st;
            attempts[i].push_back(std::move(a));
            std::vector<double> medians;
            for (const Attempt& x : attempts[i])
                medians.push_back(x.hostMedian);
            kept[i] = passes == 1 ? 0 : agreeing(medians, o.confirmTolerance);
            if (passes > 1 && kept[i] >= 0 && i < reference.size() && reference[i] > 0
                && medians[std::size_t(kept[i])] > reference[i] * (1 + o.confirmTolerance))
                kept[i] = -1; // agreed, but slower than the point measured apart: another pass
            if (!progress.tick())
                return Status::failure("cancelled");
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        if (kept[i] < 0) {
            const auto& all = attempts[i];
            kept[i] = int(std::min_element(all.begin(), all.end(), [](const Attempt& x, const Attempt& y) { return x.hostMedian < y.hostMedian; })
                          - all.begin());
            unconfirmed[i] = true;
        }
    return {};
}

// Callers, each keeping one call in flight on its own (replica, slot) and resubmitting from its completion
// until it made its calls: k slots of one replica, or one slot on each of k replicas.
class SteadyLoad {
public:
    struct Caller {
        Replica* replica;
        int slot;
    };
    SteadyLoad(std::vector<Caller> callers, int hidden, int batch, int calls)
        : m_callers(std::move(callers))
        , m_batch(batch)
        , m_calls(calls)
        , m_left(m_callers.size(), calls)
    {
        const std::size_t values = std::size_t(batch) * std::size_t(hidden);
        for (std::size_t s = 0; s < m_callers.size(); ++s) {
            m_in.emplace_back(values);
            m_out.emplace_back(values);
            // Random, never zeros: zeros can run faster than real data.
            fillUniform(m_in.back().data(), values, std::uint64_t(1000 + 17 * s + std::size_t(batch)));
        }
    }
    static std::vector<Caller> slotsOf(Replica& replica, int k)
    {
        std::vector<Caller> c;
        for (int s = 0; s < k; ++s)
            c.push_back({&replica, s});
        return c;
    }

    Status run(std::vector<double>& host, std::vector<double>& device, std::vector<std::pair<std::int64_t, std::int64_t>>* spans = nullptr)
    {
        std::unique_lock lock(m_mu);
        m_running = int(m_left.size());
        for (int s = 0; s < int(m_left.size()); ++s) {
            if (Status st = submit(s); !st.ok()) {
                m_error = st.error;
                --m_running;
            }
        }
        m_cv.wait(lock, [&] { return m_running == 0; });
        host = std::move(m_host);
        device = std::move(m_device);
        if (spans)
            *spans = std::move(m_spans);
        return m_error.empty() ? Status {} : Status::failure(m_error);
    }

private:
    // Called with m_mu held, or from a completion (which holds it).
    Status submit(int s)
    {
        const Caller& c = m_callers[std::size_t(s)];
        return c.replica->submit(c.slot, m_batch, m_in[std::size_t(s)].data(), m_out[std::size_t(s)].data(),
                                 [this, s](const Completion& done) { this->done(s, done); });
    }

    void done(int s, const Completion& c)
    {
        std::lock_guard lock(m_mu);
        int& left = m_left[std::size_t(s)];
        const bool timed = m_calls - left >= kWarmupCalls;
        --left;
        if (!c.status.ok() && m_error.empty())
            m_error = c.status.error;
        if (c.status.ok() && timed) {
            m_host.push_back(c.wallMs);
            m_device.push_back(c.deviceMs);
            m_spans.push_back({c.deviceStartNs, c.deviceEndNs});
        }
        if (left > 0 && m_error.empty()) {
            if (Status st = submit(s); st.ok())
                return;
            else if (m_error.empty())
                m_error = st.error;
        }
        if (--m_running == 0)
            m_cv.notify_all();
    }

    std::vector<Caller> m_callers;
    int m_batch, m_calls;
    std::vector<int> m_left;
    std::vector<std::vector<Bf16>> m_in, m_out;
    std::mutex m_mu;
    std::condition_variable m_cv;
    int m_running = 0;
    std::vector<double> m_host, m_device;
    std::vector<std::pair<std::int64_t, std::int64_t>> m_spans; // the timed calls' device spans
    std::string m_error;
};

// Batch 1 on one slot, each call submitted a fixed gap after the previous one came back: what a call
// costs when it finds the device idle, beyond the back-to-back time (hostMs[0][batch 1]).
Status measureIdle(Replica& replica, int hidden, const SharingOptions& o, Progress& progress, SharingMeasurement& out)
{
    constexpr double kSpinBelowMs = 0.2;
    using Clock = std::chrono::steady_clock;
    if (o.idleGapsMs.empty() || out.batches.front() != 1)
        return {};
    std::vector<Bf16> in(static_cast<std::size_t>(hidden)), result(static_cast<std::size_t>(hidden));
    fillUniform(in.data(), in.size(), 4242);
    const double backToBack = out.hostMs[0][0];
    struct Attempt {
        std::vector<double> host, gaps;
        double hostMedian = 0;
    };
    auto measureGap = [&](double gapMs, Attempt& a) -> Status {
        Clock::time_point back = Clock::now();
        for (int i = 0; i < kWarmupCalls + o.idleRepeats; ++i) {
            const Clock::time_point until = back + std::chrono::nanoseconds(std::int64_t(gapMs * 1e6));
            if (gapMs < kSpinBelowMs) // H200 run 8: sleeping for 0.05 ms lasted 0.108 ms
                while (Clock::now() < until) {
                }
            else
                std::this_thread::sleep_until(until);
            const Clock::time_point sent = Clock::now();
            const double gap = std::chrono::duration<double, std::milli>(sent - back).count();
            const Completion c = runAndWait(replica, 0, 1, in.data(), result.data());
            back = Clock::now();
            if (!c.status.ok())
                return Status::failure("batch 1 after an idle gap: " + c.status.error);
            if (i >= kWarmupCalls) {
                a.host.push_back(c.wallMs);
                a.gaps.push_back(gap);
            }
        }
        a.hostMedian = median(a.host);
        return {};
    };
    // In passes, as the table's points (measureSharing): one H200 table charged 0.23 ms at a gap of
    // 0.01 ms and 0.02 ms at 0.02 ms, a host disturbance in one gap's run.
    const std::size_t n = o.idleGapsMs.size();
    std::vector<std::vector<Attempt>> attempts;
    std::vector<int> kept;
    std::vector<bool> unconfirmed;
    if (Status st = inPasses(n, o, progress, attempts, kept, unconfirmed, [&](std::size_t g, Attempt& a) { return measureGap(o.idleGapsMs[g], a); });
        !st.ok())
        return st;
    for (std::size_t g = 0; g < n; ++g) {
        Attempt& a = attempts[g][std::size_t(kept[g])];
        // The gap that really passed (a short sleep overshoots): from the previous call's return to this
        // call's submission. Kept only while gaps increase.
        const double actual = median(a.gaps);
        if (!out.idleGapMs.empty() && actual <= out.idleGapMs.back())
            continue;
        out.idleGapMs.push_back(actual);
        out.idleExtraMs.push_back(std::max(0.0, a.hostMedian - backToBack)); // the median: see calibration.h
        if (unconfirmed[g]) // named only if the curve keeps it
            out.unconfirmedIdleGapsMs.push_back(o.idleGapsMs[g]);
        out.idleHostSamples.push_back(std::move(a.host));
    }
    return {};
}

// SharingMeasurement::settled: batch 1 back to back on slot 0 until three blocks in a row agree.
Status settle(Replica& replica, int hidden, const SharingOptions& o, int points, SharingMeasurement& out)
{
    if (o.settleMaxMs <= 0)
        return {};
    std::vector<Bf16> in(static_cast<std::size_t>(hidden)), result(static_cast<std::size_t>(hidden));
    fillUniform(in.data(), in.size(), 777);
    Settling& st = out.settling;
    st.settled = false;
    std::vector<double> block;
    double blockMs = 0;
    // The budget counts the calls' own host time (a stand-in device settles in calls, not seconds); the
    // wall clock bounds it too, at twice that, for hand-offs the calls' times leave out.
    const auto started = std::chrono::steady_clock::now();
    const auto wallLimit = std::chrono::duration<double, std::milli>(2 * o.settleMaxMs);
    while (st.ms < o.settleMaxMs && std::chrono::steady_clock::now() - started < wallLimit) {
        const Completion c = runAndWait(replica, 0, 1, in.data(), result.data());
        if (!c.status.ok())
            return Status::failure("settling the device (batch 1, back to back): " + c.status.error);
        if (!(c.wallMs > 0))
            return Status::failure("settling the device: a call reported " + std::to_string(c.wallMs) + " ms");
        ++st.calls;
        st.ms += c.wallMs;
        // A block lasts settleBlockMs of calls, at least 5: by time, so that one slow first call (on the
        // H200 under CPU load, 20 times the next ones) does not set the size of every block.
        block.push_back(c.wallMs);
        blockMs += c.wallMs;
        if (blockMs < o.settleBlockMs || block.size() < 5)
            continue;
        const double m = median(std::move(block));
        block.clear();
        blockMs = 0;
        // Settled when the newest block agrees with each of the two before it: a device still speeding
        // up by less than the tolerance per block drifts past it over two.
        std::vector<double>& b = st.blockMedianMs;
        const bool agrees = b.size() >= 2 && std::abs(m - b.back()) <= o.settleTolerance * b.back()
            && std::abs(m - b[b.size() - 2]) <= o.settleTolerance * b[b.size() - 2];
        b.push_back(m);
        if (agrees) {
            st.settled = true;
            break;
        }
        if (o.progress && !o.progress(0, points)) // a window's Cancel, between blocks
            return Status::failure("cancelled");
    }
    return {};
}

} // namespace

double meanCallsOnDevice(std::vector<std::pair<std::int64_t, std::int64_t>> spans)
{
    if (spans.empty())
        return 0;
    std::sort(spans.begin(), spans.end());
    double work = 0, busy = 0;
    std::int64_t from = spans.front().first, to = spans.front().first;
    for (const auto& [a, b] : spans) {
        if (a <= 0 || b < a)
            return 0;
        work += double(b - a);
        if (a > to) { // a gap: the busy stretch so far is done
            busy += double(to - from);
            from = a;
        }
        to = std::max(to, b);
    }
    busy += double(to - from);
    return busy > 0 ? work / busy : 0;
}

std::string Settling::notice() const
{
    char line[300];
    if (calls == 0)
        return "the device was not settled first (--settle-s 0)";
    if (settled)
        std::snprintf(line, sizeof line, "the device settled after %d calls of batch 1 (%.2f s): three blocks in a row within 2 %% (last %.4f ms)",
                      calls, ms / 1000.0, blockMedianMs.empty() ? 0.0 : blockMedianMs.back());
    else if (blockMedianMs.size() < 3)
        std::snprintf(line, sizeof line, "the device did not settle: %.2f s (%d calls of batch 1) was too short for three blocks of "
                                         "calls to compare; calibrate with a larger --settle-s", ms / 1000.0, calls);
    else
        std::snprintf(line, sizeof line, "the device did not settle in %.2f s (%d calls of batch 1, block medians still moving: last %.4f ms): "
                                         "the table may hold a device whose time per call was still moving (its clocks, or other work on the GPU "
                                         "or the host); calibrate again, or with a larger --settle-s",
                      ms / 1000.0, calls, blockMedianMs.empty() ? 0.0 : blockMedianMs.back());
    return line;
}

std::string SharingMeasurement::confirmationNotice() const
{
    std::string slow;
    if (aloneAboveSettling.first > 0) {
        char line[400];
        std::snprintf(line, sizeof line,
                      "batch 1 alone stayed at %.4f ms over %d attempts, above the %.4f ms the settling's last block ran at: the device "
                      "slowed down during the calibration and the table may hold that; calibrate again",
                      aloneAboveSettling.first, attempts.empty() || attempts[0].empty() ? 0 : attempts[0][0], aloneAboveSettling.second);
        slow = line;
    }
    if (unconfirmed.empty() && unconfirmedIdleGapsMs.empty())
        return slow;
    std::string what;
    for (const auto& [b, k] : unconfirmed)
        what += (what.empty() ? "" : ", ") + std::string("batch ") + std::to_string(b) + " with " + std::to_string(k) + " in flight";
    for (double g : unconfirmedIdleGapsMs) {
        char line[64];
        std::snprintf(line, sizeof line, "batch 1 after an idle %g ms", g);
        what += (what.empty() ? "" : ", ") + std::string(line);
    }
    return (slow.empty() ? "" : slow + "; ") + "no attempt agreed with the fastest for " + what
        + " (the fastest was kept): the host or the device was disturbed while they ran; calibrate again when the machine is quieter";
}

Status measureSharing(Replica& replica, int hidden, const SharingOptions& o, SharingMeasurement& out)
{
    if (o.batches.empty() || o.concurrency.empty() || o.concurrency.front() != 1 || o.repeats < 1)
        return Status::failure("calibration needs batch sizes, concurrency from 1, and at least one repeat");
    const int kMax = *std::max_element(o.concurrency.begin(), o.concurrency.end());
    const int bMax = *std::max_element(o.batches.begin(), o.batches.end());
    if (kMax > replica.slots() || bMax > replica.maxBatch())
        return Status::failure("the replica has " + std::to_string(replica.slots()) + " slots and batches up to "
                               + std::to_string(replica.maxBatch()) + "; the calibration needs " + std::to_string(kMax) + " and "
                               + std::to_string(bMax));
    out = SharingMeasurement {};
    out.batches = o.batches;
    out.concurrency = o.concurrency;
    // Planned: two attempts of every point and idle gap (one with pointAttempts 1); more if some disagree.
    const int gaps = o.batches.front() == 1 ? int(o.idleGapsMs.size()) : 0; // measureIdle needs batch 1 first
    Progress progress{o};
    progress.total = int(o.batches.size() * o.concurrency.size() + std::size_t(gaps)) * std::min(2, std::max(1, o.pointAttempts));
    if (Status st = settle(replica, hidden, o, progress.total, out); !st.ok())
        return st;
    // Every point in passes over the whole table (inPasses) until two of its attempts agree.
    const std::size_t nk = o.concurrency.size(), nb = o.batches.size();
    struct Attempt {
        std::vector<double> host, device;
        double hostMedian = 0, deviceMedian = 0, onDevice = 0;
    };
    std::vector<std::vector<Attempt>> attempts;
    std::vector<int> kept;
    std::vector<bool> unconfirmed;
    // Batch 1 alone is what the settling ran last: its point must not come out slower than that block.
    std::vector<double> reference(nk * nb, 0.0);
    if (out.settling.settled && out.settling.calls > 0 && !out.settling.blockMedianMs.empty() && o.batches.front() == 1)
        reference[0] = out.settling.blockMedianMs.back();
    const Status measured = inPasses(
        nk * nb, o, progress, attempts, kept, unconfirmed,
        [&](std::size_t i, Attempt& a) {
            const int k = o.concurrency[i / nb], b = o.batches[i % nb];
            SteadyLoad load(SteadyLoad::slotsOf(replica, k), hidden, b, kWarmupCalls + o.repeats);
            std::vector<std::pair<std::int64_t, std::int64_t>> spans;
            if (Status st = load.run(a.host, a.device, &spans); !st.ok())
                return Status::failure("batch " + std::to_string(b) + ", " + std::to_string(k) + " calls in flight: " + st.error);
            a.hostMedian = median(a.host);
            a.deviceMedian = median(a.device);
            a.onDevice = meanCallsOnDevice(std::move(spans));
            return Status {};
        },
        reference);
    if (!measured.ok())
        return measured;
    out.attempts.assign(nk, std::vector<int>(nb, 0));
    out.hostMs.assign(nk, {});
    out.deviceMs.assign(nk, {});
    out.deviceInFlight.assign(nk, {});
    out.hostSamples.assign(nk, {});
    for (std::size_t ki = 0; ki < nk; ++ki)
        for (std::size_t bi = 0; bi < nb; ++bi) {
            const std::size_t i = ki * nb + bi;
            Attempt& a = attempts[i][std::size_t(kept[i])];
            if (unconfirmed[i]) { // the fastest attempt was kept, said so
                std::vector<double> medians;
                for (const Attempt& x : attempts[i])
                    medians.push_back(x.hostMedian);
                if (reference[i] > 0 && agreeing(medians, o.confirmTolerance) >= 0) // they agreed, above the settling
                    out.aloneAboveSettling = {a.hostMedian, reference[i]};
                else
                    out.unconfirmed.push_back({o.batches[bi], o.concurrency[ki]});
            }
            out.attempts[ki][bi] = int(attempts[i].size());
            out.hostMs[ki].push_back(a.hostMedian);
            out.deviceMs[ki].push_back(a.deviceMedian);
            out.deviceInFlight[ki].push_back(a.onDevice);
            for (double h : a.host)
                if (a.hostMedian > 0)
                    out.ratios.push_back(h / a.hostMedian);
            out.hostSamples[ki].push_back(std::move(a.host));
        }
    std::sort(out.ratios.begin(), out.ratios.end());
    return measureIdle(replica, hidden, o, progress, out);
}

Status measureSpread(const std::vector<Replica*>& replicas, int hidden, int batch, int repeats, std::vector<double>& hostMs)
{
    std::vector<SteadyLoad::Caller> callers;
    for (Replica* r : replicas) {
        if (!r || r->slots() < 1 || batch > r->maxBatch())
            return Status::failure("every replica needs a slot and batches up to " + std::to_string(batch));
        callers.push_back({r, 0});
    }
    std::vector<double> device;
    SteadyLoad load(std::move(callers), hidden, batch, kWarmupCalls + std::max(1, repeats));
    return load.run(hostMs, device);
}

} // namespace knee::predict
