// Open-loop traffic patterns (step, spike, diurnal, trace replay), request sizes, and the
// concurrency modifier of seed 001 (fixed, the engine's own maximum, adaptive).
#include "test_support.h"

#include <QTest>

#include <cmath>
#include <tuple>
#include <vector>

using namespace knee;
using namespace knee::test;

namespace {
Nanos sec(double s) { return secondsToNanos(s); }

// Arrivals per interval [from, to) in seconds.
std::vector<std::int64_t> countArrivals(Scenario s, const std::vector<std::pair<double, double>>& intervals)
{
    Engine e(s);
    std::vector<std::int64_t> counts(intervals.size());
    e.setObserver([&](const Request& r) {
        const double t = nanosToSeconds(r.intended);
        for (std::size_t i = 0; i < intervals.size(); ++i)
            if (t >= intervals[i].first && t < intervals[i].second)
                ++counts[i];
    });
    e.startLoad();
    e.runToCompletion();
    return counts;
}
// A Poisson count with mean m lies within 4 sqrt(m) of m.
bool poissonClose(std::int64_t n, double m) { return std::abs(double(n) - m) <= 4 * std::sqrt(m); }
// Each request's (intended, done, outcome, measured) in id order, less `shift` from both times; and
// the run's measured throughput and p99. For a run whose load started `shift` after time 0.
struct ShiftedRun {
    std::vector<std::tuple<Nanos, Nanos, int, bool>> requests;
    double throughput = 0;
    double p99 = 0;
    std::int64_t measured = 0;
    int peakReplicas = 0;
};
ShiftedRun runFrom(const Scenario& s, Nanos shift)
{
    Engine e(s);
    Recorder rec;
    rec.attach(e);
    e.runUntil(shift); // nothing happens before the load: the replicas are idle
    e.startLoad();
    int peak = 0;
    while (e.step())
        peak = std::max(peak, int(e.snapshot().replicas.size()));
    ShiftedRun out;
    for (const auto& [id, r] : rec.done)
        out.requests.emplace_back(r.intended - shift, r.done - shift, int(r.outcome), r.measured);
    out.throughput = e.metrics().throughputRps();
    out.p99 = e.metrics().latency.quantile(0.99);
    out.measured = e.metrics().latency.count();
    out.peakReplicas = peak;
    return out;
}
} // namespace

class TestTrafficAndModifier : public QObject {
    Q_OBJECT
private slots:
    void stepPattern()
    {
        Scenario s = singleReplica(1000, 1000);
        s.workload.arrival.kind = ArrivalConfig::Kind::Step;
        s.workload.arrival.rateRps = 100;
        s.workload.arrival.steps = {{100, 400}, {200, 50}};
        s.workload.requests = 0;
        s.workload.durationS = 300;
        QCOMPARE(s.validate(), std::string());
        const auto c = countArrivals(s, {{0, 100}, {100, 200}, {200, 300}});
        QVERIFY2(poissonClose(c[0], 100 * 100), qPrintable(QString::number(c[0])));
        QVERIFY2(poissonClose(c[1], 400 * 100), qPrintable(QString::number(c[1])));
        QVERIFY2(poissonClose(c[2], 50 * 100), qPrintable(QString::number(c[2])));
    }

    void spikePattern()
    {
        Scenario s = singleReplica(1000, 1000);
        s.workload.arrival.kind = ArrivalConfig::Kind::Spike;
        s.workload.arrival.rateRps = 20;
        s.workload.arrival.spikeRps = 2000;
        s.workload.arrival.spikeAtS = 50;
        s.workload.arrival.spikeDurationS = 5;
        s.workload.requests = 0;
        s.workload.durationS = 100;
        const auto c = countArrivals(s, {{0, 50}, {50, 55}, {55, 100}});
        QVERIFY(poissonClose(c[0], 20 * 50));
        QVERIFY(poissonClose(c[1], 2000 * 5));
        QVERIFY(poissonClose(c[2], 20 * 45));
    }

