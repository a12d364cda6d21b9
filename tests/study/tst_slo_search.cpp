// Issue 17 in virtual time: `--search slo` finds a known SLO boundary exactly (bisection between the
// last level that met the SLOs and the first that missed them); goodput counts the responses that met
// every SLO; `--repeats` merges a level's repeats and its 95 % intervals cover the true mean at their
// nominal rate over many seeds, on a model whose throughput and mean latency are known in closed form.
#include "study/confidence.h"
#include "study/sweep.h"

#include <QTest>

#include <cmath>

using namespace knee;

namespace {
// One predict slot of a constant `predictMs`: with N closed-loop users (no think time) every response
// waits behind the N − 1 others, so its latency is exactly N × predictMs.
Scenario oneSlot(double predictMs)
{
    Scenario s;
    s.name = "one slot";
    s.deployment.predictConcurrency = 1;
    s.model.predict = Distribution::constant(predictMs);
    s.workload.arrival = ArrivalConfig::poisson(1);
    s.workload.requests = 1;
    return s;
}
SweepOptions searchOptions(std::vector<int> levels, double sloMs)
{
    SweepOptions o;
    o.levels = std::move(levels);
    o.warmupS = 2;
    o.windowS = 2;
    o.sloMs = sloMs;
    o.searchSlo = true;
    return o;
}
std::vector<int> concurrencies(const SweepResult& r)
{
    std::vector<int> out;
    for (const SweepLevel& l : r.levels)
        out.push_back(l.concurrency);
    return out;
}
} // namespace

class TestSloSearch : public QObject {
    Q_OBJECT
private slots:
    void bisectionFindsTheExactBoundary()
    {
        // p95 = 10 N ms: an SLO of 125 ms is met up to N = 12. The listed levels stop at 16 (it missed),
        // bisection measures 12 (met), 14 and 13 (missed); 32 and 64 are never run.
        // levelStarting hears each level as it starts, in the order measured: what the sweep page shows.
        std::vector<double> started;
        SweepOptions o = searchOptions({1, 2, 4, 8, 16, 32, 64}, 125);
        o.levelStarting = [&started](double level) { started.push_back(level); };
        const SweepResult r = runVirtualSweep(oneSlot(10), o);
        QCOMPARE(started, (std::vector<double>{1, 2, 4, 8, 16, 12, 14, 13}));
        QVERIFY(r.search.has_value());
        QCOMPARE(r.search->largest, std::optional<int>(12));
        QCOMPARE(r.search->smallestMissing, std::optional<int>(13));
        QCOMPARE(r.search->low, 12);
        QCOMPARE(r.search->high, 12);
        QCOMPARE(r.search->bisected, (std::vector<double>{12, 14, 13}));
        QCOMPARE(concurrencies(r), (std::vector<int>{1, 2, 4, 8, 12, 13, 14, 16}));
        QVERIFY(r.search->stop.find("16") != std::string::npos);
        QVERIFY(r.extendedLevels.empty()); // bisected levels are not "added to reach saturation"
        for (const SweepLevel& l : r.levels)
            QCOMPARE(l.latency.p95, 10.0 * l.concurrency); // the closed form, to the histogram's bucket
    }

    void aVirtualSearchDoublesUntilALevelMisses()
    {
        // Every listed level meets 125 ms: virtual time doubles to 8 and 16, then bisects.
        const SweepResult r = runVirtualSweep(oneSlot(10), searchOptions({1, 2, 4}, 125));
        QCOMPARE(r.search->largest, std::optional<int>(12));
        QCOMPARE(concurrencies(r), (std::vector<int>{1, 2, 4, 8, 12, 13, 14, 16}));
        QCOMPARE(r.search->doubled, (std::vector<double>{8, 16}));
        QVERIFY(r.extendedLevels.empty()); // the search's own levels, not "added to reach saturation"
        QVERIFY(r.search->rule.find("doubled to 8, 16") != std::string::npos);
        // Four slots: 10 ms up to 4 users (and 20 ms at 8: two rounds of four), 40 ms at 16: an SLO of
        // 15 ms holds up to 4 users, and the first level past it, 5, already waits a round.
        Scenario four = oneSlot(10);
        four.deployment.predictConcurrency = 4;
        const SweepResult f = runVirtualSweep(four, searchOptions({1, 2, 4, 8, 16}, 15));
        QCOMPARE(f.search->largest, std::optional<int>(4));
        QCOMPARE(f.search->bisected, (std::vector<double>{6, 5}));
    }

