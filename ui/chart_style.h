// Shared chart looks: colours from the application palette (so light and dark themes both read), and
// value axes with round ticks (0, 5, 10, 15 …; never 0, 4.6, 9.2 …).
#pragma once
#include <QPalette>

class QChart;
class QValueAxis;

namespace knee::ui {

void styleChart(QChart* chart, const QPalette& palette);
// From 0 to just above `top`, ticks at 1, 2 or 5 × 10^k (whole numbers when `integer`).
void niceAxis(QValueAxis* axis, double top, bool integer);
double niceStep(double rough, bool integer);

} // namespace knee::ui
