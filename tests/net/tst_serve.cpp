// `knee serve` (the built binary, on a free loopback port) driven by knee's own HTTP client:
// generic JSON and OpenAI (streaming and not), a measured level, malformed requests, a port in use,
// and the summary at SIGTERM, whose counts must match what the client saw. The client's exchanges
// run over both of its transports (its own HTTP/1.1 client, and QNetworkAccessManager).
#include "send_many.h"
#include "served.h"
#include "net/http_sweep.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace knee;
using namespace knee::net;

namespace {

constexpr char kFixedScenario[] = R"(name: fixed 5 ms
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 256, predict_concurrency: 256}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 5}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";
// Continuous batching: tokens stream out one decode step (2 ms) apart.
constexpr char kStreamingScenario[] = R"(name: streaming
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 64, predict_concurrency: 64}
model:
  preprocess: 0
  predict: {dist: constant, mean_ms: 20}
  batching: {mode: continuous, max_sequences: 64, output_tokens: {dist: constant, mean: 50}}
  postprocess: 0
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";

HttpTarget target(const QString& url, HttpTarget::Kind kind, bool stream, int maxTokens)
{
    HttpTarget t;
    t.url = QUrl(url);
    t.kind = kind;
    t.stream = stream;
    t.maxTokens = maxTokens;
    return t;
}

QByteArray rawExchange(int port, const QByteArray& request)
{
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, quint16(port));
    if (!s.waitForConnected(5000))
        return {};
    s.write(request);
    QByteArray answer;
    while (s.waitForReadyRead(5000)) {
        answer += s.readAll();
        if (answer.contains("\r\n\r\n") && answer.contains('}'))
            break;
    }
    return answer;
}

} // namespace

