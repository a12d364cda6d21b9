// The window's files: sessions (save, open, compare, recent), the autosave after each sweep, the HTML
// report, and the knobs remembered between launches.
#include "main_window.h"

#include "controls_panel.h"
#include "sweep_page.h"

#include "io/scenario_reader.h"
#include "report/report.h"
#include "session/output_file.h"
#include "session/session.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>

namespace knee::ui {

namespace {
Session sessionOf(const Scenario& scenario, const QString& source, const SweepPage& page)
{
    Session session;
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(scenario));
    session.scenarioSource = source;
    session.sweeps = page.sweeps();
    session.grids = page.grids();
    return session;
}
} // namespace

QString MainWindow::saveSessionTo(const QString& path)
{
    if (const QString e = knee::saveSession(sessionOf(currentScenario(), m_sourceName, *m_sweep), path); !e.isEmpty())
        return e;
    m_sessionPath = path;
    m_sweep->setSessionFile(QFileInfo(path).absoluteFilePath()); // a twin of its sweep names the file that holds it
    setWindowFilePath(path);
    rememberRecent(path);
    QFile::remove(autosavePath()); // saved: nothing left to recover
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
    updateTitle();
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
    if (const std::string e = replaceScenario(*read.scenario, load.session->scenarioSource); !e.empty())
        return QString::fromStdString(e);
    m_sweep->setSweeps(load.session->sweeps, load.session->grids);
    // The session does not record when it was measured: its file's last change is when a sweep saved it (as knee fit reads it).
    m_sweep->setSessionFile(QFileInfo(path).absoluteFilePath(), QFileInfo(path).lastModified());
    m_sessionPath = path;
    setWindowFilePath(path);
    rememberRecent(path);
    m_tabs->setCurrentWidget(m_sweep);
    updateTitle();
    return {};
}

QString MainWindow::compareWithSession(const QString& path)
{
    const SessionLoad load = loadSession(path);
    if (!load.session)
        return load.error;
    if (load.session->sweeps.empty())
        return tr("%1 holds no sweep to compare with").arg(QFileInfo(path).fileName());
    m_sweep->setComparison(QFileInfo(path).fileName(), load.session->sweeps);
    m_tabs->setCurrentWidget(m_sweep);
    return {};
}

QString MainWindow::exportReportTo(const QString& path)
{
    if (m_sweep->sweeps().empty())
        return tr("Run a sweep first: the report shows a sweep's levels, knee and recommendation.");
    const Session session = sessionOf(currentScenario(), m_sourceName, *m_sweep);
    const QByteArray html = report::sessionReportHtml(session, report::ReportContext::thisMachine(QFileInfo(m_sessionPath).fileName()));
    if (const QString e = writeOutputFile(path, html); !e.isEmpty())
        return e;
    statusBar()->showMessage(tr("Wrote the report to %1").arg(path), 8000);
    return {};
}

void MainWindow::exportReport()
{
    if (m_sweep->sweeps().empty()) {
        QMessageBox::information(this, tr("Export Report"), tr("Run a sweep first: the report shows a sweep's levels, knee and recommendation."));
        return;
    }
    // The file dialog asks before replacing a file.
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Report"), QStringLiteral("knee-report.html"), tr("HTML (*.html)"));
    if (path.isEmpty())
        return;
    if (const QString e = exportReportTo(path); !e.isEmpty())
        QMessageBox::warning(this, tr("Export Report"), e);
    else
        QMessageBox::information(this, tr("Export Report"),
                                 tr("Wrote %1: the last sweep's chart, levels, knee and recommendation, readable in any browser.").arg(path));
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
    m_sweep->setSessionFile({});
    setWindowFilePath(QString());
    updateTitle();
    return e;
}

// After every sweep: an unsaved sweep survives a crash, and is offered back on the next launch.
void MainWindow::autosave()
{
    if (!m_autosaveEnabled)
        return;
    QDir().mkpath(QFileInfo(autosavePath()).path());
    if (const QString e = knee::saveSession(sessionOf(currentScenario(), m_sourceName, *m_sweep), autosavePath()); !e.isEmpty())
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

// The knobs as the engine runs them (not a copy that a timed change could have left behind).
void MainWindow::saveKnobs() const
{
    QSettings settings;
    const Scenario s = currentScenario();
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
    const Scenario s = currentScenario();
    KnobValues v;
    v.minReplicas = intValue("min_replicas", s.deployment.minReplicas);
    v.maxReplicas = intValue("max_replicas", s.deployment.maxReplicas);
    v.predictConcurrency = intValue("predict_concurrency", s.deployment.predictConcurrency);
    v.concurrencyTarget = intValue("concurrency_target", s.deployment.concurrencyTarget);
    v.users = intValue("users", s.workload.arrival.users);
    const double rate = settings.value(QStringLiteral("rate_rps")).toDouble(&ok);
    v.rateRps = ok ? rate : s.workload.arrival.rateRps;
    settings.endGroup();
    // Each value on its own: one refused (a damaged file) leaves the others applied.
    KnobValues step = m_controls->knobs();
    auto tryOne = [&](auto set) {
        KnobValues next = step;
        set(next);
        if (m_controls->applyKnobs(next).empty())
            step = next;
    };
    tryOne([&](KnobValues& k) { k.minReplicas = v.minReplicas, k.maxReplicas = v.maxReplicas; });
    tryOne([&](KnobValues& k) { k.predictConcurrency = v.predictConcurrency; });
    tryOne([&](KnobValues& k) { k.concurrencyTarget = v.concurrencyTarget; });
    tryOne([&](KnobValues& k) { k.users = v.users, k.rateRps = v.rateRps; });
}

} // namespace knee::ui
