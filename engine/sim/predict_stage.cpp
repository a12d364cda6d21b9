#include "predict_stage.h"

#include <algorithm>

namespace knee {

namespace {
constexpr std::uint64_t kVariationStream = 17; // after the engine's streams (11-16)
constexpr std::uint64_t kIdleJitterStream = 18; // its own: a table with the jitter keeps the calls' variation draws
constexpr std::uint64_t kThreadWakeStream = 19; // its own too: the thread's wake-ups leave both as they were

// The live engine thread's time per call (ServiceTable::engineThreadMs), where virtual time charges it: only
// where the scenario places its replicas on local devices, as a live run does; on the platforms (a device
// per replica) every replica has a server of its own.
Nanos engineThreadCost(const Scenario& s, const PredictExecutor* executor)
{
    const ServiceTable& t = s.model.predictTable;
    if (executor || s.deployment.devices <= 0)
        return 0;
    // A table may give the thread's cost at more calls in flight only: still a thread to charge.
    return msToNanos(std::max(t.engineThreadMs, t.engineThreadSharedMs.empty() ? 0.0 : *std::max_element(t.engineThreadSharedMs.begin(), t.engineThreadSharedMs.end())));
}
} // namespace

PredictStage::PredictStage(const Scenario& scenario, const Nanos& now, EventQueue& events, std::vector<Request>& requests,
                           std::vector<Replica>& replicas, RunMetrics& metrics, PredictExecutor* executor, Host& host)
    : m_scenario(scenario)
    , m_now(now)
    , m_events(events)
    , m_requests(requests)
    , m_replicas(replicas)
    , m_metrics(metrics)
    , m_executor(executor)
    , m_host(host)
    , m_predictMeanMs(Sampler(scenario.model.predict).meanMs())
    , m_curve(scenario.model)
    , m_useDevices(!executor
                   && (m_curve.kind() != DeviceSharing::Kind::Independent || !scenario.model.predictTable.idleGapMs.empty()
                       || engineThreadCost(scenario, executor) > 0
                       // costs by calls in flight and a call alone's variation need the calls in flight
                       || !scenario.model.predictTable.overheadSharedMs.empty() || !scenario.model.predictTable.variationAlone.empty()))
    , m_variationRng(streamSeed(scenario.workload.seed, kVariationStream))
    , m_jitterRng(streamSeed(scenario.workload.seed, kIdleJitterStream))
    , m_wakeRng(streamSeed(scenario.workload.seed, kThreadWakeStream))
    , m_overhead(executor ? 0 : msToNanos(scenario.model.predictTable.overheadMs))
    , m_threadCost(engineThreadCost(scenario, executor))
    , m_executorDevices(executor ? std::max(1, executor->deviceCount()) : 0)
{
}

// ---------------------------------------------------------------- placement

int PredictStage::deviceCount() const
{
    // Asked once: a run's summary may be read after its executor is gone.
    return m_executor ? m_executorDevices : m_scenario.deployment.devices;
}

int PredictStage::deviceOf(int ri) const
{
    const int d = m_replicas[std::size_t(ri)].device;
    return d >= 0 ? d : ri; // a device of its own: indexed like its replica index
}

void PredictStage::placeReplica(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    rep.device = -1;
    const int n = deviceCount();
    if (n <= 0)
        return;
    if (int(m_replicasOnDevice.size()) < n)
        m_replicasOnDevice.resize(std::size_t(n), 0);
    // The device holding the fewest replicas, lowest index on ties: what the CUDA backend does live.
    rep.device = int(std::min_element(m_replicasOnDevice.begin(), m_replicasOnDevice.begin() + n) - m_replicasOnDevice.begin());
    ++m_replicasOnDevice[std::size_t(rep.device)];
}

void PredictStage::unplaceReplica(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.device >= 0 && rep.device < int(m_replicasOnDevice.size()))
        --m_replicasOnDevice[std::size_t(rep.device)];
}

