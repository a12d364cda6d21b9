// The engine's semantics one rule at a time: draining on lowered knobs, replica lifecycle, load
// generators, warm-up, intended-time latency, determinism and common random numbers.
#include "test_support.h"

#include <QTest>

using namespace knee;
using namespace knee::test;

class TestEngineSemantics : public QObject {
    Q_OBJECT
private slots:
    void loweringTargetDrainsWithoutKilling()
    {
        Engine e(singleReplica(4, 4, 0, 100, 0));
        Recorder rec;
        rec.attach(e);
        for (int i = 0; i < 6; ++i)
            e.submit(0);
        QCOMPARE(e.snapshot().held, 4);
        QCOMPARE(e.setConcurrencyTarget(1), std::string());
        QCOMPARE(e.snapshot().held, 4); // nothing in flight is killed
        QCOMPARE(e.snapshot().queued, 2);
        e.runUntil(ms(100));
        QCOMPARE(e.snapshot().completed, 4);
        QCOMPARE(e.snapshot().held, 1); // the excess drained; now one at a time
        e.runToCompletion();
        QCOMPARE(rec[4].routed, ms(100));
        QCOMPARE(rec[5].routed, ms(200));
        QCOMPARE(e.checkInvariants(), std::string());
    }

    void raisingTargetAdmitsAtOnce()
    {
        Engine e(singleReplica(1, 1, 0, 100, 0));
        for (int i = 0; i < 3; ++i)
            e.submit(0);
        e.runUntil(ms(10));
        QCOMPARE(e.snapshot().queued, 2);
        QCOMPARE(e.setConcurrencyTarget(3), std::string());
        QCOMPARE(e.snapshot().queued, 0);
        QCOMPARE(e.snapshot().held, 3);
        e.runUntil(ms(10)); // their (zero-length) preprocess ends at this instant
        QCOMPARE(e.snapshot().replicas[0].waitingForPredict, 2); // admitted, waiting for the single slot
    }

    void loweringPredictConcurrencyDrains()
    {
        Engine e(singleReplica(8, 4, 0, 100, 0));
        for (int i = 0; i < 6; ++i)
            e.submit(0);
        e.runUntil(0);
        QCOMPARE(e.snapshot().replicas[0].inPredict, 4);
        QCOMPARE(e.setPredictConcurrency(1), std::string());
        QCOMPARE(e.snapshot().replicas[0].inPredict, 4);
        e.runUntil(ms(100));
        QCOMPARE(e.snapshot().replicas[0].inPredict, 1);
        QCOMPARE(e.snapshot().replicas[0].waitingForPredict, 1);
        QCOMPARE(e.setPredictConcurrency(2), std::string()); // a raise fills the slot at once
        QCOMPARE(e.snapshot().replicas[0].inPredict, 2);
    }

    void routesToLeastLoaded()
    {
        Scenario s = singleReplica(4, 4, 0, 100, 0);
        s.deployment.maxReplicas = 3;
        s.deployment.initialReplicas = 3;
        Engine e(s);
        for (int i = 0; i < 7; ++i)
            e.submit(0);
        const auto snap = e.snapshot();
        QCOMPARE(snap.replicas.size(), std::size_t(3));
        QCOMPARE(snap.replicas[0].held, 3);
        QCOMPARE(snap.replicas[1].held, 2);
        QCOMPARE(snap.replicas[2].held, 2);
    }

    void loweringMaxReplicasDrainsAReplica()
    {
        Scenario s = singleReplica(2, 2, 0, 100, 0);
        s.deployment.maxReplicas = 2;
        s.deployment.initialReplicas = 2;
        Engine e(s);
        Recorder rec;
        rec.attach(e);
        for (int i = 0; i < 3; ++i)
            e.submit(0); // replica 0 holds 2, replica 1 holds 1
        QCOMPARE(e.setReplicaBounds(1, 1), std::string());
        auto snap = e.snapshot();
        QCOMPARE(snap.replicas[1].state, ReplicaState::Draining); // the least loaded goes
        e.submit(0); // replica 0 is full and replica 1 takes nothing new: it waits
        QCOMPARE(e.snapshot().queued, 1);
        e.runToCompletion();
        QCOMPARE(rec[1].replica, 1);
        QCOMPARE(rec[1].done, ms(100)); // the draining replica finished what it held
        QCOMPARE(rec[3].replica, 0);
        QCOMPARE(rec[3].routed, ms(100));
        QCOMPARE(e.snapshot().replicas.size(), std::size_t(1));
    }

