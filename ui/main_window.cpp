#include "main_window.h"

#include "autoscaler_panel.h"
#include "controls_panel.h"
#include "deployment_view.h"
#include "input_guards.h"
#include "live_charts.h"
#include "sweep_page.h"

#include "live/backend_executor.h"
#include "io/scenario_reader.h"
#include "study/twin.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace knee::ui {

namespace {
constexpr int kRefreshMs = 25; // 40 Hz: leaves room under the 33 ms frame budget for jitter
constexpr std::int64_t kVirtualRequestsIfUnbounded = 200'000;

// A strip of `background` with `text` in `ink`: fixed colours, not the palette's, so the same readable pair
// shows in the light and the dark theme. Its layout holds `label`; a button may follow.
QFrame* banner(const QString& name, const char* background, const char* ink, QLabel*& label, QWidget* parent)
{
    auto* frame = new QFrame(parent);
    frame->setObjectName(name);
    frame->setStyleSheet(QStringLiteral("#%1 { background: %2; border-radius: 4px; } #%1 QLabel { color: %3; }")
                             .arg(name, QLatin1String(background), QLatin1String(ink)));
    auto* layout = new QHBoxLayout(frame);
    layout->setContentsMargins(8, 4, 8, 4);
    label = new QLabel(frame);
    label->setWordWrap(true);
    layout->addWidget(label, 1);
    return frame;
}

QString clockText(Nanos t)
{
    const qint64 s = t / kNanosPerSecond;
    return QStringLiteral("%1:%2:%3").arg(s / 3600, 2, 10, QLatin1Char('0')).arg(s / 60 % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'));
}
} // namespace

MainWindow::MainWindow(const Scenario& scenario, const QString& sourceName, QWidget* parent)
    : QMainWindow(parent)
    , m_scenario(scenario)
    , m_twinOpened(scenario.twin ? std::optional(scenario.deployment) : std::nullopt)
    , m_sourceName(sourceName)
{
    setObjectName(QStringLiteral("mainWindow"));
    // The process's predict backend, set up the first time a scenario with a model profile starts.
    m_host = std::make_unique<LiveEngineHost>(scenario, [] { return &sharedPredictBackend(); });

    m_controls = new ControlsPanel(*m_host, this);
    m_controls->setScenarioAccess([this] { return currentScenario(); },
                                  [this](const Scenario& s, const QString& name) { return replaceScenario(s, name); });
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
    scroll->setObjectName(QStringLiteral("controlsScroll"));
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff); // the panel wraps to the dock's width
    scroll->setWidget(side);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* dock = new QDockWidget(tr("Controls"), this);
    dock->setObjectName(QStringLiteral("controlsDock"));
    dock->setWidget(scroll);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    // As wide as the panel needs (spin boxes show their whole values), plus the scroll bar.
    dock->setMinimumWidth(std::max(290, side->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width() + 4));
    addDockWidget(Qt::LeftDockWidgetArea, dock);

    m_sweep = new SweepPage(this);
    m_sweep->setScenarioProvider([this] { return currentScenario(); });
    m_sweep->setKnobApplier([this](const KnobValues& v) { return m_controls->applyKnobs(v); });
    m_sweep->setScenarioOpener([this](const Scenario& s, const QString& name) { return loadScenario(s, name); });
    connect(m_sweep, &SweepPage::sweepFinished, this, &MainWindow::autosave);
    connect(m_sweep, &SweepPage::knobsApplied, this, [this] { m_tabs->setCurrentIndex(0); });
    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("pages"));
    m_tabs->addTab(buildLivePage(), tr("&Live"));
    m_tabs->addTab(m_sweep, tr("S&weep"));
    // A twin says so above every page: what-ifs on it are predictions from one measured sweep.
    m_twinBanner = banner(QStringLiteral("twinBanner"), "#d7e8fa", "#0d2b4a", m_twinText, this);
    m_twinText->setTextFormat(Qt::PlainText); // an endpoint's URL is text, never markup
    m_twinText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* central = new QWidget(this);
    auto* centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 4, 0, 0);
    centralLayout->setSpacing(4);
    centralLayout->addWidget(m_twinBanner);
    centralLayout->addWidget(m_tabs, 1);
    setCentralWidget(central);
    showTwinBanner();

    m_clockStatus = new QLabel(this);
    m_clockStatus->setObjectName(QStringLiteral("runStatus"));
    statusBar()->addPermanentWidget(m_clockStatus);
    buildMenus();
    wheelOnlyWhenFocused(this);
    letSpaceReachShortcuts(this);

    connect(m_controls, &ControlsPanel::scenarioReplaced, this, [this] { m_autoscaler->syncFromHost(); });
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
    updateTitle();

    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setInterval(kRefreshMs);
    connect(m_refreshTimer, &QTimer::timeout, this, &MainWindow::refresh);
    m_refreshTimer->start();
    m_sinceLastFrame.start();
    statusBar()->showMessage(tr("Serving %1 live").arg(sourceName), 5000);
}

