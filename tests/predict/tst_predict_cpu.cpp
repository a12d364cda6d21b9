// The CPU backend against the float64 reference on fresh random models and inputs, its refusals, slots
// in flight at once, resubmission from a completion, and draining on destruction. CI-sized: seconds.
#include "predict/cpu_backend.h"
#include "test_util.h"

#include "predict/calibration.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

using namespace knee::predict;
using namespace knee::predict::test;

namespace {

void accuracy(Report& r, Backend& cpu, int hidden, int layers, std::initializer_list<int> batches)
{
    const auto model = Model::generate(freshProfile(hidden, layers));
    ReplicaConfig cfg;
    cfg.maxBatch = 64;
    auto created = cpu.createReplica(model, cfg);
    if (!r.check(created.replica != nullptr, "CPU replica created: " + created.status.error))
        return;
    for (int b : batches) {
        const auto x = randomInput(b, hidden);
        auto y = poisoned(b, hidden);
        const Completion c = runAndWait(*created.replica, 0, b, x.data(), y.data());
        const auto ref = referenceForward(*model, b, x.data());
        const double err = relativeError(y.data(), ref.data(), ref.size());
        r.check(c.status.ok() && withinTolerance(err), "H=" + std::to_string(hidden) + " L=" + std::to_string(layers) + " batch "
                    + std::to_string(b) + ": relative error vs float64 " + num(err) + " <= " + num(kTolerance) + " (" + c.status.error + ")");
    }
}

void refusals(Report& r, Backend& cpu)
{
    const auto model = Model::generate(freshProfile(64, 2));
    ReplicaConfig cfg;
    cfg.slots = 2;
    cfg.maxBatch = 8;
    auto rep = cpu.createReplica(model, cfg).replica;
    const auto x = randomInput(9, 64);
    auto y = poisoned(9, 64);
    auto noop = [](const Completion&) {};
    r.check(!rep->submit(-1, 1, x.data(), y.data(), noop).ok(), "slot -1 is refused");
    r.check(!rep->submit(2, 1, x.data(), y.data(), noop).ok(), "slot 2 of a 2-slot replica is refused");
    r.check(!rep->submit(0, 0, x.data(), y.data(), noop).ok(), "batch 0 is refused");
    const Status tooBig = rep->submit(0, 9, x.data(), y.data(), noop);
    r.check(!tooBig.ok() && tooBig.error.find("1..8") != std::string::npos, "batch 9 > max batch 8 is refused: " + tooBig.error);
    r.check(!rep->submit(0, 1, x.data(), y.data(), nullptr).ok(), "a call without a completion callback is refused");

    ReplicaConfig bad = cfg;
    bad.slots = 0;
    r.check(!cpu.createReplica(model, bad).status.ok(), "a replica with 0 slots is refused");
    bad = cfg;
    bad.warmBatches = { 9 };
    r.check(!cpu.createReplica(model, bad).status.ok(), "a warm batch above max batch is refused");
    bad = cfg;
    bad.maxBatch = 1 << 30;
    bad.slots = 4;
    const auto huge = cpu.createReplica(model, bad);
    r.check(!huge.replica && huge.status.error.find("out of host memory") != std::string::npos,
            "an impossible allocation is refused with a clear message: " + huge.status.error);

    // Still usable after all that.
    const auto ref = referenceForward(*model, 3, x.data());
    const Completion c = runAndWait(*rep, 1, 3, x.data(), y.data());
    r.check(c.status.ok() && withinTolerance(relativeError(y.data(), ref.data(), ref.size())), "the replica still computes correctly after refusals");
}

void busySlot(Report& r, Backend& cpu)
{
    // Large enough (≈0.5 GFLOP) that the first call is almost always still running when the second
    // arrives. On a loaded machine it may already have finished: then the second call is rightly
    // accepted, so try again (a few times) until the overlap this test is about happens.
    const auto model = Model::generate(freshProfile(512, 8));
    ReplicaConfig cfg;
    cfg.maxBatch = 128;
    auto rep = cpu.createReplica(model, cfg).replica;
    const auto x = randomInput(128, 512);
    auto y = poisoned(128, 512);
    auto y2 = poisoned(1, 512);
    for (int attempt = 0; attempt < 5; ++attempt) {
        std::promise<Completion> first;
        const Status a = rep->submit(0, 128, x.data(), y.data(), [&](const Completion& c) { first.set_value(c); });
        std::promise<void> second;
        const Status b = rep->submit(0, 1, x.data(), y2.data(), [&](const Completion&) { second.set_value(); });
        const Completion c = first.get_future().get();
        r.check(a.ok() && c.status.ok() && c.forwardMs > 0 && c.wallMs >= c.forwardMs,
                "the first call completes; forward " + num(c.forwardMs) + " ms, wall " + num(c.wallMs) + " ms");
        if (b.ok()) { // the first had finished (the slot is free before its completion runs): inconclusive
            second.get_future().wait();
            continue;
        }
        r.check(b.error.find("busy") != std::string::npos, "a second call on a busy slot is refused: " + b.error);
        return;
    }
    // A backend that accepted a call on a busy slot would land here every time.
    r.check(false, "a second call was accepted on slot 0 in all 5 attempts: busy slots are not refused");
}

void concurrentSlots(Report& r, Backend& cpu)
{
    const auto model = Model::generate(freshProfile(128, 3));
    ReplicaConfig cfg;
    cfg.slots = 4;
    cfg.maxBatch = 40;
    auto rep = cpu.createReplica(model, cfg).replica;
    const int batches[4] = { 1, 7, 17, 40 };
    for (int round = 0; round < 3; ++round) {
        std::vector<std::vector<Bf16>> xs, ys;
        for (int s = 0; s < 4; ++s) {
            xs.push_back(randomInput(batches[s], 128));
            ys.push_back(poisoned(batches[s], 128));
        }
        std::vector<std::thread> threads; // each slot submitted from its own thread
        std::vector<Completion> done(4);
        for (int s = 0; s < 4; ++s)
            threads.emplace_back([&, s] { done[std::size_t(s)] = runAndWait(*rep, s, batches[s], xs[std::size_t(s)].data(), ys[std::size_t(s)].data()); });
        for (auto& t : threads)
            t.join();
        bool ok = true;
        double worst = 0;
        for (int s = 0; s < 4; ++s) {
            const auto ref = referenceForward(*model, batches[s], xs[std::size_t(s)].data());
            const double err = relativeError(ys[std::size_t(s)].data(), ref.data(), ref.size());
            ok = ok && done[std::size_t(s)].status.ok() && withinTolerance(err);
            worst = std::max(worst, std::isnan(err) ? 1e9 : err);
        }
        r.check(ok, "round " + std::to_string(round) + ": 4 slots in flight at once, worst error " + num(worst));
    }
}

void chainedAndDrained(Report& r, Backend& cpu)
{
    const auto model = Model::generate(freshProfile(64, 2));
    ReplicaConfig cfg;
    cfg.maxBatch = 4;
    auto rep = cpu.createReplica(model, cfg).replica;
    const auto x = randomInput(4, 64);
    std::vector<std::vector<Bf16>> ys(5, poisoned(4, 64));
    std::promise<void> last;
    std::atomic<int> calls { 0 };
    std::function<void(const Completion&)> next = [&](const Completion& c) {
        const int i = ++calls;
        if (i < 5 && c.status.ok()) // resubmit on the same slot from inside the completion
            (void)rep->submit(0, 4, x.data(), ys[std::size_t(i)].data(), next);
        else
            last.set_value();
    };
    r.check(rep->submit(0, 4, x.data(), ys[0].data(), next).ok(), "first of a chain accepted");
    last.get_future().wait();
    const auto ref = referenceForward(*model, 4, x.data());
    bool ok = calls == 5;
    for (const auto& y : ys)
        ok = ok && withinTolerance(relativeError(y.data(), ref.data(), ref.size()));
    r.check(ok, "5 calls chained from completion callbacks on one slot, all correct");

    ReplicaConfig many = cfg;
    many.slots = 3;
    auto doomed = cpu.createReplica(model, many).replica;
    std::atomic<int> completions { 0 };
    std::vector<std::vector<Bf16>> out(3, poisoned(4, 64));
    for (int s = 0; s < 3; ++s)
        (void)doomed->submit(s, 4, x.data(), out[std::size_t(s)].data(), [&](const Completion&) { ++completions; });
    doomed.reset(); // must wait for the three calls, each completing exactly once
    r.check(completions == 3, "destroying a replica drains its calls in flight: " + std::to_string(completions.load()) + " of 3 completed");
}

// The calibration's two steady loads: k slots of one replica (measureSharing) and one slot on each of k
// replicas (measureSpread). Counts and refusals only, no times: every timed call is kept, once.
void steadyLoads(Report& r, Backend& cpu)
{
    const auto model = Model::generate(freshProfile(64, 2));
    ReplicaConfig cfg;
    cfg.slots = 2;
    cfg.maxBatch = 4;
    auto one = cpu.createReplica(model, cfg).replica;
    SharingOptions o;
    o.batches = {1, 4};
    o.concurrency = {1, 2};
    o.repeats = 7;
    o.idleGapsMs.clear();
    o.settleMaxMs = 0; // counts only (settling has its own test)
    SharingMeasurement m;
    const Status st = measureSharing(*one, 64, o, m);
    bool counts = st.ok() && m.hostSamples.size() == 2;
    for (std::size_t k = 0; counts && k < 2; ++k)
        for (std::size_t b = 0; b < 2; ++b)
            counts = counts && m.hostSamples[k][b].size() == (k + 1) * 7 && m.hostMs[k][b] > 0;
    r.check(counts, "k slots of one replica: 7 timed calls per caller at each (batch, k) point (" + st.error + ")");
    // The CPU backend's device spans are its compute: one caller's calls never overlap (exactly one on the
    // "device"), two callers' at most two at once.
    bool onDevice = st.ok() && m.deviceInFlight.size() == 2;
    for (std::size_t b = 0; onDevice && b < 2; ++b)
        onDevice = m.deviceInFlight[0][b] == 1.0 && m.deviceInFlight[1][b] >= 1.0 && m.deviceInFlight[1][b] <= 2.0;
    r.check(onDevice, "calls on the device: 1 exactly with one caller, 1..2 with two (" + (onDevice ? "" : num(m.deviceInFlight.empty() ? -1 : m.deviceInFlight[1][0])) + ")");

    cfg.slots = 1;
    auto a = cpu.createReplica(model, cfg).replica, b = cpu.createReplica(model, cfg).replica;
    std::vector<double> host;
    const Status spread = measureSpread({a.get(), b.get()}, 64, 4, 7, host);
    r.check(spread.ok() && host.size() == 14 && *std::min_element(host.begin(), host.end()) > 0,
            "one slot on each of 2 replicas: 14 timed calls (" + spread.error + ")");
    r.check(!measureSpread({a.get(), b.get()}, 64, 5, 7, host).ok(), "a batch beyond the replicas' largest is refused");
    r.check(!measureSpread({a.get(), nullptr}, 64, 1, 7, host).ok(), "a missing replica is refused");
}

// meanCallsOnDevice: the calls' device time over the union of their spans.
void callsOnDevice(Report& r)
{
    using S = std::vector<std::pair<std::int64_t, std::int64_t>>;
    r.check(meanCallsOnDevice(S {{10, 20}, {20, 30}, {40, 45}}) == 1.0, "calls one after another: 1 on the device");
    r.check(meanCallsOnDevice(S {{10, 20}, {10, 20}}) == 2.0, "two calls over the same span: 2");
    r.check(meanCallsOnDevice(S {{15, 25}, {10, 20}}) == 20.0 / 15.0, "half overlapping, in any order: 20 of work over 15 busy");
    // A gap is not busy time: 30 of work over [10, 20] and [30, 45].
    r.check(meanCallsOnDevice(S {{10, 20}, {30, 40}, {35, 45}}) == 30.0 / 25.0, "an idle gap between calls is left out of the busy time");
    r.check(meanCallsOnDevice(S {{10, 20}, {0, 0}}) == 0.0 && meanCallsOnDevice(S {}) == 0.0 && meanCallsOnDevice(S {{20, 10}}) == 0.0,
            "an unknown or reversed span, or none: 0 (unknown)");
}

// A device warming up, as a GPU straight after its cold start raises its clocks: each call reports a host
// time that falls from `coldMs` to `warmMs` over its first `rampCalls` calls (then stays), or, with
// rampCalls < 0, falls by 5 % every 50 calls forever. Completions come from its own thread, as a real
// backend's do (the calibration's callers resubmit from them, holding their own lock).
class WarmingReplica final : public Replica {
public:
    WarmingReplica(double coldMs, double warmMs, int rampCalls)
        : m_cold(coldMs), m_warm(warmMs), m_ramp(rampCalls), m_thread([this] { run(); })
    {
    }
    // Any time per call, by the call's number (from 0): a host disturbance over some calls, a drift.
    explicit WarmingReplica(std::function<double(int call)> time)
        : m_time(std::move(time)), m_thread([this] { run(); })
    {
    }
    ~WarmingReplica() override
    {
        {
            std::lock_guard lock(m_mu);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    const ReplicaInfo& info() const override { return m_info; }
    int slots() const override { return 4; }
    int maxBatch() const override { return 4; }
    Status submit(int slot, int batch, const Bf16*, Bf16*, CompletionFn done) override
    {
        std::lock_guard lock(m_mu);
        const double ms = m_time ? m_time(m_calls) : m_ramp < 0 ? m_cold * std::pow(0.95, double(m_calls / 50))
                                     : m_cold + (m_warm - m_cold) * std::min(1.0, double(m_calls) / double(std::max(1, m_ramp)));
        ++m_calls;
        Completion c;
        c.slot = slot;
        c.batch = batch;
        c.wallMs = c.deviceMs = c.forwardMs = ms;
        m_queue.push_back({std::move(done), c});
        m_cv.notify_all();
        return {};
    }
    int calls() const
    {
        std::lock_guard lock(m_mu);
        return m_calls;
    }

private:
    void run()
    {
        std::unique_lock lock(m_mu);
        for (;;) {
            m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
            if (m_queue.empty())
                return;
            auto [done, c] = std::move(m_queue.front());
            m_queue.pop_front();
            lock.unlock();
            done(c);
            lock.lock();
        }
    }

    ReplicaInfo m_info;
    double m_cold = 0, m_warm = 0;
    int m_ramp = 0;
    std::function<double(int)> m_time;
    mutable std::mutex m_mu;
    std::condition_variable m_cv;
    std::deque<std::pair<CompletionFn, Completion>> m_queue;
    int m_calls = 0;
    bool m_stop = false;
    std::thread m_thread;
};

// The calibration settles the device before its first point: the table holds the warm device's time,
// not the ramp's; a device that never settles is said so once the budget is spent.
void settling(Report& r)
{
    SharingOptions o;
    o.batches = {1};
    o.concurrency = {1};
    o.repeats = 20;
    o.idleGapsMs.clear();
    o.pointAttempts = 1; // the table as the first point found it (confirmation: below)
    {
        WarmingReplica device(1.0, 0.5, 400); // 0.5 ms from call 400 on
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        // Blocks of 100 ms of calls: the ramp's blocks fall by more than 2 % each; three blocks past call
        // 400 (at least half of each at 0.5 ms) agree exactly and end the settling: after call 400, at most
        // the rest of the block that straddles it and three blocks of 200 calls.
        const std::vector<double>& b = m.settling.blockMedianMs;
        const bool lastThreeWarm = b.size() >= 3 && b.back() == 0.5 && b[b.size() - 2] == 0.5 && b[b.size() - 3] == 0.5;
        bool ramp = true; // every block still above 0.5 ms at least 2 % faster than the one before
        for (std::size_t i = 1; i < b.size() && b[i] > 0.5; ++i)
            ramp = ramp && b[i] < 0.98 * b[i - 1];
        r.check(st.ok() && m.settling.settled && lastThreeWarm && ramp && m.settling.calls > 400 && m.settling.calls <= 400 + 4 * 200,
                "settling: blocks until the last three hold the warm 0.5 ms (" + std::to_string(m.settling.calls) + " calls, "
                    + std::to_string(b.size()) + " blocks, " + st.error + ")");
        r.check(st.ok() && m.hostMs[0][0] == 0.5, "the settled table holds the warm device's 0.5 ms, not the ramp's (" + num(m.hostMs[0][0]) + ")");
    }
    {
        // A slow warm-up, 1.0 to 0.5 ms over 5,000 calls: about 1.2 % per block at first, so two neighbouring
        // blocks agree within 2 % long before the end; the newest against the block two back does not.
        WarmingReplica device(1.0, 0.5, 5000);
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        r.check(st.ok() && m.settling.settled && m.settling.calls > 5000 && m.hostMs[0][0] == 0.5,
                "a slow warm-up is waited out: settled after " + std::to_string(m.settling.calls) + " calls, the table at " + num(m.hostMs[0][0])
                    + " ms (" + st.error + ")");
    }
    {
        WarmingReplica device(1.0, 0.5, 400);
        o.settleMaxMs = 0;
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        r.check(st.ok() && m.settling.settled && m.settling.calls == 0 && m.hostMs[0][0] > 0.95,
                "without settling the first point is measured on the cold device (" + num(m.hostMs[0][0]) + " ms)");
    }
    {
        WarmingReplica device(1.0, 0.5, -1); // 5 % faster every 50 calls: two blocks of 100 ms never agree within 2 %
        o.settleMaxMs = 500;
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        r.check(st.ok() && !m.settling.settled && m.settling.ms >= 500 && m.settling.ms < 501,
                "a device that keeps getting faster is reported unsettled once the 500 ms budget is spent (" + num(m.settling.ms) + " ms)");
    }
}

// Each point is measured in passes until two attempts agree within 5 %: a disturbance over the first
// pass's first calls (3x slower, as an H200 table taken while the host was busy for seconds) is measured
// again and leaves no mark; a device that drifts forever is kept at its fastest and said so.
void confirmation(Report& r)
{
    SharingOptions o;
    o.batches = {1, 2};
    o.concurrency = {1, 2};
    o.repeats = 20;
    o.settleMaxMs = 0;
    o.idleGapsMs = {0.01, 0.05};
    o.idleRepeats = 20;
    {
        // Calls 0-39: all of the first point's first attempt (calls 0-21) and 16 of the second point's 20
        // timed calls (24-43; 22-23 are its warm-ups), so both medians are 1.5 ms; the second pass is quiet.
        WarmingReplica device([](int call) { return call < 40 ? 1.5 : 0.5; });
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        bool all = st.ok() && m.hostMs.size() == 2;
        for (const auto& row : m.hostMs)
            for (double v : row)
                all = all && v == 0.5;
        r.check(all, "a disturbed first pass leaves no mark: every point 0.5 ms (" + st.error + ")");
        r.check(st.ok() && m.attempts.size() == 2 && m.attempts[0][0] == 3 && m.attempts[0][1] == 3 && m.attempts[1][0] == 2 && m.attempts[1][1] == 2,
                "the two disturbed points took a third pass, the others two");
        r.check(st.ok() && m.unconfirmed.empty() && m.unconfirmedIdleGapsMs.empty() && m.confirmationNotice().empty()
                    && m.idleExtraMs.size() == 2 && m.idleExtraMs[0] == 0 && m.idleExtraMs[1] == 0,
                "every point and idle gap confirmed, no notice: " + m.confirmationNotice());
    }
    {
        WarmingReplica device([](int call) { return 1.0 + 0.1 * call; }); // slower with every call: no attempt agrees with the fastest
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        const std::string notice = m.confirmationNotice();
        r.check(st.ok() && m.unconfirmed.size() == 4 && m.unconfirmedIdleGapsMs.size() == 2 && m.attempts[1][1] == 4
                    && notice.find("batch 2 with 2 in flight") != std::string::npos && notice.find("after an idle 0.01 ms") != std::string::npos,
                "a drifting device: 4 attempts each, every point said unconfirmed: " + notice);
        // The fastest attempt is the first pass's: batch 1 alone, calls 2-21 (after 2 warm-ups), 1.2-3.1 ms,
        // whose median (the upper of the middle two) is call 12's.
        r.check(st.ok() && std::abs(m.hostMs[0][0] - (1.0 + 0.1 * 12)) < 1e-9, "its fastest attempt kept: " + num(m.hostMs[0][0]) + " ms");
    }
    {
        // A disturbance that comes back: one point, whose attempts (22 calls each) alternate slow, quiet,
        // slow, quiet. The two slow ones agree with each other after the third, but the quiet one is
        // faster: only the fourth, agreeing with it, confirms a value, and it is the quiet 0.5 ms.
        SharingOptions one = o;
        one.batches = {1};
        one.concurrency = {1};
        one.idleGapsMs.clear();
        WarmingReplica device([](int call) { return (call / 22) % 2 == 0 ? 1.5 : 0.5; });
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, one, m);
        r.check(st.ok() && m.hostMs[0][0] == 0.5 && m.attempts[0][0] == 4 && m.unconfirmed.empty(),
                "a recurring disturbance does not confirm a slow value: " + num(m.hostMs[0][0]) + " ms after "
                    + std::to_string(m.attempts.empty() ? 0 : m.attempts[0][0]) + " attempts");
    }
    {
        // Batch 1 alone is held to the settling's last block: after settling at 0.5 ms (three blocks of 20
        // calls, 0-59), the device slows to 0.8 ms for the next two attempts (22 calls each), which agree
        // with each other; without the settling they would be kept. The third attempt runs at 0.5 again and
        // the fourth confirms it.
        SharingOptions one = o;
        one.batches = {1};
        one.concurrency = {1};
        one.idleGapsMs.clear();
        one.settleMaxMs = 1000;
        one.settleBlockMs = 10;
        WarmingReplica device([](int call) { return call >= 60 && call < 104 ? 0.8 : 0.5; });
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, one, m);
        r.check(st.ok() && m.settling.settled && m.settling.calls == 60 && m.hostMs[0][0] == 0.5 && m.attempts[0][0] == 4
                    && m.confirmationNotice().empty(),
                "two agreeing attempts slower than the settling are measured again: " + num(m.hostMs[0][0]) + " ms after "
                    + std::to_string(m.attempts.empty() ? 0 : m.attempts[0][0]) + " attempts (" + m.confirmationNotice() + ")");
        // Slow for good after the settling: the 0.8 ms is kept after four attempts, and said so.
        WarmingReplica slowed([](int call) { return call >= 60 ? 0.8 : 0.5; });
        const Status st2 = measureSharing(slowed, 8, one, m);
        const std::string notice = m.confirmationNotice();
        r.check(st2.ok() && m.hostMs[0][0] == 0.8 && m.attempts[0][0] == 4 && m.unconfirmed.empty() && m.aloneAboveSettling.first == 0.8
                    && m.aloneAboveSettling.second == 0.5 && notice.find("above the 0.5000 ms the settling's last block ran at") != std::string::npos,
                "a device slower than its settling for good: kept at 0.8 ms after 4 attempts, said so: " + notice);
        // One attempt asked (--attempts 1): measured once, as asked, and nothing named.
        SharingOptions once = one;
        once.pointAttempts = 1;
        WarmingReplica slowedOnce([](int call) { return call >= 60 ? 0.8 : 0.5; });
        const Status st1 = measureSharing(slowedOnce, 8, once, m);
        r.check(st1.ok() && m.hostMs[0][0] == 0.8 && m.attempts[0][0] == 1 && m.unconfirmed.empty() && m.confirmationNotice().empty(),
                "one attempt asked: kept as measured, nothing named (" + m.confirmationNotice() + ")");
        // Settling in the same blocks of 0.5 ms, then 0.52: within the 5 % it stands after two attempts.
        WarmingReplica close([](int call) { return call >= 60 ? 0.52 : 0.5; });
        const Status st3 = measureSharing(close, 8, one, m);
        r.check(st3.ok() && m.hostMs[0][0] == 0.52 && m.attempts[0][0] == 2 && m.confirmationNotice().empty(),
                "within 5 % of the settling: two attempts (" + std::to_string(m.attempts.empty() ? 0 : m.attempts[0][0]) + ")");
    }
    {
        // Progress counts attempts: two of each of the 4 points and 2 idle gaps on a quiet device, the bar
        // full at the end; a Cancel while the idle gaps are measured stops there.
        WarmingReplica quiet([](int) { return 0.5; });
        SharingOptions p = o;
        int lastDone = 0, lastTotal = 0;
        bool monotone = true;
        p.progress = [&](int done, int total) {
            monotone = monotone && done >= lastDone && total >= lastTotal && done <= total;
            lastDone = done;
            lastTotal = total;
            return true;
        };
        SharingMeasurement m;
        Status st = measureSharing(quiet, 8, p, m);
        r.check(st.ok() && monotone && lastDone == 12 && lastTotal == 12, "progress: 12 of 12 attempts (" + std::to_string(lastDone) + " of "
                                                                              + std::to_string(lastTotal) + ")");
        p.progress = [&](int done, int) { return done < 9; }; // the table's 8 attempts, then the first idle one
        st = measureSharing(quiet, 8, p, m);
        r.check(!st.ok() && st.error == "cancelled", "a Cancel during the idle gaps is honoured (" + st.error + ")");
    }
    {
        o.pointAttempts = 1;
        WarmingReplica device([](int call) { return call < 30 ? 1.5 : 0.5; });
        SharingMeasurement m;
        const Status st = measureSharing(device, 8, o, m);
        r.check(st.ok() && m.hostMs[0][0] == 1.5 && m.attempts[0][0] == 1 && m.unconfirmed.empty(),
                "one attempt: measured once, as asked (" + num(m.hostMs[0][0]) + " ms)");
    }
}

} // namespace

int main()
{
    Report r("tst_predict_cpu");
    auto cpu = makeCpuBackend();
    r.check(cpu->kind() == BackendKind::Cpu && cpu->deviceCount() == 0, "CPU backend: " + cpu->description());
    settling(r);
    confirmation(r);
    accuracy(r, *cpu, 256, 4, { 1, 3, 17, 64 });
    accuracy(r, *cpu, 136, 2, { 1, 5, 33 }); // H a multiple of 8 but not of 16
    refusals(r, *cpu);
    busySlot(r, *cpu);
    concurrentSlots(r, *cpu);
    chainedAndDrained(r, *cpu);
    steadyLoads(r, *cpu);
    callsOnDevice(r);
    return r.finish();
}
