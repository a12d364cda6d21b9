#include "main_window.h"

#include "autoscaler_panel.h"
#include "controls_panel.h"
#include "deployment_view.h"
#include "live_charts.h"
#include "sweep_page.h"
#include "theme.h"

#include "io/scenario_reader.h"
#include "session/session.h"

#include <QAction>
#include <QMenu>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTabWidget>
#include <QFileDialog>
#include <QFontDatabase>
#include <QGroupBox>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace knee::ui {

namespace {
constexpr int kRefreshMs = 25; // 40 Hz: leaves room under the 33 ms frame budget for jitter
constexpr std::int64_t kVirtualRequestsIfUnbounded = 200'000;

QString clockText(Nanos t)
{
    const qint64 s = t / kNanosPerSecond;
    return QStringLiteral("%1:%2:%3").arg(s / 3600, 2, 10, QLatin1Char('0')).arg(s / 60 % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'));
}
} // namespace

MainWindow::MainWindow(const Scenario& scenario, const QString& sourceName, QWidget* parent)
    : QMainWindow(parent)
    , m_fileScenario(scenario)
    , m_sourceName(sourceName)
{
    setWindowTitle(tr("knee — concurrency workbench"));
    setObjectName(QStringLiteral("mainWindow"));
    m_host = std::make_unique<LiveEngineHost>(scenario);

    m_controls = new ControlsPanel(*m_host, this);
    m_autoscaler = new AutoscalerPanel(*m_host, this);
    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(m_controls);
    auto* autoscaling = new QGroupBox(tr("Autoscaler"), side);
    auto* autoscalingLayout = new QVBoxLayout(autoscaling);
    autoscalingLayout->addWidget(m_autoscaler);
    sideLayout->addWidget(autoscaling);
    sideLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff); // the panel wraps to the dock's width
    scroll->setWidget(side);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* dock = new QDockWidget(tr("Controls"), this);
    dock->setObjectName(QStringLiteral("controlsDock"));
    dock->setWidget(scroll);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    dock->setMinimumWidth(290);
    addDockWidget(Qt::LeftDockWidgetArea, dock);

    m_view = new DeploymentView(this);
    auto* viewScroll = new QScrollArea(this);
    viewScroll->setWidget(m_view);
    viewScroll->setWidgetResizable(true);
    viewScroll->setFrameShape(QFrame::NoFrame);
    m_counters = new QLabel(this);
    m_counters->setObjectName(QStringLiteral("counters"));
    m_counters->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(4, 4, 4, 0);
    topLayout->addWidget(m_counters);
    topLayout->addWidget(viewScroll, 1);
    m_charts = new LiveCharts(this);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(top);
    splitter->addWidget(m_charts);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({320, 480}); // room for a row of replica cards without a scroll bar at 1280×800
    m_sweep = new SweepPage(this);
    m_sweep->setScenarioProvider([this] { return currentScenario(); });
    connect(m_sweep, &SweepPage::sweepFinished, this, &MainWindow::autosave);
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("pages"));
    m_tabs->addTab(splitter, tr("&Live"));
    m_tabs->addTab(m_sweep, tr("S&weep"));
    setCentralWidget(m_tabs);

    m_clockStatus = new QLabel(this);
    statusBar()->addPermanentWidget(m_clockStatus);
    buildMenus();

    connect(m_controls, &ControlsPanel::scenarioReplaced, this, [this] {
        m_autoscaler->syncFromHost();
        m_charts->clear();
        m_shownSequence = 0;
    });
    connect(&m_virtualRun, &QFutureWatcher<RunSummary>::finished, this, [this] {
        m_simulateAction->setEnabled(true);
        const QString report = QString::fromStdString(formatSummary(m_virtualRun.result()));
        statusBar()->showMessage(tr("Virtual-time run finished"), 5000);
        emit virtualRunFinished(report);
        if (!QApplication::platformName().startsWith(QLatin1String("offscreen"))) {
            auto* dialog = new QDialog(this);
            dialog->setWindowTitle(tr("Virtual-time run"));
            dialog->setAttribute(Qt::WA_DeleteOnClose);
            auto* text = new QPlainTextEdit(report, dialog);
            text->setReadOnly(true);
            text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
            auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
            connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
            auto* layout = new QVBoxLayout(dialog);
            layout->addWidget(text);
            layout->addWidget(buttons);
            dialog->resize(760, 420);
            dialog->show();
        }
    });

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1280, 800);
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    restoreKnobs();

    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setInterval(kRefreshMs);
    connect(m_refreshTimer, &QTimer::timeout, this, &MainWindow::refresh);
    m_refreshTimer->start();
    m_sinceLastFrame.start();
    statusBar()->showMessage(tr("Serving %1 live").arg(sourceName), 5000);
}

