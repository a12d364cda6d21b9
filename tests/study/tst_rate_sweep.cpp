// Open-loop rate sweeps (issue 17, `knee sweep --rates`), in virtual time where the figures are exact:
// one slot of a constant 10 ms predict serves 100 req/s. Evenly spaced arrivals below that rate never
// wait (D/D/1: latency is the 10 ms of predict, requests in flight rate × 10 ms); above it the queue grows,
// so the level is not served in full and marks the capacity. Poisson arrivals on exponential work are an
// M/M/1 queue, whose mean latency 1 / (μ − λ) the sweep's level must reproduce. Sessions keep a rate
// sweep and refuse one whose saved analysis its levels do not give.
#include "session/sweep_record.h"
#include "study/sweep.h"

#include <QJsonArray>
#include <QTest>

#include <cmath>

using namespace knee;

namespace {

Scenario oneSlot(Distribution predict)
{
    Scenario s;
    s.name = "one slot";
    s.deployment.predictConcurrency = 1;
    s.model.predict = std::move(predict);
    s.workload.arrival = ArrivalConfig::poisson(1);
    s.workload.requests = 1;
    return s;
}

SweepOptions rateOptions(std::vector<double> rates, bool constant)
{
    SweepOptions o;
    o.rates = std::move(rates);
    o.constantArrivals = constant;
    o.warmupS = 2;
    o.windowS = 2;
    return o;
}

const SweepLevel& at(const SweepResult& r, double rate)
{
    for (const SweepLevel& l : r.levels)
        if (l.rateRps == rate)
            return l;
    qFatal("no level at %g req/s", rate);
}

} // namespace

class TestRateSweep : public QObject {
    Q_OBJECT
private slots:
    void evenlySpacedArrivalsBelowCapacityNeverWait()
    {
        const SweepResult r = runVirtualSweep(oneSlot(Distribution::constant(10)), rateOptions({25, 50, 80, 200}, true));
        QCOMPARE(r.levels.size(), std::size_t(4)); // 200 was not served: no rate is added
        for (double rate : {25.0, 50.0, 80.0}) {
            const SweepLevel& l = at(r, rate);
            QCOMPARE(l.concurrency, 0);
            QVERIFY(l.open());
            QCOMPARE(l.latency.p95, 10.0); // predict alone, to the histogram's bucket
            QCOMPARE(l.latency.max, 10.0);
            QVERIFY2(std::abs(l.sentRps - rate) <= 1.0 / l.measuredS, qPrintable(QString::number(l.sentRps))); // one arrival at a window's edge
            QVERIFY(std::abs(l.inFlightMean - rate * 0.010) < 0.01 * rate * 0.010 + 1e-3);                    // Little: λ × 10 ms
            QVERIFY(l.keptUp(0.05) && l.stable && !l.behind);
        }
        const SweepLevel& over = at(r, 200);
        QVERIFY(!over.keptUp(0.05));
        QVERIFY2(std::abs(over.throughputRps - 100) < 1, qPrintable(QString::number(over.throughputRps))); // one slot's capacity
        QVERIFY(over.latency.p95 > 100);                                                                     // the queue grew
        QVERIFY(r.rateAnalysis.has_value());
        QCOMPARE(r.rateAnalysis->capacity, std::optional<double>(80));
        QCOMPARE(r.rateAnalysis->firstBehind, std::optional<double>(200));
        // Latency is flat over the rates served: no knee; the capacity, bracketed by 200, sets the rate.
        QVERIFY(!r.rateAnalysis->knee);
        QCOMPARE(r.recommendation.ratePerReplicaRps, 80.0);
        QCOMPARE(r.recommendation.concurrencyTargetBasis, std::string("capacity"));
        QCOMPARE(r.recommendation.concurrencyTarget, 1); // 0.8 requests in flight, rounded up
        QVERIFY(r.analysis.knee == std::nullopt && !r.analysis.saturation); // the closed-loop analysis stays empty
        const std::string csv = sweepPointsCsv(r);
        QVERIFY(csv.find(",rate_rps,sent_rps,in_flight_mean,behind\n") != std::string::npos);
        QVERIFY(csv.find("\n0,10,10,10,") != std::string::npos);
    }

    void virtualTimeDoublesTheRatesUntilOneIsNotServed()
    {
        const SweepResult r = runVirtualSweep(oneSlot(Distribution::constant(10)), rateOptions({10, 20}, true));
        std::vector<double> rates;
        for (const SweepLevel& l : r.levels)
            rates.push_back(l.rateRps);
        QCOMPARE(rates, (std::vector<double>{10, 20, 40, 80, 160}));
        QCOMPARE(r.rateAnalysis->extendedRates, (std::vector<double>{40, 80, 160}));
        QCOMPARE(r.rateAnalysis->capacity, std::optional<double>(80));
        QCOMPARE(r.rateAnalysis->firstBehind, std::optional<double>(160));
    }

