// One live run: an Engine paced to wall time by a LiveClock on the current thread, with the real predict
// stage (a BackendExecutor on the given backend) when the scenario names a model profile. Every way knee
// runs the engine live — the window's host, `simulate --live`, live sweeps and `knee serve` — is a LiveRun,
// so the hand-back of device results to the engine thread, pause buffering and the order of teardown are
// written once:
//  - results from the device are posted to this object and applied on its thread at the wall time they
//    arrive; while paused they are held and applied, in order, on resume;
//  - results of a run that is stopping never reach its engine (stopDelivering), and a LiveRun that is
//    gone receives nothing (its queued results die with it);
//  - teardown: the clock's coroutine ends first, then the executor (whose device calls in flight may take
//    a while: handed to Qt's pool unless the caller may block), then the engine.
#pragma once
#include "study/run_summary.h"
#include "telemetry/host_contention.h"

#include <QObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace knee {

class BackendExecutor;
class Engine;
class LiveClock;
struct PredictBackendInfo;

class LiveRun : public QObject {
    Q_OBJECT
public:
    // Builds the engine (and, with a model profile, the executor on `backend`, which the caller owns and
    // passes in: the app chooses one per process, sharedPredictBackend()) on the calling thread, which is
    // the run's thread from then on. Throws std::invalid_argument for an invalid scenario, or a model
    // profile with no backend. Nothing runs until start().
    LiveRun(const Scenario& scenario, const PredictBackendInfo* backend, QObject* parent = nullptr);
    // The one rule for that refusal, for callers that check before a run is built (a host, a server, a
    // sweep): why `scenario` cannot run without a backend, or empty when it can.
    static std::string missingBackend(const Scenario& scenario, bool haveBackend);
    // A run that was started must be stopped first (stopped() emitted): stopAndWait(), or retire().
    ~LiveRun() override;

    // Starts the clock; with `load`, the scenario's workload too (knee serve's load is its HTTP clients).
    void start(bool load = true);
    // Whether a replica is still starting (a live replica loads its model's weights first).
    bool replicasStarting() const;
    // start() without the load, then waits on a local event loop (for command-line runs and sweeps,
    // which may block) until no replica is starting, `maxWaitS` passed, `cancelled` says so (polled) or
    // the run is stopped or paused, then starts the load (not after a stop): a virtual replica starts
    // ready, so the same scenario in virtual time has no such wait.
    struct LoadStart {
        double atS = 0;      // when the load started, in the run's seconds
        bool ready = true;   // every replica the run started with was ready by then
    };
    LoadStart startLoadWhenReady(double maxWaitS, const std::function<bool()>& cancelled = {});
    // A change to the running engine now: what is already due runs first, then `change`, then the clock
    // runs whatever the change made due and re-arms.
    void act(const std::function<void(Engine&)>& change);
    void pause();
    void resume();
    bool paused() const;

    Engine& engine() { return *m_engine; }
    const Engine& engine() const { return *m_engine; }
    LiveClock& clock() { return *m_clock; }
    bool realPredict() const { return m_executor != nullptr; }
    // The real predict stage's successful calls so far: host time summed (ms) and count; zeros when virtual
    // or once the run is stopped (its executor is gone).
    std::pair<double, std::int64_t> hostCalls() const;
    // What runs predict, in a line (the status bar's); and the backend's whole notice when real.
    const std::string& predictStage() const { return m_predictStage; }
    const std::string& predictNotice() const { return m_predictNotice; }
    bool predictFellBackToCpu() const { return m_fellBack; }

    // Ends the run: the clock stops (stopped() once its coroutine has ended), device results are no longer
    // delivered, and the executor goes to Qt's pool to wait there for its calls in flight.
    void stop();
    // stop(), waiting on a local event loop for the clock (bounded), then for the device's calls in flight
    // on this thread. For command-line runs, which may block.
    void stopAndWait();
    // stop() now and delete the run once stopped: never blocks the calling thread (the window's host).
    static void retire(std::unique_ptr<LiveRun> run);

Q_SIGNALS:
    void stopped();

private:
    void deliver(std::function<void(Engine&)> fn); // on this object's thread

    std::unique_ptr<BackendExecutor> m_executor; // declared before the engine, which points at it
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<LiveClock> m_clock;
    std::vector<std::function<void(Engine&)>> m_held; // delivered while paused
    std::string m_predictStage, m_predictNotice;
    bool m_fellBack = false;
    bool m_started = false, m_stopping = false, m_stopped = false;
};

// A scenario run once in live time, headless: what `knee simulate --live` prints, and which backend ran
// predict.
struct LiveRunResult {
    RunSummary summary;
    std::string predictStage; // what ran predict, and after a fall back to the CPU, why
    bool realPredict = false;
    std::int64_t predictErrors = 0, replicaStartFailures = 0;
    std::string lastPredictError;
    double loadStartS = 0; // when the load started: once the initial replicas were ready (their cold start)
    bool replicasReadyAtLoad = true; // false: the wait for them ran out (maxWallS) first
    // What the host took from the run, from the load's start (hypervisor steal, this process's involuntary
    // context switches); a disturbed run also carries a warning in summary.warnings.
    telemetry::HostContention host;
    // The engine's thread (this one, which runs the clock and every stage's bookkeeping): its CPU time
    // from the load's start, per predict call started meanwhile (0 where none was). `knee calibrate`
    // writes it as the table's engine_thread_ms.
    double engineThreadMsPerCall = 0;
    // How late the engine's thread, asleep, ran the load's timed sends (LiveClock::sendWakeLag), over the
    // whole run: what `knee calibrate` writes as engine_thread_wake_ms.
    LatencyHistogram sendWakeLag;
    // The backend's host time per call (submit to completion: the device's time as the host sees it), mean
    // over the calls that completed in the measured window (from the warm-up's end until the load stops
    // sending; to the run's end without a duration); 0 without a real predict stage or such calls.
    // `knee calibrate` holds it to the table: a run whose device was slower than the table measured is
    // measured again.
    double hostCallMeanMs = 0;
};

// Starts the workload once the initial replicas are ready (loadStartS), then runs until it has sent
// everything and nothing is left to happen, or `maxWallS` passed.
// Needs a Qt event loop on this thread (a QCoreApplication); throws std::invalid_argument for an
// invalid scenario, or a model profile with no `backend` (what runs its predict). `observer`, when set, sees
// every request as it ends, on the engine's thread (this one).
LiveRunResult runLive(const Scenario& scenario, double maxWallS, const PredictBackendInfo* backend,
                      const std::function<void(const Request&)>& observer = {});

} // namespace knee
