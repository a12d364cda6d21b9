// Issue 16, wrong results first: the window holds ONE scenario. A preset chosen in the Model box is what
// the sweep measures, what Simulate in Virtual Time runs, what a saved session holds and what the
// exports write (one test per path); the knobs every one of them reads are the engine's (a scenario's
// timed change moves the sliders, and the saved settings and sweeps take the value it set); and
// `--screenshot` leaves no autosave behind for the next launch to offer.
#include "ui_wait.h"
#include "ui/controls_panel.h"
#include "ui/knob_control.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"

#include "io/scenario_reader.h"
#include "session/session.h"

#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace knee;
using namespace knee::ui;

namespace {
// The file the window was opened on: light, cheap, and unlike every preset.
Scenario opened()
{
    Scenario s;
    s.name = "opened file";
    s.deployment.concurrencyTarget = 4;
    s.deployment.predictConcurrency = 2;
    s.model.predict = Distribution::constant(5);
    s.workload.arrival = ArrivalConfig::poisson(50);
    s.workload.requests = 2000;
    return s;
}

// Chooses a built-in preset the way the Model box does; returns its scenario as the file reads.
Scenario choosePreset(MainWindow& w, const QString& resource)
{
    QComboBox* box = w.controls()->preset();
    const int i = box->findData(resource);
    box->setCurrentIndex(i);
    emit box->activated(i);
    QFile f(resource);
    f.open(QIODevice::ReadOnly);
    return *readScenarioText(f.readAll().toStdString(), resource.toStdString()).scenario;
}

const QString kTruss = QStringLiteral(":/presets/standard_truss.yaml");
} // namespace

class TestOneScenario : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void init()
    {
        QSettings().clear();
        QFile::remove(MainWindow::autosavePath());
    }

    void presetIsWhatTheSweepMeasures()
    {
        MainWindow w(opened(), "opened.yaml");
        const Scenario preset = choosePreset(w, kTruss);
        QCOMPARE(w.currentScenario().name, preset.name);
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const SweepResult& r = page->sweeps().back().result;
        QCOMPARE(r.scenarioName, preset.name);
        // One predict slot of ~50 ms (the preset), not two of 5 ms (the file opened before): at most ~20 req/s.
        QVERIFY2(r.levels.front().throughputRps < 25, qPrintable(QString::number(r.levels.front().throughputRps)));
        QVERIFY(r.levels.front().latency.p50 > 40);
    }

    void presetIsWhatSimulateRuns()
    {
        MainWindow w(opened(), "opened.yaml");
        const Scenario preset = choosePreset(w, kTruss);
        QSignalSpy done(&w, &MainWindow::virtualRunFinished);
        w.simulateVirtual();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const QString report = done.first().first().toString();
        QVERIFY2(report.contains(QString::fromStdString("Scenario: " + preset.name)), qPrintable(report));
        QVERIFY(!report.contains("opened file"));
    }

    void presetIsWhatTheSessionSaves()
    {
        QTemporaryDir dir;
        MainWindow w(opened(), "opened.yaml");
        const Scenario preset = choosePreset(w, kTruss);
        QCOMPARE(w.saveSessionTo(dir.filePath("s.json")), QString());
        const SessionLoad load = loadSession(dir.filePath("s.json"));
        QVERIFY(load.session);
        const ScenarioReadResult saved = readScenarioText(load.session->scenarioYaml.toStdString(), "s.json");
        QVERIFY(saved.ok());
        QCOMPARE(saved.scenario->name, preset.name);
        QCOMPARE(saved.scenario->model.predict.meanMs, preset.model.predict.meanMs);
        QCOMPARE(saved.scenario->deployment.predictConcurrency, preset.deployment.predictConcurrency);
        QCOMPARE(saved.scenario->model.profile, preset.model.profile);
        QVERIFY2(w.windowTitle().contains(QString::fromStdString(preset.name)), qPrintable(w.windowTitle())); // the title names it
    }

    void presetIsWhatTheExportsWrite()
    {
        QTemporaryDir dir;
        MainWindow w(opened(), "opened.yaml");
        const Scenario preset = choosePreset(w, kTruss);
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        const QString knative = dir.filePath("kn.yaml"), config = dir.filePath("config.yaml");
        QCOMPARE(page->exportAutoscaling(knative), QString());
        QCOMPARE(page->exportConfigYaml(config), QString());
        QFile k(knative), c(config);
        QVERIFY(k.open(QIODevice::ReadOnly) && c.open(QIODevice::ReadOnly));
        const QByteArray kn = k.readAll(), cf = c.readAll();
        // Both are named after the preset's model, not after the file opened before.
        QVERIFY2(!kn.contains("opened") && !cf.contains("opened"), kn.constData());
        QVERIFY2(cf.contains("model_name: " + QByteArray::fromStdString(preset.name)), cf.constData());
    }

    // A timed change in the scenario moves the slider when it applies; sweeps and saved settings take
    // the engine's value, not the one the scenario started with.
    void timedChangesMoveTheSliders()
    {
        Scenario s = opened();
        KnobChange change;
        change.atS = 0.5;
        change.concurrencyTarget = 9;
        change.maxReplicas = 3;
        s.deployment.maxReplicas = 2;
        s.changes.push_back(change);
        MainWindow w(s, "changes.yaml");
        w.show();
        QTRY_COMPARE_WITH_TIMEOUT(w.controls()->concurrencyTarget()->value(), 9, knee::test::kEventTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.controls()->maxReplicas()->value(), 3, knee::test::kEventTimeoutMs);
        QCOMPARE(w.currentScenario().deployment.concurrencyTarget, 9);
        QCOMPARE(w.currentScenario().deployment.maxReplicas, 3);
        w.close(); // saves the knobs
        QCOMPARE(QSettings().value("knobs/concurrency_target").toInt(), 9);
    }

    // Item 2: a grab leaves no autosave, so the next launch offers nothing the user never saw.
    void screenshotWritesNoAutosave()
    {
        QTemporaryDir home;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("HOME", home.path());
        env.insert("XDG_DATA_HOME", home.filePath("data"));
        env.insert("XDG_CONFIG_HOME", home.filePath("config"));
        env.insert("QT_QPA_PLATFORM", "offscreen");
        env.remove("KNEE_TEST_AUTOSAVE_WITH_SCREENSHOT");
        QProcess knee;
        knee.setProcessEnvironment(env);
        knee.start(KNEE_BINARY, {"--screenshot", home.filePath("sweep.png"), "--page", "sweep", "--after", "0"});
        QVERIFY(knee.waitForFinished(120'000));
        QCOMPARE(knee.exitCode(), 0);
        QVERIFY(QFile::exists(home.filePath("sweep.png")));
        QVERIFY2(!QFile::exists(home.filePath("data/knee/knee/autosave.knee-session.json")), "the grab left an autosave");
    }
};

QTEST_MAIN(TestOneScenario)
#include "tst_one_scenario.moc"