MainWindow::~MainWindow() { m_virtualRun.waitForFinished(); }

QWidget* MainWindow::buildLivePage()
{
    m_view = new DeploymentView(this);
    auto* viewScroll = new QScrollArea(this);
    viewScroll->setObjectName(QStringLiteral("deploymentScroll"));
    viewScroll->setWidget(m_view);
    viewScroll->setWidgetResizable(true);
    viewScroll->setFrameShape(QFrame::NoFrame);
    viewScroll->setMinimumHeight(90);
    m_counters = new QLabel(this);
    m_counters->setObjectName(QStringLiteral("counters"));
    m_counters->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_counters->setWordWrap(true);
    // The real model cannot keep up (on the CPU, most often): said in the view, with the way out.
    m_slowBanner = banner(QStringLiteral("slowModelBanner"), "#f6d48b", "#3a2a00", m_slowText, this);
    m_useModelled = new QPushButton(tr("Use &modelled times"), m_slowBanner);
    m_useModelled->setToolTip(tr("Restart the run with the scenario's modelled predict times (its GPU timings) instead of running "
                                 "the model on this machine"));
    connect(m_useModelled, &QPushButton::clicked, this, &MainWindow::useModelledTimes);
    m_slowBanner->layout()->addWidget(m_useModelled);
    m_slowBanner->hide();
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(4, 4, 4, 0);
    topLayout->addWidget(m_slowBanner);
    topLayout->addWidget(m_counters);
    topLayout->addWidget(viewScroll, 1);
    m_charts = new LiveCharts(this);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("liveSplitter"));
    splitter->addWidget(top);
    splitter->addWidget(m_charts);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({320, 480}); // room for a row of replica cards without a scroll bar at 1280×800
    return splitter;
}

QString MainWindow::countersText() const { return m_counters->text(); }
QString MainWindow::slowModelText() const { return m_slowBanner->isVisibleTo(const_cast<MainWindow*>(this)) ? m_slowText->text() : QString(); }

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
    m_controls->showSnapshot(*snap);
    if (m_scenario.twin)
        showTwinBanner(); // the knobs may have moved from the twin's as opened
    m_view->setSnapshot(e);
    m_charts->addWindows(snap->recentWindows);
    m_charts->addScalingEvents(snap->recentScaling, snap->scalingTotal);
    m_autoscaler->showSnapshot(*snap);
    // The counters always add up: arrived = completed + failed + rejected + in flight.
    m_counters->setText(tr("Run clock %1   ·   arrived %2 = completed %3 + failed %4 + rejected %5 + in flight %6 "
                           "(queued %7, held %8)\n%9")
                            .arg(clockText(e.now))
                            .arg(e.arrived)
                            .arg(e.completed)
                            .arg(e.failed)
                            .arg(e.rejected)
                            .arg(e.queued + e.held)
                            .arg(e.queued)
                            .arg(e.held)
                            .arg(DeploymentView::summaryText(e)));
    m_pauseAction->setText(snap->paused ? tr("&Resume") : tr("&Pause"));
    const ModelConfig& model = m_scenario.model;
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
    QString status = tr("%1 · %2 · live clock lag p99 %3 ms")
                         .arg(snap->paused ? tr("Paused") : tr("Live"), snap->realPredict ? predict : tr("predict: %1").arg(predict))
                         .arg(snap->lag.p99, 0, 'f', 2);
    if (!snap->resetError.empty())
        status = tr("Reset not started: %1; the run before it goes on · %2").arg(QString::fromStdString(snap->resetError), status);
    // Elided to part of the window (a device's error can be a paragraph): a permanent status-bar widget
    // never shrinks below its text, so the whole text would widen the window. The tooltip holds all of it.
    m_runStatus = status;
    m_clockStatus->setText(m_clockStatus->fontMetrics().elidedText(status, Qt::ElideRight, std::max(240, width() * 3 / 5)));
    const QString notice = QString::fromStdString(snap->predictNotice.empty() ? snap->predictStage : snap->predictNotice);
    m_clockStatus->setToolTip(notice == status ? status : status + QStringLiteral("\n") + notice);
    showSlowModel(*snap);
    emit refreshed();
}

