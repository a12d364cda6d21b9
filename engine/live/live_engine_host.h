// Runs an Engine live on its own thread (with a LiveClock) and publishes what the UI draws: a
// snapshot at ~30 Hz and one statistics window per second. The UI reads the latest snapshot when it
// likes; the engine never waits for it. Knob moves from any thread are validated at once and
// applied on the engine thread at the wall time they arrive.
#pragma once
#include "sim/knob_move.h"
#include "study/run_summary.h"

#include <QObject>
#include <QThread>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace knee {

struct PredictBackendInfo;

class LiveWorker;

// Statistics of one closed window of live time (requests that ended in it).
struct LiveWindow {
    std::uint64_t sequence = 0;
    double endS = 0;       // engine time at the window's end
    double widthS = 0;
    LatencySummaryMs latency;
    std::array<double, kPartCount> partMeanMs{};
    double throughputRps = 0;
    std::int64_t completed = 0, failed = 0, rejected = 0;
    std::int64_t queued = 0; // deployment queue at the window's end
    int replicas = 0;        // provisioned at the window's end
    double lagP99Ms = 0;     // live clock error in this window
    std::int64_t arrived = 0; // requests that arrived in the window (overload shows as arrived > completed)
    // Streaming (continuous batching): time to first token, time between tokens, tokens streamed per
    // second; counts 0 otherwise.
    LatencySummaryMs ttft, itl;
    double tokensPerS = 0;
};

struct LiveSnapshot {
    std::uint64_t sequence = 0;
    std::uint64_t appliedMove = 0; // the newest knob move (or reset) of the host the engine has applied
    EngineSnapshot engine;
    bool paused = false;
    std::vector<std::string> warnings;
    LatencySummaryMs lag;                  // live clock error since the start
    std::vector<LiveWindow> recentWindows; // the newest kKeptWindows, oldest first
    static constexpr std::size_t kKeptWindows = 16;
    // The autoscaler: its newest decisions (oldest first) and how many it made in all.
    std::vector<ScalingEvent> recentScaling;
    std::size_t scalingTotal = 0;
    static constexpr std::size_t kKeptScaling = 20;
    bool panicking = false;
    double windowAverage = 0; // the concurrency average the autoscaler last decided on
    // What runs predict, short for the status bar: the scenario's modelled times, or the model profile
    // and the backend that runs it; and the backend's whole notice (after a fall back to the CPU, why).
    std::string predictStage, predictNotice;
    bool realPredict = false;
    bool predictFellBackToCpu = false; // real predict on the CPU because no GPU could be used
    // The newest reset the engine thread could not start, and why (what runs predict could not be had);
    // the run before it goes on. Empty once a reset starts.
    std::string resetError;
};

class LiveEngineHost : public QObject, public KnobSetters<LiveEngineHost> {
    Q_OBJECT
public:
    static constexpr int kPublishIntervalMs = 33; // ~30 Hz
    static constexpr int kWindowMs = 1000;

    // Starts the engine thread and the scenario's load at once. Stop/duration limits of the
    // workload are lifted: a live run goes on until paused, reset or closed. `backend` is asked, on the
    // engine thread, for what runs predict each time a scenario with a model profile starts (so a window
    // whose scenarios have none never sets up a device); what it answers must outlive the host and not be
    // null. Empty, it refuses such scenarios: std::invalid_argument here, an error from reset().
    using BackendSource = std::function<const PredictBackendInfo*()>;
    LiveEngineHost(const Scenario& scenario, BackendSource backend, QObject* parent = nullptr);
    ~LiveEngineHost() override;

    std::shared_ptr<const LiveSnapshot> snapshot() const;
    // The scenario the run started from (or was reset to), with its knobs as the engine has them now (the
    // newest snapshot's: slider moves and timed changes applied). The one source of the knobs' values.
    Scenario scenario() const;

    // The knob setters (KnobSetters) come here. Empty = accepted (shown by scenario() at once, applied on the
    // engine thread moments later); else why it was refused, by the engine's own rule (and words).
    std::string applyKnob(const KnobMove& move);
    void pause();
    void resume();
    // A fresh engine with this scenario, time 0. Empty = done; else why not (the run goes on unchanged).
    std::string reset(const Scenario& scenario);

Q_SIGNALS:
    void published(); // emitted on the host's thread after each snapshot the engine thread publishes

private:
    friend class LiveWorker;
    void publish(std::shared_ptr<const LiveSnapshot> snapshot);
    static Scenario liveScenario(Scenario s);

    const BackendSource m_backendSource; // set once; called on the engine thread
    Scenario m_base; // as started or reset; its knobs are read from the snapshot
    std::uint64_t m_resetMove = 0, m_lastMove = 0;
    // Moves accepted but not yet in a published snapshot (the caller's thread only), oldest first.
    mutable std::vector<std::pair<std::uint64_t, KnobMove>> m_pending;
    QThread m_thread;
    LiveWorker* m_worker = nullptr; // lives on m_thread
    mutable std::mutex m_snapshotMutex; // guards only the pointer swap
    std::shared_ptr<const LiveSnapshot> m_snapshot;
};

} // namespace knee
