// knee-bench-fidelity grid: does a virtual `knee sweep --grid` on a calibrated table recommend what the live
// one finds on the device? (issue 13, "Done when": a virtual predict_concurrency × target grid on a GPU
// profile recommends what the live grid finds). It reads the sessions `knee sweep SCENARIO --grid … --out`
// wrote, live and virtual, and under each p95 SLO asked (and none) redoes the product's own choice on each —
// analyzeSweep for the concurrency target, applyGridChoice for its predict_concurrency, chooseGridCell for the
// grid's best cell overall — so nothing here decides by rules of its own. What a user would get by following
// the virtual recommendation is read off the live grid: that cell's live throughput against the live choice's,
// and whether its live p95 meets the SLO.
//
//   knee-bench-fidelity grid --live L1.json[,L2.json] --virtual V1.json[,V2.json] [--slo-ms 1.5,3]
//
// A second live session (the same grid measured again) gives the live run's agreement with itself, the
// floor under every disagreement; a second virtual one (another seed) the sampling floor.
#include "fidelity.h"

#include "io/scenario_reader.h"
#include "session/session.h"
#include "study/grid.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace fidelity {

using namespace knee;

namespace {

struct Run {
    QString name;
    Scenario scenario;
    SessionSweep sweep;
    SessionGrid grid;
};

std::optional<Run> loadRun(const QString& path, const QString& name)
{
    const SessionLoad l = loadSession(path);
    if (!l.session) {
        std::fprintf(stderr, "knee-bench-fidelity grid: %s\n", qPrintable(l.error));
        return std::nullopt;
    }
    if (l.session->sweeps.empty() || l.session->grids.empty()) {
        std::fprintf(stderr, "knee-bench-fidelity grid: %s holds no sweep with a grid (knee sweep --grid … --out)\n", qPrintable(path));
        return std::nullopt;
    }
    const ScenarioReadResult s = readScenarioText(l.session->scenarioYaml.toStdString(), path.toStdString());
    if (!s.ok()) {
        std::fprintf(stderr, "knee-bench-fidelity grid: %s: its scenario does not read back\n", qPrintable(path));
        return std::nullopt;
    }
    return Run{name, *s.scenario, l.session->sweeps.front(), l.session->grids.front()};
}

// One run's recommendation under one SLO (0: none), by the product's rules; and by
// the rule it replaced (2026-12-05: the sweep's own target, predict_concurrency from that target's column).
struct Choice {
    int target = 0, pc = 0;         // the recommendation (applyGridChoice)
    int oldTarget = 0, oldPc = 0;   // the sweep's target and the best cell in its column
    int bestPc = 0, bestTarget = 0; // the grid's best cell overall
};

Choice choose(const Run& run, double sloMs)
{
    SweepResult sweep = run.sweep.result;
    SweepOptions options = run.sweep.options;
    options.sloMs = sloMs;
    analyzeSweep(sweep, run.scenario, options);
    Choice c;
    c.target = c.oldTarget = sweep.recommendation.concurrencyTarget;
    c.pc = sweep.recommendation.predictConcurrency;
    GridResult column = run.grid.result;
    chooseGridCell(column, sloMs, c.oldTarget);
    if (c.oldTarget > 0 && column.best)
        c.oldPc = column.cells[*column.best].predictConcurrency;
    if (applyGridChoice(sweep, run.grid.result, run.scenario, options)) {
        c.target = sweep.recommendation.concurrencyTarget;
        c.pc = sweep.recommendation.predictConcurrency;
    }
    GridResult all = run.grid.result;
    chooseGridCell(all, sloMs);
    if (all.best) {
        c.bestPc = all.cells[*all.best].predictConcurrency;
        c.bestTarget = all.cells[*all.best].target;
    }
    return c;
}

const SweepLevel* cellOf(const Run& run, int pc, int target)
{
    for (const GridCell& c : run.grid.result.cells)
        if (c.measured && c.predictConcurrency == pc && c.target == target)
            return &c.level;
    return nullptr;
}

QString setting(int pc, int target) { return target > 0 && pc > 0 ? QString("pc %1 @ %2").arg(pc).arg(target) : QString("none"); }

// Following another run's choice (pc @ target), measured on `live`: its live throughput ÷ the live choice's,
// and with an SLO whether its live p95 meets it. Where live chose none (no cell meets the SLO), its live p95.
QString cost(const Run& live, int livePc, int liveTarget, int pc, int target, double sloMs)
{
    const SweepLevel* mine = cellOf(live, livePc, liveTarget);
    const SweepLevel* theirs = cellOf(live, pc, target);
    if (!theirs)
        return target > 0 ? "not measured live" : "–";
    const QString p95 = QString("live p95 %1 ms").arg(theirs->latency.p95, 0, 'f', 3);
    if (!mine || mine->throughputRps <= 0)
        return p95;
    QString s = QString::number(theirs->throughputRps / mine->throughputRps, 'f', 2);
    if (sloMs > 0)
        s += theirs->latency.p95 <= sloMs ? ", meets" : ", misses: " + p95;
    return s;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The grid's cells side by side: each run's throughput and p95, and |other ÷ first − 1| summarised.
void printCells(const std::vector<const Run*>& runs)
{
    std::printf("| pc | target |");
    for (const Run* r : runs)
        std::printf(" %s req/s | p95 ms |", qPrintable(r->name));
    std::printf("\n| ---: | ---: |");
    for (std::size_t i = 0; i < runs.size(); ++i)
        std::printf(" ---: | ---: |");
    std::printf("\n");
    std::map<std::size_t, std::vector<double>> thrErr, p95Err;
    for (const GridCell& c : runs.front()->grid.result.cells) {
        if (!c.measured)
            continue;
        std::printf("| %d | %d |", c.predictConcurrency, c.target);
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const SweepLevel* l = cellOf(*runs[i], c.predictConcurrency, c.target);
            if (!l) {
                std::printf(" – | – |");
                continue;
            }
            std::printf(" %.0f | %.3f |", l->throughputRps, l->latency.p95);
            if (i > 0 && c.level.throughputRps > 0 && c.level.latency.p95 > 0) {
                thrErr[i].push_back(std::abs(l->throughputRps / c.level.throughputRps - 1));
                p95Err[i].push_back(std::abs(l->latency.p95 / c.level.latency.p95 - 1));
            }
        }
        std::printf("\n");
    }
    std::printf("\n| against %s, |x ÷ %s − 1| | cells | throughput median | worst | p95 median | worst |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
                qPrintable(runs.front()->name), qPrintable(runs.front()->name));
    for (std::size_t i = 1; i < runs.size(); ++i)
        std::printf("| %s | %zu | %.1f %% | %.1f %% | %.1f %% | %.1f %% |\n", qPrintable(runs[i]->name), thrErr[i].size(), 100 * median(thrErr[i]),
                    thrErr[i].empty() ? 0.0 : 100 * *std::max_element(thrErr[i].begin(), thrErr[i].end()), 100 * median(p95Err[i]),
                    p95Err[i].empty() ? 0.0 : 100 * *std::max_element(p95Err[i].begin(), p95Err[i].end()));
}

} // namespace

