// The second sweep mode: predict_concurrency × concurrency target on a grid. Each cell is one
// replica held at its target by that many closed-loop users, measured like a sweep level. Cells
// where predict_concurrency exceeds the target are not run: predict concurrency is never reached
// there (seed 002). The best cell: the highest throughput whose p95 meets the SLO, or without an
// SLO the highest throughput ÷ p95; errors and unstable cells are never chosen.
#pragma once
#include "sweep.h"

namespace knee {

struct GridOptions {
    std::vector<int> predictConcurrency{1, 2, 4, 8};
    std::vector<int> targets{1, 2, 4, 8, 16, 32};
    SweepOptions level; // warm-up, windows, cap, SLO
};

struct GridCell {
    int predictConcurrency = 0;
    int target = 0;
    bool measured = false; // false: predict_concurrency above the target, not run
    SweepLevel level;
};

struct GridResult {
    std::vector<GridCell> cells; // row-major: predict_concurrency, then target
    bool cancelled = false;
    // The grid it was to run (its options' predict_concurrency levels, and its targets in the order it runs
    // them: a target the sweep added comes last): cells.size() is less than their product when it was stopped.
    // Empty when unknown: a stopped grid's last row then counts as lacking its larger targets unless the rows
    // before it are as long.
    std::size_t plannedRows = 0;
    std::vector<int> plannedTargets;
    std::optional<std::size_t> best;
    std::string rule;
    double wallS = 0;
};

GridResult runGrid(const Scenario& scenario, const GridOptions& options, const LevelDriverFactory& driver,
                   const std::function<bool(const GridCell&)>& progress = {});
// The best cell and its rule, from measured cells (also for a reopened session). With `onlyTarget`
// > 0, only that target's column competes: the predict_concurrency to pair with a chosen target.
void chooseGridCell(GridResult& result, double sloMs, int onlyTarget = 0);

// With a grid, the recommendation is the grid's: each predict_concurrency's row is a sweep of its targets,
// whose target the sweep's own rule picks (saturation, or the SLO), and chooseGridCell's rule picks among
// those cells the predict_concurrency. The sweep's levels ran at the scenario's predict_concurrency, so
// their target holds for that setting only: on a GPU model without preprocess a sweep at predict_concurrency
// 1 saturates at one user, and taking predict_concurrency from that target's column recommended 1 @ 1 where
// the grid measured 4 @ 4 at 4× the throughput and about the same p95 (BENCHMARKS.md, "The grid on the H200").
// Sets the sweep's recommendation (target, predict_concurrency, rules, throughput there, replicas) and
// returns the chosen cell's index. A row whose throughput still rises at its largest usable target offers that
// cell, its rule saying so. When no row offers a cell (none usable, or none meets the SLO) the sweep's own
// recommendation stands and nothing is returned. A stopped grid competes with the cells it measured, and its
// rules say where it stopped: the row it stopped in lacks its larger targets, and the rows after it never ran.
std::optional<std::size_t> applyGridChoice(SweepResult& sweep, const GridResult& grid, const Scenario& scenario, const SweepOptions& options);

} // namespace knee
