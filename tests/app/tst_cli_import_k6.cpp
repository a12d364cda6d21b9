// `knee import --k6` on the built binary (issue 18): k6's `--out json` lines (k6 is not packaged in
// Debian, so no k6 runs here) become a session whose levels went through the same replay as
// `knee import --locust`, and which `knee report` reopens.
// - tests/data/k6/documented.json follows the lines of k6's documentation
//   (https://grafana.com/docs/k6/latest/results-output/real-time/json/: Metric and Point lines, a
//   Point's time, value in ms and tags, `vus` with tags null) and its source (every sample of a request
//   stamped with the request's end and the same tags; status, error_code, expected_response,
//   scenario): two constant-vus scenarios with a 503 and a refused connection among their requests,
//   and metrics knee skips (http_reqs, http_req_failed, iterations).
// - A generated run of three levels (1, 2 and 4 VUs, 40 s each) whose requests take known times: the
//   imported throughput is exact, p50 and p95 within the histogram's 0.4 %.
// - Hostile input: exit 2, file and line named, nothing written.
#include "cli_process.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace {

using Result = kneecli::CliResult;
Result knee(const QStringList& args) { return kneecli::runCli(QStringLiteral(KNEE_BINARY), args); }

constexpr std::int64_t kNs = 1'000'000'000;
constexpr std::int64_t kEpoch = 1'709'294'400LL * kNs; // 2024-03-01T12:00:00Z

// Go's RFC3339Nano in UTC: the fraction's trailing zeros dropped, none when zero.
QString goTime(std::int64_t ns)
{
    QString fraction = QStringLiteral("%1").arg(ns % kNs, 9, 10, QLatin1Char('0'));
    while (fraction.endsWith(QLatin1Char('0')))
        fraction.chop(1);
    const QString base = QDateTime::fromSecsSinceEpoch(ns / kNs).toUTC().toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss"));
    return base + (fraction.isEmpty() ? QString() : QStringLiteral(".") + fraction) + QStringLiteral("Z");
}

QByteArray point(const char* metric, std::int64_t ns, double value, const QJsonValue& tags)
{
    return QJsonDocument(QJsonObject{{"type", "Point"}, {"metric", metric}, {"data", QJsonObject{{"time", goTime(ns)}, {"value", value}, {"tags", tags}}}})
               .toJson(QJsonDocument::Compact)
        + "\n";
}

QJsonObject tagsOf(const QString& scenario)
{
    return QJsonObject{{"expected_response", "true"}, {"group", ""},           {"method", "POST"},          {"name", "http://h/predict"},
                       {"proto", "HTTP/1.1"},         {"scenario", scenario}, {"status", "200"},           {"url", "http://h/predict"}};
}

// One request's lines as k6 writes them: every sample at its end, with the same tags.
QByteArray request(std::int64_t endNs, double ms, const QJsonObject& tags)
{
    return point("http_reqs", endNs, 1, tags) + point("http_req_duration", endNs, ms, tags) + point("http_req_sending", endNs, 0.5, tags)
        + point("http_req_waiting", endNs, ms - 2, tags) + point("http_req_receiving", endNs, 1.5, tags);
}

// A constant-vus scenario of `users` VUs from `startNs` for `seconds`: each VU's first request takes 25 ms
// (so no request ends on a window's edge), then cycles of nine requests of `base` ms and one of 3 × base,
// back to back, until it has started past `seconds`. The vus gauge once a second, as k6 samples it.
// The first `n` lines of `text`.
QByteArray firstLines(const QByteArray& text, int n)
{
    qsizetype at = 0;
    for (int i = 0; i < n; ++i)
        at = text.indexOf('\n', at) + 1;
    return text.left(at);
}

QByteArray scenarioLines(const QString& name, int users, std::int64_t startNs, double seconds, int baseMs)
{
    std::map<std::pair<std::int64_t, int>, QByteArray> byEnd; // the lines in time order (then by user), as k6 flushes them
    for (int u = 0; u < users; ++u) {
        std::int64_t t = startNs;
        for (int k = 0; t < startNs + std::int64_t(seconds * kNs); ++k) {
            const std::int64_t ms = k == 0 ? 25 : (k % 10 == 0 ? 3 * baseMs : baseMs);
            t += ms * 1'000'000;
            byEnd[{t, u}] = request(t, double(ms), tagsOf(name));
        }
    }
    for (int s = 0; s < int(seconds); ++s) {
        const std::int64_t t = startNs + s * kNs + kNs / 2;
        byEnd[{t, users}] = point("vus", t, users, QJsonValue()); // after the requests that end at t
    }
    QByteArray out;
    for (const auto& [key, lines] : byEnd)
        out += lines;
    return out;
}

} // namespace

