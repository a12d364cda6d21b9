// Virtual sweeps: on deployments whose capacity is known in closed form the sweep finds the level
// where queueing starts; levels warm up and stabilise (by responses in virtual time, by the time cap
// under wall-clock rules); errors mark a level; cancelling keeps the finished levels; the
// recommendation carries its rule and the replica plan; throughput still rising at the last level
// makes a virtual sweep double its levels up to saturation or its limit.
#include "study/grid.h"
#include "study/sweep.h"
#include "two_steady_states.h"

#include <cmath>
#include <tuple>
#include <QTest>

using namespace knee;

namespace {
// One replica with `slotCount` predict slotCount of a constant `predictMs`: with N closed-loop users the
// latency is predictMs while N <= slotCount, then N / slotCount × predictMs. The knee is at `slotCount`.
Scenario deterministic(int slotCount, double predictMs)
{
    Scenario s;
    s.name = "deterministic";
    s.deployment.predictConcurrency = slotCount;
    s.model.predict = Distribution::constant(predictMs);
    s.workload.arrival = ArrivalConfig::poisson(1);
    s.workload.requests = 1;
    return s;
}
// The wall-clock rules (the time cap, 20 responses to agree, the user's levels only) that live and
// endpoint sweeps follow, on the virtual engine: deterministic.
class WallClockRules : public LevelDriver {
public:
    Engine& begin(const Scenario& s) override
    {
        m_engine = std::make_unique<Engine>(s);
        return *m_engine;
    }
    void start(Engine& e) override { e.startLoad(); }
    void advanceTo(Engine& e, Nanos t) override { e.runUntil(t); }
    void stop(Engine&) override { m_engine.reset(); }
    const char* mode() const override { return "live"; }

private:
    std::unique_ptr<Engine> m_engine;
};
SweepResult runWallClockSweep(const Scenario& s, const SweepOptions& o)
{
    return runSweep(s, o, [] { return std::make_unique<WallClockRules>(); });
}
SweepOptions quick()
{
    SweepOptions o;
    o.levels = {1, 2, 4, 8, 16, 32, 64};
    o.warmupS = 2;
    o.windowS = 2;
    o.capS = 60;
    return o;
}
} // namespace

class TestSweep : public QObject {
    Q_OBJECT
private slots:
    void findsTheAnalyticKnee_data()
    {
        QTest::addColumn<int>("slotCount");
        QTest::addRow("4 slotCount") << 4;
        QTest::addRow("8 slotCount") << 8;
        QTest::addRow("1 slot") << 1;
    }
    void findsTheAnalyticKnee()
    {
        QFETCH(int, slotCount);
        const SweepResult r = runVirtualSweep(deterministic(slotCount, 100), quick());
        QCOMPARE(r.levels.size(), std::size_t(7));
        for (const SweepLevel& l : r.levels) {
            QVERIFY2(l.stable, qPrintable(QString("level %1 did not stabilise").arg(l.concurrency)));
            // Exactly the closed form (within the histogram's 0.4 %).
            const double expected = 100.0 * std::max(1.0, double(l.concurrency) / slotCount);
            QVERIFY2(std::abs(l.latency.p50 - expected) <= 0.005 * expected,
                     qPrintable(QString("level %1: p50 %2, expected %3").arg(l.concurrency).arg(l.latency.p50).arg(expected)));
            const double capacity = 1000.0 / 100 * std::min(l.concurrency, slotCount);
            QVERIFY(std::abs(l.throughputRps - capacity) <= 0.03 * capacity);
        }
        if (slotCount == 1) { // queueing from the second user on: the curve bends at its first point
            QVERIFY(!r.analysis.knee || *r.analysis.knee <= 2);
        } else {
            QVERIFY2(r.analysis.knee == slotCount, r.analysis.kneeNote.c_str());
            QCOMPARE(r.recommendation.concurrencyTarget, slotCount);
            // Issue 20 changed the rule: the target is where throughput saturates (here also the knee).
            QVERIFY(QString::fromStdString(r.recommendation.concurrencyTargetRule).startsWith("saturation: "));
            QCOMPARE(r.analysis.saturation, std::optional<int>(slotCount));
        }
        QCOMPARE(r.analysis.peakThroughput.value_or(0) >= slotCount, true);
    }

