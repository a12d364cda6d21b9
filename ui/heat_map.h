// The grid sweep as a heat map: rows are predict_concurrency, columns the concurrency target; each
// cell shows p95 and throughput, coloured by p95 (log scale, green to red); cells where
// predict_concurrency exceeds the target (never reached) are grey; the chosen cell is outlined.
#pragma once
#include "study/grid.h"

#include <QWidget>

namespace knee::ui {

class HeatMap : public QWidget {
    Q_OBJECT
public:
    explicit HeatMap(QWidget* parent = nullptr);
    void setGrid(const GridResult& grid, std::optional<std::size_t> chosen);
    void clear();
    const GridResult& grid() const { return m_grid; }
    QSize sizeHint() const override { return {520, 200}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    GridResult m_grid;
    std::optional<std::size_t> m_chosen;
};

} // namespace knee::ui
