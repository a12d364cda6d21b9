// The window's twin (issue 15), offscreen: "Make a twin…" on the sweep page fits one to the shown sweep
// and shows the engine fit's own figures (one row per level used, the replay and cross-validation errors
// as fitTwin computes them, the notes); Save writes a scenario that reads back as a twin of what was
// measured, with the session it came from; Open makes it the window's scenario, and a banner above the
// pages says what it is a twin of until a scenario that is not a twin replaces it. A sweep that cannot
// identify a twin shows why and what to measure next, with nothing to save or open; without a finished
// sweep the button is off and says why.
//
// KNEE_TWIN_SCREENSHOTS=DIR also saves the dialog, the sweep page and the window with its banner (light
// and dark) there as PNG, for people to look at.
#include "window_test.h"
#include "twin_window_test.h"
#include "ui/controls_panel.h"
#include "ui/theme.h"
#include "ui/twin_dialog.h"

#include "io/scenario_reader.h"
#include "session/twin_file.h"

#include <QApplication>
#include <QDir>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace knee;
using namespace knee::ui;


namespace {

// An LLM server streaming 16 tokens a response (tst_twin's): a decode step over the sequences in flight, 4 at most.
Scenario streamingTruth()
{
    return scenarioOf("name: stream truth\n"
                      "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 1000, predict_concurrency: 1000}\n"
                      "model:\n"
                      "  preprocess: 1\n"
                      "  predict: {dist: constant, mean_ms: 8}\n"
                      "  predict_table: {batch: [1, 2, 4, 8, 16, 32, 64], ms: [8.5, 9, 10, 12, 16, 24, 40]}\n"
                      "  batching: {mode: continuous, max_sequences: 4, output_tokens: {dist: constant, mean: 16}, prefill_ms: 2}\n"
                      "workload: {arrival: {kind: poisson, rate_rps: 10}, duration_s: 10}\n");
}

} // namespace

class TestTwinWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { knee::test::useScratchSettings(); }
    void init() { knee::test::forgetEarlierTests(); }

    void offWithoutASweep()
    {
        MainWindow w(truth(), "truth.yaml");
        SweepPage* page = w.sweepPage();
        QVERIFY(!page->twinButton()->isEnabled());
        QVERIFY2(page->twinButton()->toolTip().startsWith("Run a sweep first"), qPrintable(page->twinButton()->toolTip()));
        page->makeTwin(); // called anyway: says why, fits nothing
        QVERIFY(!page->isFittingTwin());
        QVERIFY(page->statusText().startsWith("Run a sweep first"));
        QVERIFY(page->twinDialog() == nullptr);
        QCOMPARE(w.twinBannerText(), QString()); // a scenario people wrote is no twin
        QCOMPARE(page->saveTwin(QDir::temp().filePath("never.yaml")), QStringLiteral("Make a twin first: there is none to save yet."));
    }

    void fitsSavesAndOpens()
    {
        QTemporaryDir dir;
        MainWindow w(truth(), "truth.yaml");
        w.resize(1280, 800);
        w.show();
        SweepPage* page = w.sweepPage();
        QVERIFY(knee::test::sweep(page, "1, 2, 4, 8, 16"));
        QVERIFY(page->twinButton()->isEnabled());
        // Saved: the twin names the session that holds its sweep.
        const QString session = dir.filePath("truth.json");
        QCOMPARE(w.saveSessionTo(session), QString());

        TwinDialog* d = makeTwin(page);
        QVERIFY(d);
        QVERIFY(page->twinButton()->isEnabled());
        const SweepResult& measured = page->sweeps().back().result;
        const TwinFit expected = fitTwin(measured, twinFitOptions(measured));
        QVERIFY2(expected.ok(), expected.refusal.c_str());
        QCOMPARE(expected.used, (std::vector<int>{1, 2, 4, 8, 16}));
        QCOMPARE(int(expected.replay.size()), int(expected.used.size()));
        expectChecks(d->replayTable(), expected.replay);
        QVERIFY(!expected.crossValidation.empty());
        expectChecks(d->crossValidationTable(), expected.crossValidation);
        QVERIFY2(d->headline().startsWith("Twin of truth, measured "), qPrintable(d->headline()));
        QVERIFY(d->headline().contains("replays them within "));
        QVERIFY(!d->notesText().isEmpty());
        QVERIFY(d->notesText().contains(QString::fromStdString(expected.notes.front()).left(40)));
        QVERIFY(d->saveButton()->isEnabled() && d->openButton()->isEnabled());
        w.findChild<QTabWidget*>("pages")->setCurrentWidget(page);
        screenshot(d, "twin_dialog.png");
        screenshot(&w, "twin_sweep_page.png", d);

        // Save: where, what it writes (asked first), and the file reads back as a twin of what was measured.
        const QString path = dir.filePath("twin.yaml");
        SweepPage::Export askedKind = SweepPage::Export::Csv;
        page->setPathChooser([&](SweepPage::Export kind, const QString&) {
            askedKind = kind;
            return path;
        });
        QString asked;
        page->setConfirmer([&](const QString&, const QString& text) {
            asked = text;
            return true;
        });
        d->saveButton()->click();
        QVERIFY(askedKind == SweepPage::Export::Twin);
        QVERIFY2(asked.startsWith(QString("Writes %1: twin of truth as a scenario").arg(path)), qPrintable(asked));
        QVERIFY2(d->statusText() == QString("Saved twin of truth to %1").arg(path), qPrintable(d->statusText()));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.readAll().startsWith("# Twin of truth"));
        const ScenarioReadResult read = readScenarioFile(path.toStdString());
        QVERIFY(read.ok());
        QVERIFY(read.scenario->twin.has_value());
        const TwinSource& source = *read.scenario->twin;
        QCOMPARE(source.endpoint, std::string("truth"));
        QCOMPARE(source.mode, std::string("virtual"));
        QCOMPARE(source.levels, expected.used);
        QCOMPARE(source.session, QFileInfo(session).absoluteFilePath().toStdString());
        QVERIFY(!source.measuredAt.empty());
        QCOMPARE(source.replay.concurrency, expected.used);

        // Open: the twin is the window's scenario, and the banner says what it is a twin of.
        d->openButton()->click();
        QVERIFY(w.currentScenario().twin.has_value());
        QCOMPARE(w.scenarioName(), path); // saved: it opens as that file
        QVERIFY2(w.twinBannerText().startsWith("Twin of truth, measured "), qPrintable(w.twinBannerText()));
        QCOMPARE(w.twinBannerText(), QString::fromStdString(twinBanner(source)) + '.');
        QVERIFY(page->sweeps().empty()); // the sweep measured the scenario before
        QTRY_VERIFY_WITH_TIMEOUT(page->twinDialog() == nullptr, knee::test::kEventTimeoutMs); // closed once opened
        QVERIFY(!page->twinButton()->isEnabled());
        w.findChild<QTabWidget*>("pages")->setCurrentIndex(0); // the live view, serving the twin
        screenshot(&w, "twin_banner.png");
        applyTheme(Theme::Dark);
        QApplication::processEvents(); // the palette reaches the widgets through events
        screenshot(&w, "twin_banner_dark.png");
        applyTheme(Theme::Light);
        QApplication::processEvents();

        // A scenario that is not a twin takes the banner away; the twin's file, opened, brings it back.
        QCOMPARE(w.loadScenario(truth(), "truth.yaml"), std::string());
        QCOMPARE(w.twinBannerText(), QString());
        QCOMPARE(w.loadScenario(*read.scenario, path), std::string());
        QCOMPARE(w.twinBannerText(), QString::fromStdString(twinBanner(source)) + '.');

        // A what-if through the knobs: the banner names what moved from the twin's settings as opened (the
        // ones it was fitted at, for this file), through a Reset (which reloads the edited knobs) too; moved
        // back, the banner is as it was.
        const QString plain = w.twinBannerText();
        KnobValues k = w.controls()->knobs();
        const int fitted = k.predictConcurrency, fittedMax = k.maxReplicas;
        k.predictConcurrency = fitted + 4;
        k.maxReplicas = fittedMax + 2;
        QCOMPARE(w.controls()->applyKnobs(k), std::string());
        const QString whatIf = plain
            + QStringLiteral(" What-if: predict_concurrency %1 (as opened: %2), max replicas %3 (as opened: %4); the sweep checked the twin at "
                             "its own settings.")
                  .arg(fitted + 4).arg(fitted).arg(fittedMax + 2).arg(fittedMax);
        QTRY_COMPARE_WITH_TIMEOUT(w.twinBannerText(), whatIf, knee::test::kEventTimeoutMs);
        w.resize(1024, 700); // the smallest size the window supports, with the longest banner
        screenshot(&w, "twin_banner_whatif_1024x700.png");
        w.resetRun();
        QCOMPARE(w.currentScenario().deployment.predictConcurrency, fitted + 4);
        QTRY_COMPARE_WITH_TIMEOUT(w.twinBannerText(), whatIf, knee::test::kEventTimeoutMs);
        k.predictConcurrency = fitted;
        k.maxReplicas = fittedMax;
        QCOMPARE(w.controls()->applyKnobs(k), std::string());
        QTRY_COMPARE_WITH_TIMEOUT(w.twinBannerText(), plain, knee::test::kEventTimeoutMs);
    }

    // A rate sweep of the same deployment on the page, then the closed-loop sweep: Make a twin replays the rate
    // sweep's levels to choose the order (how the replica divides itself among the requests in flight), and
    // the dialog shows that check beside the others.
    void rateSweepChoosesTheOrder()
    {
        MainWindow w(truth(), "truth.yaml");
        w.resize(1280, 800);
        w.show();
        SweepPage* page = w.sweepPage();
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("rates")));
        page->rates()->setText("40, 70");
        {
            QSignalSpy done(page, &SweepPage::sweepFinished);
            page->run();
            QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        }
        QVERIFY(page->sweeps().back().options.rateSweep());
        QVERIFY(!page->twinButton()->isEnabled()); // a rate sweep alone makes no twin
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("users")));
        QVERIFY(knee::test::sweep(page, "1, 2, 4, 8, 16"));
        TwinDialog* d = makeTwin(page);
        QVERIFY(d);
        const SweepResult& measured = page->sweeps().back().result;
        TwinFitOptions options = twinFitOptions(measured);
        options.crossValidate = false; // the rate checks are the same with or without it: one fit less
        addRateLevels(options, measured, page->sweeps());
        // 40 and 70 req/s, and the rates the page's virtual sweep added until the replica fell behind (those
        // are not replayed: a level it did not keep up with says nothing of the order).
        QVERIFY(options.rateLevels.size() >= 2);
        const TwinFit expected = fitTwin(measured, options);
        QVERIFY2(expected.ok(), expected.refusal.c_str());
        QVERIFY(expected.rateChecks.size() >= 2);
        QCOMPARE(expected.rateChecks.front().rateRps, 40.0);
        const QTableWidget* table = d->rateChecksTable();
        QCOMPARE(table->rowCount(), int(expected.rateChecks.size()));
        QCOMPARE(table->horizontalHeaderItem(TwinDialog::Users)->text(), QString("Rate (req/s)"));
        for (int row = 0; row < table->rowCount(); ++row) {
            const TwinLevelCheck& c = expected.rateChecks[std::size_t(row)];
            QCOMPARE(table->item(row, TwinDialog::Users)->data(Qt::UserRole).toDouble(), c.rateRps);
            QCOMPARE(table->item(row, TwinDialog::P50)->data(Qt::UserRole).toDouble(), c.p50ErrorPct());
            QCOMPARE(table->item(row, TwinDialog::P95)->data(Qt::UserRole).toDouble(), c.p95ErrorPct());
        }
        QVERIFY2(d->notesText().contains("chosen by replaying the session's rate sweep"), qPrintable(d->notesText()));
        screenshot(d, "twin_dialog_rates.png");
    }

    void streamsShowTokenErrors()
    {
        MainWindow w(streamingTruth(), "stream.yaml");
        SweepPage* page = w.sweepPage();
        QVERIFY(knee::test::sweep(page, "1, 2, 4, 8, 16"));
        QVERIFY(page->sweeps().back().result.levels.front().ttft.count > 0);
        TwinDialog* d = makeTwin(page);
        QVERIFY(d);
        const SweepResult& measured = page->sweeps().back().result;
        TwinFitOptions options = twinFitOptions(measured);
        options.crossValidate = false; // the replay is the same with or without it: one fit less
        const TwinFit expected = fitTwin(measured, options);
        QVERIFY2(expected.ok(), expected.refusal.c_str());
        QVERIFY(expected.replay.front().streaming);
        expectChecks(d->replayTable(), expected.replay);
    }

    // Two levels cannot identify a service curve: the dialog says so and what to measure; nothing to save or open.
    // (A sweep of levels 1 and 2 as a session would bring it back: the window's virtual sweeps add levels
    // until throughput stops rising.)
    void refusalSaysWhyAndOffersNothing()
    {
        QTemporaryDir dir;
        MainWindow w(truth(), "truth.yaml");
        SweepPage* page = w.sweepPage();
        SweepOptions two;
        two.levels = {1, 2};
        two.extendLimit = 0;
        page->setSweeps({SessionSweep{two, runVirtualSweep(w.currentScenario(), two)}});
        QCOMPARE(int(page->sweeps().back().result.levels.size()), 2);
        QVERIFY(page->twinButton()->isEnabled()); // the fit, not the button, judges the levels
        TwinDialog* d = makeTwin(page);
        QVERIFY(d);
        QVERIFY2(d->headline().startsWith("No twin: only 2 usable level(s): a service curve needs at least 3"), qPrintable(d->headline()));
        // In the window's words: its fields, never a command-line flag.
        QVERIFY2(d->measureNextText().contains("sweep again with Levels (users) 1, 2, 4, 8, 16, 32 on this page"),
                 qPrintable(d->measureNextText()));
        QVERIFY2(!d->measureNextText().contains("--"), qPrintable(d->measureNextText()));
        QVERIFY(!d->serialButton()->isVisibleTo(d)); // not the refusal a serial fit answers
        QVERIFY(!d->saveButton()->isEnabled());
        QVERIFY(!d->openButton()->isEnabled());
        QCOMPARE(d->replayTable()->rowCount(), 0);
        QVERIFY(page->statusText().startsWith("No twin: only 2 usable level(s)"));
        const QString path = dir.filePath("twin.yaml");
        QVERIFY(!page->saveTwin(path).isEmpty());
        QVERIFY(!QFile::exists(path));
        QVERIFY(!page->openTwin().isEmpty());
        QVERIFY(!w.currentScenario().twin.has_value());
        QCOMPARE(w.twinBannerText(), QString());
        QVERIFY(page->twinButton()->isEnabled()); // the sweep is still there: it may be fitted again
        screenshot(d, "twin_refusal.png");
    }

    // A replica whose throughput is flat from level 1 (tst_cli_fit's "flat"): the fit cannot tell a queue in
    // front of it from a replica that serves one request at a time, so it refuses and the dialog offers
    // Fit as serial (the command line's --serial); clicked, it fits the same sweep as fitTwin does with
    // `serial`, and the advice never names a flag.
    void flatSweepOffersASerialFit()
    {
        MainWindow w(scenarioOf("name: flat\n"
                                "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 64}\n"
                                "model:\n"
                                "  predict: {dist: lognormal, mean_ms: 20, sigma: 0.3}\n"
                                "workload: {arrival: {kind: poisson, rate_rps: 10}, duration_s: 60}\n"),
                     "flat.yaml");
        SweepPage* page = w.sweepPage();
        QVERIFY(knee::test::sweep(page, "1, 2, 4, 8, 16"));
        TwinDialog* refused = makeTwin(page);
        QVERIFY(refused);
        QVERIFY2(refused->headline().startsWith("No twin: throughput is flat from level 1"), qPrintable(refused->headline()));
        QVERIFY2(refused->measureNextText().contains("Fit as serial, in this dialog"), qPrintable(refused->measureNextText()));
        QVERIFY2(!refused->measureNextText().contains("--"), qPrintable(refused->measureNextText()));
        QVERIFY(refused->serialButton()->isVisibleTo(refused));
        QVERIFY(!refused->saveButton()->isEnabled());
        screenshot(refused, "twin_flat_refusal.png");

        const SweepResult& measured = page->sweeps().back().result;
        TwinFitOptions options = twinFitOptions(measured);
        options.serial = true;
        const TwinFit expected = fitTwin(measured, options);
        QVERIFY2(expected.ok(), expected.refusal.c_str());
        QSignalSpy shown(page, &SweepPage::twinShown);
        refused->serialButton()->click();
        QVERIFY(shown.wait(kFitTimeoutMs));
        TwinDialog* d = page->twinDialog();
        QVERIFY(d && d != refused);
        QVERIFY(d->saveButton()->isEnabled());
        QVERIFY(!d->serialButton()->isVisibleTo(d));
        QVERIFY2(d->headline().startsWith("Twin of flat"), qPrintable(d->headline())); // its time of fitting is its own
        expectChecks(d->replayTable(), expected.replay);
        // Make a twin starts afresh: neither serial nor any level left out carries over from a refit.
        TwinDialog* again = makeTwin(page);
        QVERIFY(again && again != d);
        QVERIFY2(again->headline().startsWith("No twin: throughput is flat from level 1"), qPrintable(again->headline()));
        QVERIFY(again->serialButton()->isVisibleTo(again));
    }
};

QTEST_MAIN(TestTwinWindow)
#include "tst_twin_window.moc"
