#include "main_window.h"

#include "io/scenario_reader.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QToolBar>
#include <QtConcurrent/QtConcurrentRun>

namespace knee::ui {

namespace {

SimulationOutcome runScenarioText(const std::string& yaml, const std::string& source)
{
    SimulationOutcome outcome;
    ScenarioReadResult read = readScenarioText(yaml, source);
    if (!read.ok()) {
        for (const auto& e : read.errors)
            outcome.errors += QString::fromStdString(e.toString()) + QLatin1Char('\n');
        return outcome;
    }
    outcome.summary = simulateScenario(*read.scenario);
    return outcome;
}

QString reportText(const RunSummary& s);

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
{
    setWindowTitle(tr("knee — concurrency workbench"));
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);

    m_scenario = new QPlainTextEdit(this);
    m_scenario->setFont(mono);
    m_scenario->setObjectName(QStringLiteral("scenarioEditor"));
    m_report = new QPlainTextEdit(this);
    m_report->setReadOnly(true);
    m_report->setFont(mono);
    m_report->setObjectName(QStringLiteral("report"));
    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_scenario);
    splitter->addWidget(m_report);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    setCentralWidget(splitter);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open Scenario…"), QKeySequence::Open, this, &MainWindow::openScenario);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    auto* run = menuBar()->addMenu(tr("&Run"));
    m_simulateAction = run->addAction(tr("&Simulate (virtual time)"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::simulate);
    auto* toolbar = addToolBar(tr("Run"));
    toolbar->setObjectName(QStringLiteral("runToolbar"));
    toolbar->addAction(m_simulateAction);
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About knee"), this, [this] {
        QMessageBox::about(this, tr("About knee"),
                           tr("knee %1\nA workbench for tuning the concurrency of model-serving deployments.")
                               .arg(QApplication::applicationVersion()));
    });

    connect(&m_watcher, &QFutureWatcher<SimulationOutcome>::finished, this, &MainWindow::showOutcome);

    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    if (!settings.contains(QStringLiteral("window/geometry")))
        resize(1200, 760);
    statusBar()->showMessage(tr("Ready"));
}

MainWindow::~MainWindow() { m_watcher.waitForFinished(); }

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings().setValue(QStringLiteral("window/geometry"), saveGeometry());
    event->accept();
}

void MainWindow::loadScenarioText(const QString& yaml, const QString& sourceName)
{
    m_scenario->setPlainText(yaml);
    m_sourceName = sourceName;
    setWindowFilePath(sourceName);
}

bool MainWindow::isSimulating() const { return m_watcher.isRunning(); }

void MainWindow::openScenario()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Scenario"), QString(), tr("Scenarios (*.yaml *.yml)"));
    if (path.isEmpty())
        return;
    QFile f(path);
    if (f.size() > 16 * 1024 * 1024 || !f.open(QIODevice::ReadOnly)) {
        QMessageBox::warning(this, tr("Open Scenario"), tr("Cannot read %1: %2").arg(path, f.errorString()));
        return;
    }
    loadScenarioText(QString::fromUtf8(f.readAll()), path);
    simulate();
}

void MainWindow::simulate()
{
    if (m_watcher.isRunning())
        return;
    m_simulateAction->setEnabled(false);
    statusBar()->showMessage(tr("Simulating in virtual time…"));
    m_watcher.setFuture(QtConcurrent::run(runScenarioText, m_scenario->toPlainText().toStdString(),
                                          (m_sourceName.isEmpty() ? QStringLiteral("(editor)") : m_sourceName).toStdString()));
}

void MainWindow::showOutcome()
{
    m_simulateAction->setEnabled(true);
    const SimulationOutcome outcome = m_watcher.result();
    if (!outcome.summary) {
        m_report->setPlainText(tr("The scenario has problems; nothing was run.\n\n") + outcome.errors);
        statusBar()->showMessage(tr("Scenario has errors"));
    } else {
        m_report->setPlainText(reportText(*outcome.summary));
        statusBar()->showMessage(tr("Simulated %1 requests in %2 s").arg(outcome.summary->arrived).arg(outcome.summary->wallS, 0, 'f', 2));
    }
    emit simulationFinished();
}

namespace {
QString reportText(const RunSummary& s)
{
    const auto& l = s.latency;
    QString t = QObject::tr("%1\n\n").arg(QString::fromStdString(s.scenarioName));
    t += QObject::tr("Requests      %1 arrived · %2 completed · %3 failed · %4 rejected\n")
             .arg(s.arrived)
             .arg(s.completed)
             .arg(s.failed)
             .arg(s.rejected);
    t += QObject::tr("Throughput    %1 req/s\n\n").arg(s.throughputRps, 0, 'f', 1);
    t += QObject::tr("Latency (ms)  p50 %1 · p95 %2 · p99 %3 · max %4\n\n")
             .arg(l.p50, 0, 'f', 1)
             .arg(l.p95, 0, 'f', 1)
             .arg(l.p99, 0, 'f', 1)
             .arg(l.max, 0, 'f', 1);
    t += QObject::tr("Where the time goes (mean ms)\n");
    const char* labels[] = {"Deployment queue", "Preprocess", "Waiting for predict slot", "Predict", "Postprocess"};
    for (int p = 0; p < kPartCount; ++p)
        t += QStringLiteral("  %1 %2\n").arg(QObject::tr(labels[p]), -26).arg(s.parts[std::size_t(p)].mean, 8, 'f', 2);
    for (const auto& w : s.warnings)
        t += QObject::tr("\nWarning: %1").arg(QString::fromStdString(w));
    return t;
}
} // namespace

} // namespace knee::ui
