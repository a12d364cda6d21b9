// The HTTP client against a fault-injecting loopback server: every failure gets its kind, counts add
// up, a measured level is a SweepLevel whose failures by kind survive a session, and the API key
// goes to the configured host only: never into a session, the command line's output or a log line.
// Over both transports (knee's HTTP/1.1 client on QTcpSocket, and QNetworkAccessManager), and, for
// the socket transport's framing, against a raw server that sends exactly the bytes we choose.
// No timed assertions: counts and kinds only.
#include "send_many.h"
#include "fault_server.h"
#include "raw_server.h"

#include "io/scenario_reader.h"
#include "net/http_sweep.h"
#include "net/response_meter.h"
#include "net/sse_parser.h"
#include "session/session.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace knee;
using namespace knee::net;

namespace {

constexpr char kKeyVariable[] = "KNEE_TEST_API_KEY";
const QByteArray kSecret = "sk-knee-test-0123456789-secret";

QStringList g_logLines; // every qDebug/qWarning/… while the tests run
QtMessageHandler g_previousHandler = nullptr;
void captureLog(QtMsgType type, const QMessageLogContext& context, const QString& message)
{
    g_logLines << message;
    if (g_previousHandler)
        g_previousHandler(type, context, message);
}


HttpTarget targetFor(const QString& url, HttpTarget::Kind kind = HttpTarget::Kind::Generic, bool stream = false)
{
    HttpTarget t;
    t.url = QUrl(url);
    t.kind = kind;
    t.stream = stream;
    t.connectTimeoutMs = 5000;
    t.responseTimeoutMs = 5000;
    return t;
}

const std::array<std::pair<const char*, HttpTransport>, 2> kTransports{{{"socket", HttpTransport::Socket}, {"qnam", HttpTransport::Qnam}}};

QString kindOf(const HttpOutcome& o) { return o.failure ? QString::fromLatin1(failureKindName(*o.failure)) : QStringLiteral("ok"); }

quint16 closedPort()
{
    QTcpServer probe; // a port that was free a moment ago: nothing listens there now
    probe.listen(QHostAddress::LocalHost, 0);
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

} // namespace

class TestHttpClient : public QObject {
    Q_OBJECT
    FaultServer m_server;
    RawServer m_raw;

private Q_SLOTS:
    void initTestCase()
    {
        g_previousHandler = qInstallMessageHandler(captureLog);
        QVERIFY(m_server.start());
        QVERIFY(m_raw.start());
        qputenv(kKeyVariable, kSecret);
    }

    void cleanupTestCase()
    {
        for (const QString& line : std::as_const(g_logLines))
            QVERIFY2(!line.contains(QString::fromLatin1(kSecret)), qPrintable("a log line holds the key: " + line));
    }

    void bodyTemplatePlaceholders()
    {
        HttpTarget t = targetFor(QStringLiteral("http://127.0.0.1/"));
        t.prompt = QStringLiteral("say \"hi\" {{id}}");
        t.bodyTemplate = R"({"n": {{id}}, "r": {{random}}, "p": "{{prompt}}", "m": {{max_tokens}}, "s": {{stream}}})";
        const QJsonObject o = QJsonDocument::fromJson(t.renderBody(41, 7)).object();
        QCOMPARE(o.value("n").toInt(), 41);
        QCOMPARE(o.value("r").toInt(), 7);
        QCOMPARE(o.value("p").toString(), QStringLiteral("say \"hi\" {{id}}")); // escaped, and not expanded again
        QCOMPARE(o.value("m").toInt(), 16);
        QCOMPARE(o.value("s").toBool(true), false);
        // The defaults are JSON for both kinds, with and without streaming.
        for (auto kind : {HttpTarget::Kind::Generic, HttpTarget::Kind::OpenAI})
            for (bool stream : {false, true}) {
                HttpTarget d = targetFor(QStringLiteral("http://127.0.0.1/"), kind, stream && kind == HttpTarget::Kind::OpenAI);
                QVERIFY(QJsonDocument::fromJson(d.renderBody(1, 2)).isObject());
            }
    }

    void sseParserAcrossReads()
    {
        SseParser p;
        QVERIFY(p.feed("data: {\"a\"").isEmpty());
        QVERIFY(p.feed(":1}\r\n").isEmpty());
        const QList<QByteArray> events = p.feed("\r\n: keep-alive\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n");
        QCOMPARE(events, (QList<QByteArray>{"{\"a\":1}", "x\ny", "[DONE]"}));
        QVERIFY(!p.pendingBytes());
    }

