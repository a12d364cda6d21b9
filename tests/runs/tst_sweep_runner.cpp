// runSweepRequest, the one runner behind `knee sweep` and the window's sweep page: the hooks a window uses
// to say what runs (each level as it starts, then the predict_concurrency grid) come in the order the work
// is done, and never travel into the session the run returns.
#include "runs/sweep_runner.h"

#include <QTest>

#include <string>
#include <vector>

using namespace knee;

class TestSweepRunner : public QObject {
    Q_OBJECT
private slots:
    void theGridIsAnnouncedAfterTheLevelsAndBeforeItsCells()
    {
        SweepRequest request;
        request.scenario.name = "one slot";
        request.scenario.deployment.predictConcurrency = 1;
        request.scenario.model.predict = Distribution::constant(10);
        request.scenario.workload.arrival = ArrivalConfig::poisson(1);
        request.scenario.workload.requests = 1;
        request.options.levels = {1, 2, 4};
        request.options.warmupS = request.options.windowS = 1;
        GridOptions grid;
        grid.predictConcurrency = {1, 2};
        grid.targets = {1, 2};
        grid.level = request.options;
        request.grid = grid;
        QVERIFY2(checkSweepRequest(request).isEmpty(), qPrintable(checkSweepRequest(request)));

        std::vector<std::string> heard; // in the order the runner told them
        request.options.levelStarting = [&heard](double level) { heard.push_back("level " + std::to_string(int(level))); };
        request.options.gridStarting = [&heard] { heard.push_back("grid"); };
        const SweepRun run = runSweepRequest(request, {}, [&heard](const GridCell& c) {
            heard.push_back("cell " + std::to_string(c.predictConcurrency) + "x" + std::to_string(c.target));
            return true;
        });
        QVERIFY(run.grid.has_value());
        // Levels 1, 2, 4 (a slot of 10 ms saturated from 1 user on: no level is added), then the grid once,
        // then its cells (predict_concurrency 2 above target 1 is told too, as not measured).
        QCOMPARE(heard, (std::vector<std::string>{"level 1", "level 2", "level 4", "grid", "cell 1x1", "cell 1x2", "cell 2x1", "cell 2x2"}));
        // The hooks are the run's: the session keeps the options without them.
        QVERIFY(!run.sweep.options.levelStarting);
        QVERIFY(!run.sweep.options.gridStarting);

        // No grid asked: the grid is never announced.
        request.grid.reset();
        heard.clear();
        runSweepRequest(request);
        QCOMPARE(heard, (std::vector<std::string>{"level 1", "level 2", "level 4"}));
    }
};

QTEST_GUILESS_MAIN(TestSweepRunner)
#include "tst_sweep_runner.moc"
