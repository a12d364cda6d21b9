// The engine's parts on their own (issue 14): the replica table's rules (routing to the least-loaded
// replica, the replica to remove, slots reused), the concurrency modifier's limit and what it learns,
// the autoscaler's tick chain, and a knob move as the live host shows it against what the engine does.
#include "test_support.h"

#include "sim/concurrency_modifier.h"
#include "sim/replica_set.h"
#include "sim/scaling_loop.h"

#include <QTest>

#include <limits>

using namespace knee;

Q_DECLARE_METATYPE(knee::KnobMove)
Q_DECLARE_METATYPE(knee::Scenario)

namespace {
Replica& added(ReplicaSet& set, ReplicaState state, int held)
{
    const int i = set.add(0);
    set[i].state = state;
    set[i].held = held;
    return set[i];
}
} // namespace

class TestEngineParts : public QObject {
    Q_OBJECT
private slots:
    void routingPicksTheLeastLoadedBelowItsLimit()
    {
        ReplicaSet set;
        added(set, ReplicaState::Ready, 3);
        added(set, ReplicaState::Ready, 1);
        added(set, ReplicaState::ColdStarting, 0); // takes nothing yet
        added(set, ReplicaState::Ready, 1);        // a tie with slot 1: the lower slot wins
        added(set, ReplicaState::Draining, 0);     // takes nothing new
        QCOMPARE(set.leastLoaded([](const Replica&) { return 4; }), 1);
        QCOMPARE(set.leastLoaded([](const Replica& r) { return r.id == 1 ? 1 : 4; }), 3); // slot 1 is full
        QCOMPARE(set.leastLoaded([](const Replica&) { return 1; }), -1);                 // everyone full
        QCOMPARE(set.active(), 4);
        QCOMPARE(set.ready(), 3);
    }

    void victimIsTheNewestColdStartThenTheLeastLoaded()
    {
        ReplicaSet set;
        added(set, ReplicaState::Ready, 2);        // id 0
        added(set, ReplicaState::Ready, 0);        // id 1
        added(set, ReplicaState::Ready, 0);        // id 2: newest of the idle two
        added(set, ReplicaState::ColdStarting, 0); // id 3
        added(set, ReplicaState::ColdStarting, 0); // id 4: newest cold start
        QCOMPARE(set[set.victim()].id, 4);
        set[4].state = ReplicaState::Removed;
        QCOMPARE(set[set.victim()].id, 3);
        set[3].state = ReplicaState::Removed;
        QCOMPARE(set[set.victim()].id, 2);
        // A removed replica's slot is reused, with a new id.
        const int again = set.add(7);
        QCOMPARE(again, 3);
        QCOMPARE(set[again].id, 5);
        QCOMPARE(set[again].provisionedAt, Nanos(7));
        ReplicaSet empty;
        QCOMPARE(empty.victim(), -1);
    }