    void poissonOnExponentialWorkIsMM1()
    {
        // μ = 100 req/s, λ = 50: mean latency 1 / (μ − λ) = 20 ms, in flight λ / (μ − λ) = 1.
        SweepOptions o = rateOptions({50}, false);
        o.windowS = 20; // a mean of some thousands of responses
        o.extendLimit = 0;
        Scenario s = oneSlot(Distribution::exponential(10));
        const SweepResult r = runVirtualSweep(s, o);
        const SweepLevel& l = at(r, 50);
        QVERIFY2(std::abs(l.latency.mean - 20) < 2, qPrintable(QString::number(l.latency.mean)));
        QVERIFY2(std::abs(l.inFlightMean - 1) < 0.1, qPrintable(QString::number(l.inFlightMean)));
        // A Poisson count: the achieved rate is within a few standard deviations of the asked.
        QVERIFY(std::abs(double(l.sent) - 50 * l.measuredS) < 4 * std::sqrt(50 * l.measuredS));
        QVERIFY(!l.behind);
    }

    void theSloSearchBisectsTheRate()
    {
        // D/D/1: 10 ms up to 100 req/s, a growing queue above it. An SLO of 15 ms: the boundary is 100.
        SweepOptions o = rateOptions({50, 400}, true);
        o.sloMs = 15;
        o.searchSlo = true;
        const SweepResult r = runVirtualSweep(oneSlot(Distribution::constant(10)), o);
        QVERIFY(r.search && r.search->rates);
        QVERIFY(r.search->largest && r.search->smallestMissing);
        const double lo = *r.search->largest, hi = *r.search->smallestMissing;
        QVERIFY2(lo <= 100 && hi > 100 && hi - lo <= o.rateResolution * hi, qPrintable(QStringLiteral("%1 to %2").arg(lo).arg(hi)));
        QVERIFY(!r.search->bisected.empty());
        QVERIFY(r.search->rule.find("req/s is the largest rate measured to meet every SLO") != std::string::npos);
        // Past 100 req/s the queue grows without bound: those levels never settle, so the capacity is the
        // largest rate below them, which also meets the SLO.
        for (const SweepLevel& l : r.levels)
            QCOMPARE(l.stable, l.rateRps <= 100);
        QCOMPARE(r.rateAnalysis->capacity, std::optional<double>(lo));
        QCOMPARE(r.recommendation.ratePerReplicaRps, lo);
        QCOMPARE(r.recommendation.concurrencyTargetBasis, std::string("capacity"));
    }

    void aRateFarPastCapacityIsNotServedNotBehind()
    {
        // 100,000 req/s on a replica of 100: the engine's request budget stops the load early. That is not a
        // generator falling behind (the level would then say nothing): the level is not served in full.
        const SweepResult r = runVirtualSweep(oneSlot(Distribution::constant(10)), rateOptions({20, 100000}, true));
        const SweepLevel& over = at(r, 100000);
        QVERIFY(!over.behind);
        QVERIFY(!over.keptUp(0.05));
        QCOMPARE(r.rateAnalysis->firstBehind, std::optional<double>(100000));
        QCOMPARE(r.recommendation.concurrencyTargetBasis, std::string("capacity"));
        // Closed-loop levels count no arrivals.
        SweepOptions closed;
        closed.levels = {1, 2};
        closed.repeats = 2;
        for (const SweepLevel& l : runVirtualSweep(oneSlot(Distribution::constant(10)), closed).levels)
            QVERIFY(l.sent == 0 && l.sentRps == 0 && !l.open());
    }

    void aSearchThatNoRateMeetsStopsAtAQuarterOfTheSmallest()
    {
        SweepOptions o = rateOptions({10, 20}, true);
        o.sloMs = 5; // below the 10 ms of predict: no rate meets it
        o.searchSlo = true;
        const SweepResult r = runVirtualSweep(oneSlot(Distribution::constant(10)), o);
        QVERIFY(!r.search->largest);
        QCOMPARE(r.search->bisected, (std::vector<double>{5, 2.5}));
        QCOMPARE(r.search->smallestMissing, std::optional<double>(2.5));
    }

