// `knee serve`'s GET /metrics read by the real thing: a Prometheus server (Debian's `prometheus`) started
// on a loopback port with a generated configuration that scrapes knee serve every 250 ms. After a known
// load, Prometheus's HTTP API (/api/v1/query) must return the counts the server itself reported (its
// summary at the stop, and what the client saw). promtool lints the exposition text (names, types).
// Skipped when prometheus is not installed (scripts/install-deps installs it).
#include "send_many.h"
#include "served.h"

#include "net/http_sweep.h"

#include <QDateTime>
#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUrlQuery>

using namespace knee::net;

namespace {

constexpr char kFixedScenario[] = R"(name: fixed 5 ms
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 256, predict_concurrency: 256}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 5}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";

QByteArray httpGet(const QUrl& url)
{
    QNetworkAccessManager nam;
    QNetworkReply* reply = nam.get(QNetworkRequest(url));
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    reply->deleteLater();
    return reply->error() == QNetworkReply::NoError ? reply->readAll() : QByteArray();
}

int freePort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort(); // closed again at once: Prometheus takes it a moment later
}

HttpTarget target(const QString& url, HttpTarget::Kind kind, bool stream)
{
    HttpTarget t;
    t.url = QUrl(url);
    t.kind = kind;
    t.stream = stream;
    t.maxTokens = 4;
    return t;
}

} // namespace

class TestServeMetrics : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QProcess m_prometheus;
    int m_prometheusPort = 0;

    // One instant query; the value of its single series, or NaN when it has none (yet).
    double query(const QString& promql)
    {
        QUrl url(QStringLiteral("http://127.0.0.1:%1/api/v1/query").arg(m_prometheusPort));
        QUrlQuery q;
        q.addQueryItem(QStringLiteral("query"), promql);
        url.setQuery(q);
        const QJsonArray result = QJsonDocument::fromJson(httpGet(url)).object().value("data").toObject().value("result").toArray();
        if (result.size() != 1)
            return std::nan("");
        return result.first().toObject().value("value").toArray().at(1).toString().toDouble();
    }

