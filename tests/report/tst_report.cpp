// The HTML report (engine/report, `knee report`): one self-contained file (no script, no external
// resource), rendered by a real headless browser (/usr/bin/chromium, Debian's package; QSKIP with a
// message where it is absent), whose numbers, read back from the browser's DOM, equal the session's;
// its charts are drawn (their colours are in the browser's screenshot); and the command's exit codes:
// 0 written, 2 bad input (nothing written), 1 the report could not be written.
#include "io/scenario_reader.h"
#include "report/report.h"
#include "session/session.h"
#include "study/grid.h"
#include "../study/two_steady_states.h"

#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace knee;

namespace {
const QString kChromium = QStringLiteral("/usr/bin/chromium");

Scenario twoSlots()
{
    Scenario s;
    s.name = "report test";
    s.deployment.concurrencyTarget = 4;
    s.deployment.predictConcurrency = 2;
    s.model.predict = Distribution::exponential(20); // 2 slots of 20 ms on average: 100 req/s at most, queueing past 2 users
    s.workload.arrival = ArrivalConfig::closed(1);
    s.workload.requests = 1000;
    return s;
}

Session sweptSession()
{
    SweepOptions o;
    o.levels = {1, 2, 4, 8};
    o.sloMs = 200;
    o.baselineRps = 150;
    o.peakRps = 600;
    Session session;
    session.scenarioSource = "test";
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(twoSlots()));
    session.sweeps.push_back({o, runVirtualSweep(twoSlots(), o)});
    return session;
}

// An open-loop rate sweep on a replica of 4 slots of 11.5 ms (about 350 req/s): p95 flat up to 160 req/s
// and bending after it (the knee), 320 still served, so the sweep adds 640, which is not.
Session rateSweptSession()
{
    Scenario s = twoSlots();
    s.deployment.predictConcurrency = 4;
    s.model.predict = Distribution::of(Distribution::Kind::Lognormal, 11.5);
    s.model.predict.sigma = 0.3;
    SweepOptions o;
    o.rates = {20, 40, 80, 160, 320};
    Session session;
    session.scenarioSource = "test";
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(s));
    session.sweeps.push_back({o, runVirtualSweep(s, o)});
    return session;
}

struct Run {
    int exitCode = -1;
    QByteArray out, err;
};
Run run(const QString& program, const QStringList& args, int timeoutMs = 120'000)
{
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs))
        p.kill();
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
}

QStringList chromiumArgs(const QTemporaryDir& profile)
{
    // A profile of its own (no user's), no GPU, no sandbox (tests run as root in CI), nothing fetched.
    return {QStringLiteral("--headless"), QStringLiteral("--no-sandbox"), QStringLiteral("--disable-gpu"),
            QStringLiteral("--no-first-run"), QStringLiteral("--user-data-dir=") + profile.path()};
}

QString num(double v) { return QString::number(v, 'g', 10); }
} // namespace

