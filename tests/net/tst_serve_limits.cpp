// `knee serve` (the built binary) against hostile and unlucky clients (issue 12, items 6 and 10):
// slowloris connections past the process's descriptor limit while healthy clients are still
// answered; a client that pipelines requests and never reads, which must not grow the server; the
// header, body and idle timeouts; requests with bare LF line ends; and the drain at SIGTERM, SIGHUP
// and SIGINT (requests in flight are answered, then the summary). The server's own counters (the
// /health and summary JSON) and /proc are what is checked; waits are QTRY_ with generous limits and
// nothing asserts on how long anything took.
#include "served.h"

#include "net/http_server.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>
#include <sys/resource.h>
#include <vector>

namespace {

constexpr char kFixedScenario[] = R"(name: fixed 5 ms
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 256, predict_concurrency: 256}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 5}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";
// A request takes 1.5 s: long enough to be in flight when the signal comes.
constexpr char kSlowScenario[] = R"(name: slow
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 8, predict_concurrency: 8}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 1500}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";
// A request takes 10 minutes: only the drain's time limit can end it.
constexpr char kEndlessScenario[] = R"(name: endless
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 8, predict_concurrency: 8}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 600000}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";

bool connectTo(QTcpSocket& s, int port)
{
    s.connectToHost(QHostAddress::LocalHost, quint16(port));
    return s.waitForConnected(10000);
}

// Whether `bytes` hold a whole answer: a head, and as much body as its Content-Length says.
bool whole(const QByteArray& bytes)
{
    const qsizetype end = bytes.indexOf("\r\n\r\n");
    if (end < 0)
        return false;
    const qsizetype at = bytes.left(end).toLower().indexOf("content-length:");
    if (at < 0)
        return true;
    const qsizetype eol = bytes.indexOf("\r\n", at);
    return bytes.size() >= end + 4 + bytes.mid(at + 15, eol - at - 15).trimmed().toLongLong();
}

// Sends `request` and collects the answer (or what came before the connection closed). Waits with
// the event loop running, so the test's own timers (the slowloris' trickle) go on meanwhile.
QByteArray exchange(QTcpSocket& s, const QByteArray& request)
{
    s.write(request);
    QByteArray answer;
    for (QDeadlineTimer deadline(60000); !deadline.hasExpired() && !whole(answer);) {
        QTest::qWait(5);
        answer += s.readAll();
        if (s.state() != QAbstractSocket::ConnectedState)
            break;
    }
    return answer + s.readAll();
}

QJsonObject jsonBody(const QByteArray& answer) { return QJsonDocument::fromJson(answer.mid(answer.indexOf("\r\n\r\n") + 4)).object(); }

QJsonObject health(QTcpSocket& s) { return jsonBody(exchange(s, "GET /health HTTP/1.1\r\n\r\n")); }

// A new connection's /health: the server still takes and answers new clients.
QJsonObject healthAnew(int port)
{
    QTcpSocket s;
    return connectTo(s, port) ? health(s) : QJsonObject();
}

// The environment of a server that is driven out of descriptors. In the sanitizer stage (ASan +
// UBSan, scripts/run-sanitizers) UBSan's vptr check needs a pipe to test that an object's memory is
// readable (GCC 12's libubsan); at EMFILE it cannot make one, calls a valid object an "invalid vptr"
// and would stop the server. There, such reports do not stop it; unreadableVptrOnly() below checks
// that they are the only ones. (ASan still checks every access: a real bad vptr is read first.)
QProcessEnvironment outOfDescriptorsEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QString ubsan = env.value(QStringLiteral("UBSAN_OPTIONS"));
    if (!ubsan.isEmpty())
        env.insert(QStringLiteral("UBSAN_OPTIONS"), ubsan + QStringLiteral(":halt_on_error=0"));
    return env;
}

