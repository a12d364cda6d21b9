// Issue 16, the sweep page and the window around it, offscreen: results first (a table of levels
// that sorts by number and copies with units, a recommendation card with units and rules whose Apply
// moves the knobs, the SLO on the chart, a read-out per level, a form that folds away, endpoint fields
// only for endpoints, a chart that pops out and comes back); exports that preview, ask and confirm;
// a comparison that compares any curve and clears; stale state that goes with the scenario; feedback
// on long actions (the level running, time left, "Cancelling…"); shortcuts (F5, Space) and Help.
#include "ui_wait.h"
#include "window_test.h"
#include "ui/controls_panel.h"
#include "ui/endpoint_panel.h"
#include "ui/knob_control.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"

#include <QAction>
#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLineEdit>
#include <QMenu>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

#include <set>

using namespace knee;
using namespace knee::ui;

namespace {
// Two predict slots of 20 ms: the knee and saturation at 2 users, 100 req/s.
Scenario twoSlots()
{
    Scenario s;
    s.name = "two slots";
    s.deployment.concurrencyTarget = 4;
    s.deployment.predictConcurrency = 2;
    s.deployment.maxReplicas = 4;
    s.model.predict = Distribution::constant(20);
    s.workload.arrival = ArrivalConfig::poisson(50);
    s.workload.requests = 2000;
    return s;
}

using knee::test::sweep; // window_test.h
} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void init()
    {
        QSettings().clear();
        QFile::remove(MainWindow::autosavePath());
    }

    void resultsFirst()
    {
        MainWindow w(twoSlots(), "test");
        w.show();
        SweepPage* page = w.sweepPage();
        QVERIFY(!page->endpointPanel()->url()->isVisibleTo(page)); // the built-in engine has no endpoint fields
        page->slo()->setValue(50);
        QCOMPARE(page->sloLineMs(), 50.0); // the SLO is drawn on the chart
        QVERIFY(page->formBody()->isVisibleTo(page));
        QVERIFY(sweep(page, "1, 2, 4, 8"));
        QVERIFY(!page->formBody()->isVisibleTo(page)); // folded away: the answer gets the room
        QVERIFY(page->formSummary().contains("levels 1, 2, 4, 8"));

        // The table: one row per level, sorted by number (8 before 16), copyable with units.
        const SweepResult& r = page->sweeps().back().result;
        QTableWidget* t = page->levelTable();
        QCOMPARE(t->rowCount(), int(r.levels.size()));
        t->sortItems(0, Qt::DescendingOrder);
        QCOMPARE(t->item(0, 0)->text().toInt(), r.levels.back().concurrency);
        t->sortItems(4, Qt::AscendingOrder); // throughput, as numbers
        for (int row = 1; row < t->rowCount(); ++row)
            QVERIFY(t->item(row - 1, 4)->data(Qt::UserRole).toDouble() <= t->item(row, 4)->data(Qt::UserRole).toDouble());
        const QString tsv = page->levelsTsv();
        QVERIFY2(tsv.startsWith("Users\tp50 (ms)\tp95 (ms)\tp99 (ms)\tThroughput (req/s)"), qPrintable(tsv));
        QCOMPARE(tsv.count('\n'), int(r.levels.size()) + 1);
        t->selectRow(0);
        QCOMPARE(page->levelsTsv(true).count('\n'), 2); // Ctrl+C: the heading and the selected row
        page->findChild<QPushButton*>("copyLevels")->click();
        QCOMPARE(QApplication::clipboard()->text(), tsv);

        // The card: units and the rule behind each value.
        const QString card = page->recommendationText();
        QVERIFY2(card.contains("2 requests per replica"), qPrintable(card));
        QVERIFY(card.contains("saturation"));
        QVERIFY(card.contains("req/s"));
        // The read-out under the mouse, for a level.
        QVERIFY2(page->readoutAt(2).startsWith("2 users: p50 20.") && page->readoutAt(2).contains("req/s"), qPrintable(page->readoutAt(2)));

        // Apply moves the knobs (and the engine follows).
        QVERIFY(page->applyButton()->isEnabled());
        page->applyButton()->click();
        QCOMPARE(w.controls()->concurrencyTarget()->value(), r.recommendation.concurrencyTarget);
        QCOMPARE(w.controls()->predictConcurrency()->value(), r.recommendation.predictConcurrency);
        QTRY_COMPARE_WITH_TIMEOUT(w.host().snapshot()->engine.concurrencyTarget, r.recommendation.concurrencyTarget, knee::test::kEventTimeoutMs);
        QCOMPARE(w.currentScenario().deployment.concurrencyTarget, r.recommendation.concurrencyTarget);
        QVERIFY(page->statusText().startsWith("Applied"));

        // Pop out and back: the chart lives on.
        page->popOutChart(true);
        QVERIFY(page->chartPoppedOut());
        QVERIFY(page->chartView()->window() != &w);
        page->popOutChart(false);
        QVERIFY(!page->chartPoppedOut());
        QCOMPARE(page->chartView()->window(), &w);
    }

    void endpointFieldsOnlyForEndpoints()
    {
        MainWindow w(twoSlots(), "test");
        w.show();
        EndpointPanel* panel = w.sweepPage()->endpointPanel();
        QVERIFY(!panel->url()->isVisibleTo(panel));
        panel->targetChoice()->setCurrentIndex(panel->targetChoice()->findData(QStringLiteral("endpoint")));
        QVERIFY(panel->url()->isVisibleTo(panel) && panel->headers()->isVisibleTo(panel));
        QVERIFY(!w.sweepPage()->mode()->isEnabled());
    }

    // Each export says what it writes where, asks before writing (declining changes nothing), and says
    // afterwards what went where.
    void exportsPreviewAskAndConfirm()
    {
        QTemporaryDir dir;
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        QVERIFY(sweep(page, "1, 2, 4"));
        const int pc = page->sweeps().back().result.recommendation.predictConcurrency;
        QVERIFY(page->exportLabel(SweepPage::Export::ConfigYaml).contains(QString("predict_concurrency %1").arg(pc)));

        QString asked;
        bool answer = false;
        page->setConfirmer([&](const QString&, const QString& text) {
            asked = text;
            return answer;
        });
        const QString config = dir.filePath("config.yaml");
        QFile existing(config);
        QVERIFY(existing.open(QIODevice::WriteOnly));
        const QByteArray mine = "# mine\nmodel_name: m\nruntime:\n  predict_concurrency: 7 # tuned by hand\n";
        existing.write(mine);
        existing.close();
        page->setPathChooser([&](SweepPage::Export, const QString&) { return config; });
        QCOMPARE(page->exportConfigYaml(), QString()); // declined
        QVERIFY2(asked.contains(QString("runtime.predict_concurrency 7 → %1").arg(pc)), qPrintable(asked));
        QVERIFY(existing.open(QIODevice::ReadOnly));
        QCOMPARE(existing.readAll(), mine);
        existing.close();
        answer = true;
        QCOMPARE(page->exportConfigYaml(), QString());
        QVERIFY2(page->statusText().contains(QString("predict_concurrency: %1 into %2").arg(pc).arg(config)), qPrintable(page->statusText()));
        QVERIFY(existing.open(QIODevice::ReadOnly));
        const QByteArray edited = existing.readAll();
        QVERIFY(edited.contains("# tuned by hand") && edited.contains(QByteArray("predict_concurrency: ") + QByteArray::number(pc)));
        existing.close();

        // Replacing a file says so first.
        const QString csv = dir.filePath("s.csv");
        QFile old(csv);
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("old");
        old.close();
        page->setPathChooser([&](SweepPage::Export, const QString&) { return csv; });
        answer = false;
        QCOMPARE(page->exportCsv(), QString());
        QVERIFY2(asked.contains("It replaces the existing file (3 bytes)."), qPrintable(asked));
        QVERIFY(old.open(QIODevice::ReadOnly));
        QCOMPARE(old.readAll(), QByteArray("old"));
        old.close();
        answer = true;
        QCOMPARE(page->exportCsv(), QString());
        QVERIFY(page->statusText().startsWith("Wrote"));
        const QString json = dir.filePath("a.json");
        page->setPathChooser([&](SweepPage::Export, const QString&) { return json; });
        QCOMPARE(page->exportAutoscaling(), QString());
        QVERIFY2(asked.contains("Baseten") && asked.contains("concurrency target"), qPrintable(asked));
        QVERIFY(QFile::exists(json));
    }

    void comparisonComparesAnyCurveAndClears()
    {
        QTemporaryDir dir;
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        QVERIFY(sweep(page, "1, 2, 4"));
        QCOMPARE(w.saveSessionTo(dir.filePath("a.json")), QString());
        QCOMPARE(w.compareWithSession(dir.filePath("a.json")), QString());
        QVERIFY(page->comparisonShown());
        const auto& levels = page->sweeps().back().result.levels;
        QCOMPARE(page->comparisonPoints(), int(levels.size()));
        page->comparisonMetric()->setCurrentIndex(page->comparisonMetric()->findData(QStringLiteral("throughput")));
        QVERIFY(page->comparisonShown());
        page->clearComparison();
        QVERIFY(!page->comparisonShown());
    }

    // Loading another scenario leaves nothing of the old one behind: no refusal, no sweep; the title
    // names the scenario; a shaped arrival says what it is.
    void staleStateGoesWithTheScenario()
    {
        MainWindow w(twoSlots(), "test");
        ControlsPanel* c = w.controls();
        c->minReplicas()->slider()->setValue(9); // above max 4: refused
        QVERIFY(c->message().contains("Refused"));
        QVERIFY(sweep(w.sweepPage(), "1, 2"));
        QVERIFY(w.windowTitle().contains("two slots"));

        Scenario diurnal = twoSlots();
        diurnal.name = "a day";
        diurnal.workload.arrival.kind = ArrivalConfig::Kind::Diurnal;
        diurnal.workload.arrival.baselineRps = 10;
        diurnal.workload.arrival.peakRps = 80;
        w.loadScenario(diurnal, "day.yaml");
        QVERIFY2(!c->message().contains("Refused"), qPrintable(c->message()));
        QVERIFY(w.sweepPage()->sweeps().empty());
        QCOMPARE(w.sweepPage()->plottedLevels(), 0);
        QVERIFY(w.sweepPage()->statusText().contains("cleared"));
        QVERIFY2(w.windowTitle().startsWith("a day"), qPrintable(w.windowTitle()));
        QVERIFY2(c->loadPattern().contains("10 to 80 req/s"), qPrintable(c->loadPattern()));
        QVERIFY(!c->rate()->isEnabled());
    }

    // A live sweep names the level it measures and the time left; Cancel says "Cancelling…" at once.
    void liveSweepSaysWhereItIs()
    {
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4");
        page->mode()->setCurrentIndex(page->mode()->findData(QStringLiteral("live")));
        page->warmup()->setValue(0.2);
        page->window()->setValue(0.3);
        page->cap()->setValue(1);
        QStringList seen;
        QList<QPair<int, int>> bars; // the progress bar's (value, maximum) beside each status; maximum 0: busy
        connect(page, &SweepPage::levelFinished, page, [&] {
            seen << page->statusText();
            bars << qMakePair(page->progressBar()->value(), page->progressBar()->maximum());
            if (seen.size() == 2)
                page->cancelButton()->click();
        });
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY2(page->statusText().startsWith("Measuring level 1 (1 of 3)") && page->statusText().contains("left"), qPrintable(page->statusText()));
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QVERIFY2(seen.value(0).startsWith("Measuring level 2 (2 of 3)") && seen.value(0).contains("left"), qPrintable(seen.join(" | ")));
        QVERIFY(page->sweeps().back().result.cancelled);
        QVERIFY(page->statusText().startsWith("Cancelled"));
    }

    // An SLO search measures levels that are not listed: the status names the level the sweep started (or
    // says the next is being chosen), never the listed level the search skipped. Two slots of 20 ms: p95
    // is 20 ms per two users, so 125 ms holds up to about 12; 16 misses, then levels between are bisected.
    void aSearchSaysWhichLevelItMeasures()
    {
        // Live (a virtual sweep ends before its levels reach the page), short levels.
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32, 64");
        page->mode()->setCurrentIndex(page->mode()->findData(QStringLiteral("live")));
        page->warmup()->setValue(0.2);
        page->window()->setValue(0.3);
        page->cap()->setValue(1);
        page->slo()->setValue(125);
        page->searchSlo()->setChecked(true);
        QStringList seen;
        const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR");
        if (!shots.isEmpty()) {
            w.resize(1280, 900);
            w.show();
            if (auto* tabs = w.findChild<QTabWidget*>())
                tabs->setCurrentWidget(page);
        }
        QList<QPair<int, int>> bars; // the progress bar's (value, maximum) beside each status; maximum 0: busy
        connect(page, &SweepPage::levelFinished, page, [&] {
            seen << page->statusText();
            bars << qMakePair(page->progressBar()->value(), page->progressBar()->maximum());
            if (!shots.isEmpty() && page->statusText().contains(QStringLiteral("added by")))
                w.grab().save(shots + QStringLiteral("/sweep_search_progress.png"));
        });
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        qInfo().noquote() << "status at each finished level:" << seen.join(QStringLiteral(" | "));
        const SweepResult& r = page->sweeps().back().result;
        QVERIFY(r.search.has_value() && !r.search->bisected.empty());
        std::set<int> measured;
        for (const SweepLevel& l : r.levels)
            measured.insert(l.concurrency);
        QVERIFY(!measured.count(32) && !measured.count(64)); // the listed levels stopped at the first miss
        const std::set<int> listed{1, 2, 4, 8, 16, 32, 64};
        static const QRegularExpression level(QStringLiteral("^Measuring level (\\d+)"));
        int named = 0;
        static const QRegularExpression ofTotal(QStringLiteral("\\((\\d+) of (\\d+)\\)"));
        for (qsizetype i = 0; i < seen.size(); ++i) {
            const QString& text = seen[i];
            // How many levels the search still adds is not known: the bar is busy then, never full.
            if (text.startsWith(QStringLiteral("Starting the next level"))) {
                QCOMPARE(bars[i].second, 0);
                continue; // a level finished, the next has not started yet
            }
            const QRegularExpressionMatch m = level.match(text);
            QVERIFY2(m.hasMatch() && measured.count(m.captured(1).toInt()), qPrintable(seen.join(" | ")));
            QCOMPARE(!listed.count(m.captured(1).toInt()), text.contains(QStringLiteral("added by the SLO search")));
            if (text.contains(QStringLiteral("added by the SLO search"))) {
                QCOMPARE(bars[i].second, 0);
            } else { // a listed level: "(k of n)", the bar at k - 1 of n
                const QRegularExpressionMatch k = ofTotal.match(text);
                QVERIFY2(k.hasMatch(), qPrintable(text));
                QCOMPARE(bars[i], qMakePair(k.captured(1).toInt() - 1, k.captured(2).toInt()));
            }
            ++named;
        }
        QVERIFY2(named > 0 && seen.size() >= int(r.levels.size()) - 1, qPrintable(seen.join(" | ")));
    }

    void cancellingSaysSo()
    {
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        page->cancel();
        QCOMPARE(page->cancelButton()->text(), QStringLiteral("Cancelling…"));
        QVERIFY(!page->cancelButton()->isEnabled());
        QVERIFY(page->statusText().startsWith("Cancelling…"));
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QCOMPARE(page->cancelButton()->text(), QStringLiteral("Cancel"));
    }

    // F5 runs the sweep; Space pauses even while a number box has focus, and is still typed in text.
    void shortcutsAndHelp()
    {
        MainWindow w(twoSlots(), "test");
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QCOMPARE(w.runSweepAction()->shortcut(), QKeySequence(Qt::Key_F5));
        w.sweepPage()->levels()->setText("1, 2");
        QSignalSpy done(w.sweepPage(), &SweepPage::sweepFinished);
        QTest::keyClick(w.windowHandle(), Qt::Key_F5); // through the window, as a key press arrives
        // F5 started a sweep: it finishes. (Not "running now": a two-level virtual sweep may already be
        // done on its pool thread while its finished signal waits for this thread's event loop.)
        QVERIFY(done.count() == 1 || done.wait(knee::test::kEventTimeoutMs));

        QSpinBox* spin = w.controls()->concurrencyTarget()->spinBox();
        spin->setFocus();
        QTRY_VERIFY(spin->hasFocus());
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot() && !w.host().snapshot()->paused, knee::test::kEventTimeoutMs);
        QTest::keyClick(w.windowHandle(), Qt::Key_Space);
        QTRY_VERIFY_WITH_TIMEOUT(w.host().snapshot()->paused, knee::test::kEventTimeoutMs);
        QCOMPARE(spin->value(), w.controls()->concurrencyTarget()->value()); // nothing typed into it
        QTest::keyClick(w.windowHandle(), Qt::Key_Space);
        QTRY_VERIFY_WITH_TIMEOUT(!w.host().snapshot()->paused, knee::test::kEventTimeoutMs);
        QLineEdit* levels = w.sweepPage()->levels();
        w.findChild<QTabWidget*>("pages")->setCurrentIndex(1);
        levels->setFocus();
        QTRY_VERIFY(levels->hasFocus());
        levels->setText("1,2");
        levels->setCursorPosition(2);
        QTest::keyClick(w.windowHandle(), Qt::Key_Space);
        QCOMPARE(levels->text(), QStringLiteral("1, 2"));
        QTest::qWait(200);
        QVERIFY(!w.host().snapshot()->paused);

        QStringList help;
        for (QAction* a : w.helpMenu()->actions())
            if (!a->isSeparator())
                help << a->text();
        QVERIFY2(help.size() >= 4 && help.contains("&Getting Started") && help.contains("&Keyboard Shortcuts"), qPrintable(help.join(", ")));
    }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
