// The predict stage of every replica: predict slots (at most predict_concurrency requests in predict,
// the rest wait in FIFO order), the three ways predict runs requests (a call per request, a dynamic
// batcher, a continuous-batching decode loop), the calls' times and the devices they share, and the
// bridge to the real predict stage of live runs (PredictExecutor).
//
// The engine hands a request over when its preprocess ends (enter) and gets it back when its predict
// ends (Host::leavePredict: failed, or on to postprocess). In virtual time a call's time is its solo
// time (the request's sampled predict time, or the predict_table's T(b, 1)), stretched while other
// calls share its device (SharedDevice), plus the table's per-call overhead. With an executor every
// call is a real forward pass and ends when the executor says so.
#pragma once
#include "device_model.h"
#include "event_queue.h"
#include "predict_executor.h"
#include "replica.h"
#include "request.h"
#include "random.h"
#include "ring_queue.h"
#include "scenario.h"

#include "metrics/run_metrics.h"

#include <string>
#include <vector>

namespace knee {

struct DeviceSnapshot {
    int index = 0;
    std::vector<std::int32_t> replicas; // ids of the replicas placed on it
    int callsInFlight = 0;              // predict calls running on it now
};

class PredictStage {
public:
    class Host {
    public:
        virtual ~Host() = default;
        // The request's predict ended at now (r.predictDone set, r.times.predictFails says how).
        virtual void leavePredict(std::uint32_t rq) = 0;
        // Continuous batching: a sequence emitted a token (r.tokensLeft already counts it).
        virtual void tokenEmitted(const Request& r) = 0;
    };

    // `scenario` is the engine's own copy (knobs change in it); `now` its clock. `executor` may be null
    // (virtual time); with one, `deviceCount` is how many devices the executor spreads replicas over.
    PredictStage(const Scenario& scenario, const Nanos& now, EventQueue& events, std::vector<Request>& requests,
                 std::vector<Replica>& replicas, RunMetrics& metrics, PredictExecutor* executor, Host& host);

    // A request finished preprocess on replica `ri`: it waits for a predict slot, or takes one now.
    void enter(int ri, std::uint32_t rq);
    // Fills free predict slots of replica `ri` (after predict_concurrency was raised).
    void refill(int ri);
    // The stage's own events: PredictDone, CallDone, DeviceDone, BatchTimer.
    void handle(const Event& e);
    // The load sent a request of its own timer (LoadGenerator::lastSendTimed): when the live engine's
    // thread takes it (ServiceTable::engineThreadWakeMs), now or later; now where no thread is charged.
    Nanos timedSendTakenAt();
    // The executor finished a call (live runs): the same transitions as a timed call's end. A failed
    // call fails the requests it carried; the replica goes on serving.
    void executorCallDone(std::uint64_t callId, const std::string& error);

    // Replica `ri` was provisioned / is gone: its device placement (DeploymentConfig::devices).
    void placeReplica(int ri);
    void unplaceReplica(int ri);
    int deviceCount() const; // devices replicas are placed on; 0 = one per replica

    bool executorCallsPending() const { return m_liveCalls > 0; }
    std::int64_t predictErrors() const { return m_predictErrors; }
    std::int64_t callsStarted() const { return m_callsStarted; } // every predict call (single, batch, decode step) so far
    const std::string& lastError() const { return m_lastError; }
    void noteError(const std::string& error);                      // a call failed
    void setLastError(const std::string& error) { m_lastError = error; } // a replica could not start
    std::vector<DeviceSnapshot> devices() const;
    // What the run assumes about device sharing, when the scenario leaves it open (else empty).
    std::string sharingAssumption() const;

private:
    enum class CallKind : std::uint8_t { Single, Batch, Decode };
    struct Call {
        CallKind kind = CallKind::Single;
        int replica = -1;
        int batch = 1;
        std::uint32_t generation = 0; // live call ids carry it: a recycled call ignores stale reports
        Nanos afterDevice = 0;        // virtual: the tail and idle wake-up cost, after the device's part (the overhead follows)
        int peakInFlight = 1;         // virtual: the most calls in flight on its device while it was there
        std::vector<std::uint32_t> requests; // Single: one; Batch: the batch; Decode: none (the replica's sequences)
        bool inUse = false;
    };