class TestCliImportK6 : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    QString write(const QString& name, const QByteArray& text)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }

    // The generated sweep: 1, 2 and 4 VUs; 50, 50 and 100 ms, so throughput saturates at 2 users.
    QByteArray sweepLines(int from = 0, int to = 3)
    {
        const int users[] = {1, 2, 4}, base[] = {50, 50, 100};
        QByteArray out = R"({"type":"Metric","data":{"type":"gauge","contains":"default","tainted":null,"thresholds":[],"submetrics":null},"metric":"vus"})"
                         "\n";
        for (int i = from; i < to; ++i)
            out += scenarioLines(QStringLiteral("vus_%1").arg(users[i]), users[i], kEpoch + i * 50 * kNs, 40, base[i]);
        return out;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // The documented lines: two levels from their scenarios, users from the vus gauge, failures by kind,
    // TTFT from sending + waiting; the session reopens.
    void documentedLines()
    {
        const QString out = m_dir.filePath(QStringLiteral("documented.json"));
        const Result r = knee({QStringLiteral("import"), QStringLiteral("--k6"), QStringLiteral(KNEE_TEST_DATA "/k6/documented.json"), QStringLiteral("--out"),
                               out, QStringLiteral("--warmup-s"), QStringLiteral("0"), QStringLiteral("--window-s"), QStringLiteral("1"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray levels = r.json().value("levels").toArray();
        QCOMPARE(levels.size(), 2);
        const QJsonObject one = levels[0].toObject(), two = levels[1].toObject();
        QCOMPARE(one.value("concurrency").toInt(), 1);
        QCOMPARE(two.value("concurrency").toInt(), 2);
        // one_vu: 15 requests of 200 ms ending at 0.2 … 3.0 s, the 8th a 503; the level ends with its last
        // request, which (ending on the cut, as in every replay) is not counted.
        QCOMPARE(one.value("completed").toInt(), 13);
        QCOMPARE(one.value("failed").toInt(), 1);
        QCOMPARE(one.value("failures_by_kind").toObject().value("http_5xx").toInt(), 1);
        QCOMPARE(one.value("p50_ms").toDouble(), 200.0);
        QCOMPARE(one.value("measured_s").toDouble(), 3.0);
        // two_vus: 2 × 10 requests of 300 ms, one refused (status 0, error_code 1212).
        QCOMPARE(two.value("completed").toInt(), 18);
        QCOMPARE(two.value("failed").toInt(), 1);
        QCOMPARE(two.value("failures_by_kind").toObject().value("refused").toInt(), 1);
        QCOMPARE(two.value("p95_ms").toDouble(), 300.0);
        // TTFT: sending 0.05 + waiting (duration − 0.5) ms.
        QVERIFY2(std::abs(one.value("ttft_p50_ms").toDouble() - 199.55) <= 199.55 * 0.004, qPrintable(QString::number(one.value("ttft_p50_ms").toDouble())));
        QCOMPARE(r.json().value("target").toObject().value("load_generator").toObject().value("name").toString(), QStringLiteral("k6"));
        const Result report = knee({QStringLiteral("report"), out, QStringLiteral("--out"), m_dir.filePath(QStringLiteral("documented.html"))});
        QVERIFY2(report.exitCode == 0, report.err.constData());
    }

    // Known request times: each level's throughput exact, p50 and p95 within 0.4 %, TTFT paired, the
    // sweep's own windows (three of 10 s after a 10 s warm-up), and the knee at 2 users. Split across two
    // files, the same levels.
    void generatedSweep_data()
    {
        QTest::addColumn<int>("files");
        QTest::newRow("one file") << 1;
        QTest::newRow("two files") << 2;
    }
    void generatedSweep()
    {
        QFETCH(int, files);
        const QStringList paths = files == 1 ? QStringList{write(QStringLiteral("sweep.json"), sweepLines())}
                                             : QStringList{write(QStringLiteral("b.json"), sweepLines(1, 3)), write(QStringLiteral("a.json"), sweepLines(0, 1))};
        const QString out = m_dir.filePath(QStringLiteral("sweep-%1.json").arg(files));
        const Result r = knee(QStringList{QStringLiteral("import"), QStringLiteral("--k6")} + paths + QStringList{QStringLiteral("--out"), out, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const QJsonArray levels = r.json().value("levels").toArray();
        QCOMPARE(levels.size(), 3);
        const int users[] = {1, 2, 4};
        const double base[] = {50, 50, 100};
        // 30 s measured hold 50 cycles of 600 ms (25 of 1200 ms at 100 ms) per VU, ten requests each.
        const qint64 completed[] = {500, 1000, 1000};
        for (int i = 0; i < 3; ++i) {
            const QJsonObject l = levels[i].toObject();
            const QString what = QStringLiteral("%1 users: %2").arg(users[i]).arg(QString::fromUtf8(QJsonDocument(l).toJson(QJsonDocument::Compact).left(400)));
            QVERIFY2(l.value("concurrency").toInt() == users[i], qPrintable(what));
            QVERIFY2(l.value("completed").toInteger() == completed[i] && l.value("failed").toInt() == 0, qPrintable(what));
            QVERIFY2(l.value("measured_s").toDouble() == 30 && l.value("windows").toInt() == 3 && l.value("stable").toBool(), qPrintable(what));
            QVERIFY2(std::abs(l.value("throughput_rps").toDouble() - completed[i] / 30.0) < 1e-9, qPrintable(what));
            QVERIFY2(std::abs(l.value("p50_ms").toDouble() - base[i]) <= 0.004 * base[i], qPrintable(what));
            QVERIFY2(std::abs(l.value("p95_ms").toDouble() - 3 * base[i]) <= 0.004 * 3 * base[i], qPrintable(what));
            QVERIFY2(std::abs(l.value("ttft_p50_ms").toDouble() - (base[i] - 1.5)) <= 0.004 * base[i], qPrintable(what));
        }
        QCOMPARE(r.json().value("saturation").toObject().value("level").toInt(), 2);
        QCOMPARE(r.json().value("recommendation").toObject().value("concurrency_target").toObject().value("value").toInt(), 2);
        const Result report = knee({QStringLiteral("report"), out, QStringLiteral("--out"), m_dir.filePath(QStringLiteral("sweep.html"))});
        QVERIFY2(report.exitCode == 0, report.err.constData());
    }

    // Input that does not fit: exit 2, the file (and line) named, nothing written.
    void refused_data()
    {
        QTest::addColumn<QByteArray>("text"); // the file's content ("-": no file)
        QTest::addColumn<QString>("said");    // in stderr, %1 standing for the file's name
        QTest::addColumn<QStringList>("flags");
        const QByteArray ok = scenarioLines(QStringLiteral("vus_1"), 1, kEpoch, 20, 50);
        const QJsonObject tags = tagsOf(QStringLiteral("vus_1"));
        const QStringList k6{QStringLiteral("--k6")};
        QTest::newRow("missing file") << QByteArray("-") << QStringLiteral("%1: cannot read it (no such file)") << k6;
        QTest::newRow("empty file") << QByteArray() << QStringLiteral("%1: no http_req_duration Point") << k6;
        QTest::newRow("only a Metric line") << QByteArray(R"({"type":"Metric","data":{"type":"gauge"},"metric":"vus"})") << QStringLiteral("%1: no http_req_duration Point") << k6;
        QTest::newRow("corrupt line") << firstLines(ok, 7) + "{\"type\":\"Point\",\"data\n" + ok << QStringLiteral("%1:8: not a JSON object") << k6;
        QTest::newRow("truncated last line") << ok + ok.left(60) << QStringLiteral("%1:") + QString::number(ok.count('\n') + 1) + QStringLiteral(": not a JSON object") << k6;
        QTest::newRow("binary") << QByteArray("\x00\x01\x02\xff\n", 5) << QStringLiteral("%1:1: not a JSON object") << k6;
        QTest::newRow("huge line") << QByteArray("{\"type\":\"Point\",\"x\":\"") + QByteArray(3 << 20, 'x') + "\"}\n" << QStringLiteral("%1:1: a line longer than 1 MiB") << k6;
        QTest::newRow("gzipped") << QByteArray("\x1f\x8b\x08\x00", 4) << QStringLiteral("%1: gzipped") << k6;
        QTest::newRow("not an envelope") << QByteArray("{\"type\":\"Sample\",\"metric\":\"vus\",\"data\":{}}\n") << QStringLiteral("%1:1: not a line of k6's JSON output") << k6;
        QTest::newRow("an array") << QByteArray("[1,2]\n") << QStringLiteral("%1:1: not a JSON object") << k6;
        QTest::newRow("bad date") << point("http_req_duration", kEpoch, 50, tags).replace("2024-03-01T12", "2024-13-01T12")
                                  << QStringLiteral("%1:1: the http_req_duration Point's time is not an RFC 3339 time") << k6;
        QTest::newRow("time with ten digits") << point("http_req_duration", kEpoch + 1, 50, tags).replace(".000000001Z", ".0000000001Z")
                                              << QStringLiteral("%1:1: the http_req_duration Point's time") << k6;
        QTest::newRow("time without zone") << point("http_req_duration", kEpoch, 50, tags).replace("00Z", "00") << QStringLiteral("%1:1: the http_req_duration Point's time") << k6;
        QTest::newRow("year 9999") << point("http_req_duration", kEpoch, 50, tags).replace("2024-03-01", "9999-03-01")
                                   << QStringLiteral("%1:1: the http_req_duration Point's time") << k6;
        QTest::newRow("negative duration") << point("http_req_duration", kEpoch, -5, tags) << QStringLiteral("%1:1: the http_req_duration Point's value is not a number") << k6;
        QTest::newRow("absurd duration") << point("http_req_duration", kEpoch, 1e300, tags) << QStringLiteral("%1:1: the http_req_duration Point's value is not a number") << k6;
        QTest::newRow("infinite duration") << point("http_req_duration", kEpoch, 50, tags).replace("\"value\":50", "\"value\":1e999") << QStringLiteral("%1:1: ") << k6;
        QTest::newRow("duration as text") << point("http_req_duration", kEpoch, 50, tags).replace("\"value\":50", "\"value\":\"50\"")
                                          << QStringLiteral("%1:1: the http_req_duration Point's value is not a number") << k6;
        QTest::newRow("vus as text") << point("vus", kEpoch, 5, QJsonValue()).replace("\"value\":5", "\"value\":\"5\"") << QStringLiteral("%1:1: the vus Point's value") << k6;
        QJsonObject badStatus = tags;
        badStatus.insert("status", "ok");
        QTest::newRow("status not a number") << point("http_req_duration", kEpoch, 50, badStatus) << QStringLiteral("%1:1: the status tag is not a whole number") << k6;
        QJsonObject noScenario = tags;
        noScenario.remove("scenario");
        QTest::newRow("no scenario tag") << ok + point("http_req_duration", kEpoch + kNs, 50, noScenario)
                                         << QStringLiteral("%1:") + QString::number(ok.count('\n') + 1) + QStringLiteral(": an http_req_duration Point without a scenario tag") << k6;
        QByteArray ramping = ok;
        ramping += point("vus", kEpoch + 5 * kNs + 1, 3, QJsonValue());
        QTest::newRow("ramping vus") << ramping << QStringLiteral("%1: scenario \"vus_1\": k6's vus went from 1 to 3") << k6;
        QByteArray noVus;
        for (const QByteArray& line : ok.split('\n'))
            if (!line.isEmpty() && !line.contains("\"metric\":\"vus\""))
                noVus += line + "\n";
        QTest::newRow("no vus") << noVus << QStringLiteral("%1: scenario \"vus_1\": no vus sample") << k6;
        QTest::newRow("overlapping scenarios") << ok + scenarioLines(QStringLiteral("vus_2"), 2, kEpoch + 19 * kNs + kNs / 2, 20, 50)
                                               << QStringLiteral("%1: scenario \"vus_1\" and %1: scenario \"vus_2\" overlap in time") << k6;
        QTest::newRow("same users twice") << ok + scenarioLines(QStringLiteral("again"), 1, kEpoch + 30 * kNs, 20, 50)
                                          << QStringLiteral("%1: scenario \"vus_1\" and %1: scenario \"again\" both ran 1 VUs") << k6;
        QTest::newRow("a level of ten years") << ok + point("http_req_duration", kEpoch + 3650LL * 86'400 * kNs, 50, tags)
                                              << QStringLiteral("%1: scenario \"vus_1\": its requests span 87600.0 h; a level lasts a day at most") << k6;
        QTest::newRow("shorter than the warm-up") << scenarioLines(QStringLiteral("vus_1"), 1, kEpoch, 5, 50)
                                                  << QStringLiteral("%1: scenario \"vus_1\" (1 users) has no record past the 10 s warm-up") << k6;
        QTest::newRow("both generators") << ok << QStringLiteral("say what the files are: --locust or --k6") << QStringList{QStringLiteral("--k6"), QStringLiteral("--locust")};
        QTest::newRow("neither generator") << ok << QStringLiteral("say what the files are: --locust or --k6") << QStringList();
    }
    void refused()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, said);
        QFETCH(QStringList, flags);
        const QString name = QStringLiteral("bad-%1.json").arg(QString::fromLatin1(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('-')));
        const QString path = text == "-" ? m_dir.filePath(name) : write(name, text);
        const QString out = m_dir.filePath(QStringLiteral("refused.json"));
        const Result r = knee(QStringList{QStringLiteral("import")} + flags + QStringList{path, QStringLiteral("--out"), out});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains((said.contains(QStringLiteral("%1")) ? said.arg(path) : said).toUtf8()), r.err.constData());
        QVERIFY2(r.err.size() < 2000, "the message stays short");
        QVERIFY(!QFileInfo::exists(out));
    }
};

QTEST_GUILESS_MAIN(TestCliImportK6)
#include "tst_cli_import_k6.moc"