std::vector<DeviceSnapshot> PredictStage::devices() const
{
    std::vector<DeviceSnapshot> out;
    auto at = [&](int d) -> DeviceSnapshot& {
        while (int(out.size()) <= d)
            out.push_back(DeviceSnapshot{int(out.size()), {}, 0});
        return out[std::size_t(d)];
    };
    for (int d = 0; d < deviceCount(); ++d)
        at(d);
    for (int ri = 0; ri < int(m_replicas.size()); ++ri) {
        const Replica& r = m_replicas[std::size_t(ri)];
        if (!r.provisioned())
            continue;
        DeviceSnapshot& d = at(deviceOf(ri));
        d.replicas.push_back(r.id);
        // Calls in flight: one per request in predict without batching, else the replica's one call.
        d.callsInFlight += m_scenario.model.batching.mode == BatchingConfig::Mode::None ? r.inPredict : int(r.callRunning);
    }
    if (deviceCount() <= 0) // a device per replica: list only those that hold one
        out.erase(std::remove_if(out.begin(), out.end(), [](const DeviceSnapshot& d) { return d.replicas.empty(); }), out.end());
    return out;
}

std::string PredictStage::sharingAssumption() const
{
    if (m_executor)
        return {}; // live: the real device shares itself
    return m_scenario.model.sharingAssumption(m_scenario.deployment, deviceCount());
}

// ---------------------------------------------------------------- predict slots

void PredictStage::enter(int ri, std::uint32_t rq)
{
    m_metrics.occupancy.change(m_now, Stage::PredictWait, +1);
    m_replicas[std::size_t(ri)].predictWait.push(rq);
    refill(ri);
}

// Fills free predict slots from the replica's FIFO of requests that finished preprocess.
void PredictStage::refill(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    const int predictSlots = m_scenario.deployment.predictConcurrency;
    const BatchingConfig::Mode mode = m_scenario.model.batching.mode;
    while (rep.inPredict < predictSlots && !rep.predictWait.empty()) {
        const std::uint32_t rq = rep.predictWait.pop();
        setPredictBusy(rep, +1);
        m_requests[rq].predictStart = m_now;
        m_metrics.occupancy.change(m_now, Stage::PredictWait, -1);
        m_metrics.occupancy.change(m_now, Stage::Predict, +1);
        if (mode != BatchingConfig::Mode::None)
            rep.batchQueue.push(rq); // the batcher (or the decode loop) inside predict decides when it runs
        else
            startSingle(ri, rq);
    }
    if (mode == BatchingConfig::Mode::Dynamic)
        tryLaunchBatch(ri);
    else if (mode == BatchingConfig::Mode::Continuous && !rep.callRunning && !rep.stepPending && !rep.batchQueue.empty()) {
        // An idle loop starts its step once the events already queued for this instant have run (the queue
        // breaks ties first in, first out), so the sequences they bring join it, as a server's loop that
        // wakes on the first arrival reads the others of the same turn. Steps that follow a step start at
        // once (decodeStep). The twin of a streaming reference server needs it: closed-loop users whose
        // sequences end together stay in step there (docs/DESIGN.md "The device": calls in step).
        rep.stepPending = true;
        m_events.push(m_now, EventType::DecodeStart, std::uint32_t(ri));
    }
}

void PredictStage::setPredictBusy(Replica& rep, int delta)
{
    if (rep.inPredict == 0 && delta > 0)
        rep.predictBusySince = m_now;
    rep.inPredict += delta;
    if (rep.inPredict == 0 && delta < 0)
        rep.predictBusyNs += m_now - rep.predictBusySince;
}

void PredictStage::finishPredict(std::uint32_t rq)
{
    Request& r = m_requests[rq];
    setPredictBusy(m_replicas[std::size_t(r.replicaIndex)], -1);
    r.predictDone = m_now;
    m_metrics.occupancy.change(m_now, Stage::Predict, -1);
    m_host.leavePredict(rq);
}