MainWindow::~MainWindow() { m_virtualRun.waitForFinished(); }

void MainWindow::buildMenus()
{
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open Scenario…"), QKeySequence::Open, this, &MainWindow::openScenario);
    file->addSeparator();
    file->addAction(tr("Open &Session…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this, &MainWindow::openSession);
    m_recentMenu = file->addMenu(tr("Recent Sessions"));
    file->addAction(tr("&Save Session"), QKeySequence::Save, this, &MainWindow::saveSession);
    file->addAction(tr("Save Session &As…"), QKeySequence::SaveAs, this, &MainWindow::saveSessionAs);
    file->addAction(tr("&Compare With Session…"), this, &MainWindow::compareSession);
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    auto* run = menuBar()->addMenu(tr("&Run"));
    m_pauseAction = run->addAction(tr("&Pause"), QKeySequence(Qt::Key_Space), this, &MainWindow::togglePause);
    m_pauseAction->setToolTip(tr("Pause or resume the live engine (Space)"));
    run->addAction(tr("&Reset"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this, &MainWindow::resetRun)
        ->setToolTip(tr("Start the live run again from time zero with the current knobs"));
    run->addSeparator();
    m_simulateAction = run->addAction(tr("&Simulate in Virtual Time"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::simulateVirtual);
    m_simulateAction->setToolTip(tr("Run the current knobs against the scenario's workload in virtual time and report"));

    auto* toolbar = addToolBar(tr("Run"));
    toolbar->setObjectName(QStringLiteral("runToolbar"));
    toolbar->addAction(m_pauseAction);
    toolbar->addAction(run->actions().at(1));
    toolbar->addSeparator();
    toolbar->addAction(m_simulateAction);

    auto* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
    auto* themes = view->addMenu(tr("&Theme"));
    auto* group = new QActionGroup(this);
    for (auto [theme, label] : {std::pair{Theme::System, tr("&System")}, std::pair{Theme::Light, tr("&Light")}, std::pair{Theme::Dark, tr("&Dark")}}) {
        QAction* a = themes->addAction(label, this, [theme] {
            applyTheme(theme);
            saveTheme(theme);
        });
        a->setCheckable(true);
        a->setChecked(savedTheme() == theme);
        group->addAction(a);
    }

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About knee"), this, [this] {
        QMessageBox::about(this, tr("About knee"),
                           tr("knee %1\nA workbench for tuning the concurrency of model-serving deployments.")
                               .arg(QApplication::applicationVersion()));
    });
}

QString MainWindow::countersText() const { return m_counters->text(); }

void MainWindow::refresh()
{
    const qint64 interval = m_sinceLastFrame.nsecsElapsed();
    m_sinceLastFrame.restart();
    m_frameIntervals.record(interval);
    const auto snap = m_host->snapshot();
    if (!snap || snap->sequence == m_shownSequence)
        return;
    m_shownSequence = snap->sequence;
    const EngineSnapshot& e = snap->engine;
    m_view->setSnapshot(e);
    m_charts->addWindows(snap->recentWindows);
    m_autoscaler->showSnapshot(*snap);
    // The counters always add up: arrived = completed + failed + rejected + in flight.
    m_counters->setText(tr("Run clock %1   ·   arrived %2 = completed %3 + failed %4 + rejected %5 + in flight %6 "
                           "(queued %7, held %8)")
                            .arg(clockText(e.now))
                            .arg(e.arrived)
                            .arg(e.completed)
                            .arg(e.failed)
                            .arg(e.rejected)
                            .arg(e.queued + e.held)
                            .arg(e.queued)
                            .arg(e.held));
    m_pauseAction->setText(snap->paused ? tr("&Resume") : tr("&Pause"));
    const ModelConfig& model = m_host->scenario().model;
    QString predict = snap->realPredict          ? QString::fromStdString(snap->predictStage)
        : model.predictTable.empty()             ? tr("sampled stage times")
                                                 : tr("table (%1)").arg(QString::fromStdString(model.predictTable.source));
    if (model.batching.mode == BatchingConfig::Mode::Dynamic)
        predict += tr(", dynamic batching");
    else if (model.batching.mode == BatchingConfig::Mode::Continuous)
        predict += tr(", continuous batching");
    if (e.predictErrors > 0 || e.replicaStartFailures > 0)
        predict += tr(" · %1 failed calls, %2 failed replica starts, last: %3")
                       .arg(e.predictErrors)
                       .arg(e.replicaStartFailures)
                       .arg(QString::fromStdString(e.lastPredictError));
    m_clockStatus->setText(tr("%1 · %2 · live clock lag p99 %3 ms")
                               .arg(snap->paused ? tr("Paused") : tr("Live"),
                                    snap->realPredict ? predict : tr("predict: %1").arg(predict))
                               .arg(snap->lag.p99, 0, 'f', 2));
    m_clockStatus->setToolTip(QString::fromStdString(snap->predictNotice.empty() ? snap->predictStage : snap->predictNotice));
    // A real model on the CPU runs at the CPU's pace: say so where the eye goes, with the way out.
    if (snap->predictFellBackToCpu)
        m_clockStatus->setText(m_clockStatus->text() + tr(" · slow on the CPU: Model → \"Predict: modelled times\" for GPU-like timing"));
    m_clockStatus->setStyleSheet(snap->predictFellBackToCpu ? QStringLiteral("color: #b35900;") : QString());
    emit refreshed();
}

QString MainWindow::runStatus() const { return m_clockStatus->text(); }

void MainWindow::togglePause()
{
    const auto snap = m_host->snapshot();
    if (snap && snap->paused)
        m_host->resume();
    else
        m_host->pause();
}

void MainWindow::resetRun()
{
    if (const std::string e = m_host->reset(m_host->scenario()); !e.empty())
        statusBar()->showMessage(tr("Reset refused: %1").arg(QString::fromStdString(e)), 8000);
    m_charts->clear();
    m_shownSequence = 0;
}

void MainWindow::loadScenario(const Scenario& scenario, const QString& sourceName)
{
    if (const std::string e = m_host->reset(scenario); !e.empty()) { // read files were validated; keep the run if not
        statusBar()->showMessage(tr("Cannot serve %1: %2").arg(sourceName, QString::fromStdString(e)), 8000);
        return;
    }
    m_fileScenario = scenario;
    m_sourceName = sourceName;
    setWindowFilePath(sourceName);
    m_controls->syncFromHost();
    m_autoscaler->syncFromHost();
    m_charts->clear();
    m_shownSequence = 0;
}

void MainWindow::openScenario()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Scenario"), QString(), tr("Scenarios (*.yaml *.yml);;All files (*)"));
    if (path.isEmpty())
        return;
    const ScenarioReadResult read = readScenarioFile(path.toStdString());
    if (!read.ok()) {
        QStringList lines;
        for (const auto& e : read.errors)
            lines << QString::fromStdString(e.toString());
        QMessageBox box(QMessageBox::Warning, tr("Open Scenario"), tr("%1 cannot be used; the current run goes on.").arg(path),
                        QMessageBox::Ok, this);
        box.setDetailedText(lines.join(QLatin1Char('\n')));
        box.setInformativeText(lines.value(0));
        box.exec();
        return;
    }
    loadScenario(*read.scenario, path);
}

void MainWindow::simulateVirtual()
{
    if (m_virtualRun.isRunning())
        return;
    // The scenario's own workload (its request count or duration), with the knobs as they are now.
    Scenario s = currentScenario();
    s.changes.clear();
    if (s.workload.requests == 0 && s.workload.durationS >= limits::kMaxDurationS)
        s.workload.requests = kVirtualRequestsIfUnbounded;
    m_simulateAction->setEnabled(false);
    statusBar()->showMessage(tr("Simulating in virtual time…"));
    m_virtualRun.setFuture(QtConcurrent::run([s] { return simulateScenario(s); }));
}

Scenario MainWindow::currentScenario() const
{
    Scenario s = m_fileScenario;
    const Scenario& live = m_host->scenario();
    s.deployment = live.deployment;
    s.workload.arrival = live.workload.arrival;
    return s;
}

QString MainWindow::saveSessionTo(const QString& path)
{
    Session session;
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(currentScenario()));
    session.scenarioSource = m_sourceName;
    session.sweeps = m_sweep->sweeps();
    session.grids = m_sweep->grids();
    if (const QString e = knee::saveSession(session, path); !e.isEmpty())
        return e;
    m_sessionPath = path;
    setWindowFilePath(path);
    rememberRecent(path);
    QFile::remove(autosavePath()); // saved: nothing left to recover
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
    return {};
}

