#include "live_run.h"

#include "backend_executor.h"
#include "live_clock.h"
#include "sim/engine.h"
#include "telemetry/host_contention.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QMetaObject>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <optional>

namespace knee {

namespace {
constexpr int kStopWaitMs = 5000; // the clock's coroutine ends at its next wake-up: well under its 100 ms sleep
}

LiveRun::LiveRun(const Scenario& scenario, const PredictBackendInfo* backend, QObject* parent)
    : QObject(parent)
{
    if (auto e = scenario.validate(); !e.empty())
        throw std::invalid_argument("invalid scenario: " + e);
    if (const std::string e = missingBackend(scenario, backend != nullptr); !e.empty())
        throw std::invalid_argument(e);
    if (!scenario.model.profile.empty()) {
        const PredictBackendInfo& b = *backend;
        m_predictStage = "predict: model '" + scenario.model.profile + "' on " + b.shortName;
        m_predictNotice = b.notice;
        m_fellBack = b.fellBack;
        // From a device thread: the result reaches the engine on this object's thread. If this run is
        // gone by then, Qt drops the queued call with it; a stopping run's executor delivers nothing.
        m_executor = std::make_unique<BackendExecutor>(*b.backend, scenario, [this](std::function<void(Engine&)> fn) {
            QMetaObject::invokeMethod(this, [this, fn = std::move(fn)]() mutable { deliver(std::move(fn)); }, Qt::QueuedConnection);
        });
    } else {
        m_predictStage = "predict is timed from the scenario (no model profile)";
    }
    m_engine = std::make_unique<Engine>(scenario, m_executor.get());
    m_clock = std::make_unique<LiveClock>(*m_engine);
    connect(m_clock.get(), &LiveClock::stopped, this, [this] {
        m_stopped = true;
        Q_EMIT stopped();
    });
}

std::string LiveRun::missingBackend(const Scenario& scenario, bool haveBackend)
{
    if (scenario.model.profile.empty() || haveBackend)
        return {};
    return "model '" + scenario.model.profile + "' needs a predict backend, and none was given";
}

LiveRun::~LiveRun()
{
    if (m_started && !m_stopped)
        stopAndWait(); // a caller that forgot: still the right order
    if (m_executor)
        m_executor.reset(); // waits for device calls still in flight, before the engine that points at it
    m_engine.reset();
}

void LiveRun::start(bool load)
{
    if (m_started)
        return;
    m_started = true;
    if (load)
        m_engine->startLoad();
    m_clock->start();
}

bool LiveRun::replicasStarting() const
{
    const EngineSnapshot snap = m_engine->snapshot();
    return std::any_of(snap.replicas.begin(), snap.replicas.end(), [](const ReplicaSnapshot& r) { return r.state == ReplicaState::ColdStarting; });
}

LiveRun::LoadStart LiveRun::startLoadWhenReady(double maxWaitS, const std::function<bool()>& cancelled)
{
    if (!replicasStarting()) {
        start(true);
        return {};
    }
    start(false);
    QElapsedTimer waited;
    waited.start();
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        m_clock->catchUp();
        if (!replicasStarting() || waited.elapsed() > qint64(maxWaitS * 1000) || m_stopping || m_clock->paused() || (cancelled && cancelled()))
            loop.quit();
    });
    check.start(10);
    loop.exec();
    LoadStart out;
    out.ready = !replicasStarting();
    act([](Engine& e) { e.startLoad(); }); // nothing after a stop (act ignores it)
    out.atS = nanosToSeconds(m_engine->loadStart());
    return out;
}

void LiveRun::act(const std::function<void(Engine&)>& change)
{
    if (m_stopping)
        return;
    m_clock->catchUp();
    change(*m_engine);
    m_clock->wake();
}

void LiveRun::deliver(std::function<void(Engine&)> fn)
{
    if (m_stopping)
        return;
    if (m_clock->paused()) { // engine time stands still: the result lands when the run resumes
        m_held.push_back(std::move(fn));
        return;
    }
    m_clock->catchUp();
    fn(*m_engine);
    m_clock->wake();
}

void LiveRun::pause()
{
    if (!m_stopping)
        m_clock->pause();
}

void LiveRun::resume()
{
    if (m_stopping)
        return;
    m_clock->resume();
    // What the device delivered while paused, in the order it came, at the resumed time.
    std::vector<std::function<void(Engine&)>> held;
    held.swap(m_held);
    for (auto& fn : held) {
        m_clock->catchUp();
        fn(*m_engine);
    }
    m_clock->wake();
}

bool LiveRun::paused() const { return m_clock->paused(); }

void LiveRun::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_held.clear();
    if (m_executor) {
        // Nothing more reaches the engine; the device's calls in flight end on Qt's pool.
        BackendExecutor::destroyElsewhere(std::move(m_executor));
    }
    if (!m_started) {
        m_stopped = true;
        QMetaObject::invokeMethod(this, [this] { Q_EMIT stopped(); }, Qt::QueuedConnection);
        return;
    }
    m_clock->stop();
}

