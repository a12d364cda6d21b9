#include "calibration.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
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

    Status run(std::vector<double>& host, std::vector<double>& device)
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
    std::string m_error;
};

// Batch 1 on one slot, each call submitted a fixed gap after the previous one came back: what a call
// costs when it finds the device idle, beyond the back-to-back time (hostMs[0][batch 1]).
Status measureIdle(Replica& replica, int hidden, const SharingOptions& o, SharingMeasurement& out)
{
    constexpr double kSpinBelowMs = 0.2;
    using Clock = std::chrono::steady_clock;
    if (o.idleGapsMs.empty() || out.batches.front() != 1)
        return {};
    std::vector<Bf16> in(static_cast<std::size_t>(hidden)), result(static_cast<std::size_t>(hidden));
    fillUniform(in.data(), in.size(), 4242);
    const double backToBack = out.hostMs[0][0];
    for (double gapMs : o.idleGapsMs) {
        std::vector<double> host, gaps;
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
                host.push_back(c.wallMs);
                gaps.push_back(gap);
            }
        }
        // The gap that really passed (a short sleep overshoots): from the previous call's return to this
        // call's submission. Kept only while gaps increase.
        const double actual = median(gaps);
        if (!out.idleGapMs.empty() && actual <= out.idleGapMs.back())
            continue;
        out.idleGapMs.push_back(actual);
        out.idleExtraMs.push_back(std::max(0.0, median(host) - backToBack)); // the median: see calibration.h
        out.idleHostSamples.push_back(std::move(host));
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
    if (Status st = settle(replica, hidden, o, int(o.batches.size() * o.concurrency.size()), out); !st.ok())
        return st;
    const int total = int(o.batches.size() * o.concurrency.size());
    int done = 0;
    for (int k : o.concurrency) {
        std::vector<double> hostRow, deviceRow;
        std::vector<std::vector<double>> samplesRow;
        for (int b : o.batches) {
            std::vector<double> host, device;
            SteadyLoad load(SteadyLoad::slotsOf(replica, k), hidden, b, kWarmupCalls + o.repeats);
            if (Status st = load.run(host, device); !st.ok())
                return Status::failure("batch " + std::to_string(b) + ", " + std::to_string(k) + " calls in flight: " + st.error);
            hostRow.push_back(median(host));
            deviceRow.push_back(median(device));
            for (double h : host)
                if (hostRow.back() > 0)
                    out.ratios.push_back(h / hostRow.back());
            samplesRow.push_back(std::move(host));
            if (o.progress && !o.progress(++done, total))
                return Status::failure("cancelled");
        }
        out.hostMs.push_back(std::move(hostRow));
        out.hostSamples.push_back(std::move(samplesRow));
        out.deviceMs.push_back(std::move(deviceRow));
    }
    std::sort(out.ratios.begin(), out.ratios.end());
    return measureIdle(replica, hidden, o, out);
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