QString MainWindow::openSessionFrom(const QString& path)
{
    const SessionLoad load = loadSession(path);
    if (!load.session)
        return load.error;
    const ScenarioReadResult read = readScenarioText(load.session->scenarioYaml.toStdString(), path.toStdString());
    if (!read.ok()) // loadSession checked it already; keep the window as it is if not
        return QString::fromStdString(read.errors.front().toString());
    loadScenario(*read.scenario, load.session->scenarioSource);
    m_sweep->setSweeps(load.session->sweeps, load.session->grids);
    m_sessionPath = path;
    setWindowFilePath(path);
    rememberRecent(path);
    m_tabs->setCurrentWidget(m_sweep);
    return {};
}

QString MainWindow::compareWithSession(const QString& path)
{
    const SessionLoad load = loadSession(path);
    if (!load.session)
        return load.error;
    m_sweep->setComparison(QFileInfo(path).fileName(), load.session->sweeps);
    m_tabs->setCurrentWidget(m_sweep);
    return {};
}

QString MainWindow::autosavePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/autosave.knee-session.json");
}

bool MainWindow::hasAutosave() const { return QFile::exists(autosavePath()); }

QString MainWindow::restoreAutosave()
{
    const QString e = openSessionFrom(autosavePath());
    m_sessionPath.clear(); // a recovered session is not saved yet: Save asks where
    setWindowFilePath(QString());
    return e;
}

