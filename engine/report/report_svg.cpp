#include "report_svg.h"

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

struct Frame {
    double xMax = 2, yMax = 1, yStep = 0.25;
    void fitY(double top)
    {
        yStep = niceStep(top);
        yMax = std::max(yStep, yStep * std::ceil(top / yStep - 1e-9));
    }
    double x(double concurrency) const
    {
        return kLeft + (kWidth - kLeft - kRight) * std::log2(std::max(1.0, concurrency)) / std::log2(xMax);
    }
    double y(double v) const { return kHeight - kBottom - (kHeight - kTop - kBottom) * v / yMax; }
};

QString axes(const Frame& f, const QString& title, const QString& yTitle)
{
    QString svg;
    svg += QStringLiteral("<text x='%1' y='18' class='title'>%2</text>").arg(num(kLeft)).arg(title.toHtmlEscaped());
    for (int i = 0; i * f.yStep <= f.yMax + 1e-9; ++i) {
        const double v = i * f.yStep;
        svg += QStringLiteral("<line x1='%1' x2='%2' y1='%3' y2='%3' class='grid'/><text x='%4' y='%5' class='tick' text-anchor='end'>%6</text>")
                   .arg(num(kLeft), num(kWidth - kRight), num(f.y(v)), num(kLeft - 6), num(f.y(v) + 4), QString::number(v, 'g', 4));
    }
    for (double c = 1; c <= f.xMax; c *= 2)
        svg += QStringLiteral("<line x1='%1' x2='%1' y1='%2' y2='%3' class='grid'/><text x='%1' y='%4' class='tick' text-anchor='middle'>%5</text>")
                   .arg(num(f.x(c)), num(kTop), num(kHeight - kBottom), num(kHeight - kBottom + 16), QString::number(c));
    svg += QStringLiteral("<text x='%1' y='%2' class='axis' text-anchor='middle'>concurrent requests (log 2)</text>")
               .arg(num((kLeft + kWidth - kRight) / 2), num(kHeight - 12));
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

double xMaxOf(const SweepResult& r)
{
    double m = 2;
    for (const SweepLevel& l : r.levels)
        m = std::max(m, double(l.concurrency));
    return std::pow(2.0, std::ceil(std::log2(m)));
}

QString open(const QString& id, const QString& label)
{
    return QStringLiteral("<svg id='%1' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %2 %3' role='img' aria-label='%4'>")
        .arg(id, num(kWidth), num(kHeight), label.toHtmlEscaped());
}
} // namespace

QString latencyChartSvg(const SweepResult& r, const SweepOptions& o)
{
    Frame f;
    f.xMax = xMaxOf(r);
    double top = o.sloMs;
    for (const SweepLevel& l : r.levels)
        top = std::max(top, l.latency.p99);
    f.fitY(top * 1.05);
    QString svg = open(QStringLiteral("latencyChart"), QStringLiteral("Latency against concurrency"));
    svg += axes(f, QStringLiteral("Latency: p50, p95, p99"), QStringLiteral("latency (ms)"));
    std::vector<std::pair<double, double>> p50, p95, p99;
    for (const SweepLevel& l : r.levels) {
        p50.emplace_back(l.concurrency, l.latency.p50);
        p95.emplace_back(l.concurrency, l.latency.p95);
        p99.emplace_back(l.concurrency, l.latency.p99);
    }
    if (o.sloMs > 0)
        svg += QStringLiteral("<line x1='%1' x2='%2' y1='%3' y2='%3' class='slo' data-slo-ms='%4'/><text x='%2' y='%5' class='slo-label' "
                              "text-anchor='end'>SLO p95 %6 ms</text>")
                   .arg(num(kLeft), num(kWidth - kRight), num(f.y(o.sloMs)), num(o.sloMs), num(f.y(o.sloMs) - 4), fmt(o.sloMs));
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
    svg += QStringLiteral("<g class='legend'><text x='%1' y='18' class='p50-label'>p50</text><text x='%2' y='18' class='p95-label'>p95</text>"
                          "<text x='%3' y='18' class='p99-label'>p99</text></g></svg>")
               .arg(num(kWidth - 150), num(kWidth - 110), num(kWidth - 70));
    return svg;
}

QString throughputChartSvg(const SweepResult& r)
{
    Frame f;
    f.xMax = xMaxOf(r);
    double top = 0;
    for (const SweepLevel& l : r.levels)
        top = std::max(top, l.throughputRps);
    f.fitY(top * 1.05);
    QString svg = open(QStringLiteral("throughputChart"), QStringLiteral("Throughput against concurrency"));
    svg += axes(f, QStringLiteral("Throughput"), QStringLiteral("throughput (req/s)"));
    std::vector<std::pair<double, double>> points;
    for (const SweepLevel& l : r.levels)
        points.emplace_back(l.concurrency, l.throughputRps);
    svg += polyline(f, points, QStringLiteral("throughput"));
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
    }
    svg += QStringLiteral("</svg>");
    return svg;
}

} // namespace knee::report
