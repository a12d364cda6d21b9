#include "grid.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace knee {

GridResult runGrid(const Scenario& scenario, const GridOptions& o, const LevelDriverFactory& makeDriver,
                   const std::function<bool(const GridCell&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    GridResult r;
    for (int pc : o.predictConcurrency) {
        for (int target : o.targets) {
            GridCell cell;
            cell.predictConcurrency = pc;
            cell.target = target;
            if (pc <= target) {
                Scenario s = scenario;
                s.deployment.predictConcurrency = pc;
                const auto driver = makeDriver();
                cell.level = measureLevel(s, target, target, o.level, *driver);
                cell.measured = true;
            }
            r.cells.push_back(cell);
            if (progress && !progress(r.cells.back())) {
                r.cancelled = true;
                chooseGridCell(r, o.level.sloMs);
                r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                return r;
            }
        }
    }
    chooseGridCell(r, o.level.sloMs);
    r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

void chooseGridCell(GridResult& r, double sloMs, int onlyTarget)
{
    r.best.reset();
    double bestScore = -1;
    for (std::size_t i = 0; i < r.cells.size(); ++i) {
        const GridCell& c = r.cells[i];
        const SweepLevel& l = c.level;
        if (!c.measured || !l.stable || l.failed || l.rejected || l.completed == 0 || l.latency.p95 <= 0
            || (onlyTarget > 0 && c.target != onlyTarget))
            continue;
        if (sloMs > 0 && l.latency.p95 > sloMs)
            continue;
        const double score = sloMs > 0 ? l.throughputRps : l.throughputRps / l.latency.p95;
        if (score > bestScore * (1 + 1e-9)) { // strictly better: on ties the smaller setting, met first, stays
            bestScore = score;
            r.best = i;
        }
    }
    char buf[300];
    if (!r.best) {
        std::snprintf(buf, sizeof buf, "no usable cell%s%s", onlyTarget > 0 ? " at the chosen target" : "",
                      sloMs > 0 ? " meets the SLO" : " (errors or unstable everywhere)");
    } else {
        const GridCell& c = r.cells[*r.best];
        if (sloMs > 0)
            std::snprintf(buf, sizeof buf,
                          "predict_concurrency %d at target %d: the highest throughput (%.1f req/s) whose p95 (%.1f ms) meets the "
                          "SLO (%.0f ms)",
                          c.predictConcurrency, c.target, c.level.throughputRps, c.level.latency.p95, sloMs);
        else
            std::snprintf(buf, sizeof buf,
                          "predict_concurrency %d at target %d: the highest throughput / p95 (%.1f req/s at %.1f ms); set an SLO to "
                          "trade latency for throughput explicitly",
                          c.predictConcurrency, c.target, c.level.throughputRps, c.level.latency.p95);
    }
    r.rule = buf;
}

std::optional<std::size_t> applyGridChoice(SweepResult& sweep, const GridResult& grid, double sloMs)
{
    GridResult column = grid;
    chooseGridCell(column, sloMs, sweep.recommendation.concurrencyTarget);
    if (column.best) {
        sweep.recommendation.predictConcurrency = column.cells[*column.best].predictConcurrency;
        sweep.recommendation.predictConcurrencyRule = "from the grid: " + column.rule;
    }
    return column.best;
}

} // namespace knee
