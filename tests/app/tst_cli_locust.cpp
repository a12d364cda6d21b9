// `knee sweep --load-generator locust` on the built binary (issue 18): Locust's master and two local
// workers (Debian's python3-locust, /usr/bin/locust) against `knee serve` on loopback give the same
// levels as knee's own client; every request a worker sent is counted once; bad input and a master
// whose workers never connect end with a clear error, never a hang, and leave no process behind.
// Skipped when /usr/bin/locust is missing (scripts/install-deps installs it).
#include "cli_process.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

namespace {

const QString kLocust = QStringLiteral("/usr/bin/locust"); // never a python3 first on PATH (it may lack Locust)

using Result = kneecli::CliResult;
Result knee(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
{
    kneecli::CliOptions o;
    o.environment = env;
    return kneecli::runCli(QStringLiteral(KNEE_BINARY), args, o);
}

// A fixed 50 ms per request, room for every level: throughput is users / 50 ms on either generator. Long
// enough that Python's own cost per request (~1-2 ms) stays a few percent of it.
const QByteArray kFixed = "name: fixed 50 ms\n"
                          "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 256, predict_concurrency: 256}\n"
                          "model: {preprocess: 0, predict: {dist: constant, mean_ms: 50}, postprocess: 0}\n"
                          "workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}\n";

// Locust processes of this test's sweeps: knee writes its locustfile under TMPDIR, which initTestCase points
// at the test's own directory, so another Locust run on the machine is not counted.
int locustProcessesLeft(const QString& dir)
{
    int n = 0;
    for (const QString& pid : QDir(QStringLiteral("/proc")).entryList(QDir::Dirs)) {
        QFile cmd(QStringLiteral("/proc/%1/cmdline").arg(pid));
        const QByteArray line = cmd.open(QIODevice::ReadOnly) ? cmd.readAll() : QByteArray();
        if (line.contains("knee_locustfile.py") && line.contains(dir.toUtf8()))
            ++n;
    }
    return n;
}

} // namespace

class TestCliLocust : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QProcess m_serve;
    QString m_url;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        qputenv("TMPDIR", m_dir.path().toUtf8()); // every knee started here writes its locustfile below m_dir
        const QString scenario = m_dir.filePath(QStringLiteral("fixed.yaml"));
        QFile f(scenario);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(kFixed);
        f.close();
        m_serve.setProgram(QStringLiteral(KNEE_BINARY));
        m_serve.setArguments({QStringLiteral("serve"), scenario, QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--json")});
        m_serve.start();
        QVERIFY(m_serve.waitForReadyRead(20'000));
        const QJsonObject listening = QJsonDocument::fromJson(m_serve.readLine()).object();
        QVERIFY2(listening.value("port").toInt() > 0, m_serve.readAllStandardError().constData());
        m_url = QStringLiteral("http://127.0.0.1:%1/predict").arg(listening.value("port").toInt());
    }
    void cleanupTestCase()
    {
        m_serve.terminate();
        if (!m_serve.waitForFinished(30'000))
            m_serve.kill();
        QCOMPARE(locustProcessesLeft(m_dir.path()), 0); // every master and worker reaped, on every path
    }

    // Bad input is found before anything starts: exit 2, the reason on stderr.
    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("locust");
        QTest::addColumn<QString>("says");
        QTest::addRow("no locust there") << QStringList{} << QStringLiteral("/nonexistent/locust") << QStringLiteral("install python3-locust");
        QTest::addRow("workers 0") << QStringList{"--workers", "0"} << QString() << QStringLiteral("--workers expects");
        QTest::addRow("another generator") << QStringList{"--load-generator", "k6"} << QString() << QStringLiteral("knee or locust");
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, locust);
        QFETCH(QString, says);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        // The flags are refused whatever is installed: rows without a locust of their own get a stand-in.
        env.insert(QStringLiteral("KNEE_LOCUST_BIN"), locust.isEmpty() ? QStringLiteral("/bin/true") : locust);
        const QStringList base{QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"), QStringLiteral("locust")};
        const Result r = knee(base + args, env);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(says.toUtf8()), r.err.constData());
        QVERIFY(r.out.isEmpty());
        // Without locust, the Locust-only flags are refused too.
        const Result plain = knee({QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--workers"), QStringLiteral("2")});
        QCOMPARE(plain.exitCode, 2);
    }

    // The same levels from Locust as from knee's own client, and every record counted once.
    void sameLevelsAsOwnClient()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing (Debian's python3-locust; scripts/install-deps installs it)");
        const QString spool = m_dir.filePath(QStringLiteral("spool"));
        const QStringList sweep{QStringLiteral("sweep"), QStringLiteral("--target"), m_url,
                                QStringLiteral("--levels"), QStringLiteral("1,2,4"), QStringLiteral("--warmup-s"), QStringLiteral("1"),
                                QStringLiteral("--window-s"), QStringLiteral("1"), QStringLiteral("--cap-s"), QStringLiteral("3"),
                                QStringLiteral("--json")};
        const Result viaLocust = knee(sweep + QStringList{QStringLiteral("--load-generator"), QStringLiteral("locust"), QStringLiteral("--workers"),
                                                          QStringLiteral("2"), QStringLiteral("--locust-spool"), spool,
                                                          QStringLiteral("--out"), m_dir.filePath(QStringLiteral("live.json"))});
        QVERIFY2(viaLocust.exitCode == 0, viaLocust.err.constData());
        const Result own = knee(sweep);
        QVERIFY2(own.exitCode == 0, own.err.constData());

        const QJsonObject l = viaLocust.json(), o = own.json();
        QCOMPARE(l.value("mode").toString(), QStringLiteral("http"));
        QCOMPARE(l.value("target").toObject().value("load_generator").toObject().value("name").toString(), QStringLiteral("locust"));
        QCOMPARE(l.value("target").toObject().value("load_generator").toObject().value("workers").toInt(), 2);
        QVERIFY(l.value("recommendation").toObject().contains("concurrency_target"));
        const QJsonArray ll = l.value("levels").toArray(), ol = o.value("levels").toArray();
        QCOMPARE(ll.size(), 3);
        QCOMPARE(ol.size(), 3);
        std::int64_t measured = 0;
        for (int i = 0; i < 3; ++i) {
            const QJsonObject a = ll[i].toObject(), b = ol[i].toObject();
            const int users = a.value("concurrency").toInt();
            QCOMPARE(users, 1 << i);
            // Every record the workers reported in the measured windows is counted once: sent = completed + failed.
            QCOMPARE(a.value("failed").toInt(), 0);
            QVERIFY(a.value("completed").toInt() > 0);
            QCOMPARE(a.value("sent").toInteger(), a.value("completed").toInteger() + a.value("failed").toInteger());
            QCOMPARE(a.value("latency_ms").toObject().value("count").toInteger(), a.value("completed").toInteger());
            measured += a.value("completed").toInteger();
            const QJsonObject g = a.value("load_generator").toObject();
            QCOMPARE(g.value("name").toString(), QStringLiteral("locust"));
            QCOMPARE(g.value("workers").toInt(), 2);
            QCOMPARE(g.value("users_asked").toInt(), users);
            QCOMPARE(g.value("users_min").toInt(), users);
            QVERIFY(!g.value("records_lost").toBool());
            QVERIFY2(g.value("cpu_max_pct").toDouble() <= 90, qPrintable(g.value("why").toString()));
            // Nothing but a late event loop may mark these levels: on a busy shared machine (ctest -j2) a worker's
            // timers can run late, which the 10 % comparisons below bound anyway.
            if (g.value("behind").toBool())
                QVERIFY2(g.value("why").toString().startsWith(QStringLiteral("a worker's event loop")), qPrintable(g.value("why").toString()));
            QVERIFY(!b.contains("load_generator"));
            // Within 10 % of knee's own client. The server takes a fixed 50 ms, so both should see ~50 ms
            // and users / 50 ms. The issue asks 5 %, which geventhttpclient meets on a quiet machine (five runs
            // in a row: p50 50.7-51.3 ms against 50.2-50.7 ms, throughput within 1.8 %; BENCHMARKS.md), but a
            // window of 1 s holds only 20-80 responses (one more or less at 1 user is 5 %), and on a shared
            // 2-core CI machine (ctest -j2), with knee serve, knee, a master and two Python workers on it,
            // another test taking the cores delays the workers most (against the reference server below, one
            // run of those five was 6.6 % off in throughput and 7.2 % in p95). 10 % still fails a window that
            // counts the warm-up or a record twice (+33 % or more) or latency taken from the wrong clock.
            const double lt = a.value("throughput_rps").toDouble(), ot = b.value("throughput_rps").toDouble();
            const double lp = a.value("latency_ms").toObject().value("p50").toDouble(), op = b.value("latency_ms").toObject().value("p50").toDouble();
            // The figures, passed or not: how close the generators came is what the bounds below are tuned on.
            qInfo("%d users: locust %.1f req/s, p50 %.2f ms; own %.1f req/s, p50 %.2f ms", users, lt, lp, ot, op);
            QVERIFY2(std::abs(lt - ot) <= 0.10 * ot, qPrintable(QStringLiteral("%1 users: locust %2 req/s, own %3").arg(users).arg(lt).arg(ot)));
            QVERIFY2(std::abs(lp - op) <= 0.10 * op, qPrintable(QStringLiteral("%1 users: locust p50 %2 ms, own %3").arg(users).arg(lp).arg(op)));
            QVERIFY(lp >= 50); // never below the server's own time: latency is measured end to end
        }
        // The spool holds every record the workers timed, the warm-ups' included: at least the measured ones.
        std::int64_t spooled = 0;
        for (const QString& name : QDir(spool).entryList({QStringLiteral("worker-*.jsonl")}, QDir::Files)) {
            QFile f(QDir(spool).filePath(name));
            QVERIFY(f.open(QIODevice::ReadOnly));
            while (!f.atEnd()) {
                const QJsonObject rec = QJsonDocument::fromJson(f.readLine()).object();
                QVERIFY(rec.contains("end") && rec.contains("level"));
                ++spooled;
            }
        }
        QVERIFY2(spooled >= measured, qPrintable(QStringLiteral("%1 spooled, %2 measured").arg(spooled).arg(measured)));

        // The session reopens (its levels' load_generator figures included), and so does the spool's import,
        // whose levels replay through the same windows: the same levels, within a window edge's few records.
        const Result report = knee({QStringLiteral("report"), m_dir.filePath(QStringLiteral("live.json")), QStringLiteral("--out"),
                                    m_dir.filePath(QStringLiteral("live.html"))});
        QVERIFY2(report.exitCode == 0, report.err.constData());
        QStringList spoolFiles;
        for (const QString& name : QDir(spool).entryList({QStringLiteral("worker-*.jsonl")}, QDir::Files))
            spoolFiles << QDir(spool).filePath(name);
        const Result imported = knee(QStringList{QStringLiteral("import"), QStringLiteral("--locust")} + spoolFiles
                                     + QStringList{QStringLiteral("--out"), m_dir.filePath(QStringLiteral("imported.json")), QStringLiteral("--warmup-s"),
                                                   QStringLiteral("1"), QStringLiteral("--window-s"), QStringLiteral("1"), QStringLiteral("--json")});
        QVERIFY2(imported.exitCode == 0, imported.err.constData());
        const QJsonArray il = imported.json().value("levels").toArray();
        QCOMPARE(il.size(), 3);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(il[i].toObject().value("concurrency").toInt(), 1 << i);
            const double it = il[i].toObject().value("throughput_rps").toDouble(), lt = ll[i].toObject().value("throughput_rps").toDouble();
            QVERIFY2(std::abs(it - lt) <= 0.05 * lt, qPrintable(QStringLiteral("%1 users: imported %2 req/s, live %3").arg(1 << i).arg(it).arg(lt)));
        }
        const Result importedReport = knee({QStringLiteral("report"), m_dir.filePath(QStringLiteral("imported.json")), QStringLiteral("--out"),
                                            m_dir.filePath(QStringLiteral("imported.html"))});
        QVERIFY2(importedReport.exitCode == 0, importedReport.err.constData());
        // A spool line that is not a record: exit 2, the file and line named, nothing written.
        const QString bad = m_dir.filePath(QStringLiteral("bad.jsonl"));
        QFile b(bad);
        QVERIFY(b.open(QIODevice::WriteOnly));
        b.write("{\"level\": 0}\n");
        b.close();
        const Result refused = knee({QStringLiteral("import"), QStringLiteral("--locust"), bad, QStringLiteral("--out"), m_dir.filePath(QStringLiteral("no.json"))});
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("bad.jsonl:1"), refused.err.constData());
        QVERIFY(!QFileInfo::exists(m_dir.filePath(QStringLiteral("no.json"))));
    }

    // A rate sweep on Locust, each level twice (--repeats): one arrivals user per worker sends its share of
    // the rate on schedule (an open loop, latency from the scheduled time). The same levels as knee's own open
    // loop; every request the workers sent is counted (arrivals at the rate asked); knee scrapes the server's
    // /metrics beside the load; the spool imports as the same rate levels, their repeats merged again.
    void rateSweepAsOwnClient()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing");
        const QString spool = m_dir.filePath(QStringLiteral("rate-spool"));
        // Evenly spaced arrivals: the two generators' counts then differ by their timing, not by Poisson noise.
        const QStringList sweep{QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--rates"), QStringLiteral("20,60"),
                                QStringLiteral("--arrival"), QStringLiteral("constant"), QStringLiteral("--warmup-s"), QStringLiteral("1"),
                                QStringLiteral("--window-s"), QStringLiteral("1.5"), QStringLiteral("--cap-s"), QStringLiteral("4.5"),
                                QStringLiteral("--repeats"), QStringLiteral("2"), QStringLiteral("--json")};
        const Result viaLocust = knee(sweep + QStringList{QStringLiteral("--load-generator"), QStringLiteral("locust"), QStringLiteral("--workers"),
                                                          QStringLiteral("2"), QStringLiteral("--locust-spool"), spool, QStringLiteral("--scrape")});
        QVERIFY2(viaLocust.exitCode == 0, viaLocust.err.constData());
        const Result own = knee(sweep);
        QVERIFY2(own.exitCode == 0, own.err.constData());
        const QJsonArray ll = viaLocust.json().value("levels").toArray(), ol = own.json().value("levels").toArray();
        QCOMPARE(ll.size(), 2);
        QCOMPARE(ol.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject a = ll[i].toObject(), b = ol[i].toObject();
            const double rate = i == 0 ? 20 : 60;
            QCOMPARE(a.value("rate_rps").toDouble(), rate);
            QCOMPARE(a.value("failed").toInt(), 0);
            // Each level ran twice (two levels for the master), merged as knee's own repeats are.
            QCOMPARE(a.value("repeats").toObject().value("runs").toArray().size(), 2);
            const QJsonObject g = a.value("load_generator").toObject();
            QCOMPARE(g.value("workers").toInt(), 2);
            QCOMPARE(g.value("users_asked").toInt(), 2); // one arrivals user per worker
            // knee scraped knee serve's /metrics during the measured windows, beside Locust's load.
            const QJsonObject server = a.value("server_metrics").toObject();
            QVERIFY2(server.value("scrapes").toInt() >= 1, QJsonDocument(server).toJson().constData());
            QCOMPARE(server.value("failures").toInt(), 0);
            QVERIFY(!g.value("records_lost").toBool());
            if (g.value("behind").toBool()) // as above: only a late event loop on a busy machine
                QVERIFY2(g.value("why").toString().startsWith(QStringLiteral("a worker's event loop")), qPrintable(g.value("why").toString()));
            // The workers sent at the rate asked (evenly spaced: within 10 %, a window edge's few requests), and
            // knee did not judge them behind on it.
            const double achieved = a.value("achieved_rps").toDouble();
            QVERIFY2(std::abs(achieved - rate) <= 0.10 * rate, qPrintable(QStringLiteral("asked %1 req/s, sent %2").arg(rate).arg(achieved)));
            QVERIFY(!a.value("generator_behind").toBool());
            // Below capacity the server answers what is sent: throughput near the rate, p50 near its 50 ms, as
            // knee's own open loop measures (10 %, the reasons above; throughput is a Poisson count too).
            const double lt = a.value("throughput_rps").toDouble(), ot = b.value("throughput_rps").toDouble();
            const double lp = a.value("latency_ms").toObject().value("p50").toDouble(), op = b.value("latency_ms").toObject().value("p50").toDouble();
            QVERIFY2(std::abs(lt - achieved) <= 0.10 * achieved, qPrintable(QStringLiteral("%1 req/s: answered %2, sent %3").arg(rate).arg(lt).arg(achieved)));
            qInfo("%.0f req/s: locust %.1f req/s, p50 %.2f ms; own %.1f req/s, p50 %.2f ms", rate, lt, lp, ot, op);
            QVERIFY2(std::abs(lt - ot) <= 0.10 * ot, qPrintable(QStringLiteral("%1 req/s: locust %2 req/s, own %3").arg(rate).arg(lt).arg(ot)));
            QVERIFY2(std::abs(lp - op) <= 0.10 * op, qPrintable(QStringLiteral("%1 req/s: locust p50 %2 ms, own %3").arg(rate).arg(lp).arg(op)));
            QVERIFY(lp >= 50);
        }
        QStringList spoolFiles;
        for (const QString& name : QDir(spool).entryList({QStringLiteral("worker-*.jsonl")}, QDir::Files))
            spoolFiles << QDir(spool).filePath(name);
        QCOMPARE(spoolFiles.size(), 2);
        const Result imported = knee(QStringList{QStringLiteral("import"), QStringLiteral("--locust")} + spoolFiles
                                     + QStringList{QStringLiteral("--out"), m_dir.filePath(QStringLiteral("rates.json")), QStringLiteral("--warmup-s"),
                                                   QStringLiteral("1"), QStringLiteral("--window-s"), QStringLiteral("1.5"), QStringLiteral("--json")});
        QVERIFY2(imported.exitCode == 0, imported.err.constData());
        const QJsonArray il = imported.json().value("levels").toArray();
        QCOMPARE(il.size(), 2);
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(il[i].toObject().value("rate_rps").toDouble(), i == 0 ? 20.0 : 60.0);
            QCOMPARE(il[i].toObject().value("repeats").toObject().value("runs").toArray().size(), 2); // the spool's repeats merged again
            const double it = il[i].toObject().value("throughput_rps").toDouble(), lt = ll[i].toObject().value("throughput_rps").toDouble();
            QVERIFY2(std::abs(it - lt) <= 0.10 * lt, qPrintable(QStringLiteral("level %1: imported %2 req/s, live %3").arg(i).arg(it).arg(lt)));
            // Every request counts as sent in the level it was sent in (sent_level), wherever it ended: the import
            // judges the generator as the live sweep did.
            QCOMPARE(il[i].toObject().value("generator_behind").toBool(), ll[i].toObject().value("generator_behind").toBool());
            const double ia = il[i].toObject().value("achieved_rps").toDouble(), la = ll[i].toObject().value("achieved_rps").toDouble();
            QVERIFY2(std::abs(ia - la) <= 0.10 * la, qPrintable(QStringLiteral("level %1: imported sent %2 req/s, live %3").arg(i).arg(ia).arg(la)));
        }
        QCOMPARE(imported.json().value("options").toObject().value("rates").toArray().size(), 2);
        QCOMPARE(imported.json().value("options").toObject().value("repeats").toInt(), 2);
    }

    // Workers elsewhere (--master-host): knee runs the master, starts no worker, writes the locustfile,
    // run-worker.sh and a Kubernetes manifest (never the key) and waits. Two workers started from
    // run-worker.sh, as a user would on two load machines, against a server knee did not write
    // (tests/twin/reference_server.py) give the same levels as knee's own client.
    void workersElsewhereAgainstTheReferenceServer()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing");
        // 40 ms of work per call, 8 calls at once sharing nothing, 2 ms outside: users / 42 ms up to 8 users.
        QProcess server;
        server.setProgram(QStringLiteral("/usr/bin/python3"));
        server.setArguments({QStringLiteral(KNEE_SOURCE_DIR "/tests/twin/reference_server.py"), "--port", "0", "--exit-with-stdin", "--replicas", "1",
                             "--predict-concurrency", "8", "--work-ms", "40", "--sigma", "0.05", "--speedup-alpha", "0", "--fixed-ms", "2"});
        server.start();
        QVERIFY(server.waitForReadyRead(20'000));
        const int serverPort = QJsonDocument::fromJson(server.readLine()).object().value("port").toInt();
        QVERIFY2(serverPort > 0, server.readAllStandardError().constData());
        const QString url = QStringLiteral("http://127.0.0.1:%1/predict").arg(serverPort);
        quint16 masterPort = 0;
        {
            QTcpServer probe; // a port free now, for the master a moment later
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            masterPort = probe.serverPort();
        }
        const QString files = m_dir.filePath(QStringLiteral("remote"));
        const QStringList levels{QStringLiteral("--levels"), QStringLiteral("1,2,4"), QStringLiteral("--warmup-s"), QStringLiteral("1"),
                                 QStringLiteral("--window-s"), QStringLiteral("1"), QStringLiteral("--cap-s"), QStringLiteral("3"), QStringLiteral("--json")};
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_TEST_KEY"), QStringLiteral("sk-never-on-disk-4711"));
        QProcess sweep;
        sweep.setProgram(QStringLiteral(KNEE_BINARY));
        sweep.setProcessEnvironment(env);
        sweep.setArguments(QStringList{QStringLiteral("sweep"), QStringLiteral("--target"), url, QStringLiteral("--load-generator"), QStringLiteral("locust"),
                                       QStringLiteral("--master-host"), QStringLiteral("127.0.0.1"), QStringLiteral("--master-port"),
                                       QString::number(masterPort), QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--locust-files"), files,
                                       QStringLiteral("--locust-wait-s"), QStringLiteral("60"), QStringLiteral("--api-key-env"), QStringLiteral("KNEE_TEST_KEY")}
                           + levels);
        sweep.start();
        QByteArray said;
        QElapsedTimer waited;
        waited.start();
        while (!said.contains("kubectl apply") && waited.elapsed() < 30'000 && sweep.state() != QProcess::NotRunning) {
            sweep.waitForReadyRead(500);
            said += sweep.readAllStandardError();
        }
        QVERIFY2(said.contains("run-worker.sh") && said.contains(QStringLiteral("127.0.0.1:%1").arg(masterPort).toUtf8()), said.constData());
        QVERIFY(said.contains("not authenticated"));

        // What knee wrote: the worker's command, and a manifest that Kubernetes can read (PyYAML, Locust's own dependency).
        QFile sh(QDir(files).filePath(QStringLiteral("run-worker.sh")));
        QVERIFY(sh.open(QIODevice::ReadOnly));
        const QByteArray script = sh.readAll();
        QVERIFY2(script.contains(QStringLiteral("--worker --master-host '127.0.0.1' --master-port %1").arg(masterPort).toUtf8()), script.constData());
        QVERIFY(sh.permissions().testFlag(QFileDevice::ExeOwner));
        QVERIFY(!sh.permissions().testFlag(QFileDevice::ReadOther));
        QProcess manifest;
        manifest.start(QStringLiteral("/usr/bin/python3"),
                       {QStringLiteral("-c"), QStringLiteral("import json, sys, yaml\n"
                                                             "docs = list(yaml.safe_load_all(open(sys.argv[1])))\n"
                                                             "c = docs[1]['spec']['template']['spec']['containers'][0]\n"
                                                             "print(json.dumps({'kinds': [d['kind'] for d in docs], 'replicas': docs[1]['spec']['replicas'],\n"
                                                             "  'args': c['args'], 'env': c['env'], 'image': c['image'],\n"
                                                             "  'locustfile': docs[0]['data']['knee_locustfile.py']}))\n"),
                        QDir(files).filePath(QStringLiteral("locust-workers.yaml"))});
        QVERIFY(manifest.waitForFinished(20'000));
        QVERIFY2(manifest.exitCode() == 0, manifest.readAllStandardError().constData());
        const QJsonObject m = QJsonDocument::fromJson(manifest.readAllStandardOutput()).object();
        QCOMPARE(m.value("kinds").toArray(), (QJsonArray{QStringLiteral("ConfigMap"), QStringLiteral("Deployment")}));
        QCOMPARE(m.value("replicas").toInt(), 2);
        QVERIFY(m.value("image").toString().startsWith(QStringLiteral("locustio/locust:")));
        QCOMPARE(m.value("args").toArray(), (QJsonArray{"-f", "/mnt/knee/knee_locustfile.py", "--worker", "--master-host", "127.0.0.1", "--master-port",
                                                        QString::number(masterPort), "--loglevel", "WARNING"}));
        QVERIFY(QJsonDocument(m.value("env").toArray()).toJson().contains("\"secretKeyRef\""));
        QFile locustfile(QDir(files).filePath(QStringLiteral("knee_locustfile.py")));
        QVERIFY(locustfile.open(QIODevice::ReadOnly));
        const QByteArray written = locustfile.readAll();
        QCOMPARE(m.value("locustfile").toString().toUtf8(), written);
        for (const QString& name : QDir(files).entryList(QDir::Files)) {
            QFile f(QDir(files).filePath(name));
            QVERIFY(f.open(QIODevice::ReadOnly));
            QVERIFY2(!f.readAll().contains("sk-never-on-disk-4711"), qPrintable(name));
        }

        // A worker without the key refuses to start; two with it run the sweep.
        QProcessEnvironment workerEnv = env;
        workerEnv.insert(QStringLiteral("LOCUST"), kLocust);
        workerEnv.remove(QStringLiteral("KNEE_TEST_KEY"));
        QProcess keyless;
        keyless.setProcessEnvironment(workerEnv);
        keyless.start(QStringLiteral("/bin/sh"), {sh.fileName()});
        QVERIFY(keyless.waitForFinished(20'000));
        QVERIFY(keyless.exitCode() != 0);
        QVERIFY2(keyless.readAllStandardError().contains("export KNEE_TEST_KEY"), "run-worker.sh started without the key");
        workerEnv.insert(QStringLiteral("KNEE_TEST_KEY"), QStringLiteral("sk-never-on-disk-4711"));
        QProcess workers[2];
        for (int w = 0; w < 2; ++w) {
            QProcessEnvironment we = workerEnv; // a worker elsewhere keeps its own records
            we.insert(QStringLiteral("KNEE_LOCUST_SPOOL"), m_dir.filePath(QStringLiteral("remote-worker-%1.jsonl").arg(w)));
            workers[w].setProcessEnvironment(we);
            workers[w].setProcessChannelMode(QProcess::MergedChannels);
            workers[w].start(QStringLiteral("/bin/sh"), {sh.fileName()});
        }
        const bool finished = sweep.waitForFinished(150'000);
        for (QProcess& w : workers) { // the master quits its workers as it ends
            if (!w.waitForFinished(20'000))
                w.kill();
            w.waitForFinished();
        }
        if (!finished)
            sweep.kill();
        sweep.waitForFinished();
        said += sweep.readAllStandardError();
        QVERIFY2(finished && sweep.exitCode() == 0, said.constData());
        for (QProcess& w : workers)
            QVERIFY2(w.exitStatus() == QProcess::NormalExit, w.readAll().constData());
        const QJsonObject l = QJsonDocument::fromJson(sweep.readAllStandardOutput()).object();
        const QJsonObject g = l.value("target").toObject().value("load_generator").toObject();
        QCOMPARE(g.value("master_host").toString(), QStringLiteral("127.0.0.1"));
        QCOMPARE(g.value("master_port").toInt(), int(masterPort));
        QCOMPARE(g.value("workers").toInt(), 2);
        for (int w = 0; w < 2; ++w)
            QVERIFY(QFileInfo(m_dir.filePath(QStringLiteral("remote-worker-%1.jsonl").arg(w))).size() > 0);

        const Result own = knee(QStringList{QStringLiteral("sweep"), QStringLiteral("--target"), url} + levels);
        server.closeWriteChannel(); // --exit-with-stdin
        if (!server.waitForFinished(20'000))
            server.kill();
        QVERIFY2(own.exitCode == 0, own.err.constData());
        const QJsonArray ll = l.value("levels").toArray(), ol = own.json().value("levels").toArray();
        QCOMPARE(ll.size(), 3);
        QCOMPARE(ol.size(), 3);
        for (int i = 0; i < 3; ++i) {
            const QJsonObject a = ll[i].toObject(), b = ol[i].toObject();
            QCOMPARE(a.value("concurrency").toInt(), 1 << i);
            QCOMPARE(a.value("failed").toInt(), 0);
            QCOMPARE(a.value("load_generator").toObject().value("workers").toInt(), 2);
            // Throughput and p50 within 10 %, as against knee serve above (the same reasons). p95 within 20 %: it
            // is a window's few slowest responses, and a busy machine delays whichever client it meets there (a
            // run beside a build: at 1 user Locust 47.8 ms, knee's own client 53.9 ms, where the server's own
            // p95 is ~45 ms). A record counted twice or latency from the wrong clock still misses by more.
            for (const char* figure : {"throughput_rps", "p50", "p95"}) {
                const bool rate = QLatin1String(figure) == QLatin1String("throughput_rps");
                const double tolerance = QLatin1String(figure) == QLatin1String("p95") ? 0.20 : 0.10;
                const double x = rate ? a.value(figure).toDouble() : a.value("latency_ms").toObject().value(figure).toDouble();
                const double y = rate ? b.value(figure).toDouble() : b.value("latency_ms").toObject().value(figure).toDouble();
                qInfo("%d users, %s: locust %.2f, own %.2f", 1 << i, figure, x, y);
                QVERIFY2(y > 0 && std::abs(x - y) <= tolerance * y,
                         qPrintable(QStringLiteral("%1 users, %2: locust %3, own %4").arg(1 << i).arg(QLatin1String(figure)).arg(x).arg(y)));
            }
        }
    }

    // Flags for workers elsewhere are checked before anything starts.
    void workersElsewhereBadInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("says");
        QTest::addRow("not this machine") << QStringList{"--master-host", "192.0.2.1"} << QStringLiteral("is not an IPv4 address of this machine");
        QTest::addRow("port 0") << QStringList{"--master-host", "127.0.0.1", "--master-port", "0"} << QStringLiteral("--master-port expects");
        QTest::addRow("spool with remote workers") << QStringList{"--master-host", "127.0.0.1", "--locust-spool", "/tmp/x"}
                                                   << QStringLiteral("KNEE_LOCUST_SPOOL");
        QTest::addRow("port without host") << QStringList{"--master-port", "5557"} << QStringLiteral("are for --master-host");
        QTest::addRow("max connections") << QStringList{"--max-connections", "8"} << QStringLiteral("--max-connections limits knee's own client");
        // The key's variable name reaches run-worker.sh: only a name is taken, never shell code.
        QTest::addRow("a key variable that is code") << QStringList{"--master-host", "127.0.0.1", "--api-key-env", "K:-x}\"; touch PWNED; : \"${K"}
                                                     << QStringLiteral("a name of letters, digits and _");
    }
    void workersElsewhereBadInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, says);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_LOCUST_BIN"), QStringLiteral("/bin/true"));
        const Result r = knee(QStringList{QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"),
                                          QStringLiteral("locust")} + args,
                              env);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(says.toUtf8()), r.err.constData());
        QVERIFY(!QFileInfo::exists(QStringLiteral("knee-locust"))); // nothing written for a refused sweep
    }

    // A spool that already holds a sweep's records is refused (the workers append: an import would mix them).
    void aUsedSpoolIsRefused()
    {
        const QString spool = m_dir.filePath(QStringLiteral("used-spool"));
        QVERIFY(QDir().mkpath(spool));
        QFile old(QDir(spool).filePath(QStringLiteral("worker-0.jsonl")));
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("{}\n");
        old.close();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_LOCUST_BIN"), QStringLiteral("/bin/true"));
        const Result r = knee({QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"), QStringLiteral("locust"),
                               QStringLiteral("--locust-spool"), spool},
                              env);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("already holds a sweep's records"), r.err.constData());
        // A spool refused for another reason is not created.
        const QString fresh = m_dir.filePath(QStringLiteral("never-created"));
        const Result r2 = knee({QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"), QStringLiteral("locust"),
                                QStringLiteral("--locust-spool"), fresh, QStringLiteral("--workers"), QStringLiteral("0")},
                               env);
        QCOMPARE(r2.exitCode, 2);
        QVERIFY(!QFileInfo::exists(fresh));
    }

    // One worker with 256 users against a server that answers in 1 ms is saturated (its greenlets run late,
    // and so does its timing): the level is marked behind, says why, and is never the recommendation; so
    // is a rate its schedule cannot keep. (With geventhttpclient one worker answers ~13,000 req/s here, and at
    // 64 users its event loop ran 1.0-1.9 ms late against a 1 ms limit: too close to judge; at 256, 3.7-4.8 ms.)
    void aSaturatedWorkerIsMarked()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing");
        const QString scenario = m_dir.filePath(QStringLiteral("fast.yaml"));
        QFile f(scenario);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(kFixed).replace("50 ms", "1 ms").replace("mean_ms: 50", "mean_ms: 1"));
        f.close();
        QProcess fast;
        fast.setProgram(QStringLiteral(KNEE_BINARY));
        fast.setArguments({QStringLiteral("serve"), scenario, QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--json")});
        fast.start();
        QVERIFY(fast.waitForReadyRead(20'000));
        const int port = QJsonDocument::fromJson(fast.readLine()).object().value("port").toInt();
        QVERIFY(port > 0);
        const Result r = knee({QStringLiteral("sweep"), QStringLiteral("--target"), QStringLiteral("http://127.0.0.1:%1/predict").arg(port),
                               QStringLiteral("--load-generator"), QStringLiteral("locust"), QStringLiteral("--levels"), QStringLiteral("256"),
                               QStringLiteral("--warmup-s"), QStringLiteral("0.5"), QStringLiteral("--window-s"), QStringLiteral("0.5"),
                               QStringLiteral("--cap-s"), QStringLiteral("1.5"), QStringLiteral("--json")});
        // And a rate no Python worker keeps (one sends ~10,000 req/s on a core with geventhttpclient: BENCHMARKS.md):
        // its schedule falls behind, so it sends fewer than asked and the level is marked behind on that count.
        const Result rate = knee({QStringLiteral("sweep"), QStringLiteral("--target"), QStringLiteral("http://127.0.0.1:%1/predict").arg(port),
                                  QStringLiteral("--load-generator"), QStringLiteral("locust"), QStringLiteral("--rates"), QStringLiteral("40000"),
                                  QStringLiteral("--warmup-s"), QStringLiteral("0.5"), QStringLiteral("--window-s"), QStringLiteral("0.5"),
                                  QStringLiteral("--cap-s"), QStringLiteral("1.5"), QStringLiteral("--json")});
        fast.terminate();
        QVERIFY2(rate.exitCode == 0, rate.err.constData());
        const QJsonObject rateLevel = rate.json().value("levels").toArray().first().toObject();
        QVERIFY2(rateLevel.value("generator_behind").toBool(), QJsonDocument(rateLevel).toJson().constData());
        QVERIFY(rateLevel.value("achieved_rps").toDouble() < 0.9 * 40000);
        fast.waitForFinished(30'000);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject level = r.json().value("levels").toArray().first().toObject();
        const QJsonObject g = level.value("load_generator").toObject();
        QVERIFY2(g.value("behind").toBool(), QJsonDocument(g).toJson().constData());
        QVERIFY(g.value("why").toString().contains(QStringLiteral("event loop")));
        QVERIFY(r.json().value("recommendation").toObject().value("concurrency_target").toObject().value("value").isNull());
    }

    // Nothing listens at the target: every request fails `refused`, the sweep says nothing was measured (3).
    void unreachableTarget()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing");
        const Result r = knee({QStringLiteral("sweep"), QStringLiteral("--target"), QStringLiteral("http://127.0.0.1:9/predict"),
                               QStringLiteral("--load-generator"), QStringLiteral("locust"), QStringLiteral("--levels"), QStringLiteral("1"),
                               QStringLiteral("--warmup-s"), QStringLiteral("0.5"), QStringLiteral("--window-s"), QStringLiteral("0.5"),
                               QStringLiteral("--cap-s"), QStringLiteral("1"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 3);
        QVERIFY2(r.err.contains("refused"), r.err.constData());
        const QJsonObject level = r.json().value("levels").toArray().first().toObject();
        QVERIFY(level.value("failures_by_kind").toObject().value("refused").toInt() > 0);
        QCOMPARE(level.value("completed").toInt(), 0);
    }

    // A master whose workers never connect: knee reports the master's own words and exits 1, no hang.
    void workersNeverConnect()
    {
        if (!QFileInfo(kLocust).isExecutable())
            QSKIP("/usr/bin/locust is missing");
        const QString fake = m_dir.filePath(QStringLiteral("locust-no-workers"));
        QFile f(fake);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("#!/bin/sh\n# the master is Locust's; a worker never connects\n"
                "case \" $* \" in *\" --worker \"*) exec sleep 120 ;; esac\nexec /usr/bin/locust \"$@\"\n");
        f.close();
        QVERIFY(f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_LOCUST_BIN"), fake);
        const Result r = knee({QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"), QStringLiteral("locust"),
                               QStringLiteral("--workers"), QStringLiteral("2"), QStringLiteral("--locust-wait-s"), QStringLiteral("2"),
                               QStringLiteral("--levels"), QStringLiteral("1")},
                              env);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains("waiting for workers") || r.err.contains("did not connect"), r.err.constData());
        QVERIFY(r.out.isEmpty());
    }

    // A stand-in master (Debian's python3, no Locust needed): it keeps a copy of the locustfile knee wrote,
    // then speaks the control protocol wrongly. The file names the key's environment variable, never the
    // key; a wrong token and a line that is not JSON end the sweep with a clear error (exit 1), no hang.
    void controlProtocolAndTheKey_data()
    {
        QTest::addColumn<QByteArray>("first");
        QTest::addColumn<QByteArray>("then");
        QTest::addColumn<QString>("says");
        QTest::addRow("wrong token") << QByteArray("{\"type\": \"hello\", \"token\": \"guess\"}") << QByteArray()
                                     << QStringLiteral("did not give knee's token");
        QTest::addRow("a batch without times") << QByteArray("TOKEN")
                                               << QByteArray("{\"type\": \"batch\", \"worker\": \"w\", \"seq\": 1, \"level\": 0}")
                                               << QStringLiteral("lacks worker, seq, level, now, users, cpu, loop_lag_ms or records");
        // A batch with its times but not its worker's CPU: never read as an idle worker.
        QTest::addRow("a batch without cpu")
            << QByteArray("TOKEN")
            << QByteArray("{\"type\": \"batch\", \"worker\": \"w\", \"seq\": 1, \"level\": 0, \"now\": 0.5, \"users\": 1, \"loop_lag_ms\": 0, "
                          "\"records\": []}")
            << QStringLiteral("lacks worker, seq, level, now, users, cpu, loop_lag_ms or records");
    }
    void controlProtocolAndTheKey()
    {
        QFETCH(QByteArray, first);
        QFETCH(QByteArray, then);
        QFETCH(QString, says);
        if (!QFileInfo(QStringLiteral("/usr/bin/python3")).isExecutable())
            QSKIP("/usr/bin/python3 is missing");
        const QString copy = m_dir.filePath(QStringLiteral("copied_locustfile.py"));
        QFile::remove(copy);
        const QString fake = m_dir.filePath(QStringLiteral("fake-master"));
        QFile f(fake);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("#!/usr/bin/python3\n"
                "import os, shutil, socket, sys, time\n"
                "if '--worker' in sys.argv:\n"
                "    time.sleep(60)\n"
                "    sys.exit(0)\n"
                "shutil.copy(sys.argv[sys.argv.index('-f') + 1], os.environ['KNEE_TEST_COPY'])\n"
                "host, port = os.environ['KNEE_LOCUST_CONTROL'].rsplit(':', 1)\n"
                "s = socket.create_connection((host, int(port)))\n"
                "first = os.environ['KNEE_TEST_FIRST'].replace('TOKEN', '{\"type\": \"hello\", \"token\": \"%s\"}' % os.environ['KNEE_LOCUST_TOKEN'])\n"
                "s.sendall((first + '\\n').encode())\n"
                "if os.environ.get('KNEE_TEST_THEN'):\n"
                "    s.sendall(b'{\"type\": \"ready\", \"workers\": 1}\\n')\n"
                "    s.recv(1000)\n"
                "    s.sendall((os.environ['KNEE_TEST_THEN'] + '\\n').encode())\n"
                "s.settimeout(60)\n"
                "data = b'x'\n"
                "while data and b'quit' not in data:\n" // until knee says quit or closes the connection
                "    data = s.recv(1000)\n");
        f.close();
        QVERIFY(f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_LOCUST_BIN"), fake);
        env.insert(QStringLiteral("KNEE_TEST_COPY"), copy);
        env.insert(QStringLiteral("KNEE_TEST_FIRST"), QString::fromUtf8(first));
        env.insert(QStringLiteral("KNEE_TEST_THEN"), QString::fromUtf8(then));
        env.insert(QStringLiteral("KNEE_TEST_KEY"), QStringLiteral("sk-never-on-disk-4711"));
        QElapsedTimer took;
        took.start();
        const Result r = knee({QStringLiteral("sweep"), QStringLiteral("--target"), m_url, QStringLiteral("--load-generator"), QStringLiteral("locust"),
                               QStringLiteral("--api-key-env"), QStringLiteral("KNEE_TEST_KEY"), QStringLiteral("--levels"), QStringLiteral("1"),
                               QStringLiteral("--warmup-s"), QStringLiteral("0.5"), QStringLiteral("--window-s"), QStringLiteral("0.5"),
                               QStringLiteral("--cap-s"), QStringLiteral("1")},
                              env);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(says.toUtf8()), r.err.constData());
        QVERIFY2(took.elapsed() < 40'000, "knee waited on a master that broke the protocol");
        QFile written(copy);
        QVERIFY(written.open(QIODevice::ReadOnly));
        const QByteArray text = written.readAll();
        QVERIFY(text.startsWith("CONFIG_JSON = "));
        QVERIFY(text.contains("\\\"api_key_env\\\":\\\"KNEE_TEST_KEY\\\""));
        QVERIFY(!text.contains("sk-never-on-disk-4711"));
    }
};

QTEST_GUILESS_MAIN(TestCliLocust)
#include "tst_cli_locust.moc"