    void noLevelMeetingTheSloIsSaidSo()
    {
        const SweepResult r = runVirtualSweep(oneSlot(10), searchOptions({1, 2, 4}, 5));
        QVERIFY(!r.search->largest);
        QCOMPARE(r.search->smallestMissing, std::optional<int>(1));
        QCOMPARE(concurrencies(r), std::vector<int>{1});
        QVERIFY(r.search->rule.find("no level met") != std::string::npos);
        // Without --search the same SLO measures every listed level.
        SweepOptions plain = searchOptions({1, 2, 4}, 5);
        plain.searchSlo = false;
        QVERIFY(!runVirtualSweep(oneSlot(10), plain).search);
    }

    void aLevelThatNeverSettledIsNeverCertain()
    {
        // The search judges a level by its figures, but one that did not stabilise cannot bound the answer:
        // it leaves the interval open on its side.
        SweepOptions o = searchOptions({1}, 50);
        SweepLevel l;
        l.concurrency = 4;
        l.completed = 100;
        l.latency.p95 = 40;
        l.throughputRps = 100;
        l.stable = true;
        QVERIFY(sloVerdict(l, 0, o).met && sloVerdict(l, 0, o).certain);
        l.stable = false;
        QVERIFY(sloVerdict(l, 0, o).met && !sloVerdict(l, 0, o).certain);
        l.stable = true; // failures and a fall past saturation miss, and say so
        l.failed = 2;
        QVERIFY(!sloVerdict(l, 0, o).met && sloVerdict(l, 0, o).why.find("2 requests failed") != std::string::npos);
        l.failed = 0;
        QVERIFY(!sloVerdict(l, 120, o).met && sloVerdict(l, 120, o).why.find("past saturation") != std::string::npos);
        QVERIFY(sloVerdict(l, 104, o).met); // within the 5 % tolerance of a smaller level's throughput
        // Repeats whose p95 interval straddles the SLO: the point meets it, the level is uncertain.
        l.repeats = summarizeRepeats({{10, 40, 45, 30, 100, 100, 0, 0, 100, 0, 1, true}, {10, 60, 65, 30, 100, 100, 0, 0, 100, 0, 1, true}}, 0.05);
        QVERIFY(sloVerdict(l, 0, o).met && !sloVerdict(l, 0, o).certain);
        QCOMPARE(l.repeats->verdict, std::string("noisy")); // p95 40 and 60: far wider than 5 %
    }

    void goodputCountsResponsesThatMeetEverySlo()
    {
        SweepOptions o = searchOptions({12, 13}, 125);
        o.searchSlo = false;
        o.extendLimit = 0;
        const SweepResult r = runVirtualSweep(oneSlot(10), o);
        QCOMPARE(r.levels.size(), std::size_t(2));
        QVERIFY(r.levels[0].goodCounted);
        QVERIFY(r.levels[0].completed > 0);
        QCOMPARE(r.levels[0].good, r.levels[0].completed); // 120 ms: all good
        QCOMPARE(r.levels[0].goodputRps, r.levels[0].throughputRps);
        QCOMPARE(r.levels[1].good, std::int64_t(0)); // 130 ms: none
        QCOMPARE(r.levels[1].goodShare(), 0.0);
        // A heavy tail: good is the share of responses at or under the SLO, which the histogram also counts.
        Scenario tail = oneSlot(10);
        tail.model.predict = Distribution::exponential(10);
        SweepOptions t = searchOptions({2}, 30);
        t.searchSlo = false;
        t.extendLimit = 0;
        const SweepLevel l = runVirtualSweep(tail, t).levels.front();
        LatencyHistogram h;
        QVERIFY(h.fromSparse(l.histogram));
        const std::int64_t above = h.countAbove(msToNanos(30));
        QVERIFY(l.good > 0 && l.good < l.completed);
        QVERIFY(std::abs((l.completed - l.good) - above) <= l.completed / 100); // within the bucket at 30 ms
        // No SLO: no goodput.
        t.sloMs = 0;
        QVERIFY(!runVirtualSweep(tail, t).levels.front().goodCounted);
    }

