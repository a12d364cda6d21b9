// The window's menus and toolbar, Help, and Model ▸ Calibrate.
#include "main_window.h"

#include "calibration_dialog.h"
#include "sweep_page.h"
#include "theme.h"

#include "live/backend_executor.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolBar>
#include <QVBoxLayout>

namespace knee::ui {

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
    file->addSeparator();
    file->addAction(tr("Export &Report…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportReport)
        ->setToolTip(tr("The last sweep as one HTML file: chart, levels, knee, recommendation and the scenario"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    auto* run = menuBar()->addMenu(tr("&Run"));
    m_pauseAction = run->addAction(tr("&Pause"), QKeySequence(Qt::Key_Space), this, &MainWindow::togglePause);
    m_pauseAction->setToolTip(tr("Pause or resume the live engine (Space)"));
    auto* reset = run->addAction(tr("&Reset"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this, &MainWindow::resetRun);
    reset->setToolTip(tr("Start the live run again from time zero with the current knobs"));
    run->addSeparator();
    m_runSweepAction = run->addAction(tr("Run S&weep"), QKeySequence(Qt::Key_F5), this, &MainWindow::runSweep);
    m_runSweepAction->setToolTip(tr("Run the sweep page's sweep on the current scenario and knobs (F5)"));
    run->addAction(tr("&Cancel Sweep"), QKeySequence(Qt::SHIFT | Qt::Key_F5), m_sweep, &SweepPage::cancel);
    m_simulateAction = run->addAction(tr("&Simulate in Virtual Time"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::simulateVirtual);
    m_simulateAction->setToolTip(tr("Run the current knobs against the scenario's workload in virtual time and report"));

    auto* model = menuBar()->addMenu(tr("&Model"));
    model->addAction(tr("&Calibrate on This Machine…"), this, &MainWindow::calibrate)
        ->setToolTip(tr("Measure the model profile's time per call on this machine's GPU (or CPU) and use it in the scenario"));
    model->addAction(tr("Use &Modelled Times"), this, &MainWindow::useModelledTimes)
        ->setToolTip(tr("Time predict from the scenario instead of running the real model"));

    auto* toolbar = addToolBar(tr("Run"));
    toolbar->setObjectName(QStringLiteral("runToolbar"));
    toolbar->addAction(m_pauseAction);
    toolbar->addAction(reset);
    toolbar->addSeparator();
    toolbar->addAction(m_simulateAction);
    toolbar->addAction(m_runSweepAction);

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
    buildHelpMenu();
}

namespace {
void showText(QWidget* parent, const QString& title, const QString& html)
{
    auto* dialog = new QDialog(parent);
    dialog->setWindowTitle(title);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* text = new QTextBrowser(dialog);
    text->setOpenExternalLinks(true);
    text->setHtml(html);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(text);
    layout->addWidget(buttons);
    dialog->resize(680, 520);
    dialog->show();
}
} // namespace

void MainWindow::buildHelpMenu()
{
    m_helpMenu = menuBar()->addMenu(tr("&Help"));
    m_helpMenu->addAction(tr("&Getting Started"), QKeySequence::HelpContents, this, [this] {
        showText(this, tr("Getting started"),
                 tr("<h3>What knee shows</h3>"
                    "<p>The <b>Live</b> page runs your deployment in real time: the deployment queue, each replica with its "
                    "requests by stage, and charts of latency, throughput against arrivals, queue and replicas. Move a knob on "
                    "the left and the running engine follows.</p>"
                    "<h3>Finding the concurrency target</h3>"
                    "<ol><li>Choose a preset (or File ▸ Open Scenario) in the <b>Model</b> box.</li>"
                    "<li>Open the <b>Sweep</b> page and press <b>Run sweep</b> (F5): one replica is measured at 1, 2, 4, … "
                    "concurrent requests.</li>"
                    "<li>Read the recommendation card: each value with the rule behind it. <b>Apply</b> moves the knobs; the "
                    "export buttons write config.yaml or the autoscaling settings.</li>"
                    "<li>File ▸ Export Report writes one HTML file to share.</li></ol>"
                    "<h3>Terms</h3><ul>"
                    "<li><b>concurrency target</b>: the most requests one replica holds; beyond it the autoscaler adds replicas.</li>"
                    "<li><b>predict_concurrency</b>: how many requests may be inside predict at once (Truss config.yaml).</li>"
                    "<li><b>knee</b>: where p95 latency starts to climb steeply; <b>saturation</b>: where throughput stops rising.</li>"
                    "</ul>"));
    });
    m_helpMenu->addAction(tr("&Keyboard Shortcuts"), this, [this] {
        showText(this, tr("Keyboard shortcuts"),
                 tr("<table cellpadding=4>"
                    "<tr><td><b>Space</b></td><td>pause or resume the live run (also while a number box has focus)</td></tr>"
                    "<tr><td><b>Ctrl+Shift+R</b></td><td>reset the live run</td></tr>"
                    "<tr><td><b>F5</b> / <b>Shift+F5</b></td><td>run / cancel the sweep</td></tr>"
                    "<tr><td><b>Ctrl+R</b></td><td>simulate the current knobs in virtual time</td></tr>"
                    "<tr><td><b>Ctrl+O</b>, <b>Ctrl+Shift+O</b></td><td>open a scenario, a session</td></tr>"
                    "<tr><td><b>Ctrl+S</b></td><td>save the session</td></tr>"
                    "<tr><td><b>Ctrl+E</b></td><td>export the HTML report</td></tr>"
                    "<tr><td><b>Ctrl+C</b></td><td>in the table of levels: copy the selected rows (tab-separated)</td></tr>"
                    "</table><p>The mouse wheel changes a number only after you click into it; elsewhere it scrolls.</p>"));
    });
    m_helpMenu->addSeparator();
    m_helpMenu->addAction(tr("&About knee"), this, [this] {
        QMessageBox::about(this, tr("About knee"),
                           tr("knee %1\nA workbench for tuning the concurrency of model-serving deployments.")
                               .arg(QApplication::applicationVersion()));
    });
    m_helpMenu->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

QString MainWindow::useCalibratedTable(const ServiceTable& table, const QString& profile)
{
    Scenario s = currentScenario();
    const ServiceTable old = s.model.predictTable;
    const bool sameProfile = s.model.profile == profile.toStdString();
    s.model.predictTable = table;
    s.model.profile = profile.toStdString();
    QString tail;
    if (old.tailMs > 0 && table.tailMs > 0) {
        tail = tr("; tail_ms %1 from the new table").arg(table.tailMs); // a table that measured its own
    } else if (old.tailMs > 0 && table.hasDeviceTimes()) {
        // The device's own times say what of each call is off the device: a tail beside them says it twice.
        tail = tr("; old tail_ms %1 dropped (the new table measured the device's own times)").arg(old.tailMs);
    } else if (old.tailMs > 0 && sameProfile) {
        Scenario withTail = s;
        withTail.model.predictTable.tailMs = old.tailMs;
        if (withTail.validate().empty()) {
            s = withTail;
            tail = tr("; tail_ms %1 kept from the old table").arg(old.tailMs);
        } else {
            tail = tr("; old tail_ms %1 dropped (longer than the new table's calls)").arg(old.tailMs);
        }
    } else if (old.tailMs > 0) {
        tail = tr("; old tail_ms %1 dropped (not measured for '%2')").arg(old.tailMs).arg(profile);
    }
    if (const std::string e = replaceScenario(s); !e.empty())
        return tr("The measured table was refused: %1").arg(QString::fromStdString(e));
    // Short: the status bar shares its width with the run's own line.
    if (!tail.isEmpty())
        return tr("Table measured for '%1' in use%2").arg(profile, tail);
    return tr("Table measured for '%1' in use: virtual runs time predict from it, the live run runs the model").arg(profile);
}

void MainWindow::calibrate()
{
    if (!m_calibration) {
        m_calibration = new CalibrationDialog(sharedPredictBackend(), this);
        connect(m_calibration, &CalibrationDialog::useTable, this, [this](const ServiceTable& table, const QString& profile) {
            statusBar()->showMessage(useCalibratedTable(table, profile), 8000);
        });
    }
    if (!m_calibration->isRunning()) {
        m_calibration->setProfile(QString::fromStdString(m_scenario.model.profile));
        m_calibration->setTableInUse(m_scenario.model.predictTable, QString::fromStdString(m_scenario.model.profile));
    }
    m_calibration->show();
    m_calibration->raise();
}

} // namespace knee::ui