void LiveRun::stopAndWait()
{
    if (m_stopped)
        return;
    if (!m_stopping) {
        m_stopping = true;
        m_held.clear();
        if (m_executor)
            m_executor->stopDelivering();
        if (!m_started) {
            m_stopped = true;
        } else {
            QEventLoop loop;
            connect(this, &LiveRun::stopped, &loop, &QEventLoop::quit);
            QTimer::singleShot(kStopWaitMs, &loop, &QEventLoop::quit);
            m_clock->stop();
            if (!m_stopped)
                loop.exec();
        }
    } else if (!m_stopped) {
        QEventLoop loop;
        connect(this, &LiveRun::stopped, &loop, &QEventLoop::quit);
        QTimer::singleShot(kStopWaitMs, &loop, &QEventLoop::quit);
        loop.exec();
    }
    m_executor.reset(); // waits here for the device's calls in flight
}

void LiveRun::retire(std::unique_ptr<LiveRun> run)
{
    if (!run)
        return;
    LiveRun* raw = run.release();
    if (raw->m_stopped) {
        raw->deleteLater();
        return;
    }
    connect(raw, &LiveRun::stopped, raw, [raw] { raw->deleteLater(); });
    raw->stop();
}

std::pair<double, std::int64_t> LiveRun::hostCalls() const
{
    if (!m_executor)
        return {0, 0};
    const BackendExecutor::HostCalls h = m_executor->hostCalls();
    return {h.ms, h.count};
}

// ---------------------------------------------------------------- simulate --live

LiveRunResult runLive(const Scenario& scenario, double maxWallS, const PredictBackendInfo* backend,
                      const std::function<void(const Request&)>& observer)
{
    LiveRunResult result;
    LiveRun run(scenario, backend);
    if (observer)
        run.engine().setObserver(observer);
    result.predictStage = run.realPredict() ? "predict runs model '" + scenario.model.profile + "': " + run.predictNotice()
                                            : run.predictStage();
    result.realPredict = run.realPredict();
    QElapsedTimer wall;
    wall.start();
    // The load waits for the replicas the run starts with: a live replica first loads its model's
    // weights (a real cold start, seconds for a large model). Load sent meanwhile would queue behind the
    // cold start and count it in the run's latency and throughput. The wait is reported.
    const LiveRun::LoadStart load = run.startLoadWhenReady(maxWallS);
    result.loadStartS = load.atS;
    result.replicasReadyAtLoad = load.ready;
    const telemetry::HostMark hostAtLoad = telemetry::HostMark::now();
    const double cpuAtLoad = telemetry::threadCpuMs();
    const std::int64_t callsAtLoad = run.engine().snapshot().predictCalls;
    // The backend's host time per call over the measured window (after the warm-up, until the load stops
    // sending), as the run's throughput is: calls just after a cold start run slower. Taken at the check's
    // ticks, 50 ms apart: over a window of seconds that is close enough.
    std::optional<std::pair<double, std::int64_t>> hostCallsFrom, hostCallsTo;
    if (!(scenario.workload.warmupS > 0)) // no warm-up: from the load's start (a short run may end before a tick)
        hostCallsFrom = run.hostCalls();
    const double windowFromS = load.atS + scenario.workload.warmupS;
    const double windowToS = scenario.workload.durationS > 0 ? load.atS + scenario.workload.durationS : INFINITY;
    // The clock sleeps until the engine's next event; whether the run is over is checked a few times a
    // second (it ends when the engine is quiescent, which only a completion or an event can change).
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        run.clock().catchUp();
        const double nowS = nanosToSeconds(run.engine().now());
        if (!hostCallsFrom && nowS >= windowFromS)
            hostCallsFrom = run.hostCalls();
        if (!hostCallsTo && nowS >= windowToS)
            hostCallsTo = run.hostCalls();
        if (run.engine().quiescent() || wall.elapsed() > qint64(maxWallS * 1000))
            loop.quit();
    });
    check.start(50);
    loop.exec();
    check.stop();
    const double wallS = double(wall.nsecsElapsed()) / 1e9;
    result.host = telemetry::between(hostAtLoad, telemetry::HostMark::now());
    const double threadMs = telemetry::threadCpuMs() - cpuAtLoad;
    result.sendWakeLag = run.clock().sendWakeLag();
    const std::pair<double, std::int64_t> from = hostCallsFrom.value_or(std::pair<double, std::int64_t>{0, 0});
    const std::pair<double, std::int64_t> to = hostCallsTo.value_or(run.hostCalls());
    if (hostCallsFrom && to.second > from.second)
        result.hostCallMeanMs = (to.first - from.first) / double(to.second - from.second);
    run.stopAndWait(); // waits for device calls still in flight (a run cut short by maxWallS)
    const Engine& engine = run.engine();
    result.summary = summarize(engine, wallS);
    result.summary.warnings = scenario.warnings();
    for (auto& reason : engine.stopReasons())
        result.summary.warnings.push_back(std::move(reason));
    if (result.host.disturbed())
        result.summary.warnings.push_back("the host was busy during this live run (" + result.host.describe()
                                          + "): on a virtual machine that slows the device's completions, so live "
                                            "throughput and latency may be worse than the machine gives when quiet");
    const EngineSnapshot snap = engine.snapshot();
    result.predictErrors = snap.predictErrors;
    result.replicaStartFailures = snap.replicaStartFailures;
    result.lastPredictError = snap.lastPredictError;
    if (const std::int64_t calls = snap.predictCalls - callsAtLoad; calls > 0)
        result.engineThreadMsPerCall = threadMs / double(calls);
    return result;
}

} // namespace knee
