// The sweep page, results first: seed 000's benchmarking process on the window's scenario and knobs
// (virtual or live time off the UI thread, or an HTTP endpoint), over closed-loop levels of users or
// open-loop request rates. The chart fills the page (log-2 concurrency or rate axis, p50/p95/p99,
// throughput (a rate sweep's served beside sent), the SLO as a line, the p95 knee and the throughput
// curve's saturation (a rate sweep's capacity) marked, a read-out under the mouse; it pops out into a window of its own); beside
// it the recommendation card (each value with its unit and the rule behind it, and Apply, which moves
// the knobs) and a sortable, copyable table of levels. The target and its settings fold away above.
// Exports say which file gets which values, show the change before writing and confirm after.
// Another session's curve can be overlaid (p50, p95, p99 or throughput) and cleared. "Make a twin…"
// fits a twin to the shown sweep off the UI thread and shows what it found (TwinDialog).
#pragma once
#include "runs/sweep_runner.h"
#include "session/session.h"
#include "study/twin.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QPointer>
#include <QWidget>

#include <atomic>
#include <functional>
#include <memory>

class QChart;
namespace knee::telemetry {
class GpuSampler;
}
class QCheckBox;
class QComboBox;
class QChartView;
class QLineEdit;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QPushButton;
class QProgressBar;
class QScatterSeries;
class QScrollArea;
class QSpinBox;
class QTableWidget;
class QTextBrowser;
class QToolButton;
class QValueAxis;
class QTimer;

namespace knee::ui {

class EndpointPanel;
class HeatMap;
class TwinDialog;
struct KnobValues;

class SweepPage : public QWidget {
    Q_OBJECT
public:
    enum class Export { ConfigYaml, Autoscaling, Csv, Chart, Twin };
    // Asks the user (title, text): true to go on. Tests answer without a dialog.
    using Confirmer = std::function<bool(const QString& title, const QString& text)>;

    explicit SweepPage(QWidget* parent = nullptr);
    ~SweepPage() override;

    // What a sweep runs on (the window's one scenario and knobs): asked for when a sweep starts and
    // when an export needs the scenario.
    void setScenarioProvider(std::function<Scenario()> provider) { m_provider = std::move(provider); }
    // Moves the knobs (Apply): empty = done, else why not.
    void setKnobApplier(std::function<std::string(const KnobValues&)> applier) { m_applier = std::move(applier); }
    void setConfirmer(Confirmer confirmer) { m_confirm = std::move(confirmer); }
    // Where an export without a path is written (a save dialog by default; tests answer without one).
    using PathChooser = std::function<QString(Export kind, const QString& suggested)>;
    void setPathChooser(PathChooser chooser) { m_choosePath = std::move(chooser); }
    // Makes a scenario the window's current one (Open in the workbench): empty = done, else why not.
    using ScenarioOpener = std::function<std::string(const Scenario& scenario, const QString& sourceName)>;
    void setScenarioOpener(ScenarioOpener opener) { m_openScenario = std::move(opener); }
    // The session file that holds the shown sweep, and when it was measured (a twin's provenance): the
    // window says so when it opens or saves a session; an invalid time keeps the one known.
    void setSessionFile(const QString& path, const QDateTime& measuredAt = {});
    // The scenario was replaced: the last sweep measured another one, so it goes (and says so).
    void scenarioChanged(const QString& name);
    bool isRunning() const { return m_watcher.isRunning(); }
    const std::vector<SessionSweep>& sweeps() const { return m_sweeps; }
    const std::vector<SessionGrid>& grids() const { return m_grids; }
    void setSweeps(std::vector<SessionSweep> sweeps, std::vector<SessionGrid> grids = {}); // a reopened session: shows the last
    QLineEdit* gridValues() const { return m_grid; }
    HeatMap* heatMap() const { return m_heatMap; }
    void setComparison(const QString& label, const std::vector<SessionSweep>& other);
    void clearComparison();
    bool comparisonShown() const;
    QComboBox* comparisonMetric() const { return m_compareMetric; }
    int comparisonPoints() const;
    QString evidenceText() const;
    QString recommendationText() const; // the card, as plain text
    int plottedLevels() const;
    std::optional<int> markedKnee() const { return m_markedKnee; }
    std::optional<int> markedSaturation() const { return m_markedSaturation; } // on the throughput curve
    std::optional<double> markedRateKnee() const { return m_markedRateKnee; } // a rate sweep's p95 knee (req/s)
    std::optional<double> markedCapacity() const { return m_markedCapacity; } // a rate sweep's capacity (req/s)
    double sloLineMs() const;   // the SLO line drawn on the chart (0: none)
    QString readoutAt(double level) const; // the hover read-out for the level at this point of the axis (users, or req/s)
    QString levelsTsv(bool selectedOnly = false) const; // the table, tab-separated with a header row
    QString statusText() const;
    QProgressBar* progressBar() const { return m_progress; }
    QString exportPreview(Export kind, const QString& path) const; // what the export would write, in words
    QString exportLabel(Export kind) const;

