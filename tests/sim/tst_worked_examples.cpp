// The worked examples of docs/DESIGN.md §1, replayed exactly in virtual time.
// Example 2 (the queue makes the autoscaler add a replica after its cold start) needs the
// autoscaler and is covered with it (issue "Autoscaler, traffic patterns and the replica plan").
#include "test_support.h"

#include "study/replica_plan.h"

#include <QTest>

using namespace knee;
using namespace knee::test;

class TestWorkedExamples : public QObject {
    Q_OBJECT
private slots:
    // Example 1 (seed 002): 1 replica, target 2, 5 requests at t=0: 2 dispatched, 3 queued; as each
    // finishes, the next enters.
    void example1_targetTwoFiveRequests()
    {
        Engine engine(singleReplica(/*target=*/2, /*predict_concurrency=*/2, 0, 100, 0));
        Recorder rec;
        rec.attach(engine);
        for (int i = 0; i < 5; ++i)
            engine.submit(0);

        EngineSnapshot s = engine.snapshot();
        QCOMPARE(s.held, 2);
        QCOMPARE(s.queued, 3);
        QCOMPARE(s.replicas.size(), std::size_t(1));
        QCOMPARE(s.replicas[0].held, 2);

        engine.runUntil(ms(100)); // the first two finish at 100 ms and the next two enter at once
        s = engine.snapshot();
        QCOMPARE(s.completed, 2);
        QCOMPARE(s.held, 2);
        QCOMPARE(s.queued, 1);

        engine.runToCompletion();
        QCOMPARE(rec.done.size(), std::size_t(5));
        const Nanos expectedRouted[] = {0, 0, ms(100), ms(100), ms(200)};
        const Nanos expectedDone[] = {ms(100), ms(100), ms(200), ms(200), ms(300)};
        for (std::uint64_t i = 0; i < 5; ++i) {
            QCOMPARE(rec[i].routed, expectedRouted[i]);
            QCOMPARE(rec[i].done, expectedDone[i]);
            QCOMPARE(rec[i].outcome, Outcome::Completed);
        }
        QCOMPARE(engine.checkInvariants(), std::string());
    }

    // Example 3 (seed 002, steps 1–5): target 2, predict_concurrency 1, 5 requests. Both held
    // requests preprocess at once; the first to finish preprocess enters predict, the other waits
    // for the slot; the first moves to postprocess while the second starts predict; postprocess
    // overlaps with the other's predict.
    void example3_predictSlotSteps()
    {
        Engine engine(singleReplica(2, 1));
        Recorder rec;
        rec.attach(engine);
        // A: pre 10, predict 30, post 20.  B: pre 15, predict 30, post 5.  C, D, E: 10 / 30 / 10.
        engine.submit(0, StageTimes{ms(10), ms(30), ms(20), false});
        engine.submit(0, StageTimes{ms(15), ms(30), ms(5), false});
        for (int i = 0; i < 3; ++i)
            engine.submit(0, StageTimes{ms(10), ms(30), ms(10), false});

        // Step 1–2: two enter, both preprocess at once.
        auto rep = [&] { return engine.snapshot().replicas.at(0); };
        QCOMPARE(rep().preprocessing, 2);
        QCOMPARE(engine.snapshot().queued, 3);

        // Step 3: A finishes preprocess at 10 ms and enters predict; B finishes at 15 ms and waits.
        engine.runUntil(ms(10));
        QCOMPARE(rep().inPredict, 1);
        QCOMPARE(rep().preprocessing, 1);
        engine.runUntil(ms(15));
        QCOMPARE(rep().inPredict, 1);
        QCOMPARE(rep().waitingForPredict, 1);

        // Step 4: A leaves predict at 40 ms for postprocess; B starts predict at once.
        engine.runUntil(ms(40));
        QCOMPARE(rep().postprocessing, 1);
        QCOMPARE(rep().inPredict, 1);
        QCOMPARE(rep().waitingForPredict, 0);

        // A's postprocess (40–60) overlaps B's predict (40–70); A's response frees a place, C enters at 60.
        engine.runToCompletion();
        const Request &a = rec[0], &b = rec[1], &c = rec[2];
        QCOMPARE(a.preprocessDone, ms(10));
        QCOMPARE(a.predictStart, ms(10));
        QCOMPARE(a.predictDone, ms(40));
        QCOMPARE(a.done, ms(60));
        QCOMPARE(b.preprocessDone, ms(15));
        QCOMPARE(b.predictStart, ms(40)); // waited 25 ms for the slot
        QCOMPARE(b.predictDone, ms(70));
        // Step 5: B goes straight to postprocess although A's postprocess ran until 60.
        QCOMPARE(b.done, ms(75));
        QVERIFY(a.done > b.predictStart && a.done < b.predictDone); // the overlap
        QCOMPARE(c.routed, ms(60));
        QCOMPARE(c.predictStart, ms(70)); // C finished preprocess at 70, the slot freed at 70
        QCOMPARE(rec[3].routed, ms(75));  // D takes B's place when B responds
        QCOMPARE(rec.done.size(), std::size_t(5));
        QCOMPARE(engine.checkInvariants(), std::string());
    }