    // The snapshot's predict calls and predict-busy time only grow: a removed replica's busy time stays in
    // the total (`knee serve` exports both as Prometheus counters).
    void predictCallsAndBusyTimeOutliveTheirReplica()
    {
        Scenario s = singleReplica(2, 2, 0, 100, 0);
        s.deployment.maxReplicas = 2;
        s.deployment.initialReplicas = 2;
        Engine e(s);
        for (int i = 0; i < 3; ++i)
            e.submit(0); // replica 0: two calls at once, 0-100 ms; replica 1: one call, 0-100 ms
        QCOMPARE(e.setReplicaBounds(1, 1), std::string());
        e.submit(0); // waits for replica 0: 100-200 ms
        e.runUntil(ms(150));
        const EngineSnapshot mid = e.snapshot();
        QCOMPARE(mid.replicas.size(), std::size_t(1)); // replica 1 is gone
        QCOMPARE(mid.predictCalls, std::int64_t(4));
        QCOMPARE(mid.predictBusyNs, ms(100) + ms(150)); // replica 1's 100 ms, replica 0's 150 so far
        e.runToCompletion();
        QCOMPARE(e.snapshot().predictBusyNs, ms(300));
    }

    void raisingMinReplicasColdStarts()
    {
        Scenario s = singleReplica(1, 1, 0, 1000, 0);
        s.deployment.maxReplicas = 2;
        s.deployment.coldStartS = 0.25;
        Engine e(s);
        Recorder rec;
        rec.attach(e);
        e.submit(0);
        e.submit(0);
        QCOMPARE(e.setReplicaBounds(2, 2), std::string());
        QCOMPARE(e.snapshot().replicas[1].state, ReplicaState::ColdStarting);
        QCOMPARE(e.snapshot().queued, 1); // the new replica does not serve during its cold start
        e.runToCompletion();
        QCOMPARE(rec[1].replica, 1);
        QCOMPARE(rec[1].routed, ms(250));
    }

    void warmupIsLeftOutOfStatistics()
    {
        Scenario s = singleReplica(100, 100, 0, 10, 0);
        s.workload.arrival = ArrivalConfig::constantRate(100);
        s.workload.requests = 0;
        s.workload.durationS = 2;
        s.workload.warmupS = 1;
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        QCOMPARE(e.metrics().arrived, 200);
        QCOMPARE(e.metrics().completed, 200);
        QCOMPARE(e.metrics().measuredCompleted, 100);
        QCOMPARE(e.metrics().latency.count(), 100);
        QCOMPARE(e.metrics().measureStart, secondsToNanos(1));
    }

    void latencyCountsFromIntendedSendTime()
    {
        Engine e(singleReplica(1, 1, 0, 10, 0));
        Recorder rec;
        rec.attach(e);
        e.runUntil(ms(50));
        e.submit(ms(45)); // meant to be sent 5 ms ago: the client was late, the user still waited
        e.runToCompletion();
        QCOMPARE(rec[0].latency(), ms(15));
        QCOMPARE(e.metrics().latency.max(), ms(15));
        QCOMPARE(e.metrics().parts[int(Part::QueueWait)].max(), Nanos(0));
    }

    void constantRateIsEvenlySpaced()
    {
        Scenario s = singleReplica(100, 100, 0, 1, 0);
        s.workload.arrival = ArrivalConfig::constantRate(200);
        s.workload.requests = 10;
        Engine e(s);
        Recorder rec;
        rec.attach(e);
        e.startLoad();
        e.runToCompletion();
        for (std::uint64_t i = 0; i < 10; ++i)
            QCOMPARE(rec[i].intended, Nanos(i) * ms(5));
    }

