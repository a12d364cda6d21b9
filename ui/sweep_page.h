// The sweep page: seed 000's benchmarking process on the current scenario and knobs, in virtual
// time off the UI thread. Levels appear on the chart as they finish (log-2 concurrency axis,
// p50/p95/p99 and throughput); the p95 knee, the throughput curve's bend and its saturation point
// are marked; the evidence and the recommendation are shown
// with their rules; a sweep can be cancelled (finished levels are kept) and exported. Another
// session's curve can be overlaid for comparison.
#pragma once
#include "session/session.h"

#include <QFutureWatcher>
#include <QWidget>

#include <atomic>
#include <functional>
#include <memory>

class QChart;
class QComboBox;
class QChartView;
class QLineEdit;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QPushButton;
class QProgressBar;
class QScatterSeries;
class QTextBrowser;
class QValueAxis;

namespace knee::ui {

class EndpointPanel;
class HeatMap;

// One run of the page: the sweep, and the grid when predict_concurrency values were given.
struct PageRun {
    SweepOptions options;
    SweepResult sweep;
    std::optional<GridOptions> gridOptions;
    std::optional<GridResult> grid;
};

class SweepPage : public QWidget {
    Q_OBJECT
public:
    explicit SweepPage(QWidget* parent = nullptr);
    ~SweepPage() override;

    // What a sweep runs on (the live knobs over the scenario's model): asked for when a sweep starts.
    void setScenarioProvider(std::function<Scenario()> provider) { m_provider = std::move(provider); }
    void setScenario(const Scenario& scenario);
    bool isRunning() const { return m_watcher.isRunning(); }
    const std::vector<SessionSweep>& sweeps() const { return m_sweeps; }
    const std::vector<SessionGrid>& grids() const { return m_grids; }
    void setSweeps(std::vector<SessionSweep> sweeps, std::vector<SessionGrid> grids = {}); // a reopened session: shows the last
    QLineEdit* gridValues() const { return m_grid; }
    HeatMap* heatMap() const { return m_heatMap; }
    void setComparison(const QString& label, const std::vector<SessionSweep>& other);
    QString evidenceText() const;
    int plottedLevels() const;
    std::optional<int> markedKnee() const { return m_markedKnee; }
    std::optional<int> markedSaturation() const { return m_markedSaturation; } // on the throughput curve

    EndpointPanel* endpointPanel() const { return m_endpoint; } // built-in engine or an HTTP endpoint
    QLineEdit* levels() const { return m_levels; }
    QComboBox* mode() const { return m_mode; } // virtual or live time
    QDoubleSpinBox* slo() const { return m_slo; }
    QDoubleSpinBox* ttftSlo() const { return m_ttftSlo; }
    QDoubleSpinBox* itlSlo() const { return m_itlSlo; }
    QDoubleSpinBox* baseline() const { return m_baseline; }
    QDoubleSpinBox* peak() const { return m_peak; }
    QDoubleSpinBox* warmup() const { return m_warmup; }
    QDoubleSpinBox* window() const { return m_window; }
    QDoubleSpinBox* cap() const { return m_cap; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }

public slots:
    void run();
    void cancel();
    // Exports; an empty path asks with a file dialog. Return an empty string, or the error shown.
    QString exportConfigYaml(const QString& path = {});
    QString exportAutoscaling(const QString& path = {});
    QString exportCsv(const QString& path = {});
    QString exportChart(const QString& path = {});

signals:
    void sweepFinished(); // also after a cancel, with the finished levels
    void levelFinished(int concurrency);

private:
    void addLevel(const SweepLevel& level);
    void showResult(const SweepResult& result, const SweepOptions& options);
    void showGrid(const GridResult& grid, const SweepOptions& options, SweepResult& sweep);
    void clearChart();
    std::optional<SweepOptions> readOptions(QString& error) const;
    const SessionSweep* current() const { return m_sweeps.empty() ? nullptr : &m_sweeps.back(); }

    Scenario m_scenario;
    std::function<Scenario()> m_provider;
    std::vector<SessionSweep> m_sweeps;
    std::vector<SessionGrid> m_grids;
    QLineEdit* m_levels;
    QLineEdit* m_grid;
    HeatMap* m_heatMap;
    EndpointPanel* m_endpoint;
    QComboBox* m_mode;
    QDoubleSpinBox *m_slo, *m_ttftSlo, *m_itlSlo, *m_baseline, *m_peak, *m_warmup, *m_window, *m_cap;
    QPushButton *m_run, *m_cancel;
    QProgressBar* m_progress;
    QLabel* m_status;
    QTextBrowser* m_evidence;
    QChart* m_chart;
    QChartView* m_view;
    QLogValueAxis* m_x;
    QValueAxis *m_latencyAxis, *m_throughputAxis;
    QLineSeries *m_p50, *m_p95, *m_p99, *m_throughput, *m_compareP95;
    QScatterSeries *m_knee, *m_saturation, *m_throughputKnee;
    std::optional<int> m_markedKnee, m_markedSaturation;
    std::shared_ptr<std::atomic<bool>> m_cancelFlag;
    SweepOptions m_running;
    QFutureWatcher<PageRun> m_watcher;
};

} // namespace knee::ui