// Judged on the newest closed windows: with the real model running predict, completions far below
// arrivals (or none at all while requests wait) mean the machine cannot keep up with the load.
void MainWindow::showSlowModel(const LiveSnapshot& snap)
{
    bool slow = false;
    double arrivedPerS = 0, completedPerS = 0;
    if (snap.realPredict && snap.recentWindows.size() >= 2 && !snap.paused) {
        const std::size_t n = std::min<std::size_t>(3, snap.recentWindows.size());
        double width = 0, arrived = 0, completed = 0;
        for (std::size_t i = snap.recentWindows.size() - n; i < snap.recentWindows.size(); ++i) {
            width += snap.recentWindows[i].widthS;
            arrived += double(snap.recentWindows[i].arrived);
            completed += double(snap.recentWindows[i].completed);
        }
        arrivedPerS = width > 0 ? arrived / width : 0;
        completedPerS = width > 0 ? completed / width : 0;
        slow = arrived > 0 && completed < 0.8 * arrived && snap.engine.queued > 0;
    }
    if (slow) {
        m_slowText->setText(tr("The real model (%1) completes %2 req/s here against %3 req/s arriving%4: the queue grows, so what you "
                               "see is this machine, not the deployment. Use modelled times to see the scenario's own timings.")
                                .arg(QString::fromStdString(m_scenario.model.profile))
                                .arg(completedPerS, 0, 'f', completedPerS < 10 ? 1 : 0)
                                .arg(arrivedPerS, 0, 'f', arrivedPerS < 10 ? 1 : 0)
                                .arg(snap.predictFellBackToCpu ? tr(" on the CPU (no usable GPU)") : QString()));
    }
    m_slowBanner->setVisible(slow);
}

void MainWindow::showTwinBanner()
{
    const std::optional<TwinSource>& twin = m_scenario.twin;
    if (twin) {
        // The knobs as they run now against the twin's as opened: a what-if says so.
        const DeploymentConfig opened = m_twinOpened.value_or(m_scenario.deployment);
        DeploymentConfig now = m_scenario.deployment;
        const KnobValues k = m_controls->knobs();
        now.concurrencyTarget = k.concurrencyTarget;
        now.predictConcurrency = k.predictConcurrency;
        now.minReplicas = k.minReplicas;
        now.maxReplicas = k.maxReplicas;
        const std::string whatIf = twinWhatIf(opened, now);
        QString text = QString::fromStdString(twinBanner(*twin)) + QLatin1Char('.');
        if (!whatIf.empty())
            text += tr(" What-if: %1; the sweep checked the twin at its own settings.").arg(QString::fromStdString(whatIf));
        if (text == m_twinText->text() && m_twinBanner->isVisibleTo(this))
            return; // called on every frame: nothing to redo
        m_twinText->setText(text);
        const QString measured = twin->mode == "http" ? tr("an HTTP endpoint's sweep")
            : twin->mode == "live"                    ? tr("a live-time sweep")
                                                      : tr("a virtual-time sweep");
        QString tip = tr("This scenario is a twin, fitted to %1: what-ifs on it are predictions from what was measured.").arg(measured);
        if (!twin->session.empty())
            tip += tr("\nSession: %1").arg(QString::fromStdString(twin->session));
        m_twinText->setToolTip(tip);
    }
    m_twinBanner->setVisible(twin.has_value());
}

