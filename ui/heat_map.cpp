#include "heat_map.h"

#include <QPainter>

#include <algorithm>
#include <cmath>
#include <set>

namespace knee::ui {

HeatMap::HeatMap(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("heatMap"));
    setAccessibleName(tr("Grid: predict_concurrency by concurrency target"));
    setMinimumHeight(140);
}

void HeatMap::setGrid(const GridResult& grid, std::optional<std::size_t> chosen)
{
    m_grid = grid;
    m_chosen = chosen;
    update();
}

void HeatMap::clear()
{
    m_grid = GridResult();
    m_chosen.reset();
    update();
}

void HeatMap::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    if (m_grid.cells.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Give predict_concurrency values to also run the grid (one cell per predict_concurrency × target)"));
        return;
    }
    std::set<int> rowSet, colSet;
    double lo = 1e300, hi = 0;
    for (const GridCell& c : m_grid.cells) {
        rowSet.insert(c.predictConcurrency);
        colSet.insert(c.target);
        if (c.measured && c.level.latency.p95 > 0) {
            lo = std::min(lo, c.level.latency.p95);
            hi = std::max(hi, c.level.latency.p95);
        }
    }
    const std::vector<int> rows(rowSet.begin(), rowSet.end()), cols(colSet.begin(), colSet.end());
    const int left = 70, top = 22;
    const double w = double(width() - left - 4) / double(cols.size()), h = double(height() - top - 4) / double(rows.size());
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(0, 0, left, top), Qt::AlignCenter, tr("pc \\ target"));
    for (std::size_t c = 0; c < cols.size(); ++c)
        p.drawText(QRectF(left + c * w, 0, w, top), Qt::AlignCenter, QString::number(cols[c]));
    for (std::size_t r = 0; r < rows.size(); ++r)
        p.drawText(QRectF(0, top + r * h, left - 6, h), Qt::AlignRight | Qt::AlignVCenter, QString::number(rows[r]));
    for (std::size_t i = 0; i < m_grid.cells.size(); ++i) {
        const GridCell& cell = m_grid.cells[i];
        const auto r = std::size_t(std::find(rows.begin(), rows.end(), cell.predictConcurrency) - rows.begin());
        const auto c = std::size_t(std::find(cols.begin(), cols.end(), cell.target) - cols.begin());
        const QRectF box(left + c * w + 1, top + r * h + 1, w - 2, h - 2);
        QColor fill = palette().color(QPalette::Mid);
        QString text = tr("never\nreached");
        if (cell.measured) {
            // Green at the lowest p95, red at the highest, on a log scale (latency spans decades).
            const double t = hi > lo ? std::log(cell.level.latency.p95 / lo) / std::log(hi / lo) : 0.0;
            fill = QColor::fromHsvF(float(0.33 * (1 - std::clamp(t, 0.0, 1.0))), 0.55f, 0.85f);
            text = tr("%1 ms\n%2 req/s").arg(cell.level.latency.p95, 0, 'f', cell.level.latency.p95 < 10 ? 1 : 0).arg(cell.level.throughputRps, 0, 'f', 0);
            if (!cell.level.stable || cell.level.failed || cell.level.rejected)
                text += cell.level.failed || cell.level.rejected ? tr("\nerrors") : tr("\nunstable");
        }
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawRoundedRect(box, 3, 3);
        if (m_chosen && *m_chosen == i) {
            p.setPen(QPen(palette().color(QPalette::Text), 3));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(box.adjusted(1, 1, -1, -1), 3, 3);
        }
        p.setPen(cell.measured ? QColor(Qt::black) : palette().color(QPalette::Text));
        p.drawText(box, Qt::AlignCenter, text);
    }
}

} // namespace knee::ui