    // A cosine day between 20 and 100 req/s: the mean over a period is 60, the hour around the peak
    // carries about 100 req/s and the hour around the trough about 20.
    void diurnalPattern()
    {
        Scenario s = singleReplica(1000, 1000);
        s.workload.arrival.kind = ArrivalConfig::Kind::Diurnal;
        s.workload.arrival.baselineRps = 20;
        s.workload.arrival.peakRps = 100;
        s.workload.arrival.periodS = 86400;
        s.workload.arrival.peakAtS = 43200;
        s.workload.requests = 0;
        s.workload.durationS = 86400;
        const auto c = countArrivals(s, {{0, 86400}, {42300, 44100}, {0, 900}});
        QVERIFY2(poissonClose(c[0], 60.0 * 86400), qPrintable(QString::number(c[0])));
        // Over ±15 min around the peak the cosine stays above 99.6 % of its top.
        QVERIFY2(std::abs(double(c[1]) / 1800 - 100) < 2, qPrintable(QString::number(c[1])));
        QVERIFY2(std::abs(double(c[2]) / 900 - 20) < 1.5, qPrintable(QString::number(c[2])));
    }

    void traceReplayKeepsTimesAndSizes()
    {
        Scenario s = singleReplica(100, 100, 10, 20, 0);
        s.workload.arrival.kind = ArrivalConfig::Kind::Trace;
        s.workload.arrival.trace = {{0.5, 1}, {0.75, 2}, {2.0, 0.5}};
        s.workload.requests = 0;
        s.workload.durationS = 10;
        Engine e(s);
        Recorder rec;
        rec.attach(e);
        e.startLoad();
        e.runToCompletion();
        QCOMPARE(rec.done.size(), std::size_t(3));
        QCOMPARE(rec[0].intended, sec(0.5));
        QCOMPARE(rec[1].intended, sec(0.75));
        QCOMPARE(rec[2].intended, sec(2.0));
        QCOMPARE(rec[1].times.preprocess, ms(20)); // size 2 doubles preprocess and predict
        QCOMPARE(rec[1].times.predict, ms(40));
        QCOMPARE(rec[2].times.predict, ms(10));
    }

    // A load started later (a live run waits for its replicas' cold starts) is the same run, shifted:
    // the warm-up, the duration, a trace's times, a rate pattern's changes and the knob changes all
    // count from the load's start.
    void loadStartedLaterIsTheSameRunShifted_data()
    {
        QTest::addColumn<int>("kind");
        QTest::newRow("poisson, warm-up, knob change") << 0;
        QTest::newRow("step pattern, duration") << 1;
        QTest::newRow("trace") << 2;
        QTest::newRow("closed loop, warm-up, users change") << 3;
        QTest::newRow("autoscaler (Knative), cold starts") << 4;
        QTest::newRow("autoscaler (Baseten)") << 5;
    }
    void loadStartedLaterIsTheSameRunShifted()
    {
        QFETCH(int, kind);
        Scenario s = singleReplica(4, 2, 1, 3, 0.5);
        s.workload.seed = 11;
        if (kind == 0) {
            s.workload.arrival.rateRps = 300;
            s.workload.requests = 2000;
            s.workload.warmupS = 0.5;
            KnobChange c;
            c.atS = 2;
            c.predictConcurrency = 4;
            s.changes.push_back(c);
        } else if (kind == 1) {
            s.workload.arrival.kind = ArrivalConfig::Kind::Step;
            s.workload.arrival.rateRps = 100;
            s.workload.arrival.steps = {{1, 500}, {2, 50}};
            s.workload.requests = 0;
            s.workload.durationS = 3;
        } else if (kind == 2) {
            s.workload.arrival.kind = ArrivalConfig::Kind::Trace;
            s.workload.arrival.trace = {{0.5, 1}, {0.75, 2}, {2.0, 0.5}};
            s.workload.requests = 0;
            s.workload.durationS = 10;
        } else if (kind == 4 || kind == 5) {
            // The wait before the load must not count as idle time in the autoscaler's window.
            s.deployment.maxReplicas = 4;
            s.deployment.coldStartS = 0.5;
            s.deployment.autoscaler.policy = kind == 4 ? AutoscalerConfig::Policy::Knative : AutoscalerConfig::Policy::Baseten;
            s.deployment.autoscaler.windowS = 10;
            s.deployment.autoscaler.scaleDownDelayS = 5;
            // ~0.75 of one replica: the window's mean concurrency asks for a second replica, unless the
            // wait before the load were averaged in as idle time.
            s.workload.arrival.rateRps = 500;
            s.workload.requests = 10000;
        } else {
            s.workload.arrival = ArrivalConfig::closed(6);
            s.workload.requests = 3000;
            s.workload.warmupS = 0.25;
            KnobChange c;
            c.atS = 1;
            c.users = 2;
            s.changes.push_back(c);
        }
        QCOMPARE(s.validate(), std::string());
        const ShiftedRun atZero = runFrom(s, 0), later = runFrom(s, sec(7.25));
        QVERIFY(atZero.requests.size() >= 3);
        QCOMPARE(later.requests.size(), atZero.requests.size());
        QVERIFY(later.requests == atZero.requests);
        if (kind == 4 || kind == 5)
            QVERIFY(later.peakReplicas > 1 && later.peakReplicas == atZero.peakReplicas);
        QCOMPARE(later.measured, atZero.measured);
        QCOMPARE(later.throughput, atZero.throughput);
        QCOMPARE(later.p99, atZero.p99);
    }

