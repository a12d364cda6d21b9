// The sweep page's twin (issue 15): "Make a twin…" fits one to the shown sweep with the engine's fit,
// off the UI thread (it replays the sweep on each candidate: seconds), with the options `knee fit`
// would give it (session/twin_file.h); the dialog shows the twin or the refusal, and from it the twin
// is saved (sweep_exports.cpp) or handed to the window as its scenario.
#include "sweep_page.h"

#include "plural.h"
#include "twin_dialog.h"

#include "session/twin_file.h"

#include <QLabel>
#include <QPushButton>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <exception>

namespace knee::ui {

QPushButton* SweepPage::buildTwinButton()
{
    m_twinButton = new QPushButton(tr("Make a twin…"), this);
    m_twinButton->setObjectName(QStringLiteral("makeTwin"));
    connect(m_twinButton, &QPushButton::clicked, this, [this] { makeTwin(); });
    connect(&m_twinWatcher, &QFutureWatcher<TwinFit>::finished, this, [this] { showTwin(m_twinWatcher.result()); });
    return m_twinButton;
}

TwinDialog* SweepPage::twinDialog() const { return m_twinDialog; }

void SweepPage::setSessionFile(const QString& path, const QDateTime& measuredAt)
{
    m_sessionFile = path;
    if (measuredAt.isValid())
        m_measuredAt = measuredAt;
}

QString SweepPage::twinUnavailable() const
{
    if (m_fittingTwin)
        return tr("Fitting a twin to the sweep…");
    if (m_watcher.isRunning())
        return tr("A sweep is running: a twin is fitted to a finished sweep.");
    const SessionSweep* s = current();
    if (!s)
        return tr("Run a sweep first: a twin is fitted to a closed-loop sweep of one replica (levels 1, 2, 4, … up to where "
                  "throughput stops rising).");
    if (s->result.levels.empty())
        return tr("The sweep has no finished level to fit a twin to: run it again.");
    if (s->options.rateSweep()) // as the fit refuses it
        return tr("A twin is fitted to a closed-loop sweep of users; this sweep offered request rates (open loop). Choose Load ▸ "
                  "Closed loop: users and run a sweep to make one.");
    return {};
}

void SweepPage::updateTwinButton()
{
    if (!m_twinButton)
        return; // the constructor's first labels come before the button
    const QString why = twinUnavailable();
    m_twinButton->setEnabled(why.isEmpty());
    m_twinButton->setToolTip(why.isEmpty() ? tr("Fit a twin to this sweep: a scenario whose service curve, request time shape and fixed "
                                                "cost come from its levels, checked by replaying them. Save it, or open it in the "
                                                "workbench to ask what-ifs (replicas, knobs, traffic) in virtual time.")
                                           : why);
}

void SweepPage::makeTwin(bool serial, int skip)
{
    // Fit as serial and Fit without level N refit the sweep that was refused, whichever sweep the page shows
    // by then, as it was asked for plus the new request; Make a twin starts afresh.
    const bool again = (serial || skip > 0) && m_twinSweep;
    if (const QString why = again && !m_fittingTwin ? QString() : twinUnavailable(); !why.isEmpty()) {
        m_status->setText(why);
        return;
    }
    const SweepResult sweep = again ? *m_twinSweep : current()->result;
    m_twinSweep = sweep;
    m_twinSerial = serial || (again && m_twinSerial);
    if (!again)
        m_twinSkip.clear();
    if (skip > 0 && std::find(m_twinSkip.begin(), m_twinSkip.end(), skip) == m_twinSkip.end())
        m_twinSkip.push_back(skip);
    TwinFitOptions options = twinFitOptions(sweep, m_sessionFile, m_measuredAt);
    options.serial = m_twinSerial;
    options.skipLevels = m_twinSkip;
    // What to measure next, in this page's words rather than the command line's flags.
    options.terms.levels = tr("Levels (users) 1, 2, 4, 8, 16, 32 on this page").toStdString();
    options.terms.windows = tr("a longer Window and Cap per level on this page").toStdString();
    options.terms.serial = tr("fit it as such: Fit as serial, in this dialog").toStdString();
    options.terms.rates = tr("Rates (req/s) on this page against the same endpoint, then Make a twin again").toStdString();
    options.terms.skip = tr("Fit without level {level}, in this dialog").toStdString();
    addRateLevels(options, sweep, m_sweeps);
    m_status->setText(tr("Fitting a twin to the sweep's %1 (it replays the sweep on each candidate: a few seconds)…")
                          .arg(counted(qsizetype(sweep.levels.size()), tr("level"), tr("levels"))));
    m_fittingTwin = true;
    m_twinWatcher.setFuture(QtConcurrent::run([sweep, options] {
        try {
            return fitTwin(sweep, options);
        } catch (const std::exception& e) { // a fit that fails is a refusal, never an exception in the UI thread
            TwinFit failed;
            failed.refusal = std::string("the fit failed: ") + e.what();
            return failed;
        }
    }));
    updateTwinButton();
}

void SweepPage::showTwin(TwinFit fit)
{
    m_fittingTwin = false;
    m_twinFit = std::move(fit);
    ++m_twinFits;
    m_twinSavedTo.clear();
    if (m_twinDialog)
        m_twinDialog->close(); // one outcome at a time: the newest
    m_twinDialog = new TwinDialog(*m_twinFit, this);
    m_twinDialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_twinDialog, &TwinDialog::saveRequested, this, [this] { saveTwin(); });
    connect(m_twinDialog, &TwinDialog::serialFitRequested, this, [this] { makeTwin(true); });
    connect(m_twinDialog, &TwinDialog::skipFitRequested, this, [this](int level) { makeTwin(false, level); });
    connect(m_twinDialog, &TwinDialog::openRequested, this, [this] {
        if (const QString e = openTwin(); !e.isEmpty() && m_twinDialog)
            m_twinDialog->setStatus(e);
    });
    m_status->setText(m_twinFit->ok() ? tr("Fitted %1").arg(QString::fromStdString(m_twinFit->twin->name))
                                      : tr("No twin: %1").arg(QString::fromStdString(m_twinFit->refusal)));
    updateTwinButton();
    m_twinDialog->show();
    emit twinShown();
}

QString SweepPage::openTwin()
{
    if (!m_twinFit || !m_twinFit->ok())
        return tr("Make a twin first: there is none to open yet.");
    if (!m_openScenario)
        return tr("There is no workbench to open it in.");
    // Saved: it opens as that file, as File ▸ Open Scenario would; else under its own name.
    const QString source = m_twinSavedTo.isEmpty() ? QString::fromStdString(m_twinFit->twin->name) : m_twinSavedTo;
    if (const std::string e = m_openScenario(*m_twinFit->twin, source); !e.empty())
        return tr("Cannot open the twin: %1").arg(QString::fromStdString(e));
    if (m_twinDialog)
        m_twinDialog->close();
    return {};
}

} // namespace knee::ui