// ---------------------------------------------------------------- calls

// A call's time alone on the device: the request's own sampled predict time, or with a calibrated
// table the table's T(b, 1), carrying the request's size and sampled variation as a factor.
Nanos PredictStage::callTime(const Request& r, double batch) const
{
    const ServiceTable& table = m_scenario.model.predictTable;
    if (table.empty())
        return r.times.predict;
    const double factor = m_predictMeanMs > 0 ? nanosToMs(r.times.predict) / m_predictMeanMs : 1.0;
    return msToNanos(table.msAt(batch) * factor);
}

std::uint32_t PredictStage::allocCall(CallKind kind, int ri, int batch)
{
    std::uint32_t ci;
    if (!m_freeCalls.empty()) {
        ci = m_freeCalls.back();
        m_freeCalls.pop_back();
    } else {
        ci = std::uint32_t(m_calls.size());
        m_calls.emplace_back();
    }
    Call& c = m_calls[ci];
    c.kind = kind;
    c.replica = ri;
    c.batch = batch;
    c.requests.clear();
    c.afterDevice = 0;
    c.peakInFlight = 1;
    c.inUse = true;
    ++c.generation;
    return ci;
}

// Runs the call: on the executor (live), on its shared device (virtual, with sharing), or for its solo
// time plus the overhead (virtual, independent calls).
void PredictStage::startCall(std::uint32_t ci, Nanos soloNs, bool timerReleased)
{
    Call& c = m_calls[ci];
    ++m_callsStarted;
    if (m_executor) {
        ++m_liveCalls;
        m_executor->submit(m_replicas[std::size_t(c.replica)].id, (std::uint64_t(c.generation) << 32) | ci, c.batch);
        return;
    }
    if (!timedByDevice()) {
        soloNs = Nanos(double(soloNs) * variationFactor());
        m_events.push(m_now + std::max<Nanos>(soloNs, 0) + overhead(), EventType::CallDone, ci);
        return;
    }
    const int d = deviceOf(c.replica);
    if (int(m_devices.size()) <= d)
        m_devices.resize(std::size_t(d) + 1);
    SharedDevice& dev = m_devices[std::size_t(d)];
    soloNs = Nanos(double(soloNs) * variationFactor(dev.inFlight() + 1));
    const Nanos idle = dev.idleFor(m_now);
    const ServiceTable& table = m_scenario.model.predictTable;
    // The call's tail (ServiceTable::tailMs, or what its device times leave) runs off the device, after its
    // shared work.
    const Nanos tail = Nanos(std::llround(m_curve.tailNs(double(std::max<Nanos>(soloNs, 0)), c.batch)));
    // A batch the batcher's timer released pays the idle curve that holds the timer's lateness; any other
    // call the device's own wake-up (ServiceTable::callIdleGapMs, where the table has it).
    const bool byTimerCurve = timerReleased || table.callIdleGapMs.empty();
    const std::vector<double>& gaps = byTimerCurve ? table.idleGapMs : table.callIdleGapMs;
    const double gapMs = idle == kNever ? gaps.empty() ? 0 : gaps.back() : nanosToMs(idle);
    Nanos wake = idle > 0 ? msToNanos(byTimerCurve ? table.idleExtraAt(gapMs) : table.callIdleExtraAt(gapMs)) : 0;
    // The wake-up after a long enough gap varies (ServiceTable::idleJitterMs); a draw below the idle extra
    // leaves no wake-up at all, never less than the overhead and tail (so the clamp lifts the mean a little
    // where the jitter's lowest quantiles exceed the extra).
    if (!table.idleJitterMs.empty() && idle > 0 && idle >= msToNanos(table.idleJitterFromMs))
        wake = std::max<Nanos>(0, wake + msToNanos(drawAtQuantiles(table.idleJitterMs, m_jitterRng)));
    c.afterDevice = tail + wake;
    dev.start(m_now, ci, double(std::max<Nanos>(soloNs, 0) - tail), c.batch, m_curve, double(tail));
    // Every call on the device now shares it with this many (the live engine's costs by concurrency,
    // ServiceTable::overheadAt, are charged at the most a call shared with).
    const int k = dev.inFlight();
    dev.forEachToken([&](std::uint32_t other) { m_calls[other].peakInFlight = std::max(m_calls[other].peakInFlight, k); });
    deviceChanged(d);
}

