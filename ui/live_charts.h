// Live charts over run time, one point per closed statistics window: latency p50/p95/p99,
// throughput, deployment-queue depth and replicas, and the latency breakdown by stage (stacked).
// Keeps the last kPoints windows, so memory stays flat however long the run.
#pragma once
#include "live/live_engine_host.h"

#include <QWidget>

#include <array>

class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace knee::ui {

class LiveCharts : public QWidget {
    Q_OBJECT
public:
    static constexpr int kPoints = 180; // three minutes of one-second windows

    explicit LiveCharts(QWidget* parent = nullptr);
    // Adds the windows newer than the last one added (a snapshot carries the recent few).
    void addWindows(const std::vector<LiveWindow>& windows);
    void clear();
    int pointCount() const;
    std::uint64_t lastSequence() const { return m_lastSequence; }

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
    QLineSeries* addLine(Panel& panel, const QString& name, const QColor& color);
    void rescale();
    void applyTheme();

    Panel m_latency, m_throughput, m_queue, m_breakdown;
    QValueAxis* m_replicasAxis = nullptr; // right-hand axis: replicas are tens where the queue is thousands
    QLineSeries *m_p50, *m_p95, *m_p99, *m_rate, *m_queued, *m_replicas;
    std::array<QLineSeries*, kPartCount> m_partUpper{};
    std::uint64_t m_lastSequence = 0;
};

} // namespace knee::ui
