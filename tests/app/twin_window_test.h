// Helpers of the window's twin tests (tst_twin_window, tst_twin_window_stream): scenarios, Make a twin and
// wait for its dialog, the dialog's table against the fit's checks, and screenshots for people.
#pragma once

#include "window_test.h"
#include "ui/twin_dialog.h"

#include "io/scenario_reader.h"

#include <QPainter>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

namespace {

using namespace knee;
using namespace knee::ui;


Scenario scenarioOf(const char* yaml)
{
    const ScenarioReadResult read = readScenarioText(yaml, "test");
    if (!read.ok())
        qFatal("%s", read.errors.front().toString().c_str());
    return *read.scenario;
}

// The deployment measured (tst_cli_fit's "truth"): a semaphore of 4 in front of a device the calls share.
Scenario truth()
{
    return scenarioOf("name: truth\n"
                      "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 64, predict_concurrency: 4}\n"
                      "model:\n"
                      "  preprocess: 2\n"
                      "  predict: {dist: lognormal, mean_ms: 20, sigma: 0.3}\n"
                      "  predict_sharing: {speedup: [1, 1.5, 1.8, 2.0]}\n"
                      "workload: {arrival: {kind: poisson, rate_rps: 50}, duration_s: 60}\n");
}

// Clicks Make a twin and waits for its dialog. A fit with its cross-validation takes seconds in a plain
// build and about two minutes under ASan on CI's 2 cores, where kEventTimeoutMs (120 s) once ran out first
// (twenty-second session): the wait is a bound for a hang, not a measure of speed.
constexpr int kFitTimeoutMs = 600'000;
TwinDialog* makeTwin(SweepPage* page)
{
    QSignalSpy shown(page, &SweepPage::twinShown);
    page->twinButton()->click();
    if (page->twinButton()->isEnabled()) // off while it fits: no second fit of the same sweep
        return nullptr;
    return shown.wait(kFitTimeoutMs) ? page->twinDialog() : nullptr;
}

// The table shows these checks: one row per level, in order, each error as the fit computed it.
void expectChecks(const QTableWidget* table, const std::vector<TwinLevelCheck>& checks)
{
    QCOMPARE(table->rowCount(), int(checks.size()));
    for (int row = 0; row < table->rowCount(); ++row) {
        const TwinLevelCheck& c = checks[std::size_t(row)];
        auto value = [&](int column) { return table->item(row, column)->data(Qt::UserRole).toDouble(); };
        QCOMPARE(table->item(row, TwinDialog::Users)->text().toInt(), c.concurrency);
        QCOMPARE(value(TwinDialog::Throughput), c.throughputErrorPct());
        QCOMPARE(value(TwinDialog::P50), c.p50ErrorPct());
        QCOMPARE(value(TwinDialog::P95), c.p95ErrorPct());
        QCOMPARE(value(TwinDialog::Worst), c.worstErrorPct());
        QCOMPARE(table->item(row, TwinDialog::P50)->text(), QString::asprintf("%+.1f %%", c.p50ErrorPct()));
        for (int column : {TwinDialog::TtftP50, TwinDialog::TtftP95, TwinDialog::ItlP50})
            QCOMPARE(table->isColumnHidden(column), !c.streaming);
        if (c.streaming) {
            QCOMPARE(value(TwinDialog::TtftP50), c.ttftP50ErrorPct());
            QCOMPARE(value(TwinDialog::TtftP95), c.ttftP95ErrorPct());
            QCOMPARE(value(TwinDialog::ItlP50), c.itlP50ErrorPct());
        }
    }
}

// `over`, if given, is drawn framed on the grab's left, as a dialog stands over its window (the page's
// buttons on the right stay in sight).
void screenshot(QWidget* widget, const QString& name, QWidget* over = nullptr)
{
    const QString dir = qEnvironmentVariable("KNEE_TWIN_SCREENSHOTS");
    if (dir.isEmpty())
        return;
    QPixmap image = widget->grab();
    if (over) {
        const QPixmap top = over->grab();
        QPainter painter(&image);
        const QPoint at(40, std::max(0, (image.height() - top.height()) / 2));
        painter.drawPixmap(at, top);
        painter.setPen(QPen(Qt::black, 2));
        painter.drawRect(QRect(at, top.size()).adjusted(-1, -1, 0, 0));
    }
    QVERIFY(image.save(dir + QLatin1Char('/') + name));
}


} // namespace