    void repeatsAreMergedWithTheirOwnSeeds()
    {
        Scenario s = oneSlot(10);
        s.model.predict = Distribution::exponential(10);
        SweepOptions o = searchOptions({4}, 0);
        o.searchSlo = false;
        o.extendLimit = 0;
        o.repeats = 3;
        const SweepLevel l = runVirtualSweep(s, o).levels.front();
        QVERIFY(l.repeats.has_value());
        QCOMPARE(l.repeats->runs.size(), std::size_t(3));
        std::int64_t completed = 0;
        double seconds = 0;
        for (const RepeatFigures& f : l.repeats->runs) {
            completed += f.completed;
            seconds += f.measuredS;
        }
        QCOMPARE(l.completed, completed); // the repeats' windows merged
        QCOMPARE(l.throughputRps, double(completed) / seconds);
        QVERIFY(l.repeats->runs[0].throughputRps != l.repeats->runs[1].throughputRps); // each repeat has its own seed
        QVERIFY(l.repeats->throughput.lo < l.repeats->throughput.hi);
        QVERIFY(l.repeats->verdict == "stable" || l.repeats->verdict == "noisy");
        // Deterministic service: every repeat measures the same, the interval is a point, the verdict stable.
        const SweepLevel d = runVirtualSweep(oneSlot(10), o).levels.front();
        QCOMPARE(d.repeats->p95.lo, d.repeats->p95.hi);
        QCOMPARE(d.repeats->verdict, std::string("stable"));
        // Repeat 0 is the scenario itself: a sweep without repeats measures exactly what repeat 0 did.
        o.repeats = 1;
        QCOMPARE(runVirtualSweep(s, o).levels.front().throughputRps, l.repeats->runs[0].throughputRps);
    }

    void intervalsCoverTheTrueMeanAtTheirNominalRate()
    {
        // One slot, exponential calls of 10 ms, 4 users, no think time: the slot is never idle, so the
        // throughput is exactly 100 req/s and (Little) the mean latency exactly 4 / 100 s = 40 ms.
        // 200 sweeps of 10 repeats each, every one with its own seed: the 95 % intervals must hold the
        // true values in 95 % of them (binomial noise over 200: ± 3 points at two sigma).
        Scenario s = oneSlot(10);
        s.model.predict = Distribution::exponential(10);
        SweepOptions o = searchOptions({4}, 0);
        o.searchSlo = false;
        o.extendLimit = 0;
        o.repeats = 10;
        int throughputHits = 0, meanHits = 0;
        const int sweeps = 200;
        for (int k = 0; k < sweeps; ++k) {
            s.workload.seed = 1000 + std::uint64_t(k) * 7919;
            const SweepLevel l = runVirtualSweep(s, o).levels.front();
            throughputHits += l.repeats->throughput.contains(100.0);
            meanHits += l.repeats->mean.contains(40.0);
        }
        qInfo("coverage: throughput %d / %d, mean latency %d / %d", throughputHits, sweeps, meanHits, sweeps);
        QVERIFY2(throughputHits >= 0.90 * sweeps && throughputHits <= 0.99 * sweeps, "throughput interval coverage off 95 %");
        QVERIFY2(meanHits >= 0.90 * sweeps && meanHits <= 0.99 * sweeps, "mean latency interval coverage off 95 %");
    }

    void theExpandedBootstrapOnNormalSamples()
    {
        // The interval itself, away from the engine: normal samples of 5, 10 and 20, true mean 0.
        for (int n : {5, 10, 20}) {
            Rng rng(42 + std::uint64_t(n));
            int hits = 0;
            const int trials = 1000;
            for (int k = 0; k < trials; ++k) {
                std::vector<double> v;
                for (int i = 0; i < n; ++i)
                    v.push_back(rng.normal());
                hits += meanInterval95(v, std::uint64_t(k) + 1).contains(0.0);
            }
            qInfo("n = %d: %d of %d intervals hold the mean", n, hits, trials);
            QVERIFY(hits >= 0.92 * trials && hits <= 0.975 * trials);
        }
        QCOMPARE(meanInterval95({3.0}).lo, 3.0);
        QCOMPARE(meanInterval95({}).hi, 0.0);
    }
};

QTEST_APPLESS_MAIN(TestSloSearch)
#include "tst_slo_search.moc"
