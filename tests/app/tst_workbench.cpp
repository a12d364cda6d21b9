// Issue 16, the sweep page and the window around it, offscreen: results first (a table of levels
// that sorts by number and copies with units, a recommendation card with units and rules whose Apply
// moves the knobs, the SLO on the chart, a read-out per level, a form that folds away, endpoint fields
// only for endpoints, a chart that pops out and comes back); exports that preview, ask and confirm;
// a comparison that compares any curve and clears; stale state that goes with the scenario; feedback
// on long actions (the level running, time left, "Cancelling…"); shortcuts (F5, Space) and Help.
// Issue 18 on the page: the load generator of an endpoint sweep (knee's client or Locust), what it
// builds, what it refuses before starting, how it is remembered, and each level's generator figures.
#include "ui_wait.h"
#include "../study/two_steady_states.h"
#include "window_test.h"
#include "ui/controls_panel.h"
#include "ui/endpoint_panel.h"
#include "ui/knob_control.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"

#include "net/http_server.h"

#include <QAction>
#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QDir>
#include <QElapsedTimer>
#include <QFormLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QScatterSeries>
#include <QScrollArea>
#include <QScrollBar>
#include <QThread>
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
#include <QTcpServer>
#include <QHostAddress>
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

// KNEE_LOCUST_BIN for one test, as knee sweep reads it; put back after.
struct LocustBinary {
    explicit LocustBinary(const QByteArray& path) { qputenv("KNEE_LOCUST_BIN", path); }
    ~LocustBinary() { qunsetenv("KNEE_LOCUST_BIN"); }
};

void chooseEndpoint(EndpointPanel* panel, const QString& url, const char* generator)
{
    panel->targetChoice()->setCurrentIndex(panel->targetChoice()->findData(QStringLiteral("endpoint")));
    panel->url()->setText(url);
    panel->loadGenerator()->setCurrentIndex(panel->loadGenerator()->findData(QString::fromLatin1(generator)));
}

