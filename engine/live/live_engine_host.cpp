#include "live_engine_host.h"

#include "backend_executor.h"
#include "live_clock.h"


#include <QMetaObject>
#include <QTimer>

#include <deque>

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
        m_pending = scenario;
    }

    void start() { restart(m_pending); }

    void restart(const Scenario& scenario)
    {
        // Build the new engine first: the old one keeps running if anything is wrong.
        const std::uint64_t generation = m_generation + 1;
        std::unique_ptr<BackendExecutor> executor;
        if (!scenario.model.profile.empty())
            executor = std::make_unique<BackendExecutor>(*sharedPredictBackend().backend, scenario, [this, generation](std::function<void(Engine&)> fn) {
                // From a device thread: the result reaches the engine on its own thread, at the wall
                // time it arrives there; a result of an earlier run is dropped.
                QMetaObject::invokeMethod(this, [this, generation, fn = std::move(fn)] {
                    if (generation != m_generation)
                        return;
                    if (m_clock->paused()) { // engine time stands still: the result lands when it resumes
                        m_heldResults.push_back(fn);
                        return;
                    }
                    m_clock->catchUp();
                    fn(*m_engine);
                    m_clock->wake();
                }, Qt::QueuedConnection);
            });
        std::unique_ptr<Engine> fresh;
        try {
            fresh = std::make_unique<Engine>(scenario, executor.get());
        } catch (const std::exception&) {
            return; // LiveEngineHost::reset validated already; never leave the worker without an engine
        }
        m_generation = generation;
        if (m_clock) {
            // The old clock's coroutine ends at its next wake-up; until then it and its engine live.
            // Its executor goes first (waiting for the device calls it has in flight), then the engine.
            LiveClock* old = m_clock.release();
            auto oldRun = std::make_shared<std::pair<std::unique_ptr<BackendExecutor>, std::unique_ptr<Engine>>>(
                std::move(m_executor), std::move(m_engine));
            connect(old, &LiveClock::stopped, old, [old, oldRun] {
                BackendExecutor::destroyElsewhere(std::move(oldRun->first)); // never blocks this thread
                oldRun->second.reset();
                old->deleteLater();
            });
            old->stop();
        }
        m_executor = std::move(executor);
        m_heldResults.clear(); // an earlier run's
        m_predictStage = m_executor ? "predict: model '" + scenario.model.profile + "' on " + sharedPredictBackend().shortName
                                    : std::string("predict is timed from the scenario (no model profile)");
        m_engine = std::move(fresh);
        m_engine->setObserver([this](const Request& r) { record(r); });
        m_clock = std::make_unique<LiveClock>(*m_engine);
        m_windows.clear();
        clearWindow();
        m_windowStart = 0;
        m_arrivedAtWindowStart = 0;
        m_engine->startLoad();
        m_clock->start();
        m_publishTimer->start();
        m_windowTimer->start();
        publish();
    }

    template <typename F>
    void act(F&& f)
    {
        m_clock->catchUp(); // the move happens now, after everything already due
        f(*m_engine);
        m_clock->wake();
        publish();
    }

    void pause()
    {
        m_clock->pause();
        publish();
    }
    void resume()
    {
        m_clock->resume();
        // Results the device delivered while paused, in the order they came, at the resumed time.
        std::vector<std::function<void(Engine&)>> held;
        held.swap(m_heldResults);
        for (auto& fn : held) {
            m_clock->catchUp();
            fn(*m_engine);
        }
        m_clock->wake();
        publish();
    }

    void shutdown()
    {
        m_publishTimer->stop();
        m_windowTimer->stop();
        if (!m_clock) {
            thread()->quit();
            return;
        }
        connect(m_clock.get(), &LiveClock::stopped, this, [this] {
            ++m_generation;
            BackendExecutor::destroyElsewhere(std::move(m_executor)); // its calls in flight end on the pool
            thread()->quit();
        });
        m_clock->stop();
    }

    ~LiveWorker() override
    {
        m_executor.reset(); // before the engine it reports to
        m_engine.reset();
    }

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
        if (m_clock->paused())
            return;
        m_clock->catchUp();
        const Nanos now = m_engine->now();
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
        const EngineSnapshot s = m_engine->snapshot();
        w.queued = s.queued;
        w.replicas = int(s.replicas.size());
        w.lagP99Ms = nanosToMs(m_clock->takeWindowLag().quantile(0.99));
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
        auto snap = std::make_shared<LiveSnapshot>();
        snap->sequence = ++m_publishSequence;
        snap->engine = m_engine->snapshot();
        snap->paused = m_clock->paused();
        snap->warnings = m_engine->warnings();
        snap->lag = summarize(m_clock->lag());
        snap->recentWindows.assign(m_windows.begin(), m_windows.end());
        const auto& log = m_engine->scalingLog();
        snap->scalingTotal = log.size() + std::size_t(m_engine->scalingEventsDropped());
        snap->recentScaling.assign(log.end() - std::ptrdiff_t(std::min(log.size(), LiveSnapshot::kKeptScaling)), log.end());
        if (const Autoscaler* a = m_engine->autoscaler()) {
            snap->panicking = a->panicking();
            snap->windowAverage = a->lastWindowAverage();
        }
        snap->predictStage = m_predictStage;
        if (m_executor) {
            snap->predictNotice = sharedPredictBackend().notice;
            snap->predictFellBackToCpu = sharedPredictBackend().fellBack;
        }
        snap->realPredict = m_executor != nullptr;
        m_host.publish(std::move(snap));
    }

    LiveEngineHost& m_host;
    Scenario m_pending;
    std::string m_predictStage;
    std::uint64_t m_generation = 0;
    std::unique_ptr<BackendExecutor> m_executor; // declared before the engine, which points at it
    std::vector<std::function<void(Engine&)>> m_heldResults; // delivered while paused
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<LiveClock> m_clock;
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

