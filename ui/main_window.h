// The workbench window: the built-in engine serving live, the knobs that act on it, the
// deployment drawn as it is, live charts, and a virtual-time run of the same settings on demand.
// Reads engine snapshots at ~30 Hz; the engine never waits for it.
//
// The window holds ONE scenario (m_scenario: the model, the workload, the deployment as loaded or
// chosen from a preset) and the knobs as the engine runs them (ControlsPanel::knobs(), from the
// engine's snapshots). currentScenario() joins the two, and every run, view, save and export reads it.
#pragma once
#include "live/live_engine_host.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QMainWindow>

#include <memory>
#include <optional>

class QLabel;
class QAction;
class QTimer;
class QPushButton;

namespace knee::ui {

class AutoscalerPanel;
class ControlsPanel;
class SweepPage;
class DeploymentView;
class LiveCharts;
class CalibrationDialog;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Starts serving `scenario` live at once.
    explicit MainWindow(const Scenario& scenario, const QString& sourceName, QWidget* parent = nullptr);
    ~MainWindow() override;

    LiveEngineHost& host() { return *m_host; }
    ControlsPanel* controls() const { return m_controls; }
    QString runStatus() const; // the permanent status-bar text (whole; the bar shows it elided): run state, what runs predict, clock error
    AutoscalerPanel* autoscalerPanel() const { return m_autoscaler; }
    DeploymentView* deploymentView() const { return m_view; }
    LiveCharts* charts() const { return m_charts; }
    SweepPage* sweepPage() const { return m_sweep; }
    QString scenarioName() const { return m_sourceName; }
    // The one scenario with the knobs as the engine runs them: sweeps, virtual runs, sessions, exports.
    Scenario currentScenario() const;
    // Replaces the scenario everywhere (a file, a preset, a traffic kind, a predict stage, a calibrated
    // table): the live run restarts, the charts and the last sweep (of the old scenario) are cleared.
    // Empty = done; else why not (nothing changed).
    std::string replaceScenario(const Scenario& scenario, const QString& sourceName = {});
    // Sessions. Empty string = done; else the message shown to the user (nothing changed).
    QString saveSessionTo(const QString& path);
    QString openSessionFrom(const QString& path);
    QString compareWithSession(const QString& path);
    QString exportReportTo(const QString& path); // the last sweep as a self-contained HTML report
    QString sessionPath() const { return m_sessionPath; }
    static QString autosavePath();
    bool hasAutosave() const;
    QString restoreAutosave();
    // --screenshot turns it off: a grab must leave nothing behind for the next launch to offer.
    void setAutosaveEnabled(bool enabled) { m_autosaveEnabled = enabled; }
    QString countersText() const;
    QString slowModelText() const; // the live view's banner when the real model cannot keep up; else empty
    // Above the pages while the scenario is a twin (knee fit, Make a twin…): what it is a twin of, when it
    // was measured, its largest replay error. Empty when the scenario is not a twin.
    QString twinBannerText() const;
    QPushButton* useModelledTimesButton() const { return m_useModelled; }
    // Intervals between UI refreshes (for the frame-interval benchmark).
    const LatencyHistogram& frameIntervals() const { return m_frameIntervals; }
    QAction* runSweepAction() const { return m_runSweepAction; }
    QAction* pauseAction() const { return m_pauseAction; }
    QMenu* helpMenu() const { return m_helpMenu; }
    CalibrationDialog* calibrationDialog() const { return m_calibration; }
    // Calibrate ▸ Use: the measured table and its profile replace the scenario's. A tail_ms the old table
    // held (measured apart: knee calibrate does not measure one) stays when the profile is the same, the new
    // table has none of its own, and its calls are longer than it. (The device is not compared: a profile
    // calibrated on another machine keeps the tail measured on the first.) Returns what the status bar says.
    QString useCalibratedTable(const ServiceTable& table, const QString& profile);

    // Replaces the running scenario (File > Open and the sweep page's twin do this). Empty = done; else
    // why not, also said in the status bar (the run goes on as it was).
    std::string loadScenario(const Scenario& scenario, const QString& sourceName);

public slots:
    void openScenario();
    void openSession();
    void saveSession();
    void saveSessionAs();
    void compareSession();
    void exportReport();
    void togglePause();
    void resetRun();
    void simulateVirtual();
    void runSweep();
    void useModelledTimes();
    void calibrate();

signals:
    void refreshed();
    void virtualRunFinished(const QString& report);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    QWidget* buildLivePage();
    void refresh();
    void buildMenus();
    void buildHelpMenu();
    void restoreKnobs();
    void saveKnobs() const;
    void rememberRecent(const QString& path);
    void rebuildRecentMenu();
    void autosave();
    void updateTitle();
    void showSlowModel(const LiveSnapshot& snapshot);
    void showTwinBanner();

    Scenario m_scenario; // the one scenario (knobs as loaded; the engine's snapshot has them as they are)
    // A twin's deployment as it was opened (kept across Reset, which reloads the edited knobs): the
    // banner names the knobs a what-if moved from it. A twin file from `knee fit` holds the settings it
    // was fitted at; a scenario saved after a what-if holds the moved ones (the twin: section does not
    // record the fitted knobs).
    std::optional<DeploymentConfig> m_twinOpened;
    QString m_sourceName;
    std::unique_ptr<LiveEngineHost> m_host;
    ControlsPanel* m_controls = nullptr;
    AutoscalerPanel* m_autoscaler = nullptr;
    DeploymentView* m_view = nullptr;
    LiveCharts* m_charts = nullptr;
    SweepPage* m_sweep = nullptr;
    QString m_runStatus; // runStatus(): the status-bar text before eliding
    class QTabWidget* m_tabs = nullptr;
    class QMenu* m_recentMenu = nullptr;
    class QMenu* m_helpMenu = nullptr;
    CalibrationDialog* m_calibration = nullptr;
    QString m_sessionPath;
    QLabel* m_counters = nullptr;
    QWidget* m_slowBanner = nullptr;
    QLabel* m_slowText = nullptr;
    QWidget* m_twinBanner = nullptr;
    QLabel* m_twinText = nullptr;
    QPushButton* m_useModelled = nullptr;
    QLabel* m_clockStatus = nullptr; // run state, what runs predict, clock error
    QAction* m_pauseAction = nullptr;
    QAction* m_simulateAction = nullptr;
    QAction* m_runSweepAction = nullptr;
    QTimer* m_refreshTimer = nullptr;
    std::uint64_t m_shownSequence = 0;
    QElapsedTimer m_sinceLastFrame;
    LatencyHistogram m_frameIntervals;
    QFutureWatcher<RunSummary> m_virtualRun;
    bool m_autosaveEnabled = true;
};

} // namespace knee::ui