void PredictStage::deviceChanged(int d)
{
    const SharedDevice& dev = m_devices[std::size_t(d)];
    if (dev.nextFinish() != kNever)
        m_events.push(dev.nextFinish(), EventType::DeviceDone, std::uint32_t(d), dev.generation());
}

Nanos PredictStage::timedSendTakenAt()
{
    const std::vector<double>& wake = m_scenario.model.predictTable.engineThreadWakeMs;
    if (m_threadCost <= 0 || wake.empty())
        return m_now;
    while (!m_turns.empty() && m_turns.front().end <= m_now)
        m_turns.pop();
    Nanos at = m_now;
    if (m_now <= m_lastSendTakenAt) {
        // The thread still wakes for (or is in the turn of) an earlier send: the same turn takes this one.
        at = m_lastSendTakenAt;
    } else if (!m_turns.empty() && m_turns.front().start <= m_now) {
        // Busy with a hand-off: the send runs when that turn ends, before the next hand-off (the live engine
        // runs what is due before each completion it is given).
        at = m_turns.front().end;
    } else {
        // Asleep: the wake-up, unless a queued hand-off wakes the thread first and its turn takes the send.
        at = m_now + msToNanos(drawAtQuantiles(wake, m_wakeRng));
        if (!m_turns.empty())
            at = std::min(at, m_turns.front().start);
    }
    // Every branch keeps the sends in order: a later send is never taken before an earlier one.
    m_lastSendTakenAt = at;
    return at;
}

void PredictStage::callOffDevice(std::uint32_t ci)
{
    const Call& c = m_calls[ci];
    const ServiceTable& table = m_scenario.model.predictTable;
    const Nanos overhead = msToNanos(table.overheadAt(c.peakInFlight));
    Nanos after = c.afterDevice + overhead;
    if (m_threadCost > 0) {
        // The live engine's thread takes finished calls in turn. The call's tail and idle wake-up come
        // first (the host's wait for the result, the notifying thread's wake-up: not the engine thread's
        // work); its hand-off then starts when the thread is done with the ones before it, and keeps the
        // thread busy for its cost (most of which overlaps the next call on the device: the overhead alone
        // delays this call's end).
        const Nanos ready = m_now + c.afterDevice;
        const Nanos start = std::max(ready, m_threadFreeAt);
        m_threadFreeAt = start + msToNanos(table.engineThreadAt(c.peakInFlight));
        if (!table.engineThreadWakeMs.empty()) { // the turns a timed send may find under way (timedSendTakenAt)
            while (!m_turns.empty() && m_turns.front().end <= m_now)
                m_turns.pop();
            m_turns.push({start, m_threadFreeAt});
        }
        after = start + overhead - m_now;
    }
    if (after > 0)
        m_events.push(m_now + after, EventType::CallDone, ci);
    else
        endCall(ci, {});
}

// A draw from values given at the table's fixed quantiles (ServiceTable::kVariationQuantiles): their
// inverse, linear between quantiles, clamped at the outermost ones.
double PredictStage::drawAtQuantiles(const std::vector<double>& q, Rng& rng)
{
    return ServiceTable::valueAtQuantile(q, rng.uniform01());
}

// The table's per-call variation: a ratio to the median, for a call that starts with `inFlight` calls on its
// device (itself included; 0: not on a shared device, the pooled variation).
double PredictStage::variationFactor(int inFlight)
{
    const ServiceTable& t = m_scenario.model.predictTable;
    if (inFlight <= 0)
        return t.variation.empty() ? 1.0 : drawAtQuantiles(t.variation, m_variationRng);
    if (t.variationOfOne().empty())
        return 1.0;
    return t.variationAt(m_variationRng.uniform01(), inFlight);
}