LiveEngineHost::LiveEngineHost(const Scenario& scenario, QObject* parent)
    : QObject(parent)
    , m_scenario(liveScenario(scenario))
{
    m_thread.setObjectName(QStringLiteral("knee-engine"));
    { Engine probe(m_scenario); } // an invalid scenario throws here, on the caller's thread, before any thread starts
    m_worker = new LiveWorker(*this, m_scenario);
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
    Q_EMIT published();
}

std::string LiveEngineHost::setConcurrencyTarget(int target)
{
    if (auto e = checkConcurrencyKnob("concurrency target", target); !e.empty())
        return e;
    m_scenario.deployment.concurrencyTarget = target;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, target] { w->act([&](Engine& e) { e.setConcurrencyTarget(target); }); });
    return {};
}

std::string LiveEngineHost::setPredictConcurrency(int predictSlots)
{
    if (auto e = checkConcurrencyKnob("predict_concurrency", predictSlots); !e.empty())
        return e;
    m_scenario.deployment.predictConcurrency = predictSlots;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, predictSlots] { w->act([&](Engine& e) { e.setPredictConcurrency(predictSlots); }); });
    return {};
}

std::string LiveEngineHost::setReplicaBounds(int minReplicas, int maxReplicas)
{
    if (auto e = checkReplicaBounds(minReplicas, maxReplicas); !e.empty())
        return e;
    m_scenario.deployment.minReplicas = minReplicas;
    m_scenario.deployment.maxReplicas = maxReplicas;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, minReplicas, maxReplicas] {
        w->act([&](Engine& e) { e.setReplicaBounds(minReplicas, maxReplicas); });
    });
    return {};
}

std::string LiveEngineHost::setArrivalRate(double rps)
{
    if (m_scenario.workload.arrival.kind == ArrivalConfig::Kind::Closed)
        return "the workload is closed-loop: set the number of users instead of a rate";
    if (!m_scenario.workload.arrival.hasFixedRate())
        return "the arrival rate follows a pattern (step, spike, diurnal or trace); it has no single rate to set";
    if (auto e = checkArrivalRate(rps); !e.empty())
        return e;
    m_scenario.workload.arrival.rateRps = rps;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, rps] { w->act([&](Engine& e) { e.setArrivalRate(rps); }); });
    return {};
}

std::string LiveEngineHost::setUsers(int users)
{
    if (m_scenario.workload.arrival.kind != ArrivalConfig::Kind::Closed)
        return "the workload is open-loop: set an arrival rate instead of users";
    if (auto e = checkUsers(users); !e.empty())
        return e;
    m_scenario.workload.arrival.users = users;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, users] { w->act([&](Engine& e) { e.setUsers(users); }); });
    return {};
}

std::string LiveEngineHost::setAutoscaler(const AutoscalerConfig& config)
{
    if (auto e = checkAutoscaler(config); !e.empty())
        return e;
    m_scenario.deployment.autoscaler = config;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, config] { w->act([&](Engine& e) { e.setAutoscaler(config); }); });
    return {};
}

std::string LiveEngineHost::setColdStart(double seconds)
{
    if (auto e = checkColdStart(seconds); !e.empty())
        return e;
    m_scenario.deployment.coldStartS = seconds;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, seconds] { w->act([&](Engine& e) { e.setColdStart(seconds); }); });
    return {};
}

void LiveEngineHost::pause() { QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->pause(); }); }
void LiveEngineHost::resume() { QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->resume(); }); }

std::string LiveEngineHost::reset(const Scenario& scenario)
{
    const Scenario live = liveScenario(scenario);
    if (auto e = live.validate(); !e.empty())
        return e; // refused here, on the caller's thread: the engine thread never sees it
    m_scenario = live;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, s = m_scenario] { w->restart(s); });
    return {};
}

} // namespace knee

#include "live_engine_host.moc"
