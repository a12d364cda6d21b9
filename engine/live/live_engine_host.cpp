#include "live_engine_host.h"

#include "live_clock.h"
#include "live_run.h"

#include <QMetaObject>
#include <QTimer>

#include <deque>
#include <stdexcept>

// TSan cannot see the ordering Qt gives between a thread's end and QThread::wait() returning (its
// threads are never joined): base/tsan.h tells it, so what the main thread frees after wait() is not
// reported against what the engine thread wrote.
#include "base/tsan.h"

namespace knee {

// Everything that touches the engine, on the engine thread.
class LiveWorker : public QObject {
    Q_OBJECT
public:
    LiveWorker(LiveEngineHost& host, const Scenario& scenario)
        : m_host(host)
        , m_publishTimer(new QTimer(this)) // children, so moveToThread takes them along
        , m_windowTimer(new QTimer(this))
    {
        m_publishTimer->setInterval(LiveEngineHost::kPublishIntervalMs);
        connect(m_publishTimer, &QTimer::timeout, this, &LiveWorker::publish);
        m_windowTimer->setTimerType(Qt::PreciseTimer);
        m_windowTimer->setInterval(LiveEngineHost::kWindowMs);
        connect(m_windowTimer, &QTimer::timeout, this, &LiveWorker::closeWindow);
        m_initial = scenario;
    }

    void start() { restart(m_initial, 0); }

    void restart(const Scenario& scenario, std::uint64_t move)
    {
        // Build the new run first: the old one keeps running if anything is wrong. The backend is asked
        // for here, on the engine thread: setting up a device the first time takes a moment.
        std::unique_ptr<LiveRun> fresh;
        try {
            fresh = std::make_unique<LiveRun>(scenario, scenario.model.profile.empty() ? nullptr : m_host.m_backendSource());
        } catch (const std::exception& e) {
            // LiveEngineHost validated the scenario already; what is left is a backend source that answered
            // null. The old run goes on, and the window hears why the reset did not happen.
            m_resetError = e.what();
            m_appliedMove = std::max(m_appliedMove, move); // handled: the window waits for no run of it
            if (m_run)
                publish();
            return;
        }
        m_resetError.clear();
        // The old run ends on its own (its clock's coroutine first, its device calls on Qt's pool): this
        // thread never waits for it, and nothing of it reaches the new engine.
        LiveRun::retire(std::move(m_run));
        m_run = std::move(fresh);
        m_appliedMove = move;
        m_run->engine().setObserver([this](const Request& r) { record(r); });
        m_windows.clear();
        clearWindow();
        m_windowStart = 0;
        m_arrivedAtWindowStart = 0;
        m_run->start();
        m_publishTimer->start();
        m_windowTimer->start();
        publish();
    }

    void act(const std::function<void(Engine&)>& change, std::uint64_t move)
    {
        if (!m_run)
            return; // never started (see restart)
        m_run->act(change); // the move happens now, after everything already due
        m_appliedMove = std::max(m_appliedMove, move);
        publish();
    }

    void pause()
    {
        if (!m_run)
            return;
        m_run->pause();
        publish();
    }
    void resume()
    {
        if (!m_run)
            return;
        m_run->resume();
        publish();
    }

    void shutdown()
    {
        m_publishTimer->stop();
        m_windowTimer->stop();
        if (!m_run) {
            thread()->quit();
            return;
        }
        connect(m_run.get(), &LiveRun::stopped, this, [this] { thread()->quit(); });
        m_run->stop(); // its device calls in flight end on Qt's pool
    }

    ~LiveWorker() override { m_run.reset(); }

private:
    void record(const Request& r)
    {
        switch (r.outcome) {
        case Outcome::Completed: {
            ++m_completed;
            m_latency.record(r.latency());
            if (r.firstToken >= 0) { // as the sweep's levels measure them (study/sweep.cpp)
                m_ttft.record(r.firstToken - r.intended);
                if (r.tokens > 1)
                    m_itl.record((r.predictDone - r.firstToken) / (r.tokens - 1));
                m_tokens += r.tokens;
            }
            const Nanos parts[kPartCount] = {r.routed - r.arrived, r.preprocessDone - r.routed, r.predictStart - r.preprocessDone,
                                             r.predictDone - r.predictStart, r.done - r.predictDone};
            for (int p = 0; p < kPartCount; ++p)
                m_partSum[std::size_t(p)] += double(parts[p]);
            break;
        }
        case Outcome::Failed: ++m_failed; break;
        case Outcome::Rejected: ++m_rejected; break;
        case Outcome::InFlight: break;
        }
    }

