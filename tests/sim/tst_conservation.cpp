// Conservation under thousands of random knob changes: after every event, arrived = completed +
// failed + rejected + queued + held; no request is lost, duplicated, or admitted beyond the
// concurrency target (or into predict beyond predict_concurrency) in force at that moment.
#include "test_support.h"

#include <QTest>

#include <map>

using namespace knee;
using namespace knee::test;

namespace {
// What both tests share: up to 3 replicas (2 at the start) under Baseten's autoscaler or none, and a closed
// loop or a Poisson load; the tests set the rest.
Scenario churnScenario(bool closedLoop, int users, double rate, std::int64_t requests, std::uint64_t seed)
{
    Scenario s;
    s.deployment.minReplicas = 1;
    s.deployment.maxReplicas = 3;
    s.deployment.initialReplicas = 2;
    s.deployment.autoscaler.evaluationIntervalS = 0.5;
    s.deployment.autoscaler.windowS = 10;
    s.workload.arrival = closedLoop ? ArrivalConfig::closed(users, Distribution::exponential(5)) : ArrivalConfig::poisson(rate);
    s.workload.requests = requests;
    s.workload.seed = seed;
    return s;
}

// Random knob moves drawn from a seeded stream; each returns what the engine said (empty: accepted).
struct KnobMoves {
    Rng rng;
    int pick(int lo, int hi) { return lo + int(rng.next() % std::uint64_t(hi - lo + 1)); }
    std::string predictConcurrency(Engine& e, int hi) { return e.setPredictConcurrency(pick(1, hi)); }
    std::string replicaBounds(Engine& e)
    {
        const int mn = pick(0, 3);
        return e.setReplicaBounds(mn, std::max(1, mn + pick(0, 2)));
    }
    std::string load(Engine& e, bool closedLoop, int maxUsers)
    {
        return closedLoop ? e.setUsers(pick(1, maxUsers)) : e.setArrivalRate(50.0 * pick(1, 12));
    }
};
} // namespace

class TestConservation : public QObject {
    Q_OBJECT
private slots:
    void randomKnobChanges_data()
    {
        QTest::addColumn<bool>("closedLoop");
        QTest::addColumn<double>("coldStartS");
        QTest::addColumn<qint64>("queueLimit");
        QTest::addColumn<double>("failureRate");
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<int>("policy");
        QTest::addColumn<int>("modifier");
        const int none = 0, baseten = int(AutoscalerConfig::Policy::Baseten), knative = int(AutoscalerConfig::Policy::Knative);
        const int adaptive = int(ConcurrencyModifierConfig::Kind::Adaptive), fixed = int(ConcurrencyModifierConfig::Kind::Fixed);
        QTest::addRow("open loop, instant replicas") << false << 0.0 << qint64(0) << 0.0 << quint64(1) << none << none;
        QTest::addRow("open loop, cold starts") << false << 0.5 << qint64(0) << 0.0 << quint64(2) << none << none;
        QTest::addRow("open loop, bounded queue, failures") << false << 0.2 << qint64(20) << 0.05 << quint64(3) << none << none;
        QTest::addRow("closed loop, cold starts") << true << 0.3 << qint64(0) << 0.0 << quint64(4) << none << none;
        QTest::addRow("closed loop, bounded queue, failures") << true << 0.0 << qint64(5) << 0.1 << quint64(5) << none << none;
        QTest::addRow("open loop, baseten autoscaler") << false << 0.5 << qint64(0) << 0.0 << quint64(6) << baseten << none;
        QTest::addRow("closed loop, knative autoscaler, failures") << true << 0.3 << qint64(0) << 0.05 << quint64(7) << knative << none;
        QTest::addRow("open loop, autoscaler, adaptive limit") << false << 0.2 << qint64(50) << 0.0 << quint64(8) << baseten << adaptive;
        QTest::addRow("closed loop, fixed modifier") << true << 0.0 << qint64(0) << 0.0 << quint64(9) << none << fixed;
    }

