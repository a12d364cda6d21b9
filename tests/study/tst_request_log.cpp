// `knee simulate --requests`: every request of a run as one CSV row, with its times exactly as virtual time
// gave them (a worked example), its outcome, and a write error reported instead of a file silently short.
#include "study/request_log.h"
#include "study/run_summary.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace knee;

namespace {

// Four requests 1 ms apart into one replica that holds one at a time (concurrency target 1), predict a
// constant 1.5 ms and nothing else; the deployment queue holds `queueLimit` (0: no limit).
Scenario fourRequests(std::int64_t queueLimit)
{
    Scenario s;
    s.name = "four requests";
    s.deployment.concurrencyTarget = 1;
    s.deployment.predictConcurrency = 1;
    s.deployment.queueLimit = queueLimit;
    s.model.preprocess = Distribution::constant(0);
    s.model.predict = Distribution::constant(1.5);
    s.model.postprocess = Distribution::constant(0);
    s.workload.arrival.kind = ArrivalConfig::Kind::Trace;
    for (double t : {0.0, 0.001, 0.002, 0.003})
        s.workload.arrival.trace.push_back({t, 1});
    s.workload.requests = 4;
    s.workload.warmupS = 0.0005; // the first request is served but not measured
    return s;
}

QList<QByteArrayList> readRows(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QList<QByteArrayList> rows;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (!line.isEmpty())
            rows.append(line.split(','));
    return rows;
}

} // namespace

class TestRequestLog : public QObject {
    Q_OBJECT
private slots:
    void everyRequestWithItsTimes()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("requests.csv");
        RequestLog log(path.toStdString());
        QVERIFY2(log.ok(), log.error().c_str());
        const RunSummary summary = simulateScenario(fourRequests(0), [&](const Request& r) { log.record(r); });
        QVERIFY2(log.close(), log.error().c_str());
        QVERIFY(log.close()); // again: the same answer
        QCOMPARE(log.written(), 4);
        QCOMPARE(summary.completed, 4);

        const QList<QByteArrayList> rows = readRows(path);
        QCOMPARE(rows.size(), 5);
        QCOMPARE(rows[0].join(',') + '\n', QByteArray(RequestLog::kHeader));
        // Request i arrives at i ms and waits in the deployment queue until request i-1 leaves predict at
        // 1.5·i ms: latency 1.5 + 0.5·i ms. Rows come as requests end, which is arrival order here.
        for (int i = 0; i < 4; ++i) {
            const QByteArrayList& r = rows[i + 1];
            QCOMPARE(r.size(), 14);
            QCOMPARE(r[0], QByteArray::number(i));                           // id
            QCOMPARE(r[1].toDouble(), double(i));                            // intended_ms
            QCOMPARE(r[2].toDouble(), double(i));                            // sent_ms: virtual time sends on time
            QCOMPARE(r[3].toDouble(), 1.5 * (i + 1));                        // ended_ms
            QCOMPARE(r[4].toDouble(), 1.5 + 0.5 * i);                        // latency_ms
            QCOMPARE(r[5], QByteArray("1"));                                 // ok
            QCOMPARE(r[6], QByteArray(i == 0 ? "0" : "1"));                  // measured: after the warm-up
            QCOMPARE(r[7], QByteArray("completed"));
            QCOMPARE(r[8], QByteArray("0"));                                 // replica
            QCOMPARE(r[9].toDouble(), 0.5 * i);                              // queue_ms
            QCOMPARE(r[10].toDouble(), 0.0);                                 // preprocess_ms
            QCOMPARE(r[11].toDouble(), 0.0);                                 // predict_wait_ms
            QCOMPARE(r[12].toDouble(), 1.5);                                 // predict_ms
            QCOMPARE(r[13].toDouble(), 0.0);                                 // postprocess_ms
        }
    }

    void aRejectedRequestHasNoStageTimes()
    {
        // Four requests 0.1 ms apart and a queue of one place: request 0 goes to predict (until 1.5 ms),
        // request 1 takes the queue's place, requests 2 and 3 find it full.
        QTemporaryDir dir;
        const QString path = dir.filePath("requests.csv");
        RequestLog log(path.toStdString());
        Scenario s = fourRequests(1);
        s.workload.arrival.trace = {{0.0, 1}, {0.0001, 1}, {0.0002, 1}, {0.0003, 1}};
        s.workload.warmupS = 0;
        const RunSummary summary = simulateScenario(s, [&](const Request& r) { log.record(r); });
        QVERIFY(log.close());
        QCOMPARE(summary.rejected, 2);
        QCOMPARE(summary.completed, 2);
        const QList<QByteArrayList> rows = readRows(path);
        QCOMPARE(rows.size(), 5);
        // Rows as requests end: the two rejected at once (ids 2, 3), then 0 and 1.
        QCOMPARE(rows[1][0] + rows[2][0] + rows[3][0] + rows[4][0], QByteArray("2301"));
        for (int i = 1; i <= 2; ++i) {
            const QByteArrayList& r = rows[i];
            QCOMPARE(r[7], QByteArray("rejected"));
            QCOMPARE(r[5], QByteArray("0"));      // not ok
            QCOMPARE(r[4].toDouble(), 0.0);       // rejected at once
            QCOMPARE(r[8], QByteArray());         // no replica
            for (int c = 9; c < 14; ++c)
                QCOMPARE(r[c], QByteArray());     // no stage reached
        }
        QCOMPARE(rows[4][4].toDouble(), 3.0 - 0.1); // request 1: sent at 0.1 ms, predict from 1.5 to 3 ms
    }

    void writeErrorsAreReported()
    {
        RequestLog missing("/nonexistent-dir/requests.csv");
        QVERIFY(!missing.ok());
        QVERIFY2(missing.error().find("cannot write /nonexistent-dir/requests.csv") == 0, missing.error().c_str());
        QVERIFY(!missing.close());

        if (!QFile::exists("/dev/full"))
            QSKIP("no /dev/full here");
        // A disk that is full: the buffered rows fail when flushed, and close() says so.
        RequestLog full("/dev/full");
        QVERIFY(full.ok()); // opening works, the header sits in the buffer
        simulateScenario(fourRequests(0), [&](const Request& r) { full.record(r); });
        QVERIFY(!full.close());
        QVERIFY2(full.error().find("cannot write /dev/full") == 0, full.error().c_str());
        QVERIFY(!full.close()); // again: the same answer
    }
};

QTEST_GUILESS_MAIN(TestRequestLog)
#include "tst_request_log.moc"