    void clearWindow()
    {
        m_latency.clear();
        m_ttft.clear();
        m_itl.clear();
        m_tokens = 0;
        m_partSum = {};
        m_completed = m_failed = m_rejected = 0;
    }

    void closeWindow()
    {
        if (m_run->paused())
            return;
        m_run->clock().catchUp();
        const Nanos now = m_run->engine().now();
        LiveWindow w;
        w.sequence = ++m_windowSequence;
        w.endS = nanosToSeconds(now);
        w.widthS = nanosToSeconds(now - m_windowStart);
        w.latency = summarize(m_latency);
        for (int p = 0; p < kPartCount; ++p)
            w.partMeanMs[std::size_t(p)] = m_completed ? m_partSum[std::size_t(p)] / double(m_completed) / double(kNanosPerMs) : 0;
        w.completed = m_completed;
        w.failed = m_failed;
        w.rejected = m_rejected;
        w.throughputRps = w.widthS > 0 ? double(m_completed) / w.widthS : 0;
        const EngineSnapshot s = m_run->engine().snapshot();
        w.queued = s.queued;
        w.replicas = int(s.replicas.size());
        w.lagP99Ms = nanosToMs(m_run->clock().takeWindowLag().quantile(0.99));
        w.arrived = s.arrived - m_arrivedAtWindowStart;
        m_arrivedAtWindowStart = s.arrived;
        w.ttft = summarize(m_ttft);
        w.itl = summarize(m_itl);
        w.tokensPerS = w.widthS > 0 ? double(m_tokens) / w.widthS : 0;
        m_windows.push_back(w);
        if (m_windows.size() > LiveSnapshot::kKeptWindows)
            m_windows.pop_front();
        m_windowStart = now;
        clearWindow();
    }

    void publish()
    {
        const Engine& engine = m_run->engine();
        auto snap = std::make_shared<LiveSnapshot>();
        snap->sequence = ++m_publishSequence;
        snap->appliedMove = m_appliedMove;
        snap->engine = engine.snapshot();
        snap->paused = m_run->paused();
        snap->warnings = engine.warnings();
        snap->lag = summarize(m_run->clock().lag());
        snap->recentWindows.assign(m_windows.begin(), m_windows.end());
        const auto& log = engine.scalingLog();
        snap->scalingTotal = log.size() + std::size_t(engine.scalingEventsDropped());
        snap->recentScaling.assign(log.end() - std::ptrdiff_t(std::min(log.size(), LiveSnapshot::kKeptScaling)), log.end());
        if (const Autoscaler* a = engine.autoscaler()) {
            snap->panicking = a->panicking();
            snap->windowAverage = a->lastWindowAverage();
        }
        snap->resetError = m_resetError;
        snap->predictStage = m_run->predictStage();
        snap->realPredict = m_run->realPredict();
        if (snap->realPredict) {
            snap->predictNotice = m_run->predictNotice();
            snap->predictFellBackToCpu = m_run->predictFellBackToCpu();
        }
        m_host.publish(std::move(snap));
    }

    LiveEngineHost& m_host;
    Scenario m_initial;
    std::unique_ptr<LiveRun> m_run;
    std::uint64_t m_appliedMove = 0; // the host's newest move (or reset) applied to this run
    std::string m_resetError;        // LiveSnapshot::resetError
    QTimer* m_publishTimer;
    QTimer* m_windowTimer;
    std::uint64_t m_publishSequence = 0, m_windowSequence = 0;
    std::deque<LiveWindow> m_windows;
    Nanos m_windowStart = 0;
    LatencyHistogram m_latency, m_ttft, m_itl;
    std::int64_t m_tokens = 0, m_arrivedAtWindowStart = 0;
    std::array<double, kPartCount> m_partSum{};
    std::int64_t m_completed = 0, m_failed = 0, m_rejected = 0;
};

Scenario LiveEngineHost::liveScenario(Scenario s)
{
    s.workload.requests = 0;
    s.workload.durationS = limits::kMaxDurationS;
    s.workload.warmupS = 0;
    return s;
}

LiveEngineHost::LiveEngineHost(const Scenario& scenario, BackendSource backend, QObject* parent)
    : QObject(parent)
    , m_backendSource(std::move(backend))
    , m_base(liveScenario(scenario))
{
    m_thread.setObjectName(QStringLiteral("knee-engine"));
    // An invalid scenario throws here, on the caller's thread, before any thread starts.
    { Engine probe(m_base); }
    if (const std::string e = LiveRun::missingBackend(m_base, bool(m_backendSource)); !e.empty())
        throw std::invalid_argument(e);
    m_worker = new LiveWorker(*this, m_base);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // The worker's last act on its thread (deleted when the thread finishes), paired with the acquire
    // after wait() below.
    connect(m_worker, &QObject::destroyed, m_worker, [this] { KNEE_TSAN_RELEASE(&m_thread); }, Qt::DirectConnection);
    m_thread.start();
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->start(); }, Qt::QueuedConnection);
}

