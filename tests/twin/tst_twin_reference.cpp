// A twin of a server knee did not write (issue 15): tests/twin/reference_server.py (Python's standard
// library only: a front that routes to replica processes, each a semaphore like Truss's predict_concurrency in
// front of a device that calls in flight share; or a continuous-batching decode loop with prefill). One replica
// is swept and fitted; the twin must then predict the same server with 4 replicas (2 for the stream), closed
// loop and under Poisson arrivals at 80 % of capacity.
//
// Wall time on a shared machine: no assertion on a raw time, only on the twin against the measurement, with a
// tolerance this machine meets (BENCHMARKS.md "Twins" has the spread over repeated runs: the reference runs
// with longer windows stay within 10 %; these short ones need kTolerancePct). Skipped when /usr/bin/python3
// is missing (scripts/install-deps installs it).
#include "net/http_open_loop.h"
#include "net/http_sweep.h"
#include "study/twin.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace knee;

namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr double kTolerancePct = 20; // throughput and p50; p95, TTFT and ITL get 1.5x (see the file's comment)
// The streaming server's p95 under Poisson load gets the same 1.5x as every p95. It had 2x while the twin
// overestimated it by 25-33 %: the reference server's asyncio loop rounded every wait up to whole milliseconds,
// 0.8 ms a step under random arrivals and 1.8 ms in the closed loop the twin is fitted on. With its waits in
// select() (reference_server.py, precise_loop) the twin meets that row within 11-14 % (BENCHMARKS.md "Twins",
// twentieth session).

class Reference {
public:
    explicit Reference(const QStringList& args)
    {
        m_process.setProgram(QString::fromLatin1(kPython));
        m_process.setArguments(QStringList{QStringLiteral(KNEE_SOURCE_DIR "/tests/twin/reference_server.py"), "--port", "0", "--exit-with-stdin"} + args);
        m_process.start();
        if (m_process.waitForReadyRead(20000))
            m_port = QJsonDocument::fromJson(m_process.readLine()).object().value("port").toInt();
    }
    ~Reference()
    {
        m_process.closeWriteChannel(); // --exit-with-stdin: it stops, and its replicas with it
        if (!m_process.waitForFinished(5000)) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
    bool started() const { return m_port > 0; }
    QUrl url(const char* path) const { return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_port).arg(QLatin1String(path))); }
    QByteArray errors() { return m_process.readAllStandardError(); }

private:
    QProcess m_process;
    int m_port = 0;
};

net::HttpTarget target(const QUrl& url, bool stream)
{
    net::HttpTarget t;
    t.url = url;
    t.kind = stream ? net::HttpTarget::Kind::OpenAI : net::HttpTarget::Kind::Generic;
    t.stream = stream;
    t.maxTokens = 8;
    t.maxConnections = 256;
    return t;
}

SweepOptions shortLevels(std::vector<int> levels, double capS)
{
    SweepOptions o;
    o.levels = std::move(levels);
    o.warmupS = 0.5;
    o.windowS = 1;
    o.capS = capS;
    o.minWindows = 2;
    o.tolerance = 0.15; // a noisy machine: windows of a second rarely agree within 5 %
    return o;
}

QString describe(const TwinLevelCheck& c)
{
    QString s = QStringLiteral("level %1: req/s %2/%3, p50 %4/%5, p95 %6/%7")
                    .arg(c.concurrency)
                    .arg(c.measuredRps, 0, 'f', 1)
                    .arg(c.twinRps, 0, 'f', 1)
                    .arg(c.measuredP50, 0, 'f', 1)
                    .arg(c.twinP50, 0, 'f', 1)
                    .arg(c.measuredP95, 0, 'f', 1)
                    .arg(c.twinP95, 0, 'f', 1);
    if (c.streaming)
        s += QStringLiteral(", ttft p50 %1/%2, itl p50 %3/%4").arg(c.measuredTtftP50, 0, 'f', 1).arg(c.twinTtftP50, 0, 'f', 1).arg(c.measuredItlP50, 0, 'f', 2).arg(c.twinItlP50, 0, 'f', 2);
    return s;
}

