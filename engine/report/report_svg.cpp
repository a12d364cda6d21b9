#include "report_svg.h"

#include "study/level_figures.h"

#include <QStringList>

#include <algorithm>
#include <cmath>

namespace knee::report {

namespace {
constexpr double kWidth = 640, kHeight = 300;
constexpr double kLeft = 60, kRight = 20, kTop = 30, kBottom = 50;

QString num(double v) { return QString::number(v, 'g', 10); }
QString fmt(double v) { return QString::number(v, 'f', v < 10 ? 2 : v < 100 ? 1 : 0); }

// Round ticks: a step of 1, 2 or 5 × 10^k, about four of them up to `top`.
double niceStep(double top)
{
    if (!(top > 0))
        return 0.25;
    const double rough = top / 4, magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= rough)
            return m * magnitude;
    return 10 * magnitude;
}

// The x axis is log 2 from xMin (1 user, or a rate sweep's smallest rate) to xMax, xMin times a power of 2.
struct Frame {
    double xMin = 1, xMax = 2, yMax = 1, yStep = 0.25;
    void fitY(double top)
    {
        yStep = niceStep(top);
        yMax = std::max(yStep, yStep * std::ceil(top / yStep - 1e-9));
    }
    double x(double v) const { return kLeft + (kWidth - kLeft - kRight) * std::log2(std::max(xMin, v) / xMin) / std::log2(xMax / xMin); }
    double y(double v) const { return kHeight - kBottom - (kHeight - kTop - kBottom) * v / yMax; }
};

QString axes(const Frame& f, const QString& title, const QString& yTitle, const QString& xTitle)
{
    QString svg;
    svg += QStringLiteral("<text x='%1' y='18' class='title'>%2</text>").arg(num(kLeft)).arg(title.toHtmlEscaped());
    for (int i = 0; i * f.yStep <= f.yMax + 1e-9; ++i) {
        const double v = i * f.yStep;
        svg += QStringLiteral("<line x1='%1' x2='%2' y1='%3' y2='%3' class='grid'/><text x='%4' y='%5' class='tick' text-anchor='end'>%6</text>")
                   .arg(num(kLeft), num(kWidth - kRight), num(f.y(v)), num(kLeft - 6), num(f.y(v) + 4), QString::number(v, 'g', 4));
    }
    for (double c = f.xMin; c <= f.xMax; c *= 2)
        svg += QStringLiteral("<line x1='%1' x2='%1' y1='%2' y2='%3' class='grid'/><text x='%1' y='%4' class='tick' text-anchor='middle'>%5</text>")
                   .arg(num(f.x(c)), num(kTop), num(kHeight - kBottom), num(kHeight - kBottom + 16), QString::number(c));
    svg += QStringLiteral("<text x='%1' y='%2' class='axis' text-anchor='middle'>%3</text>")
               .arg(num((kLeft + kWidth - kRight) / 2), num(kHeight - 12), xTitle.toHtmlEscaped());
    svg += QStringLiteral("<text transform='translate(16 %1) rotate(-90)' class='axis' text-anchor='middle'>%2</text>")
               .arg(num((kTop + kHeight - kBottom) / 2), yTitle.toHtmlEscaped());
    return svg;
}

QString polyline(const Frame& f, const std::vector<std::pair<double, double>>& points, const QString& cls)
{
    QStringList xy;
    for (const auto& [c, v] : points)
        xy << num(f.x(c)) + QLatin1Char(',') + num(f.y(v));
    return QStringLiteral("<polyline class='%1' points='%2'/>").arg(cls, xy.join(QLatin1Char(' ')));
}

const QString kUsersAxis = QStringLiteral("concurrent requests (log 2)"), kRateAxis = QStringLiteral("request rate (req/s, log 2)");

// Closed loop: 1 to the power of 2 at or above the largest level. Rate sweep: from the smallest rate by
// doublings, so that rates which double (the usual list) sit on the ticks and the low rates are not
// crowded into the corner.
Frame xFrame(const SweepResult& r)
{
    Frame f;
    if (!r.rateAnalysis) {
        double m = 2;
        for (const SweepLevel& l : r.levels)
            m = std::max(m, double(l.concurrency));
        f.xMax = std::pow(2.0, std::ceil(std::log2(m)));
        return f;
    }
    double lo = 0, hi = 0;
    for (const SweepLevel& l : r.levels)
        if (l.open()) {
            lo = lo > 0 ? std::min(lo, l.rateRps) : l.rateRps;
            hi = std::max(hi, l.rateRps);
        }
    f.xMin = lo > 0 ? lo : 1;
    f.xMax = f.xMin * std::pow(2.0, std::max(1.0, std::ceil(std::log2(std::max(hi, f.xMin) / f.xMin) - 1e-9)));
    return f;
}

// A rate sweep's levels in rate order (an SLO search appends its bisected rates in the order measured).
std::vector<const SweepLevel*> byRate(const SweepResult& r)
{
    std::vector<const SweepLevel*> levels;
    for (const SweepLevel& l : r.levels)
        levels.push_back(&l);
    std::stable_sort(levels.begin(), levels.end(), [](const SweepLevel* a, const SweepLevel* b) { return a->rateRps < b->rateRps; });
    return levels;
}

QString rateText(double rps) { return QString::number(rps, 'g', 4); }

// A mark's label beside its point; on the right half to its left, so that it stays inside the chart.
QString markLabel(double x, double y, const QString& text)
{
    const bool left = x > (kLeft + kWidth - kRight) / 2;
    return QStringLiteral("<text x='%1' y='%2' class='mark'%3>%4</text>")
        .arg(num(left ? x - 9 : x + 9), num(y), left ? QStringLiteral(" text-anchor='end'") : QString(), text.toHtmlEscaped());
}

QString open(const QString& id, const QString& label)
{
    return QStringLiteral("<svg id='%1' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %2 %3' role='img' aria-label='%4'>")
        .arg(id, num(kWidth), num(kHeight), label.toHtmlEscaped());
}

QString sloLine(const Frame& f, const SweepOptions& o)
{
    if (!(o.sloMs > 0))
        return {};
    return QStringLiteral("<line x1='%1' x2='%2' y1='%3' y2='%3' class='slo' data-slo-ms='%4'/><text x='%2' y='%5' class='slo-label' "
                          "text-anchor='end'>SLO p95 %6 ms</text>")
        .arg(num(kLeft), num(kWidth - kRight), num(f.y(o.sloMs)), num(o.sloMs), num(f.y(o.sloMs) - 4), fmt(o.sloMs));
}

QString latencyLegend()
{
    return QStringLiteral("<g class='legend'><text x='%1' y='18' class='p50-label'>p50</text><text x='%2' y='18' class='p95-label'>p95</text>"
                          "<text x='%3' y='18' class='p99-label'>p99</text></g></svg>")
        .arg(num(kWidth - 150), num(kWidth - 110), num(kWidth - 70));
}

// Past the capacity an open loop's queue grows for as long as the level runs, so those levels' latency
// says how long the level ran more than anything about the replica: the y axis fits the levels that
// were served in full (and the SLO), and a larger point is drawn at the top, clipped, its value in its label.
QString rateLatencyChartSvg(const SweepResult& r, const SweepOptions& o)
{
    Frame f = xFrame(r);
    double top = o.sloMs, all = o.sloMs;
    for (const SweepLevel& l : r.levels) {
        all = std::max(all, l.latency.p99);
        if (l.keptUp(o.tolerance))
            top = std::max(top, l.latency.p99);
    }
    f.fitY((top > 0 ? top : all) * 1.05);
    const double ceiling = f.yMax;
    auto clip = [&](double v) { return std::min(v, ceiling); };
    QString svg = open(QStringLiteral("latencyChart"), QStringLiteral("Latency against the request rate"));
    svg += axes(f, QStringLiteral("Latency: p50, p95, p99"), QStringLiteral("latency (ms)"), kRateAxis);
    const std::vector<const SweepLevel*> levels = byRate(r);
    std::vector<std::pair<double, double>> p50, p95, p99;
    for (const SweepLevel* l : levels) {
        p50.emplace_back(l->axis(), clip(l->latency.p50));
        p95.emplace_back(l->axis(), clip(l->latency.p95));
        p99.emplace_back(l->axis(), clip(l->latency.p99));
    }
    svg += sloLine(f, o);
    svg += polyline(f, p50, QStringLiteral("p50")) + polyline(f, p95, QStringLiteral("p95")) + polyline(f, p99, QStringLiteral("p99"));
    const std::optional<double>& knee = r.rateAnalysis->knee;
    for (const SweepLevel* l : levels) {
        const bool isKnee = knee && *knee == l->rateRps, served = l->keptUp(o.tolerance), clipped = l->latency.p95 > ceiling;
        svg += QStringLiteral("<circle class='%1' cx='%2' cy='%3' r='%4' data-rate-rps='%5' data-p95-ms='%6'><title>%7 req/s asked, %8 sent, "
                              "%9 served: p50 %10 ms, p95 %11 ms, p99 %12 ms%13</title></circle>")
                   .arg(isKnee ? QStringLiteral("knee") : served ? QStringLiteral("dot") : QStringLiteral("unserved"), num(f.x(l->axis())),
                        num(f.y(clip(l->latency.p95))), isKnee ? QStringLiteral("7") : QStringLiteral("3.5"), num(l->rateRps), num(l->latency.p95),
                        rateText(l->rateRps), fmt(l->sentRps), fmt(l->throughputRps))
                   .arg(fmt(l->latency.p50), fmt(l->latency.p95), fmt(l->latency.p99),
                        served ? QString() : QStringLiteral("; not served in full: the queue grew while it ran"));
        if (isKnee)
            svg += markLabel(f.x(l->axis()), f.y(clip(l->latency.p95)) - 8, QStringLiteral("p95 knee %1 req/s").arg(rateText(l->rateRps)));
        else if (clipped)
            svg += QStringLiteral("<text x='%1' y='%2' class='tick' text-anchor='end'>p95 %3 ms ↑</text>")
                       .arg(num(f.x(l->axis()) - 6), num(f.y(ceiling) + 12), fmt(l->latency.p95));
    }
    return svg + latencyLegend();
}

// A rate sweep (rateAnalysis set).
QString rateThroughputChartSvg(const SweepResult& r)
{
    Frame f = xFrame(r);
    double top = 0;
    for (const SweepLevel& l : r.levels)
        top = std::max({top, l.throughputRps, l.sentRps});
    f.fitY(top * 1.05);
    QString svg = open(QStringLiteral("throughputChart"), QStringLiteral("Served and sent rate against the request rate"));
    svg += axes(f, QStringLiteral("Throughput: served and sent"), QStringLiteral("throughput (req/s)"), kRateAxis);
    const std::vector<const SweepLevel*> levels = byRate(r);
    std::vector<std::pair<double, double>> sent, served;
    for (const SweepLevel* l : levels) {
        sent.emplace_back(l->axis(), l->sentRps);
        served.emplace_back(l->axis(), l->throughputRps);
    }
    svg += polyline(f, sent, QStringLiteral("sent")) + polyline(f, served, QStringLiteral("throughput"));
    const std::optional<double>& capacity = r.rateAnalysis->capacity;
    for (const SweepLevel* l : levels) {
        const bool isCapacity = capacity && *capacity == l->rateRps;
        svg += QStringLiteral("<circle class='%1' cx='%2' cy='%3' r='%4' data-rate-rps='%5' data-throughput-rps='%6' data-sent-rps='%7'>"
                              "<title>%8 req/s asked: %9 req/s served of %10 sent</title></circle>")
                   .arg(isCapacity ? QStringLiteral("capacity") : QStringLiteral("dot"), num(f.x(l->axis())), num(f.y(l->throughputRps)),
                        isCapacity ? QStringLiteral("7") : QStringLiteral("3.5"), num(l->rateRps), num(l->throughputRps), num(l->sentRps),
                        rateText(l->rateRps), fmt(l->throughputRps))
                   .arg(fmt(l->sentRps));
        // Without a rate that was not served, the capacity is only known to be above the largest rate.
        if (isCapacity)
            svg += markLabel(f.x(l->axis()), f.y(l->throughputRps) + 16,
                             QStringLiteral("capacity %1%2 req/s").arg(r.rateAnalysis->firstBehind ? QString() : QStringLiteral("≥ "), rateText(l->rateRps)));
    }
    svg += QStringLiteral("<g class='legend'><text x='%1' y='18' class='served-label'>served</text><text x='%2' y='18' class='sent-label'>sent</text></g></svg>")
               .arg(num(kWidth - 150), num(kWidth - 90));
    return svg;
}
} // namespace

