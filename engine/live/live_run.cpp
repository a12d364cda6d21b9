#include "live_run.h"

#include "backend_executor.h"
#include "live_clock.h"


#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <memory>

namespace knee {

LiveRunResult runLive(const Scenario& scenario, double maxWallS, const PredictBackendInfo* given)
{
    if (auto e = scenario.validate(); !e.empty())
        throw std::invalid_argument("invalid scenario: " + e);
    LiveRunResult result;
    QObject context; // before the executor: a start finishing during unwinding may still post to it
    std::unique_ptr<BackendExecutor> executor;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<LiveClock> clock;
    if (!scenario.model.profile.empty()) {
        const PredictBackendInfo& backend = given ? *given : sharedPredictBackend();
        result.predictStage = "predict runs model '" + scenario.model.profile + "': " + backend.notice;
        result.realPredict = true;
        executor = std::make_unique<BackendExecutor>(*backend.backend, scenario, [&](std::function<void(Engine&)> fn) {
            QMetaObject::invokeMethod(&context, [&, fn = std::move(fn)] {
                clock->catchUp();
                fn(*engine);
                clock->wake();
            }, Qt::QueuedConnection);
        });
    } else {
        result.predictStage = "predict is timed from the scenario (no model profile)";
    }
    engine = std::make_unique<Engine>(scenario, executor.get());
    clock = std::make_unique<LiveClock>(*engine);
    QElapsedTimer wall;
    wall.start();
    engine->startLoad();
    clock->start();
    // The clock sleeps until the engine's next event; whether the run is over is checked a few times a
    // second (it ends when the engine is quiescent, which only a completion or an event can change).
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        clock->catchUp();
        if (engine->quiescent() || wall.elapsed() > qint64(maxWallS * 1000))
            loop.quit();
    });
    check.start(50);
    loop.exec();
    check.stop();
    QEventLoop stopping; // the clock's coroutine ends at its next wake-up
    QObject::connect(clock.get(), &LiveClock::stopped, &stopping, &QEventLoop::quit);
    QTimer::singleShot(5000, &stopping, &QEventLoop::quit);
    clock->stop();
    stopping.exec();
    const double wallS = double(wall.nsecsElapsed()) / 1e9;
    executor.reset(); // waits for device calls still in flight (a run cut short by maxWallS)
    result.summary = summarize(*engine, wallS);
    result.summary.warnings = scenario.warnings();
    for (auto& reason : engine->stopReasons())
        result.summary.warnings.push_back(std::move(reason));
    const EngineSnapshot snap = engine->snapshot();
    result.predictErrors = snap.predictErrors;
    result.replicaStartFailures = snap.replicaStartFailures;
    result.lastPredictError = snap.lastPredictError;
    return result;
}

} // namespace knee