    void requestSizeDistributionScalesWork()
    {
        Scenario s = singleReplica(100, 100, 0, 10, 5);
        s.workload.requestSize = Distribution::of(Distribution::Kind::Uniform, 1.0);
        s.workload.arrival = ArrivalConfig::poisson(10);
        s.workload.requests = 20'000;
        Engine e(s);
        double predictSum = 0, postSum = 0;
        Nanos minPredict = kNever, maxPredict = 0;
        e.setObserver([&](const Request& r) {
            predictSum += nanosToMs(r.times.predict);
            postSum += nanosToMs(r.times.postprocess);
            minPredict = std::min(minPredict, r.times.predict);
            maxPredict = std::max(maxPredict, r.times.predict);
        });
        e.startLoad();
        e.runToCompletion();
        QVERIFY(std::abs(predictSum / 20'000 - 10) < 0.15); // mean size 1 keeps the mean
        QCOMPARE(postSum / 20'000, 5.0);                     // postprocess does not scale
        QVERIFY(minPredict < ms(1) && maxPredict > ms(19));  // sizes spread over [0, 2]
    }

    void patternsRefuseASingleRate()
    {
        Scenario s = singleReplica(10, 10);
        s.workload.arrival.kind = ArrivalConfig::Kind::Spike;
        s.workload.arrival.rateRps = 5;
        s.workload.arrival.spikeRps = 50;
        s.workload.arrival.spikeDurationS = 1;
        Engine e(s);
        QVERIFY(QString::fromStdString(e.setArrivalRate(10)).contains("pattern"));
    }

    void badPatternsAreRefused_data()
    {
        QTest::addColumn<int>("breakage");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("step without steps") << 0 << "steps";
        QTest::addRow("steps out of order") << 1 << "increasing";
        QTest::addRow("spike of zero length") << 2 << "duration_s";
        QTest::addRow("diurnal period 0") << 3 << "period_s";
        QTest::addRow("trace out of order") << 4 << "in order";
        QTest::addRow("empty trace") << 5 << "at least one";
    }
    void badPatternsAreRefused()
    {
        QFETCH(int, breakage);
        QFETCH(QString, fragment);
        Scenario s = singleReplica(10, 10);
        auto& a = s.workload.arrival;
        a.rateRps = 5;
        switch (breakage) {
        case 0: a.kind = ArrivalConfig::Kind::Step; break;
        case 1: a.kind = ArrivalConfig::Kind::Step; a.steps = {{10, 5}, {5, 6}}; break;
        case 2: a.kind = ArrivalConfig::Kind::Spike; a.spikeRps = 10; break;
        case 3: a.kind = ArrivalConfig::Kind::Diurnal; a.baselineRps = 1; a.peakRps = 2; a.periodS = 0; break;
        case 4: a.kind = ArrivalConfig::Kind::Trace; a.trace = {{2, 1}, {1, 1}}; break;
        case 5: a.kind = ArrivalConfig::Kind::Trace; break;
        }
        QVERIFY2(QString::fromStdString(s.validate()).contains(fragment), s.validate().c_str());
    }

    void modifierCapsWhatAReplicaHolds_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("value");
        QTest::addColumn<int>("expectedLimit");
        QTest::addRow("none: the target") << int(ConcurrencyModifierConfig::Kind::None) << 0 << 8;
        QTest::addRow("fixed 3") << int(ConcurrencyModifierConfig::Kind::Fixed) << 3 << 3;
        QTest::addRow("fixed above target: target wins") << int(ConcurrencyModifierConfig::Kind::Fixed) << 20 << 8;
        QTest::addRow("engine max 5 (KV capacity)") << int(ConcurrencyModifierConfig::Kind::EngineMax) << 5 << 5;
    }
    void modifierCapsWhatAReplicaHolds()
    {
        QFETCH(int, kind);
        QFETCH(int, value);
        QFETCH(int, expectedLimit);
        Scenario s = singleReplica(8, 8, 0, 100, 0);
        s.deployment.modifier.kind = ConcurrencyModifierConfig::Kind(kind);
        s.deployment.modifier.fixed = value;
        s.deployment.modifier.engineMax = value;
        QCOMPARE(s.validate(), std::string());
        Engine e(s);
        for (int i = 0; i < 12; ++i)
            e.submit(0);
        QCOMPARE(e.snapshot().replicas[0].held, expectedLimit);
        QCOMPARE(e.snapshot().replicas[0].limit, expectedLimit);
        QCOMPARE(e.snapshot().queued, 12 - expectedLimit);
        QCOMPARE(e.metrics().occupancy.level(Stage::Limit), expectedLimit); // the limit over time is recorded
        e.runToCompletion();
        QCOMPARE(e.checkInvariants(), std::string());
    }

    // Adaptive: one predict slot of 10 ms behind a high target. Latency grows with what the
    // replica holds beyond 1, so the limiter settles near the point where latency starts to
    // climb instead of filling the target; with two predictSlots it settles higher.
    void adaptiveLimitSettlesBelowTheTarget_data()
    {
        QTest::addColumn<int>("predictSlots");
        QTest::addRow("one predict slot") << 1;
        QTest::addRow("four predict predictSlots") << 4;
    }
    void adaptiveLimitSettlesBelowTheTarget()
    {
        QFETCH(int, predictSlots);
        Scenario s = singleReplica(64, predictSlots, 0, 10, 0);
        s.model.predict = Distribution::exponential(10);
        s.deployment.modifier.kind = ConcurrencyModifierConfig::Kind::Adaptive;
        s.deployment.modifier.initialLimit = 16;
        s.workload.arrival = ArrivalConfig::closed(64);
        s.workload.requests = 60'000;
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        const auto w = e.metrics().occupancy.windows(e.now());
        double late = 0, width = 0; // the last quarter of the run
        for (const auto& win : w)
            if (win.start >= e.now() * 3 / 4) {
                late += win.mean[std::size_t(Stage::Limit)] * double(win.width);
                width += double(win.width);
            }
        const double settled = late / width;
        QVERIFY2(settled < 64 && settled >= 1, qPrintable(QString::number(settled)));
        // The limit leaves room for what the predictSlots can serve at once, and not much more.
        QVERIFY2(settled >= predictSlots && settled <= predictSlots * 4 + 4, qPrintable(QString("settled at %1").arg(settled)));
        QCOMPARE(e.checkInvariants(), std::string());
    }
};

QTEST_GUILESS_MAIN(TestTrafficAndModifier)
#include "tst_traffic_and_modifier.moc"
