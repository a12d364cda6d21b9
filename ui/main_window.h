// The workbench window. For now: the scenario (editable YAML), a virtual-time run of it off the UI
// thread, and its report. The live workbench (sliders, live view, charts) replaces the centre.
#pragma once
#include <QFutureWatcher>
#include <QMainWindow>

#include "study/run_summary.h"

#include <optional>

class QPlainTextEdit;
class QLabel;
class QAction;

namespace knee::ui {

struct SimulationOutcome {
    std::optional<RunSummary> summary;
    QString errors; // scenario problems, one per line, when there is no summary
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void loadScenarioText(const QString& yaml, const QString& sourceName);
    bool isSimulating() const;

public slots:
    void simulate();
    void openScenario();

signals:
    void simulationFinished();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void showOutcome();

    QPlainTextEdit* m_scenario = nullptr;
    QPlainTextEdit* m_report = nullptr;
    QAction* m_simulateAction = nullptr;
    QString m_sourceName;
    QFutureWatcher<SimulationOutcome> m_watcher;
};

} // namespace knee::ui