bool within(const TwinLevelCheck& c, QString& why)
{
    why = describe(c);
    const double t = kTolerancePct;
    bool ok = std::abs(c.throughputErrorPct()) <= t && std::abs(c.p50ErrorPct()) <= t && std::abs(c.p95ErrorPct()) <= 1.5 * t;
    if (c.streaming)
        ok = ok && std::abs(c.ttftP50ErrorPct()) <= 1.5 * t && std::abs(c.itlP50ErrorPct()) <= 1.5 * t;
    return ok;
}

} // namespace

class TstTwinReference : public QObject {
    Q_OBJECT
private slots:
    void init()
    {
        if (!QFile::exists(QString::fromLatin1(kPython)))
            QSKIP("/usr/bin/python3 is missing: the reference server needs Debian's python3 (scripts/install-deps installs it)");
    }

    // The open-loop load sends the seeded Poisson arrivals and no other (counted from the same generator), and a
    // server far below capacity answers every measured one: the level's throughput is then exactly the rate,
    // and a stream's tokens are max_tokens per response.
    void poissonLoadCountsEveryRequest()
    {
        Reference one({"--step-ms", "1", "--step-per-seq-ms", "0", "--prefill-ms", "0", "--fixed-ms", "0", "--replicas", "1"});
        QVERIFY2(one.started(), one.errors().constData());
        net::HttpClient client(target(one.url("/v1/chat/completions"), true), {});
        const double rps = 40, warmupS = 0.5, durationS = 1.5;
        const net::OpenLoopRun run = net::runPoissonLoad(client, rps, warmupS, durationS, 30, 7, true);
        std::mt19937_64 rng(7);
        std::exponential_distribution<double> gap(rps);
        std::int64_t sent = 0, measured = 0;
        std::vector<Nanos> due;
        // As the load steps: whole nanoseconds from its start.
        for (Nanos t = Nanos(gap(rng) * 1e9); t < secondsToNanos(warmupS + durationS); t += Nanos(gap(rng) * 1e9)) {
            ++sent;
            measured += t >= secondsToNanos(warmupS);
            due.push_back(t);
        }
        // The trace (knee-bench-twin --trace): one record per request, due when the generator said, sent no
        // earlier, answered after it was sent.
        QCOMPARE(std::int64_t(run.records.size()), sent);
        std::vector<Nanos> intended;
        std::int64_t measuredRecords = 0;
        for (const net::OpenLoopRecord& r : run.records) {
            intended.push_back(r.intended);
            QVERIFY(r.ok);
            QVERIFY(r.sent >= r.intended && r.ended >= r.sent);
            QCOMPARE(r.measured, r.intended >= secondsToNanos(warmupS));
            measuredRecords += r.measured;
        }
        std::sort(intended.begin(), intended.end());
        QCOMPARE(intended, due);
        QCOMPARE(measuredRecords, measured);
        QCOMPARE(run.sent, sent);
        QCOMPARE(run.sentMeasured, measured);
        QCOMPARE(run.unfinished, 0);
        QCOMPARE(run.measured.failed, 0);
        QCOMPARE(run.measured.completed, measured);
        const SweepLevel l = net::openLoopLevel(run, rps);
        QCOMPARE(l.throughputRps, rps);
        QCOMPARE(l.concurrency, 0);
        QCOMPARE(l.outputTokens, 8 * measured); // max_tokens 8 (target())
        QCOMPARE(l.ttft.count, measured);
    }