    // Example 4 (seed 000): 10 req/s per replica at target 32, baseline 25, peak 80, buffer 2 → 4 and 10.
    void example4_replicaPlan()
    {
        const ReplicaPlan plan = planReplicas({10.0, 25.0, 80.0, 2, 1});
        QCOMPARE(plan.error, std::string());
        QCOMPARE(plan.minReplicas, 4);
        QCOMPARE(plan.maxReplicas, 10);
        QCOMPARE(plan.minRule, std::string("ceil(25 / 10) + 1 = 4"));
        QCOMPARE(plan.maxRule, std::string("ceil(80 / 10) + 2 = 10"));
    }

    void replicaPlan_rounding_data()
    {
        QTest::addColumn<double>("throughput");
        QTest::addColumn<double>("baseline");
        QTest::addColumn<double>("peak");
        QTest::addColumn<int>("expectedMin");
        QTest::addColumn<int>("expectedMax");
        QTest::addRow("exact multiples stay") << 10.0 << 20.0 << 80.0 << 3 << 10;
        QTest::addRow("fraction rounds up") << 10.0 << 20.1 << 80.1 << 4 << 11;
        QTest::addRow("no traffic keeps redundancy") << 10.0 << 0.0 << 0.0 << 1 << 2;
    }
    void replicaPlan_rounding()
    {
        QFETCH(double, throughput);
        QFETCH(double, baseline);
        QFETCH(double, peak);
        QFETCH(int, expectedMin);
        QFETCH(int, expectedMax);
        const ReplicaPlan plan = planReplicas({throughput, baseline, peak, 2, 1});
        QCOMPARE(plan.minReplicas, expectedMin);
        QCOMPARE(plan.maxReplicas, expectedMax);
    }

    void replicaPlan_badInput_data()
    {
        QTest::addColumn<double>("throughput");
        QTest::addColumn<double>("baseline");
        QTest::addColumn<double>("peak");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("zero throughput") << 0.0 << 1.0 << 2.0 << "throughput per replica";
        QTest::addRow("nan throughput") << qQNaN() << 1.0 << 2.0 << "throughput per replica";
        QTest::addRow("negative baseline") << 10.0 << -1.0 << 2.0 << "finite and >= 0";
        QTest::addRow("peak below baseline") << 10.0 << 50.0 << 20.0 << "below the baseline";
        QTest::addRow("absurd peak") << 1e-6 << 1.0 << 1e6 << "more than";
    }
    void replicaPlan_badInput()
    {
        QFETCH(double, throughput);
        QFETCH(double, baseline);
        QFETCH(double, peak);
        QFETCH(QString, fragment);
        const ReplicaPlan plan = planReplicas({throughput, baseline, peak, 2, 1});
        QVERIFY2(QString::fromStdString(plan.error).contains(fragment), plan.error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestWorkedExamples)
#include "tst_worked_examples.moc"
