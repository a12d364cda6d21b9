#include "live_charts.h"

#include "deployment_view.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QGridLayout>
#include <QLineSeries>
#include <QValueAxis>

#include <cmath>

namespace knee::ui {

namespace {
// Short: five legend entries must fit under a quarter of a 1280-pixel window.
const char* kPartLabels[kPartCount] = {QT_TRANSLATE_NOOP("LiveCharts", "Queue"), QT_TRANSLATE_NOOP("LiveCharts", "Preprocess"),
                                       QT_TRANSLATE_NOOP("LiveCharts", "Slot wait"), QT_TRANSLATE_NOOP("LiveCharts", "Predict"),
                                       QT_TRANSLATE_NOOP("LiveCharts", "Postprocess")};

void trim(QLineSeries* s)
{
    if (s->count() > LiveCharts::kPoints)
        s->removePoints(0, s->count() - LiveCharts::kPoints);
}

double maxY(const QList<QLineSeries*>& series)
{
    double m = 0;
    for (auto* s : series)
        for (const QPointF& p : s->points())
            m = std::max(m, p.y());
    return m;
}
} // namespace

LiveCharts::LiveCharts(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("liveCharts"));
    m_latency = makePanel(tr("Latency"), tr("ms"));
    m_p50 = addLine(m_latency, tr("p50"), QColor(0x4a, 0x90, 0xd9));
    m_p95 = addLine(m_latency, tr("p95"), QColor(0xe0, 0xa3, 0x2e));
    m_p99 = addLine(m_latency, tr("p99"), QColor(0xd9, 0x5f, 0x5f));
    m_throughput = makePanel(tr("Throughput"), tr("req/s"));
    m_rate = addLine(m_throughput, tr("completed"), QColor(0x3f, 0xb3, 0x6b));
    m_queue = makePanel(tr("Queue and replicas"), tr("count"));
    m_queued = addLine(m_queue, tr("deployment queue"), DeploymentView::stageColor(0));
    m_replicas = new QLineSeries(this);
    m_replicas->setName(tr("replicas (right axis)"));
    m_replicas->setPen(QPen(QColor(0x80, 0x80, 0x80), 2));
    m_queue.chart->addSeries(m_replicas);
    m_replicasAxis = new QValueAxis(m_queue.chart);
    m_replicasAxis->setTitleText(tr("replicas"));
    m_replicasAxis->setLabelFormat(QStringLiteral("%d"));
    m_queue.chart->addAxis(m_replicasAxis, Qt::AlignRight);
    m_replicas->attachAxis(m_queue.x);
    m_replicas->attachAxis(m_replicasAxis);
    m_breakdown = makePanel(tr("Where the time goes (mean)"), tr("ms"));
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

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(4);
    grid->addWidget(m_latency.view, 0, 0);
    grid->addWidget(m_throughput.view, 0, 1);
    grid->addWidget(m_queue.view, 1, 0);
    grid->addWidget(m_breakdown.view, 1, 1);
    applyTheme();
}

LiveCharts::Panel LiveCharts::makePanel(const QString& title, const QString& yTitle)
{
    Panel p;
    p.chart = new QChart();
    p.chart->setTitle(title);
    p.chart->legend()->setAlignment(Qt::AlignBottom);
    p.chart->setMargins(QMargins(2, 2, 2, 2));
    p.x = new QValueAxis(p.chart);
    p.x->setTitleText(tr("run time (s)"));
    p.x->setLabelFormat(QStringLiteral("%.0f"));
    p.y = new QValueAxis(p.chart);
    p.y->setTitleText(yTitle);
    p.y->setLabelFormat(QStringLiteral("%g"));
    p.chart->addAxis(p.x, Qt::AlignBottom);
    p.chart->addAxis(p.y, Qt::AlignLeft);
    p.view = new QChartView(p.chart, this);
    p.view->setRenderHint(QPainter::Antialiasing);
    p.view->setMinimumSize(260, 180);
    return p;
}

QLineSeries* LiveCharts::addLine(Panel& panel, const QString& name, const QColor& color)
{
    auto* s = new QLineSeries(this);
    s->setName(name);
    s->setPen(QPen(color, 2));
    panel.chart->addSeries(s);
    s->attachAxis(panel.x);
    s->attachAxis(panel.y);
    return s;
}

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
            m_p50->append(t, w.latency.p50);
            m_p95->append(t, w.latency.p95);
            m_p99->append(t, w.latency.p99);
            double stacked = 0;
            for (int p = 0; p < kPartCount; ++p) {
                stacked += w.partMeanMs[std::size_t(p)];
                m_partUpper[std::size_t(p)]->append(t, stacked);
            }
        }
        m_rate->append(t, w.throughputRps);
        m_queued->append(t, double(w.queued));
        m_replicas->append(t, double(w.replicas));
    }
    if (!added)
        return;
    for (auto* s : {m_p50, m_p95, m_p99, m_rate, m_queued, m_replicas})
        trim(s);
    for (auto* s : m_partUpper)
        trim(s);
    rescale();
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
    for (Panel* p : {&m_latency, &m_throughput, &m_queue, &m_breakdown}) {
        p->x->setRange(start, start + span);
        p->x->setTickType(QValueAxis::TicksDynamic);
        p->x->setTickAnchor(0);
        p->x->setTickInterval(step);
    }
    auto fit = [](QValueAxis* axis, double top) {
        axis->setRange(0, top > 0 ? top * 1.1 : 1.0);
        axis->applyNiceNumbers(); // round ticks (0, 10, 20 …) rather than 0, 12.93, 25.85 …
    };
    fit(m_latency.y, maxY({m_p99}));
    fit(m_throughput.y, maxY({m_rate}));
    fit(m_queue.y, maxY({m_queued}));
    m_replicasAxis->setRange(0, std::max(2.0, std::ceil(maxY({m_replicas}) * 1.25)));
    m_replicasAxis->setTickCount(int(std::min(6.0, m_replicasAxis->max() + 1)));
    fit(m_breakdown.y, maxY({m_partUpper.back()}));
}

void LiveCharts::clear()
{
    for (auto* s : {m_p50, m_p95, m_p99, m_rate, m_queued, m_replicas})
        s->clear();
    for (auto* s : m_partUpper)
        s->clear();
    m_lastSequence = 0;
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
    const QPalette pal = palette();
    for (Panel* p : {&m_latency, &m_throughput, &m_queue, &m_breakdown}) {
        p->chart->setBackgroundBrush(pal.color(QPalette::Base));
        p->chart->setTitleBrush(pal.color(QPalette::Text));
        p->chart->legend()->setLabelColor(pal.color(QPalette::Text));
        for (QValueAxis* a : {p->x, p->y, p == &m_queue ? m_replicasAxis : p->y}) {
            a->setLabelsColor(pal.color(QPalette::Text));
            a->setTitleBrush(pal.color(QPalette::Text));
            a->setGridLineColor(pal.color(QPalette::Mid));
            a->setLinePenColor(pal.color(QPalette::Mid));
        }
    }
}

} // namespace knee::ui