// Whether every sanitizer report in `stderrText` is UBSan's "invalid vptr" on memory it could not read.
bool unreadableVptrOnly(const QByteArray& stderrText, QByteArray& other)
{
    const QList<QByteArray> lines = stderrText.split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (lines[i].contains("ERROR: AddressSanitizer") || lines[i].contains("ERROR: LeakSanitizer")) {
            other = lines[i];
            return false;
        }
        if (!lines[i].contains("runtime error:"))
            continue;
        const bool unreadable = lines[i].contains("does not point to an object of type") && i + 2 < lines.size()
            && lines[i + 1].contains("object has invalid vptr") && lines[i + 2].contains("memory cannot be printed");
        if (!unreadable) {
            other = lines[i];
            return false;
        }
    }
    return true;
}

// ASan keeps freed memory aside (its quarantine, 256 MiB by default) to catch uses after free; that is
// the sanitizer's memory, not the server's. A server whose growth is measured runs with a small one.
QProcessEnvironment measuredMemoryEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    if (!asan.isEmpty())
        env.insert(QStringLiteral("ASAN_OPTIONS"), asan + QStringLiteral(":quarantine_size_mb=4"));
    return env;
}

qint64 rssKiB(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

} // namespace

class TestServeLimits : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_fixed, m_slow, m_endless;

    QString write(const char* name, const char* text)
    {
        QFile f(m_dir.filePath(QLatin1String(name)));
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return f.fileName();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_fixed = write("fixed.yaml", kFixedScenario);
        m_slow = write("slow.yaml", kSlowScenario);
        m_endless = write("endless.yaml", kEndlessScenario);
    }

    // More slowloris connections (a header line every 200 ms, never the blank line that ends the head)
    // than the server has descriptors: the healthy keep-alive client is answered throughout, a new one
    // gets in once the header timeout has closed slow ones, and the server does not spin on accept().
    void slowClientsDoNotStarveHealthyOnes()
    {
        constexpr int kDescriptors = 64, kSlow = 80;
        // A long idle timeout: the healthy connection waits between its requests while the slow ones go.
        Served served(m_fixed, {QStringLiteral("--header-timeout-ms"), QStringLiteral("1500"), QStringLiteral("--idle-timeout-ms"),
                                QStringLiteral("600000")},
                      [] {
            const rlimit limit{kDescriptors, kDescriptors};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        },
                      outOfDescriptorsEnvironment());
        QVERIFY(served.start());
        QTcpSocket healthy;
        QVERIFY(connectTo(healthy, served.port()));
        QCOMPARE(health(healthy).value("status").toString(), QStringLiteral("ok"));

        std::vector<std::unique_ptr<QTcpSocket>> slow;
        for (int i = 0; i < kSlow; ++i) {
            slow.push_back(std::make_unique<QTcpSocket>());
            slow.back()->connectToHost(QHostAddress::LocalHost, quint16(served.port()));
            slow.back()->write("GET /health HTTP/1.1\r\n");
        }
        QTimer trickle;
        QObject::connect(&trickle, &QTimer::timeout, [&] {
            for (const auto& s : slow)
                if (s->state() == QAbstractSocket::ConnectedState)
                    s->write("X-Slow: 1\r\n");
        });
        trickle.start(200);

        // Out of descriptors (accept() failed), and the healthy connection is still answered.
        QTRY_VERIFY_WITH_TIMEOUT(health(healthy).value("accept_errors").toInteger() > 0, 60000);
        // A new client, while the slowloris go on: answered once the header timeout frees descriptors.
        QTRY_COMPARE_WITH_TIMEOUT(healthAnew(served.port()).value("status").toString(), QStringLiteral("ok"), 60000);
        // Every slow connection is closed by the server.
        QTRY_VERIFY_WITH_TIMEOUT(std::all_of(slow.begin(), slow.end(), [](const auto& s) { return s->state() == QAbstractSocket::UnconnectedState; }),
                                 120000);
        trickle.stop();
        QCOMPARE(health(healthy).value("status").toString(), QStringLiteral("ok"));

        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode);
        QCOMPARE(exitCode, 0);
        QCOMPARE(summary.value("timed_out").toInteger(), kSlow); // each slowloris got its 408
        QVERIFY(summary.value("accept_errors").toInteger() > 0);
        QByteArray other;
        QVERIFY2(unreadableVptrOnly(served.process().readAllStandardError(), other), other.constData());
    }

    // A client pipelines requests as fast as the server takes them and never reads an answer: the
    // server stops taking them (TCP pushes back on the client), holds a bounded number of bytes for it,
    // and its memory does not grow with what the client tries to send.
    void pipeliningWithoutReadingIsBounded()
    {
        Served served(m_fixed, {}, {}, measuredMemoryEnvironment());
        QVERIFY(served.start());
        const qint64 pid = served.process().processId();
        QTcpSocket probe;
        QVERIFY(connectTo(probe, served.port()));
        QCOMPARE(health(probe).value("status").toString(), QStringLiteral("ok"));
        const qint64 rssBefore = rssKiB(pid);
        QVERIFY(rssBefore > 0);

        constexpr qint64 kTry = 64 * 1024 * 1024; // what the client tries to send (~2.6 M requests)
        const QByteArray requests = QByteArray("GET /health HTTP/1.1\r\n\r\n").repeated(4096);
        QTcpSocket greedy;
        greedy.setReadBufferSize(64 * 1024); // else Qt would read (and keep) every answer for us
        QVERIFY(connectTo(greedy, served.port()));
        qint64 queued = 0;
        // Until all is sent, or nothing more goes for 20 waits in a row (the server has stopped reading).
        for (int stalls = 0; queued < kTry && stalls < 20;) {
            if (greedy.bytesToWrite() < 1024 * 1024) {
                greedy.write(requests);
                queued += requests.size();
            } else {
                stalls = greedy.waitForBytesWritten(200) ? 0 : stalls + 1;
            }
        }
        const qint64 sent = queued - greedy.bytesToWrite();
        QVERIFY2(sent < kTry, qPrintable(QStringLiteral("the server took all %1 bytes").arg(sent)));
        const qint64 rssAfter = rssKiB(pid);
        QVERIFY2(rssAfter - rssBefore < 64 * 1024, qPrintable(QStringLiteral("RSS grew from %1 to %2 KiB").arg(rssBefore).arg(rssAfter)));
        const QJsonObject h = health(probe);
        QCOMPARE(h.value("status").toString(), QStringLiteral("ok")); // still answering others
        QCOMPARE(h.value("open_connections").toInteger(), 2);         // the greedy one is still there
        QVERIFY2(h.value("buffered_bytes").toInteger() < 2 * 1024 * 1024,
                 qPrintable(QStringLiteral("the server holds %1 bytes for its clients").arg(h.value("buffered_bytes").toInteger())));
    }

    // A keep-alive connection with nothing to do, a silent one, one whose head or body never ends, and
    // one whose client never reads its answers are all closed, each counted once.
    void timeoutsClose()
    {
        Served served(m_fixed, {QStringLiteral("--idle-timeout-ms"), QStringLiteral("1000"), QStringLiteral("--header-timeout-ms"),
                                QStringLiteral("1000"), QStringLiteral("--body-timeout-ms"), QStringLiteral("1000")});
        QVERIFY(served.start());
        // Each sends what it sends as soon as it is connected: a new connection owes its first byte within
        // the header timeout too.
        QTcpSocket idle, silent, head, body, greedy;
        greedy.setReadBufferSize(64 * 1024); // else Qt would read (and keep) every answer for us
        QVERIFY(connectTo(idle, served.port()));
        QVERIFY(exchange(idle, "GET /health HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200"));
        QVERIFY(connectTo(silent, served.port()));
        QVERIFY(connectTo(head, served.port()));
        head.write("GET /health HTTP/1.1\r\nHost: x\r\n");
        head.flush();
        QVERIFY(connectTo(body, served.port()));
        body.write("POST /predict HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}");
        body.flush();
        QVERIFY(connectTo(greedy, served.port()));
        greedy.write(QByteArray("GET /health HTTP/1.1\r\n\r\n").repeated(400'000)); // ~10 MB of requests, never reading
        QByteArray got[5];
        QTcpSocket* sockets[5] = {&idle, &silent, &head, &body, &greedy};
        auto allClosed = [&] {
            bool closed = true;
            for (int i = 0; i < 5; ++i) {
                if (i < 4) // the greedy one's answers are not looked at (its reset may drop them anyway)
                    got[i] += sockets[i]->readAll();
                closed = closed && sockets[i]->state() == QAbstractSocket::UnconnectedState;
            }
            return closed;
        };
        QTRY_VERIFY_WITH_TIMEOUT(allClosed(), 120000);
        QVERIFY(got[0].isEmpty()); // closed without a word: its request was answered before
        QVERIFY(got[1].isEmpty());
        QVERIFY2(got[2].startsWith("HTTP/1.1 408") && got[2].contains("request head"), got[2].constData());
        QVERIFY2(got[3].startsWith("HTTP/1.1 408") && got[3].contains("request body"), got[3].constData());

        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode);
        QCOMPARE(exitCode, 0);
        QCOMPARE(summary.value("closed_idle").toInteger(), 2);
        QCOMPARE(summary.value("timed_out").toInteger(), 2);
        QCOMPARE(summary.value("cut_unread").toInteger(), 1);
        QCOMPARE(summary.value("bad_requests").toInteger(), 0); // a timeout is not the client's malformed request
    }

    // A stream whose client does not read it (in-process: HttpServer itself, with a small limit): the
    // server cuts it once more than maxUnsentBytes wait unsent, instead of keeping them all.
    void unreadStreamIsCut()
    {
        knee::net::HttpServerLimits limits;
        limits.maxUnsentBytes = 1024 * 1024;
        limits.idleTimeoutMs = 600'000; // so that only the byte limit can end it
        std::shared_ptr<knee::net::HttpExchange> stream;
        knee::net::HttpServer server(
            [&](const knee::net::HttpRequest&, const std::shared_ptr<knee::net::HttpExchange>& e) {
                stream = e;
                e->startStream(200, "text/event-stream");
            },
            limits);
        QVERIFY(server.listen(QHostAddress::LocalHost, 0).isEmpty());
        qint64 produced = 0;
        QTimer pump; // as fast as the event loop goes: 64 KiB a turn while anyone listens
        QObject::connect(&pump, &QTimer::timeout, [&] {
            if (stream && stream->open()) {
                stream->writeChunk("data: " + QByteArray(64 * 1024, 'x') + "\n\n");
                produced += 64 * 1024;
            }
        });
        pump.start(0);
        QTcpSocket client;
        client.setReadBufferSize(64 * 1024); // Qt stops reading for us once 64 KiB wait
        QVERIFY(connectTo(client, server.port()));
        client.write("GET /stream HTTP/1.1\r\n\r\n");
        QTRY_VERIFY_WITH_TIMEOUT(stream && !stream->open(), 120000);
        QCOMPARE(server.stats().cutUnread, 1);
        QVERIFY(produced < 1024 * 1024 * 1024); // it ended long before anything like a gigabyte
        QTRY_COMPARE_WITH_TIMEOUT(server.openConnections(), 0, 60000);
    }

    // RFC 9112 §2.2: a bare LF ends a line as CRLF does; empty lines before a request are ignored.
    void bareLineFeeds_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<QByteArray>("answerHas");
        QTest::newRow("GET, LF only") << QByteArray("GET /health HTTP/1.1\nHost: x\n\n") << QByteArray("\"status\":\"ok\"");
        QTest::newRow("POST, LF only") << QByteArray("POST /predict HTTP/1.1\nContent-Length: 17\n\n{\"max_tokens\": 3}")
                                       << QByteArray("\"tokens\":3");
        QTest::newRow("mixed line ends") << QByteArray("GET /health HTTP/1.1\r\nHost: x\n\r\n") << QByteArray("\"status\":\"ok\"");
        QTest::newRow("empty lines first") << QByteArray("\r\n\nGET /health HTTP/1.1\r\n\r\n") << QByteArray("\"status\":\"ok\"");
    }
    void bareLineFeeds()
    {
        QFETCH(QByteArray, request);
        QFETCH(QByteArray, answerHas);
        Served served(m_fixed);
        QVERIFY(served.start());
        QTcpSocket s;
        QVERIFY(connectTo(s, served.port()));
        for (int i = 0; i < 2; ++i) { // twice on one connection: the first request was consumed exactly
            const QByteArray answer = exchange(s, request);
            QVERIFY2(answer.startsWith("HTTP/1.1 200") && answer.contains(answerHas), answer.constData());
        }
    }

    // At a stop signal the request in flight is answered (Connection: close), then the summary is
    // printed and the exit status is 0; past --drain-timeout-ms, what is left is answered 503.
    void drainsAtStop_data()
    {
        QTest::addColumn<int>("signal");
        QTest::addColumn<bool>("endless");
        QTest::addColumn<QByteArray>("status");
        QTest::newRow("SIGTERM") << int(SIGTERM) << false << QByteArray("HTTP/1.1 200");
        QTest::newRow("SIGHUP") << int(SIGHUP) << false << QByteArray("HTTP/1.1 200");
        QTest::newRow("SIGINT") << int(SIGINT) << false << QByteArray("HTTP/1.1 200");
        QTest::newRow("SIGTERM, drain time runs out") << int(SIGTERM) << true << QByteArray("HTTP/1.1 503");
    }
    void drainsAtStop()
    {
        QFETCH(int, signal);
        QFETCH(bool, endless);
        QFETCH(QByteArray, status);
        // The default drain time (10 s) outlasts the slow request; the endless one needs it shortened.
        Served served(endless ? m_endless : m_slow,
                      endless ? QStringList{QStringLiteral("--drain-timeout-ms"), QStringLiteral("300")} : QStringList());
        QVERIFY(served.start());
        QTcpSocket client, probe;
        QVERIFY(connectTo(client, served.port()));
        QVERIFY(connectTo(probe, served.port()));
        client.write("POST /predict HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
        QTRY_COMPARE_WITH_TIMEOUT(health(probe).value("in_flight").toInt(), 1, 60000);

        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode, signal);
        QCOMPARE(exitCode, 0);
        QCOMPARE(summary.value("event").toString(), QStringLiteral("stopped"));
        QByteArray answer;
        QTRY_VERIFY_WITH_TIMEOUT((answer += client.readAll(), client.state() == QAbstractSocket::UnconnectedState), 60000);
        answer += client.readAll();
        QVERIFY2(answer.startsWith(status), answer.constData());
        QVERIFY2(answer.contains("Connection: close"), answer.constData());
        QCOMPARE(summary.value("completed").toInt(), endless ? 0 : 1);
        QCOMPARE(summary.value("unfinished_at_stop").toInt(), endless ? 1 : 0);
        QCOMPARE(summary.value("in_flight").toInt(), 0);
    }

    void refusesBadLimits_data()
    {
        QTest::addColumn<QStringList>("flags");
        QTest::newRow("zero") << QStringList{QStringLiteral("--idle-timeout-ms"), QStringLiteral("0")};
        QTest::newRow("not a number") << QStringList{QStringLiteral("--header-timeout-ms"), QStringLiteral("soon")};
        QTest::newRow("over an hour") << QStringList{QStringLiteral("--body-timeout-ms"), QStringLiteral("3600001")};
        QTest::newRow("negative drain") << QStringList{QStringLiteral("--drain-timeout-ms"), QStringLiteral("-5")};
    }
    void refusesBadLimits()
    {
        QFETCH(QStringList, flags);
        QProcess p;
        p.start(QStringLiteral(KNEE_BINARY), QStringList{QStringLiteral("serve"), m_fixed} + flags);
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(p.readAllStandardError().contains("expects a whole number of milliseconds"));
    }
};

QTEST_GUILESS_MAIN(TestServeLimits)
#include "tst_serve_limits.moc"