// The page's form as the user sees it: the window 1280 px wide, the sweep page in front, its layout settled.
void showSweepPage(MainWindow& w)
{
    w.resize(1280, 900);
    w.show();
    if (auto* tabs = w.findChild<QTabWidget*>("pages"))
        tabs->setCurrentWidget(w.sweepPage());
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTest::qWait(50); // the form's scroll area settles its width after the first layout pass
}
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

    // Issue 18: the choice of load generator maps to the request knee sweep would make; it exists only for
    // an endpoint; it is remembered; Locust's fields show only for Locust.
    void locustChoiceBuildsTheRequest()
    {
        const LocustBinary bin("/bin/true"); // a stand-in: only whether it is executable matters here
        QTemporaryDir dir;
        const QString spool = dir.filePath("spool/records");
        {
            MainWindow w(twoSlots(), "test");
            SweepPage* page = w.sweepPage();
            EndpointPanel* panel = page->endpointPanel();
            QVERIFY(!panel->loadGenerator()->isVisibleTo(panel)); // the built-in engine makes its own load
            QVERIFY(!panel->loadGenerator()->isEnabled());
            QVERIFY(panel->loadGenerator()->toolTip().contains("built-in engine"));
            QCOMPARE(panel->workers()->value(), std::clamp(QThread::idealThreadCount(), 1, 256));
            QCOMPARE(panel->workers()->minimum(), 1);
            QCOMPARE(panel->workers()->maximum(), 256);

            chooseEndpoint(panel, "http://127.0.0.1:9/predict", "knee");
            QVERIFY(panel->loadGenerator()->isVisibleTo(panel) && panel->loadGenerator()->isEnabled());
            QVERIFY(!panel->workers()->isVisibleTo(panel) && !panel->locustSpool()->isVisibleTo(panel)); // knee's client has none
            QString error;
            std::optional<SweepRequest> request = page->request(error);
            QVERIFY2(request && error.isEmpty(), qPrintable(error));
            QVERIFY(request->endpoint && !request->locust);

            panel->loadGenerator()->setCurrentIndex(panel->loadGenerator()->findData(QStringLiteral("locust")));
            QVERIFY(panel->workers()->isVisibleTo(panel) && panel->locustWait()->isVisibleTo(panel) && panel->locustSpool()->isVisibleTo(panel));
            QVERIFY(!panel->locustNote()->isVisibleTo(panel)); // installed, nothing in the way
            panel->workers()->setValue(3);
            panel->locustWait()->setValue(7);
            panel->locustSpool()->setText(spool);
            request = page->request(error);
            QVERIFY2(request && error.isEmpty(), qPrintable(error));
            QVERIFY(request->locust.has_value());
            QCOMPARE(request->locust->workers, 3);
            QCOMPARE(request->locust->connectWaitS, 7);
            QCOMPARE(request->locust->spoolDir, spool);
            QCOMPARE(request->locust->locust, QStringLiteral("/bin/true"));
            QVERIFY(QFileInfo(spool).isDir()); // made before the sweep, as --locust-spool makes it
            QCOMPARE(checkSweepRequest(*request), QString());
            QVERIFY2(page->formSummary().contains("load from Locust (3 workers)"), qPrintable(page->formSummary()));

            if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
                showSweepPage(w);
                auto* form = page->findChild<QScrollArea*>("sweepForm");
                form->ensureWidgetVisible(panel->locustSpool());
                w.grab().save(shots + "/sweep_locust_choice.png");
                QTRY_VERIFY(!form->horizontalScrollBar()->isVisible()); // nothing cut at 1280 px
            }
        }
        // Remembered: the next window starts with the same choice and settings.
        MainWindow again(twoSlots(), "test");
        EndpointPanel* panel = again.sweepPage()->endpointPanel();
        QCOMPARE(panel->loadGenerator()->currentData().toString(), QStringLiteral("locust"));
        QCOMPARE(panel->workers()->value(), 3);
        QCOMPARE(panel->locustWait()->value(), 7);
        QCOMPARE(panel->locustSpool()->text(), spool);
        QVERIFY(!panel->workers()->isVisibleTo(panel)); // the target is not remembered: the built-in engine, no Locust fields
        // A hand-edited settings file cannot set what the form refuses.
        QSettings().setValue("sweep/locust_workers", 100000);
        QSettings().setValue("sweep/load_generator", "k6");
        MainWindow edited(twoSlots(), "test");
        QCOMPARE(edited.sweepPage()->endpointPanel()->workers()->value(), std::clamp(QThread::idealThreadCount(), 1, 256));
        QCOMPARE(edited.sweepPage()->endpointPanel()->loadGenerator()->currentData().toString(), QStringLiteral("knee"));
    }

    // Locust runs whatever the page's other settings ask (a rate sweep, repeats, /metrics scraping): no note
    // under the choice, and each reaches the request as knee sweep --load-generator locust builds it.
    void locustRunsEverySettingThePageOffers()
    {
        const LocustBinary bin("/bin/true");
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, "http://127.0.0.1:9/predict", "locust");
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("rates")));
        page->repeats()->setValue(2);
        panel->scrape()->setChecked(true);
        QVERIFY(!panel->locustNote()->isVisibleTo(panel));
        QString error;
        const std::optional<SweepRequest> request = page->request(error);
        QVERIFY2(request, qPrintable(error));
        QVERIFY(request->options.rateSweep());
        QCOMPARE(request->options.repeats, 2);
        QVERIFY(request->scrape);
        QVERIFY(request->locust);
        QVERIFY2(checkSweepRequest(*request).isEmpty(), qPrintable(checkSweepRequest(*request)));
        QVERIFY2(page->formSummary().contains(QStringLiteral("2 repeats")), qPrintable(page->formSummary()));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            showSweepPage(w);
            page->findChild<QScrollArea*>("sweepForm")->ensureWidgetVisible(panel->loadGenerator());
            w.grab().save(shots + "/sweep_locust_rates_repeats_scrape.png");
        }
    }

    // No Locust installed: the choice says so, and a sweep with it is refused with what to install; never a crash.
    void locustMissingIsRefused()
    {
        const LocustBinary bin("/nonexistent/locust");
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, "http://127.0.0.1:9/predict", "locust");
        QComboBox* choice = panel->loadGenerator();
        QVERIFY2(choice->currentText().contains("not installed"), qPrintable(choice->currentText()));
        QVERIFY(choice->itemData(choice->currentIndex(), Qt::ToolTipRole).toString().contains("install python3-locust"));
        QVERIFY2(panel->locustNote()->isVisibleTo(panel) && panel->locustNote()->text().contains("install python3-locust"),
                 qPrintable(panel->locustNote()->text() + QString::number(panel->locustNote()->isVisibleTo(panel))));
        QString error;
        QVERIFY(!page->request(error));
        QVERIFY2(error.contains("install python3-locust") && error.contains("/nonexistent/locust"), qPrintable(error));
        page->run();
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("install python3-locust"), qPrintable(page->statusText()));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            showSweepPage(w);
            page->findChild<QScrollArea*>("sweepForm")->ensureWidgetVisible(panel->locustNote());
            w.grab().save(shots + "/sweep_locust_missing.png");
        }
    }

    // A Locust sweep that fails before a level finishes (here a "locust" that exits at once) says why in the
    // page and keeps the sweep shown before.
    void aFailedLocustSweepSaysWhyAndKeepsTheLast()
    {
        const LocustBinary bin("/bin/false");
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        QVERIFY(sweep(page, "1, 2"));
        const int shown = page->plottedLevels();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, "http://127.0.0.1:9/predict", "locust");
        panel->workers()->setValue(1);
        panel->locustWait()->setValue(5);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(page->isRunning());
        QVERIFY2(page->statusText().startsWith("Starting Locust's master and 1 worker"), qPrintable(page->statusText()));
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QVERIFY2(page->statusText().startsWith("The sweep failed: ") && page->statusText().contains("Nothing was measured"),
                 qPrintable(page->statusText()));
        QCOMPARE(page->sweeps().size(), std::size_t(1)); // the engine's sweep, still on show
        QCOMPARE(page->plottedLevels(), shown);
        QVERIFY(page->runButton()->isEnabled());
    }

    // Each level's generator figures in the table (a column of its own, the whole figures in its tooltip),
    // a level where Locust fell behind marked in its row, the read-out and the evidence; saved with the session.
    void locustFiguresShowPerLevel()
    {
        QTemporaryDir dir;
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        QVERIFY(sweep(page, "1, 2, 4"));
        QTableWidget* t = page->levelTable();
        const auto column = [t](const QString& name) {
            for (int c = 0; c < t->columnCount(); ++c)
                if (t->horizontalHeaderItem(c)->text() == name)
                    return c;
            return -1;
        };
        const int generator = column("Load generator");
        const int notes = column("Notes");
        QVERIFY(generator >= 0 && notes >= 0);
        QVERIFY(t->isColumnHidden(generator)); // the engine's own load: no column
        std::vector<SessionSweep> sweeps = page->sweeps();
        for (SweepLevel& l : sweeps.back().result.levels) {
            LoadGeneratorFigures g;
            g.name = "locust";
            g.workers = 2;
            g.usersAsked = l.concurrency;
            g.usersMean = l.concurrency;
            g.usersMin = l.concurrency;
            g.cpuMaxPct = 10.0 * l.concurrency;
            g.loopLagMeanMs = 0.2;
            g.loopLagMaxMs = 1.5;
            if (l.concurrency == 4) {
                g.cpuMaxPct = 97;
                g.behind = true;
                g.why = "a worker's CPU reached 97 %";
            }
            l.generator = g;
        }
        analyzeSweep(sweeps.back().result, w.currentScenario(), sweeps.back().options); // the behind level is not used
        page->setSweeps(sweeps);
        QVERIFY(!t->isColumnHidden(generator) && !t->isColumnHidden(notes));
        QCOMPARE(t->rowCount(), 3);
        QCOMPARE(t->item(0, generator)->text(), QStringLiteral("2 workers, CPU 10 %"));
        QVERIFY(t->item(0, generator)->toolTip().contains("users asked 1"));
        QCOMPARE(t->item(0, notes)->text(), QString());
        QCOMPARE(t->item(2, generator)->text(), QStringLiteral("2 workers, CPU 97 % · behind"));
        QVERIFY2(t->item(2, generator)->toolTip().contains("Fell behind: a worker's CPU reached 97 %"), qPrintable(t->item(2, generator)->toolTip()));
        QVERIFY2(t->item(2, notes)->text().contains("load generator fell behind (a worker's CPU reached 97 %)"), qPrintable(t->item(2, notes)->text()));
        QVERIFY(t->item(2, 2)->toolTip().contains("not used for the knee or the recommendation")); // the whole row says so
        QVERIFY2(page->readoutAt(4).contains("Locust's 2 workers fell behind"), qPrintable(page->readoutAt(4)));
        QVERIFY2(page->readoutAt(1).contains("load from Locust's 2 workers, CPU 10 %"), qPrintable(page->readoutAt(1)));
        QVERIFY2(page->evidenceText().contains("Locust's workers fell behind"), qPrintable(page->evidenceText()));
        QVERIFY(page->levelsTsv().contains("Load generator"));
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            showSweepPage(w);
            t->scrollToItem(t->item(2, generator));
            w.grab().save(shots + "/sweep_locust_levels.png");
        }
        // The session keeps each level's figures (the same record knee sweep --out writes) and shows them again.
        const QString path = dir.filePath("locust.json");
        QCOMPARE(w.saveSessionTo(path), QString());
        QFile saved(path);
        QVERIFY(saved.open(QIODevice::ReadOnly));
        QVERIFY(saved.readAll().contains("\"load_generator\""));
        MainWindow reopened(twoSlots(), "test");
        QCOMPARE(reopened.openSessionFrom(path), QString());
        QTableWidget* t2 = reopened.sweepPage()->levelTable();
        QVERIFY(!t2->isColumnHidden(generator));
        QCOMPARE(t2->item(2, generator)->text(), QStringLiteral("2 workers, CPU 97 % · behind"));
    }

    // Issue 13: a dynamic-batching sweep's levels with more than one steady state say so in the table, the
    // read-out, the chart (the faster states as marks above the curve) and the evidence; a session keeps them.
    void steadyStatesShowPerLevel()
    {
        // 8 users make 6,667 req/s in one batch, 4,000 in two groups (tests/study/two_steady_states.h).
        Scenario s = knee::test::withTwoSteadyStates(twoSlots());
        s.name = "two states";
        s.deployment.concurrencyTarget = 64;
        s.deployment.maxReplicas = 1;
        QTemporaryDir dir;
        MainWindow w(s, "test");
        SweepPage* page = w.sweepPage();
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) { // the form, before the sweep
            showSweepPage(w);
            auto* form = w.findChild<QScrollArea*>("sweepForm");
            form->verticalScrollBar()->setValue(form->verticalScrollBar()->maximum());
            form->grab().save(shots + "/sweep_form_starts.png");
        }
        QVERIFY(sweep(page, "1, 8, 16, 32"));
        QTableWidget* t = page->levelTable();
        int states = -1;
        for (int c = 0; c < t->columnCount(); ++c)
            if (t->horizontalHeaderItem(c)->text() == "Steady states")
                states = c;
        QVERIFY(states >= 0 && !t->isColumnHidden(states));
        QCOMPARE(t->item(0, states)->text(), QStringLiteral("—")); // one user, one start
        QCOMPARE(t->item(1, 0)->text(), QStringLiteral("8"));
        QCOMPARE(t->item(1, states)->text(), QStringLiteral("several: 4000 – 6667 req/s"));
        QCOMPARE(t->item(1, 4)->text(), QStringLiteral("4000")); // the slowest start's throughput
        QVERIFY2(t->item(1, states)->toolTip().contains("more than one steady state"), qPrintable(t->item(1, states)->toolTip()));
        QCOMPARE(t->item(2, states)->text(), QStringLiteral("one (3 starts agree)"));
        QVERIFY2(page->readoutAt(8).contains("several steady states (all users at once 6667 req/s"), qPrintable(page->readoutAt(8)));
        QVERIFY2(page->evidenceText().contains("More than one steady state at 8 users (4000 req/s – 6667 req/s)"),
                 qPrintable(page->evidenceText()));
        QScatterSeries* other = nullptr;
        for (QAbstractSeries* series : page->chartView()->chart()->series())
            if (series->name() == "other steady state")
                other = qobject_cast<QScatterSeries*>(series);
        QVERIFY(other && other->isVisible());
        QCOMPARE(other->count(), 1); // 8 users' one-batch state; two groups and one by one are the curve's
        QCOMPARE(other->at(0).x(), 8.0);
        QVERIFY(std::abs(other->at(0).y() - knee::test::kOneBatchRps) < 1);
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            showSweepPage(w);
            t->scrollToItem(t->item(1, states));
            w.grab().save(shots + "/sweep_steady_states.png");
        }
        const QString path = dir.filePath("states.json");
        QCOMPARE(w.saveSessionTo(path), QString());
        MainWindow reopened(s, "test");
        QCOMPARE(reopened.openSessionFrom(path), QString());
        QCOMPARE(reopened.sweepPage()->levelTable()->item(1, states)->text(), QStringLiteral("several: 4000 – 6667 req/s"));

        // One start, chosen on the form: the old figures, no column; the form and the session remember it.
        QComboBox* starts = page->starts();
        QCOMPARE(starts->currentData().toInt(), 0); // automatic
        starts->setCurrentIndex(starts->findData(1));
        QVERIFY(page->formSummary().contains("1 start per level"));
        QVERIFY(sweep(page, "1, 8, 16, 32"));
        QVERIFY(t->isColumnHidden(states));
        QCOMPARE(t->item(1, 4)->text(), QStringLiteral("6667"));
        QCOMPARE(page->sweeps().back().options.starts, 1);
        QCOMPARE(w.saveSessionTo(path), QString());
        MainWindow again(s, "test");
        QCOMPARE(again.openSessionFrom(path), QString());
        QCOMPARE(again.sweepPage()->starts()->currentData().toInt(), 1);
        // Three starts with repeats is refused before anything runs, as knee sweep refuses it, and says what to change.
        starts->setCurrentIndex(starts->findData(3));
        page->repeats()->setValue(2);
        const int sweepsBefore = int(page->sweeps().size());
        page->run();
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("set Repeats to 1, or Starts to Automatic"), qPrintable(page->statusText()));
        QCOMPARE(int(page->sweeps().size()), sweepsBefore);
        page->repeats()->setValue(1);
        // A rate sweep has no users to start: the choice is greyed, the summary leaves it out, and back on users it returns.
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("rates")));
        QVERIFY(!starts->isEnabled());
        QVERIFY2(!page->formSummary().contains("per level"), qPrintable(page->formSummary()));
        page->load()->setCurrentIndex(page->load()->findData(QStringLiteral("users")));
        QVERIFY(starts->isEnabled());
        QVERIFY2(page->formSummary().contains("3 starts per level"), qPrintable(page->formSummary()));
        // An endpoint's levels start as its clients do: the choice is the engine's.
        chooseEndpoint(page->endpointPanel(), "http://127.0.0.1:9/predict", "knee");
        QVERIFY(!starts->isEnabled());
    }

    // One short, real Locust sweep (Debian's /usr/bin/locust, one worker, one level) against a server in
    // this process: the status names Locust while it runs; the level keeps Locust's figures; the sweep's
    // target says which generator ran, as knee sweep's does.
    void aRealLocustSweep()
    {
        if (!QFileInfo(EndpointPanel::locustBinary()).isExecutable())
            QSKIP("no Locust here (Debian's python3-locust; scripts/install-deps installs it)");
        net::HttpServer server([](const net::HttpRequest&, const std::shared_ptr<net::HttpExchange>& e) { e->respondJson(200, R"({"ok": true})"); });
        QVERIFY(server.listen(QHostAddress::LocalHost, 0).isEmpty());
        QTemporaryDir tmp;
        const QByteArray oldTmp = qgetenv("TMPDIR");
        qputenv("TMPDIR", tmp.path().toUtf8()); // the locustfile's private directory goes below this test's own
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, QStringLiteral("http://127.0.0.1:%1/predict").arg(server.port()), "locust");
        panel->workers()->setValue(1);
        panel->locustWait()->setValue(60);
        page->levels()->setText("2");
        page->warmup()->setValue(0.5);
        page->window()->setValue(0.5);
        page->cap()->setValue(2);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        QStringList seen;
        connect(page, &SweepPage::levelFinished, page, [&] { seen << page->statusText(); });
        QElapsedTimer clock;
        clock.start();
        page->run();
        QVERIFY2(page->statusText().startsWith("Starting Locust's master and 1 worker"), qPrintable(page->statusText()));
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        qInfo() << "a one-level Locust sweep took" << clock.elapsed() << "ms";
        if (oldTmp.isEmpty())
            qunsetenv("TMPDIR");
        else
            qputenv("TMPDIR", oldTmp);
        QVERIFY2(!page->statusText().contains("failed"), qPrintable(page->statusText()));
        const SweepResult& r = page->sweeps().back().result;
        QCOMPARE(r.levels.size(), std::size_t(1));
        QVERIFY(r.levels.front().generator.has_value());
        QCOMPARE(r.levels.front().generator->name, std::string("locust"));
        QCOMPARE(r.levels.front().generator->workers, 1);
        QVERIFY(r.levels.front().completed > 0);
        QVERIFY2(QByteArray::fromStdString(r.target).contains("\"load_generator\""), r.target.c_str());
        QVERIFY2(seen.value(0).contains("load from Locust's master and 1 worker"), qPrintable(seen.join(" | ")));
    }

    // Workers on other machines (knee sweep's --master-host) from the page: the master's address and port
    // reach the request; the spool row gives way (they keep their own records); a host that is not this
    // machine is refused with why.
    void locustWorkersElsewhereBuildTheRequest()
    {
        const LocustBinary bin("/bin/true");
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, "http://127.0.0.1:9/predict", "locust-remote");
        QVERIFY(panel->masterHost()->isVisibleTo(panel));
        QVERIFY(!panel->locustSpool()->isVisibleTo(panel));
        panel->masterHost()->setText("127.0.0.1");
        panel->masterPort()->setValue(5599);
        panel->workers()->setValue(3);
        QString error;
        const std::optional<SweepRequest> request = page->request(error);
        QVERIFY2(request, qPrintable(error));
        QVERIFY(request->locust->remoteWorkers());
        QCOMPARE(request->locust->masterHost, QStringLiteral("127.0.0.1"));
        QCOMPARE(request->locust->masterBind, QStringLiteral("127.0.0.1"));
        QCOMPARE(int(request->locust->masterPort), 5599);
        QCOMPARE(request->locust->workers, 3);
        QCOMPARE(request->locust->filesDir, EndpointPanel::locustFilesDir());
        QVERIFY2(page->formSummary().contains("3 workers elsewhere, master here at 127.0.0.1:5599"), qPrintable(page->formSummary()));
        QVERIFY(request->locust->spoolDir.isEmpty());
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            showSweepPage(w);
            page->findChild<QScrollArea*>("sweepForm")->ensureWidgetVisible(panel->masterHost());
            w.grab().save(shots + "/sweep_locust_workers_elsewhere.png");
        }
        panel->masterHost()->setText("192.0.2.1"); // TEST-NET: never this machine
        QVERIFY(!page->request(error));
        QVERIFY2(error.contains("is not an IPv4 address of this machine"), qPrintable(error));
        panel->masterHost()->clear();
        QVERIFY(!page->request(error));
        QVERIFY2(error.contains("Master here at"), qPrintable(error));
        // Remembered, as the other Locust settings.
        panel->masterHost()->setText("127.0.0.1");
        MainWindow again(twoSlots(), "test");
        QCOMPARE(again.sweepPage()->endpointPanel()->masterPort()->value(), 5599);
        QCOMPARE(again.sweepPage()->endpointPanel()->masterHost()->text(), QStringLiteral("127.0.0.1"));
    }

    // The page waits for workers elsewhere and says what to run; Cancel ends the wait at once (not after the
    // connect wait), and says so.
    void cancelEndsTheWaitForWorkersElsewhere()
    {
        if (!QFileInfo(EndpointPanel::locustBinary()).isExecutable())
            QSKIP("no Locust here (Debian's python3-locust; scripts/install-deps installs it)");
        QTemporaryDir home;
        const QByteArray oldHome = qgetenv("HOME");
        qputenv("HOME", home.path().toUtf8()); // knee writes ~/knee-locust: this test's own
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        EndpointPanel* panel = page->endpointPanel();
        chooseEndpoint(panel, "http://127.0.0.1:9/predict", "locust-remote");
        panel->masterHost()->setText("127.0.0.1");
        quint16 port = 0;
        {
            QTcpServer probe; // a port free now, for the master a moment later
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        panel->masterPort()->setValue(port);
        panel->workers()->setValue(2);
        panel->locustWait()->setValue(600);
        page->levels()->setText("1");
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(page->isRunning());
        QTRY_VERIFY2_WITH_TIMEOUT(page->statusText().startsWith("Waiting for 2 workers to connect to 127.0.0.1"), qPrintable(page->statusText()),
                                  knee::test::kEventTimeoutMs);
        QVERIFY(page->statusText().contains(QDir(home.path()).filePath("knee-locust")));
        QVERIFY(QFileInfo(QDir(home.path()).filePath("knee-locust/run-worker.sh")).isExecutable());
        QElapsedTimer cancelled;
        cancelled.start();
        page->cancel();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        qInfo() << "the wait for workers ended" << cancelled.elapsed() << "ms after Cancel";
        if (oldHome.isEmpty())
            qunsetenv("HOME");
        else
            qputenv("HOME", oldHome);
        QVERIFY(!page->isRunning());
        QVERIFY2(page->statusText().contains("cancelled while waiting for the locust workers"), qPrintable(page->statusText()));
    }

    void cancellingSaysSo()
    {
        MainWindow w(twoSlots(), "test");
        SweepPage* page = w.sweepPage();
        page->levels()->setText("1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048");
        // An hour of warm-up in virtual time: the first level alone takes a good fraction of a second, so the sweep
        // is still running when Cancel is pressed. With the defaults the whole sweep took a few tens of ms and a
        // fresh container once finished it first (Cancel then had nothing to cancel).
        page->warmup()->setValue(3600);
        QSignalSpy done(page, &SweepPage::sweepFinished);
        page->run();
        QVERIFY(page->isRunning());
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