    void sloBindsBelowTheKnee()
    {
        SweepOptions o = quick();
        o.sloMs = 150; // level 8 of a 4-slot server has p95 200 ms
        const SweepResult r = runVirtualSweep(deterministic(4, 100), o);
        QCOMPARE(r.analysis.sloLevel, std::optional<int>(4));
        QCOMPARE(r.recommendation.concurrencyTarget, 4);
        o.sloMs = 90; // nothing meets it
        const SweepResult none = runVirtualSweep(deterministic(4, 100), o);
        QVERIFY(!none.analysis.sloLevel);
        // Issue 12 item 9: nothing is recommended, and the rule says why (it was the knee, silently).
        QCOMPARE(none.recommendation.concurrencyTarget, 0);
        QCOMPARE(none.recommendation.concurrencyTargetBasis, std::string("no_level_meets_slo"));
        QVERIFY2(QString::fromStdString(none.recommendation.concurrencyTargetRule).startsWith("no level meets the SLO (p95 <= 90.0 ms)"),
                 none.recommendation.concurrencyTargetRule.c_str());
        QVERIFY(!none.recommendation.replicas);
    }

    void replicaPlanFromTheTargetsThroughput()
    {
        SweepOptions o = quick();
        o.baselineRps = 25;
        o.peakRps = 80;
        const SweepResult r = runVirtualSweep(deterministic(4, 100), o);
        QCOMPARE(r.recommendation.concurrencyTarget, 4);
        QVERIFY(std::abs(r.recommendation.throughputAtTargetRps - 40) < 1.5);
        QVERIFY(r.recommendation.replicas.has_value());
        QCOMPARE(r.recommendation.replicas->minReplicas, 2); // ceil(25 / 40) + 1
        QCOMPARE(r.recommendation.replicas->maxReplicas, 4); // ceil(80 / 40) + 2
    }

    void warmupIsNotCounted()
    {
        // A cold start would otherwise be measured: the first requests of a level see an empty
        // replica. With a 50 s warm-up and 2 users on 1 slot, every measured latency is 2 × 100 ms.
        SweepOptions o = quick();
        o.levels = {2};
        o.warmupS = 50;
        const SweepResult r = runVirtualSweep(deterministic(1, 100), o);
        QCOMPARE(r.levels[0].latency.max, 200.0);
        QVERIFY(r.levels[0].latency.p50 > 199);
    }

    void levelWithErrorsIsMarkedAndNeverChosen()
    {
        Scenario s = deterministic(4, 100);
        s.model.predictFailureRate = 0.2;
        const SweepResult r = runVirtualSweep(s, quick());
        for (const SweepLevel& l : r.levels)
            QVERIFY(l.failed > 0);
        QVERIFY(!r.analysis.knee);
        QVERIFY(!r.analysis.peakThroughput);
        QCOMPARE(r.recommendation.concurrencyTarget, 0);
    }

    // Issue 18: a level whose load generator fell behind (Locust's workers short of users, or a worker's CPU
    // saturated) is marked and never chosen: the choice moves to the next usable level, and an SLO search
    // does not count it as meeting the SLO.
    void aLevelWhoseGeneratorFellBehindIsNeverChosen()
    {
        SweepOptions o = quick();
        SweepResult r;
        r.mode = "http";
        const std::vector<std::pair<int, double>> curve{{1, 10}, {2, 20}, {4, 40}, {8, 41}, {16, 41}, {32, 41}};
        for (const auto& [users, rps] : curve) {
            SweepLevel l;
            l.concurrency = users;
            l.throughputRps = rps;
            l.completed = 1000;
            l.latency.p50 = l.latency.p95 = l.latency.p99 = l.latency.mean = 1000.0 * users / rps;
            l.stable = true;
            l.generator = LoadGeneratorFigures{"locust", 2, users, double(users), users, 20, 0, 0, false, false, ""};
            r.levels.push_back(l);
        }
        o.levels = {1, 2, 4, 8, 16, 32};
        SweepResult plain = r;
        analyzeSweep(plain, deterministic(1, 100), o);
        QCOMPARE(plain.recommendation.concurrencyTarget, 4);
        r.levels[2].generator->behind = true;
        r.levels[2].generator->why = "a worker's CPU at 97 %";
        analyzeSweep(r, deterministic(1, 100), o);
        QVERIFY(r.recommendation.concurrencyTarget != 4);
        QVERIFY(r.recommendation.concurrencyTarget != 0);
        o.sloMs = 1e6;
        const SloVerdict v = sloVerdict(r.levels[2], 0, o);
        QVERIFY(!v.met);
        QVERIFY(v.why.find("fell behind") != std::string::npos);
    }