QString latencyChartSvg(const SweepResult& r, const SweepOptions& o)
{
    if (r.rateAnalysis)
        return rateLatencyChartSvg(r, o);
    Frame f = xFrame(r);
    double top = o.sloMs;
    for (const SweepLevel& l : r.levels)
        top = std::max(top, l.latency.p99);
    f.fitY(top * 1.05);
    QString svg = open(QStringLiteral("latencyChart"), QStringLiteral("Latency against concurrency"));
    svg += axes(f, QStringLiteral("Latency: p50, p95, p99"), QStringLiteral("latency (ms)"), kUsersAxis);
    std::vector<std::pair<double, double>> p50, p95, p99;
    for (const SweepLevel& l : r.levels) {
        p50.emplace_back(l.concurrency, l.latency.p50);
        p95.emplace_back(l.concurrency, l.latency.p95);
        p99.emplace_back(l.concurrency, l.latency.p99);
    }
    svg += sloLine(f, o);
    svg += polyline(f, p50, QStringLiteral("p50")) + polyline(f, p95, QStringLiteral("p95")) + polyline(f, p99, QStringLiteral("p99"));
    for (const SweepLevel& l : r.levels) {
        const bool knee = r.analysis.knee && *r.analysis.knee == l.concurrency;
        svg += QStringLiteral("<circle class='%1' cx='%2' cy='%3' r='%4' data-concurrency='%5' data-p95-ms='%6'><title>%5 users: p50 %7 ms, "
                              "p95 %8 ms, p99 %9 ms</title></circle>")
                   .arg(knee ? QStringLiteral("knee") : QStringLiteral("dot"), num(f.x(l.concurrency)), num(f.y(l.latency.p95)),
                        knee ? QStringLiteral("7") : QStringLiteral("3.5"), QString::number(l.concurrency), num(l.latency.p95),
                        fmt(l.latency.p50), fmt(l.latency.p95), fmt(l.latency.p99));
        if (knee)
            svg += QStringLiteral("<text x='%1' y='%2' class='mark'>p95 knee %3</text>")
                       .arg(num(f.x(l.concurrency) + 9), num(f.y(l.latency.p95) - 8), QString::number(l.concurrency));
    }
    return svg + latencyLegend();
}