int runGridCompare(const Options& o)
{
    if (o.livePath.isEmpty() || o.virtualPath.isEmpty()) {
        std::fprintf(stderr, "knee-bench-fidelity grid: needs --live L.json[,L2.json] and --virtual V.json[,V2.json] (knee sweep --grid … --out)\n");
        return 2;
    }
    std::vector<Run> lives, virts;
    int n = 0;
    for (const QString& p : o.livePath.split(','))
        if (auto r = loadRun(p, QString("live %1").arg(++n)))
            lives.push_back(*r);
        else
            return 2;
    n = 0;
    for (const QString& p : o.virtualPath.split(','))
        if (auto r = loadRun(p, QString("virtual %1").arg(++n)))
            virts.push_back(*r);
        else
            return 2;
    const Run& live = lives.front();
    std::vector<const Run*> all{&live};
    for (std::size_t i = 1; i < lives.size(); ++i)
        all.push_back(&lives[i]);
    for (const Run& v : virts)
        all.push_back(&v);

    std::printf("# %s: the grid live and virtual\n\n", qPrintable(QString::fromStdString(live.scenario.name)));
    printCells(all);

    std::vector<double> slos{0};
    slos.insert(slos.end(), o.slosMs.begin(), o.slosMs.end());
    std::printf("\n## The recommendation under each p95 SLO (the product's rules on each run)\n\n"
                "Recommended: the product's recommendation (applyGridChoice: each predict_concurrency's own target, the best of those "
                "cells); before: the rule it replaced (the sweep's target, predict_concurrency from that target's column); best cell: the "
                "grid's best overall. \"Live cost\": the other run's choice measured on live 1 (its throughput ÷ live 1's choice's; with an SLO, "
                "whether its live p95 meets it).\n\n"
                "| SLO p95 | run | recommended | before | best cell | agrees with live 1 | live cost (recommended) | live cost (best cell) |\n"
                "| ---: | --- | --- | --- | --- | --- | --- | --- |\n");
    int agreeRec = 0, agreeBest = 0, floorRec = 0, floorBest = 0, compared = 0;
    for (double slo : slos) {
        const Choice mine = choose(live, slo);
        const QString sloText = slo > 0 ? QString::number(slo, 'g', 4) + " ms" : QString("none");
        std::printf("| %s | %s | %s | %s (live cost %s) | %s | | | |\n", qPrintable(sloText), qPrintable(live.name), qPrintable(setting(mine.pc, mine.target)),
                    qPrintable(setting(mine.oldPc, mine.oldTarget)), qPrintable(cost(live, mine.pc, mine.target, mine.oldPc, mine.oldTarget, slo)),
                    qPrintable(setting(mine.bestPc, mine.bestTarget)));
        for (std::size_t i = 1; i < all.size(); ++i) {
            const Choice c = choose(*all[i], slo);
            const bool rec = c.pc == mine.pc && c.target == mine.target;
            const bool best = c.bestPc == mine.bestPc && c.bestTarget == mine.bestTarget;
            if (all[i] == &virts.front()) {
                ++compared;
                agreeRec += rec;
                agreeBest += best;
            } else if (lives.size() > 1 && all[i] == &lives[1]) {
                floorRec += rec;
                floorBest += best;
            }
            std::printf("| %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", qPrintable(sloText), qPrintable(all[i]->name), qPrintable(setting(c.pc, c.target)),
                        qPrintable(setting(c.oldPc, c.oldTarget)), qPrintable(setting(c.bestPc, c.bestTarget)), rec ? "yes" : "no", best ? "yes" : "no",
                        qPrintable(cost(live, mine.pc, mine.target, c.pc, c.target, slo)),
                        qPrintable(cost(live, mine.bestPc, mine.bestTarget, c.bestPc, c.bestTarget, slo)));
        }
    }
    std::printf("\nVirtual 1 against live 1: the recommendation agrees under %d of %d SLOs, the best cell under %d", agreeRec, compared, agreeBest);
    if (lives.size() > 1)
        std::printf("; live 2 against live 1 (the floor): %d and %d", floorRec, floorBest);
    std::printf(".\n");
    return 0;
}

} // namespace fidelity