    void unstableLevelsAreReported()
    {
        Scenario s = deterministic(1, 100);
        s.model.predict = Distribution{Distribution::Kind::Lognormal, 100, 2.5, -1, {}, {}}; // very heavy tail
        SweepOptions o = quick();
        o.levels = {4};
        o.tolerance = 0.001;
        o.capS = 20;
        const SweepResult r = runWallClockSweep(s, o); // live and endpoint sweeps: the time cap
        QVERIFY(!r.levels[0].stable);
        QVERIFY(r.levels[0].measuredS <= 20.001);
        // Virtual time: by windows; a level whose windows never agree ends after kMaxVirtualWindows.
        const SweepResult v = runVirtualSweep(s, o);
        QVERIFY(!v.levels[0].stable);
        QCOMPARE(v.levels[0].windows, kMaxVirtualWindows);
        QVERIFY(v.levels[0].completed >= std::int64_t(kMaxVirtualWindows) * kMinResponsesPerVirtualWindow);
        QCOMPARE(v.levels.size(), std::size_t(1)); // an unusable level is not extended
    }

    // Independent predict slots of 100 ms: a cell (pc, target) serves min(pc, target) / 0.1 s with p95
    // 100 × target / min(pc, target) ms. Throughput ÷ p95 is best where pc = target is largest.
    void gridChoosesTheAnalyticCell()
    {
        GridOptions o;
        o.predictConcurrency = {1, 2, 4, 8};
        o.targets = {1, 2, 4, 8, 16};
        o.level = quick();
        const GridResult r = runGrid(deterministic(1, 100), o, makeVirtualDriver);
        QCOMPARE(r.cells.size(), std::size_t(20));
        for (const GridCell& c : r.cells) {
            QCOMPARE(c.measured, c.predictConcurrency <= c.target); // pc above target: never reached, not run
            if (!c.measured)
                continue;
            const int busy = std::min(c.predictConcurrency, c.target);
            QVERIFY(std::abs(c.level.latency.p95 - 100.0 * c.target / busy) <= 0.005 * 100.0 * c.target / busy);
            QVERIFY(std::abs(c.level.throughputRps - 10.0 * busy) <= 0.03 * 10.0 * busy);
        }
        QVERIFY(r.best.has_value());
        QCOMPARE(r.cells[*r.best].predictConcurrency, 8);
        QCOMPARE(r.cells[*r.best].target, 8);

        GridResult slo = r;
        chooseGridCell(slo, 120); // only pc = target cells meet 120 ms: the largest wins
        QCOMPARE(slo.cells[*slo.best].target, 8);
        chooseGridCell(slo, 50); // nothing meets it
        QVERIFY(!slo.best);
        QVERIFY(QString::fromStdString(slo.rule).contains("meets the SLO"));
    }

