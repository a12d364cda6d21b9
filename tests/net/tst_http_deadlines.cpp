// Responses that never end (issue 12, item 8): an endless body, an endless stream (paced, or as fast
// as it goes), a trickle of one byte at a time. Each request ends, on both transports, with a failure
// kind — `timeout` at the request timeout, `malformed` at the size limit — and a sweep against such
// an endpoint says it measured nothing and exits 3. Also: a URL whose port is out of range is refused
// with the reason. Counts and kinds only, no timed assertions.
#include "raw_server.h"
#include "send_many.h"

#include "net/http_sweep.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

using namespace knee;
using namespace knee::net;

class TestHttpDeadlines : public QObject {
    Q_OBJECT
    RawServer m_raw;

    // Runs the knee binary with `args` while this thread's event loop serves m_raw.
    QProcess* runKnee(const QStringList& args)
    {
        auto* p = new QProcess(this);
        p->setProgram(QStringLiteral(KNEE_BINARY));
        p->setArguments(args);
        QEventLoop loop;
        QObject::connect(p, &QProcess::finished, &loop, &QEventLoop::quit);
        p->start();
        loop.exec();
        return p;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_raw.start()); }

    void endlessResponsesEnd_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<bool>("stream");
        QTest::addColumn<int>("requestTimeoutMs");
        QTest::addColumn<QString>("expected"); // a failure kind's name
        QTest::addColumn<QString>("detail");   // words of its detail
        QTest::addColumn<int>("transport");
        for (const auto& [name, transport] : {std::pair{"socket", HttpTransport::Socket}, std::pair{"qnam", HttpTransport::Qnam}}) {
            auto row = [&, name = name](const char* what) -> QTestData& { return QTest::addRow("%s: %s", name, what); };
            const int t = int(transport);
            // A long request timeout: the size limit ends these.
            row("endless body") << "/endless" << false << 120'000 << "malformed" << "larger than 16 MiB" << t;
            row("endless stream, flooding") << "/endless-sse-flood" << true << 120'000 << "malformed" << "larger than 64 MiB" << t;
            // Never silent for long, never large: the request timeout ends these.
            row("endless stream, paced") << "/endless-sse" << true << 800 << "timeout" << "request timeout" << t;
            row("trickle") << "/trickle" << false << 800 << "timeout" << "request timeout" << t;
        }
    }

    void endlessResponsesEnd()
    {
        QFETCH(QString, path);
        QFETCH(bool, stream);
        QFETCH(int, requestTimeoutMs);
        QFETCH(QString, expected);
        QFETCH(QString, detail);
        QFETCH(int, transport);
        HttpTarget t;
        t.url = QUrl(m_raw.url(path.toLatin1().constData()));
        t.kind = stream ? HttpTarget::Kind::OpenAI : HttpTarget::Kind::Generic;
        t.stream = stream;
        t.connectTimeoutMs = 5000;
        t.responseTimeoutMs = 60'000; // no row is silent for long: only the request timeout or the size limit may end one
        t.requestTimeoutMs = requestTimeoutMs;
        QVERIFY2(t.validate().isEmpty(), qPrintable(t.validate()));
        HttpClient client(t, {}, HttpTransport(transport));
        constexpr int kRequests = 3;
        const std::vector<HttpOutcome> outcomes = sendMany(client, kRequests);
        QCOMPARE(int(outcomes.size()), kRequests);
        for (const HttpOutcome& o : outcomes) {
            QVERIFY(o.failure);
            const QString kind = QString::fromLatin1(failureKindName(*o.failure));
            QVERIFY2(kind == expected && o.detail.contains(detail), qPrintable(kind + QStringLiteral(": ") + o.detail));
        }
        const HttpCounters& c = client.counters();
        QCOMPARE(c.sent, kRequests);
        QCOMPARE(c.failed(), kRequests); // every one ended, and counts once
        QCOMPARE(client.inFlight(), 0);
    }

    // A sweep against a trickle: every level fails its requests as `timeout`, the kinds add up, the
    // sweep says it measured nothing and exits 3 (not 0 with a recommendation of 0).
    void sweepOfAnEndpointThatNeverAnswersWhole()
    {
        QProcess* p = runKnee({QStringLiteral("sweep"), QStringLiteral("--target"), m_raw.url("/trickle"), QStringLiteral("--levels"),
                               QStringLiteral("1,2"), QStringLiteral("--warmup-s"), QStringLiteral("0.1"), QStringLiteral("--window-s"),
                               QStringLiteral("0.4"), QStringLiteral("--cap-s"), QStringLiteral("0.8"), QStringLiteral("--request-timeout-ms"),
                               QStringLiteral("150"), QStringLiteral("--json")});
        const QByteArray out = p->readAllStandardOutput(), err = p->readAllStandardError();
        QCOMPARE(p->exitCode(), 3);
        QVERIFY2(err.contains("nothing measured"), err.constData());
        const QJsonObject result = QJsonDocument::fromJson(out).object();
        QCOMPARE(result.value("nothing_measured").toBool(), true);
        QVERIFY(result.value("recommendation").toObject().value("concurrency_target").toObject().value("value").isNull());
        qint64 timeouts = 0;
        for (const QJsonValue& v : result.value("levels").toArray()) {
            const QJsonObject level = v.toObject();
            QCOMPARE(level.value("completed").toInteger(), 0);
            qint64 byKind = 0;
            for (const QJsonValue& count : level.value("failures_by_kind").toObject())
                byKind += count.toInteger();
            QCOMPARE(byKind, level.value("failed").toInteger());
            QCOMPARE(level.value("failures_by_kind").toObject().value("timeout").toInteger(), level.value("failed").toInteger());
            QCOMPARE(level.value("sent").toInteger(), level.value("failed").toInteger());
            timeouts += level.value("failed").toInteger();
        }
        QVERIFY(timeouts > 0);

        // The text output says so too.
        QProcess* text = runKnee({QStringLiteral("sweep"), QStringLiteral("--target"), m_raw.url("/trickle"), QStringLiteral("--levels"),
                                  QStringLiteral("1"), QStringLiteral("--warmup-s"), QStringLiteral("0.1"), QStringLiteral("--window-s"),
                                  QStringLiteral("0.3"), QStringLiteral("--cap-s"), QStringLiteral("0.3"), QStringLiteral("--request-timeout-ms"),
                                  QStringLiteral("100")});
        QCOMPARE(text->exitCode(), 3);
        QVERIFY2(text->readAllStandardOutput().contains("Recommended concurrency_target: none (no level completed a request)"),
                 "no plain 'none' in the text output");
    }

    void badUrlsSayWhy_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("says");
        QTest::newRow("port out of range") << "http://127.0.0.1:99999/predict" << "port must be a number from 1 to 65535";
        QTest::newRow("negative port") << "http://127.0.0.1:-1/" << "port must be a number from 1 to 65535";
        QTest::newRow("port zero") << "http://127.0.0.1:0/" << "port must be a number from 1 to 65535";
        QTest::newRow("bad host") << "http://[::1:80/" << "the URL is not valid";
        QTest::newRow("not http") << "ftp://127.0.0.1/" << "must be http:// or https://";
    }
    void badUrlsSayWhy()
    {
        QFETCH(QString, url);
        QFETCH(QString, says);
        QProcess p;
        p.start(QStringLiteral(KNEE_BINARY), {QStringLiteral("sweep"), QStringLiteral("--target"), url});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(says), qPrintable(err));
        QVERIFY2(!err.contains(QLatin1String("got ''")), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestHttpDeadlines)
#include "tst_http_deadlines.moc"