private Q_SLOTS:
    void cleanup()
    {
        if (m_prometheus.state() != QProcess::NotRunning) {
            m_prometheus.terminate();
            if (!m_prometheus.waitForFinished(10000)) {
                m_prometheus.kill();
                m_prometheus.waitForFinished();
            }
        }
    }

    // Issue 17: an endpoint sweep that scrapes the target keeps, per level, what the server said of itself
    // during the measured windows. knee serve with room for every request (no queue) holds exactly the
    // requests the closed-loop users have sent it: at 1 and 4 users, its held count reads about 1 and 4
    // (a response in transit back to its user is held by nobody) and its queue 0.
    void endpointSweepKeepsTheServersMetricsPerLevel()
    {
        QVERIFY(m_dir.isValid());
        QFile scenario(m_dir.filePath(QStringLiteral("fixed-sweep.yaml")));
        QVERIFY(scenario.open(QIODevice::WriteOnly));
        scenario.write(kFixedScenario);
        scenario.close();
        Served served(scenario.fileName());
        QVERIFY(served.start());
        HttpClient client(target(served.url("/predict"), HttpTarget::Kind::Generic, false), {});
        knee::SweepOptions o;
        o.levels = {1, 4};
        o.warmupS = 0.3;
        o.windowS = 0.6;
        o.capS = 3;
        ScraperOptions scrape;
        scrape.url = MetricsScraper::metricsUrlFor(client.target().url);
        scrape.periodMs = 100;
        const knee::SweepResult r = runHttpSweep(client, endpointScenario(QStringLiteral("fixed")), o, {}, scrape);
        QCOMPARE(r.levels.size(), std::size_t(2));
        for (const knee::SweepLevel& l : r.levels) {
            QVERIFY(l.server.has_value());
            QVERIFY2(l.server->scrapes >= 2 && l.server->failures == 0, qPrintable(QString::fromStdString(l.server->lastError)));
            const knee::ServerMetricSummary& running = l.server->metrics.at("requests_running");
            QCOMPARE(running.source, std::string("knee_requests_held"));
            QVERIFY2(running.mean > 0.5 * l.concurrency && running.max <= l.concurrency,
                     qPrintable(QStringLiteral("%1 users: held %2 (max %3)").arg(l.concurrency).arg(running.mean).arg(running.max)));
            QCOMPARE(l.server->metrics.at("requests_waiting").max, 0.0);
        }
        // A target without /metrics: the sweep measures as before, and each level says why nothing was read.
        // Measured twice: the merged level keeps every failure kind (0 where none), as one repeat's does.
        scrape.url = QUrl(served.url("/no-metrics-here"));
        o.levels = {2};
        o.repeats = 2;
        const knee::SweepResult missing = runHttpSweep(client, endpointScenario(QStringLiteral("fixed")), o, {}, scrape);
        QCOMPARE(missing.levels.front().repeats->runs.size(), std::size_t(2));
        QCOMPARE(missing.levels.front().failuresByKind.size(), std::size(kFailureKinds));
        QVERIFY(missing.levels.front().server->scrapes == 0);
        QVERIFY(missing.levels.front().completed > 0);
        QVERIFY(missing.levels.front().server->failures > 0 && missing.levels.front().server->metrics.empty());
        QVERIFY(!missing.levels.front().server->lastError.empty());
    }

    void prometheusScrapesWhatTheServerReports()
    {
        const QString prometheus = QStandardPaths::findExecutable(QStringLiteral("prometheus"));
        if (prometheus.isEmpty())
            QSKIP("prometheus is not installed (Debian package prometheus; scripts/install-deps installs it)");
        QVERIFY(m_dir.isValid());
        QFile scenario(m_dir.filePath(QStringLiteral("fixed.yaml")));
        QVERIFY(scenario.open(QIODevice::WriteOnly));
        scenario.write(kFixedScenario);
        scenario.close();

        // knee serve, with the stand-in NVML so that the GPU gauges have values the test knows.
        qputenv("KNEE_NVML_LIBRARY", FAKE_NVML_PATH);
        Served served(scenario.fileName(), {QStringLiteral("--gpu-telemetry-ms"), QStringLiteral("50")});
        qunsetenv("KNEE_NVML_LIBRARY");
        QVERIFY(served.start());

        // Prometheus on its own loopback port, scraping knee serve every 250 ms.
        m_prometheusPort = freePort();
        QFile config(m_dir.filePath(QStringLiteral("prometheus.yml")));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write(QStringLiteral("global: {scrape_interval: 250ms, scrape_timeout: 200ms}\n"
                                    "scrape_configs:\n"
                                    "  - job_name: knee\n"
                                    "    static_configs: [{targets: ['127.0.0.1:%1']}]\n")
                         .arg(served.port())
                         .toUtf8());
        config.close();
        m_prometheus.setProcessChannelMode(QProcess::MergedChannels);
        m_prometheus.start(prometheus, {QStringLiteral("--config.file=") + config.fileName(),
                                        QStringLiteral("--storage.tsdb.path=") + m_dir.filePath(QStringLiteral("data")),
                                        QStringLiteral("--web.listen-address=127.0.0.1:%1").arg(m_prometheusPort),
                                        QStringLiteral("--log.level=warn")});
        QVERIFY2(m_prometheus.waitForStarted(), qPrintable(m_prometheus.errorString()));
        // Prometheus is up, and has scraped knee serve once (an event, not a duration).
        QTRY_VERIFY_WITH_TIMEOUT(query(QStringLiteral("up{job=\"knee\"}")) == 1, 60000);

        // The load: generic, OpenAI, OpenAI streaming; and two requests the HTTP layer refuses.
        int ok = 0;
        for (const auto& [path, kind, stream, count] : {std::tuple{"/predict", HttpTarget::Kind::Generic, false, 30},
                                                        std::tuple{"/v1/chat/completions", HttpTarget::Kind::OpenAI, false, 10},
                                                        std::tuple{"/v1/chat/completions", HttpTarget::Kind::OpenAI, true, 5}}) {
            HttpClient client(target(served.url(path), kind, stream), {});
            for (const HttpOutcome& o : sendMany(client, count)) {
                QVERIFY2(o.ok(), qPrintable(o.detail));
                ++ok;
            }
        }
        for (const QByteArray& raw : {QByteArray("NONSENSE\r\n\r\n"), QByteArray("POST /predict HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")}) {
            QTcpSocket s;
            s.connectToHost(QHostAddress::LocalHost, quint16(served.port()));
            QVERIFY(s.waitForConnected(5000));
            s.write(raw);
            QVERIFY(s.waitForReadyRead(5000));
        }
        // Paths nobody serves, and a POST to /metrics: counted, but a path never becomes a label value.
        for (const QByteArray& raw : {QByteArray("GET /nowhere/secret-path HTTP/1.1\r\n\r\n"), QByteArray("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")}) {
            QTcpSocket s;
            s.connectToHost(QHostAddress::LocalHost, quint16(served.port()));
            QVERIFY(s.waitForConnected(5000));
            s.write(raw);
            QVERIFY(s.waitForReadyRead(5000));
        }
        const double loadEnded = double(QDateTime::currentMSecsSinceEpoch()) / 1000.0;
        const QByteArray page = httpGet(QUrl(served.url("/metrics")));
        QVERIFY2(page.contains("knee_http_requests_total{code=\"404\",handler=\"other\"} 1\n"), page.constData());
        QVERIFY(page.contains("knee_http_requests_total{code=\"405\",handler=\"/metrics\"} 1\n"));
        QVERIFY(!page.contains("nowhere"));

        // The text itself passes Prometheus's own linter (naming rules, _total counters, histogram shape).
        QProcess promtool;
        promtool.start(QStringLiteral("promtool"), {QStringLiteral("check"), QStringLiteral("metrics")});
        QVERIFY(promtool.waitForStarted());
        promtool.write(page);
        promtool.closeWriteChannel();
        QVERIFY(promtool.waitForFinished(30000));
        QVERIFY2(promtool.exitCode() == 0, promtool.readAll().constData());

        // Wait for a scrape that began after the load ended (by Prometheus's own sample timestamps).
        // (An instant query's own timestamp is when it was evaluated; timestamp() gives the sample's.)
        QTRY_VERIFY_WITH_TIMEOUT(query(QStringLiteral("timestamp(knee_requests_total{outcome=\"completed\"})")) > loadEnded + 0.01, 60000);
        const double completed = query(QStringLiteral("knee_requests_total{outcome=\"completed\"}"));
        const double answered200 = query(QStringLiteral("sum(knee_http_requests_total{handler=~\"/predict|/v1/chat/completions\",code=\"200\"})"));
        const double byPredict = query(QStringLiteral("knee_http_requests_total{handler=\"/predict\",code=\"200\"}"));
        const double durations = query(QStringLiteral("knee_request_duration_seconds_count"));
        const double predictStage = query(QStringLiteral("knee_stage_duration_seconds_count{stage=\"predict\"}"));
        const double predictUnder2ms = query(QStringLiteral("knee_stage_duration_seconds_bucket{stage=\"predict\",le=\"0.0025\"}"));
        const double predictUpTo5ms = query(QStringLiteral("knee_stage_duration_seconds_bucket{stage=\"predict\",le=\"0.005\"}"));
        const double predictCalls = query(QStringLiteral("knee_predict_calls_total"));
        const double malformed = query(QStringLiteral("knee_http_malformed_requests_total"));
        const double readyReplicas = query(QStringLiteral("knee_replicas{state=\"ready\"}"));
        const double power1 = query(QStringLiteral("knee_gpu_power_watts{gpu=\"1\"}"));
        const double gpuUp = query(QStringLiteral("knee_gpu_telemetry_up"));

        int exitCode = -1;
        const QJsonObject summary = served.stop(exitCode);
        QCOMPARE(exitCode, 0);
        const double reported = summary.value("completed").toDouble();
        QCOMPARE(reported, double(ok)); // the server did what the client saw
        QCOMPARE(completed, reported);  // and Prometheus holds what the server reported
        QCOMPARE(answered200, reported);
        QCOMPARE(byPredict, 30.0);
        QCOMPARE(durations, reported);
        QCOMPARE(predictStage, reported);
        QCOMPARE(predictUnder2ms, 0.0);     // a cumulative histogram: predict takes exactly 5 ms, so the
        QCOMPARE(predictUpTo5ms, reported); // bucket le=0.005 holds every request and le=0.0025 none
        QCOMPARE(predictCalls, reported);   // one predict call per request (no batching)
        QCOMPARE(malformed, summary.value("bad_requests").toDouble());
        QCOMPARE(malformed, 2.0);
        QCOMPARE(readyReplicas, 1.0);
        QCOMPARE(gpuUp, 1.0);
        QCOMPARE(power1, 124.456); // the stand-in NVML's GPU 1
    }
};

QTEST_GUILESS_MAIN(TestServeMetrics)
#include "tst_serve_metrics.moc"
