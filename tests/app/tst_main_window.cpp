// The workbench window under QT_QPA_PLATFORM=offscreen, driven as a user would: each slider moves
// the engine's knob, the live view shows what the engine's snapshot says, flagged combinations
// show their warning, a burst of random slider moves keeps conservation, presets and traffic kind
// restart the run, and the knobs survive a restart of the app.
#include "ui_wait.h"
#include "ui/autoscaler_panel.h"
#include "ui/controls_panel.h"
#include "ui/deployment_view.h"
#include "ui/endpoint_panel.h"
#include "ui/knob_control.h"
#include "ui/live_charts.h"
#include "ui/main_window.h"
#include "ui/heat_map.h"
#include "ui/sweep_page.h"

#include "net/http_server.h"
#include "session/session.h"

#include "sim/random.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QTcpServer>
#include <QFile>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QDoubleSpinBox>
#include <QListWidget>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QSettings>
#include <QTimer>
#include <QTest>
#include <QToolButton>

using namespace knee;
using namespace knee::ui;

namespace {
Scenario lightLoad()
{
    Scenario s;
    s.name = "test";
    s.deployment.minReplicas = 1;
    s.deployment.maxReplicas = 4;
    s.deployment.initialReplicas = 2;
    s.deployment.concurrencyTarget = 4;
    s.deployment.predictConcurrency = 2;
    s.deployment.coldStartS = 0;
    s.deployment.queueLimit = 0;
    s.model.preprocess = Distribution::exponential(2);
    s.model.predict = Distribution::exponential(5);
    s.model.postprocess = Distribution::exponential(1);
    s.workload.arrival = ArrivalConfig::poisson(200);
    s.workload.requests = 1000;
    return s;
}

// lightLoad with nothing but predict: a grid's cells then follow predict_concurrency alone.
Scenario predictOnly(const Distribution& predict)
{
    Scenario s = lightLoad();
    s.model.preprocess = Distribution::constant(0);
    s.model.postprocess = Distribution::constant(0);
    s.model.predict = predict;
    return s;
}

// Moves a slider the way a mouse drag does (valueChanged fires from the slider).
void drag(KnobControl* knob, int value) { knob->slider()->setValue(value); }
} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void init()
    {
        QSettings().clear();
        QFile::remove(MainWindow::autosavePath());
    }

    void eachSliderMovesItsKnob()
    {
        MainWindow w(lightLoad(), "test");
        w.show();
        ControlsPanel* c = w.controls();
        drag(c->maxReplicas(), 3);
        drag(c->minReplicas(), 2);
        drag(c->concurrencyTarget(), 7);
        drag(c->predictConcurrency(), 3);
        c->rate()->spinBox()->setValue(321);
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot() && w.host().snapshot()->engine.concurrencyTarget == 7, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.predictConcurrency, 3, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.minReplicas, 2, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.maxReplicas, 3, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.rateRps, 321.0, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(int(w.host().snapshot()->engine.replicas.size()), 2, knee::test::kEventTimeoutMs);
        QVERIFY(!c->concurrencyTarget()->toolTip().isEmpty());
        QVERIFY(c->predictConcurrency()->toolTip().contains("predict"));
    }

    void liveViewMatchesSnapshot()
    {
        MainWindow w(lightLoad(), "test");
        w.show();
        QSignalSpy refreshed(&w, &MainWindow::refreshed);
        QVERIFY(refreshed.wait(knee::test::kEventTimeoutMs));
        QVERIFY(refreshed.wait(knee::test::kEventTimeoutMs));
        const EngineSnapshot& shown = w.deploymentView()->snapshot();
        std::int64_t held = 0;
        for (const ReplicaSnapshot& r : shown.replicas) {
            held += r.held;
            QCOMPARE(r.held, r.preprocessing + r.waitingForPredict + r.inPredict + r.postprocessing);
        }
        QCOMPARE(held, shown.held);
        QCOMPARE(shown.arrived, shown.completed + shown.failed + shown.rejected + shown.queued + shown.held);
        const QString counters = w.countersText();
        QVERIFY2(counters.contains(QStringLiteral("arrived %1 = completed %2").arg(shown.arrived).arg(shown.completed)), qPrintable(counters));
        QTRY_VERIFY_WITH_TIMEOUT(w.charts()->pointCount() >= 1, knee::test::kEventTimeoutMs); // a one-second window reached the charts
    }

    void flaggedCombinationsShowTheirWarning()
    {
        MainWindow w(lightLoad(), "test");
        ControlsPanel* c = w.controls();
        drag(c->predictConcurrency(), 8); // above target 4: allowed, flagged
        QVERIFY2(c->message().contains("Flagged"), qPrintable(c->message()));
        QVERIFY(c->message().contains("predict_concurrency"));
        QCOMPARE(w.host().scenario().deployment.predictConcurrency, 8);
        drag(c->predictConcurrency(), 2);
        QVERIFY(!c->message().contains("Flagged"));

        drag(c->minReplicas(), 5); // above max 4: refused, springs back
        QVERIFY2(c->message().contains("Refused"), qPrintable(c->message()));
        QVERIFY(c->message().contains("cannot exceed max replicas"));
        QCOMPARE(c->minReplicas()->value(), 1);
        QCOMPARE(w.host().scenario().deployment.minReplicas, 1);
    }

    void burstOfRandomSliderMovesKeepsConservation()
    {
        MainWindow w(lightLoad(), "test");
        w.show();
        ControlsPanel* c = w.controls();
        int checked = 0;
        connect(&w, &MainWindow::refreshed, &w, [&] {
            const EngineSnapshot& s = w.deploymentView()->snapshot();
            QCOMPARE(s.arrived, s.completed + s.failed + s.rejected + s.queued + s.held);
            ++checked;
        });
        Rng rng(99);
        KnobControl* knobs[] = {c->concurrencyTarget(), c->predictConcurrency(), c->minReplicas(), c->maxReplicas(), c->rate()};
        for (int i = 0; i < 600; ++i) {
            KnobControl* k = knobs[rng.next() % 5];
            const int lo = k->slider()->minimum(), hi = std::min(k->slider()->maximum(), k == c->rate() ? 2000 : 12);
            drag(k, lo + int(rng.next() % std::uint64_t(hi - lo + 1)));
            if (i % 20 == 0)
                QTest::qWait(5);
        }
        QTest::qWait(300);
        QVERIFY(checked > 5);
        // The engine runs what the panel shows (every refused move sprang back).
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.concurrencyTarget, c->concurrencyTarget()->value(), knee::test::kEventTimeoutMs);
        QCOMPARE(w.host().scenario().deployment.minReplicas, c->minReplicas()->value());
        QVERIFY(c->minReplicas()->value() <= c->maxReplicas()->value());
    }

    void presetsAndTrafficKindRestartTheRun()
    {
        MainWindow w(lightLoad(), "test");
        ControlsPanel* c = w.controls();
        const QList<Preset> presets = builtInPresets();
        QCOMPARE(presets.size(), 7); // the seed's table
        for (int i = 1; i < c->preset()->count(); ++i) {
            c->preset()->setCurrentIndex(i);
            emit c->preset()->activated(i);
            QVERIFY2(c->message().isEmpty() || !c->message().contains("Refused"), qPrintable(c->message()));
        }
        QCOMPARE(w.host().scenario().deployment.concurrencyTarget, 1); // SDXL, the last: target 1 (seed 000)
        QCOMPARE(c->concurrencyTarget()->value(), 1);
        QVERIFY(c->users()->isEnabled()); // SDXL's preset is closed loop

        const int open = c->trafficKind()->findData(int(ArrivalConfig::Kind::Poisson));
        c->trafficKind()->setCurrentIndex(open);
        emit c->trafficKind()->activated(open);
        QCOMPARE(w.host().scenario().workload.arrival.kind, ArrivalConfig::Kind::Poisson);
        QVERIFY(c->rate()->isEnabled());
        QVERIFY(!c->users()->isEnabled());
    }

    void predictStageRunsTheRealModel()
    {
        MainWindow w(lightLoad(), "test");
        ControlsPanel* c = w.controls();
        QCOMPARE(c->predictStage()->currentIndex(), 0); // the scenario names no model: modelled times
        const int tiny = c->predictStage()->findData(QStringLiteral("tiny"));
        QVERIFY(tiny > 0);
        c->predictStage()->setCurrentIndex(tiny);
        emit c->predictStage()->activated(tiny);
        QCOMPARE(w.host().scenario().model.profile, std::string("tiny"));
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot()->realPredict && w.host().snapshot()->engine.completed > 0, knee::test::kEventTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(w.runStatus().contains("model 'tiny'"), knee::test::kEventTimeoutMs);
        // Back to modelled times: the run restarts without the model.
        c->predictStage()->setCurrentIndex(0);
        emit c->predictStage()->activated(0);
        QVERIFY(w.host().scenario().model.profile.empty());
        QTRY_VERIFY_WITH_TIMEOUT(!w.host().snapshot()->realPredict, knee::test::kEventTimeoutMs);
    }

    // Calibrate ▸ Use replaces the table and its profile; a tail_ms measured apart stays with the same
    // profile, and is dropped, said so, where it cannot hold (another profile, calls shorter than it).
    void calibratedTableKeepsTheTail()
    {
        Scenario s = lightLoad();
        s.model.profile = "tiny";
        s.model.predictTable.batch = {1, 2};
        s.model.predictTable.ms = {0.5, 0.6};
        s.model.predictTable.tailMs = 0.12;
        QCOMPARE(QString::fromStdString(s.validate()), QString());
        MainWindow w(s, "test");
        ServiceTable measured;
        measured.batch = {1, 2, 4};
        measured.ms = {0.4, 0.45, 0.5};
        measured.source = "knee calibrate: tiny";
        QString said = w.useCalibratedTable(measured, "tiny");
        QVERIFY2(said.contains("tail_ms 0.12 kept"), qPrintable(said));
        QCOMPARE(w.host().scenario().model.predictTable.ms, measured.ms);
        QCOMPARE(w.host().scenario().model.predictTable.tailMs, 0.12);

        measured.ms = {0.1, 0.2, 0.3}; // a call of 0.1 ms cannot end with 0.12 ms off the device
        said = w.useCalibratedTable(measured, "tiny");
        QVERIFY2(said.contains("tail_ms 0.12 dropped (longer than"), qPrintable(said));
        QCOMPARE(w.host().scenario().model.predictTable.tailMs, 0.0);

        Scenario again = w.currentScenario();
        again.model.predictTable.tailMs = 0.05;
        QCOMPARE(w.replaceScenario(again), std::string());
        measured.ms = {0.4, 0.45, 0.5};
        said = w.useCalibratedTable(measured, "small");
        QVERIFY2(said.contains("tail_ms 0.05 dropped (not measured for 'small')"), qPrintable(said));
        QCOMPARE(w.host().scenario().model.predictTable.tailMs, 0.0);
        QCOMPARE(w.host().scenario().model.profile, std::string("small"));

        // A table with the device's own times (`refit --tail-ms device`, or by hand) says itself what is off the device.
        again = w.currentScenario();
        again.model.profile = "tiny";
        again.model.predictTable.tailMs = 0.05;
        QCOMPARE(w.replaceScenario(again), std::string());
        measured.deviceMs = {0.3, 0.33, 0.36};
        said = w.useCalibratedTable(measured, "tiny");
        QVERIFY2(said.contains("tail_ms 0.05 dropped (the new table measured the device's own times)"), qPrintable(said));
        QCOMPARE(w.host().scenario().model.predictTable.tailMs, 0.0);
        QCOMPARE(w.host().scenario().model.predictTable.deviceMs, measured.deviceMs);
    }

    void virtualRunReports()
    {
        MainWindow w(lightLoad(), "test");
        QSignalSpy done(&w, &MainWindow::virtualRunFinished);
        w.simulateVirtual();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const QString report = done.first().first().toString();
        QVERIFY2(report.contains("1000 arrived"), qPrintable(report));
        QVERIFY(report.contains("Latency (ms)"));
    }

    void pauseStopsTheRunClock()
    {
        MainWindow w(lightLoad(), "test");
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot() != nullptr, knee::test::kEventTimeoutMs);
        w.togglePause();
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot()->paused, knee::test::kEventTimeoutMs);
        const Nanos frozen = w.host().snapshot()->engine.now;
        QTest::qWait(100);
        QCOMPARE(w.host().snapshot()->engine.now, frozen);
        w.togglePause();
        QTRY_VERIFY_WITH_TIMEOUT(!w.host().snapshot()->paused, knee::test::kEventTimeoutMs);
    }

    // Choosing a policy in the side panel turns the live engine's autoscaler on; an overload then
    // adds replicas, and the panel lists the decision with its reason.
    void autoscalerPanelDrivesTheEngine()
    {
        Scenario s = lightLoad();
        s.workload.arrival = ArrivalConfig::poisson(1500); // far beyond one replica (2 slots of 5 ms: 400 req/s)
        MainWindow w(s, "test");
        w.show();
        AutoscalerPanel* a = w.autoscalerPanel();
        QVERIFY(!a->window()->isEnabled()); // no policy yet
        a->window()->setValue(10);          // ignored while the policy is none: nothing to apply to
        a->policy()->setCurrentIndex(a->policy()->findData(int(AutoscalerConfig::Policy::Baseten)));
        emit a->policy()->activated(a->policy()->currentIndex());
        QCOMPARE(w.host().scenario().deployment.autoscaler.policy, AutoscalerConfig::Policy::Baseten);
        QVERIFY(a->window()->isEnabled());
        QVERIFY(a->scaleDownDelay()->isVisibleTo(a));
        QVERIFY(!a->panicWindow()->isVisibleTo(a));
        a->window()->setValue(10);
        a->coldStart()->setValue(0);
        QCOMPARE(w.host().scenario().deployment.autoscaler.windowS, 10.0);
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot()->engine.replicas.size() >= 2, knee::test::kEventTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(a->decisions()->count() >= 1, knee::test::kEventTimeoutMs);
        QVERIFY2(a->decisions()->item(0)->text().contains("scale_up"), qPrintable(a->decisions()->item(0)->text()));
        QVERIFY(a->decisions()->item(0)->text().contains("target utilization"));
        QVERIFY(a->status().contains("Window average"));

        a->policy()->setCurrentIndex(a->policy()->findData(int(AutoscalerConfig::Policy::Knative)));
        emit a->policy()->activated(a->policy()->currentIndex());
        QVERIFY(a->panicWindow()->isVisibleTo(a));
        QVERIFY(!a->scaleDownDelay()->isVisibleTo(a));
        QCOMPARE(w.host().scenario().deployment.autoscaler.policy, AutoscalerConfig::Policy::Knative);
    }

    // The sweep page runs on the live knobs, plots each level, marks the knee, shows the evidence;
    // the session saved from the window reopens to the same curve; exports write their files.
    void sweepPageAndSessions()
    {
        QTemporaryDir dir;
        Scenario s = lightLoad();
        s.model.preprocess = Distribution::constant(0);
        s.model.postprocess = Distribution::constant(0);
        s.model.predict = Distribution::constant(20); // 2 slots of 20 ms: queueing starts past 2 users
        MainWindow w(s, "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        QSignalSpy levels(page, &SweepPage::levelFinished);
        page->runButton()->click();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(levels.count(), 6);
        QCOMPARE(page->plottedLevels(), 6);
        QCOMPARE(page->markedKnee(), std::optional<int>(2));
        QVERIFY(page->evidenceText().contains("concurrency_target 2"));
        // Issue 20: the rule with its numbers, and the saturation point marked on the throughput curve.
        QVERIFY2(page->evidenceText().contains("concurrency_target 2 — saturation: 100 % of peak throughput 100 req/s"),
                 qPrintable(page->evidenceText()));
        QCOMPARE(page->markedSaturation(), std::optional<int>(2));
        QVERIFY(page->runButton()->isEnabled());
        QVERIFY(QFile::exists(MainWindow::autosavePath())); // an unsaved sweep survives a crash

        // Exports.
        const QString config = dir.filePath("config.yaml"), csv = dir.filePath("s.csv"), png = dir.filePath("c.png"),
                      knative = dir.filePath("kn.yaml");
        QCOMPARE(page->exportConfigYaml(config), QString());
        QFile c(config);
        QVERIFY(c.open(QIODevice::ReadOnly));
        QVERIFY(c.readAll().contains("predict_concurrency: 2"));
        QCOMPARE(page->exportCsv(csv), QString());
        QCOMPARE(page->exportChart(png), QString());
        const QString svg = dir.filePath("c.svg");
        QCOMPARE(page->exportChart(svg), QString());
        QFile svgFile(svg);
        QVERIFY(svgFile.open(QIODevice::ReadOnly));
        QVERIFY(svgFile.readAll().contains("<svg"));
        QCOMPARE(page->exportAutoscaling(knative), QString());
        QVERIFY(QFile::exists(csv) && QFile::exists(png) && QFile::exists(knative));
        // The same writer and checks as the command line: a directory is refused, the config kept.
        QVERIFY(page->exportCsv(dir.path()).contains("it is a directory"));
        QVERIFY(page->exportConfigYaml(dir.path()).contains("it is a directory"));

        // Save, then reopen in a fresh window: the same levels and knee.
        const QString path = dir.filePath("session.json");
        QCOMPARE(w.saveSessionTo(path), QString());
        QVERIFY(!QFile::exists(MainWindow::autosavePath())); // saved: nothing to recover
        MainWindow again(lightLoad(), "other");
        QCOMPARE(again.openSessionFrom(path), QString());
        QCOMPARE(again.sweepPage()->plottedLevels(), 6);
        QCOMPARE(again.sweepPage()->markedKnee(), std::optional<int>(2));
        QCOMPARE(again.sweepPage()->markedSaturation(), std::optional<int>(2));
        QCOMPARE(again.host().scenario().model.predict.meanMs, 20.0); // the session's scenario is served
        QCOMPARE(again.sessionPath(), path);
        QVERIFY(again.compareWithSession(path).isEmpty());

        // A damaged session changes nothing and says why.
        QFile bad(dir.filePath("bad.json"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"format\": \"knee-session\", \"version\": 1, \"sweeps\": ");
        bad.close();
        const QString error = again.openSessionFrom(bad.fileName());
        QVERIFY2(error.contains("damaged"), qPrintable(error));
        QCOMPARE(again.sessionPath(), path);
        QCOMPARE(again.sweepPage()->plottedLevels(), 6);
    }

    void sloSearchAndRepeatsFromThePage()
    {
        // Issue 17 in the window: one slot of 20 ms answers N users in exactly 20 N ms, so an SLO of 130 ms
        // holds up to 6. The levels stop at 8 (it missed); bisection measures 6 and 7.
        QTemporaryDir dir;
        Scenario s = lightLoad();
        s.deployment.predictConcurrency = 1;
        s.model.preprocess = s.model.postprocess = Distribution::constant(0);
        s.model.predict = Distribution::constant(20);
        MainWindow w(s, "test");
        w.resize(1280, 900);
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32");
        page->searchSlo()->setChecked(true);
        page->run(); // no SLO yet: refused, and said why
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("needs an SLO"), qPrintable(page->statusText()));
        page->slo()->setValue(130);
        page->repeats()->setValue(2);
        QVERIFY(page->formSummary().contains("SLO search") && page->formSummary().contains("2 repeats"));
        QSignalSpy done(page, &SweepPage::sweepFinished);
        w.runSweep(); // Run ▸ Sweep: the page comes to the front
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->plottedLevels(), 6); // 1, 2, 4, 8, then 6 and 7; 16 and 32 never ran
        QVERIFY2(page->evidenceText().contains("The largest concurrency meeting the SLOs: 6"), qPrintable(page->evidenceText()));
        QVERIFY(page->evidenceText().contains("measured 2 times"));
        QTableWidget* table = page->levelTable();
        QStringList users;
        for (int row = 0; row < table->rowCount(); ++row)
            users << table->item(row, 0)->text();
        QCOMPARE(users, QStringList({"1", "2", "4", "6", "7", "8"}));
        QCOMPARE(page->readoutAt(7).left(24), QStringLiteral("7 users: p50 140 ms · p9"));
        for (int c = 10; c <= 13; ++c) // goodput, the two intervals and the repeats' verdict are shown
            QVERIFY(!table->isColumnHidden(c));
        QCOMPARE(table->item(3, 10)->text(), QStringLiteral("100.0 %"));  // 6 users: 120 ms, all good
        QCOMPARE(table->item(4, 10)->text(), QStringLiteral("0.0 %"));    // 7 users: 140 ms
        QCOMPARE(table->item(4, 13)->text(), QStringLiteral("2, stable"));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty())
        {
            w.grab().save(shots + "/sweep_slo_search.png");
            table->scrollToItem(table->item(0, 13)); // the columns the repeats and the SLO add
            w.grab().save(shots + "/sweep_slo_search_columns.png");
        }

        // Saved and reopened: the form and the evidence come back.
        const QString path = dir.filePath("search.json");
        QCOMPARE(w.saveSessionTo(path), QString());
        MainWindow again(lightLoad(), "other");
        QCOMPARE(again.openSessionFrom(path), QString());
        QCOMPARE(again.sweepPage()->repeats()->value(), 2);
        QVERIFY(again.sweepPage()->searchSlo()->isChecked());
        QVERIFY(again.sweepPage()->evidenceText().contains("The largest concurrency meeting the SLOs: 6"));
        QCOMPARE(again.sweepPage()->plottedLevels(), 6);
    }

    void rateSweepFromThePage()
    {
        // Issue 17's open loop in the window: one slot of 20 ms serves at most 50 req/s, so 60 and 80 req/s
        // are not served in full: the capacity lies below 60, and the rate per replica at most there.
        QTemporaryDir dir;
        Scenario s = lightLoad();
        s.deployment.predictConcurrency = 1;
        s.model.preprocess = s.model.postprocess = Distribution::constant(0);
        s.model.predict = Distribution::constant(20);
        MainWindow w(s, "test");
        w.resize(1280, 900);
        SweepPage* page = w.sweepPage();
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("rates")));
        QVERIFY(page->searchSlo()->text().contains("largest rate"));
        page->rates()->setText("10, 20, 30, 40, 60, 80");
        QVERIFY2(page->formSummary().contains("rates 10, 20, 30, 40, 60, 80 req/s, Poisson arrivals"), qPrintable(page->formSummary()));
        // Refused with the reason: a rate that is not one, and the grid (closed loop only).
        page->rates()->setText("10, 0");
        page->run();
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("Rates are requests per second") && page->statusText().contains("'0'"), qPrintable(page->statusText()));
        page->rates()->setText("10, 20, 30, 40, 60, 80");
        page->gridValues()->setText("1, 2");
        page->run();
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("The grid measures closed-loop levels"), qPrintable(page->statusText()));
        page->gridValues()->clear();

        QSignalSpy done(page, &SweepPage::sweepFinished);
        w.runSweep();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const SweepResult& r = page->sweeps().back().result;
        QVERIFY(r.rateAnalysis.has_value());
        QCOMPARE(page->plottedLevels(), 6);
        QVERIFY(r.rateAnalysis->capacity && *r.rateAnalysis->capacity < 60);
        QVERIFY(r.rateAnalysis->firstBehind && *r.rateAnalysis->firstBehind <= 60);
        QCOMPARE(page->markedCapacity(), r.rateAnalysis->capacity);
        QCOMPARE(page->markedRateKnee(), r.rateAnalysis->knee);
        QVERIFY(!page->markedKnee() && !page->markedSaturation()); // no closed-loop marks
        const double perReplica = r.recommendation.ratePerReplicaRps;
        QVERIFY2(perReplica > 0 && perReplica <= *r.rateAnalysis->capacity, qPrintable(QString::number(perReplica)));

        // The table: the rate asked beside the rate sent and served, then the latencies and Little's law.
        const QString tsv = page->levelsTsv();
        QVERIFY2(tsv.startsWith("Rate (req/s)\tSent (req/s)\tServed (req/s)\tp50 (ms)\tp95 (ms)\tp99 (ms)\tIn flight\tNotes"), qPrintable(tsv));
        QTableWidget* table = page->levelTable();
        QStringList rates;
        for (int row = 0; row < table->rowCount(); ++row)
            rates << table->item(row, 0)->text();
        QCOMPARE(rates, QStringList({"10", "20", "30", "40", "60", "80"}));
        const int notes = table->columnCount() - 1;
        QCOMPARE(table->horizontalHeaderItem(notes)->text(), QStringLiteral("Notes"));
        QCOMPARE(table->item(int(rates.indexOf(QString::number(perReplica))), notes)->text(), QString()); // the rate chosen is usable
        QVERIFY2(table->item(5, notes)->text().contains("not served in full"), qPrintable(table->item(5, notes)->text()));
        QVERIFY(page->readoutAt(40).startsWith("40 req/s asked: "));

        // The card: the rate per replica, and the concurrency target by Little's law; Apply moves the knobs.
        const QString card = page->recommendationText();
        QVERIFY2(card.contains("rate per replica: " + QString::fromStdString(formatRate(perReplica))), qPrintable(card));
        QVERIFY2(card.contains("Little's law"), qPrintable(card));
        QVERIFY(page->evidenceText().contains("Knee and capacity"));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            w.grab().save(shots + "/sweep_rates.png");
            table->scrollToItem(table->item(5, notes)); // the sent rate, Little's law and the notes
            w.grab().save(shots + "/sweep_rates_table.png");
            page->formToggle()->click(); // the form open: the load, the rates and the arrivals
            QTest::qWait(50); // its layout settles first: grabbed at once, it showed a horizontal scroll bar no user sees
            w.grab().save(shots + "/sweep_rates_form.png");
            page->formToggle()->click();
        }
        QVERIFY(page->applyButton()->isEnabled());
        QCOMPARE(page->applyRecommendation(), QString());
        QCOMPARE(w.controls()->concurrencyTarget()->value(), r.recommendation.concurrencyTarget);
        // A twin is fitted to users, not rates: the button says so.
        QVERIFY(!page->twinButton()->isEnabled());
        QVERIFY2(page->twinButton()->toolTip().contains("closed-loop"), qPrintable(page->twinButton()->toolTip()));

        // Saved and reopened: the same rates, marks and table.
        const QString path = dir.filePath("rates.json");
        QCOMPARE(w.saveSessionTo(path), QString());
        MainWindow again(lightLoad(), "other");
        QCOMPARE(again.openSessionFrom(path), QString());
        SweepPage* reopened = again.sweepPage();
        QCOMPARE(reopened->load()->currentData().toString(), QStringLiteral("rates"));
        QCOMPARE(reopened->rates()->text(), QStringLiteral("10, 20, 30, 40, 60, 80"));
        QCOMPARE(reopened->plottedLevels(), 6);
        QCOMPARE(reopened->markedCapacity(), r.rateAnalysis->capacity);
        QCOMPARE(reopened->levelsTsv(), tsv);
        QVERIFY(reopened->recommendationText().contains("rate per replica: " + QString::fromStdString(formatRate(perReplica))));
        // Compared: a rate sweep's curve beside this one; a closed loop's is on another axis and is not drawn.
        reopened->setComparison("same rates", page->sweeps());
        QCOMPARE(reopened->comparisonPoints(), 6);
        SessionSweep users;
        users.result.levels.resize(1);
        users.result.levels[0].concurrency = 4;
        reopened->setComparison("users", {users});
        QVERIFY(!reopened->comparisonShown());
        QVERIFY2(reopened->statusText().contains("not drawn"), qPrintable(reopened->statusText()));
    }

    void liveSweepFromThePage()
    {
        Scenario s = lightLoad();
        s.model.predict = Distribution::constant(10);
        MainWindow w(s, "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4");
        page->mode()->setCurrentIndex(page->mode()->findData(QStringLiteral("live")));
        page->warmup()->setValue(0.2);
        page->window()->setValue(0.3);
        page->cap()->setValue(1);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        qputenv("KNEE_NVML_LIBRARY", FAKE_NVML_PATH); // the stand-in NVML: two GPUs with fixed figures
        page->run();
        qunsetenv("KNEE_NVML_LIBRARY");
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->sweeps().back().result.mode, std::string("live"));
        QCOMPARE(page->plottedLevels(), 3);
        QVERIFY(w.host().snapshot() != nullptr); // the live view kept running alongside
        // Issue 17: each level keeps its GPUs as NVML saw them, shown in the table and the evidence.
        const SweepLevel& first = page->sweeps().back().result.levels.front();
        QCOMPARE(first.gpus.size(), std::size_t(2));
        QCOMPARE(first.gpus[1].utilizationMeanPct, std::optional<double>(47.0));
        QTableWidget* table = page->levelTable();
        QVERIFY(!table->isColumnHidden(18));
        QVERIFY2(table->item(0, 18)->toolTip().contains("GPU 1 (Fake GPU 1): 47 % mean"), qPrintable(table->item(0, 18)->toolTip()));
        QVERIFY(page->evidenceText().contains("GPUs during each level"));
    }

    // Headers, a body template file, max tokens and the key's source reach the request; bad ones are
    // refused with the reason before anything is sent.
    void endpointHeadersBodyTemplateAndKeySource()
    {
        net::HttpRequest seen;
        net::HttpServer server([&](const net::HttpRequest& r, const std::shared_ptr<net::HttpExchange>& e) {
            seen = r;
            e->respondJson(200, R"({"ok": true})");
        });
        QVERIFY(server.listen(QHostAddress::LocalHost, 0).isEmpty());
        QTemporaryDir dir;
        QFile body(dir.filePath("body.json"));
        QVERIFY(body.open(QIODevice::WriteOnly));
        body.write(R"({"request": {{id}}, "tokens": {{max_tokens}}})");
        body.close();
        MainWindow w(lightLoad(), "test");
        EndpointPanel* panel = w.sweepPage()->endpointPanel();
        panel->targetChoice()->setCurrentIndex(panel->targetChoice()->findData(QStringLiteral("endpoint")));
        QVERIFY(panel->headers()->isEnabled() && panel->bodyTemplate()->isEnabled() && panel->maxTokens()->isEnabled());
        panel->url()->setText(QStringLiteral("http://127.0.0.1:%1/predict").arg(server.port()));
        panel->headers()->setText("X-Team: serving; X-Run: 7");
        panel->bodyTemplate()->setText(body.fileName());
        panel->maxTokens()->setValue(33);
        qputenv("KNEE_TEST_PANEL_KEY", "sk-panel-secret");
        panel->keyVariable()->setText("KNEE_TEST_PANEL_KEY");
        QSignalSpy tested(panel, &EndpointPanel::connectionTested);
        panel->testButton()->click();
        QVERIFY(tested.wait(knee::test::kEventTimeoutMs));
        QVERIFY2(tested.last().at(0).toBool(), qPrintable(panel->testResult()->text()));
        QCOMPARE(seen.header("x-team"), QByteArray("serving"));
        QCOMPARE(seen.header("x-run"), QByteArray("7"));
        QCOMPARE(seen.body, QByteArray(R"({"request": 0, "tokens": 33})"));
        QCOMPARE(seen.header("authorization"), QByteArray("Bearer sk-panel-secret"));
        QVERIFY(!panel->testResult()->text().contains("sk-panel-secret"));
        qunsetenv("KNEE_TEST_PANEL_KEY");

        QString error;
        panel->headers()->setText("no colon here");
        QVERIFY(!panel->target(error) && error.startsWith("Headers:"));
        panel->headers()->setText("Authorization: Bearer x");
        QVERIFY(!panel->target(error) && error.contains("key source"));
        panel->headers()->clear();
        panel->bodyTemplate()->setText(dir.filePath("missing.json"));
        QVERIFY2(!panel->target(error) && error.startsWith("Body template: ") && error.contains("No such file or directory"), qPrintable(error));
        panel->bodyTemplate()->clear();
        panel->keyVariable()->setText("keychain:knee/test");
        const auto t = panel->target(error);
        QVERIFY(t || error.contains("QtKeychain")); // a keychain source is taken as it is
        if (t)
            QCOMPARE(t->apiKeySource, QStringLiteral("keychain:knee/test"));
    }

    void endpointTargetFromTheSweepPage()
    {
        // A loopback endpoint in this process: 200 JSON on /ok, 500 elsewhere.
        // Its /metrics speaks vLLM's names, with values the sweep must show per level.
        net::HttpServer server([](const net::HttpRequest& r, const std::shared_ptr<net::HttpExchange>& e) {
            if (r.path() == "/metrics")
                e->respond(200, "text/plain; version=0.0.4",
                           "vllm:num_requests_running 3\nvllm:num_requests_waiting 1\nvllm:kv_cache_usage_perc 0.25\n");
            else
                e->respondJson(r.path() == "/ok" ? 200 : 500, R"({"ok": true})");
        });
        QVERIFY(server.listen(QHostAddress::LocalHost, 0).isEmpty());
        const QString base = QStringLiteral("http://127.0.0.1:%1").arg(server.port());
        MainWindow w(lightLoad(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        QVERIFY(!panel->url()->isEnabled()); // the built-in engine by default
        panel->targetChoice()->setCurrentIndex(panel->targetChoice()->findData(QStringLiteral("endpoint")));
        QVERIFY(panel->url()->isEnabled() && panel->testButton()->isEnabled());
        QVERIFY(!panel->stream()->isEnabled()); // streaming is OpenAI's
        panel->kind()->setCurrentIndex(1);
        QVERIFY(panel->stream()->isEnabled());
        panel->kind()->setCurrentIndex(0);

        QSignalSpy tested(panel, &EndpointPanel::connectionTested);
        panel->url()->setText(base + "/ok");
        panel->testButton()->click();
        QVERIFY(tested.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(tested.last().at(0).toBool(), true);
        QVERIFY(panel->testResult()->text().startsWith("OK"));
        panel->url()->setText(base + "/broken");
        panel->testButton()->click();
        QVERIFY(tested.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(tested.last().at(0).toBool(), false);
        QVERIFY2(panel->testResult()->text().contains("http_5xx"), qPrintable(panel->testResult()->text()));
        panel->url()->setText("not a url");
        panel->testButton()->click(); // refused at once, with the reason
        QCOMPARE(tested.last().at(0).toBool(), false);

        panel->url()->setText(base + "/ok");
        page->levels()->setText("1, 2");
        page->warmup()->setValue(0.1);
        page->window()->setValue(0.2);
        page->cap()->setValue(0.6);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->sweeps().back().result.mode, std::string("http"));
        QCOMPARE(page->plottedLevels(), 2);
        QVERIFY(page->sweeps().back().result.levels.front().completed > 0);
        QVERIFY(!page->sweeps().back().result.levels.front().server); // not asked to scrape

        // Issue 17: the same sweep scraping the server's /metrics (beside the endpoint) every second.
        QVERIFY(!panel->metricsUrl()->isEnabled());
        panel->scrape()->setChecked(true);
        QVERIFY(panel->metricsUrl()->isEnabled());
        panel->extraMetrics()->setText("not a metric!");
        page->run(); // a bad name is refused before anything runs
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("not a Prometheus metric name"), qPrintable(page->statusText()));
        panel->extraMetrics()->clear();
        page->window()->setValue(1.2); // room for a scrape in each level's measured windows
        page->cap()->setValue(2.4);
        w.resize(1280, 900);
        const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR");
        w.runSweep(); // Run ▸ Sweep: the page comes to the front
        if (!shots.isEmpty())
            w.grab().save(shots + "/sweep_endpoint_scrape_form.png");
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const SweepLevel& first = page->sweeps().back().result.levels.front();
        QVERIFY(first.server.has_value() && first.server->scrapes > 0);
        QCOMPARE(first.server->metrics.at("requests_running").mean, 3.0);
        QTableWidget* table = page->levelTable();
        QVERIFY(!table->isColumnHidden(14) && !table->isColumnHidden(16) && table->isColumnHidden(17)); // no batch size said
        QCOMPARE(table->item(0, 14)->text(), QStringLiteral("3.0"));
        QCOMPARE(table->item(0, 16)->text(), QStringLiteral("25.0 %"));
        QVERIFY(page->evidenceText().contains("What the server said"));
        if (!shots.isEmpty()) {
            table->scrollToItem(table->item(0, 16));
            w.grab().save(shots + "/sweep_endpoint_scrape_table.png");
        }
    }

    void gridSetsPredictConcurrencyAndIsSaved()
    {
        QTemporaryDir dir;
        MainWindow w(predictOnly(Distribution::constant(20)), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8");
        page->gridValues()->setText("1, 2, 4");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        w.runSweep(); // Run ▸ Sweep: the page in front, for the grab below
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->heatMap()->grid().cells.size(), std::size_t(12));
        // Independent 20 ms slots: each row saturates where target = predict_concurrency, and 4 @ 4 serves
        // 200 req/s at the p95 of 1 @ 1 (20 ms). The grid sets the target too, not only predict_concurrency.
        const Recommendation rec = page->sweeps().back().result.recommendation;
        QCOMPARE(rec.concurrencyTarget, 4);
        QCOMPARE(rec.predictConcurrency, 4);
        QVERIFY(QString::fromStdString(rec.predictConcurrencyRule).startsWith("from the grid"));
        QVERIFY(QString::fromStdString(rec.concurrencyTargetRule).startsWith("from the grid, at predict_concurrency 4"));
        QVERIFY(page->evidenceText().contains("from the grid"));
        QVERIFY(!page->heatMap()->isHidden());
        // The card's figures at the target are the grid cell's (4 @ 4), not the sweep's level at 4 users.
        QVERIFY2(page->recommendationText().contains("200 req/s, p95 20.0 ms"), qPrintable(page->recommendationText()));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            w.resize(1280, 900);
            w.grab().save(shots + "/sweep_grid_recommendation.png");
        }
        QCOMPARE(w.saveSessionTo(dir.filePath("g.json")), QString());
        MainWindow again(lightLoad(), "other");
        QCOMPARE(again.openSessionFrom(dir.filePath("g.json")), QString());
        QCOMPARE(again.sweepPage()->heatMap()->grid().cells.size(), std::size_t(12));
        QCOMPARE(again.sweepPage()->sweeps().back().result.recommendation.predictConcurrency, rec.predictConcurrency);
        QCOMPARE(again.sweepPage()->sweeps().back().result.recommendation.concurrencyTarget, rec.concurrencyTarget);

        // A sweep without a grid after it: the grid names the sweep it followed, so both reopen with their
        // own recommendations (the first the grid's, the second its levels'), and no grid is shown.
        page->gridValues()->clear();
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QVERIFY(page->heatMap()->isHidden());
        QCOMPARE(w.saveSessionTo(dir.filePath("h.json")), QString());
        MainWindow third(lightLoad(), "other");
        QCOMPARE(third.openSessionFrom(dir.filePath("h.json")), QString());
        QCOMPARE(third.sweepPage()->grids().size(), std::size_t(1));
        QCOMPARE(third.sweepPage()->grids().front().sweep, 0);
        QCOMPARE(third.sweepPage()->sweeps().front().result.recommendation.concurrencyTarget, 4);
        QVERIFY(!QString::fromStdString(third.sweepPage()->sweeps().back().result.recommendation.predictConcurrencyRule).startsWith("from the grid"));
        QVERIFY(third.sweepPage()->heatMap()->isHidden());

        // With an SLO the card's note names the grid's cell that meets it (4 @ 4 at 20 ms; 4 @ 8 has 40), not
        // only the sweep's own levels, which ran at the scenario's predict_concurrency 2 (20 ms up to 2 users, 40 at 4).
        page->gridValues()->setText("1, 2, 4");
        page->slo()->setValue(30);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->sweeps().back().result.recommendation.concurrencyTarget, 4);
        QCOMPARE(page->sweeps().back().result.recommendation.predictConcurrency, 4);
        const QString card = page->recommendationText();
        QVERIFY2(card.contains("SLO p95 30 ms: met by the grid's cell (target 4, predict_concurrency 4) at p95 20.0 ms; the sweep's own levels, "
                               "at the predict_concurrency it ran with, meet it up to 2."),
                 qPrintable(card));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty())
            w.grab().save(shots + "/sweep_grid_slo_note.png");
        page->slo()->setValue(0);

        page->gridValues()->setText("1, x");
        page->run();
        QVERIFY(!page->isRunning()); // refused, with the reason shown
    }

    // Cancelled while the grid runs: the sweep stays whole, the grid keeps the cells it finished, and the
    // status and the recommendation's rule say that only those competed.
    void cancelledGridSaysWhatItCompared()
    {
        MainWindow w(predictOnly(Distribution::exponential(5)), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8");
        page->gridValues()->setText("1, 2, 4, 8");
        page->warmup()->setValue(3600); // cells long enough in wall time for the cancel to land mid-grid
        QSignalSpy done(page, &SweepPage::sweepFinished);
        QTimer poll;
        connect(&poll, &QTimer::timeout, page, [page, &poll] {
            if (page->statusText().contains("Measuring the predict_concurrency grid")) {
                page->cancelButton()->click();
                poll.stop();
            }
        });
        poll.start(2);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QVERIFY(!page->sweeps().back().result.cancelled);
        QCOMPARE(page->grids().size(), std::size_t(1));
        const GridResult& grid = page->grids().back().result;
        QVERIFY(grid.cancelled);
        std::size_t measured = 0;
        for (const GridCell& c : grid.cells)
            measured += c.measured;
        QVERIFY2(measured < 10, qPrintable(QString::number(measured))); // 10 cells have pc <= target
        QVERIFY2(page->statusText() == QStringLiteral("Grid cancelled: %1 of its 10 cells measured; the recommendation compares those only").arg(measured),
                 qPrintable(page->statusText()));
        const Recommendation& rec = page->sweeps().back().result.recommendation;
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            page->resize(1000, 800);
            page->grab().save(shots + "/sweep_grid_cancelled.png");
        }
        QVERIFY(rec.fromGrid); // the cell in progress finishes first: at least one competed
        QVERIFY(QString::fromStdString(rec.predictConcurrencyRule).contains("the grid was stopped at predict_concurrency"));
        // Saved and reopened, the stopped grid keeps its cells and the rule says again where it stopped.
        QTemporaryDir dir;
        QCOMPARE(w.saveSessionTo(dir.filePath("stopped.json")), QString());
        MainWindow again(lightLoad(), "other");
        QCOMPARE(again.openSessionFrom(dir.filePath("stopped.json")), QString());
        QVERIFY(again.sweepPage()->grids().back().result.cancelled);
        QCOMPARE(again.sweepPage()->grids().back().result.cells.size(), grid.cells.size());
        QCOMPARE(again.sweepPage()->sweeps().back().result.recommendation.predictConcurrencyRule, rec.predictConcurrencyRule);
    }

    void cancelledSweepKeepsFinishedLevels()
    {
        Scenario s = lightLoad();
        s.model.predict = Distribution::exponential(5);
        MainWindow w(s, "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048");
        // The cancel reaches the sweep's thread only once this thread has run level 4's hand-off: make
        // the levels after it long (an hour of virtual warm-up each: the eight after level 4 take seconds),
        // so that a busy machine cannot finish all 12 first (CI once did, with the default 10 s).
        page->warmup()->setValue(3600);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        connect(page, &SweepPage::levelFinished, page, [page](const QString& level) {
            if (level == QLatin1String("4"))
                page->cancelButton()->click();
        });
        page->runButton()->click();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QVERIFY(page->plottedLevels() >= 3 && page->plottedLevels() < 12);
        QCOMPARE(int(page->sweeps().back().result.levels.size()), page->plottedLevels());
        QVERIFY(page->sweeps().back().result.cancelled);
    }

    void autosaveIsOfferedBack()
    {
        int plotted = 0;
        {
            MainWindow w(lightLoad(), "test");
            w.sweepPage()->levels()->setText("1, 2, 4");
            QSignalSpy done(w.sweepPage(), &SweepPage::sweepFinished);
            w.sweepPage()->run();
            QVERIFY(done.wait(knee::test::kEventTimeoutMs));
            // Issue 20: throughput still rises at 4, so the virtual sweep adds levels until it saturates.
            plotted = w.sweepPage()->plottedLevels();
            QVERIFY(plotted > 3);
        } // closed without saving, as a crash would leave it
        MainWindow next(lightLoad(), "test");
        QVERIFY(next.hasAutosave());
        QCOMPARE(next.restoreAutosave(), QString());
        QCOMPARE(next.sweepPage()->plottedLevels(), plotted);
        QVERIFY(next.sessionPath().isEmpty()); // recovered, not yet saved anywhere
    }

    void badSweepLevelsAreRefused()
    {
        MainWindow w(lightLoad(), "test");
        w.sweepPage()->levels()->setText("1, two, 4");
        QSignalSpy done(w.sweepPage(), &SweepPage::sweepFinished);
        w.sweepPage()->run();
        QVERIFY(!w.sweepPage()->isRunning());
        QCOMPARE(done.count(), 0);
        QVERIFY(w.sweepPage()->exportConfigYaml("/tmp/never.yaml").contains("Run a sweep first"));
    }

    void knobsAreRememberedAcrossLaunches()
    {
        {
            MainWindow w(lightLoad(), "test");
            drag(w.controls()->concurrencyTarget(), 9);
            w.close();
        }
        MainWindow again(lightLoad(), "test");
        QCOMPARE(again.controls()->concurrencyTarget()->value(), 9);
        QCOMPARE(again.host().scenario().deployment.concurrencyTarget, 9);

        // A damaged settings file is judged like a slider move: nothing impossible gets through.
        QSettings().setValue("knobs/concurrency_target", -5);
        QSettings().setValue("knobs/min_replicas", "lots");
        MainWindow third(lightLoad(), "test");
        QVERIFY(third.host().scenario().deployment.concurrencyTarget >= 1);
        QCOMPARE(third.host().scenario().validate(), std::string());
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