    void transportClassification()
    {
        QCOMPARE(classifyTransport({QNetworkReply::NoError, 200, false, false, true}), std::nullopt);
        QCOMPARE(classifyTransport({QNetworkReply::ConnectionRefusedError, 0, false, false, false}), FailureKind::Refused);
        QCOMPARE(classifyTransport({QNetworkReply::OperationCanceledError, 0, true, false, false}), FailureKind::Timeout);
        QCOMPARE(classifyTransport({QNetworkReply::SslHandshakeFailedError, 0, false, true, false}), FailureKind::Tls);
        QCOMPARE(classifyTransport({QNetworkReply::InternalServerError, 503, false, false, true}), FailureKind::Http5xx);
        QCOMPARE(classifyTransport({QNetworkReply::ContentNotFoundError, 404, false, false, true}), FailureKind::Http4xx);
        QCOMPARE(classifyTransport({QNetworkReply::NoError, 302, false, false, true}), FailureKind::Other);
        QCOMPARE(classifyTransport({QNetworkReply::RemoteHostClosedError, 200, false, false, true}), FailureKind::StreamCut);
        QCOMPARE(classifyTransport({QNetworkReply::RemoteHostClosedError, 0, false, false, false}), FailureKind::Other);
        QCOMPARE(classifyTransport({QNetworkReply::HostNotFoundError, 0, false, false, false}), FailureKind::Other);
    }

    // A hostile endpoint's usage.completion_tokens (1e300, negative, fractional) is not a token count:
    // the stream's chunks are counted instead, and a plain response counts none. Converting such a
    // double to an integer was undefined behaviour (the ASan+UBSan run of this test stops on it).
    void usageTokensFromTheNetworkAreChecked_data()
    {
        QTest::addColumn<QByteArray>("usage");
        QTest::addColumn<qint64>("streamed");
        QTest::addColumn<qint64>("plain");
        QTest::newRow("reported") << QByteArray("7") << qint64(7) << qint64(7);
        QTest::newRow("huge") << QByteArray("1e300") << qint64(2) << qint64(0);
        QTest::newRow("negative") << QByteArray("-5") << qint64(2) << qint64(0);
        QTest::newRow("fractional") << QByteArray("2.5") << qint64(2) << qint64(0);
    }
    void usageTokensFromTheNetworkAreChecked()
    {
        QFETCH(QByteArray, usage);
        QFETCH(qint64, streamed);
        QFETCH(qint64, plain);
        const ExchangeFacts ended{QNetworkReply::NoError, 200, false, false, true};
        {
            const HttpTarget t = targetFor(QStringLiteral("http://127.0.0.1/"), HttpTarget::Kind::OpenAI, true);
            ResponseMeter m(t);
            m.head(200, "text/event-stream");
            m.body("data: {\"choices\": [{\"delta\": {\"content\": \"a\"}}]}\n\n"
                   "data: {\"choices\": [{\"delta\": {\"content\": \"b\"}}]}\n\n"
                   "data: {\"choices\": [], \"usage\": {\"completion_tokens\": " + usage + "}}\n\n"
                   "data: [DONE]\n\n", 1000);
            HttpOutcome out;
            m.conclude(ended, {}, {}, 0, out);
            QVERIFY2(out.ok(), qPrintable(out.detail));
            QCOMPARE(out.tokens, streamed);
        }
        {
            const HttpTarget t = targetFor(QStringLiteral("http://127.0.0.1/"), HttpTarget::Kind::OpenAI);
            ResponseMeter m(t);
            m.head(200, "application/json");
            m.body("{\"choices\": [{\"text\": \"ab\"}], \"usage\": {\"completion_tokens\": " + usage + "}}", 1000);
            HttpOutcome out;
            m.conclude(ended, {}, {}, 0, out);
            QVERIFY2(out.ok(), qPrintable(out.detail));
            QCOMPARE(out.tokens, plain);
        }
    }