    EndpointPanel* endpointPanel() const { return m_endpoint; } // built-in engine or an HTTP endpoint
    // The sweep Run starts, read from the form and checked as knee sweep checks its flags (an endpoint's
    // key resolved, Locust's spool directory made); nothing, with `error` saying why, when it cannot run.
    std::optional<SweepRequest> request(QString& error) const;
    QLineEdit* levels() const { return m_levels; }
    QComboBox* load() const { return m_load; } // closed-loop users ("users") or open-loop request rates ("rates")
    QLineEdit* rates() const { return m_rates; }
    QComboBox* arrivals() const { return m_arrival; } // a rate sweep's: "poisson" or "constant"
    QComboBox* mode() const { return m_mode; } // virtual or live time
    QDoubleSpinBox* slo() const { return m_slo; }
    QDoubleSpinBox* ttftSlo() const { return m_ttftSlo; }
    QDoubleSpinBox* itlSlo() const { return m_itlSlo; }
    QDoubleSpinBox* baseline() const { return m_baseline; }
    QDoubleSpinBox* peak() const { return m_peak; }
    QDoubleSpinBox* warmup() const { return m_warmup; }
    QDoubleSpinBox* window() const { return m_window; }
    QDoubleSpinBox* cap() const { return m_cap; }
    QSpinBox* repeats() const { return m_repeats; }
    QComboBox* starts() const { return m_starts; } // data: SweepOptions::starts (0: automatic)
    QCheckBox* searchSlo() const { return m_searchSlo; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }
    QPushButton* applyButton() const { return m_apply; }
    QToolButton* formToggle() const { return m_formToggle; }
    QString formSummary() const;
    QWidget* formBody() const { return m_formBody; }
    QTableWidget* levelTable() const { return m_table; }
    QChartView* chartView() const { return m_view; }
    bool chartPoppedOut() const;
    QPushButton* twinButton() const { return m_twinButton; }
    bool isFittingTwin() const { return m_fittingTwin; }
    TwinDialog* twinDialog() const; // the last fit's outcome, while open

public slots:
    void run();
    void cancel();
    QString applyRecommendation(); // moves the knobs to the recommendation; empty = done
    void popOutChart(bool out);
    // Exports; an empty path asks with a file dialog, then shows what will be written and asks before
    // writing. Return an empty string, or the error shown.
    QString exportConfigYaml(const QString& path = {});
    QString exportAutoscaling(const QString& path = {});
    QString exportCsv(const QString& path = {});
    QString exportChart(const QString& path = {});
    // Fits a twin to the shown sweep off the UI thread; twinShown() when the dialog shows the outcome.
    // `serial`: the replica serves one request at a time (what the dialog offers after a flat sweep).
    // serial: fit as serial; skip: leave this level out too (both refit the sweep of the last fit).
    void makeTwin(bool serial = false, int skip = 0);
    // The last fitted twin: written as a scenario file (asked and confirmed as the exports are), or
    // made the window's scenario. Return an empty string, or the error shown.
    QString saveTwin(const QString& path = {});
    QString openTwin();

signals:
    void sweepFinished(); // also after a cancel, with the finished levels
    void levelFinished(const QString& level); // "4" (users), or "40 req/s" for a rate sweep's level
    void knobsApplied();
    void twinShown(); // the twin dialog shows a fit's outcome (a twin or a refusal)

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QWidget* buildForm();
    QWidget* buildChart();
    QWidget* buildResults();
    void addLevel(const SweepLevel& level);
    void showResult(const SweepResult& result, const SweepOptions& options);
    void showGrid(const GridResult& grid, const SweepOptions& options, SweepResult& sweep);
    void showRecommendation(const SweepResult& result, const SweepOptions& options);
    void fillTable(const SweepResult& result);
    void clearChart();
    void clearResults();
    void rescaleAxes();
    void updateSloLine();
    void updateFormSummary();
    void updateLoad(); // the form's rows and words for users or rates
    void showAxisKind(); // the chart's titles, names and marks for the shown sweep's axis
    void updateExportLabels();
    void updateProgress();
    void setFormOpen(bool open);
    void showComparison();
    bool confirm(const QString& title, const QString& text) const;
    QString choosePath(Export kind, const QString& suggested);
    QString finishExport(const QString& done, const QString& error);
    QPushButton* buildTwinButton();
    QString twinUnavailable() const; // why Make a twin cannot run now; empty when it can
    void updateTwinButton();
    void showTwin(TwinFit fit);
    std::optional<SweepOptions> readOptions(QString& error) const;
    const SessionSweep* current() const { return m_sweeps.empty() ? nullptr : &m_sweeps.back(); }
    Scenario scenario() const;

