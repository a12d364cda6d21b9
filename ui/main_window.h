// The workbench window: the built-in engine serving live, the knobs that act on it, the
// deployment drawn as it is, live charts, and a virtual-time run of the same settings on demand.
// Reads engine snapshots at ~30 Hz; the engine never waits for it.
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

namespace knee::ui {

class AutoscalerPanel;
class ControlsPanel;
class SweepPage;
class DeploymentView;
class LiveCharts;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Starts serving `scenario` live at once.
    explicit MainWindow(const Scenario& scenario, const QString& sourceName, QWidget* parent = nullptr);
    ~MainWindow() override;

    LiveEngineHost& host() { return *m_host; }
    ControlsPanel* controls() const { return m_controls; }
    QString runStatus() const; // the permanent status-bar text: run state, what runs predict, clock error
    AutoscalerPanel* autoscalerPanel() const { return m_autoscaler; }
    DeploymentView* deploymentView() const { return m_view; }
    LiveCharts* charts() const { return m_charts; }
    SweepPage* sweepPage() const { return m_sweep; }
    Scenario currentScenario() const; // the scenario with the knobs as they are now
    // Sessions. Empty string = done; else the message shown to the user (nothing changed).
    QString saveSessionTo(const QString& path);
    QString openSessionFrom(const QString& path);
    QString compareWithSession(const QString& path);
    QString sessionPath() const { return m_sessionPath; }
    static QString autosavePath();
    bool hasAutosave() const;
    QString restoreAutosave();
    QString countersText() const;
    bool isSimulating() const { return m_virtualRun.isRunning(); }
    // Intervals between UI refreshes (for the frame-interval benchmark).
    const LatencyHistogram& frameIntervals() const { return m_frameIntervals; }

    // Replaces the running scenario (File > Open does this after reading the file).
    void loadScenario(const Scenario& scenario, const QString& sourceName);

public slots:
    void openScenario();
    void openSession();
    void saveSession();
    void saveSessionAs();
    void compareSession();
    void togglePause();
    void resetRun();
    void simulateVirtual();

signals:
    void refreshed();
    void virtualRunFinished(const QString& report);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void refresh();
    void buildMenus();
    void restoreKnobs();
    void saveKnobs() const;
    void rememberRecent(const QString& path);
    void rebuildRecentMenu();
    void autosave();

    Scenario m_fileScenario; // as loaded: the virtual run uses its workload with the live knobs
    QString m_sourceName;
    std::unique_ptr<LiveEngineHost> m_host;
    ControlsPanel* m_controls = nullptr;
    AutoscalerPanel* m_autoscaler = nullptr;
    DeploymentView* m_view = nullptr;
    LiveCharts* m_charts = nullptr;
    SweepPage* m_sweep = nullptr;
    class QTabWidget* m_tabs = nullptr;
    class QMenu* m_recentMenu = nullptr;
    QString m_sessionPath;
    QLabel* m_counters = nullptr;
    QLabel* m_clockStatus = nullptr; // run state, what runs predict, clock error
    QAction* m_pauseAction = nullptr;
    QAction* m_simulateAction = nullptr;
    QTimer* m_refreshTimer = nullptr;
    std::uint64_t m_shownSequence = 0;
    QElapsedTimer m_sinceLastFrame;
    LatencyHistogram m_frameIntervals;
    QFutureWatcher<RunSummary> m_virtualRun;
};

} // namespace knee::ui