void PredictStage::handle(const Event& e)
{
    switch (e.type) {
    case EventType::PredictDone: { // independent single call, timed without a call record
        const int ri = m_requests[e.arg].replicaIndex;
        finishPredict(e.arg);
        refill(ri); // the freed predict slot goes to the next waiting request at once
        break;
    }
    case EventType::CallDone: endCall(e.arg, {}); break;
    case EventType::DeviceDone: {
        if (e.arg >= m_devices.size() || e.generation != m_devices[e.arg].generation())
            return; // rescheduled since
        m_scratch.clear();
        m_devices[e.arg].finishDue(m_now, m_curve, m_scratch);
        deviceChanged(int(e.arg));
        const std::vector<std::uint32_t> finished = m_scratch; // ending a call may start others on this device
        for (std::uint32_t ci : finished)
            callOffDevice(ci);
        break;
    }
    case EventType::BatchTimer:
        if (e.generation == m_replicas[e.arg].batchTimerGeneration)
            tryLaunchBatch(int(e.arg), true);
        break;
    case EventType::DecodeStart:
        if (e.arg < m_replicas.size()) {
            m_replicas[e.arg].stepPending = false;
            if (!m_replicas[e.arg].callRunning)
                startDecodeStep(int(e.arg));
        }
        break;
    default: break;
    }
}

void PredictStage::executorCallDone(std::uint64_t callId, const std::string& error)
{
    const auto ci = std::uint32_t(callId & 0xFFFFFFFFu);
    if (ci >= m_calls.size() || !m_calls[ci].inUse || m_calls[ci].generation != std::uint32_t(callId >> 32))
        return;
    --m_liveCalls;
    if (!error.empty())
        noteError(error);
    endCall(ci, error);
}

void PredictStage::noteError(const std::string& error)
{
    ++m_predictErrors;
    m_lastError = error;
}

void PredictStage::endCall(std::uint32_t ci, const std::string& error)
{
    Call& c = m_calls[ci];
    const int ri = c.replica;
    const CallKind kind = c.kind;
    c.inUse = false;
    m_freeCalls.push_back(ci);
    switch (kind) {
    case CallKind::Single:
    case CallKind::Batch: {
        if (kind == CallKind::Batch)
            m_replicas[std::size_t(ri)].callRunning = false;
        std::vector<std::uint32_t> done;
        done.swap(c.requests); // the pool may grow (and this call be reused) while the requests move on
        for (std::uint32_t rq : done) {
            m_requests[rq].times.predictFails |= !error.empty();
            finishPredict(rq);
        }
        refill(ri); // refills the predict slots and launches the next call
        break;
    }
    case CallKind::Decode:
        if (!error.empty())
            failActiveSequences(ri);
        else
            decodeStep(ri, ci);
        break;
    }
}

void PredictStage::startSingle(int ri, std::uint32_t rq)
{
    const Request& r = m_requests[rq];
    if (!m_executor && !timedByDevice()) {
        // Independent calls: one event per request, no call record (the engine's hot path).
        ++m_callsStarted;
        m_events.push(m_now + Nanos(double(callTime(r, 1)) * variationFactor()) + overhead(), EventType::PredictDone, rq);
        return;
    }
    const std::uint32_t ci = allocCall(CallKind::Single, ri, 1);
    m_calls[ci].requests.push_back(rq);
    startCall(ci, callTime(r, 1));
}

// ---------------------------------------------------------------- dynamic batching