QString throughputChartSvg(const SweepResult& r, const SweepOptions& o)
{
    if (r.rateAnalysis)
        return rateThroughputChartSvg(r);
    Frame f = xFrame(r);
    double top = 0;
    for (const SweepLevel& l : r.levels)
        top = std::max(top, l.states ? std::max(l.throughputRps, l.states->fastestRps()) : l.throughputRps);
    f.fitY(top * 1.05);
    QString svg = open(QStringLiteral("throughputChart"), QStringLiteral("Throughput against concurrency"));
    svg += axes(f, QStringLiteral("Throughput"), QStringLiteral("throughput (req/s)"), kUsersAxis);
    std::vector<std::pair<double, double>> points;
    for (const SweepLevel& l : r.levels)
        points.emplace_back(l.concurrency, l.throughputRps);
    svg += polyline(f, points, QStringLiteral("throughput"));
    bool otherStates = false;
    for (const SweepLevel& l : r.levels) {
        const bool saturation = r.analysis.saturation && *r.analysis.saturation == l.concurrency;
        svg += QStringLiteral("<circle class='%1' cx='%2' cy='%3' r='%4' data-concurrency='%5' data-throughput-rps='%6'><title>%5 users: "
                              "%7 req/s</title></circle>")
                   .arg(saturation ? QStringLiteral("saturation") : QStringLiteral("dot"), num(f.x(l.concurrency)), num(f.y(l.throughputRps)),
                        saturation ? QStringLiteral("7") : QStringLiteral("3.5"), QString::number(l.concurrency), num(l.throughputRps),
                        fmt(l.throughputRps));
        if (saturation)
            svg += QStringLiteral("<text x='%1' y='%2' class='mark'>saturation %3</text>")
                       .arg(num(f.x(l.concurrency) + 9), num(f.y(l.throughputRps) + 16), QString::number(l.concurrency));
        for (const LevelStart* st : otherSteadyStates(l, o.tolerance)) {
            otherStates = true;
            svg += QStringLiteral("<circle class='other-state' cx='%1' cy='%2' r='4.5' data-concurrency='%3' data-throughput-rps='%4'>"
                                  "<title>%3 users, another steady state (%5): %6 req/s</title></circle>")
                       .arg(num(f.x(l.concurrency)), num(f.y(st->throughputRps)), QString::number(l.concurrency), num(st->throughputRps),
                            QString::fromStdString(startText(st->start)).toHtmlEscaped(), fmt(st->throughputRps));
        }
    }
    if (otherStates)
        svg += QStringLiteral("<g class='legend'><circle class='other-state-key' cx='%1' cy='14' r='4.5'></circle><text x='%2' y='18'>other steady "
                              "state</text></g>")
                   .arg(num(kWidth - 150), num(kWidth - 140));
    svg += QStringLiteral("</svg>");
    return svg;
}

} // namespace knee::report
