// Every run ends, in bounded memory, whatever the workload asks for (issue 12, item 7): a vanishing
// rate with a request count stops at the one-year limit of simulated time; an open loop far beyond
// capacity stops sending at the memory budget for queued requests. Both say so in words.
#include "test_support.h"

#include <QTest>

using namespace knee;
using namespace knee::test;

namespace {
const Nanos kYear = secondsToNanos(limits::kMaxDurationS);

bool mentions(const std::vector<std::string>& reasons, const char* words)
{
    for (const auto& r : reasons)
        if (r.find(words) != std::string::npos)
            return true;
    return false;
}
} // namespace

class TestRunLimits : public QObject {
    Q_OBJECT
private slots:
    // A step down to a rate that never sends again (and a fixed rate far too low for the count):
    // the run ends within the year, with fewer requests than asked, and says why.
    void vanishingRateStopsAtTheYear_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<double>("rate");
        QTest::addRow("step to 1e-320") << int(ArrivalConfig::Kind::Step) << 1e-320;
        QTest::addRow("step to 1e-5") << int(ArrivalConfig::Kind::Step) << 1e-5;
        QTest::addRow("spike base 1e-300") << int(ArrivalConfig::Kind::Spike) << 1e-300;
        QTest::addRow("poisson 1e-5") << int(ArrivalConfig::Kind::Poisson) << 1e-5;
        QTest::addRow("constant 1e-7") << int(ArrivalConfig::Kind::Constant) << 1e-7;
    }
    void vanishingRateStopsAtTheYear()
    {
        QFETCH(int, kind);
        QFETCH(double, rate);
        Scenario s = singleReplica(4, 1, 0, 10);
        ArrivalConfig& a = s.workload.arrival;
        a.kind = ArrivalConfig::Kind(kind);
        switch (a.kind) {
        case ArrivalConfig::Kind::Step: a.rateRps = 100; a.steps = {{1, rate}}; break;
        case ArrivalConfig::Kind::Spike: a.rateRps = rate; a.spikeRps = 100; a.spikeAtS = 0; a.spikeDurationS = 1; break;
        default: a.rateRps = rate; break;
        }
        s.workload.requests = 1000;
        QCOMPARE(QString::fromStdString(s.validate()), QString());
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        QVERIFY(e.now() <= kYear);
        QVERIFY(e.metrics().arrived < 1000);
        QCOMPARE(QString::fromStdString(e.checkInvariants()), QString());
        QVERIFY2(mentions(e.stopReasons(), "one-year limit"), e.stopReasons().empty() ? "no reason" : e.stopReasons()[0].c_str());
    }

    // The workload's own duration ends the run: nothing to report.
    void durationEndsTheRunSilently()
    {
        Scenario s = singleReplica(4, 1, 0, 10);
        s.workload.arrival.rateRps = 1e-5;
        s.workload.requests = 1000;
        s.workload.durationS = 10;
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        QVERIFY(e.stopReasons().empty());
    }

    // A request still in service when the year ends: the run stops there and counts it as in flight.
    void runStopsAtTheYearWithWorkInFlight()
    {
        Scenario s = singleReplica(4, 1, 0, limits::kMaxStageMs);
        s.workload.arrival.kind = ArrivalConfig::Kind::Trace;
        s.workload.arrival.trace = {{limits::kMaxDurationS - 10, 1}};
        s.workload.requests = 1;
        QCOMPARE(QString::fromStdString(s.validate()), QString());
        Engine e(s);
        e.startLoad();
        e.runToCompletion();
        QVERIFY(e.now() <= kYear);
        QCOMPARE(e.metrics().arrived, std::int64_t(1));
        QCOMPARE(e.metrics().completed, std::int64_t(0));
        QCOMPARE(e.snapshot().held, std::int64_t(1));
        QCOMPARE(QString::fromStdString(e.checkInvariants()), QString());
        QVERIFY(mentions(e.stopReasons(), "1 requests still queued or in service"));
    }

    // 1e6 req/s into a replica that serves 100 req/s, 1e8 requests asked: the load stops at the
    // budget, memory stays bounded by it, everything is accounted for, and the run says why.
    void overloadStopsAtTheBudget()
    {
        Scenario s = singleReplica(1, 1, 0, 10);
        s.workload.arrival.rateRps = 1e6;
        s.workload.requests = 100'000'000;
        Engine e(s);
        constexpr std::int64_t budget = 20'000;
        e.setRequestBudget(budget);
        std::int64_t peak = 0;
        e.setObserver([&](const Request&) {
            const EngineSnapshot snap = e.snapshot();
            peak = std::max(peak, snap.queued + snap.held);
        });
        e.startLoad();
        e.runToCompletion();
        const RunMetrics& m = e.metrics();
        QVERIFY(m.arrived < 100'000);
        QVERIFY(peak <= budget);
        QCOMPARE(m.arrived, m.completed + m.rejected);
        QVERIFY(m.rejected >= 1);
        QCOMPARE(QString::fromStdString(e.checkInvariants()), QString());
        QVERIFY(mentions(e.stopReasons(), "memory budget"));
        QVERIFY(!e.snapshot().stopReason.empty());
    }

    void defaultBudgetIsAboveEveryClosedLoop() { QVERIFY(limits::kMaxRequestsInSystem > limits::kMaxUsers); }
};

QTEST_GUILESS_MAIN(TestRunLimits)
#include "tst_run_limits.moc"
