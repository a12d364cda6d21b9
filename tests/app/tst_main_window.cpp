// The window under QT_QPA_PLATFORM=offscreen: the default scenario runs and its report shows; a
// broken scenario in the editor gets its errors shown and nothing crashes.
#include "ui/main_window.h"

#include <QPlainTextEdit>
#include <QStandardPaths>
#include <QSignalSpy>
#include <QTest>

using knee::ui::MainWindow;

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void runsTheScenarioInTheEditor()
    {
        MainWindow w;
        w.loadScenarioText(QStringLiteral("deployment: {replicas: {min: 1, max: 1}, concurrency_target: 2}\n"
                                          "model: {predict: {dist: constant, mean_ms: 10}}\n"
                                          "workload: {arrival: {kind: closed, users: 2}, requests: 100}\n"),
                           QStringLiteral("inline.yaml"));
        QSignalSpy finished(&w, &MainWindow::simulationFinished);
        w.simulate();
        QVERIFY(finished.wait(30'000));
        const QString report = w.findChild<QPlainTextEdit*>(QStringLiteral("report"))->toPlainText();
        QVERIFY2(report.contains(QStringLiteral("100 completed")), qPrintable(report));
        // Two users, 10 ms predict, target 2: no queueing, every request takes exactly 10 ms.
        QVERIFY2(report.contains(QStringLiteral("p50 10.0")), qPrintable(report));
    }

    void showsScenarioErrorsInsteadOfCrashing()
    {
        MainWindow w;
        w.loadScenarioText(QStringLiteral("deployment: [1, 2\nmodel: {"), QStringLiteral("broken.yaml"));
        QSignalSpy finished(&w, &MainWindow::simulationFinished);
        w.simulate();
        QVERIFY(finished.wait(30'000));
        const QString report = w.findChild<QPlainTextEdit*>(QStringLiteral("report"))->toPlainText();
        QVERIFY2(report.contains(QStringLiteral("nothing was run")), qPrintable(report));
        QVERIFY2(report.contains(QStringLiteral("broken.yaml")), qPrintable(report));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