    void twinPredictsMoreReplicas_data()
    {
        QTest::addColumn<bool>("stream");
        QTest::addColumn<QStringList>("physics");
        QTest::addColumn<int>("replicas");
        QTest::newRow("semaphore of 4 over a shared device")
            << false << QStringList{"--work-ms", "10", "--sigma", "0.25", "--speedup-alpha", "0.35", "--predict-concurrency", "4", "--fixed-ms", "1"} << 4;
        QTest::newRow("stream, continuous batching with prefill, 8 sequences at most")
            << true << QStringList{"--step-ms", "5", "--step-per-seq-ms", "0.4", "--prefill-ms", "1.5", "--fixed-ms", "1", "--max-sequences", "8"} << 2;
    }
    void twinPredictsMoreReplicas()
    {
        QFETCH(bool, stream);
        QFETCH(QStringList, physics);
        QFETCH(int, replicas);
        const char* path = stream ? "/v1/chat/completions" : "/predict";
        std::optional<Scenario> twin;
        {
            Reference one(physics + QStringList{"--replicas", "1"});
            QVERIFY2(one.started(), one.errors().constData());
            net::HttpClient client(target(one.url(path), stream), {});
            const SweepResult sweep = net::runHttpSweep(client, net::endpointScenario("reference"), shortLevels({1, 2, 4, 8, 16}, stream ? 16 : 8));
            TwinFitOptions o;
            o.endpoint = one.url(path).toString().toStdString();
            o.maxConnections = 256;
            o.maxTokens = stream ? 8 : 0;
            o.crossValidate = false;
            const TwinFit fit = fitTwin(sweep, o);
            QString levels;
            for (const SweepLevel& l : sweep.levels)
                levels += QStringLiteral("\n  %1 users: %2 req/s, p50 %3 ms, stable %4").arg(l.concurrency).arg(l.throughputRps).arg(l.latency.p50).arg(l.stable);
            for (const TwinLeftOut& l : fit.leftOut)
                levels += QStringLiteral("\n  left out %1: %2").arg(l.concurrency).arg(QString::fromStdString(l.why));
            QVERIFY2(fit.ok(), qPrintable(QString::fromStdString(fit.refusal) + levels));
            twin = fit.twin;
        }
        // Wall-clock figures on a shared machine: a check that misses is measured once more on a fresh
        // server, and only two misses in a row fail (both are printed). ctest runs this suite alone.
        QStringList failures;
        for (int attempt = 1; attempt <= 2; ++attempt) {
            failures.clear();
            Reference many(physics + QStringList{"--replicas", QString::number(replicas)});
            QVERIFY2(many.started(), many.errors().constData());
            net::HttpClient client(target(many.url(path), stream), {});
            net::runHttpSweep(client, *twin, shortLevels({4 * replicas}, 1)); // a fresh server's first second, not counted
            const SweepResult measured = net::runHttpSweep(client, *twin, shortLevels({replicas, 8 * replicas}, stream ? 12 : 6));
            for (const SweepLevel& m : measured.levels) {
                QString why;
                if (!within(twinCheck(m, twinClosedLoop(*twin, replicas, m.concurrency, 1000)), why))
                    failures << why;
                qInfo("%d replicas, closed %s", replicas, qPrintable(why));
            }
            const double capacity = replicas * twinClosedLoop(*twin, 1, 16, 1000).throughputRps;
            const double rps = 0.8 * capacity;
            const net::OpenLoopRun run = net::runPoissonLoad(client, rps, 1, stream ? 10 : 6);
            QString why;
            if (!within(twinCheck(net::openLoopLevel(run, rps), twinOpenLoop(*twin, replicas, rps, 300, 1000)), why))
                failures << why;
            qInfo("%d replicas, Poisson at %.1f req/s %s", replicas, rps, qPrintable(why));
            if (failures.isEmpty())
                break;
            qInfo("attempt %d missed:\n%s", attempt, qPrintable(failures.join('\n')));
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join('\n')));
    }
};

QTEST_GUILESS_MAIN(TstTwinReference)
#include "tst_twin_reference.moc"