    void classifiesEachFault_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("kind");
        QTest::addColumn<bool>("stream");
        QTest::addColumn<int>("responseTimeoutMs");
        QTest::addColumn<QString>("expected"); // a failure kind's name, or "ok"
        QTest::addColumn<int>("transport");
        const int generic = int(HttpTarget::Kind::Generic), openai = int(HttpTarget::Kind::OpenAI);
        const QString refusing = QStringLiteral("http://127.0.0.1:%1/").arg(closedPort());
        for (const auto& [name, transport] : kTransports) {
            auto row = [&, name = name](const char* what) -> QTestData& { return QTest::addRow("%s: %s", name, what); };
            const int t = int(transport);
            // The fault server: a well-behaved HTTP/1.1 server, misbehaving on purpose.
            row("ok") << m_server.url("/ok") << generic << false << 5000 << "ok" << t;
            row("slow, patient") << m_server.url("/slow") << generic << false << 5000 << "ok" << t;
            row("slow, impatient") << m_server.url("/slow") << generic << false << 50 << "timeout" << t;
            row("500") << m_server.url("/fail") << generic << false << 5000 << "http_5xx" << t;
            row("404") << m_server.url("/missing") << generic << false << 5000 << "http_4xx" << t;
            row("not JSON") << m_server.url("/malformed") << generic << false << 5000 << "malformed" << t;
            row("OpenAI without choices") << m_server.url("/ok") << openai << false << 5000 << "malformed" << t;
            row("stream") << m_server.url("/sse") << openai << true << 5000 << "ok" << t;
            row("stream cut") << m_server.url("/sse-cut") << openai << true << 5000 << "stream_cut" << t;
            row("stream without [DONE]") << m_server.url("/sse-nodone") << openai << true << 5000 << "stream_cut" << t;
            row("stream garbage") << m_server.url("/sse-garbage") << openai << true << 5000 << "malformed" << t;
            row("refused") << refusing << generic << false << 5000 << "refused" << t;
            // The raw server: framing, closes at chosen bytes, tiny writes.
            row("chunked body") << m_raw.url("/chunked") << generic << false << 5000 << "ok" << t;
            row("100 Continue first") << m_raw.url("/continue") << generic << false << 5000 << "ok" << t;
            row("HTTP/1.0, body to the close") << m_raw.url("/http10") << generic << false << 5000 << "ok" << t;
            row("Connection: close") << m_raw.url("/close-after") << generic << false << 5000 << "ok" << t;
            row("stream to the close") << m_raw.url("/sse-close") << openai << true << 5000 << "ok" << t;
            row("stream to the close, no [DONE]") << m_raw.url("/sse-close-nodone") << openai << true << 5000 << "stream_cut" << t;
            row("stream in 3-byte writes") << m_raw.url("/tiny") << openai << true << 5000 << "ok" << t;
            row("closed mid-body") << m_raw.url("/cut-body") << generic << false << 5000 << "stream_cut" << t;
            // QNAM 6.4 sometimes ends a chunked body cut inside a chunk as if it were whole (no error), so
            // only the socket transport's kind is certain here.
            if (transport == HttpTransport::Socket)
                row("closed mid-chunk") << m_raw.url("/cut-chunked") << generic << false << 5000 << "stream_cut" << t;
            row("closed before answering") << m_raw.url("/close-early") << generic << false << 5000 << "other" << t;
            // What came back is not HTTP: malformed, as classifyTransport means it. QNAM 6.4 reports no
            // protocol error here, only that the connection closed, so it can say no more than other.
            row("not HTTP") << m_raw.url("/not-http") << generic << false << 5000
                            << (transport == HttpTransport::Socket ? "malformed" : "other") << t;
            row("bad chunk size") << m_raw.url("/bad-chunk") << generic << false << 5000 << "malformed" << t;
        }
    }

    void classifiesEachFault()
    {
        QFETCH(QString, url);
        QFETCH(int, kind);
        QFETCH(bool, stream);
        QFETCH(int, responseTimeoutMs);
        QFETCH(QString, expected);
        QFETCH(int, transport);
        HttpTarget t = targetFor(url, HttpTarget::Kind(kind), stream);
        t.responseTimeoutMs = responseTimeoutMs;
        t.connectTimeoutMs = 2000; // longer than a /slow answer takes would still be fine: phases are apart
        QVERIFY2(t.validate().isEmpty(), qPrintable(t.validate()));
        HttpClient client(t, {}, HttpTransport(transport));
        QCOMPARE(client.transport(), HttpTransport(transport));
        constexpr int kRequests = 6;
        const std::vector<HttpOutcome> outcomes = sendMany(client, kRequests);
        QCOMPARE(int(outcomes.size()), kRequests);
        const HttpCounters& c = client.counters();
        QCOMPARE(c.sent, kRequests);
        QCOMPARE(c.ok + c.failed() + c.aborted, c.sent); // counts add up
        for (const HttpOutcome& o : outcomes) {
            const QString got = kindOf(o);
            QVERIFY2(got == expected, qPrintable(QStringLiteral("%1 (%2)").arg(got, o.detail)));
            QVERIFY(o.latency > 0);
            if (expected == QLatin1String("ok") && stream) {
                QCOMPARE(o.tokens, 3);
                QVERIFY(o.ttft > 0 && o.ttft <= o.latency);
                QVERIFY(o.itl >= 0);
            }
        }
        if (expected == QLatin1String("ok"))
            QCOMPARE(c.ok, kRequests);
        else
            for (FailureKind k : kFailureKinds)
                QCOMPARE(c.failures[std::size_t(k)], failureKindName(k) == expected.toStdString() ? kRequests : 0);
    }