LiveEngineHost::~LiveEngineHost()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->shutdown(); }, Qt::QueuedConnection);
    if (!m_thread.wait(5000)) {
        m_thread.quit();
        m_thread.wait();
    }
    KNEE_TSAN_ACQUIRE(&m_thread);
}

std::shared_ptr<const LiveSnapshot> LiveEngineHost::snapshot() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_snapshot;
}

void LiveEngineHost::publish(std::shared_ptr<const LiveSnapshot> snapshot)
{
    {
        std::lock_guard lock(m_snapshotMutex);
        m_snapshot = std::move(snapshot);
    }
    // Emitted on the host's own thread: a queued signal from the engine thread has Qt allocate the event
    // there and free it here, an ordering its uninstrumented event queue hides from ThreadSanitizer (the
    // CI's TSan stage reported it once); invokeMethod's hand-off is the one scripts/sanitizer_qt_handoff.cpp
    // tells TSan about.
    QMetaObject::invokeMethod(this, [this] { Q_EMIT published(); }, Qt::QueuedConnection);
}

Scenario LiveEngineHost::scenario() const
{
    Scenario s = m_base;
    const auto snap = snapshot();
    const std::uint64_t applied = snap ? snap->appliedMove : 0;
    if (snap && applied >= m_resetMove) { // the snapshot is of the current run: its knobs are the truth
        const EngineSnapshot& e = snap->engine;
        DeploymentConfig& d = s.deployment;
        d.concurrencyTarget = e.concurrencyTarget;
        d.predictConcurrency = e.predictConcurrency;
        d.minReplicas = e.minReplicas;
        d.maxReplicas = e.maxReplicas;
        d.coldStartS = e.coldStartS;
        d.autoscaler = e.autoscaler;
        if (e.closedLoop)
            s.workload.arrival.users = e.users;
        else if (s.workload.arrival.hasFixedRate())
            s.workload.arrival.rateRps = e.rateRps;
    }
    // Then what was accepted since (not yet applied, or not yet published).
    std::erase_if(m_pending, [&](const auto& p) { return p.first <= applied; });
    for (const auto& [seq, knobMove] : m_pending)
        writeKnob(s, knobMove);
    return s;
}

// A move is judged by the engine's own rule (and words), shown at once, and applied on the engine thread
// (where the engine judges it again: the same rule, so it never refuses there).
std::string LiveEngineHost::applyKnob(const KnobMove& knobMove)
{
    if (auto refusal = checkKnob(m_base, knobMove); !refusal.empty())
        return refusal;
    const std::uint64_t seq = ++m_lastMove;
    m_pending.emplace_back(seq, knobMove);
    QMetaObject::invokeMethod(m_worker, [w = m_worker, seq, knobMove] { w->act([&](Engine& e) { e.applyKnob(knobMove); }, seq); });
    return {};
}

void LiveEngineHost::pause() { QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->pause(); }); }
void LiveEngineHost::resume() { QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->resume(); }); }

std::string LiveEngineHost::reset(const Scenario& scenario)
{
    const Scenario live = liveScenario(scenario);
    if (auto e = live.validate(); !e.empty())
        return e; // refused here, on the caller's thread: the engine thread never sees it
    if (auto e = LiveRun::missingBackend(live, bool(m_backendSource)); !e.empty())
        return e;
    m_base = live;
    m_resetMove = ++m_lastMove;
    m_pending.clear(); // the new run starts from `live`
    QMetaObject::invokeMethod(m_worker, [w = m_worker, s = m_base, seq = m_resetMove] { w->restart(s, seq); });
    return {};
}

} // namespace knee

#include "live_engine_host.moc"
