// The command line as scripts use it: the real `knee` binary, its exit codes, its JSON.
#include "cli_process.h"

#include <QFile>
#include <QVector>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <array>
#include <cmath>

namespace {

// One replica with four predict slots of 5 ms and four closed-loop users: a live run of it takes a moment.
QString fourSlotsOf5Ms(const QTemporaryDir& dir)
{
    const QString path = dir.filePath("s.yaml");
    QFile s(path);
    if (s.open(QIODevice::WriteOnly))
        s.write("deployment: {replicas: {min: 1, max: 1}, concurrency_target: 4, predict_concurrency: 4}\n"
                "model: {predict: {dist: constant, mean_ms: 5}}\nworkload: {arrival: {kind: closed, users: 4}, requests: 100}\n");
    return path;
}
using Result = kneecli::CliResult;
Result knee(const QStringList& args) { return kneecli::runCli(QStringLiteral(KNEE_BINARY), args); }
QString defaultScenario() { return QStringLiteral(KNEE_SOURCE_DIR "/resources/scenarios/default.yaml"); }
} // namespace

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void simulateJson()
    {
        const Result r = knee({"simulate", defaultScenario(), "--json"});
        QCOMPARE(r.exitCode, 0);
        QJsonParseError error;
        const QJsonObject o = QJsonDocument::fromJson(r.out, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        for (const char* key : {"completed", "failed", "throughput_rps", "latency_ms", "stages_ms", "wall_s", "sim_requests_per_wall_s"})
            QVERIFY2(o.contains(QLatin1String(key)), key);
        QCOMPARE(o["completed"].toInteger() + o["failed"].toInteger() + o["rejected"].toInteger(), o["arrived"].toInteger());
        QCOMPARE(o["arrived"].toInteger(), 200000);
        const QJsonObject l = o["latency_ms"].toObject();
        QVERIFY(l["p50"].toDouble() > 0);
        QVERIFY(l["p50"].toDouble() <= l["p95"].toDouble());
        QVERIFY(l["p95"].toDouble() <= l["p99"].toDouble());
        QVERIFY(l["p99"].toDouble() <= l["max"].toDouble());
        const QJsonObject stages = o["stages_ms"].toObject();
        for (const char* key : {"queue_wait", "preprocess", "predict_wait", "predict", "postprocess"})
            QVERIFY2(stages.contains(QLatin1String(key)), key);
        // The default model's predict mean is 10 ms; 200k samples put the mean well within 1 %.
        QVERIFY(qAbs(stages["predict"].toDouble() - 10.0) < 0.1);
        // Same seed, same figures: the run is deterministic.
        const Result again = knee({"simulate", defaultScenario(), "--json"});
        QCOMPARE(QJsonDocument::fromJson(again.out).object()["latency_ms"], o["latency_ms"]);
    }

    void simulateText()
    {
        const Result r = knee({"simulate", defaultScenario()});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("Latency (ms)"));
        QVERIFY(r.out.contains("waiting for predict slot"));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("stderrFragment");
        QTest::addRow("missing file") << QStringList{"simulate", "/nonexistent/scenario.yaml"} << "/nonexistent/scenario.yaml";
        QTest::addRow("no scenario") << QStringList{"simulate"} << "expected exactly one scenario";
        QTest::addRow("two scenarios") << QStringList{"simulate", "a.yaml", "b.yaml"} << "expected exactly one scenario";
        QTest::addRow("unknown flag") << QStringList{"simulate", "--frobnicate", "x.yaml"} << "frobnicate";
        QTest::addRow("bad seed") << QStringList{"simulate", defaultScenario(), "--seed", "-3"}
                                  << "--seed";
        QTest::addRow("unknown command") << QStringList{"simulat"} << "unknown command 'simulat'";
        QTest::addRow("a directory") << QStringList{"simulate", QStringLiteral(KNEE_TEST_DATA)} << "";
        QTest::addRow("--max-wall-s without --live") << QStringList{"simulate", defaultScenario(), "--max-wall-s", "5"}
                                                     << "--max-wall-s limits a --live run";
        QTest::addRow("--gpu-telemetry-ms without --live") << QStringList{"simulate", defaultScenario(), "--gpu-telemetry-ms", "100"}
                                                           << "--gpu-telemetry-ms samples the GPUs during a --live run";
        QTest::addRow("--gpu-telemetry-ms too fast") << QStringList{"simulate", defaultScenario(), "--live", "--gpu-telemetry-ms", "5"}
                                                     << "--gpu-telemetry-ms expects 0 (off) or milliseconds from 50";
        QTest::addRow("--gpu-telemetry-ms not a number") << QStringList{"simulate", defaultScenario(), "--live", "--gpu-telemetry-ms", "x"}
                                                         << "--gpu-telemetry-ms expects";
        QTest::addRow("serve --gpu-telemetry-ms too slow") << QStringList{"serve", defaultScenario(), "--gpu-telemetry-ms", "60001"}
                                                           << "--gpu-telemetry-ms expects 0 (off)";
    }
    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, stderrFragment);
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(!r.err.isEmpty(), "bad input must say what is wrong on stderr");
        QVERIFY2(QString::fromUtf8(r.err).contains(stderrFragment), r.err.constData());
        QVERIFY(r.out.isEmpty());
    }

    // --live reports each GPU over the run (NVML, here the stand-in library of tests/telemetry), or why it
    // cannot: an absent driver is a notice, never a failure.
    void simulateLiveReportsGpuTelemetry_data()
    {
        QTest::addColumn<QString>("library");
        QTest::addColumn<int>("gpus");
        QTest::addRow("stand-in NVML, two GPUs") << QStringLiteral(FAKE_NVML_PATH) << 2;
        QTest::addRow("no driver") << QStringLiteral("/nonexistent/libnvidia-ml.so.1") << 0;
    }
    void simulateLiveReportsGpuTelemetry()
    {
        QFETCH(QString, library);
        QFETCH(int, gpus);
        QTemporaryDir dir;
        QFile s(fourSlotsOf5Ms(dir));
        qputenv("KNEE_NVML_LIBRARY", library.toUtf8());
        const Result r = knee({"simulate", s.fileName(), "--live", "--json", "--gpu-telemetry-ms", "50"});
        const Result text = knee({"simulate", s.fileName(), "--live"});
        qunsetenv("KNEE_NVML_LIBRARY");
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["completed"].toInteger(), 100);
        const QJsonObject t = o["gpu_telemetry"].toObject();
        QCOMPARE(t["available"].toBool(), gpus > 0);
        QCOMPARE(t["gpus"].toArray().size(), gpus);
        QCOMPARE(text.exitCode, 0);
        // What the host took from the run (hypervisor steal, from /proc/stat), and a warning exactly when it
        // disturbed the run.
        const QJsonObject host = o["host"].toObject();
        QVERIFY(host["steal_pct"].isDouble() && host["steal_pct"].toDouble() >= 0 && host["steal_pct"].toDouble() <= 100);
        QCOMPARE(host["disturbed"].toBool(), host["steal_pct"].toDouble() >= 0.5);
        bool warned = false;
        for (const QJsonValue& w : o["warnings"].toArray())
            warned = warned || w.toString().startsWith(QStringLiteral("the host was busy during this live run"));
        QCOMPARE(warned, host["disturbed"].toBool());
        if (gpus == 0) {
            QVERIFY2(t["notice"].toString().contains("cannot load /nonexistent/libnvidia-ml.so.1"), qPrintable(t["notice"].toString()));
            QVERIFY(text.out.contains("GPU telemetry: no GPU telemetry: cannot load"));
            return;
        }
        const QJsonObject gpu1 = t["gpus"].toArray().at(1).toObject();
        QCOMPARE(gpu1["name"].toString(), QStringLiteral("Fake GPU 1"));
        QVERIFY(gpu1["samples"].toInteger() >= 1); // one at the start, then one per period
        QCOMPARE(gpu1["utilization_pct"].toObject()["mean"].toDouble(), 47.0);
        QCOMPARE(gpu1["power_w"].toObject()["max"].toDouble(), 124.456);
        QCOMPARE(gpu1["sm_clock_mhz"].toObject()["min"].toDouble(), 1880.0);
        QCOMPARE(gpu1["memory_used_bytes"].toObject()["max"].toDouble(), 2.0 * (1 << 30));
        QVERIFY2(text.out.contains("GPU 1 (Fake GPU 1): utilisation 47 % mean"), text.out.constData());
    }

    // Issue 17: a live sweep keeps, per level, its GPUs as NVML saw them in the measured windows (the
    // stand-in NVML reports two GPUs with fixed figures); a session keeps them.
    void liveSweepKeepsGpuFiguresPerLevel()
    {
        QTemporaryDir dir;
        QFile s(fourSlotsOf5Ms(dir));
        const QStringList args{"sweep", s.fileName(), "--levels", "1,2", "--warmup-s", "0.2", "--window-s", "0.3", "--cap-s", "1",
                               "--gpu-telemetry-ms", "50"};
        qputenv("KNEE_NVML_LIBRARY", FAKE_NVML_PATH);
        const Result r = knee(args + QStringList{"--json", "--out", dir.filePath("live.json")});
        const Result text = knee(args);
        qunsetenv("KNEE_NVML_LIBRARY");
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray levels = QJsonDocument::fromJson(r.out).object()["levels"].toArray();
        QCOMPARE(levels.size(), 2);
        for (const QJsonValue& l : levels) {
            const QJsonArray gpus = l.toObject()["gpus"].toArray();
            QCOMPARE(gpus.size(), 2);
            const QJsonObject gpu1 = gpus.at(1).toObject();
            QCOMPARE(gpu1["name"].toString(), QStringLiteral("Fake GPU 1"));
            QVERIFY(gpu1["samples"].toInteger() >= 1);
            QCOMPARE(gpu1["utilization_mean_pct"].toDouble(), 47.0);
            QCOMPARE(gpu1["power_max_w"].toDouble(), 124.456);
        }
        QVERIFY2(text.out.contains("GPU 1 at 2 users: utilisation 47 % mean"), text.out.constData());
        QFile session(dir.filePath("live.json"));
        QVERIFY(session.open(QIODevice::ReadOnly));
        QVERIFY(session.readAll().contains("\"utilization_mean_pct\": 47"));
        // A virtual sweep has no GPU to sample: the flag is refused, not ignored.
        QCOMPARE(knee({"sweep", s.fileName(), "--virtual", "--gpu-telemetry-ms", "50"}).exitCode, 2);
    }

    void malformedScenarioNamesLineAndKey()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("bad.yaml");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("deployment:\n  concurrency_target: -3\nworkload: {arrival: {kind: poisson, rate_rps: 5}, requests: 10}\n");
        f.close();
        const Result r = knee({"simulate", path, "--json"});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("bad.yaml:2"), r.err.constData());
        QVERIFY2(r.err.contains("concurrency_target"), r.err.constData());
    }

    // Worked example 4 through the command line: 10 req/s per replica, baseline 25, peak 80, buffer 2.
    void planGivenThroughput()
    {
        const Result r = knee({"plan", defaultScenario(), "--throughput-rps", "10", "--baseline-rps", "25", "--peak-rps", "80",
                               "--hours", "1", "--slo-ms", "100", "--cost-per-hour", "2", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["min_replicas"].toInt(), 4);
        QCOMPARE(o["max_replicas"].toInt(), 10);
        QCOMPARE(o["throughput_per_replica"].toObject()["source"].toString(), QStringLiteral("given"));
        QCOMPARE(o["rules"].toObject()["min_replicas"].toString(), QStringLiteral("ceil(25 / 10) + 1 = 4"));
        const QJsonObject check = o["check"].toObject();
        QVERIFY(check["requests"].toInteger() > 0);
        QCOMPARE(check["completed"].toInteger() + check["failed"].toInteger() + check["rejected"].toInteger(), check["requests"].toInteger());
        const double share = check["share_over_slo"].toDouble(-1);
        QVERIFY(share >= 0 && share <= 1);
        const QJsonObject replicas = check["replicas"].toObject();
        QVERIFY(replicas["hours"].toDouble() >= 4.0 * 0.99); // min 4 replicas for an hour at least
        QCOMPARE(replicas["cost_usd"].toDouble(), replicas["hours"].toDouble() * 2);
    }

    void planMeasuresThroughput()
    {
        const Result r = knee({"plan", defaultScenario(), "--baseline-rps", "100", "--peak-rps", "900", "--hours", "0.5", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        const QJsonObject t = o["throughput_per_replica"].toObject();
        QCOMPARE(t["source"].toString(), QStringLiteral("measured"));
        // The default model: 2 predict slots of 10 ms, target 4: at most 200 req/s per replica.
        QVERIFY2(t["rps"].toDouble() > 150 && t["rps"].toDouble() <= 200, qPrintable(QString::number(t["rps"].toDouble())));
        QVERIFY(o["max_replicas"].toInt() >= o["min_replicas"].toInt());
    }

    void planBadInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("no rates") << QStringList{"plan", defaultScenario()} << "--baseline-rps and --peak-rps";
        QTest::addRow("peak below baseline") << QStringList{"plan", defaultScenario(), "--baseline-rps", "50", "--peak-rps", "10",
                                                            "--throughput-rps", "5"}
                                             << "below the baseline";
        QTest::addRow("text rate") << QStringList{"plan", defaultScenario(), "--baseline-rps", "many", "--peak-rps", "10"}
                                   << "--baseline-rps expects a number";
        QTest::addRow("fractional buffer") << QStringList{"plan", defaultScenario(), "--baseline-rps", "1", "--peak-rps", "10",
                                                          "--buffer", "1.5"}
                                           << "whole number";
        QTest::addRow("missing scenario") << QStringList{"plan", "/nonexistent.yaml", "--baseline-rps", "1", "--peak-rps", "2"}
                                          << "No such file";
    }
    void planBadInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fragment);
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
        QVERIFY(r.out.isEmpty());
    }

    void simulateReportsScaling()
    {
        const Result r = knee({"simulate", QStringLiteral(KNEE_TEST_DATA "/scenarios/good_autoscaled_diurnal.yaml"), "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject replicas = QJsonDocument::fromJson(r.out).object()["replicas"].toObject();
        QCOMPARE(replicas["autoscaler"].toString(), QStringLiteral("baseten"));
        QVERIFY(replicas["peak"].toInt() > 1); // the peak of the day needs more than one replica
        QVERIFY(replicas["cold_starts"].toInteger() > 0);
        QVERIFY(!replicas["scaling_events"].toArray().isEmpty());
        QVERIFY(!replicas["scaling_events"].toArray().first().toObject()["reason"].toString().isEmpty());
        QCOMPARE(replicas["cost_usd"].toDouble(), replicas["hours"].toDouble() * 1.25);
    }

    void sweepJsonAndExports()
    {
        QTemporaryDir dir;
        const QString config = dir.filePath("config.yaml"), session = dir.filePath("s.json"), csv = dir.filePath("points.csv"),
                      autoscaling = dir.filePath("autoscaling.json");
        QVERIFY(QFile::copy(QStringLiteral(KNEE_TEST_DATA "/truss/sdxl-commented.yaml"), config));
        QFile::setPermissions(config, QFile::ReadOwner | QFile::WriteOwner);
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8,16,32", "--slo-ms", "60", "--baseline-rps",
                               "25", "--peak-rps", "80", "--export", config, "--export-autoscaling", autoscaling, "--csv", csv, "--out",
                               session, "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["levels"].toArray().size(), 6);
        for (const QJsonValue& l : o["levels"].toArray()) {
            QVERIFY(l.toObject()["p50_ms"].toDouble() <= l.toObject()["p95_ms"].toDouble());
            QVERIFY(l.toObject().contains("stable"));
        }
        // Two predict slots of 10 ms (plus 6 ms of pre/post on average): queueing starts past 4 users.
        QCOMPARE(o["knee"].toObject()["concurrency"].toInt(), 4);
        const QJsonObject rec = o["recommendation"].toObject();
        QCOMPARE(rec["concurrency_target"].toObject()["value"].toInt(), 4);
        QVERIFY(!rec["concurrency_target"].toObject()["rule"].toString().isEmpty());
        // Issue 20: the target is where throughput saturates (193 of 200 req/s at 4), and says so.
        QCOMPARE(rec["concurrency_target"].toObject()["basis"].toString(), QStringLiteral("saturation"));
        QCOMPARE(o["saturation"].toObject()["level"].toInt(), 4);
        QCOMPARE(o["saturation"].toObject()["tolerance"].toDouble(), 0.05);
        QCOMPARE(o["saturation"].toObject()["throughput_knee"].toObject()["concurrency"].toInt(), 4);
        QCOMPARE(rec["predict_concurrency"].toObject()["value"].toInt(), 2);
        QCOMPARE(rec["min_replicas"].toObject()["value"].toInt(), 2);
        QCOMPARE(rec["max_replicas"].toObject()["value"].toInt(), 3);

        QFile c(config);
        QVERIFY(c.open(QIODevice::ReadOnly));
        const QByteArray written = c.readAll();
        QFile original(QStringLiteral(KNEE_TEST_DATA "/truss/sdxl-commented.yaml"));
        QVERIFY(original.open(QIODevice::ReadOnly));
        QVERIFY(written.startsWith(original.readAll())); // every byte of the user's file kept
        QVERIFY(written.endsWith("runtime:\n  predict_concurrency: 2\n"));
        QFile a(autoscaling);
        QVERIFY(a.open(QIODevice::ReadOnly));
        const QJsonObject as = QJsonDocument::fromJson(a.readAll()).object();
        QCOMPARE(as["concurrency_target"].toInt(), 4);
        QCOMPARE(as["max_replica"].toInt(), 3);
        QFile points(csv);
        QVERIFY(points.open(QIODevice::ReadOnly));
        QCOMPARE(points.readAll().count('\n'), 7); // header + 6 levels
        QFile s(session);
        QVERIFY(s.open(QIODevice::ReadOnly));
        const QJsonObject so = QJsonDocument::fromJson(s.readAll()).object();
        QCOMPARE(so["format"].toString(), QStringLiteral("knee-session"));
        QCOMPARE(so["version"].toInt(), 4); // format 3: sweep records (issue 14), the shape --json prints; 4: grids name their sweep
        QVERIFY(so["sweeps"].toArray().first().toObject()["levels"].toArray().first().toObject().contains("histogram"));
        // One sweep record (issue 14): what --json printed is what the session keeps, key for key, but
        // for what only a run says (its exports, whether anything was measured).
        QJsonObject printed = o;
        for (const char* runOnly : {"exports", "nothing_measured"})
            QVERIFY2(printed.take(QLatin1String(runOnly)) != QJsonValue(QJsonValue::Undefined), runOnly);
        QCOMPARE(printed, so["sweeps"].toArray().first().toObject());
    }

    // Issue 12 item 9: an SLO no level meets used to be dropped without a word (the knee was recommended).
    void sweepSaysWhenNoLevelMeetsTheSlo()
    {
        const QStringList args{"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8", "--slo-ms", "15"};
        const Result text = knee(args);
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("Recommended concurrency_target: none (no level meets the SLO (p95 <= 15.0 ms): the smallest usable "
                                   "level, 1, already has p95 28.0 ms > 15.0 ms"),
                 text.out.constData());
        const Result json = knee(args + QStringList{"--json"});
        const QJsonObject target = QJsonDocument::fromJson(json.out).object()["recommendation"].toObject()["concurrency_target"].toObject();
        QVERIFY(target["value"].isNull());
        QCOMPARE(target["basis"].toString(), QStringLiteral("no_level_meets_slo"));
    }

    // Issue 20: the rule and its numbers in the text; a looser tolerance saturates earlier.
    void sweepNamesItsRule()
    {
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8,16"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("Recommended concurrency_target: 4 (saturation: 97 % of peak throughput 200 req/s (peak at 16; the "
                                "smallest level within 5 %); p95 33.2 ms;"),
                 r.out.constData());
        QVERIFY(r.out.contains("Throughput: saturates at 4"));
        const Result loose = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8,16", "--saturation-tolerance", "40", "--json"});
        const QJsonObject o = QJsonDocument::fromJson(loose.out).object();
        QCOMPARE(o["saturation"].toObject()["level"].toInt(), 2); // 124.6 req/s is 62 % of the peak
        QCOMPARE(o["options"].toObject()["saturation_tolerance"].toDouble(), 0.4);
    }

    // Issue 13: a dynamic-batching sweep measures its levels from three starts and says where they disagree
    // (T(b, 1) = 1 ms, T(b, 2) = 2 ms: 8 users make 6,667 req/s in one batch, 4,000 in two groups;
    // tests/study/tst_sweep.cpp works it out); --starts 1 measures one.
    void sweepReportsSteadyStates()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("dynamic.yaml");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("name: two states\ndeployment: {replicas: {min: 1, max: 1}, concurrency_target: 100, predict_concurrency: 8}\n"
                "model:\n  predict: 1\n  predict_table: {batch: [1, 8], concurrency: [1, 2], ms: [[1, 1], [2, 2]]}\n"
                "  batching: {mode: dynamic, max_batch: 64, max_delay_ms: 0.2}\n"
                "workload: {arrival: {kind: closed, users: 8}, duration_s: 10}\n");
        f.close();
        const QStringList args{"sweep", path, "--virtual", "--levels", "1,8,16,32"};
        const Result text = knee(args);
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("4000.0  several steady states: 4000.0-6666.7 req/s by how the users start; the slowest is shown"),
                 text.out.constData());
        const Result json = knee(args + QStringList{"--json"});
        QCOMPARE(json.exitCode, 0);
        const QJsonArray levels = QJsonDocument::fromJson(json.out).object()["levels"].toArray();
        const QJsonObject eight = levels[1].toObject();
        QCOMPARE(eight["concurrency"].toInt(), 8);
        const QJsonObject states = eight["states"].toObject();
        QVERIFY(states["several"].toBool());
        QCOMPARE(states["chosen"].toString(), QStringLiteral("two_groups"));
        const QJsonArray starts = states["starts"].toArray();
        QCOMPARE(starts.size(), 3);
        QCOMPARE(starts[0].toObject()["requests_per_call"].toDouble(), 8.0);
        QCOMPARE(starts[1].toObject()["requests_per_call"].toDouble(), 4.0);
        QCOMPARE(eight["throughput_rps"].toDouble(), starts[1].toObject()["throughput_rps"].toDouble());
        QVERIFY(eight["predict_calls"].toInteger() > 0);
        QVERIFY(!levels[0].toObject().contains("states")); // one user
        const Result one = knee(args + QStringList{"--starts", "1", "--json"});
        QCOMPARE(one.exitCode, 0);
        const QJsonObject single = QJsonDocument::fromJson(one.out).object()["levels"].toArray()[1].toObject();
        QVERIFY(!single.contains("states"));
        QCOMPARE(single["throughput_rps"].toDouble(), starts[0].toObject()["throughput_rps"].toDouble());
    }

    // Issue 17: the search, goodput and repeats on the command line, in text and JSON.
    void sweepSearchesTheSloWithRepeats()
    {
        const QStringList args{"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8,16", "--slo-ms", "40", "--search", "slo", "--repeats", "3"};
        const Result text = knee(args);
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains("SLO search: ") && text.out.contains("p95 95% interval") && text.out.contains("goodput"), text.out.constData());
        const Result json = knee(args + QStringList{"--json"});
        QCOMPARE(json.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(json.out).object();
        const QJsonObject search = o["slo_search"].toObject();
        const int largest = search["largest"].toInt();
        QVERIFY(largest >= 1);
        for (const QJsonValue& v : o["levels"].toArray()) { // every level up to the answer meets the SLO; the next misses
            const QJsonObject l = v.toObject();
            QCOMPARE(l["repeats"].toObject()["count"].toInt(), 3);
            QCOMPARE(l["repeats"].toObject()["runs"].toArray().size(), 3);
            QVERIFY(l.contains("goodput_share"));
            if (l["concurrency"].toInt() <= largest)
                QVERIFY(l["p95_ms"].toDouble() <= 40);
            else if (l["concurrency"].toInt() == search["smallest_missing"].toInt())
                QVERIFY(l["p95_ms"].toDouble() > 40);
        }
        QCOMPARE(search["smallest_missing"].toInt(), largest + 1); // bisection went down to one user
        QCOMPARE(o["options"].toObject()["search"].toString(), QStringLiteral("slo"));
    }

    void sweepWithGrid()
    {
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8", "--grid", "1,2,4", "--slo-ms", "40", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        const QJsonObject g = o["grid"].toObject();
        QCOMPARE(g["cells"].toArray().size(), 12);
        int measured = 0;
        for (const QJsonValue& c : g["cells"].toArray())
            measured += c.toObject()["measured"].toBool();
        QCOMPARE(measured, 4 + 3 + 2); // pc <= target: pc 1 at 4 targets, pc 2 at 3, pc 4 at 2
        const QJsonObject rec = o["recommendation"].toObject();
        const int target = rec["concurrency_target"].toObject()["value"].toInt();
        const int pc = rec["predict_concurrency"].toObject()["value"].toInt();
        QVERIFY(pc <= target); // never a predict_concurrency the target cannot reach
        QVERIFY(rec["predict_concurrency"].toObject()["rule"].toString().startsWith("from the grid"));
    }

    // Issue 20: throughput still rises at 2, so the virtual sweep adds 4 and 8 and recommends 4; the grid
    // (asked for targets 1 and 2) also measures the target 4 column, where predict_concurrency is chosen.
    void gridFollowsALevelTheSweepAdded()
    {
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2", "--grid", "1,2", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["saturation"].toObject()["extended_levels"].toArray(), (QJsonArray{4, 8}));
        QCOMPARE(o["recommendation"].toObject()["concurrency_target"].toObject()["value"].toInt(), 4);
        QCOMPARE(o["grid"].toObject()["cells"].toArray().size(), 6); // predict_concurrency 1, 2 × targets 1, 2, 4
        QCOMPARE(o["grid"].toObject()["best"].toObject()["target"].toInt(), 4);
        QVERIFY(o["recommendation"].toObject()["predict_concurrency"].toObject()["rule"].toString().startsWith("from the grid"));
    }

    void sweepOnACustomServerConfigSaysWhy()
    {
        QTemporaryDir dir;
        const QString config = dir.filePath("config.yaml");
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("model_name: m\ndocker_server:\n  start_command: serve\n");
        f.close();
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8", "--export", config});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.contains("only for Python Truss models"), r.err.constData());
        QFile back(config);
        QVERIFY(back.open(QIODevice::ReadOnly));
        QCOMPARE(back.readAll(), QByteArray("model_name: m\ndocker_server:\n  start_command: serve\n"));
    }

    void sweepBadInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("saturation tolerance zero") << QStringList{"sweep", defaultScenario(), "--virtual", "--saturation-tolerance", "0"}
                                                   << "--saturation-tolerance";
        QTest::addRow("saturation tolerance not a number")
            << QStringList{"sweep", defaultScenario(), "--virtual", "--saturation-tolerance", "5%"} << "--saturation-tolerance";
        QTest::addRow("bad window") << QStringList{"sweep", defaultScenario(), "--window-s", "0"} << "--window-s";
        QTest::addRow("bad levels") << QStringList{"sweep", defaultScenario(), "--virtual", "--levels", "1,two,4"} << "--levels";
        QTest::addRow("zero level") << QStringList{"sweep", defaultScenario(), "--virtual", "--levels", "0,4"} << "--levels";
        QTest::addRow("negative slo") << QStringList{"sweep", defaultScenario(), "--virtual", "--slo-ms", "-5"} << "--slo-ms";
        QTest::addRow("peak below baseline") << QStringList{"sweep", defaultScenario(), "--virtual", "--baseline-rps", "50", "--peak-rps", "10"}
                                             << "the peak rate (10 req/s) is below the baseline (50 req/s)"; // as plan refuses it
        QTest::addRow("search without an SLO") << QStringList{"sweep", defaultScenario(), "--virtual", "--search", "slo"} << "needs an SLO";
        QTest::addRow("search for what") << QStringList{"sweep", defaultScenario(), "--virtual", "--search", "rate", "--slo-ms", "50"}
                                         << "--search knows 'slo'";
        QTest::addRow("too many repeats") << QStringList{"sweep", defaultScenario(), "--virtual", "--repeats", "21"} << "--repeats";
        QTest::addRow("grid with repeats") << QStringList{"sweep", defaultScenario(), "--virtual", "--grid", "1,2", "--repeats", "2"}
                                           << "--grid measures each cell once";
        QTest::addRow("fractional repeats") << QStringList{"sweep", defaultScenario(), "--virtual", "--repeats", "2.5"} << "--repeats";
        QTest::addRow("too many starts") << QStringList{"sweep", defaultScenario(), "--virtual", "--starts", "4"} << "--starts";
        QTest::addRow("fractional starts") << QStringList{"sweep", defaultScenario(), "--virtual", "--starts", "1.5"} << "--starts";
        QTest::addRow("starts with repeats") << QStringList{"sweep", defaultScenario(), "--virtual", "--repeats", "2", "--starts", "3"}
                                             << "run it without --repeats";
        QTest::addRow("starts of a rate sweep") << QStringList{"sweep", defaultScenario(), "--virtual", "--rates", "10,20", "--starts", "2"}
                                                << "run it without --rates";
        QTest::addRow("starts of an endpoint") << QStringList{"sweep", "--target", "http://127.0.0.1:9/predict", "--starts", "2"}
                                               << "--starts acts on the built-in engine's levels";
    }
    void sweepBadInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fragment);
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
    }

    void sweepRefusesABrokenConfigAndLeavesIt()
    {
        QTemporaryDir dir;
        const QString config = dir.filePath("config.yaml");
        const QByteArray broken = "model_name: [unclosed\nruntime:\n";
        QFile f(config);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(broken);
        f.close();
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4", "--export", config});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains("does not parse"), r.err.constData());
        QFile back(config);
        QVERIFY(back.open(QIODevice::ReadOnly));
        QCOMPARE(back.readAll(), broken); // nothing lost
    }

    // Calibration on whatever backend is here (CI: the CPU, with a notice). Timings are not asserted
    // (they depend on the machine); the table's shape is, and a scenario using it runs.
    void calibrateWritesATableScenariosUse()
    {
        QTemporaryDir dir;
        const QString table = dir.filePath("table.yaml");
        const Result r = knee({"calibrate", "--profile", "tiny", "--batches", "1,2,4", "--repeats", "3", "--settle-s", "2", "--live-idle-delays", "0.2,1",
                               "--shared-cost", "on", "--out", table, "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        // The device was settled first: blocks of batch-1 calls until three in a row agree within 2 %, or the
        // 2 s budget is spent (said on stderr).
        const QJsonObject settle = o["settle"].toObject();
        const QJsonArray blocks = settle["block_median_ms"].toArray();
        QVERIFY(!settle["skipped"].toBool());
        QVERIFY(settle["calls"].toInt() >= 5 && !blocks.isEmpty());
        if (settle["settled"].toBool()) {
            QVERIFY(blocks.size() >= 3);
            const double last = blocks[blocks.size() - 1].toDouble();
            for (int back = 2; back <= 3; ++back) {
                const double before = blocks[blocks.size() - back].toDouble();
                QVERIFY2(std::abs(last - before) <= 0.02 * before, qPrintable(QString::number(last) + " vs " + QString::number(before)));
            }
        } else {
            QVERIFY(r.err.contains("did not settle")); // the budget (2 s of calls, or 4 s of wall time) ran out
        }
        QVERIFY(o["predict_table"].toObject()["source"].toString().contains(settle["settled"].toBool() ? "settled after" : "did not settle"));
        QCOMPARE(o["predict_table"].toObject()["batch"].toArray(), (QJsonArray{1, 2, 4}));
        for (const QJsonValue& v : o["predict_table"].toObject()["ms"].toArray())
            QVERIFY(v.toDouble() > 0);
        QVERIFY(o["gpu"].toBool() || !o["notice"].toString().isEmpty()); // no GPU: says so
        QVERIFY(o["parameter_bytes"].toInteger() > 0);
        // Every timed call's host time, by calls in flight (1, 2, 4, 8 by default) and batch: 3 repeats per
        // caller; their median is the table's time.
        const QJsonArray samples = o["host_ms_samples"].toArray();
        const QJsonArray byConcurrency = o["predict_table"].toObject()["ms_by_concurrency"].toArray();
        QCOMPARE(samples.size(), 4);
        QCOMPARE(byConcurrency.size(), 4);
        for (int k = 0; k < 4; ++k) {
            QCOMPARE(samples[k].toArray().size(), 3);
            for (int b = 0; b < 3; ++b) {
                QVector<double> calls;
                for (const QJsonValue& v : samples[k].toArray()[b].toArray())
                    calls.append(v.toDouble());
                QCOMPARE(calls.size(), 3 * (1 << k));
                std::nth_element(calls.begin(), calls.begin() + calls.size() / 2, calls.end());
                QCOMPARE(calls[calls.size() / 2], byConcurrency[k].toArray()[b].toDouble());
            }
        }
        // Each point took 2 to 4 passes (two attempts within 5 % of each other, at most --attempts 4); a point
        // that never agreed is named in the notice, which the command also says on stderr.
        const QJsonObject confirmation = o["confirmation"].toObject();
        QCOMPARE(confirmation["max_attempts"].toInt(), 4);
        QCOMPARE(confirmation["attempts"].toArray().size(), 4);
        bool allAgreed = true; // every point within 3 passes: it agreed
        for (const QJsonValue& row : confirmation["attempts"].toArray()) {
            QCOMPARE(row.toArray().size(), 3);
            for (const QJsonValue& n : row.toArray()) {
                QVERIFY(n.toInt() >= 2 && n.toInt() <= 4);
                allAgreed = allAgreed && n.toInt() < 4;
            }
        }
        const QString confirmNotice = confirmation["notice"].toString();
        if (allAgreed) // then no point is named (an idle gap may be)
            QVERIFY2(!confirmNotice.contains(" in flight"), qPrintable(confirmNotice));
        QVERIFY(confirmNotice.isEmpty() || QString::fromUtf8(r.err).contains(confirmNotice));

        // The per-call variation (9 quantiles of call ÷ median, the middle one 1) and the idle wake-up cost
        // are in the JSON as in the YAML table.
        const QJsonArray variation = o["predict_table"].toObject()["variation"].toArray();
        QCOMPARE(variation.size(), 9);
        QCOMPARE(variation[4].toDouble(), 1.0);
        // By k (variation_shared) only from 100 calls at every k: here 18 at k = 2 (3 repeats x 2 callers x 3
        // batches), so the pooled variation serves every shared call.
        QVERIFY(!o["predict_table"].toObject().contains("variation_shared"));
        const QJsonObject idle = o["predict_table"].toObject()["idle"].toObject();
        QVERIFY(!idle["gap_ms"].toArray().isEmpty());
        QCOMPARE(idle["extra_ms"].toArray().size(), idle["gap_ms"].toArray().size());
        // The live engine's idle cost, at one user whose calls each wait out the batcher's delay (0.2 and
        // 1 ms): each point is in the table's idle curve, at the gap its cycle implies.
        const QJsonArray liveIdle = o["live_idle"].toArray();
        QCOMPARE(liveIdle.size(), 2);
        for (int i = 0; i < 2; ++i) {
            const QJsonObject p = liveIdle[i].toObject();
            QCOMPARE(p["delay_ms"].toDouble(), i == 0 ? 0.2 : 1.0);
            QVERIFY2(p["cycle_ms"].toDouble() > p["delay_ms"].toDouble(), qPrintable(QString::number(p["cycle_ms"].toDouble())));
            const double gap = std::round(p["gap_ms"].toDouble() * 1e4) / 1e4;
            const QJsonArray gaps = idle["gap_ms"].toArray();
            const auto at = std::find(gaps.begin(), gaps.end(), QJsonValue(gap));
            QVERIFY2(at != gaps.end(), qPrintable(QString::number(gap)));
            QCOMPARE(idle["extra_ms"].toArray()[int(at - gaps.begin())].toDouble(), p["extra_ms"].toDouble());
            // The run's spread as the live engine met it: ordered quantiles, the predict part inside the request.
            for (const char* which : {"latency_ms", "predict_ms"}) {
                const QJsonObject q = p[which].toObject();
                QVERIFY2(q["count"].toInt() > 0, which);
                QVERIFY2(q["p50"].toDouble() > 0 && q["p50"].toDouble() <= q["p90"].toDouble() && q["p90"].toDouble() <= q["p95"].toDouble()
                             && q["p95"].toDouble() <= q["p99"].toDouble(),
                         which);
            }
            QVERIFY(p["predict_ms"].toObject()["p50"].toDouble() <= p["latency_ms"].toObject()["p50"].toDouble());
            QCOMPARE(p["predict_ms"].toObject()["count"].toInt(), p["latency_ms"].toObject()["count"].toInt());
        }
        QVERIFY(o["predict_table"].toObject()["source"].toString().contains("idle cost from the live engine's batcher"));
        // The wake-up's jitter: each call after a caller's gap of 0.1 ms or more, minus its gap's mean, pooled,
        // at the 9 quantiles; derived again here from the raw samples the JSON keeps.
        {
            const QJsonArray callerGaps = o["caller_idle"].toObject()["gap_ms"].toArray();
            const QJsonArray samples = o["idle_host_ms_samples"].toArray();
            QCOMPARE(samples.size(), callerGaps.size());
            std::vector<double> pooled;
            double from = 0;
            for (int g = 0; g < samples.size(); ++g) {
                const QJsonArray calls = samples[g].toArray();
                if (callerGaps[g].toDouble() < 0.1 || calls.isEmpty())
                    continue;
                if (from == 0)
                    from = callerGaps[g].toDouble();
                double mean = 0;
                for (const QJsonValue& v : calls)
                    mean += v.toDouble() / double(calls.size());
                for (const QJsonValue& v : calls)
                    pooled.push_back(v.toDouble() - mean);
            }
            QVERIFY2(pooled.size() >= 100, qPrintable(QString::number(pooled.size())));
            std::sort(pooled.begin(), pooled.end());
            const QJsonArray jitter = idle["jitter_ms"].toArray();
            QCOMPARE(jitter.size(), 9);
            for (int i = 0; i < 9; ++i) {
                const double q = std::array{0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99}[std::size_t(i)]; // ServiceTable::kVariationQuantiles
                const double expected = pooled[std::min(pooled.size() - 1, std::size_t(q * double(pooled.size())))];
                // the JSON's samples and the jitter are both rounded to 1e-4 ms (and the means of rounded samples)
                QVERIFY2(std::abs(jitter[i].toDouble() - expected) <= 2e-4, qPrintable(QString("%1: %2 vs %3").arg(q).arg(jitter[i].toDouble()).arg(expected)));
            }
            QCOMPARE(idle["jitter_from_ms"].toDouble(), from);
            QVERIFY(o["predict_table"].toObject()["source"].toString().contains("idle jitter: each call after an idle gap"));
        }
        // The live engine thread's CPU time per call in the queue run (a thread that ran the calls used some;
        // more than a whole call's time per call would mean it was measured over the wrong span).
        const double thread = o["predict_table"].toObject()["engine_thread_ms"].toDouble();
        QVERIFY2(thread > 0 && thread < o["live_cycle_ms"].toDouble(), qPrintable(QString::number(thread)));
        QVERIFY(o["predict_table"].toObject()["source"].toString().contains("engine thread: its CPU time per call"));
        // --shared-cost on: a live queue run at each k above 1 (2, 4, 8), the thread's time per call measured and the
        // overhead fitted so that the virtual run completes as many calls (the closest of the overheads the
        // bisection ran, within 1 %); the table carries both by concurrency, k = 1 first.
        const QJsonArray queue = o["live_queue"].toArray();
        QCOMPARE(queue.size(), 3);
        const QJsonArray overheadByK = o["predict_table"].toObject()["overhead_ms_by_concurrency"].toArray();
        const QJsonArray threadByK = o["predict_table"].toObject()["engine_thread_ms_by_concurrency"].toArray();
        QCOMPARE(overheadByK.size(), 4);
        QCOMPARE(threadByK.size(), 4);
        QCOMPARE(overheadByK[0].toDouble(), o["predict_table"].toObject()["overhead_ms"].toDouble());
        for (int j = 0; j < 3; ++j) {
            const QJsonObject p = queue[j].toObject();
            QCOMPARE(p["concurrency"].toInt(), 2 << j);
            QCOMPARE(p["overhead_ms"].toDouble(), overheadByK[j + 1].toDouble());
            QCOMPARE(p["engine_thread_ms"].toDouble(), threadByK[j + 1].toDouble());
            QVERIFY(p["throughput_rps"].toDouble() > 0 && p["engine_thread_ms"].toDouble() > 0);
            if (p["overhead_ms"].toDouble() > 0) // fitted: virtual time completes what the live run did
                QVERIFY2(std::abs(p["virtual_rps"].toDouble() / p["throughput_rps"].toDouble() - 1) < 0.01,
                         qPrintable(QString("k %1: virtual %2, live %3").arg(2 << j).arg(p["virtual_rps"].toDouble()).arg(p["throughput_rps"].toDouble())));
            else // none at all (or less than 0.05 us, which rounds to none) completes about what live did, or less
                QVERIFY(p["virtual_rps"].toDouble() <= p["throughput_rps"].toDouble() * 1.01);
        }
        QVERIFY(o["predict_table"].toObject()["source"].toString().contains("by concurrency: engine thread from the queue run"));
        // The open-loop run: Poisson sends at a quarter of the queue run's rate, and how late the asleep engine
        // thread ran the ones it woke for, at the variation's nine quantiles, as the table's engine_thread_wake_ms.
        const QJsonObject open = o["live_open"].toObject();
        QCOMPARE(open["rate_rps"].toDouble(), std::max(1.0, 1000 / o["live_cycle_ms"].toDouble() / 4));
        QVERIFY(open["throughput_rps"].toDouble() > 0);
        QVERIFY2(open["wake_ups"].toInt() >= 200, qPrintable(QString::number(open["wake_ups"].toInt())));
        const QJsonArray wake = open["wake_ms"].toArray();
        QCOMPARE(wake.size(), 9);
        for (int i = 0; i < 9; ++i)
            QVERIFY(wake[i].toDouble() >= (i ? wake[i - 1].toDouble() : 0.0));
        QCOMPARE(o["predict_table"].toObject()["engine_thread_wake_ms"].toArray(), wake);
        // Its calls by the gap before each, from the run's trace (callIdleBins): at least 400 sends over at most
        // eight bins fill one with 30 or more; each bin's median gap lies in it, and no bin has more calls than
        // the run completed.
        const QJsonArray callIdle = open["call_idle"].toArray();
        QVERIFY(!callIdle.isEmpty());
        for (int i = 0; i < callIdle.size(); ++i) {
            const QJsonObject b = callIdle[i].toObject();
            QVERIFY(b["calls"].toInt() >= 30);
            QVERIFY(b["calls"].toDouble() <= open["throughput_rps"].toDouble() * 121);
            QVERIFY2(b["gap_ms"].toDouble() >= b["from_gap_ms"].toDouble() - 1e-4 && b["gap_ms"].toDouble() <= b["to_gap_ms"].toDouble() + 1e-4,
                     qPrintable(QString("bin %1: gap %2").arg(i).arg(b["gap_ms"].toDouble())));
            QVERIFY(b["host_ms"].toDouble() > 0);
            if (i > 0)
                QVERIFY(b["from_gap_ms"].toDouble() >= callIdle[i - 1].toObject()["to_gap_ms"].toDouble());
        }
        // From them, the call curve (setCallIdleCurve) where there were calls back to back and a bin beyond the
        // queue run's gap: its first point the queue's gap with the idle curve's extra there (none where the gap
        // is 0: then the first point is a bin's), each later one a bin's median gap charged that extra plus the
        // bin's host time over the back-to-back bin's (to the table's 0.1 us, each).
        const QJsonObject tableIdle = o["predict_table"].toObject()["idle"].toObject();
        if (tableIdle.contains("call_gap_ms")) {
            const QJsonArray gaps = tableIdle["call_gap_ms"].toArray(), extras = tableIdle["call_extra_ms"].toArray();
            QCOMPARE(callIdle[0].toObject()["from_gap_ms"].toDouble(), 0.0);
            QCOMPARE(gaps.size(), extras.size());
            const double backToBack = callIdle[0].toObject()["host_ms"].toDouble();
            const auto over = [&](const QJsonObject& b) { return std::max(0.0, b["host_ms"].toDouble() - backToBack); };
            double anchor = extras[0].toDouble();
            int j = 1;
            for (int i = 1; i < callIdle.size(); ++i)
                if (callIdle[i].toObject()["gap_ms"].toDouble() == gaps[0].toDouble()) { // a queue gap of 0: no anchor point
                    anchor -= over(callIdle[i].toObject());
                    j = 0;
                }
            QVERIFY(gaps.size() >= 2 - j);
            for (int i = 1; i < callIdle.size() && j < gaps.size(); ++i) {
                const QJsonObject b = callIdle[i].toObject();
                if (j > 0 && b["gap_ms"].toDouble() <= gaps[j - 1].toDouble())
                    continue;
                if (j == 0 && b["gap_ms"].toDouble() < gaps[0].toDouble())
                    continue;
                QCOMPARE(gaps[j].toDouble(), b["gap_ms"].toDouble());
                const double expected = anchor + over(b);
                QVERIFY2(std::abs(extras[j].toDouble() - expected) <= 1.5e-4, qPrintable(QString("point %1: %2 vs %3").arg(j).arg(extras[j].toDouble()).arg(expected)));
                ++j;
            }
            QCOMPARE(j, int(gaps.size()));
            QVERIFY(o["predict_table"].toObject()["source"].toString().contains("call idle (calls no batcher's timer released)"));
        } else { // a necessary condition of no curve: no calls back to back, or no bin beyond the queue's gap (below the cycle)
            QVERIFY(callIdle[0].toObject()["from_gap_ms"].toDouble() > 0 || callIdle.size() == 1
                    || callIdle.last().toObject()["gap_ms"].toDouble() <= o["live_cycle_ms"].toDouble());
        }
        QVERIFY(o["predict_table"].toObject()["source"].toString().contains("engine thread wake-up: how late it ran the Poisson sends it woke for"));
        // What the host took from the live runs (Linux: /proc/stat), and how many runs each took: one, or up to
        // three while the host disturbed them.
        const QJsonObject host = o["host"].toObject();
        QVERIFY(host["queue_attempts"].toInt() >= 1 && host["queue_attempts"].toInt() <= 3);
        QCOMPARE(host["disturbed_steal_pct"].toDouble(), 0.15); // stricter than a measurement window's 0.5 %
        QVERIFY(host["queue_steal_pct"].isDouble() && host["queue_steal_pct"].toDouble() >= 0);
        // A notice exactly when the kept queue run was disturbed (or an idle run was).
        if (host["queue_steal_pct"].toDouble() >= 0.15)
            QVERIFY(!host["notice"].toString().isEmpty());
        // The idle phase's check, recomputed from the samples the JSON keeps: the calls after gaps under 0.1 ms,
        // each over its gap's median, pooled, at p95, against the table's calls alone (variation_alone, else
        // variation); disturbed, and said so, past twice as far above the median.
        const QJsonObject idlePhase = o["idle_phase"].toObject();
        const QJsonObject tableJson = o["predict_table"].toObject();
        const QJsonArray ofOne = tableJson.contains("variation_alone") ? tableJson["variation_alone"].toArray() : tableJson["variation"].toArray();
        QCOMPARE(ofOne.size(), 9);
        QCOMPARE(idlePhase["calls_alone_p95"].toDouble(), ofOne[7].toDouble());
        {
            const QJsonArray gaps = o["caller_idle"].toObject()["gap_ms"].toArray();
            const QJsonArray samples = o["idle_host_ms_samples"].toArray();
            QCOMPARE(samples.size(), gaps.size());
            std::vector<double> ratios;
            for (qsizetype g = 0; g < gaps.size(); ++g) {
                if (gaps[g].toDouble() >= 0.1)
                    continue;
                std::vector<double> v;
                for (const QJsonValue& x : samples[g].toArray())
                    v.push_back(x.toDouble());
                std::sort(v.begin(), v.end());
                const double median = v[v.size() / 2];
                for (double x : v)
                    ratios.push_back(x / median);
            }
            QVERIFY2(ratios.size() >= 100, qPrintable(QString::number(ratios.size())));
            std::sort(ratios.begin(), ratios.end());
            const double p95 = ratios[std::min(ratios.size() - 1, std::size_t(0.95 * double(ratios.size())))];
            QCOMPARE(idlePhase["back_to_back_p95"].toDouble(), p95);
            QCOMPARE(idlePhase["disturbed"].toBool(), p95 - 1 > 2 * std::max(0.0, ofOne[7].toDouble() - 1));
            QCOMPARE(host["notice"].toString().contains("the idle phase was disturbed"),
                     idlePhase["disturbed"].toBool() && tableJson["idle"].toObject().contains("jitter_ms"));
        }
        for (const QJsonValue& p : liveIdle) {
            QVERIFY(p.toObject()["attempts"].toInt() >= 1 && p.toObject()["attempts"].toInt() <= 3);
            QVERIFY(p.toObject()["host_steal_pct"].isDouble());
        }

        // The table goes under model: in a scenario, and virtual-time runs use it.
        QFile t(table);
        QVERIFY(t.open(QIODevice::ReadOnly));
        QByteArray indented;
        for (const QByteArray& line : t.readAll().split('\n'))
            if (!line.isEmpty())
                indented += "  " + line + "\n";
        const QString scenario = dir.filePath("s.yaml");
        QFile s(scenario);
        QVERIFY(s.open(QIODevice::WriteOnly));
        s.write("deployment: {replicas: {min: 1, max: 1}, concurrency_target: 8, predict_concurrency: 8}\nmodel:\n  predict: 1\n" + indented
                + "  batching: {mode: dynamic, max_batch: 4, max_delay_ms: 1}\n"
                  "workload: {arrival: {kind: closed, users: 8}, requests: 2000}\n");
        s.close();
        const Result sim = knee({"simulate", scenario, "--json"});
        QVERIFY2(sim.exitCode == 0, sim.err.constData());
        QCOMPARE(QJsonDocument::fromJson(sim.out).object()["completed"].toInteger(), 2000);
        QVERIFY(indented.contains("  profile: tiny\n")); // the table names its model

        // --live runs the same scenario in wall-clock time, every batch a real forward pass of the model
        // the table came from, and says what ran predict (the CPU here, whatever the machine has).
        qputenv("KNEE_PREDICT_BACKEND", "cpu");
        const Result live = knee({"simulate", scenario, "--live", "--json"});
        qunsetenv("KNEE_PREDICT_BACKEND");
        QVERIFY2(live.exitCode == 0, live.err.constData());
        const QJsonObject l = QJsonDocument::fromJson(live.out).object();
        QCOMPARE(l["clock"].toString(), QStringLiteral("live"));
        QCOMPARE(l["completed"].toInteger(), 2000);
        QVERIFY(l["real_predict"].toBool());
        QVERIFY2(l["predict_stage"].toString().contains("model 'tiny'"), qPrintable(l["predict_stage"].toString()));
        QVERIFY2(l["predict_stage"].toString().contains("CPU", Qt::CaseInsensitive), qPrintable(l["predict_stage"].toString()));
        QCOMPARE(l["predict_errors"].toInteger(), 0);
        QVERIFY(l["load_started_s"].toDouble() > 0); // after the replica had built the model's weights
        const Result text = knee({"simulate", scenario, "--live", "--max-wall-s", "0"});
        QCOMPARE(text.exitCode, 2); // bad input, before anything runs

        // --check: the table's queue runs again (k = 1 and each k of its axis), live against virtual time on the
        // table. On this 2-core machine a table holds only to the machine's noise (checks minutes after calibrating
        // here: -17.9 to +11.3 %), so what is asserted is the check's arithmetic and its verdict, and that a table 50x
        // too slow is caught, never how close the fresh one came.
        const Result check = knee({"calibrate", "--check", table, "--backend", "cpu", "--json"});
        QVERIFY2(check.exitCode == 0 || check.exitCode == 5, check.err.constData());
        const QJsonObject c = QJsonDocument::fromJson(check.out).object();
        QCOMPARE(c["profile"].toString(), QStringLiteral("tiny"));
        QCOMPARE(c["tolerance_pct"].toDouble(), 5.0);
        QCOMPARE(c["table_source"].toString(), tableJson["source"].toString());
        const QJsonArray points = c["points"].toArray();
        QCOMPARE(points.size(), 4);
        double worst = 0;
        for (int j = 0; j < 4; ++j) {
            const QJsonObject p = points[j].toObject();
            QCOMPARE(p["concurrency"].toInt(), 1 << j);
            QVERIFY(p["live_rps"].toDouble() > 0 && p["virtual_rps"].toDouble() > 0);
            const double error = 100 * (p["live_rps"].toDouble() / p["virtual_rps"].toDouble() - 1);
            QVERIFY2(std::abs(p["error_pct"].toDouble() - error) < 1e-9, qPrintable(QString::number(p["error_pct"].toDouble())));
            QCOMPARE(p["table_engine_thread_ms"].toDouble(), threadByK[j].toDouble()); // the table's own, to set the live one beside
            QVERIFY(p["live_engine_thread_ms"].toDouble() > 0);
            QVERIFY(p["latency_ms"].toObject()["count"].toInt() > 0);
            if (std::abs(error) >= std::abs(worst))
                worst = error;
        }
        QVERIFY(std::abs(c["worst_error_pct"].toDouble() - worst) < 1e-9);
        QCOMPARE(c["stale"].toBool(), std::abs(worst) > 5);
        QCOMPARE(check.exitCode, std::abs(worst) > 5 ? 5 : 0);
        // The same table's times 50x over, as a table of one call alone (k = 1 only): live completes far more.
        QByteArray slowTable = "profile: tiny\npredict_table: {batch: [1, 2, 4], ms: [";
        for (int i = 0; i < 3; ++i)
            slowTable += QByteArray::number(50 * tableJson["ms"].toArray()[i].toDouble()) + (i < 2 ? ", " : "]}\n");
        const auto writeFile = [&](const QString& name, const QByteArray& bytes) { // its path, or "" if it could not be written
            QFile f(dir.filePath(name));
            return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size() ? f.fileName() : QString();
        };
        const QString slowPath = writeFile("slow.yaml", slowTable);
        QVERIFY(!slowPath.isEmpty());
        const Result slow = knee({"calibrate", "--check", slowPath, "--backend", "cpu", "--json"});
        QCOMPARE(slow.exitCode, 5);
        const QJsonObject sc = QJsonDocument::fromJson(slow.out).object();
        QVERIFY(sc["stale"].toBool());
        QCOMPARE(sc["points"].toArray().size(), 1);
        QCOMPARE(sc["worst_concurrency"].toInt(), 1);
        QVERIFY2(sc["worst_error_pct"].toDouble() > 500, qPrintable(QString::number(sc["worst_error_pct"].toDouble())));
        QVERIFY(std::abs(worst) < sc["worst_error_pct"].toDouble() / 5); // the fresh table is far nearer
        // Its text form says the verdict; a table naming no profile, or another than --profile, is refused.
        const Result slowText = knee({"calibrate", "--check", slowPath, "--backend", "cpu"});
        QCOMPARE(slowText.exitCode, 5);
        QVERIFY2(slowText.out.contains("stale: at 1 in flight live is"), slowText.out.constData());
        const QString anonymous = writeFile("anonymous.yaml", slowTable.mid(slowTable.indexOf("predict_table")));
        QVERIFY(!anonymous.isEmpty());
        const Result noProfile = knee({"calibrate", "--check", anonymous});
        QCOMPARE(noProfile.exitCode, 2);
        QVERIFY2(noProfile.err.contains("names no model profile"), noProfile.err.constData());
        // A table file's errors name its own lines and keys; an axis beyond the live engine's 64 calls in flight is refused.
        const QString broken = writeFile("broken.yaml", "# written by hand\nprofile: tiny\npredict_table: {batch: [1, 2], ms: [0.2, -1]}\n");
        QVERIFY(!broken.isEmpty());
        const Result brokenCheck = knee({"calibrate", "--check", broken});
        QCOMPARE(brokenCheck.exitCode, 2);
        QVERIFY2(brokenCheck.err.contains("broken.yaml:3:") && brokenCheck.err.contains("key 'predict_table.ms")
                     && !brokenCheck.err.contains("model."),
                 brokenCheck.err.constData());
        const QString wide = writeFile("wide.yaml", "profile: tiny\npredict_table: {batch: [1], concurrency: [1, 2, 128], ms: [[0.2], [0.3], [9]]}\n");
        QVERIFY(!wide.isEmpty());
        const Result wideCheck = knee({"calibrate", "--check", wide});
        QCOMPARE(wideCheck.exitCode, 2);
        QVERIFY2(wideCheck.err.contains("goes to 128 calls in flight; the live engine runs at most 64"), wideCheck.err.constData());
        const Result otherProfile = knee({"calibrate", "--check", slowPath, "--profile", "small"});
        QCOMPARE(otherProfile.exitCode, 2);
        QVERIFY2(otherProfile.err.contains("the table is of profile 'tiny', --profile says 'small'"), otherProfile.err.constData());
    }

    void calibrateBadInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("unknown profile") << QStringList{"calibrate", "--profile", "huge"} << "unknown profile";
        QTest::addRow("bad backend") << QStringList{"calibrate", "--backend", "tpu"} << "--backend";
        QTest::addRow("decreasing batches") << QStringList{"calibrate", "--batches", "4,2"} << "--batches";
        QTest::addRow("zero repeats") << QStringList{"calibrate", "--repeats", "0"} << "--repeats";
        QTest::addRow("zero attempts") << QStringList{"calibrate", "--attempts", "0"} << "--attempts";
        QTest::addRow("negative settling") << QStringList{"calibrate", "--settle-s", "-1"} << "--settle-s";
        QTest::addRow("decreasing idle delays") << QStringList{"calibrate", "--live-idle-delays", "0.5,0.2"} << "--live-idle-delays";
        QTest::addRow("zero idle delay") << QStringList{"calibrate", "--live-idle-delays", "0"} << "--live-idle-delays";
        QTest::addRow("shared cost neither") << QStringList{"calibrate", "--shared-cost", "maybe"} << "--shared-cost expects auto, on or off";
        QTest::addRow("shared cost without overhead") << QStringList{"calibrate", "--shared-cost", "on", "--no-overhead"} << "--shared-cost on measures";
        QTest::addRow("check writes nothing") << QStringList{"calibrate", "--check", defaultScenario(), "--out", "t.yaml"} << "drop --out";
        QTest::addRow("check measures its own axis") << QStringList{"calibrate", "--check", defaultScenario(), "--batches", "1,2"} << "drop --batches";
        QTest::addRow("check tolerance 0") << QStringList{"calibrate", "--check", defaultScenario(), "--tolerance", "0"} << "--tolerance expects";
        QTest::addRow("check tolerance words") << QStringList{"calibrate", "--check", defaultScenario(), "--tolerance", "tight"} << "--tolerance expects";
        QTest::addRow("tolerance without check") << QStringList{"calibrate", "--tolerance", "3"} << "--tolerance goes with --check";
        QTest::addRow("check a missing file") << QStringList{"calibrate", "--check", "/nonexistent/table.yaml"} << "cannot open";
        QTest::addRow("check a scenario without a table") << QStringList{"calibrate", "--check", defaultScenario()} << "has no model.predict_table";
        QTest::addRow("check a directory") << QStringList{"calibrate", "--check", QStringLiteral(KNEE_SOURCE_DIR)} << "is a directory";
    }
    void calibrateBadInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fragment);
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
    }

    void helpAndVersion()
    {
        QCOMPARE(knee({"--help"}).exitCode, 0);
        QVERIFY(knee({"--help"}).out.contains("simulate"));
        QCOMPARE(knee({"simulate", "--help"}).exitCode, 0);
        QVERIFY(knee({"--version"}).out.startsWith("knee "));
    }

    void screenshot()
    {
        QTemporaryDir dir;
        const QString png = dir.filePath("window.png");
        QProcess p;
        p.setProgram(QStringLiteral(KNEE_BINARY));
        p.setArguments({"--screenshot", png, "--after", "0"});
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "offscreen");
        env.insert("XDG_CONFIG_HOME", dir.path()); // leave the user's settings alone
        p.setProcessEnvironment(env);
        p.start();
        QVERIFY(p.waitForFinished(120'000));
        QCOMPARE(p.exitCode(), 0);
        QImage image(png);
        QVERIFY(!image.isNull());
        QVERIFY(image.width() >= 800 && image.height() >= 500);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