    void modifierLimits_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("expected");
        QTest::addRow("none: the target") << int(ConcurrencyModifierConfig::Kind::None) << 8;
        QTest::addRow("fixed 3") << int(ConcurrencyModifierConfig::Kind::Fixed) << 3;
        QTest::addRow("engine_max without a value: the decode loop's 5") << int(ConcurrencyModifierConfig::Kind::EngineMax) << 5;
        QTest::addRow("adaptive at 6.7: 6") << int(ConcurrencyModifierConfig::Kind::Adaptive) << 6;
    }
    void modifierLimits()
    {
        QFETCH(int, kind);
        QFETCH(int, expected);
        DeploymentConfig d;
        d.concurrencyTarget = 8;
        d.modifier.kind = ConcurrencyModifierConfig::Kind(kind);
        d.modifier.fixed = 3;
        Replica r;
        r.adaptiveLimit = 6.7;
        QCOMPARE(replicaLimit(d, 5, r), expected);
    }

    // The adaptive limit grows while latency stays near the best seen, and shrinks when it climbs.
    void adaptiveLimitLearnsFromLatency()
    {
        DeploymentConfig d;
        d.concurrencyTarget = 1000;
        d.modifier.kind = ConcurrencyModifierConfig::Kind::Adaptive;
        Replica r;
        r.adaptiveLimit = d.modifier.initialLimit;
        const double start = r.adaptiveLimit;
        for (int i = 0; i < 50; ++i)
            learnReplicaLimit(d, 64, r, msToNanos(10));
        const double grown = r.adaptiveLimit;
        QVERIFY(grown > start);
        for (int i = 0; i < 50; ++i)
            learnReplicaLimit(d, 64, r, msToNanos(100));
        QVERIFY(r.adaptiveLimit < grown);
        QVERIFY(r.adaptiveLimit >= d.modifier.minLimit);
    }

    // One tick chain: a tick is asked for once until it is decided; a new autoscaler makes the old
    // chain's tick stale; policy none has no ticks at all.
    void tickChain()
    {
        AutoscalerConfig a;
        a.policy = AutoscalerConfig::Policy::Baseten;
        ScalingLoop loop(a, 0);
        const auto first = loop.nextTick(0);
        QVERIFY(first.has_value());
        QCOMPARE(*first, secondsToNanos(a.evaluationIntervalS));
        QVERIFY(!loop.nextTick(1).has_value()); // already pending
        const std::uint32_t old = loop.generation();
        QVERIFY(loop.current(old));
        loop.set(a, 5, 0);
        QVERIFY(!loop.current(old));
        QVERIFY(loop.nextTick(5).has_value()); // the new chain
        loop.decide(*first, Autoscaler::Inputs{1, 1, 4, 1, 4});
        QVERIFY(loop.keepTicking(true, 1, 1)); // traffic: keep deciding
        AutoscalerConfig none;
        loop.set(none, 10, 0);
        QVERIFY(!loop.autoscaler());
        QVERIFY(!loop.nextTick(10).has_value());
        QVERIFY(!loop.current(loop.generation()));
    }

    // Without traffic, deciding stops once nothing changed for longer than every delay of the policy.
    void quietLoopSettles()
    {
        AutoscalerConfig a;
        a.policy = AutoscalerConfig::Policy::Baseten;
        a.windowS = 10;
        a.scaleDownDelayS = 0;
        ScalingLoop loop(a, 0);
        int ticks = 0;
        Nanos t = 0;
        bool keep = true;
        while (keep && ticks < 10'000) {
            t += secondsToNanos(a.evaluationIntervalS);
            const int desired = loop.decide(t, Autoscaler::Inputs{2, 2, 4, 1, 4});
            keep = loop.keepTicking(false, desired, 1);
            ++ticks;
        }
        QVERIFY2(!keep, "a quiet loop must settle");
        QVERIFY(ticks < 100);
    }

    void knobMove_data()
    {
        QTest::addColumn<KnobMove>("move");
        QTest::addColumn<QString>("refusal"); // empty: accepted
        QTest::addColumn<Scenario>("after");  // the knobs once it is applied
        const Scenario start = test::singleReplica(4, 2);
        auto with = [&](auto change) {
            Scenario s = start;
            change(s.deployment, s.workload.arrival);
            return s;
        };
        AutoscalerConfig baseten;
        baseten.policy = AutoscalerConfig::Policy::Baseten;
        baseten.targetUtilization = 0.5;
        AutoscalerConfig noUtilization = baseten;
        noUtilization.targetUtilization = 0;
        const QString unchanged;
        QTest::newRow("target") << KnobMove(knob::ConcurrencyTarget{8}) << unchanged
                                << with([](DeploymentConfig& d, ArrivalConfig&) { d.concurrencyTarget = 8; });
        QTest::newRow("target 0") << KnobMove(knob::ConcurrencyTarget{0}) << "concurrency target must be between 1 and 100000, got 0" << start;
        QTest::newRow("predict_concurrency") << KnobMove(knob::PredictConcurrency{3}) << unchanged
                                             << with([](DeploymentConfig& d, ArrivalConfig&) { d.predictConcurrency = 3; });
        QTest::newRow("bounds") << KnobMove(knob::ReplicaBounds{0, 3}) << unchanged << with([](DeploymentConfig& d, ArrivalConfig&) {
            d.minReplicas = 0;
            d.maxReplicas = 3;
        });
        QTest::newRow("bounds crossed") << KnobMove(knob::ReplicaBounds{3, 2}) << "min replicas (3) cannot exceed max replicas (2)" << start;
        QTest::newRow("rate") << KnobMove(knob::ArrivalRate{40}) << unchanged << with([](DeploymentConfig&, ArrivalConfig& a) { a.rateRps = 40; });
        QTest::newRow("rate NaN") << KnobMove(knob::ArrivalRate{std::numeric_limits<double>::quiet_NaN()})
                                  << "arrival rate must be > 0 and <= 1e7 requests/s" << start;
        QTest::newRow("users on an open loop") << KnobMove(knob::Users{10})
                                               << "the workload is open-loop: set an arrival rate instead of users" << start;
        QTest::newRow("autoscaler") << KnobMove(knob::AutoscalerSetting{baseten}) << unchanged
                                    << with([&](DeploymentConfig& d, ArrivalConfig&) { d.autoscaler = baseten; });
        QTest::newRow("autoscaler aiming at 0 %") << KnobMove(knob::AutoscalerSetting{noUtilization})
                                                  << "autoscaling.target_utilization must be between 1 % and 100 %" << start;
        QTest::newRow("cold start") << KnobMove(knob::ColdStart{30}) << unchanged
                                    << with([](DeploymentConfig& d, ArrivalConfig&) { d.coldStartS = 30; });
        QTest::newRow("cold start negative") << KnobMove(knob::ColdStart{-1}) << "cold start must be between 0 and 86400 seconds" << start;
    }

    // The live host judges a move with checkKnob and shows it with writeKnob on its copy of the scenario;
    // the engine applies the same value. All three must agree, in the refusal's words and in the knobs.
    void knobMove()
    {
        QFETCH(KnobMove, move);
        QFETCH(QString, refusal);
        QFETCH(Scenario, after);
        const Scenario start = test::singleReplica(4, 2);
        QCOMPARE(QString::fromStdString(checkKnob(start, move)), refusal);
        Scenario shown = start;
        if (refusal.isEmpty())
            writeKnob(shown, move);
        Engine engine(start);
        QCOMPARE(QString::fromStdString(engine.applyKnob(move)), refusal);
        for (const Scenario* s : {static_cast<const Scenario*>(&shown), &engine.scenario()}) {
            const DeploymentConfig& got = s->deployment;
            const DeploymentConfig& want = after.deployment;
            QCOMPARE(got.concurrencyTarget, want.concurrencyTarget);
            QCOMPARE(got.predictConcurrency, want.predictConcurrency);
            QCOMPARE(got.minReplicas, want.minReplicas);
            QCOMPARE(got.maxReplicas, want.maxReplicas);
            QCOMPARE(got.coldStartS, want.coldStartS);
            QCOMPARE(got.autoscaler.policy, want.autoscaler.policy);
            QCOMPARE(got.autoscaler.targetUtilization, want.autoscaler.targetUtilization);
            QCOMPARE(s->workload.arrival.rateRps, after.workload.arrival.rateRps);
            QCOMPARE(s->workload.arrival.users, after.workload.arrival.users);
        }
    }
};

QTEST_GUILESS_MAIN(TestEngineParts)
#include "tst_engine_parts.moc"
