// `knee fit` and `knee sweep --fit` on the built binary (issue 15): a twin written from a session, refusals
// with exit 4 and what to measure next, bad input with exit 2 and nothing written; and the twin as an
// ordinary scenario: simulate (with 1, 2 and 4 replicas), plan and a virtual sweep run on it.
#include "cli_process.h"

#include <cmath>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

namespace {

using Result = kneecli::CliResult;
Result knee(const QStringList& args)
{
    kneecli::CliOptions o;
    o.timeoutMs = 240'000;
    return kneecli::runCli(QStringLiteral(KNEE_BINARY), args, o);
}

// The "real" deployment the sessions measure: a semaphore of 4 in front of a device that calls share.
const QByteArray kTruth = "name: truth\n"
                          "deployment:\n"
                          "  replicas: {min: 1, max: 1}\n"
                          "  concurrency_target: 64\n"
                          "  predict_concurrency: 4\n"
                          "model:\n"
                          "  preprocess: 2\n"
                          "  predict: {dist: lognormal, mean_ms: 20, sigma: 0.3}\n"
                          "  predict_sharing: {speedup: [1, 1.5, 1.8, 2.0]}\n"
                          "workload:\n"
                          "  arrival: {kind: poisson, rate_rps: 50}\n"
                          "  duration_s: 60\n";

// One request at a time and nothing else: throughput flat from level 1, as a queue in front would give.
const QByteArray kFlat = "deployment:\n"
                         "  replicas: {min: 1, max: 1}\n"
                         "  concurrency_target: 64\n"
                         "model:\n"
                         "  predict: {dist: lognormal, mean_ms: 20, sigma: 0.3}\n"
                         "workload:\n"
                         "  arrival: {kind: poisson, rate_rps: 10}\n"
                         "  duration_s: 60\n";

QString write(const QTemporaryDir& dir, const QString& name, const QByteArray& text)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TstCliFit : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_session, m_flatSession, m_twin;

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_session = m_dir.filePath("truth.json");
        m_flatSession = m_dir.filePath("flat.json");
        for (const auto& [yaml, session] : {std::pair{kTruth, m_session}, std::pair{kFlat, m_flatSession}}) {
            const Result r = knee({"sweep", write(m_dir, QFileInfo(session).baseName() + ".yaml", yaml), "--virtual", "--levels", "1,2,4,8,16",
                                   "--out", session});
            QVERIFY2(r.exitCode == 0, r.err.constData());
        }
        m_twin = m_dir.filePath("twin.yaml");
    }

    void fitsATwin()
    {
        const Result r = knee({"fit", m_session, "--out", m_twin});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY(r.out.contains("Twin of truth"));
        QVERIFY(r.out.contains("The twin replaying the sweep"));
        QVERIFY(r.out.contains("Cross-validation"));
        const QByteArray text = readAll(m_twin);
        QVERIFY(text.startsWith("# Twin of truth"));
        QVERIFY(text.contains("predict_concurrency: 4"));
        QVERIFY(text.contains("\ntwin:\n  endpoint: \"truth\"\n  mode: virtual\n"));
        QVERIFY(text.contains("replay_error_pct: {concurrency: [1, 2, 4, 8, 16]"));
    }

    void jsonReport()
    {
        const Result r = knee({"fit", m_session, "--out", m_dir.filePath("twin2.yaml"), "--json", "--no-cross-validation"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = r.json();
        QCOMPARE(o.value("fitted").toBool(), true);
        QCOMPARE(o.value("levels_used").toArray().size(), 5);
        QCOMPARE(o.value("replay").toArray().size(), 5);
        QCOMPARE(o.value("cross_validation").toArray().size(), 0);
        QCOMPARE(o.value("out").toString(), m_dir.filePath("twin2.yaml"));
        const QJsonObject first = o.value("replay").toArray().first().toObject();
        QVERIFY(std::abs(first.value("error_pct").toObject().value("throughput").toDouble()) < 5);
    }

    // The twin is an ordinary scenario: simulate with 1, 2 and 4 replicas, plan, sweep.
    void whatIfsOnTheTwin()
    {
        QVERIFY(QFile::exists(m_twin));
        const QByteArray twin = readAll(m_twin);
        double previous = 0;
        for (int replicas : {1, 2, 4}) {
            QByteArray text = twin;
            text.replace("replicas: {min: 1, max: 1}", QStringLiteral("replicas: {min: %1, max: %1}").arg(replicas).toUtf8());
            // 60 req/s per replica: within one replica's capacity (about 100 req/s), so the deployment keeps up.
            const QByteArray rate = QByteArray::number(60 * replicas);
            const qsizetype at = text.indexOf("arrival: {kind: poisson, rate_rps: ");
            QVERIFY(at >= 0);
            text.replace(at, text.indexOf('}', at) - at + 1, "arrival: {kind: poisson, rate_rps: " + rate + "}");
            const Result r = knee({"simulate", write(m_dir, QStringLiteral("twin%1.yaml").arg(replicas), text), "--json"});
            QVERIFY2(r.exitCode == 0, r.err.constData());
            const double throughput = r.json().value("throughput_rps").toDouble();
            QVERIFY2(std::abs(throughput / (60.0 * replicas) - 1) < 0.05, r.out.constData());
            QVERIFY(throughput > previous);
            previous = throughput;
        }
        const Result plan = knee({"plan", m_twin, "--baseline-rps", "50", "--peak-rps", "400", "--hours", "1", "--json"});
        QVERIFY2(plan.exitCode == 0, plan.err.constData());
        QVERIFY(plan.json().value("max_replicas").toInt() >= 4);
        QVERIFY(plan.json().value("check").toObject().value("completed").toInt() > 0);
        const Result sweep = knee({"sweep", m_twin, "--virtual", "--levels", "1,4,16", "--json"});
        QVERIFY2(sweep.exitCode == 0, sweep.err.constData());
        QCOMPARE(sweep.json().value("levels").toArray().size(), 3);
    }

    // A what-if on a twin says it is one, with the twin's error: the banner the fit printed heads simulate's,
    // plan's and sweep's reports, and their JSON carries the twin's endpoint and largest errors. A scenario
    // people wrote has neither.
    void whatIfsShowTheTwin()
    {
        const Result fit = knee({"fit", m_session, "--out", m_dir.filePath("shown.yaml"), "--json"});
        QCOMPARE(fit.exitCode, 0);
        const QString banner = fit.json().value("banner").toString();
        QVERIFY(banner.startsWith("Twin of truth"));
        QVERIFY(banner.contains("replays them within "));
        QVERIFY(banner.contains("predicts left-out levels within "));
        const QString twin = m_dir.filePath("shown.yaml");
        const QStringList planArgs{"--baseline-rps", "50", "--peak-rps", "200", "--hours", "1"};
        for (const QStringList& args : {QStringList{"simulate", twin}, QStringList{"plan", twin} + planArgs, QStringList{"sweep", twin, "--virtual", "--levels", "1,4"}}) {
            const Result text = knee(args);
            QVERIFY2(text.exitCode == 0, text.err.constData());
            QVERIFY2(text.out.startsWith((banner + ".\n").toUtf8()), qPrintable(args.first() + ": " + text.out.left(200)));
        }
        double replayMax = 0;
        for (const QJsonValue& row : fit.json().value("replay").toArray())
            for (const QJsonValue& e : row.toObject().value("error_pct").toObject())
                replayMax = std::max(replayMax, std::abs(e.toDouble()));
        for (const QStringList& args : {QStringList{"simulate", twin, "--json"}, QStringList{"plan", twin, "--json"} + planArgs}) {
            const Result json = knee(args);
            QVERIFY2(json.exitCode == 0, json.err.constData());
            const QJsonObject t = json.json().value("twin").toObject();
            QCOMPARE(t.value("endpoint").toString(), QStringLiteral("truth"));
            QCOMPARE(t.value("mode").toString(), QStringLiteral("virtual"));
            QCOMPARE(t.value("levels").toArray().size(), 5);
            QCOMPARE(t.value("banner").toString(), banner);
            QVERIFY(t.contains("cross_validation_error_pct_max"));
            QVERIFY(std::abs(t.value("replay_error_pct_max").toDouble() - replayMax) <= 0.05 + 1e-9); // the file holds one decimal
        }
        const QString written = write(m_dir, "written.yaml", kTruth);
        const Result plain = knee({"simulate", written, "--json"});
        QCOMPARE(plain.exitCode, 0);
        QVERIFY(!plain.json().contains("twin"));
        QVERIFY(!knee({"simulate", written}).out.contains("Twin of"));
    }

    void refusesFlatThroughput()
    {
        const QString out = m_dir.filePath("flat-twin.yaml");
        const Result r = knee({"fit", m_flatSession, "--out", out});
        QCOMPARE(r.exitCode, 4);
        QVERIFY(r.err.contains("no twin: throughput is flat from level 1"));
        QVERIFY(r.err.contains("measure next:"));
        QVERIFY(r.err.contains("--serial"));
        QVERIFY(!QFile::exists(out));
        const Result serial = knee({"fit", m_flatSession, "--out", out, "--serial", "--no-cross-validation"});
        QVERIFY2(serial.exitCode == 0, serial.err.constData());
        QVERIFY(readAll(out).contains("predict_concurrency: 1"));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("no --out") << QStringList{"fit", "SESSION"} << "expected one session file and --out";
        QTest::newRow("no session") << QStringList{"fit", "--out", "OUT"} << "expected one session file and --out";
        QTest::newRow("missing session") << QStringList{"fit", "/nonexistent/s.json", "--out", "OUT"} << "cannot open";
        QTest::newRow("not a session") << QStringList{"fit", "TRUTH_YAML", "--out", "OUT"} << "knee fit: ";
        QTest::newRow("sweep out of range") << QStringList{"fit", "SESSION", "--out", "OUT", "--sweep", "2"} << "--sweep expects a number from 1 to 1";
        QTest::newRow("out in a missing folder") << QStringList{"fit", "SESSION", "--out", "/nonexistent/dir/t.yaml"} << "/nonexistent/dir/t.yaml";
        QTest::newRow("rates session missing") << QStringList{"fit", "SESSION", "--out", "OUT", "--rates-session", "/nonexistent/r.json"}
                                               << "--rates-session /nonexistent/r.json: cannot open";
        QTest::newRow("rates session without a rate sweep") << QStringList{"fit", "SESSION", "--out", "OUT", "--rates-session", "FLAT_SESSION"}
                                                            << "holds no rate sweep of truth";
        QTest::newRow("skip a level not measured") << QStringList{"fit", "SESSION", "--out", "OUT", "--skip-levels", "3"}
                                                   << "--skip-levels expects levels of users the sweep measured above 1 (2,4,8,16), separated by commas; got '3'";
        QTest::newRow("skip a word") << QStringList{"fit", "SESSION", "--out", "OUT", "--skip-levels", "4,x"} << "got 'x'";
        QTest::newRow("skip level 1") << QStringList{"fit", "SESSION", "--out", "OUT", "--skip-levels", "2", "--skip-levels", "1"} << "got '1'";
        QTest::newRow("no threads") << QStringList{"fit", "SESSION", "--out", "OUT", "--threads", "0"} << "--threads expects a whole number from 1 to 1024; got '0'";
        QTest::newRow("threads a word") << QStringList{"fit", "SESSION", "--out", "OUT", "--threads", "all"} << "got 'all'";
        QTest::newRow("threads past the bound") << QStringList{"fit", "SESSION", "--out", "OUT", "--threads", "1025"} << "got '1025'";
        QTest::newRow("threads negative") << QStringList{"fit", "SESSION", "--out", "OUT", "--threads", "-2"} << "got '-2'";
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const QString out = m_dir.filePath("bad-input.yaml");
        args.replaceInStrings("FLAT_SESSION", m_flatSession).replaceInStrings("SESSION", m_session).replaceInStrings("OUT", out)
            .replaceInStrings("TRUTH_YAML", m_dir.filePath("truth.yaml"));
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
        QVERIFY(!QFile::exists(out));
    }

    // A real stream (bench/twin/results/reference_2026-12-05_between, sweep dense-1: the reference server with
    // max_sequences 16, swept at 1, 2, 4, 8, 11, 16, 23, 32). At 23, between the limit and twice it, the
    // closed loop's latency depends on how its sequences grouped: no twin replays it, and the refusal says
    // why and offers the fit without it, which succeeds and says how far the twin misses 23.
    void streamLevelBetweenTheLimitAndTwice()
    {
        const QString session = QStringLiteral(KNEE_TEST_DATA "/sessions/stream_limit16_levels_11_23.json");
        const QString out = m_dir.filePath("stream-twin.yaml");
        const Result refused = knee({"fit", session, "--out", out, "--no-cross-validation", "--json"});
        QCOMPARE(refused.exitCode, 4);
        QVERIFY(!QFile::exists(out));
        const QJsonObject r = refused.json();
        QVERIFY2(r.value("refusal").toString().contains("at level 23 throughput")
                     && r.value("refusal").toString().contains("level 23 lies between the stream's limit the fit found (16 sequences) and twice it"),
                 qPrintable(r.value("refusal").toString()));
        const QJsonArray next = r.value("measure_next").toArray();
        QCOMPARE(next.size(), 2);
        // The command that does it: this one, plus the level (and any left out already).
        QVERIFY2(next[0].toString().startsWith("fit without level 23 (knee fit " + session + " --out " + out + " --skip-levels 23)"),
                 qPrintable(next[0].toString()));
        QVERIFY2(next[1].toString().startsWith("levels at the limit and at twice it (16, 32)"), qPrintable(next[1].toString()));

        const Result again = knee({"fit", session, "--out", out, "--no-cross-validation", "--skip-levels", "4", "--json"});
        QCOMPARE(again.exitCode, 4);
        const QString nextAgain = again.json().value("measure_next").toArray()[0].toString();
        QVERIFY2(nextAgain.contains(" --skip-levels 4,23)"), qPrintable(nextAgain));

        const Result fitted = knee({"fit", session, "--out", out, "--no-cross-validation", "--skip-levels", "23", "--json"});
        QVERIFY2(fitted.exitCode == 0, fitted.err.constData());
        const QJsonObject f = fitted.json();
        QCOMPARE(f.value("levels_used").toArray(), (QJsonArray{1, 2, 4, 8, 11, 16, 32}));
        const QJsonArray leftOut = f.value("levels_left_out").toArray();
        QCOMPARE(leftOut.size(), 1);
        QCOMPARE(leftOut[0].toObject().value("concurrency").toInt(), 23);
        const QString why = leftOut[0].toObject().value("why").toString();
        // The twin at 23 misses as the refused fit's best twin did: its p50 some 20 % short.
        QVERIFY2(why.startsWith("as asked; the twin gives it throughput ") && QRegularExpression(", p50 -(1[5-9]|2[0-9])\\.[0-9] %").match(why).hasMatch()
                     && why.contains("time to first token p50"),
                 qPrintable(why));
        QVERIFY(readAll(out).contains("level 23 left out: as asked; the twin gives it"));
    }

    // A rate sweep of the same deployment (--rates-session) chooses the twin's order; the report shows its check.
    void rateSessionChoosesTheOrder()
    {
        const QString rates = m_dir.filePath("truth-rates.json");
        const Result sweep = knee({"sweep", m_dir.filePath("truth.yaml"), "--virtual", "--rates", "40,70", "--out", rates});
        QVERIFY2(sweep.exitCode == 0, sweep.err.constData());
        const Result r = knee({"fit", m_session, "--out", m_dir.filePath("ordered.yaml"), "--rates-session", rates, "--no-cross-validation", "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject report = r.json();
        QVERIFY(report.value("rate_checks").toArray().size() >= 2);
        QCOMPARE(report.value("rate_checks").toArray().first().toObject().value("rate_rps").toDouble(), 40.0);
        bool noted = false;
        for (const QJsonValue& n : report.value("notes").toArray())
            noted = noted || n.toString().contains("chosen by replaying the session's rate sweep");
        QVERIFY2(noted, QJsonDocument(report.value("notes").toArray()).toJson().constData());
        const double order = report.value("order").toDouble();
        QVERIFY(order >= 0 && order <= 1);
        QCOMPARE(readAll(m_dir.filePath("ordered.yaml")).contains("order: "), order > 0);
    }

    // A real endpoint: `knee serve` of `large` (predict_concurrency 4, 0.5 ms of preprocess) on an H100, swept at
    // 1-16 users and at 50 and 80 % of its peak (tests/data/sessions/h100_serve_large_pc4_*.json, from
    // bench/twin/results/h100_2026-12-06_serve_target/call2, run 1). Its closed levels replay predict_concurrency
    // 4 and 8 alike (0.3 and 0.4 %); the rates tell them apart (mean error 10.8 against 2.4 %). The fit lets the
    // rates choose the limit the sweep cannot, says so, and the twin then follows the measured rates: kept at
    // the sweep's 4, its p95 at 80 % was 19.6 % short.
    void ratesChooseALimitTheSweepCannotTell()
    {
        const QString sweep = QStringLiteral(KNEE_TEST_DATA "/sessions/h100_serve_large_pc4_sweep.json");
        const Result r = knee({"fit", sweep, "--out", m_dir.filePath("h100.yaml"), "--rates-session",
                               QStringLiteral(KNEE_TEST_DATA "/sessions/h100_serve_large_pc4_rates.json"), "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject report = r.json();
        const QJsonArray checks = report.value("rate_checks").toArray();
        QCOMPARE(checks.size(), 2);
        for (const QJsonValue& c : checks) {
            const QJsonObject e = c.toObject().value("error_pct").toObject();
            QVERIFY2(std::abs(e.value("p50").toDouble()) <= 10 && std::abs(e.value("p95").toDouble()) <= 10,
                     QJsonDocument(c.toObject()).toJson().constData());
        }
        QString notes;
        for (const QJsonValue& n : report.value("notes").toArray())
            notes += n.toString() + "\n";
        QVERIFY2(notes.contains("chosen by the session's rate sweep"), qPrintable(notes));
        QVERIFY2(notes.contains("predict_concurrency 8: requests queue"), qPrintable(notes)); // the rates' choice; the sweep's best was 4
        QVERIFY2(notes.contains(QRegularExpression("uncertain: the sweep cannot tell predict_concurrency (\\d+) from (?!\\1\\b)\\d+")), qPrintable(notes));
        // The cross-validation written beside this twin is its own fit's (each level left out, the rate sweep
        // still in), not the sweep-only fit's: that one chose 4, and until the thirty-second session its
        // figures were written here unchanged.
        const Result sweepOnly = knee({"fit", sweep, "--out", m_dir.filePath("h100-sweep-only.yaml"), "--json"});
        QVERIFY2(sweepOnly.exitCode == 0, sweepOnly.err.constData());
        const QJsonArray withRates = report.value("cross_validation").toArray(), without = sweepOnly.json().value("cross_validation").toArray();
        QCOMPARE(withRates.size(), 3); // levels 2, 4, 8
        QCOMPARE(without.size(), 3);
        QVERIFY2(withRates != without, QJsonDocument(withRates).toJson().constData());
    }

    // knee sweep --fit: the sweep, then the twin; in --json the fit's report is the sweep's "twin".
    void sweepThenFit()
    {
        const QString out = m_dir.filePath("sweep-twin.yaml");
        const Result r = knee({"sweep", m_dir.filePath("truth.yaml"), "--virtual", "--levels", "1,2,4,8,16", "--fit", out, "--json"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject twin = r.json().value("twin").toObject();
        QCOMPARE(twin.value("fitted").toBool(), true);
        QCOMPARE(twin.value("out").toString(), out);
        QVERIFY(readAll(out).startsWith("# Twin of truth"));
        const Result refused = knee({"sweep", m_dir.filePath("flat.yaml"), "--virtual", "--levels", "1,2,4,8", "--fit", out + ".flat"});
        QCOMPARE(refused.exitCode, 4);
        QVERIFY(refused.out.contains("Recommended concurrency_target")); // the sweep's own report came first
        QVERIFY(refused.err.contains("no twin"));
        const Result badOut = knee({"sweep", m_dir.filePath("truth.yaml"), "--virtual", "--fit", "/nonexistent/dir/t.yaml"});
        QCOMPARE(badOut.exitCode, 2);
        QVERIFY(badOut.out.isEmpty()); // checked before anything ran
    }
};

QTEST_GUILESS_MAIN(TstCliFit)
#include "tst_cli_fit.moc"