    std::function<Scenario()> m_provider;
    std::function<std::string(const KnobValues&)> m_applier;
    Confirmer m_confirm;
    PathChooser m_choosePath;
    ScenarioOpener m_openScenario;
    std::vector<SessionSweep> m_sweeps;
    std::vector<SessionGrid> m_grids;
    std::vector<SessionSweep> m_compared;
    QString m_comparedLabel;
    QLineEdit* m_levels;
    QComboBox* m_load;  // closed-loop users or open-loop request rates
    QLineEdit* m_rates;
    QComboBox* m_arrival;
    QFormLayout* m_what; // the form's first column: its users' and rates' rows show by the load chosen
    QLineEdit* m_grid;
    HeatMap* m_heatMap;
    EndpointPanel* m_endpoint;
    QComboBox* m_mode;
    QDoubleSpinBox *m_slo, *m_ttftSlo, *m_itlSlo, *m_baseline, *m_peak, *m_warmup, *m_window, *m_cap;
    std::unique_ptr<telemetry::GpuSampler> m_gpus; // live sweeps: NVML, made on the first and kept running
    QSpinBox* m_repeats;    // issue 17: each level measured this many times, with 95 % intervals
    QComboBox* m_starts;    // issue 13: the starts each closed-loop level is measured from (SweepOptions::starts)
    QCheckBox* m_searchSlo; // issue 17: bisection to the largest concurrency meeting the SLOs
    QPushButton *m_run, *m_cancel, *m_apply, *m_popOut, *m_clearCompare, *m_copy;
    std::vector<QPushButton*> m_exportButtons;
    QToolButton* m_formToggle;
    QLabel* m_formSummary;
    QWidget* m_formBody;
    QProgressBar* m_progress;
    QLabel* m_status;
    QLabel* m_card;
    QTableWidget* m_table;
    QTextBrowser* m_evidence;
    QComboBox* m_compareMetric;
    QChart* m_chart;
    QChartView* m_view;
    QWidget* m_chartHolder;
    QWidget* m_popOutWindow = nullptr;
    QLogValueAxis* m_x;
    QValueAxis *m_latencyAxis, *m_throughputAxis;
    QLineSeries *m_p50, *m_p95, *m_p99, *m_throughput, *m_sent, *m_compare, *m_sloLine; // m_sent: a rate sweep's achieved rate
    QScatterSeries *m_knee, *m_saturation, *m_throughputKnee;
    QScatterSeries* m_otherStates; // issue 13: a level's faster steady states (its curve shows the slowest)
    void showOtherStates();        // its marks and legend entry shown when it has any
    std::optional<int> m_markedKnee, m_markedSaturation;
    std::optional<double> m_markedRateKnee, m_markedCapacity;
    std::vector<SweepLevel> m_shownLevels; // what the chart and table show (the running sweep's, as they finish)
    SweepOptions m_shown;                  // their sweep's options: users or rates, the tolerance
    std::shared_ptr<std::atomic<bool>> m_cancelFlag;
    std::shared_ptr<std::atomic<double>> m_levelNow; // the level the running sweep measures (0: none yet)
    std::shared_ptr<std::atomic<bool>> m_gridNow;    // the running sweep's levels are done and its grid runs
    SweepOptions m_running;
    bool m_runningLive = false;
    int m_runningLocustWorkers = 0; // the running sweep's load comes from Locust's workers (0: not)
    QString m_runningLocustMaster;  // workers elsewhere: where they connect (host:port); empty: local workers
    // Workers elsewhere: knee wrote what to run and the master listens (set from the sweep's thread).
    std::shared_ptr<std::atomic<bool>> m_locustListening;
    QElapsedTimer m_runClock, m_levelClock;
    QTimer* m_progressTimer;
    QFutureWatcher<SweepRun> m_watcher; // runSweepRequest on Qt's pool
    QString m_sessionFile;  // where the shown sweep is saved, if anywhere
    QDateTime m_measuredAt; // when it was measured, if known
    QPushButton* m_twinButton = nullptr;
    QFutureWatcher<TwinFit> m_twinWatcher; // fitTwin on Qt's pool
    bool m_fittingTwin = false;            // from the click to the dialog (a refusal can finish before the click returns)
    std::optional<TwinFit> m_twinFit;      // the last fit, for Save and Open
    std::optional<SweepResult> m_twinSweep; // the sweep of the last fit: Fit as serial fits it again
    bool m_twinSerial = false;              // how the last fit was asked for, which a refit keeps
    std::vector<int> m_twinSkip;
    QString m_twinSavedTo;                 // where it was saved: the name it opens under
    int m_twinFits = 0;                    // fits shown so far: tells a save that a newer fit came meanwhile
    QPointer<TwinDialog> m_twinDialog;
};

} // namespace knee::ui