    void connectionLimitHolds_data()
    {
        QTest::addColumn<int>("transport");
        for (const auto& [name, transport] : kTransports)
            QTest::newRow(name) << int(transport);
    }

    void connectionLimitHolds()
    {
        QFETCH(int, transport);
        HttpTarget t = targetFor(m_server.url("/slow"));
        t.maxConnections = 2;
        const std::int64_t connectionsBefore = m_server.connections();
        HttpClient client(t, {}, HttpTransport(transport));
        std::vector<HttpOutcome> outcomes;
        QEventLoop loop;
        int left = 6, mostInFlight = 0;
        for (int i = 0; i < 6; ++i) {
            client.send(client.now(), i).then([&](HttpOutcome o) {
                outcomes.push_back(std::move(o));
                if (--left == 0)
                    loop.quit();
            });
            mostInFlight = std::max(mostInFlight, client.inFlight());
        }
        QTimer poll;
        QObject::connect(&poll, &QTimer::timeout, [&] { mostInFlight = std::max(mostInFlight, client.inFlight()); });
        poll.start(5);
        loop.exec();
        QCOMPARE(mostInFlight, 2);
        QCOMPARE(client.counters().ok, 6);
        QVERIFY(m_server.connections() - connectionsBefore <= 2);
    }

    // Keep-alive: a run of requests goes over as many connections as may be in flight, no more.
    void keepAliveReuse_data() { connectionLimitHolds_data(); }
    void keepAliveReuse()
    {
        QFETCH(int, transport);
        HttpTarget t = targetFor(m_server.url("/ok"));
        t.maxConnections = 2;
        const std::int64_t connectionsBefore = m_server.connections();
        HttpClient client(t, {}, HttpTransport(transport));
        for (int round = 0; round < 3; ++round)
            QCOMPARE(int(sendMany(client, 10).size()), 10);
        QCOMPARE(client.counters().ok, 30);
        QVERIFY(m_server.connections() - connectionsBefore >= 1);
        QVERIFY(m_server.connections() - connectionsBefore <= 2);
        if (HttpTransport(transport) == HttpTransport::Socket)
            QCOMPARE(client.connectionsOpened(), int(m_server.connections() - connectionsBefore));
    }

