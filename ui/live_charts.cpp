#include "live_charts.h"

#include "chart_style.h"
#include "deployment_view.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QEvent>
#include <QGridLayout>
#include <QHeaderView>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QTabWidget>
#include <QTableWidget>
#include <QValueAxis>
#include <QVBoxLayout>

#include <cmath>

namespace knee::ui {

namespace {
// Short: five legend entries must fit under a quarter of a 1280-pixel window.
const char* kPartLabels[kPartCount] = {QT_TRANSLATE_NOOP("LiveCharts", "Queue"), QT_TRANSLATE_NOOP("LiveCharts", "Preprocess"),
                                       QT_TRANSLATE_NOOP("LiveCharts", "Slot wait"), QT_TRANSLATE_NOOP("LiveCharts", "Predict"),
                                       QT_TRANSLATE_NOOP("LiveCharts", "Postprocess")};
constexpr double kLogFloorMs = 0.001; // a log axis has no zero: a 0 ms window is drawn at 1 µs

void trim(QXYSeries* s)
{
    if (s->count() > LiveCharts::kPoints)
        s->removePoints(0, s->count() - LiveCharts::kPoints);
}

double maxY(const QList<QXYSeries*>& series)
{
    double m = 0;
    for (auto* s : series)
        for (const QPointF& p : s->points())
            m = std::max(m, p.y());
    return m;
}

double minPositiveY(const QList<QXYSeries*>& series)
{
    double m = 0;
    for (auto* s : series)
        for (const QPointF& p : s->points())
            if (p.y() > 0 && (m == 0 || p.y() < m))
                m = p.y();
    return m;
}
} // namespace

LiveCharts::LiveCharts(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("liveCharts"));
    m_latency = makePanel(tr("Latency (ms)"), tr("ms"));
    m_p50 = addLine(m_latency, tr("p50"), QColor(0x4a, 0x90, 0xd9));
    m_p95 = addLine(m_latency, tr("p95"), QColor(0xe0, 0xa3, 0x2e));
    m_p99 = addLine(m_latency, tr("p99"), QColor(0xd9, 0x5f, 0x5f));
    m_latencyLog = new QLogValueAxis(this);
    m_latencyLog->setBase(10);
    m_latencyLog->setLabelFormat(QStringLiteral("%g"));
    m_latencyLog->setTitleText(tr("ms (log)"));
    m_latencyLog->setMinorTickCount(8);

    m_throughput = makePanel(tr("Completed and arrived (req/s)"), tr("req/s"));
    m_rate = addLine(m_throughput, tr("completed"), QColor(0x3f, 0xb3, 0x6b));
    m_arrivals = addLine(m_throughput, tr("arrived"), QColor(0x80, 0x80, 0x80), Qt::DashLine);

    m_queue = makePanel(tr("Queue and replicas"), tr("count"));
    m_queued = addLine(m_queue, tr("queue"), DeploymentView::stageColor(0));
    m_replicas = new QLineSeries(this);
    m_replicas->setName(tr("replicas →"));
    m_replicas->setPen(QPen(QColor(0x80, 0x80, 0x80), 2));
    m_queue.chart->addSeries(m_replicas);
    m_replicasAxis = new QValueAxis(m_queue.chart);
    m_replicasAxis->setTitleVisible(false); // the legend's "replicas →" names it
    m_replicasAxis->setLabelFormat(QStringLiteral("%d"));
    m_queue.chart->addAxis(m_replicasAxis, Qt::AlignRight);
    m_replicas->attachAxis(m_queue.x);
    m_replicas->attachAxis(m_replicasAxis);
    // The autoscaler's decisions where they happened, on the replica line.
    m_scaleUp = new QScatterSeries(this);
    m_scaleUp->setName(tr("up"));
    m_scaleUp->setMarkerShape(QScatterSeries::MarkerShapeTriangle);
    m_scaleUp->setMarkerSize(11);
    m_scaleUp->setColor(QColor(0x3f, 0xb3, 0x6b));
    m_scaleDown = new QScatterSeries(this);
    m_scaleDown->setName(tr("down"));
    m_scaleDown->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    m_scaleDown->setMarkerSize(9);
    m_scaleDown->setColor(QColor(0xe0, 0xa3, 0x2e));
    for (QScatterSeries* s : {m_scaleUp, m_scaleDown}) {
        s->setBorderColor(Qt::transparent);
        m_queue.chart->addSeries(s);
        s->attachAxis(m_queue.x);
        s->attachAxis(m_replicasAxis);
    }