    // A Poisson count over T seconds has mean and variance λT: within 4 standard deviations.
    void poissonRate()
    {
        Scenario s = singleReplica(1000, 1000, 0, 0, 0);
        s.workload.arrival = ArrivalConfig::poisson(500);
        s.workload.requests = 0;
        s.workload.durationS = 200;
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        const double expected = 500 * 200;
        QVERIFY2(std::abs(double(e.metrics().arrived) - expected) <= 4 * std::sqrt(expected),
                 qPrintable(QString::number(e.metrics().arrived)));
    }

    // Closed loop: at most N requests outstanding, and the interactive response time law
    // X = N / (R + Z) holds over the run.
    void closedLoopLaw()
    {
        Scenario s = singleReplica(2, 1, 1, 10, 1);
        s.model.predict = Distribution::exponential(10);
        s.workload.arrival = ArrivalConfig::closed(6, Distribution::exponential(20));
        s.workload.requests = 50'000;
        Engine e(s);
        e.startLoad();
        while (e.step()) {
            const auto snap = e.snapshot();
            QVERIFY(snap.queued + snap.held <= 6);
        }
        const RunMetrics& m = e.metrics();
        const double x = m.throughputRps();
        const double r = nanosToSeconds(Nanos(m.latency.mean()));
        const double law = 6.0 / (r + 0.020);
        QVERIFY2(std::abs(x - law) <= 0.02 * law, qPrintable(QString("X %1 vs N/(R+Z) %2").arg(x).arg(law)));
    }

    void closedLoopUsersCanShrinkAndGrow()
    {
        Scenario s = singleReplica(100, 100, 0, 10, 0);
        s.workload.arrival = ArrivalConfig::closed(8, Distribution::constant(0));
        s.workload.requests = 0;
        s.workload.durationS = 1;
        Engine e(s);
        e.startLoad();
        e.runUntil(ms(5));
        QCOMPARE(e.snapshot().held, 8);
        QCOMPARE(e.setUsers(2), std::string());
        e.runUntil(ms(15)); // the 8 in flight finish at 10 ms; only 2 users send again
        QCOMPARE(e.snapshot().held, 2);
        QCOMPARE(e.setUsers(5), std::string());
        QCOMPARE(e.snapshot().held, 2); // the three new users send at once, as events at now
        e.runUntil(ms(15));
        QCOMPARE(e.snapshot().held, 5);
        QVERIFY(!e.setArrivalRate(10).empty()); // a closed loop has no rate
    }

    void queueLimitRejects()
    {
        Scenario s = singleReplica(1, 1, 0, 100, 0);
        s.deployment.queueLimit = 2;
        Engine e(s);
        for (int i = 0; i < 5; ++i)
            e.submit(0);
        const auto snap = e.snapshot();
        QCOMPARE(snap.held, 1);
        QCOMPARE(snap.queued, 2);
        QCOMPARE(snap.rejected, 2);
        QCOMPARE(e.checkInvariants(), std::string());
    }

    void failedPredictEndsTheRequest()
    {
        Engine e(singleReplica(1, 1, 5, 10, 20));
        Recorder rec;
        rec.attach(e);
        e.submit(0, StageTimes{ms(5), ms(10), ms(20), true});
        e.submit(0);
        e.runToCompletion();
        QCOMPARE(rec[0].outcome, Outcome::Failed);
        QCOMPARE(rec[0].done, ms(15)); // no postprocess for a failed predict
        QCOMPARE(rec[1].routed, ms(15));
        QCOMPARE(e.metrics().failed, 1);
        QCOMPARE(e.metrics().latency.count(), 1); // failures are counted, not timed
    }

