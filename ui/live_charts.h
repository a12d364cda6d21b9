// Live charts over run time, one point per closed statistics window: latency p50/p95/p99 (linear or
// log axis), throughput beside arrivals (overload shows as a gap), deployment-queue depth and replicas
// with the autoscaler's scaling events marked, the latency breakdown by stage (stacked), and for
// streaming models time to first token, inter-token time and tokens per second. A second tab lists
// each window's figures (requests, failures, p50/p95/p99, req/s, time per stage), newest first, like
// Locust's statistics table. Keeps the last kPoints windows, so memory stays flat however long the run.
#pragma once
#include "live/live_engine_host.h"

#include <QWidget>

#include <array>

class QChart;
class QChartView;
class QCheckBox;
class QLineSeries;
class QLogValueAxis;
class QScatterSeries;
class QTableWidget;
class QTabWidget;
class QValueAxis;

namespace knee::ui {

class LiveCharts : public QWidget {
    Q_OBJECT
public:
    static constexpr int kPoints = 180; // three minutes of one-second windows
    static constexpr int kTableRows = 60;

    explicit LiveCharts(QWidget* parent = nullptr);
    // Adds the windows newer than the last one added (a snapshot carries the recent few).
    void addWindows(const std::vector<LiveWindow>& windows);
    // Marks scale-ups and scale-downs not yet marked on the replicas chart: `recent` are the newest of
    // the `total` events the run has logged (LiveSnapshot's recentScaling and scalingTotal).
    void addScalingEvents(const std::vector<ScalingEvent>& recent, std::size_t total);
    void clear();
    int pointCount() const;
    int scalingMarks() const;
    bool logLatency() const;
    void setLogLatency(bool on);
    bool streamingShown() const;
    QTableWidget* statsTable() const { return m_table; }
    QCheckBox* logLatencyBox() const { return m_log; }
    QValueAxis* replicasAxis() const { return m_replicasAxis; }
    QValueAxis* throughputAxis() const { return m_throughput.y; }
    // Axis labels as drawn: the tick values of a value axis (for tests of round ticks).
    static QList<double> tickValues(const QValueAxis* axis);

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Panel {
        QChart* chart = nullptr;
        QChartView* view = nullptr;
        QValueAxis* x = nullptr;
        QValueAxis* y = nullptr;
    };
    Panel makePanel(const QString& title, const QString& yTitle);
    QLineSeries* addLine(Panel& panel, const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine);
    void addTableRow(const LiveWindow& w);
    void rescale();
    void applyTheme();

    QTabWidget* m_tabs = nullptr;
    QCheckBox* m_log = nullptr;
    QTableWidget* m_table = nullptr;
    Panel m_latency, m_throughput, m_queue, m_breakdown, m_streaming;
    QLogValueAxis* m_latencyLog = nullptr;       // swapped in for m_latency.y
    QValueAxis* m_replicasAxis = nullptr;        // right-hand axis: replicas are tens where the queue is thousands
    QValueAxis* m_tokensAxis = nullptr;          // right-hand axis of the streaming panel
    QLineSeries *m_p50, *m_p95, *m_p99, *m_rate, *m_arrivals, *m_queued, *m_replicas;
    QLineSeries *m_ttft, *m_itl, *m_tokens;
    QScatterSeries *m_scaleUp, *m_scaleDown;
    std::array<QLineSeries*, kPartCount> m_partUpper{};
    std::uint64_t m_lastSequence = 0;
    std::size_t m_scalingSeen = 0; // events of the run already looked at
    std::int64_t m_totalRequests = 0, m_totalFailures = 0;
    double m_totalWidth = 0;
};

} // namespace knee::ui