    m_breakdown = makePanel(tr("Where the time goes (mean ms)"), tr("ms"));
    m_breakdown.chart->legend()->setAlignment(Qt::AlignRight); // five names fit beside, not under, at 1024 wide
    QLineSeries* lower = nullptr;
    for (int p = 0; p < kPartCount; ++p) {
        m_partUpper[std::size_t(p)] = new QLineSeries(this);
        auto* area = new QAreaSeries(m_partUpper[std::size_t(p)], lower);
        area->setName(tr(kPartLabels[p]));
        const QColor c = DeploymentView::stageColor(p);
        area->setBrush(c);
        area->setPen(QPen(c.darker(120), 1));
        m_breakdown.chart->addSeries(area);
        area->attachAxis(m_breakdown.x);
        area->attachAxis(m_breakdown.y);
        lower = m_partUpper[std::size_t(p)];
    }

    m_streaming = makePanel(tr("Streaming (ms, tokens/s)"), tr("ms"));
    m_ttft = addLine(m_streaming, tr("TTFT p95"), QColor(0x4a, 0x90, 0xd9));
    m_itl = addLine(m_streaming, tr("inter-token p95"), QColor(0x9b, 0x6b, 0xd6));
    m_tokens = new QLineSeries(this);
    m_tokens->setName(tr("tokens/s →"));
    m_tokens->setPen(QPen(QColor(0x3f, 0xb3, 0x6b), 2, Qt::DashLine));
    m_streaming.chart->addSeries(m_tokens);
    m_tokensAxis = new QValueAxis(m_streaming.chart);
    m_tokensAxis->setTitleVisible(false);
    m_tokensAxis->setLabelFormat(QStringLiteral("%g"));
    m_streaming.chart->addAxis(m_tokensAxis, Qt::AlignRight);
    m_tokens->attachAxis(m_streaming.x);
    m_tokens->attachAxis(m_tokensAxis);
    m_streaming.view->hide(); // until a window carries streamed tokens

    auto* charts = new QWidget(this);
    auto* grid = new QGridLayout(charts);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(4);
    grid->addWidget(m_latency.view, 0, 0);
    grid->addWidget(m_throughput.view, 0, 1);
    grid->addWidget(m_streaming.view, 0, 2);
    grid->addWidget(m_queue.view, 1, 0);
    grid->addWidget(m_breakdown.view, 1, 1);

    m_table = new QTableWidget(0, 13, this);
    m_table->setObjectName(QStringLiteral("windowStats"));
    m_table->setHorizontalHeaderLabels({tr("Window end (s)"), tr("Requests"), tr("Failures"), tr("Arrived/s"), tr("Req/s"), tr("p50 (ms)"),
                                        tr("p95 (ms)"), tr("p99 (ms)"), tr("Queue (ms)"), tr("Preprocess (ms)"), tr("Slot wait (ms)"),
                                        tr("Predict (ms)"), tr("Postprocess (ms)")});
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setAlternatingRowColors(true);
    m_table->setToolTip(tr("Each one-second window of the live run, newest first; the first row adds up every window shown "
                           "since the run started"));

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(charts, tr("Charts over run time (s)"));
    m_tabs->addTab(m_table, tr("Statistics per window"));
    m_log = new QCheckBox(tr("&Log latency axis"), this);
    m_log->setToolTip(tr("A start-up spike no longer flattens the rest of the latency chart"));
    m_tabs->setCornerWidget(m_log, Qt::TopRightCorner);
    connect(m_log, &QCheckBox::toggled, this, &LiveCharts::setLogLatency);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_tabs);
    clear();
    applyTheme();
}

LiveCharts::Panel LiveCharts::makePanel(const QString& title, const QString& yTitle)
{
    Panel p;
    p.chart = new QChart();
    p.chart->setTitle(title);
    QFont small = p.chart->legend()->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p.chart->legend()->setFont(small);
    p.chart->legend()->setAlignment(Qt::AlignBottom);
    p.chart->setMargins(QMargins(2, 2, 2, 2));
    p.x = new QValueAxis(p.chart);
    p.x->setTitleVisible(false); // "run time (s)" is in every panel's title: the plot keeps the room
    p.x->setLabelFormat(QStringLiteral("%.0f"));
    p.y = new QValueAxis(p.chart);
    p.y->setTitleText(yTitle);
    p.y->setTitleVisible(false); // the unit is in the panel's title: the plot keeps the room
    p.y->setLabelFormat(QStringLiteral("%g"));
    p.chart->addAxis(p.x, Qt::AlignBottom);
    p.chart->addAxis(p.y, Qt::AlignLeft);
    p.view = new QChartView(p.chart, this);
    p.view->setRenderHint(QPainter::Antialiasing);
    p.view->setMinimumSize(200, 120);
    return p;
}

QLineSeries* LiveCharts::addLine(Panel& panel, const QString& name, const QColor& color, Qt::PenStyle style)
{
    auto* s = new QLineSeries(this);
    s->setName(name);
    s->setPen(QPen(color, 2, style));
    panel.chart->addSeries(s);
    s->attachAxis(panel.x);
    s->attachAxis(panel.y);
    return s;
}