QString MainWindow::twinBannerText() const
{
    return m_twinBanner->isVisibleTo(const_cast<MainWindow*>(this)) ? m_twinText->text() : QString();
}

QString MainWindow::runStatus() const { return m_runStatus; }

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
    if (const std::string e = replaceScenario(currentScenario(), m_sourceName); !e.empty())
        statusBar()->showMessage(tr("Reset refused: %1").arg(QString::fromStdString(e)), 8000);
}

std::string MainWindow::replaceScenario(const Scenario& scenario, const QString& sourceName)
{
    if (std::string e = m_host->reset(scenario); !e.empty()) // read files were validated; keep the run if not
        return e;
    const bool sameScenario = sourceName.isEmpty() || sourceName == m_sourceName;
    // Another twin (or none): its knobs as opened start over; a Reset of the same twin keeps them.
    const bool sameTwin = scenario.twin && m_scenario.twin && twinBanner(*scenario.twin) == twinBanner(*m_scenario.twin);
    if (!sameTwin)
        m_twinOpened = scenario.twin ? std::optional(scenario.deployment) : std::nullopt;
    m_scenario = scenario;
    if (!sourceName.isEmpty())
        m_sourceName = sourceName;
    m_controls->showScenario(scenario);
    m_autoscaler->syncFromHost();
    m_charts->clear(); // the old run's lines never stand beside the new one's
    m_view->setSnapshot(EngineSnapshot());
    m_slowBanner->hide();
    showTwinBanner();
    m_shownSequence = 0;
    if (!sameScenario)
        m_sweep->scenarioChanged(m_sourceName); // its sweep measured the old scenario
    updateTitle();
    return {};
}

std::string MainWindow::loadScenario(const Scenario& scenario, const QString& sourceName)
{
    if (std::string e = replaceScenario(scenario, sourceName); !e.empty()) {
        statusBar()->showMessage(tr("Cannot serve %1: %2").arg(sourceName, QString::fromStdString(e)), 8000);
        return e;
    }
    m_sessionPath.clear();
    updateTitle();
    return {};
}

void MainWindow::useModelledTimes()
{
    Scenario s = currentScenario();
    s.model.profile.clear();
    if (const std::string e = replaceScenario(s); !e.empty())
        statusBar()->showMessage(tr("Refused: %1").arg(QString::fromStdString(e)), 8000);
    else
        statusBar()->showMessage(tr("Predict now takes the scenario's modelled times"), 5000);
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
    statusBar()->showMessage(tr("Simulating %1 in virtual time…").arg(QString::fromStdString(s.name)));
    m_virtualRun.setFuture(QtConcurrent::run([s] { return simulateScenario(s); }));
}

void MainWindow::runSweep()
{
    m_tabs->setCurrentWidget(m_sweep);
    m_sweep->run();
}

Scenario MainWindow::currentScenario() const
{
    Scenario s = m_scenario;
    m_controls->knobs().applyTo(s);
    // The autoscaler's settings and the cold start are moved only from the window (no timed change
    // touches them): the host has them as accepted.
    const DeploymentConfig& live = m_host->scenario().deployment;
    s.deployment.autoscaler = live.autoscaler;
    s.deployment.coldStartS = live.coldStartS;
    return s;
}

void MainWindow::updateTitle()
{
    QString name = QString::fromStdString(m_scenario.name);
    if (name.isEmpty())
        name = QFileInfo(m_sourceName).fileName();
    QString title = tr("%1 — knee").arg(name);
    if (!m_sessionPath.isEmpty())
        title = tr("%1 (%2) — knee").arg(name, QFileInfo(m_sessionPath).fileName());
    setWindowTitle(title);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    saveKnobs();
    event->accept();
}

} // namespace knee::ui