// After every sweep: an unsaved sweep survives a crash, and is offered back on the next launch.
void MainWindow::autosave()
{
    QDir().mkpath(QFileInfo(autosavePath()).path());
    Session session;
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(currentScenario()));
    session.scenarioSource = m_sourceName;
    session.sweeps = m_sweep->sweeps();
    session.grids = m_sweep->grids();
    if (const QString e = knee::saveSession(session, autosavePath()); !e.isEmpty())
        statusBar()->showMessage(tr("Autosave failed: %1").arg(e), 8000);
}

void MainWindow::openSession()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Session"), QString(), tr("knee sessions (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    if (const QString e = openSessionFrom(path); !e.isEmpty())
        QMessageBox::warning(this, tr("Open Session"), e);
}

void MainWindow::saveSession()
{
    if (m_sessionPath.isEmpty())
        return saveSessionAs();
    if (const QString e = saveSessionTo(m_sessionPath); !e.isEmpty())
        QMessageBox::warning(this, tr("Save Session"), e);
}

void MainWindow::saveSessionAs()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save Session"), QStringLiteral("session.json"), tr("knee sessions (*.json)"));
    if (path.isEmpty())
        return;
    if (const QString e = saveSessionTo(path); !e.isEmpty())
        QMessageBox::warning(this, tr("Save Session"), e);
}

void MainWindow::compareSession()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Compare With Session"), QString(), tr("knee sessions (*.json)"));
    if (path.isEmpty())
        return;
    if (const QString e = compareWithSession(path); !e.isEmpty())
        QMessageBox::warning(this, tr("Compare With Session"), e);
}

void MainWindow::rememberRecent(const QString& path)
{
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("recentSessions")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    settings.setValue(QStringLiteral("recentSessions"), recent.mid(0, 8));
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentSessions")).toStringList();
    for (const QString& path : recent)
        m_recentMenu->addAction(QFileInfo(path).fileName(), this, [this, path] {
            if (const QString e = openSessionFrom(path); !e.isEmpty())
                QMessageBox::warning(this, tr("Open Session"), e);
        })->setToolTip(path);
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    saveKnobs();
    event->accept();
}

void MainWindow::saveKnobs() const
{
    QSettings settings;
    const Scenario& s = m_host->scenario();
    settings.beginGroup(QStringLiteral("knobs"));
    settings.setValue(QStringLiteral("concurrency_target"), s.deployment.concurrencyTarget);
    settings.setValue(QStringLiteral("predict_concurrency"), s.deployment.predictConcurrency);
    settings.setValue(QStringLiteral("min_replicas"), s.deployment.minReplicas);
    settings.setValue(QStringLiteral("max_replicas"), s.deployment.maxReplicas);
    settings.setValue(QStringLiteral("rate_rps"), s.workload.arrival.rateRps);
    settings.setValue(QStringLiteral("users"), s.workload.arrival.users);
    settings.endGroup();
}

// Last session's knobs, each through the same validation as a slider move: a hand-edited or
// stale settings file cannot put the engine into a state the UI would refuse.
void MainWindow::restoreKnobs()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("knobs"));
    if (!settings.contains(QStringLiteral("concurrency_target")))
        return;
    bool ok = false;
    auto intValue = [&](const char* key, int fallback) {
        const int v = settings.value(QLatin1String(key)).toInt(&ok);
        return ok ? v : fallback;
    };
    const Scenario& s = m_host->scenario();
    m_host->setReplicaBounds(intValue("min_replicas", s.deployment.minReplicas), intValue("max_replicas", s.deployment.maxReplicas));
    m_host->setPredictConcurrency(intValue("predict_concurrency", s.deployment.predictConcurrency));
    m_host->setConcurrencyTarget(intValue("concurrency_target", s.deployment.concurrencyTarget));
    if (s.workload.arrival.kind == ArrivalConfig::Kind::Closed)
        m_host->setUsers(intValue("users", s.workload.arrival.users));
    else if (const double rate = settings.value(QStringLiteral("rate_rps")).toDouble(&ok); ok)
        m_host->setArrivalRate(rate);
    settings.endGroup();
    m_controls->syncFromHost();
}

} // namespace knee::ui