bool LiveCharts::logLatency() const { return m_log->isChecked(); }

void LiveCharts::setLogLatency(bool on)
{
    if (m_log->isChecked() != on)
        m_log->setChecked(on); // comes back here through toggled
    QAbstractAxis* from = on ? static_cast<QAbstractAxis*>(m_latency.y) : m_latencyLog;
    QAbstractAxis* to = on ? static_cast<QAbstractAxis*>(m_latencyLog) : m_latency.y;
    if (!m_latency.chart->axes(Qt::Vertical).contains(from))
        return;
    m_latency.chart->removeAxis(from);
    from->setParent(this); // the chart gave it back
    m_latency.chart->addAxis(to, Qt::AlignLeft);
    for (QLineSeries* s : {m_p50, m_p95, m_p99})
        s->attachAxis(to);
    rescale();
    applyTheme();
}

bool LiveCharts::streamingShown() const { return m_streaming.view->isVisibleTo(this); }

void LiveCharts::addWindows(const std::vector<LiveWindow>& windows)
{
    bool added = false;
    for (const LiveWindow& w : windows) {
        if (w.sequence <= m_lastSequence)
            continue;
        m_lastSequence = w.sequence;
        added = true;
        const double t = w.endS;
        if (w.completed > 0) { // a window with no response has no latency to draw
            m_p50->append(t, std::max(kLogFloorMs, w.latency.p50));
            m_p95->append(t, std::max(kLogFloorMs, w.latency.p95));
            m_p99->append(t, std::max(kLogFloorMs, w.latency.p99));
            double stacked = 0;
            for (int p = 0; p < kPartCount; ++p) {
                stacked += w.partMeanMs[std::size_t(p)];
                m_partUpper[std::size_t(p)]->append(t, stacked);
            }
        }
        if (w.ttft.count > 0) {
            m_streaming.view->show();
            m_ttft->append(t, w.ttft.p95);
            m_itl->append(t, w.itl.p95);
            m_tokens->append(t, w.tokensPerS);
        }
        m_rate->append(t, w.throughputRps);
        m_arrivals->append(t, w.widthS > 0 ? double(w.arrived) / w.widthS : 0);
        m_queued->append(t, double(w.queued));
        m_replicas->append(t, double(w.replicas));
        addTableRow(w);
    }
    if (!added)
        return;
    for (auto* s : {m_p50, m_p95, m_p99, m_rate, m_arrivals, m_queued, m_replicas, m_ttft, m_itl, m_tokens})
        trim(s);
    for (auto* s : m_partUpper)
        trim(s);
    // Marks older than the oldest point kept go with it.
    const double start = m_rate->count() ? m_rate->at(0).x() : 0;
    for (QScatterSeries* s : {m_scaleUp, m_scaleDown})
        while (s->count() > 0 && s->at(0).x() < start)
            s->remove(0);
    rescale();
}

void LiveCharts::addTableRow(const LiveWindow& w)
{
    m_totalRequests += w.completed + w.failed + w.rejected;
    m_totalFailures += w.failed + w.rejected;
    m_totalWidth += w.widthS;
    auto cell = [](double v, int decimals) {
        auto* item = new QTableWidgetItem(QString::number(v, 'f', decimals));
        item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        return item;
    };
    m_table->insertRow(1);
    const std::int64_t requests = w.completed + w.failed + w.rejected;
    const double values[] = {w.endS, double(requests), double(w.failed + w.rejected), w.widthS > 0 ? double(w.arrived) / w.widthS : 0,
                             w.throughputRps, w.latency.p50, w.latency.p95, w.latency.p99};
    const int decimals[] = {1, 0, 0, 1, 1, 2, 2, 2};
    for (int c = 0; c < 8; ++c)
        m_table->setItem(1, c, cell(values[c], decimals[c]));
    for (int p = 0; p < kPartCount; ++p)
        m_table->setItem(1, 8 + p, cell(w.partMeanMs[std::size_t(p)], 2));
    while (m_table->rowCount() > kTableRows + 1)
        m_table->removeRow(m_table->rowCount() - 1);
    // The first row: every window since the run started (percentiles do not add up: left blank).
    auto* label = new QTableWidgetItem(tr("all"));
    m_table->setItem(0, 0, label);
    m_table->setItem(0, 1, cell(double(m_totalRequests), 0));
    m_table->setItem(0, 2, cell(double(m_totalFailures), 0));
    m_table->setItem(0, 4, cell(m_totalWidth > 0 ? double(m_totalRequests - m_totalFailures) / m_totalWidth : 0, 1));
    for (int c = 0; c < m_table->columnCount(); ++c)
        if (auto* item = m_table->item(0, c)) {
            QFont f = item->font();
            f.setBold(true);
            item->setFont(f);
        }
}