    // The grid sets the target as well as predict_concurrency. The cells of `small` on the H200 (rounded;
    // BENCHMARKS.md "Fidelity", the grid): a GPU model without preprocess, so each predict_concurrency's
    // throughput is flat from target = predict_concurrency on, and a sweep at predict_concurrency 1
    // saturates at one user. Taking predict_concurrency from that target's column gave 1 @ 1; each row's
    // own target, then the grid's rule among those cells, gives 4 @ 4 (3.7× the throughput, p95 +6 %).
    void gridChoosesTheTargetWithPredictConcurrency()
    {
        auto level = [](int users, double rps, double p95) {
            SweepLevel l;
            l.concurrency = users;
            l.throughputRps = rps;
            l.latency.p50 = l.latency.p95 = l.latency.p99 = p95;
            l.completed = 10000;
            l.stable = true;
            return l;
        };
        struct Row { int pc; double rps; std::vector<double> p95; }; // p95 at targets pc, 2 pc, ... up to 16
        const std::vector<Row> rows{{1, 7000, {0.16, 0.31, 0.60, 1.14, 2.29}}, {2, 14000, {0.16, 0.31, 0.60, 1.18}}, {4, 26000, {0.17, 0.35, 0.69}},
                                    {8, 36000, {0.29, 0.60}}};
        GridResult grid;
        SweepResult sweep;
        sweep.mode = "live";
        for (const Row& row : rows)
            for (int target : {1, 2, 4, 8, 16}) {
                GridCell c;
                c.predictConcurrency = row.pc;
                c.target = target;
                c.measured = target >= row.pc;
                if (c.measured)
                    c.level = level(target, row.rps, row.p95[std::size_t(std::log2(target / row.pc))]);
                grid.cells.push_back(c);
                if (row.pc == 1)
                    sweep.levels.push_back(c.level);
            }
        Scenario scenario = deterministic(1, 0.15);
        SweepOptions o;
        o.levels = {1, 2, 4, 8, 16};
        auto recommend = [&](double sloMs) {
            SweepResult r = sweep;
            SweepOptions so = o;
            so.sloMs = sloMs;
            analyzeSweep(r, scenario, so);
            const auto cell = applyGridChoice(r, grid, scenario, so);
            return std::make_tuple(r.recommendation, cell);
        };
        {
            const auto [rec, cell] = recommend(0); // throughput ÷ p95: 4 @ 4 (152,941) over 8 @ 8 (124,138) and 2 @ 2 (87,500)
            QCOMPARE(rec.concurrencyTarget, 4);
            QCOMPARE(rec.predictConcurrency, 4);
            QCOMPARE(rec.throughputAtTargetRps, 26000.0);
            QCOMPARE(rec.concurrencyTargetBasis, std::string("saturation"));
            QVERIFY(cell && grid.cells[*cell].predictConcurrency == 4 && grid.cells[*cell].target == 4);
            QVERIFY2(QString::fromStdString(rec.predictConcurrencyRule).contains("1 → 1, 2 → 2, 4 → 4, 8 → 8"), rec.predictConcurrencyRule.c_str());
        }
        {
            const auto [rec, cell] = recommend(0.5); // the highest throughput whose p95 meets 0.5 ms
            QCOMPARE(rec.concurrencyTarget, 8);
            QCOMPARE(rec.predictConcurrency, 8);
        }
        {
            const auto [rec, cell] = recommend(0.2); // 8 @ 8 misses it (0.29 ms): 4 @ 4
            QCOMPARE(rec.concurrencyTarget, 4);
            QCOMPARE(rec.predictConcurrency, 4);
        }
        {
            const auto [rec, cell] = recommend(0.1); // no cell meets it: nothing from the grid
            QVERIFY(!cell);
            QCOMPARE(rec.concurrencyTarget, 0);
        }
        // A row whose throughput still rises at its largest target offers that cell, and the rule says so:
        // left out, a cell it beats on both throughput and p95 could be chosen.
        GridResult rising = grid;
        for (GridCell& c : rising.cells)
            if (c.measured)
                c.level.throughputRps *= c.target; // every row still rising
        SweepResult r = sweep;
        analyzeSweep(r, scenario, o);
        QCOMPARE(r.recommendation.concurrencyTarget, 1);
        QVERIFY(applyGridChoice(r, rising, scenario, o));
        QCOMPARE(r.recommendation.concurrencyTarget, 16); // 8 @ 16: 576,000 req/s at 0.60 ms
        QCOMPARE(r.recommendation.predictConcurrency, 8);
        QCOMPARE(r.recommendation.concurrencyTargetBasis, std::string("not_saturated"));
        QVERIFY(QString::fromStdString(r.recommendation.concurrencyTargetRule).contains("throughput still rises there"));
        QVERIFY(QString::fromStdString(r.recommendation.predictConcurrencyRule).contains("1 → 16, 2 → 16, 4 → 16, 8 → 16"));
        // A stopped grid competes with the cells it measured. Stopped in pc 4's row after target 4 (of 1…16):
        // that row still rises at 4, and its rule asks for the whole grid, not for larger targets the grid had;
        // the rows after it never ran, and the rule says so. The plan known or not (a hand-made grid), the same.
        // The sweep's recommendation after a grid's choice: the sweep analysed afresh, then the grid applied.
        auto afterGrid = [&](const GridResult& g) {
            SweepResult st = sweep;
            analyzeSweep(st, scenario, o);
            const bool chosen = applyGridChoice(st, g, scenario, o).has_value();
            return std::make_pair(chosen, st);
        };
        for (const bool planKnown : {true, false}) {
            GridResult stopped = rising;
            stopped.cancelled = true;
            stopped.plannedRows = planKnown ? 4 : 0;
            stopped.plannedTargets = planKnown ? std::vector<int>{1, 2, 4, 8, 16} : std::vector<int>{};
            stopped.cells.resize(13); // pc 1 and 2 whole, pc 4 at targets 1, 2 (not run: pc above) and 4
            const auto [cell, st] = afterGrid(stopped);
            QVERIFY(cell);
            QCOMPARE(st.recommendation.predictConcurrency, 4); // 104,000 req/s at 0.17 ms beats 2 @ 16 (224,000 at 1.18)
            QCOMPARE(st.recommendation.concurrencyTarget, 4);
            const QString targetRule = QString::fromStdString(st.recommendation.concurrencyTargetRule);
            QVERIFY2(targetRule.contains("the largest target measured before the grid was stopped, 4"), qPrintable(targetRule));
            QVERIFY(targetRule.contains("run the whole grid") && !targetRule.contains("add larger targets"));
            const QString pcRule = QString::fromStdString(st.recommendation.predictConcurrencyRule);
            QVERIFY2(pcRule.contains("1 → 16, 2 → 16, 4 → 4;"), qPrintable(pcRule));
            QVERIFY(pcRule.contains("the grid was stopped at predict_concurrency 4, target 4 (that row lacks its larger targets): only the cells it measured competed"));
        }
        {
            GridResult atRowEnd = rising; // stopped after pc 2's last target: no row is cut, pc 4 and 8 never ran
            atRowEnd.cancelled = true;
            atRowEnd.plannedRows = 4;
            atRowEnd.plannedTargets = {1, 2, 4, 8, 16};
            atRowEnd.cells.resize(10);
            const auto [chosen, st] = afterGrid(atRowEnd);
            QVERIFY(chosen);
            QCOMPARE(st.recommendation.predictConcurrency, 2);
            QCOMPARE(st.recommendation.concurrencyTarget, 16);
            QVERIFY(QString::fromStdString(st.recommendation.concurrencyTargetRule).contains("add larger targets to the grid"));
            const QString pcRule = QString::fromStdString(st.recommendation.predictConcurrencyRule);
            QVERIFY2(pcRule.contains("the grid was stopped at predict_concurrency 2, target 16: only the cells it measured competed"), qPrintable(pcRule));
        }
        {
            // The sweep's own target (12) is appended to the grid's targets, so it runs last in each row: a row
            // stopped before it has measured its larger targets, and the rules say which one it lacks.
            GridResult appended;
            appended.cancelled = true;
            appended.plannedRows = 4;
            appended.plannedTargets = {1, 2, 4, 8, 16, 12};
            for (const GridCell& c : rising.cells) {
                if (c.predictConcurrency > 4)
                    break;
                appended.cells.push_back(c);
                if (c.target == 16 && c.predictConcurrency < 4) { // rows 1 and 2 ran 12 after 16
                    GridCell at12 = c;
                    at12.target = 12;
                    at12.level.throughputRps = c.level.throughputRps * 12 / 16;
                    at12.level.concurrency = 12;
                    appended.cells.push_back(at12);
                }
            }
            const auto [chosen, st] = afterGrid(appended);
            QVERIFY(chosen);
            QCOMPARE(st.recommendation.predictConcurrency, 4);
            QCOMPARE(st.recommendation.concurrencyTarget, 16);
            QVERIFY(QString::fromStdString(st.recommendation.concurrencyTargetRule).contains("add larger targets to the grid"));
            const QString pcRule = QString::fromStdString(st.recommendation.predictConcurrencyRule);
            QVERIFY2(pcRule.contains("the grid was stopped at predict_concurrency 4, target 16 (that row lacks target 12): only the cells it measured competed"),
                     qPrintable(pcRule));
        }
        {
            GridResult whole = rising; // cancelled at its very last cell: nothing was left out, nothing is said
            whole.cancelled = true;
            whole.plannedRows = 4;
            whole.plannedTargets = {1, 2, 4, 8, 16};
            const auto [chosen, st] = afterGrid(whole);
            QVERIFY(chosen);
            QVERIFY(!QString::fromStdString(st.recommendation.predictConcurrencyRule).contains("stopped"));
        }
        // No usable cell at all: the sweep's own recommendation stands, untouched.
        GridResult unusable = grid;
        for (GridCell& c : unusable.cells)
            c.level.stable = false;
        SweepResult u = sweep;
        analyzeSweep(u, scenario, o);
        const std::string before = u.recommendation.predictConcurrencyRule;
        QVERIFY(!applyGridChoice(u, unusable, scenario, o));
        QCOMPARE(u.recommendation.concurrencyTarget, 1);
        QCOMPARE(u.recommendation.predictConcurrencyRule, before);
    }

