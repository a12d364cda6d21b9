// An open-loop rate sweep of an endpoint (issue 17: `knee sweep --target URL --rates`) against `knee serve`
// on loopback: one slot of a constant 20 ms predict serves 50 req/s. Below that rate the client sends what
// was asked and the server serves it; at twice that rate the server cannot, and because each request's
// latency counts from its scheduled time (no coordinated omission) the level's latency shows the queue
// rather than the 20 ms a closed loop would report. No timed assertion: only counts and the rates' order.
#include "served.h"

#include "net/http_sweep.h"

#include <QTemporaryDir>
#include <QTest>

using namespace knee::net;

namespace {

constexpr char kOneSlot[] = R"(name: one slot of 20 ms
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 256, predict_concurrency: 1}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 20}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";

} // namespace

class TestHttpRates : public QObject {
    Q_OBJECT
private slots:
    void aRateSweepOfAnEndpointSendsWhatItAsksAndFindsTheCapacity()
    {
        QTemporaryDir dir;
        QFile scenario(dir.filePath(QStringLiteral("one-slot.yaml")));
        QVERIFY(scenario.open(QIODevice::WriteOnly));
        scenario.write(kOneSlot);
        scenario.close();
        Served served(scenario.fileName());
        QVERIFY(served.start());
        HttpTarget t;
        t.url = QUrl(served.url("/predict"));
        t.maxConnections = 1024; // room for the queue 100 req/s builds in 4.5 s: the client never binds
        HttpClient client(t, {});
        knee::SweepOptions o;
        o.rates = {25, 40, 100}; // 25 and more responses a window: enough to compare windows
        o.constantArrivals = true;
        o.warmupS = 0.5;
        o.windowS = 1;
        o.capS = 4;
        const knee::SweepResult r = runHttpSweep(client, endpointScenario(QStringLiteral("one slot")), o);
        QCOMPARE(r.levels.size(), std::size_t(3));
        for (const knee::SweepLevel& l : r.levels) {
            QVERIFY(l.open());
            QCOMPARE(l.concurrency, 0);
            // The client keeps the schedule: what it sent is the rate asked, one arrival either way.
            QVERIFY2(!l.behind && std::abs(double(l.sent) - l.rateRps * l.measuredS) <= 0.1 * l.rateRps * l.measuredS + 2,
                     qPrintable(QStringLiteral("%1 req/s: sent %2 in %3 s").arg(l.rateRps).arg(l.sent).arg(l.measuredS)));
        }
        for (int k : {0, 1}) // D/D/1 below capacity: nothing waits
            QVERIFY2(r.levels[std::size_t(k)].keptUp(o.tolerance),
                     qPrintable(QStringLiteral("%1 req/s: served %2").arg(r.levels[std::size_t(k)].rateRps).arg(r.levels[std::size_t(k)].throughputRps)));
        const knee::SweepLevel& over = r.levels[2];
        QVERIFY2(!over.keptUp(o.tolerance), qPrintable(QStringLiteral("served %1 of %2 req/s").arg(over.throughputRps).arg(over.sentRps)));
        QVERIFY(over.latency.p95 > 5 * r.levels[0].latency.p95); // the queue, counted from the schedule
        QVERIFY(r.rateAnalysis.has_value());
        // The capacity lies below 100 req/s (a lower rate counts as not served too when its short wall-clock
        // level did not settle, which a loaded machine may cause).
        QVERIFY(r.rateAnalysis->firstBehind && *r.rateAnalysis->firstBehind <= 100);
        QVERIFY(!r.rateAnalysis->capacity || *r.rateAnalysis->capacity < 100);

        // With 8 connections the client itself binds at 100 req/s (8 in flight on a server that answers 50 a
        // second): the requests wait in knee, not at the server, so the level says the client fell behind.
        t.maxConnections = 8;
        HttpClient narrow(t, {});
        o.rates = {100};
        const knee::SweepResult n = runHttpSweep(narrow, endpointScenario(QStringLiteral("one slot")), o);
        QVERIFY2(n.levels.front().behind, qPrintable(QStringLiteral("sent %1 req/s").arg(n.levels.front().sentRps)));
    }
};

QTEST_GUILESS_MAIN(TestHttpRates)
#include "tst_http_rates.moc"