void LiveCharts::addScalingEvents(const std::vector<ScalingEvent>& recent, std::size_t total)
{
    // Counted, not timed: several events share one tick (a panic start and its scale-up), so "newer
    // than the last one's time" would drop all but the first.
    if (total < m_scalingSeen)
        m_scalingSeen = 0; // a new run's log
    const std::size_t first = total - std::min(total, recent.size());
    bool added = false;
    for (std::size_t i = std::max(first, m_scalingSeen); i < total; ++i) {
        const ScalingEvent& e = recent[i - first];
        const bool up = e.action == ScalingEvent::Action::ScaleUp || e.action == ScalingEvent::Action::ScaleFromZero;
        const bool down = e.action == ScalingEvent::Action::ScaleDown;
        if (!up && !down)
            continue;
        (up ? m_scaleUp : m_scaleDown)->append(nanosToSeconds(e.at), e.to);
        added = true;
    }
    m_scalingSeen = std::max(m_scalingSeen, total);
    if (added)
        rescale();
}

int LiveCharts::scalingMarks() const { return int(m_scaleUp->count() + m_scaleDown->count()); }

QList<double> LiveCharts::tickValues(const QValueAxis* axis)
{
    QList<double> ticks;
    if (axis->tickType() == QValueAxis::TicksDynamic) {
        for (double v = axis->tickAnchor() + std::ceil((axis->min() - axis->tickAnchor()) / axis->tickInterval()) * axis->tickInterval();
             v <= axis->max() + 1e-9; v += axis->tickInterval())
            ticks << v;
        return ticks;
    }
    const int n = axis->tickCount();
    for (int i = 0; i < n; ++i)
        ticks << axis->min() + (axis->max() - axis->min()) * i / std::max(1, n - 1);
    return ticks;
}

void LiveCharts::rescale()
{
    const double end = m_rate->count() ? m_rate->points().back().x() : 1.0;
    const double start = m_rate->count() ? m_rate->points().front().x() : 0.0;
    // Whole-second ticks at a round step, whatever the span: 1, 2, 5, 10, 15, 30, 60 … s.
    const double span = std::max(end - start, 1.0);
    double step = 1;
    for (double candidate : {1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0})
        if (span / candidate > 6)
            step = candidate * (candidate < 60 ? 1 : std::ceil(span / 360.0));
    for (Panel* p : {&m_latency, &m_throughput, &m_queue, &m_breakdown, &m_streaming}) {
        p->x->setRange(start, start + span);
        p->x->setTickType(QValueAxis::TicksDynamic);
        p->x->setTickAnchor(0);
        p->x->setTickInterval(step);
    }
    niceAxis(m_latency.y, maxY({m_p99}), false);
    const double lo = minPositiveY({m_p50}), hi = maxY({m_p99});
    m_latencyLog->setRange(std::pow(10.0, std::floor(std::log10(lo > 0 ? lo : 1.0))), std::pow(10.0, std::ceil(std::log10(std::max(hi, 10.0) * 1.01))));
    niceAxis(m_throughput.y, maxY({m_rate, m_arrivals}), false);
    niceAxis(m_queue.y, maxY({m_queued}), true);
    niceAxis(m_replicasAxis, std::max(2.0, maxY({m_replicas, m_scaleUp, m_scaleDown})), true);
    niceAxis(m_breakdown.y, maxY({m_partUpper.back()}), false);
    niceAxis(m_streaming.y, maxY({m_ttft, m_itl}), false);
    niceAxis(m_tokensAxis, maxY({m_tokens}), false);
}

void LiveCharts::clear()
{
    for (auto* s : {m_p50, m_p95, m_p99, m_rate, m_arrivals, m_queued, m_replicas, m_ttft, m_itl, m_tokens})
        s->clear();
    for (auto* s : m_partUpper)
        s->clear();
    m_scaleUp->clear();
    m_scaleDown->clear();
    m_streaming.view->hide();
    m_table->setRowCount(0);
    m_table->insertRow(0);
    m_totalRequests = m_totalFailures = 0;
    m_totalWidth = 0;
    m_lastSequence = 0;
    m_scalingSeen = 0;
    rescale();
}

int LiveCharts::pointCount() const { return int(m_rate->count()); }

void LiveCharts::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange)
        applyTheme();
    QWidget::changeEvent(event);
}

void LiveCharts::applyTheme()
{
    // Follow the application palette so the charts read in light and dark desktops alike.
    for (Panel* p : {&m_latency, &m_throughput, &m_queue, &m_breakdown, &m_streaming})
        styleChart(p->chart, palette());
}

} // namespace knee::ui