    // Connection: close is honoured (a new connection per request), and a reused connection the server
    // closes before answering is retried once on a new one: both end ok.
    void reconnects_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("transport");
        for (const auto& [name, transport] : kTransports) {
            QTest::addRow("%s: Connection: close", name) << QStringLiteral("/close-after") << int(transport);
            QTest::addRow("%s: closed on reuse", name) << QStringLiteral("/once") << int(transport);
        }
    }
    void reconnects()
    {
        QFETCH(QString, path);
        QFETCH(int, transport);
        HttpTarget t = targetFor(m_raw.url(path.toLatin1().constData()));
        t.maxConnections = 1;
        const int connectionsBefore = m_raw.connections;
        HttpClient client(t, {}, HttpTransport(transport));
        constexpr int kRequests = 5;
        for (const HttpOutcome& o : sendMany(client, kRequests))
            QVERIFY2(o.ok(), qPrintable(kindOf(o) + QStringLiteral(": ") + o.detail));
        QCOMPARE(client.counters().ok, kRequests);
        QCOMPARE(client.counters().sent, kRequests); // a retry is the same request, not another
        QCOMPARE(m_raw.connections - connectionsBefore, kRequests);
        if (HttpTransport(transport) == HttpTransport::Socket)
            QCOMPARE(client.connectionsOpened(), kRequests);
    }

    // The socket transport is what http:// gets unless told otherwise; https:// always gets QNAM.
    void transportChoice()
    {
        QCOMPARE(HttpClient(targetFor(m_server.url("/ok")), {}).transport(), HttpTransport::Socket);
        QCOMPARE(HttpClient(targetFor(QStringLiteral("https://127.0.0.1/")), {}, HttpTransport::Socket).transport(), HttpTransport::Qnam);
        QCOMPARE(HttpClient(targetFor(m_server.url("/ok")), {}, HttpTransport::Qnam).transport(), HttpTransport::Qnam);
    }

    void levelCountsAddUpAndRoundTrip()
    {
        HttpClient client(targetFor(m_server.url("/mixed")), {});
        SweepOptions o;
        o.levels = {4};
        o.warmupS = 0.2;
        o.windowS = 0.2;
        o.minWindows = 2;
        o.capS = 0.6;
        const SweepLevel l = measureHttpLevel(client, 4, o);
        QVERIFY(l.endpoint);
        std::int64_t byKind = 0;
        for (const auto& [kind, count] : l.failuresByKind)
            byKind += count;
        QCOMPARE(byKind, l.failed);
        QVERIFY(l.failuresByKind.count("http_5xx") && l.failuresByKind.at("http_5xx") > 0);
        QVERIFY(l.failuresByKind.count("malformed") && l.failuresByKind.at("malformed") > 0);
        QVERIFY(l.completed > 0);
        QCOMPARE(l.endpoint->sent, l.completed + l.failed);
        const HttpCounters& c = client.counters();
        QCOMPARE(c.ok + c.failed() + c.aborted, c.sent);
        QVERIFY(c.sent >= l.endpoint->sent); // the warm-up's requests are sent but not in the level
        QCOMPARE(client.inFlight(), 0);

        // A session keeps the kinds, and refuses counts that do not add up.
        Session s;
        s.scenarioYaml = QString::fromStdString(writeScenarioYaml(endpointScenario(QStringLiteral("endpoint"))));
        SweepResult r;
        r.mode = "http";
        r.levels = {l};
        analyzeSweep(r, endpointScenario(QStringLiteral("endpoint")), o);
        s.sweeps.push_back({o, r});
        const QByteArray bytes = serializeSession(s);
        const SessionLoad back = parseSession(bytes, QStringLiteral("mem"));
        QVERIFY2(back.session, qPrintable(back.error));
        QCOMPARE(back.session->sweeps.front().result.levels.front().failuresByKind, l.failuresByKind);
        QCOMPARE(back.session->sweeps.front().result.mode, std::string("http"));
        QByteArray damaged = bytes;
        damaged.replace("\"http_5xx\": ", "\"http_5xx\": 1");
        QVERIFY(!parseSession(damaged, QStringLiteral("mem")).session);
    }

    void apiKeyGoesToTheConfiguredHostOnly_data() { connectionLimitHolds_data(); }
    void apiKeyGoesToTheConfiguredHostOnly()
    {
        QFETCH(int, transport);
        const ApiKey key = resolveApiKey(QStringLiteral("env:") + kKeyVariable);
        QVERIFY(key.error.isEmpty());
        QCOMPARE(key.key, kSecret);
        QVERIFY(!resolveApiKey(QStringLiteral("env:KNEE_TEST_NO_SUCH_VARIABLE")).error.isEmpty());
        QVERIFY(!resolveApiKey(QStringLiteral("keychain:no-slash")).error.isEmpty());

        const QByteArray query = "/ok?key-test-" + QByteArray::number(transport);
        HttpTarget t = targetFor(m_server.url(query.constData()));
        t.apiKeySource = QStringLiteral("env:") + kKeyVariable;
        HttpClient client(t, key.key, HttpTransport(transport));
        QCOMPARE(int(sendMany(client, 3).size()), 3);
        QCOMPARE(m_server.authorizationsFor(query), (QList<QByteArray>(3, "Bearer " + kSecret)));
        // A redirect to another host (here: another port) is not followed, so the key never goes there.
        m_raw.redirectTo = m_server.url("/ok?redirected").toLatin1();
        HttpTarget r = targetFor(m_raw.url("/redirect"));
        r.apiKeySource = t.apiKeySource;
        HttpClient redirected(r, key.key, HttpTransport(transport));
        for (const HttpOutcome& o : sendMany(redirected, 2))
            QCOMPARE(kindOf(o), QStringLiteral("other"));
        QVERIFY(m_server.authorizationsFor("/ok?redirected").isEmpty());
        QVERIFY(client.mayCarryKey(t.url));
        QVERIFY(!client.mayCarryKey(QUrl(QStringLiteral("http://example.com/ok"))));
        QVERIFY(!client.mayCarryKey(QUrl(QStringLiteral("https://127.0.0.1/ok"))));
        QVERIFY(!client.mayCarryKey(QUrl(QStringLiteral("http://127.0.0.1:1/ok"))));
        // The target as stored (sessions, the command line's JSON) names the source, never the key.
        const QByteArray stored = QJsonDocument(t.toJson()).toJson();
        QVERIFY(!stored.contains(kSecret));
        QVERIFY(stored.contains("env:KNEE_TEST_API_KEY"));
        // Putting the key in a header instead is refused: the header would be stored with the target.
        t.headers.append(qMakePair(QByteArray("Authorization"), QByteArray("Bearer x")));
        QVERIFY(!t.validate().isEmpty());
    }

    void commandLineNeverShowsTheKey()
    {
        QTemporaryDir dir;
        const QString session = dir.filePath(QStringLiteral("s.json")), csv = dir.filePath(QStringLiteral("s.csv"));
        QProcess p;
        p.setProgram(QStringLiteral(KNEE_BINARY));
        p.setArguments({QStringLiteral("sweep"), QStringLiteral("--target"), m_server.url("/mixed?cli"), QStringLiteral("--api-key-env"),
                        QString::fromLatin1(kKeyVariable), QStringLiteral("--levels"), QStringLiteral("1,2"), QStringLiteral("--warmup-s"),
                        QStringLiteral("0.1"), QStringLiteral("--window-s"), QStringLiteral("0.1"), QStringLiteral("--cap-s"),
                        QStringLiteral("0.3"), QStringLiteral("--json"), QStringLiteral("--out"), session, QStringLiteral("--csv"), csv});
        QEventLoop loop; // the fault server answers on this thread's event loop while the sweep runs
        QObject::connect(&p, &QProcess::finished, &loop, &QEventLoop::quit);
        p.start();
        loop.exec();
        const QByteArray out = p.readAllStandardOutput(), err = p.readAllStandardError();
        QCOMPARE(p.exitCode(), 0);
        const QList<QByteArray> sent = m_server.authorizationsFor("/mixed?cli");
        QVERIFY(!sent.isEmpty());
        for (const QByteArray& a : sent)
            QCOMPARE(a, "Bearer " + kSecret); // the key did go, to the configured host
        QVERIFY(!out.contains(kSecret));
        QVERIFY(!err.contains(kSecret));
        for (const QString& path : {session, csv}) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::ReadOnly));
            QVERIFY2(!f.readAll().contains(kSecret), qPrintable(path));
        }
        const QJsonObject result = QJsonDocument::fromJson(out).object();
        QCOMPARE(result.value("mode").toString(), QStringLiteral("http"));
        QCOMPARE(result.value("target").toObject().value("api_key_source").toString(), QStringLiteral("env:KNEE_TEST_API_KEY"));
        for (const QJsonValue& v : result.value("levels").toArray()) {
            const QJsonObject level = v.toObject();
            qint64 byKind = 0;
            for (const QJsonValue& count : level.value("failures_by_kind").toObject())
                byKind += count.toInteger();
            QCOMPARE(byKind, level.value("failed").toInteger());
            QCOMPARE(level.value("sent").toInteger(), level.value("completed").toInteger() + level.value("failed").toInteger());
        }
        const SessionLoad reopened = loadSession(session);
        QVERIFY2(reopened.session, qPrintable(reopened.error));
        QVERIFY(reopened.session->notes.contains(QStringLiteral("env:KNEE_TEST_API_KEY")));
        // The sweep keeps what it measured — the endpoint, the key's source — and it reopens to the same bytes.
        const SweepResult& reopenedSweep = reopened.session->sweeps.front().result;
        const QJsonObject storedTarget = QJsonDocument::fromJson(QByteArray::fromStdString(reopenedSweep.target)).object();
        QCOMPARE(storedTarget.value("api_key_source").toString(), QStringLiteral("env:KNEE_TEST_API_KEY"));
        QVERIFY(storedTarget.value("url").toString().startsWith(QStringLiteral("http://127.0.0.1:")));
        QVERIFY(!reopenedSweep.target.empty() && reopenedSweep.target.find(kSecret.toStdString()) == std::string::npos);
        QFile saved(session);
        QVERIFY(saved.open(QIODevice::ReadOnly));
        QCOMPARE(serializeSession(*reopened.session), saved.readAll());
    }
};

QTEST_GUILESS_MAIN(TestHttpClient)
#include "tst_http_client.moc"
