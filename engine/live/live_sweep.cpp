#include "live_sweep.h"

#include "live_clock.h"
#include "live_run.h"

#include <QEventLoop>
#include <QTimer>

#include <algorithm>

namespace knee {

namespace {

class LiveDriver : public LevelDriver {
public:
    // A level waits for its replica's cold start at most `maxColdStartS`, then sends its load anyway.
    LiveDriver(double maxColdStartS, const PredictBackendInfo* backend)
        : m_maxColdStartS(maxColdStartS)
        , m_backend(backend)
    {
    }
    // With a model profile, every predict call of the level is a forward pass on the real backend; its
    // replica cold-starts (uploads its weights) at the level's start, before its load and warm-up.
    Engine& begin(const Scenario& s) override
    {
        m_run.reset(); // a level that ended early (an exception) left its run: it goes first
        m_run = std::make_unique<LiveRun>(s, m_backend);
        return m_run->engine();
    }
    void start(Engine&) override { m_run->startLoadWhenReady(m_maxColdStartS); }
    // Lets wall time pass on this thread's event loop (the clock runs the engine meanwhile), then
    // runs what is due up to t. The timer that ends the wait can fire up to about a millisecond late,
    // and events the clock ran in that millisecond count in this window: a bias of ~1 ms per window.
    void advanceTo(Engine& e, Nanos t) override
    {
        const Nanos wait = t - m_run->clock().wallNow();
        if (wait > 0) {
            QEventLoop loop;
            QTimer::singleShot(int(wait / kNanosPerMs) + 1, Qt::PreciseTimer, &loop, &QEventLoop::quit);
            loop.exec();
        }
        e.runUntil(std::max(e.now(), t));
    }
    void act(Engine&, const std::function<void(Engine&)>& change) override { m_run->act(change); }
    void stop(Engine&) override
    {
        m_run->stopAndWait(); // the clock, then the device's calls in flight; results not yet delivered are dropped
        m_run.reset();
    }
    const char* mode() const override { return "live"; }

private:
    std::unique_ptr<LiveRun> m_run;
    double m_maxColdStartS;
    const PredictBackendInfo* m_backend;
};

} // namespace

std::unique_ptr<LevelDriver> makeLiveDriver(double maxColdStartS, const PredictBackendInfo* backend)
{
    return std::make_unique<LiveDriver>(maxColdStartS, backend);
}

double liveColdStartBudgetS(const SweepOptions& options) { return std::max(1.0, options.warmupS + options.capS); }

SweepResult runLiveSweep(const Scenario& scenario, const SweepOptions& options, const PredictBackendInfo* backend,
                         const std::function<bool(const SweepLevel&)>& progress)
{
    const double budget = liveColdStartBudgetS(options);
    return runSweep(scenario, options, [budget, backend] { return makeLiveDriver(budget, backend); }, progress);
}

} // namespace knee