    std::uint32_t allocCall(CallKind kind, int ri, int batch);
    // timerReleased: a dynamic batch that its max_delay timer released (not full), whose idle
    // wake-up is the table's idle curve; every other call's is its call curve (ServiceTable::callIdleGapMs).
    void startCall(std::uint32_t ci, Nanos soloNs, bool timerReleased = false);
    void callOffDevice(std::uint32_t ci); // the device finished it; the per-call overhead follows
    void endCall(std::uint32_t ci, const std::string& error);
    void startSingle(int ri, std::uint32_t rq);
    // fromTimer: called by the batch's max_delay timer (a batch it launches not full is timer-released).
    void tryLaunchBatch(int ri, bool fromTimer = false);
    void startDecodeStep(int ri);
    void decodeStep(int ri, std::uint32_t ci);
    void failActiveSequences(int ri);
    void finishPredict(std::uint32_t rq);
    void setPredictBusy(Replica& r, int delta);
    Nanos callTime(const Request& r, double batch) const; // the call's time alone on the device
    double variationFactor(int inFlight = 0);            // a draw of the table's per-call variation (1 without one) for a call starting with inFlight on its device
    static double drawAtQuantiles(const std::vector<double>& q, Rng& rng); // a draw from values at kVariationQuantiles
    Nanos overhead() const { return m_overhead; }
    bool timedByDevice() const { return m_useDevices; }
    int deviceOf(int ri) const;
    void deviceChanged(int device);

    const Scenario& m_scenario;
    const Nanos& m_now;
    EventQueue& m_events;
    std::vector<Request>& m_requests;
    std::vector<Replica>& m_replicas;
    RunMetrics& m_metrics;
    PredictExecutor* m_executor;
    Host& m_host;

    double m_predictMeanMs;
    SharingCurve m_curve;
    bool m_useDevices;   // virtual time with sharing, idle costs or the engine thread: calls are timed by the device model
    Rng m_variationRng;  // the calls' own stream: the requests' stage times stay as they were
    Rng m_jitterRng;     // the idle wake-ups' jitter: its own, so the calls' variation draws stay as they were
    Rng m_wakeRng;       // the engine thread's wake-ups for timed sends (ServiceTable::engineThreadWakeMs)
    Nanos m_overhead;    // the table's per-call overhead
    Nanos m_threadCost;  // above 0 where the live engine's thread is charged (its largest engine_thread_ms; each call pays ServiceTable::engineThreadAt)
    Nanos m_threadFreeAt = 0;
    Nanos m_lastSendTakenAt = -1; // when the latest timed send was taken (timedSendTakenAt); none yet
    // The thread's hand-off turns not over yet, in order (kept only for a table with engine_thread_wake_ms;
    // at most one per call in flight). Between them the thread is asleep: after a call leaves the device its
    // tail and idle wake-up come before its turn, and they are not the thread's work.
    struct Turn {
        Nanos start = 0, end = 0;
    };
    RingQueue<Turn> m_turns;
    int m_executorDevices; // live: the devices the executor places replicas on
    std::vector<Call> m_calls; // pool; indices are reused
    std::vector<std::uint32_t> m_freeCalls;
    std::vector<SharedDevice> m_devices;      // virtual: by device index
    std::vector<int> m_replicasOnDevice;      // placement counts (shared placement, or live)
    std::int64_t m_liveCalls = 0;
    std::int64_t m_predictErrors = 0;
    std::int64_t m_callsStarted = 0;
    std::string m_lastError;
    std::vector<std::uint32_t> m_scratch;
};

} // namespace knee