void PredictStage::tryLaunchBatch(int ri, bool fromTimer)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.callRunning || rep.batchQueue.empty())
        return;
    const BatchingConfig& b = m_scenario.model.batching;
    const Nanos oldest = m_requests[rep.batchQueue.front()].predictStart;
    const Nanos maxDelay = msToNanos(b.maxDelayMs);
    if (int(rep.batchQueue.size()) < b.maxBatch && m_now - oldest < maxDelay) {
        // Not full and not old enough: wait for more, at most until the oldest has waited max_delay.
        ++rep.batchTimerGeneration;
        m_events.push(oldest + maxDelay, EventType::BatchTimer, std::uint32_t(ri), rep.batchTimerGeneration);
        return;
    }
    const int n = std::min<int>(int(rep.batchQueue.size()), b.maxBatch);
    const bool timerReleased = fromTimer && n < b.maxBatch; // not full, and the max_delay timer let it go
    const std::uint32_t ci = allocCall(CallKind::Batch, ri, n);
    Call& call = m_calls[ci];
    for (int i = 0; i < n; ++i)
        call.requests.push_back(rep.batchQueue.pop());
    rep.callRunning = true;
    ++rep.batchTimerGeneration; // any pending max-delay timer is now stale
    // One call for the whole batch: the table's time for n (or, without a table, one request's call),
    // scaled by the batch's mean size/variation factor (not its largest: that would charge every
    // batch for its slowest member twice over).
    double sum = 0;
    for (std::uint32_t rq : call.requests)
        sum += double(callTime(m_requests[rq], n));
    startCall(ci, Nanos(sum / double(n)), timerReleased);
}

// ---------------------------------------------------------------- continuous batching

// Between steps, waiting sequences join (up to max_sequences); then one step, one forward pass over
// all active sequences, each of which emits a token when it ends.
void PredictStage::startDecodeStep(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    const BatchingConfig& b = m_scenario.model.batching;
    int joined = 0;
    for (; int(rep.activeSequences.size()) < b.maxSequences && !rep.batchQueue.empty(); ++joined)
        rep.activeSequences.push_back(rep.batchQueue.pop());
    if (rep.activeSequences.empty())
        return;
    rep.callRunning = true;
    rep.stepStart = m_now;
    const ServiceTable& table = m_scenario.model.predictTable;
    const double stepMs = (table.empty() ? m_predictMeanMs : table.msAt(double(rep.activeSequences.size()))) + b.prefillMs * joined;
    const std::uint32_t ci = allocCall(CallKind::Decode, ri, int(rep.activeSequences.size()));
    startCall(ci, std::max<Nanos>(1, msToNanos(stepMs)));
}

void PredictStage::decodeStep(int ri, std::uint32_t)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    rep.callRunning = false;
    const Nanos step = m_now - rep.stepStart;
    std::vector<std::uint32_t> finished;
    for (std::size_t i = 0; i < rep.activeSequences.size();) {
        const std::uint32_t rq = rep.activeSequences[i];
        Request& r = m_requests[rq];
        if (r.firstToken < 0) {
            r.firstToken = m_now; // streamed out: the user sees the first token now
        } else if (r.measured) {
            m_metrics.interToken.record(step);
        }
        --r.tokensLeft;
        m_host.tokenEmitted(r);
        if (r.tokensLeft <= 0) {
            finished.push_back(rq);
            rep.activeSequences[i] = rep.activeSequences.back();
            rep.activeSequences.pop_back();
        } else {
            ++i;
        }
    }
    for (std::uint32_t rq : finished)
        finishPredict(rq);
    refill(ri); // refills the predict slots; the next step starts from there
    if (!rep.callRunning)
        startDecodeStep(ri);
}

// A decode step failed on the device: every sequence in it ends as failed (a server loses the batch).
void PredictStage::failActiveSequences(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    rep.callRunning = false;
    const std::vector<std::uint32_t> failed = std::move(rep.activeSequences);
    rep.activeSequences.clear();
    for (std::uint32_t rq : failed) {
        m_requests[rq].times.predictFails = true;
        finishPredict(rq);
    }
    refill(ri);
    if (!rep.callRunning)
        startDecodeStep(ri);
}

} // namespace knee
