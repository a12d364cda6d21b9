// Continuous batching (an LLM-style decode loop), replayed exactly: each step is one forward pass over
// the active sequences; sequences join and leave between steps; every active sequence emits a token
// per step; at most max_sequences are active; the first token's time is the time to first token, a
// step's length the inter-token latency; engine_max reports max_sequences to the concurrency modifier.
#include "test_support.h"

#include <QTest>

using namespace knee;
using namespace knee::test;

namespace {
Scenario decoding(int predictSlots, int maxSequences, double tokens)
{
    Scenario s = singleReplica(1000, predictSlots, 0, 0, 0);
    s.model.batching.mode = BatchingConfig::Mode::Continuous;
    s.model.batching.maxSequences = maxSequences;
    s.model.batching.outputTokens = Distribution::constant(tokens);
    s.model.predictTable = {{1, 2, 4}, {10, 12, 16}, "test"}; // step time by active sequences
    return s;
}
} // namespace

class TestContinuousBatching : public QObject {
    Q_OBJECT
private slots:
    void sequencesJoinBetweenStepsAndStreamTokens()
    {
        Engine e(decoding(8, 8, 3));
        Recorder rec;
        rec.attach(e);
        e.submit(0);       // A: alone, steps of 10 ms
        e.runUntil(ms(5));
        e.submit(ms(5));   // B: joins at the next step boundary (10 ms)
        e.runToCompletion();
        // A: steps [0,10] (alone), [10,22] and [22,34] (with B): tokens at 10, 22, 34.
        QCOMPARE(rec[0].firstToken, ms(10));
        QCOMPARE(rec[0].predictDone, ms(34));
        // B: joined at 10; tokens at 22, 34, then alone [34,44]: done at 44.
        QCOMPARE(rec[1].firstToken, ms(22));
        QCOMPARE(rec[1].predictDone, ms(44));
        const RunMetrics& m = e.metrics();
        QCOMPARE(m.timeToFirstToken.count(), 2);
        QCOMPARE(m.timeToFirstToken.max(), ms(17)); // B: meant at 5, first token at 22
        QCOMPARE(m.interToken.max(), ms(12));
        QCOMPARE(m.interToken.min(), ms(10));
        QCOMPARE(e.checkInvariants(), std::string());
    }

    // prefill_ms: a step in which sequences join is longer by prefill_ms for each of them, for every sequence in it.
    void prefillLengthensTheJoiningStep()
    {
        Scenario s = decoding(8, 8, 3);
        s.model.batching.prefillMs = 5;
        Engine e(s);
        Recorder rec;
        rec.attach(e);
        e.submit(0);       // A: joins the first step alone: 10 + 5 ms
        e.runUntil(ms(5));
        e.submit(ms(5));   // B: joins at the next boundary (15): 12 + 5 ms, for A too
        e.runToCompletion();
        // A: steps [0,15] (joining), [15,32] (B joins) and [32,44] (with B): tokens at 15, 32, 44.
        QCOMPARE(rec[0].firstToken, ms(15));
        QCOMPARE(rec[0].predictDone, ms(44));
        // B: joined at 15; tokens at 32, 44, then alone [44,54].
        QCOMPARE(rec[1].firstToken, ms(32));
        QCOMPARE(rec[1].predictDone, ms(54));
        QCOMPARE(e.metrics().interToken.max(), ms(17));
        QCOMPARE(e.checkInvariants(), std::string());
    }

    void maxSequencesBoundsTheDecodeLoop()
    {
        Engine e(decoding(8, 2, 1));
        Recorder rec;
        rec.attach(e);
        for (int i = 0; i < 4; ++i)
            e.submit(0);
        e.runUntil(0);
        QCOMPARE(e.snapshot().replicas[0].inPredict, 4); // all inside predict (predict_concurrency 8) ...
        e.runToCompletion();
        // ... but the loop never holds more than two. The idle loop starts its step once the instant's
        // arrivals are in, so A and B join it [0, 12]; C and D wait for places and join at 12 [12, 24].
        QCOMPARE(rec[0].predictDone, ms(12));
        QCOMPARE(rec[1].predictDone, ms(12));
        QCOMPARE(rec[2].predictDone, ms(24));
        QCOMPARE(rec[3].firstToken, ms(24));
        QCOMPARE(e.checkInvariants(), std::string());
    }

    // Requests ready at one instant share an idle loop's first step, wherever they are in the instant's
    // events; one ready a nanosecond later waits for the next boundary.
    void sequencesReadyTogetherShareTheFirstStep()
    {
        Engine e(decoding(8, 4, 1));
        Recorder rec;
        rec.attach(e);
        e.submit(0);
        e.submit(0);
        e.runUntil(1);
        e.submit(1); // 1 ns later: the step has started
        e.runToCompletion();
        QCOMPARE(rec[0].firstToken, ms(12)); // two sequences: 12 ms
        QCOMPARE(rec[1].firstToken, ms(12));
        QCOMPARE(rec[2].firstToken, ms(22)); // joins at 12, alone: 10 ms
        QCOMPARE(e.checkInvariants(), std::string());
    }

    void engineMaxReportsTheSequenceBudget()
    {
        Scenario s = decoding(64, 6, 4);
        s.deployment.modifier.kind = ConcurrencyModifierConfig::Kind::EngineMax; // lambda x: engine.max_concurrency
        s.deployment.modifier.engineMax = 0;
        QCOMPARE(s.validate(), std::string());
        Engine e(s);
        for (int i = 0; i < 10; ++i)
            e.submit(0);
        QCOMPARE(e.snapshot().replicas[0].limit, 6);
        QCOMPARE(e.snapshot().held, 6);
        QCOMPARE(e.snapshot().queued, 4);
    }

    void conservationUnderLoad()
    {
        Scenario s = decoding(16, 8, 0);
        s.model.batching.outputTokens = Distribution{Distribution::Kind::Lognormal, 40, 0.6, -1, {}, {}};
        s.model.predictFailureRate = 0.01;
        s.deployment.concurrencyTarget = 24;
        s.workload.arrival = ArrivalConfig::poisson(30);
        s.workload.requests = 5'000;
        Engine e(s);
        e.startLoad();
        while (e.step())
            QCOMPARE(e.checkInvariants(), std::string());
        QCOMPARE(e.metrics().completed + e.metrics().failed, std::int64_t(5'000));
        QVERIFY(e.metrics().interToken.count() > 100'000);
    }
};

QTEST_GUILESS_MAIN(TestContinuousBatching)
#include "tst_continuous_batching.moc"
