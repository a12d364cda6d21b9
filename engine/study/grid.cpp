#include "grid.h"
#include "twin_text.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

namespace knee {

GridResult runGrid(const Scenario& scenario, const GridOptions& o, const LevelDriverFactory& makeDriver,
                   const std::function<bool(const GridCell&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    GridResult r;
    r.plannedRows = o.predictConcurrency.size();
    r.plannedTargets = o.targets;
    for (int pc : o.predictConcurrency) {
        for (int target : o.targets) {
            GridCell cell;
            cell.predictConcurrency = pc;
            cell.target = target;
            if (pc <= target) {
                Scenario s = scenario;
                s.deployment.predictConcurrency = pc;
                // The sweep's level procedure, its starts included (a dynamic-batching cell can have several
                // steady states, and then reports the slowest).
                const auto driver = makeDriver();
                SweepOptions lo = resolveStarts(s, o.level);
                lo.repeats = 1; // a cell is measured once
                cell.level = measureRepeatedLevel(target, lo, [&](int, int) { return engineLevelProbe(s, target, *driver); });
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
            std::snprintf(buf, sizeof buf, "predict_concurrency %d at target %d: the highest throughput (%s) whose p95 (%s) meets the SLO (%s)",
                          c.predictConcurrency, c.target, formatThroughput(c.level.throughputRps).c_str(), formatLatency(c.level.latency.p95).c_str(),
                          formatLatency(sloMs).c_str());
        else
            std::snprintf(buf, sizeof buf,
                          "predict_concurrency %d at target %d: the highest throughput / p95 (%s at %s); set an SLO to trade latency for "
                          "throughput explicitly",
                          c.predictConcurrency, c.target, formatThroughput(c.level.throughputRps).c_str(), formatLatency(c.level.latency.p95).c_str());
    }
    r.rule = buf;
}

std::optional<std::size_t> applyGridChoice(SweepResult& sweep, const GridResult& grid, const Scenario& scenario, const SweepOptions& options)
{
    // Each predict_concurrency's row is a sweep of its targets: the sweep's own rule (saturation, or the
    // SLO) picks that row's target. Rows do not grow: the grid measured the targets it was given.
    SweepOptions rowOptions = options;
    rowOptions.extendLimit = 0;
    rowOptions.searchSlo = false;
    std::vector<int> pcs;
    for (const GridCell& c : grid.cells)
        if (std::find(pcs.begin(), pcs.end(), c.predictConcurrency) == pcs.end())
            pcs.push_back(c.predictConcurrency);
    // A stopped grid: the row of its last cell may lack its larger targets (its own rule must not ask for
    // larger targets the grid had), and the rows after it never ran.
    const std::size_t perRow = grid.plannedTargets.size();
    const bool known = grid.plannedRows > 0 && perRow > 0;
    const bool stopped = grid.cancelled && !grid.cells.empty() && (!known || grid.cells.size() < grid.plannedRows * perRow);
    const int stoppedPc = stopped ? grid.cells.back().predictConcurrency : 0;
    bool stoppedRowCut = false; // the stopped row lacks targets above the largest it measured
    std::vector<int> notRun;    // with a known plan: the targets the stopped row lacks
    if (stopped && known) {
        int largest = 0;
        for (std::size_t i = grid.cells.size() - grid.cells.size() % perRow; i < grid.cells.size(); ++i)
            largest = std::max(largest, grid.cells[i].target);
        for (std::size_t i = grid.cells.size() % perRow; i > 0 && i < perRow; ++i) {
            notRun.push_back(grid.plannedTargets[i]);
            stoppedRowCut = stoppedRowCut || grid.plannedTargets[i] > largest;
        }
    } else if (stopped) {
        std::size_t inStoppedRow = 0, inRowsBefore = 0; // the rows before the stopped one ran whole
        for (const GridCell& c : grid.cells)
            ++(c.predictConcurrency == stoppedPc ? inStoppedRow : inRowsBefore);
        stoppedRowCut = pcs.size() == 1 || inStoppedRow < inRowsBefore / (pcs.size() - 1);
    }
    GridResult candidates = grid; // only each row's chosen cell competes
    for (GridCell& c : candidates.cells)
        c.measured = false;
    std::map<int, Recommendation> byPc;
    std::string rows;
    for (int pc : pcs) {
        SweepResult row;
        row.mode = sweep.mode;
        for (const GridCell& c : grid.cells)
            if (c.predictConcurrency == pc && c.measured) {
                row.levels.push_back(c.level);
                row.levels.back().concurrency = c.target;
            }
        std::sort(row.levels.begin(), row.levels.end(), [](const SweepLevel& a, const SweepLevel& b) { return a.concurrency < b.concurrency; });
        Scenario atPc = scenario;
        atPc.deployment.predictConcurrency = pc;
        analyzeSweep(row, atPc, rowOptions);
        Recommendation rec = row.recommendation;
        if (rec.concurrencyTarget <= 0 && rec.concurrencyTargetBasis == "not_saturated") {
            // Still rising at its largest usable target: that cell competes as it is (left out, a cell it
            // beats on both throughput and p95 could be chosen), and the rule says a larger target may serve more.
            for (auto l = row.levels.rbegin(); l != row.levels.rend() && rec.concurrencyTarget <= 0; ++l)
                if (usableLevel(*l)) {
                    rec.concurrencyTarget = l->concurrency;
                    rec.throughputAtTargetRps = l->throughputRps;
                    rec.p95AtTargetMs = l->latency.p95;
                    const bool cut = pc == stoppedPc && stoppedRowCut;
                    rec.concurrencyTargetRule = (cut ? "the largest target measured before the grid was stopped, " : "the largest target measured, ")
                        + std::to_string(l->concurrency) + " (" + formatThroughput(l->throughputRps) + ", p95 " + formatLatency(l->latency.p95)
                        + "): throughput still rises there, so a larger target may serve more; "
                        + (cut ? "run the whole grid to measure its larger targets" : "add larger targets to the grid");
                    planReplicasAtTarget(rec, options);
                }
        }
        const int target = rec.concurrencyTarget;
        rows += (rows.empty() ? "" : ", ") + std::to_string(pc) + (target > 0 ? " → " + std::to_string(target) : " → none");
        if (target <= 0)
            continue;
        for (GridCell& c : candidates.cells)
            if (c.predictConcurrency == pc && c.target == target)
                c.measured = true;
        byPc[pc] = rec;
    }
    chooseGridCell(candidates, options.sloMs);
    if (!candidates.best)
        return std::nullopt; // no row gives a usable cell (or none meets the SLO): the sweep's own recommendation stands
    const GridCell& best = candidates.cells[*candidates.best];
    Recommendation rec = byPc[best.predictConcurrency];
    rec.concurrencyTargetRule = "from the grid, at predict_concurrency " + std::to_string(best.predictConcurrency) + ": " + rec.concurrencyTargetRule;
    rec.predictConcurrency = best.predictConcurrency;
    rec.fromGrid = true;
    rec.predictConcurrencyRule = "from the grid: " + candidates.rule + ", among each predict_concurrency's own target (" + rows
        + "; the sweep's rule on each row)";
    if (stopped)
        rec.predictConcurrencyRule += "; the grid was stopped at predict_concurrency " + std::to_string(stoppedPc) + ", target "
            + std::to_string(grid.cells.back().target)
            + (stoppedRowCut ? " (that row lacks its larger targets)"
               : notRun.empty() ? ""
                                : " (that row lacks target" + std::string(notRun.size() > 1 ? "s " : " ") + twin_text::levelList(notRun) + ")")
            + ": only the cells it measured competed, and a whole grid may choose otherwise";
    sweep.recommendation = rec;
    return candidates.best;
}

} // namespace knee