    void aLowLevelThatDidNotSettleDoesNotEndTheCapacity()
    {
        // As on the H200 (bench/fidelity/results/h200_2026-12-03_rates, predict_concurrency 4): the first level
        // ran while the GPU raised its clocks and did not settle; the capacity is still the largest rate served.
        auto point = [](double rate, double served, bool stable) {
            RatePoint p;
            p.rateRps = p.sentRps = rate;
            p.throughputRps = served;
            p.latencyMs = 2;
            p.meanMs = 1;
            p.inFlight = served / 1000;
            p.keptUp = served >= 0.95 * rate;
            p.stable = stable;
            p.usable = p.keptUp && stable;
            return p;
        };
        const std::vector<RatePoint> points{point(500, 500, false), point(1375, 1375, true), point(2141, 2141, true), point(2250, 2000, false)};
        const RateAnalysis a = analyzeRateCurve(points, Slos{}, 1.0, 0.05);
        QCOMPARE(a.capacity, std::optional<double>(2141));
        QCOMPARE(a.firstBehind, std::optional<double>(2250));
        const RateChoice c = chooseRate(points, a, Slos{}, false, false);
        QCOMPARE(c.rateRps, std::optional<double>(2141));
        QCOMPARE(c.basis, std::string("capacity"));
        QCOMPARE(c.concurrencyTarget, 3); // 2.141 in flight, rounded up
    }

    void aGeneratorThatFellBehindIsMarked()
    {
        SweepLevel l;
        l.measuredS = 10;
        l.sent = 800; // 80 req/s sent of 100 asked: 200 fewer than 1000, beyond 5 % plus 3 σ (145 in all)
        finishOpenLevel(l, 100, 0.05, true);
        QVERIFY(l.behind);
        finishOpenLevel(l, 100, 0.05, false); // the engine's own arrivals: never judged
        QVERIFY(!l.behind);
        l.sent = 900; // within the Poisson noise and the tolerance
        finishOpenLevel(l, 100, 0.05, true);
        QVERIFY(!l.behind);
        SweepLevel closed;
        closed.concurrency = 4;
        finishOpenLevel(closed, 0, 0.05, true); // a closed-loop level is left alone
        QCOMPARE(closed.concurrency, 4);
        QVERIFY(!closed.open());
    }

    void sessionsKeepARateSweepAndRefuseAnEditedOne()
    {
        const Scenario s = oneSlot(Distribution::constant(10));
        SessionSweep sw{rateOptions({25, 50, 80, 200}, true), {}};
        sw.result = runVirtualSweep(s, sw.options);
        const QJsonObject record = sweepRecord(sw);
        QCOMPARE(record.value("options").toObject().value("arrival").toString(), QStringLiteral("constant"));
        QCOMPARE(record.value("rate_analysis").toObject().value("capacity_rps").toDouble(), 80.0);
        QVERIFY(record.value("rate_analysis").toObject().value("knee_rps").isNull());
        QCOMPARE(record.value("recommendation").toObject().value("rate_per_replica_rps").toDouble(), 80.0);
        {
            JsonReader reader;
            const auto back = readSweepRecord(reader, record, QStringLiteral("sweeps[0]"), s, 3);
            QVERIFY2(back.has_value(), qPrintable(reader.error));
            QCOMPARE(back->options.rates, sw.options.rates);
            QVERIFY(back->options.constantArrivals);
            QCOMPARE(back->result.levels.size(), sw.result.levels.size());
            for (std::size_t k = 0; k < back->result.levels.size(); ++k) {
                QCOMPARE(back->result.levels[k].rateRps, sw.result.levels[k].rateRps);
                QCOMPARE(back->result.levels[k].sentRps, sw.result.levels[k].sentRps);
                QCOMPARE(back->result.levels[k].inFlightMean, sw.result.levels[k].inFlightMean);
            }
            QCOMPARE(back->result.recommendation.ratePerReplicaRps, 80.0);
            QCOMPARE(back->result.rateAnalysis->capacity, std::optional<double>(80));
        }
        { // an edited knee
            QJsonObject edited = record;
            QJsonObject a = edited.value("rate_analysis").toObject();
            a.insert("knee_rps", 50); // the levels have none
            edited.insert("rate_analysis", a);
            JsonReader reader;
            QVERIFY(!readSweepRecord(reader, edited, QStringLiteral("sweeps[0]"), s, 3));
            QVERIFY(reader.error.contains(QStringLiteral("rate_analysis.knee_rps")));
        }
        { // rate options over closed-loop levels
            QJsonObject edited = record;
            QJsonArray levels = edited.value("levels").toArray();
            QJsonObject first = levels[0].toObject();
            first.remove("rate_rps");
            first.insert("concurrency", 1);
            levels[0] = first;
            edited.insert("levels", levels);
            JsonReader reader;
            QVERIFY(!readSweepRecord(reader, edited, QStringLiteral("sweeps[0]"), s, 3));
        }
        { // a rate that is no rate
            QJsonObject edited = record;
            QJsonObject options = edited.value("options").toObject();
            options.insert("rates", QJsonArray{25, -1});
            edited.insert("options", options);
            JsonReader reader;
            QVERIFY(!readSweepRecord(reader, edited, QStringLiteral("sweeps[0]"), s, 3));
            QVERIFY(reader.error.contains(QStringLiteral("options.rates")));
        }
    }
};

QTEST_GUILESS_MAIN(TestRateSweep)
#include "tst_rate_sweep.moc"
