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
    std::optional<std::size_t> best;
    std::string rule;
    double wallS = 0;
};

GridResult runGrid(const Scenario& scenario, const GridOptions& options, const LevelDriverFactory& driver,
                   const std::function<bool(const GridCell&)>& progress = {});
// The best cell and its rule, from measured cells (also for a reopened session). With `onlyTarget`
// > 0, only that target's column competes: the predict_concurrency to pair with a chosen target.
void chooseGridCell(GridResult& result, double sloMs, int onlyTarget = 0);

// Sets the sweep's recommended predict_concurrency from the grid: the best cell in the column of the
// recommended concurrency target (above the target, predict concurrency would never be reached).
// Returns that cell's index, if any cell there is usable.
std::optional<std::size_t> applyGridChoice(SweepResult& sweep, const GridResult& grid, double sloMs);

} // namespace knee
