#include "live_sweep.h"

#include "backend_executor.h"
#include "live_clock.h"

#include <QEventLoop>
#include <QTimer>

namespace knee {

namespace {

class LiveDriver : public LevelDriver {
public:
    // With a model profile, every predict call of the level is a forward pass on the real backend; its
    // replica cold-starts (uploads its weights) at the level's start, inside the warm-up.
    PredictExecutor* executorFor(const Scenario& s) override
    {
        if (s.model.profile.empty())
            return nullptr;
        m_executor.reset(); // a level that ended early (an exception) left its executor: it goes first
        m_context = std::make_unique<QObject>();
        m_executor = std::make_unique<BackendExecutor>(*sharedPredictBackend().backend, s, [this](std::function<void(Engine&)> fn) {
            QMetaObject::invokeMethod(m_context.get(), [this, fn = std::move(fn)] {
                if (!m_engine)
                    return;
                m_clock->catchUp();
                fn(*m_engine);
                m_clock->wake();
            }, Qt::QueuedConnection);
        });
        return m_executor.get();
    }

    void start(Engine& e) override
    {
        m_engine = &e;
        m_clock = std::make_unique<LiveClock>(e);
        e.startLoad();
        m_clock->start();
    }
    // Lets wall time pass on this thread's event loop (the clock runs the engine meanwhile), then
    // runs what is due up to t. The timer that ends the wait can fire up to about a millisecond late,
    // and events the clock ran in that millisecond count in this window: a bias of ~1 ms per window.
    void advanceTo(Engine& e, Nanos t) override
    {
        const Nanos wait = t - m_clock->wallNow();
        if (wait > 0) {
            QEventLoop loop;
            QTimer::singleShot(int(wait / kNanosPerMs) + 1, Qt::PreciseTimer, &loop, &QEventLoop::quit);
            loop.exec();
        }
        e.runUntil(std::max(e.now(), t));
    }
    void act(Engine& e, const std::function<void(Engine&)>& change) override
    {
        m_clock->catchUp();
        change(e);
        m_clock->wake();
    }
    void stop(Engine&) override
    {
        QEventLoop loop;
        QObject::connect(m_clock.get(), &LiveClock::stopped, &loop, &QEventLoop::quit);
        m_clock->stop();
        loop.exec(); // the clock's coroutine ends before its engine goes
        m_executor.reset(); // waits for the device calls in flight; results not yet delivered are dropped
        m_context.reset();
        m_engine = nullptr;
    }
    const char* mode() const override { return "live"; }

private:
    std::unique_ptr<QObject> m_context; // results reach the engine through this thread's event loop
    std::unique_ptr<BackendExecutor> m_executor;
    Engine* m_engine = nullptr;
    std::unique_ptr<LiveClock> m_clock;
};

} // namespace

std::unique_ptr<LevelDriver> makeLiveDriver() { return std::make_unique<LiveDriver>(); }

SweepResult runLiveSweep(const Scenario& scenario, const SweepOptions& options, const std::function<bool(const SweepLevel&)>& progress)
{
    return runSweep(scenario, options, makeLiveDriver, progress);
}

} // namespace knee