    void sameSeedSameRun_differentSeedDifferentRun()
    {
        auto runWith = [](std::uint64_t seed) {
            Scenario s = singleReplica(4, 2);
            s.model.preprocess = Distribution::exponential(4);
            s.model.predict = Distribution{Distribution::Kind::Lognormal, 10, 0.8, -1, {}, {}};
            s.model.postprocess = Distribution::exponential(2);
            s.workload.arrival = ArrivalConfig::poisson(150);
            s.workload.requests = 20'000;
            s.workload.seed = seed;
            Engine e(s);
            e.startLoad();
            e.runToCompletion();
            return std::tuple{e.metrics().latency.mean(), e.metrics().latency.quantile(0.99), e.now()};
        };
        QCOMPARE(runWith(42), runWith(42));
        QVERIFY(runWith(42) != runWith(43));
    }

    // Request #i costs the same under any knob setting, so two configurations differ only by what
    // the knobs do.
    void commonRandomNumbersAcrossKnobs()
    {
        auto times = [](int target) {
            Scenario s = singleReplica(target, 1);
            s.model.predict = Distribution::exponential(10);
            s.model.preprocess = Distribution::exponential(3);
            s.workload.arrival = ArrivalConfig::poisson(80);
            s.workload.requests = 500;
            Engine e(s);
            std::map<std::uint64_t, std::pair<Nanos, Nanos>> out;
            e.setObserver([&](const Request& r) { out[r.id] = {r.times.preprocess, r.times.predict}; });
            e.startLoad();
            e.runToCompletion();
            return out;
        };
        QCOMPARE(times(1), times(16));
    }

    void warningsFlagTargetBelowPredictConcurrency()
    {
        Engine e(singleReplica(4, 2));
        QVERIFY(e.warnings().empty());
        QCOMPARE(e.setPredictConcurrency(8), std::string()); // allowed ...
        QCOMPARE(e.warnings().size(), std::size_t(1));       // ... but flagged
        QVERIFY(QString::fromStdString(e.warnings()[0]).contains("never"));
    }

    void invalidScenarioIsRefused()
    {
        Scenario s = singleReplica(1, 1);
        s.deployment.minReplicas = 3; // min > max
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Engine{s});
    }

    void impossibleKnobsAreRefusedAndChangeNothing_data()
    {
        QTest::addColumn<int>("knob");
        QTest::addColumn<int>("value");
        QTest::addColumn<int>("value2");
        QTest::addRow("target 0") << 0 << 0 << 0;
        QTest::addRow("target above limit") << 0 << limits::kMaxConcurrency + 1 << 0;
        QTest::addRow("predict 0") << 1 << 0 << 0;
        QTest::addRow("min above max") << 2 << 3 << 2;
        QTest::addRow("max 0") << 2 << 0 << 0;
        QTest::addRow("negative min") << 2 << -1 << 1;
        QTest::addRow("rate 0") << 3 << 0 << 0;
        QTest::addRow("users in open loop") << 4 << 5 << 0;
    }
    void impossibleKnobsAreRefusedAndChangeNothing()
    {
        QFETCH(int, knob);
        QFETCH(int, value);
        QFETCH(int, value2);
        Engine e(singleReplica(2, 1));
        const auto before = e.scenario().deployment;
        std::string error;
        switch (knob) {
        case 0: error = e.setConcurrencyTarget(value); break;
        case 1: error = e.setPredictConcurrency(value); break;
        case 2: error = e.setReplicaBounds(value, value2); break;
        case 3: error = e.setArrivalRate(value); break;
        case 4: error = e.setUsers(value); break;
        }
        QVERIFY(!error.empty());
        const auto after = e.scenario().deployment;
        QCOMPARE(after.concurrencyTarget, before.concurrencyTarget);
        QCOMPARE(after.predictConcurrency, before.predictConcurrency);
        QCOMPARE(after.minReplicas, before.minReplicas);
        QCOMPARE(after.maxReplicas, before.maxReplicas);
    }
};

QTEST_GUILESS_MAIN(TestEngineSemantics)
#include "tst_engine_semantics.moc"