class TestReport : public QObject {
    Q_OBJECT
private slots:
    // The grid's table bolds the cell the recommendation came from (applyGridChoice), not the grid's best by
    // itself, and says both rules; a sweep without a grid of its own shows none.
    void gridTableShowsTheRecommendedCell()
    {
        Session s = sweptSession();
        GridOptions g;
        g.predictConcurrency = {1, 2, 4};
        g.targets = {1, 2, 4, 8};
        g.level = s.sweeps[0].options;
        s.grids.push_back({g, runGrid(twoSlots(), g, makeVirtualDriver)});
        s.grids.back().sweep = 0;
        QVERIFY(applyGridChoice(s.sweeps[0].result, s.grids[0].result, twoSlots(), s.sweeps[0].options));
        const Recommendation& rec = s.sweeps[0].result.recommendation;
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(html.contains("Recommended (bold): from the grid"));
        QCOMPARE(html.count("font-weight:700"), 1);
        // The bold cell sits in the recommended predict_concurrency's row, at the target's column.
        const QString table = html.section("id='grid'", 1).section("</table>", 0, 0);
        const QStringList rows = table.split("<tr>");
        QString boldRow;
        int boldColumn = -1;
        for (const QString& row : rows)
            if (row.contains("font-weight:700")) {
                boldRow = row.section("<th>", 1).section("</th>", 0, 0);
                boldColumn = int(row.left(row.indexOf("font-weight:700")).count("<td"));
            }
        QCOMPARE(boldRow, QString::number(rec.predictConcurrency));
        QCOMPARE(g.targets[std::size_t(boldColumn - 1)], rec.concurrencyTarget);
        s.sweeps.push_back(s.sweeps[0]); // a second sweep without a grid: its report has no grid table
        QVERIFY(!QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine())).contains("id='grid'"));
    }

    void reportIsSelfContained()
    {
        const Session s = sweptSession();
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine("s.json")));
        QVERIFY(html.startsWith("<!DOCTYPE html>"));
        QVERIFY(!html.contains("<script", Qt::CaseInsensitive));
        QVERIFY(!html.contains("<link", Qt::CaseInsensitive));
        QVERIFY(!html.contains(" src=", Qt::CaseInsensitive));
        QVERIFY(!html.contains("url(", Qt::CaseInsensitive));
        // Every http(s) address in it is the SVG namespace, which is a name, never fetched.
        const QRegularExpression address("https?://[^'\" ]+");
        for (auto it = address.globalMatch(html); it.hasNext();)
            QCOMPARE(it.next().captured(0), QStringLiteral("http://www.w3.org/2000/svg"));
        QVERIFY(html.contains("<svg id='latencyChart'") && html.contains("<svg id='throughputChart'"));
        QVERIFY(html.contains("Made by knee"));
    }

    // A rate sweep is drawn and tabled against the rate asked (its levels have no concurrency): every
    // number finite, every point inside its chart, the knee and the capacity where the analysis put them.
    void rateSweepReport()
    {
        const Session s = rateSweptSession();
        const SweepResult& r = s.sweeps.back().result;
        QVERIFY(r.rateAnalysis && r.rateAnalysis->knee && r.rateAnalysis->capacity);
        QCOMPARE(int(r.levels.size()), 6);
        QCOMPARE(r.rateAnalysis->extendedRates, std::vector<double>{640});
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(html.contains("request rate (req/s, log 2)"));
        QVERIFY(!html.contains("concurrent requests"));
        QVERIFY(!html.contains("data-concurrency"));
        QVERIFY2(!html.contains(QRegularExpression("\\b-?(nan|inf)\\b", QRegularExpression::CaseInsensitiveOption)), "a number that is not finite");
        QVERIFY(html.contains("<th>Rate asked (req/s)</th><th>Sent (req/s)</th><th>Served (req/s)</th>"));
        QVERIFY(html.contains("<th>In flight (Little)</th>"));
        for (const SweepLevel& l : r.levels) {
            QVERIFY2(html.contains(QString("<tr data-rate-rps='%1'").arg(num(l.rateRps))), qPrintable(QString("row for %1 req/s").arg(l.rateRps)));
            QVERIFY(html.contains(QString("<td data-field='sent_rps' data-value='%1'>").arg(num(l.sentRps))));
            QVERIFY(html.contains(QString("<td data-field='in_flight' data-value='%1'>").arg(num(l.inFlightMean))));
        }
        QVERIFY(html.contains("<tr data-rate-rps='320'><td data-field='rate_rps' data-value='320'>320</td>"));
        // 640 req/s is beyond the replica: greyed, and says why.
        const QRegularExpression row640("<tr data-rate-rps='640' class='excluded'>.*?<td data-field='notes' class='notes'>([^<]*)</td>");
        const auto m640 = row640.match(html);
        QVERIFY2(m640.hasMatch() && m640.captured(1).contains("not served in full"), qPrintable(m640.captured(0)));

        // One knee marker, at the analysis's rate; the capacity on the throughput chart; the sent line beside the served one.
        const QRegularExpression knee("<circle class='knee'[^>]*data-rate-rps='([^']+)'");
        auto k = knee.globalMatch(html);
        QVERIFY(k.hasNext());
        QCOMPARE(k.next().captured(1), num(*r.rateAnalysis->knee));
        QVERIFY(!k.hasNext());
        QVERIFY(html.contains(QString("p95 knee %1 req/s</text>").arg(*r.rateAnalysis->knee)));
        const auto capacity = QRegularExpression("<circle class='capacity'[^>]*data-rate-rps='([^']+)'").match(html);
        QVERIFY(capacity.hasMatch());
        QCOMPARE(capacity.captured(1), num(*r.rateAnalysis->capacity));
        QVERIFY(html.contains("<polyline class='sent'"));
        // Each point within its plot area (x 60…620, y 30…250), the smallest rate on the y axis, the largest at the right.
        double minX = 1e9, maxX = -1e9;
        for (auto it = QRegularExpression("<circle class='\\w+' cx='([^']+)' cy='([^']+)'").globalMatch(html); it.hasNext();) {
            const auto m = it.next();
            const double x = m.captured(1).toDouble(), y = m.captured(2).toDouble();
            QVERIFY2(x >= 60 && x <= 620 && y >= 30 && y <= 250, qPrintable(m.captured(0)));
            minX = std::min(minX, x);
            maxX = std::max(maxX, x);
        }
        QCOMPARE(minX, 60.0);
        QCOMPARE(maxX, 620.0); // 640 = 20 × 2^5

        auto value = [&](const QString& id) {
            const auto m = QRegularExpression("<tr id='" + id + "'><td>[^<]*</td><td class='value'><span data-value='([^']+)'>").match(html);
            return m.hasMatch() ? m.captured(1) : QString();
        };
        QVERIFY(r.recommendation.ratePerReplicaRps > 0);
        QCOMPARE(value("rec-rate"), num(r.recommendation.ratePerReplicaRps));
        QCOMPARE(value("rec-target"), QString::number(r.recommendation.concurrencyTarget));
        QVERIFY(html.contains(QString::fromStdString(r.rateAnalysis->capacityNote).toHtmlEscaped()));
        QVERIFY(html.contains(QString::fromStdString(r.rateAnalysis->kneeNote).toHtmlEscaped()));
    }

    // Issue 13: a dynamic-batching sweep's steady states are in the report as in the window: 8 users make
    // 6,667 req/s as one batch and 4,000 in two groups (tests/study/two_steady_states.h); the level reports the
    // slower, the chart marks the faster.
    void steadyStatesAreReported()
    {
        Scenario sc = test::withTwoSteadyStates(twoSlots());
        sc.name = "two states";
        sc.deployment.concurrencyTarget = 64;
        SweepOptions o;
        o.levels = {1, 8, 16};
        o.extendLimit = 0;
        Session s;
        s.scenarioSource = "test";
        s.scenarioYaml = QString::fromStdString(writeScenarioYaml(sc));
        s.sweeps.push_back({o, runVirtualSweep(sc, o)});
        const SweepResult& r = s.sweeps.back().result;
        QVERIFY(r.levels[1].states && r.levels[1].states->several);
        QVERIFY(r.levels[2].states && !r.levels[2].states->several);
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(html.contains("<th>Measured (s)</th><th>Steady states</th></tr>"));
        QVERIFY(html.contains("<tr data-concurrency='1'") && html.section("<tr data-concurrency='1'", 1).section("</tr>", 0, 0).contains("<td data-field='states'>—</td>"));
        const QString eight = html.section("<tr data-concurrency='8'", 1).section("</tr>", 0, 0);
        QVERIFY2(eight.contains("data-several='yes'") && eight.contains(">several: 4000 – 6667 req/s</td>"), qPrintable(eight));
        QVERIFY2(eight.contains("<td data-field='throughput_rps' data-value='4000'>"), qPrintable(eight)); // the slowest start's figures
        // The rule, whole, as the cell's title: its apostrophes ("the tolerance's") do not end the quoted attribute.
        QString rule = QString::fromStdString(r.levels[1].states->rule).toHtmlEscaped().replace("'", "&#39;");
        rule[0] = rule[0].toUpper(); // a sentence, as the window's tooltip
        QVERIFY(r.levels[1].states->rule.find('\'') != std::string::npos);
        QVERIFY2(eight.contains("title='" + rule + "'>several"), qPrintable(eight));
        QVERIFY(html.section("<tr data-concurrency='16'", 1).section("</tr>", 0, 0).contains(">one (3 starts agree)</td>"));
        QVERIFY2(html.contains("<li id='steady-states'>More than one steady state at 8 users (4000 – 6667 req/s)"), qPrintable(html.section("id='analysis'", 1)));
        QVERIFY(html.contains("<p class='rule' id='measured-starts'>Closed-loop levels of two users or more were measured from up to 3 starts "
                              "(all users at once; two groups half a round trip apart; one by one over a round trip), each once.</p>"));
        // One hollow mark: 8 users' one-batch state (two groups and one by one are the curve's own point).
        auto marks = QRegularExpression("<circle class='other-state' cx='[^']+' cy='([^']+)' r='4.5' data-concurrency='(\\d+)' data-throughput-rps='([^']+)'")
                         .globalMatch(html);
        QVERIFY(marks.hasNext());
        const auto m = marks.next();
        QCOMPARE(m.captured(2), QStringLiteral("8"));
        QVERIFY(std::abs(m.captured(3).toDouble() - test::kOneBatchRps) < 1);
        QVERIFY(m.captured(1).toDouble() >= 30); // inside the plot: the axis reaches the faster state
        QVERIFY(!marks.hasNext());
        QVERIFY(html.contains("other steady state</text></g>")); // the throughput chart's legend says what the mark is
        // Two users have two starts only: the sentence names the starts that ran.
        SweepOptions two = o;
        two.levels = {1, 2};
        Session pair = s;
        pair.sweeps = {{two, runVirtualSweep(sc, two)}};
        QVERIFY(QString::fromUtf8(report::sessionReportHtml(pair, report::ReportContext::thisMachine()))
                    .contains("measured from up to 2 starts (all users at once; two groups half a round trip apart), each once."));
        // One start per level: no column, no marks, no sentence.
        o.starts = 1;
        s.sweeps.push_back({o, runVirtualSweep(sc, o)});
        const QString one = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(!one.contains("Steady states") && !one.contains("class='other-state'") && !one.contains("measured-starts"));
    }

    // Repeats (issue 17): each level's 95 % intervals and verdict, as the window's table has them.
    void repeatsAreReported()
    {
        SweepOptions o;
        o.levels = {1, 4};
        o.repeats = 3;
        Session s;
        s.scenarioSource = "test";
        s.scenarioYaml = QString::fromStdString(writeScenarioYaml(twoSlots()));
        s.sweeps.push_back({o, runVirtualSweep(twoSlots(), o)});
        const SweepResult& r = s.sweeps.back().result;
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(html.contains("<th>p95, 95 % interval (ms)</th><th>Throughput, 95 % interval (req/s)</th><th>Repeats</th></tr>"));
        for (const SweepLevel& l : r.levels) {
            QVERIFY(l.repeats);
            const QString row = html.section(QString("<tr data-concurrency='%1'").arg(l.concurrency), 1).section("</tr>", 0, 0);
            QVERIFY2(row.contains(QString("<td data-field='p95_interval_ms' data-lo='%1' data-hi='%2'>").arg(num(l.repeats->p95.lo), num(l.repeats->p95.hi))),
                     qPrintable(row));
            QVERIFY(row.contains(QString("<td data-field='throughput_interval_rps' data-lo='%1' data-hi='%2'>")
                                     .arg(num(l.repeats->throughput.lo), num(l.repeats->throughput.hi))));
            QVERIFY2(row.contains(QString(">3, %1</td>").arg(QString::fromStdString(l.repeats->verdict))), qPrintable(row));
        }
        QVERIFY(html.contains("<p class='rule' id='measured-repeats'>Each level was measured 3 times"));
        QVERIFY(!html.contains("Steady states")); // no batching: one start
    }

    // The window's other optional columns: goodput under an SLO, the server's /metrics, the GPUs (NVML), an outside
    // load generator. Each only where some level has it; a level without it shows a dash.
    void measuredExtrasAreReported()
    {
        Session s = sweptSession(); // SLO 200 ms: goodput counted
        {
            const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
            QVERIFY(html.contains("<th>Goodput</th>"));
            for (const SweepLevel& l : s.sweeps[0].result.levels) {
                QVERIFY(l.goodCounted);
                QVERIFY(html.contains(QString("<td data-field='good_share' data-value='%1' title='%2 of %3 requests met every SLO")
                                          .arg(num(l.goodShare()))
                                          .arg(l.good)
                                          .arg(l.completed + l.failed + l.rejected)));
            }
            QVERIFY(!html.contains("Server:") && !html.contains("GPU utilisation") && !html.contains("Load generator"));
        }
        std::vector<SweepLevel>& levels = s.sweeps[0].result.levels;
        ServerScrape scrape;
        scrape.scrapes = 4;
        scrape.metrics["requests_running"] = {"vllm:num_requests_running", 4, 3.5, 2, 5, 4};
        scrape.metrics["kv_cache_usage"] = {"vllm:gpu_cache_usage_perc", 4, 0.25, 0.2, 0.3, 0.3};
        levels[1].server = scrape;
        ServerScrape failing; // every scrape of level 8 failed: its cells say why, as the window's tooltip
        failing.scrapes = 3;
        failing.failures = 3;
        failing.lastError = "connection refused by 'server'";
        levels[3].server = failing;
        GpuLevelFigures gpu;
        gpu.name = "NVIDIA H100 80GB HBM3";
        gpu.utilizationMeanPct = 77;
        gpu.powerMeanW = 301;
        levels[1].gpus = {gpu};
        LoadGeneratorFigures g;
        g.name = "locust";
        g.workers = 2;
        g.cpuMaxPct = 97;
        g.behind = true;
        g.why = "a worker's CPU reached 97 %";
        levels[2].generator = g;
        const QString html = QString::fromUtf8(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        QVERIFY(html.contains("<th>Server: running</th><th>Server: KV cache</th><th>GPU utilisation</th><th>Load generator</th>"));
        QVERIFY(!html.contains("Server: waiting") && !html.contains("Server: batch")); // no level has them
        const QString two = html.section("<tr data-concurrency='2'", 1).section("</tr>", 0, 0);
        QVERIFY2(two.contains("<td data-field='server_requests_running' data-value='3.5' title='vllm:num_requests_running: mean of 4 scrapes (min 2, max 5)'>3.5</td>"),
                 qPrintable(two));
        QVERIFY(two.contains("<td data-field='server_kv_cache_usage' data-value='0.25' title='vllm:gpu_cache_usage_perc: mean of 4 scrapes (min 0.2, max 0.3)'>25.0 %</td>"));
        QVERIFY2(two.contains("<td data-field='gpu_utilization_pct' data-value='77' title='GPU 0 (NVIDIA H100 80GB HBM3): 77 % mean, 301 W'>77 %</td>"), qPrintable(two));
        QVERIFY(two.contains("<td data-field='load_generator'>—</td>"));
        QVERIFY(html.section("<tr data-concurrency='8'", 1).section("</tr>", 0, 0)
                    .contains("<td data-field='server_requests_running' title='3 scrapes failed: connection refused by &#39;server&#39;'>—</td>"));
        const QString four = html.section("<tr data-concurrency='4'", 1).section("</tr>", 0, 0);
        QVERIFY(four.contains("<td data-field='server_requests_running'>—</td>") && four.contains("<td data-field='gpu_utilization_pct'>—</td>"));
        // A level whose load generator fell behind is left out of the analysis (usableLevel), greyed, and said so.
        QVERIFY(html.contains("<tr data-concurrency='4' class='excluded'>"));
        QVERIFY(!html.contains("<tr data-concurrency='2' class='excluded'>"));
        QVERIFY2(html.contains("Not used for the knee, saturation or recommendation: 4 (load generator fell behind)"), qPrintable(html.section("id='analysis'", 1)));
        QVERIFY2(four.contains("<td data-field='load_generator' data-cpu-max-pct='97' data-behind='yes' title='a worker&#39;s CPU reached 97 %'>2 workers, "
                               "CPU 97 % · behind</td>"),
                 qPrintable(four));
    }

    // The browser's DOM (after parsing and layout) carries the session's numbers, cell by cell.
    void chromiumRendersTheSessionsNumbers()
    {
        if (!QFile::exists(kChromium))
            QSKIP("Debian's chromium is not installed (scripts/install-deps installs it): the report is not checked in a browser");
        QTemporaryDir dir, profile;
        const Session s = sweptSession();
        const SweepResult& r = s.sweeps.back().result;
        QVERIFY(r.levels.size() >= 4);
        const QString path = dir.filePath("report.html");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(report::sessionReportHtml(s, report::ReportContext::thisMachine()));
        f.close();

        const Run dump = run(kChromium, chromiumArgs(profile) + QStringList{"--dump-dom", "file://" + path});
        QVERIFY2(dump.exitCode == 0, dump.err.constData());
        const QString dom = QString::fromUtf8(dump.out);
        QVERIFY2(dom.contains("<table class=\"levels\" id=\"levels\">"), qPrintable(dom.left(400)));

        int rows = 0;
        const QRegularExpression row("<tr data-concurrency=\"(\\d+)\"[^>]*>(.*?)</tr>", QRegularExpression::DotMatchesEverythingOption);
        const QRegularExpression cell("<td data-field=\"(\\w+)\" data-value=\"([^\"]+)\">([^<]*)</td>");
        for (auto it = row.globalMatch(dom); it.hasNext();) {
            const auto m = it.next();
            const int c = m.captured(1).toInt();
            const auto level = std::find_if(r.levels.begin(), r.levels.end(), [c](const SweepLevel& l) { return l.concurrency == c; });
            QVERIFY2(level != r.levels.end(), qPrintable(QString("a row for level %1, which the session lacks").arg(c)));
            const std::map<QString, double> expected = {{"p50_ms", level->latency.p50}, {"p95_ms", level->latency.p95},
                                                        {"p99_ms", level->latency.p99}, {"throughput_rps", level->throughputRps},
                                                        {"completed", double(level->completed)}, {"errors", double(level->failed + level->rejected)}};
            int checked = 0;
            for (auto ct = cell.globalMatch(m.captured(2)); ct.hasNext();) {
                const auto cm = ct.next();
                const auto e = expected.find(cm.captured(1));
                if (e == expected.end())
                    continue;
                QCOMPARE(cm.captured(2), num(e->second)); // the exact value
                // What a reader sees: the same number, rounded for display.
                const double shown = cm.captured(3).toDouble();
                QVERIFY2(std::abs(shown - e->second) <= 0.005 * std::max(1.0, std::abs(e->second)) + 0.5 * (e->second >= 100 ? 1 : 0.01),
                         qPrintable(QString("%1 at %2: shown %3, session %4").arg(cm.captured(1)).arg(c).arg(cm.captured(3)).arg(e->second)));
                ++checked;
            }
            QCOMPARE(checked, int(expected.size()));
            ++rows;
        }
        QCOMPARE(rows, int(r.levels.size()));

        auto value = [&](const QString& id) {
            const auto m = QRegularExpression("<tr id=\"" + id + "\"><td>[^<]*</td><td class=\"value\"><span data-value=\"(\\d+)\">").match(dom);
            return m.hasMatch() ? m.captured(1).toInt() : -1;
        };
        QCOMPARE(value("rec-target"), r.recommendation.concurrencyTarget);
        QCOMPARE(value("rec-predict"), r.recommendation.predictConcurrency);
        QVERIFY(r.recommendation.replicas);
        QCOMPARE(value("rec-min"), r.recommendation.replicas->minReplicas);
        QCOMPARE(value("rec-max"), r.recommendation.replicas->maxReplicas);
        QVERIFY2(dom.contains(QString("p95 knee: <b data-value=\"%1\">").arg(r.analysis.knee.value_or(0))), "the knee");
        QVERIFY(r.analysis.saturation);
        QVERIFY2(dom.contains(QString("Saturation: <b data-value=\"%1\">").arg(*r.analysis.saturation)), "saturation");
        QVERIFY(dom.contains(QString("data-slo-ms=\"%1\"").arg(num(200))));
        QVERIFY(dom.contains("Made by knee"));
    }

    // Drawn, not only parsed: the browser's picture has the p95 line's and the throughput line's colours.
    void chromiumDrawsTheCharts()
    {
        if (!QFile::exists(kChromium))
            QSKIP("Debian's chromium is not installed (scripts/install-deps installs it): the report is not checked in a browser");
        QTemporaryDir dir, profile;
        const QString path = dir.filePath("report.html"), png = dir.filePath("shot.png");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(report::sessionReportHtml(sweptSession(), report::ReportContext::thisMachine()));
        f.close();
        const Run shot = run(kChromium, chromiumArgs(profile) + QStringList{"--hide-scrollbars", "--force-color-profile=srgb",
                                                                              "--window-size=1200,1400", "--screenshot=" + png, "file://" + path});
        QVERIFY2(shot.exitCode == 0, shot.err.constData());
        QImage image(png);
        QVERIFY2(!image.isNull(), "chromium wrote no screenshot");
        // Lines are antialiased (blended with the background): matched by hue, not by exact colour.
        int p95 = 0, throughput = 0;
        auto hueNear = [](const QColor& c, int hue) { return c.hsvSaturation() > 90 && c.hsvHue() >= 0 && std::abs(c.hsvHue() - hue) <= 8; };
        const int p95Hue = QColor(0xc9, 0x8a, 0x12).hsvHue(), throughputHue = QColor(0x2f, 0x9a, 0x58).hsvHue();
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QColor c = image.pixelColor(x, y);
                p95 += hueNear(c, p95Hue);
                throughput += hueNear(c, throughputHue);
            }
        QVERIFY2(p95 > 100, qPrintable(QString("p95 line pixels: %1").arg(p95)));
        QVERIFY2(throughput > 50, qPrintable(QString("throughput line pixels: %1").arg(throughput)));
    }

    void commandExitCodes()
    {
        QTemporaryDir dir;
        const QString session = dir.filePath("s.json"), out = dir.filePath("r.html");
        QCOMPARE(saveSession(sweptSession(), session), QString());
        Run ok = run(KNEE_BINARY, {"report", session, "--out", out});
        QVERIFY2(ok.exitCode == 0, ok.err.constData());
        QFile written(out);
        QVERIFY(written.open(QIODevice::ReadOnly));
        QVERIFY(written.readAll().contains("<table class='levels' id='levels'>"));

        const Run json = run(KNEE_BINARY, {"report", session, "--out", out, "--json", "--sweep", "1"});
        QCOMPARE(json.exitCode, 0);
        QVERIFY2(json.out.contains("\"levels\":") && json.out.contains("\"sweep\":1"), json.out.constData());

        // Bad input: exit 2, nothing written.
        const QString never = dir.filePath("never.html");
        QCOMPARE(run(KNEE_BINARY, {"report", session}).exitCode, 2);                                   // no --out
        QCOMPARE(run(KNEE_BINARY, {"report", dir.filePath("missing.json"), "--out", never}).exitCode, 2); // no such session
        QCOMPARE(run(KNEE_BINARY, {"report", session, "--out", never, "--sweep", "2"}).exitCode, 2);      // one sweep only
        QCOMPARE(run(KNEE_BINARY, {"report", session, "--out", dir.path()}).exitCode, 2);                 // a directory
        QFile damaged(dir.filePath("bad.json"));
        QVERIFY(damaged.open(QIODevice::WriteOnly));
        damaged.write("{\"format\": \"knee-session\", \"version\": 2, \"sweeps\": ");
        damaged.close();
        const Run bad = run(KNEE_BINARY, {"report", damaged.fileName(), "--out", never});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains("damaged"), bad.err.constData());
        Session empty;
        empty.scenarioYaml = QString::fromStdString(writeScenarioYaml(twoSlots()));
        QCOMPARE(saveSession(empty, dir.filePath("empty.json")), QString());
        const Run none = run(KNEE_BINARY, {"report", dir.filePath("empty.json"), "--out", never});
        QCOMPARE(none.exitCode, 2);
        QVERIFY(none.err.contains("no sweep"));
        QVERIFY(!QFile::exists(never));

        // The output cannot be written (a file size limit fails the write): exit 1, the old report kept.
        QProcess p;
        p.setProgram("/bin/sh");
        p.setArguments({"-c", "ulimit -f 1 && exec \"$0\" \"$@\"", KNEE_BINARY, "report", session, "--out", out});
        const QByteArray before = [&] { QFile r(out); r.open(QIODevice::ReadOnly); return r.readAll(); }();
        p.start();
        QVERIFY(p.waitForFinished(60'000));
        QCOMPARE(p.exitCode(), 1);
        QFile after(out);
        QVERIFY(after.open(QIODevice::ReadOnly));
        QCOMPARE(after.readAll(), before);
    }
};

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"
