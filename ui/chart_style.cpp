#include "chart_style.h"

#include <QAbstractAxis>
#include <QChart>
#include <QLegend>
#include <QValueAxis>

#include <cmath>

namespace knee::ui {

void styleChart(QChart* chart, const QPalette& pal)
{
    chart->setBackgroundBrush(pal.color(QPalette::Base));
    chart->setPlotAreaBackgroundVisible(false);
    chart->setTitleBrush(pal.color(QPalette::Text));
    chart->legend()->setLabelColor(pal.color(QPalette::Text));
    for (QAbstractAxis* a : chart->axes()) {
        a->setLabelsColor(pal.color(QPalette::Text));
        a->setTitleBrush(pal.color(QPalette::Text));
        a->setGridLineColor(pal.color(QPalette::Mid));
        a->setMinorGridLineColor(pal.color(QPalette::Midlight));
        a->setLinePenColor(pal.color(QPalette::Mid));
        a->setTruncateLabels(false); // "1500", never "…"
    }
}

double niceStep(double rough, bool integer)
{
    if (!(rough > 0))
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= rough) {
            step = m * magnitude;
            break;
        }
    return integer ? std::max(1.0, std::round(step)) : step;
}

void niceAxis(QValueAxis* axis, double top, bool integer)
{
    const double step = niceStep(top > 0 ? top * 1.05 / 5 : 0, integer);
    const double max = std::max(step, step * std::ceil(top * 1.05 / step));
    axis->setTickType(QValueAxis::TicksFixed);
    axis->setRange(0, max);
    axis->setTickCount(int(std::lround(max / step)) + 1);
    axis->setLabelFormat(integer || step >= 1 ? QStringLiteral("%.0f") : QStringLiteral("%g"));
}

} // namespace knee::ui