class TestServe : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_fixed, m_streaming;

    QString write(const char* name, const char* text)
    {
        QFile f(m_dir.filePath(QLatin1String(name)));
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return f.fileName();
    }

    static void transports()
    {
        QTest::addColumn<int>("transport");
        QTest::newRow("socket") << int(HttpTransport::Socket);
        QTest::newRow("qnam") << int(HttpTransport::Qnam);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_fixed = write("fixed.yaml", kFixedScenario);
        m_streaming = write("streaming.yaml", kStreamingScenario);
    }

    void genericAndOpenAI_data() { transports(); }
    void genericAndOpenAI()
    {
        QFETCH(int, transport);
        Served served(m_fixed);
        const QJsonObject listening = served.started();
        QCOMPARE(listening.value("event").toString(), QStringLiteral("listening"));
        QCOMPARE(listening.value("host").toString(), QStringLiteral("127.0.0.1")); // loopback by default
        served.setPort(listening.value("port").toInt());
        QVERIFY(served.port() > 0);

        HttpClient generic(target(served.url("/predict"), HttpTarget::Kind::Generic, false, 16), {}, HttpTransport(transport));
        int ok = 0;
        for (const HttpOutcome& o : sendMany(generic, 40)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            ok += o.ok();
        }
        HttpClient chat(target(served.url("/v1/chat/completions"), HttpTarget::Kind::OpenAI, false, 9), {}, HttpTransport(transport));
        for (const HttpOutcome& o : sendMany(chat, 10)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            QCOMPARE(o.tokens, 9);
            ok += o.ok();
        }
        // A model without a decode loop streams its whole answer in one chunk.
        HttpClient stream(target(served.url("/v1/chat/completions"), HttpTarget::Kind::OpenAI, true, 5), {}, HttpTransport(transport));
        for (const HttpOutcome& o : sendMany(stream, 10)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            QCOMPARE(o.tokens, 5);
            QVERIFY(o.ttft > 0 && o.ttft <= o.latency);
            ok += o.ok();
        }

        // Malformed requests get a 400; the server goes on.
        QVERIFY(rawExchange(served.port(), "NONSENSE\r\n\r\n").startsWith("HTTP/1.1 400"));
        QVERIFY(rawExchange(served.port(), "POST /predict HTTP/1.1\r\nContent-Length: 5\r\n\r\n{oops").startsWith("HTTP/1.1 400"));
        QVERIFY(rawExchange(served.port(), "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}").startsWith("HTTP/1.1 400"));
        QVERIFY(rawExchange(served.port(), "POST /predict HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n").startsWith("HTTP/1.1 413"));
        QVERIFY(rawExchange(served.port(), "GET /nowhere HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 404"));
        QVERIFY(rawExchange(served.port(), "GET /health HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200"));

        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode);
        QCOMPARE(exitCode, 0);
        QCOMPARE(summary.value("event").toString(), QStringLiteral("stopped"));
        QCOMPARE(summary.value("completed").toInt(), ok); // what the client saw is what the engine did
        QCOMPARE(summary.value("failed").toInt(), 0);
        QCOMPARE(summary.value("bad_requests").toInt(), 2);                       // broken HTTP (request line, size)
        QCOMPARE(summary.value("by_status").toObject().value("400").toInt(), 2); // broken JSON bodies
        QCOMPARE(summary.value("by_status").toObject().value("200").toInt(), ok + 1); // + /health
    }

    void streamsTokens_data() { transports(); }
    void streamsTokens()
    {
        QFETCH(int, transport);
        Served served(m_streaming);
        served.setPort(served.started().value("port").toInt());
        QVERIFY(served.port() > 0);
        constexpr int kTokens = 7;
        HttpClient stream(target(served.url("/v1/chat/completions"), HttpTarget::Kind::OpenAI, true, kTokens), {}, HttpTransport(transport));
        int spacedStreams = 0;
        for (const HttpOutcome& o : sendMany(stream, 12)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            QCOMPARE(o.tokens, kTokens); // the client's max_tokens sets the response length
            QVERIFY(o.ttft > 0);
            QVERIFY(o.ttft < o.latency); // six more decode steps follow the first token
            QVERIFY(o.itl >= 0);
            spacedStreams += o.itl > 0;
        }
        // On a loaded machine the client may read several chunks of one stream at once (no gap between
        // them); the decode steps take 20 ms (at 2 ms, every stream of the ASan stage on a busy 2-core
        // machine came in one read), so most streams show their gaps.
        QVERIFY(spacedStreams > 0);
        // A level against the server: a SweepLevel with streaming figures and no failures.
        SweepOptions options;
        options.warmupS = 0.2;
        options.windowS = 0.3;
        options.minWindows = 2;
        options.capS = 0.9;
        const SweepLevel level = measureHttpLevel(stream, 4, options);
        QVERIFY(level.completed > 0);
        QCOMPARE(level.failed, 0);
        QVERIFY(std::all_of(level.failuresByKind.begin(), level.failuresByKind.end(), [](const auto& kind) { return kind.second == 0; }));
        QVERIFY(level.ttft.count > 0 && level.itl.count > 0);
        QCOMPARE(level.outputTokens, level.completed * kTokens);
        QVERIFY(level.ttft.p50 < level.latency.p50);
    }

    // With model.profile, every decode step the server's engine runs is a forward pass of the model on
    // the real predict stage (the CPU here), and the listening line says so.
    void servesTheRealModel()
    {
        QByteArray yaml(kStreamingScenario);
        yaml.replace("  postprocess: 0\n", "  postprocess: 0\n  profile: tiny\n");
        const QString path = write("real.yaml", yaml.constData());
        qputenv("KNEE_PREDICT_BACKEND", "cpu"); // inherited by the server process
        Served served(path);
        const QJsonObject listening = served.started();
        qunsetenv("KNEE_PREDICT_BACKEND");
        QVERIFY2(listening.value("predict_stage").toString().contains("model 'tiny'"),
                 qPrintable(listening.value("predict_stage").toString()));
        QVERIFY(listening.value("predict_stage").toString().contains("CPU", Qt::CaseInsensitive));
        served.setPort(listening.value("port").toInt());
        HttpClient stream(target(served.url("/v1/chat/completions"), HttpTarget::Kind::OpenAI, true, 5), {});
        for (const HttpOutcome& o : sendMany(stream, 8)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            QCOMPARE(o.tokens, 5);
        }
        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode);
        QCOMPARE(exitCode, 0);
        QCOMPARE(summary.value("completed").toInt(), 8);
    }

    void refusesBadInput()
    {
        Served first(m_fixed);
        first.setPort(first.started().value("port").toInt());
        QVERIFY(first.port() > 0);
        QProcess second; // the same port: a clear message and exit code 2
        second.start(QStringLiteral(KNEE_BINARY), {QStringLiteral("serve"), m_fixed, QStringLiteral("--port"), QString::number(first.port())});
        QVERIFY(second.waitForFinished(20000));
        QCOMPARE(second.exitCode(), 2);
        QVERIFY(second.readAllStandardError().contains("cannot listen"));

        QProcess badScenario;
        badScenario.start(QStringLiteral(KNEE_BINARY), {QStringLiteral("serve"), QStringLiteral(KNEE_TEST_DATA "/scenarios/bad_types.yaml")});
        QVERIFY(badScenario.waitForFinished(20000));
        QCOMPARE(badScenario.exitCode(), 2);

        QProcess badHost;
        badHost.start(QStringLiteral(KNEE_BINARY), {QStringLiteral("serve"), m_fixed, QStringLiteral("--host"), QStringLiteral("not-an-ip")});
        QVERIFY(badHost.waitForFinished(20000));
        QCOMPARE(badHost.exitCode(), 2);
    }
};

QTEST_GUILESS_MAIN(TestServe)
#include "tst_serve.moc"