    // The same, with the predict stage batching: calls that end, replicas removed and their slots reused
    // while a batch waits or a decode loop runs. checkInvariants also says whether a loop stalled.
    void randomKnobChangesBatching_data()
    {
        QTest::addColumn<int>("mode");
        QTest::addColumn<bool>("closedLoop");
        QTest::addColumn<quint64>("seed");
        QTest::addColumn<bool>("engineThread");
        const int none = int(BatchingConfig::Mode::None), dynamic = int(BatchingConfig::Mode::Dynamic),
                  continuous = int(BatchingConfig::Mode::Continuous);
        QTest::addRow("dynamic, open loop") << dynamic << false << quint64(11) << false;
        QTest::addRow("dynamic, closed loop") << dynamic << true << quint64(12) << false;
        QTest::addRow("continuous, open loop") << continuous << false << quint64(13) << false;
        QTest::addRow("continuous, closed loop") << continuous << true << quint64(14) << false;
        // A measured table whose calls queue for the live engine's one thread (two local devices), with an idle
        // curve whose jitter can draw below the call's whole time off the device (clamped there).
        QTest::addRow("no batching, engine thread") << none << false << quint64(15) << true;
        QTest::addRow("dynamic, engine thread") << dynamic << true << quint64(16) << true;
        QTest::addRow("continuous, engine thread") << continuous << false << quint64(17) << true;
    }
    void randomKnobChangesBatching()
    {
        QFETCH(int, mode);
        QFETCH(bool, closedLoop);
        QFETCH(quint64, seed);
        QFETCH(bool, engineThread);
        Scenario s = churnScenario(closedLoop, 16, 400, 20'000, seed);
        s.deployment.concurrencyTarget = 8;
        s.deployment.predictConcurrency = 4;
        s.deployment.coldStartS = 0.3;
        s.deployment.autoscaler.policy = AutoscalerConfig::Policy::Baseten;
        s.deployment.autoscaler.scaleDownDelayS = 2;
        s.model.preprocess = Distribution::exponential(2);
        s.model.predict = Distribution::exponential(6);
        s.model.postprocess = Distribution::exponential(1);
        s.model.batching.mode = BatchingConfig::Mode(mode);
        s.model.batching.maxBatch = 4;
        s.model.batching.maxDelayMs = 2;
        s.model.batching.maxSequences = 6;
        s.model.batching.outputTokens = Distribution::exponential(8);
        if (engineThread) {
            s.deployment.devices = 2;
            s.model.predictTable.batch = {1, 4};
            s.model.predictTable.ms = {6, 9};
            s.model.predictTable.overheadMs = 0.2;
            s.model.predictTable.engineThreadMs = 1;
            s.model.predictTable.idleGapMs = {0.5, 5};
            s.model.predictTable.idleExtraMs = {0.2, 1};
            s.model.predictTable.idleJitterMs = {-2, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 3};
            s.model.predictTable.idleJitterFromMs = 0.5;
        }
        QCOMPARE(QString::fromStdString(s.validate()), QString());

        Engine engine(s);
        engine.startLoad();
        KnobMoves knobs{Rng(seed * 977)};
        std::int64_t steps = 0;
        int changes = 0;
        while (engine.step()) {
            ++steps;
            const std::string broken = engine.checkInvariants();
            QVERIFY2(broken.empty(), broken.c_str());
            if (steps % 25 == 0 && engine.now() < secondsToNanos(40)) {
                ++changes;
                switch (knobs.pick(0, 2)) {
                case 0: QCOMPARE(knobs.predictConcurrency(engine, 6), std::string()); break;
                case 1: QCOMPARE(knobs.replicaBounds(engine), std::string()); break;
                case 2: QCOMPARE(knobs.load(engine, closedLoop, 30), std::string()); break;
                }
            }
        }
        QVERIFY2(changes >= 500, qPrintable(QString("only %1 knob changes").arg(changes)));
        const RunMetrics& m = engine.metrics();
        QCOMPARE(m.arrived, s.workload.requests);
        QCOMPARE(m.completed + m.failed + m.rejected, m.arrived);
        QVERIFY(m.completed > 0);
    }
    void randomKnobChanges()
    {
        QFETCH(bool, closedLoop);
        QFETCH(double, coldStartS);
        QFETCH(qint64, queueLimit);
        QFETCH(double, failureRate);
        QFETCH(quint64, seed);
        QFETCH(int, policy);
        QFETCH(int, modifier);

        Scenario s = churnScenario(closedLoop, 12, 300, 30'000, seed);
        s.deployment.concurrencyTarget = 4;
        s.deployment.predictConcurrency = 2;
        s.deployment.coldStartS = coldStartS;
        s.deployment.queueLimit = queueLimit;
        s.deployment.autoscaler.policy = AutoscalerConfig::Policy(policy);
        s.deployment.autoscaler.scaleDownDelayS = 5;
        s.deployment.modifier.kind = ConcurrencyModifierConfig::Kind(modifier);
        s.deployment.modifier.fixed = 3;
        s.model.preprocess = Distribution::exponential(4);
        s.model.predict = Distribution::exponential(10);
        s.model.postprocess = Distribution::exponential(2);
        s.model.predictFailureRate = failureRate;
        QCOMPARE(s.validate(), std::string());

        Engine engine(s);
        std::map<std::uint64_t, int> ended;
        engine.setObserver([&](const Request& r) { ++ended[r.id]; });
        engine.startLoad();

        KnobMoves knobs{Rng(seed * 977)};
        std::map<std::int32_t, std::pair<int, int>> before; // replica id → (held, inPredict)
        int changes = 0;
        std::int64_t steps = 0;
        while (engine.step()) {
            ++steps;
            const EngineSnapshot snap = engine.snapshot();
            const std::string broken = engine.checkInvariants();
            QVERIFY2(broken.empty(), broken.c_str());
            // Independent of the engine's own bookkeeping: a replica's hold or predict count may only
            // have grown in this step up to the knob in force (knobs change only between steps).
            for (const ReplicaSnapshot& r : snap.replicas) {
                const auto [heldBefore, predictBefore] = before.count(r.id) ? before[r.id] : std::pair{0, 0};
                if (r.held > heldBefore) {
                    QVERIFY2(r.held <= snap.concurrencyTarget, "admitted beyond the concurrency target");
                    QVERIFY2(r.held <= r.limit, "admitted beyond what the concurrency modifier allows");
                }
                if (r.inPredict > predictBefore)
                    QVERIFY2(r.inPredict <= snap.predictConcurrency, "entered predict beyond predict_concurrency");
                QVERIFY(r.state != ReplicaState::ColdStarting || r.held == 0);
            }
            before.clear();
            for (const ReplicaSnapshot& r : snap.replicas)
                before[r.id] = {r.held, r.inPredict};

            if (steps % 20 == 0 && engine.now() < secondsToNanos(60)) {
                ++changes;
                switch (knobs.pick(0, 4)) {
                case 0: QCOMPARE(engine.setConcurrencyTarget(knobs.pick(1, 8)), std::string()); break;
                case 1: QCOMPARE(knobs.predictConcurrency(engine, 8), std::string()); break;
                case 2: QCOMPARE(knobs.replicaBounds(engine), std::string()); break;
                case 3: QCOMPARE(knobs.load(engine, closedLoop, 40), std::string()); break;
                case 4: // impossible combinations are refused and change nothing
                    QVERIFY(!engine.setReplicaBounds(3, 2).empty());
                    QVERIFY(!engine.setConcurrencyTarget(0).empty());
                    QVERIFY(!engine.setPredictConcurrency(-1).empty());
                    break;
                }
            }
        }
        QVERIFY2(changes >= 2000, qPrintable(QString("only %1 knob changes").arg(changes)));

        // Drained: every request that arrived ended exactly once, and the counts add up.
        const RunMetrics& m = engine.metrics();
        QCOMPARE(m.arrived, s.workload.requests);
        QCOMPARE(m.completed + m.failed + m.rejected, m.arrived);
        QCOMPARE(std::int64_t(ended.size()), m.arrived);
        for (const auto& [id, times] : ended)
            QVERIFY2(times == 1, qPrintable(QString("request %1 ended %2 times").arg(id).arg(times)));
        QCOMPARE(ended.rbegin()->first, std::uint64_t(m.arrived - 1));
        QCOMPARE(engine.overAdmissions(), std::int64_t(0));
        if (failureRate > 0)
            QVERIFY(m.failed > 0);
        if (queueLimit > 0)
            QVERIFY(m.rejected > 0);
    }
};

QTEST_GUILESS_MAIN(TestConservation)
#include "tst_conservation.moc"