    void aLevelWithTooFewResponsesIsNotStable()
    {
        SweepOptions o = quick();
        o.levels = {1};
        o.capS = 60;
        const SweepResult r = runWallClockSweep(deterministic(1, 30'000), o); // one response per 30 s
        QVERIFY(!r.levels[0].stable);
    }

    // Issue 20: in virtual time, where running longer costs milliseconds, the same level runs until its
    // windows hold 200 responses and agree (seconds of wall time for hours of simulated time).
    void aSlowLevelStabilisesByResponsesInVirtualTime()
    {
        SweepOptions o = quick();
        o.levels = {1, 2};
        o.capS = 60;
        const SweepResult r = runVirtualSweep(deterministic(1, 30'000), o);
        QVERIFY(r.levels[0].stable);
        QVERIFY(r.levels[0].completed >= 3 * kMinResponsesPerVirtualWindow); // three windows of 200 or more
        QVERIFY(r.levels[0].measuredS >= 3 * 200 * 30.0);
        QCOMPARE(r.levels[0].latency.p50, 30'000.0);
        // A closed loop's first round is a burst: the warm-up lasts until each user has had a response,
        // so two users on one 30 s slot measure 60 s each, never the 30 s of the first response.
        QCOMPARE(r.levels[1].histogram.min, msToNanos(60'000));
        QCOMPARE(r.recommendation.concurrencyTarget, 1); // flat throughput: the first level
    }

    // Issue 20: a thousand 100 ms slots: throughput doubles with the users up to 1000 (10000 req/s). A
    // virtual sweep of 1…64 is not saturated: it doubles to 2048, and 1024 is the smallest level within
    // 5 % of the peak.
    void linearThroughputIsExtendedToSaturation()
    {
        const SweepResult r = runVirtualSweep(deterministic(1000, 100), quick());
        QCOMPARE(r.extendedLevels, (std::vector<int>{128, 256, 512, 1024, 2048}));
        QCOMPARE(r.levels.size(), std::size_t(12));
        QCOMPARE(r.analysis.saturation, std::optional<int>(1024));
        QCOMPARE(r.recommendation.concurrencyTarget, 1024);
        QCOMPARE(r.recommendation.concurrencyTargetBasis, std::string("saturation"));
        QVERIFY(std::abs(r.recommendation.throughputAtTargetRps - 10'000) <= 100);

        SweepOptions limited = quick();
        limited.extendLimit = 256;
        const SweepResult capped = runVirtualSweep(deterministic(1000, 100), limited);
        QCOMPARE(capped.extendedLevels, (std::vector<int>{128, 256}));
        QCOMPARE(capped.recommendation.concurrencyTarget, 0);
        QCOMPARE(capped.recommendation.concurrencyTargetBasis, std::string("not_saturated"));
        QVERIFY2(QString::fromStdString(capped.recommendation.concurrencyTargetRule).contains("up to its limit (256 users)"),
                 capped.recommendation.concurrencyTargetRule.c_str());

        // Live and endpoint sweeps keep the user's levels and say what to do.
        const SweepResult wall = runWallClockSweep(deterministic(1000, 100), quick());
        QCOMPARE(wall.levels.size(), std::size_t(7));
        QVERIFY(wall.extendedLevels.empty());
        QCOMPARE(wall.recommendation.concurrencyTarget, 0);
        QVERIFY2(QString::fromStdString(wall.recommendation.concurrencyTargetRule).contains("raise the levels (add 128, 256, ...)"),
                 wall.recommendation.concurrencyTargetRule.c_str());

        // An SLO nobody meets stops the extension: no larger level could be recommended.
        SweepOptions slo = quick();
        slo.sloMs = 90;
        const SweepResult none = runVirtualSweep(deterministic(1000, 100), slo);
        QVERIFY(none.extendedLevels.empty());
        QCOMPARE(none.recommendation.concurrencyTargetBasis, std::string("no_level_meets_slo"));
    }

    // A streaming model (continuous batching, 4 sequences at most): the time to first token grows once
    // users wait for a place in the decode loop; its SLO bounds the level.
    void streamingSloBoundsTheLevel()
    {
        Scenario s = deterministic(64, 1);
        s.model.batching.mode = BatchingConfig::Mode::Continuous;
        s.model.batching.maxSequences = 4;
        s.model.batching.outputTokens = Distribution::constant(10);
        s.model.predictTable = {{1, 4}, {10, 13}, "test"};
        SweepOptions o = quick();
        o.levels = {1, 2, 4, 8, 16};
        o.ttftSloMs = 30;
        const SweepResult r = runVirtualSweep(s, o);
        for (const SweepLevel& l : r.levels)
            QVERIFY(l.ttft.count > 0 && l.itl.count > 0);
        QVERIFY(r.analysis.sloLevel.has_value());
        QCOMPARE(*r.analysis.sloLevel, 4); // beyond 4 users, a sequence waits for a whole response to end
        for (const SweepLevel& l : r.levels)
            QCOMPARE(l.ttft.p95 <= 30, l.concurrency <= 4);
    }

    // Issue 13: a closed loop into dynamic batching has more than one steady state (two_steady_states.h works
    // the example out: 6,667 req/s as one batch, 4,000 in two groups). The sweep measures both and reports the
    // slower; the starts agree again once every call is full (16 users).
    void dynamicBatchingLevelsReportTheirSteadyStates()
    {
        const Scenario s = test::withTwoSteadyStates(deterministic(8, 1));
        SweepOptions o = quick();
        o.levels = {1, 2, 8, 16, 32};
        o.extendLimit = 0;
        const SweepResult r = runVirtualSweep(s, o);
        QCOMPARE(r.levels.size(), std::size_t(5));
        QVERIFY(!r.levels[0].states); // one user has one start
        const SweepLevel& two = r.levels[1];
        QVERIFY(two.states);
        QCOMPARE(two.states->starts.size(), std::size_t(2)); // two users one by one are two groups
        QCOMPARE(two.states->starts[1].start, std::string("two_groups"));
        const SweepLevel& eight = r.levels[2];
        QVERIFY(eight.states && eight.states->several);
        const std::vector<LevelStart>& st = eight.states->starts;
        QCOMPARE(st.size(), std::size_t(3));
        QCOMPARE(st[0].start, std::string("together"));
        QVERIFY(std::abs(st[0].throughputRps - test::kOneBatchRps) < 1);
        QCOMPARE(st[0].requestsPerCall(), 8.0);
        QCOMPARE(st[0].p50, 1.2);
        QVERIFY(std::abs(st[1].throughputRps - test::kTwoGroupsRps) < 1);
        QCOMPARE(st[1].requestsPerCall(), 4.0);
        QCOMPARE(st[1].p50, 2.0);
        QVERIFY(std::abs(st[2].throughputRps - test::kTwoGroupsRps) < 1); // one by one settles in two groups too
        // The level's figures are the slowest start's, and its rule says what was measured.
        const auto slowest = std::min_element(st.begin(), st.end(), [](const LevelStart& a, const LevelStart& b) { return a.throughputRps < b.throughputRps; });
        QCOMPARE(eight.states->chosen, slowest->start);
        QCOMPARE(eight.throughputRps, slowest->throughputRps);
        QCOMPARE(eight.completed, slowest->completed);
        QCOMPARE(eight.predictCalls, slowest->predictCalls);
        QVERIFY2(QString::fromStdString(eight.states->rule).contains("more than one steady state"), eight.states->rule.c_str());
        const SweepLevel& sixteen = r.levels[3];
        QVERIFY(sixteen.states && !sixteen.states->several);
        QCOMPARE(sixteen.states->chosen, std::string("together"));
        QCOMPARE(sixteen.throughputRps, sixteen.states->starts[0].throughputRps);
        // The saturation is the slow state's: 16 users reach the peak of 6,667 req/s, 8 do not (4,000).
        QCOMPARE(r.analysis.saturation, std::optional<int>(16));

        // A recommendation at such a level says so: with an SLO of 2.1 ms on p95, 8 users (2.0 ms) are the target.
        SweepOptions withSlo = o;
        withSlo.sloMs = 2.1;
        const SweepResult bound = runVirtualSweep(s, withSlo);
        QCOMPARE(bound.recommendation.concurrencyTarget, 8);
        QCOMPARE(bound.recommendation.throughputAtTargetRps, eight.throughputRps);
        QVERIFY2(QString::fromStdString(bound.recommendation.concurrencyTargetRule)
                     .endsWith("; this level has more than one steady state (4000 req/s to 6667 req/s by how the users start), and its figures are the slowest"),
                 bound.recommendation.concurrencyTargetRule.c_str());

        // One start (--starts 1): the old figures, no states.
        SweepOptions one = o;
        one.starts = 1;
        const SweepResult single = runVirtualSweep(s, one);
        QVERIFY(!single.levels[2].states);
        QCOMPARE(single.levels[2].throughputRps, st[0].throughputRps);
        QCOMPARE(single.analysis.saturation, std::optional<int>(8));

        // No batching: one start unless asked; asked, the starts of independent slots agree.
        const Scenario plain = deterministic(8, 1);
        QVERIFY(!runVirtualSweep(plain, o).levels[2].states);
        SweepOptions asked = o;
        asked.starts = 3;
        const SweepResult both = runVirtualSweep(plain, asked);
        QVERIFY(both.levels[2].states && !both.levels[2].states->several);
        // The grid's cells follow the same procedure: pc 8 at target 8 reports the two groups' 4,000 req/s.
        GridOptions g;
        g.predictConcurrency = {8};
        g.targets = {8, 16};
        g.level = o;
        const GridResult grid = runGrid(s, g, makeVirtualDriver);
        QCOMPARE(grid.cells.size(), std::size_t(2));
        QVERIFY(grid.cells[0].level.states && grid.cells[0].level.states->several);
        QCOMPARE(grid.cells[0].level.throughputRps, eight.throughputRps);
        QVERIFY(grid.cells[1].level.states && !grid.cells[1].level.states->several);
        // Wall-clock rules (a live sweep) measure other starts only when asked.
        QVERIFY(!runWallClockSweep(s, o).levels[2].states);
        const SweepResult wall = runWallClockSweep(s, asked);
        QVERIFY(wall.levels[2].states && wall.levels[2].states->several);
    }

    void cancelKeepsFinishedLevels()
    {
        int seen = 0;
        const SweepResult r = runVirtualSweep(deterministic(4, 100), quick(), [&](const SweepLevel&) { return ++seen < 3; });
        QVERIFY(r.cancelled);
        QCOMPARE(r.levels.size(), std::size_t(3));
        QCOMPARE(r.levels.back().concurrency, 4);
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
