#include "report.h"

#include "report_svg.h"
#include "study/level_figures.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QRegularExpression>
#include <QStringList>
#include <QSysInfo>
#include <QThread>

namespace knee::report {

namespace {
QString esc(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }
// For a single-quoted attribute: toHtmlEscaped leaves ' alone, and the rules are prose ("the level's").
QString attr(const QString& s) { return s.toHtmlEscaped().replace(QLatin1Char('\''), QStringLiteral("&#39;")); }
QString attr(const std::string& s) { return attr(QString::fromStdString(s)); }
QString sentence(const std::string& s) { const QString t = QString::fromStdString(s); return t.left(1).toUpper() + t.mid(1); }
QString num(double v) { return QString::number(v, 'g', 10); }
QString ms(double v) { return QString::number(v, 'f', v < 10 ? 2 : v < 100 ? 1 : 0); }
QString rps(double v) { return QString::number(v, 'f', v < 100 ? 1 : 0); }
QString level(const std::optional<int>& v) { return v ? QString::number(*v) : QStringLiteral("—"); }
QString rate(double v) { return QString::fromStdString(formatRate(v)); }
QString rate(const std::optional<double>& v) { return v ? rate(*v) : QStringLiteral("—"); }

// Light by default, dark where the reader's system is: the report follows the browser.
const char* kStyle = R"(
:root { --fg: #1d1f22; --bg: #ffffff; --muted: #5c6370; --line: #d6d9de; --card: #f5f7fa;
        --p50: #3577c2; --p95: #c98a12; --p99: #c44545; --tp: #2f9a58; --slo: #d64545; --knee: #8a5cc7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #1e1f22; --muted: #a0a6ad; --line: #3d4045; --card: #2b2d30; }
}
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg);
       max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin-top: 4px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px; }
.card td { padding: 4px 12px 4px 0; vertical-align: top; } .card td.value { font-weight: 600; white-space: nowrap; }
.rule { color: var(--muted); font-size: 0.92em; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .charts svg { flex: 1 1 480px; max-width: 100%; height: auto;
       border: 1px solid var(--line); border-radius: 8px; background: var(--bg); }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; } svg .title { font-weight: 600; font-size: 13px; }
svg .tick { fill: var(--muted); font-size: 11px; } svg .grid { stroke: var(--line); stroke-width: 1; }
svg polyline { fill: none; stroke-width: 2; } svg .p50 { stroke: var(--p50); } svg .p95 { stroke: var(--p95); }
svg .p99 { stroke: var(--p99); } svg .throughput { stroke: var(--tp); stroke-dasharray: 6 3; }
svg .p50-label { fill: var(--p50); } svg .p95-label { fill: var(--p95); } svg .p99-label { fill: var(--p99); }
svg circle.dot { fill: var(--fg); } svg circle.knee { fill: var(--knee); } svg circle.saturation { fill: var(--tp); }
svg .slo { stroke: var(--slo); stroke-dasharray: 8 4 2 4; stroke-width: 1.5; } svg .slo-label { fill: var(--slo); }
svg .mark { font-weight: 600; }
svg circle.other-state, svg circle.other-state-key { fill: var(--bg); stroke: var(--tp); stroke-width: 1.5; }
svg circle.unserved { fill: var(--bg); stroke: var(--p99); stroke-width: 1.5; } svg circle.capacity { fill: var(--tp); }
svg .sent { stroke: var(--muted); stroke-width: 1.5; } svg .served-label { fill: var(--tp); } svg .sent-label { fill: var(--muted); }
table.levels { border-collapse: collapse; width: 100%; } table.levels th, table.levels td { padding: 4px 8px; border-bottom: 1px solid var(--line); }
table.levels th { text-align: right; } table.levels td { text-align: right; font-variant-numeric: tabular-nums; }
table.levels tr.excluded td { color: var(--muted); } table.levels td[data-field='states'] { white-space: nowrap; } table.levels td.notes { text-align: left; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; font-size: 13px; }
footer { color: var(--muted); font-size: 0.9em; margin-top: 2em; border-top: 1px solid var(--line); padding-top: 8px; }
)";

QString cpuModel()
{
    QFile f(QStringLiteral("/proc/cpuinfo"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const auto m = QRegularExpression(QStringLiteral("model name\\s*:\\s*([^\\n]+)")).match(QString::fromUtf8(f.read(1 << 16)));
    return m.hasMatch() ? m.captured(1).trimmed() : QString();
}

QString recommendationCard(const SweepResult& r, const SweepOptions& o)
{
    const Recommendation& rec = r.recommendation;
    auto row = [](const QString& id, const QString& name, const QString& value, const std::string& rule) {
        return QStringLiteral("<tr id='%1'><td>%2</td><td class='value'>%3</td><td class='rule'>%4</td></tr>").arg(id, name, value, esc(rule));
    };
    QString html = QStringLiteral("<div class='card'><table>");
    // A rate sweep recommends a rate; its rule also derives the target from it (Little's law).
    const bool rates = r.rateAnalysis.has_value();
    if (rates)
        html += row(QStringLiteral("rec-rate"), QStringLiteral("rate per replica"),
                    rec.ratePerReplicaRps > 0
                        ? QStringLiteral("<span data-value='%1'>%2</span>").arg(num(rec.ratePerReplicaRps), rate(rec.ratePerReplicaRps))
                        : QStringLiteral("<span data-value='0'>none</span>"),
                    rec.concurrencyTargetRule);
    html += row(QStringLiteral("rec-target"), QStringLiteral("concurrency_target"),
                rec.concurrencyTarget > 0 ? QStringLiteral("<span data-value='%1'>%1</span> requests per replica").arg(rec.concurrencyTarget)
                                          : QStringLiteral("<span data-value='0'>none</span>"),
                !rates                       ? rec.concurrencyTargetRule
                : rec.ratePerReplicaRps > 0 ? "the requests in flight at that rate by Little's law (served × mean latency), rounded up"
                                            : "none: no rate is recommended");
    html += row(QStringLiteral("rec-predict"), QStringLiteral("predict_concurrency"),
                QStringLiteral("<span data-value='%1'>%1</span> at once").arg(rec.predictConcurrency), rec.predictConcurrencyRule);
    if (rec.replicas) {
        html += row(QStringLiteral("rec-min"), QStringLiteral("min replicas"),
                    QStringLiteral("<span data-value='%1'>%1</span>").arg(rec.replicas->minReplicas), rec.replicas->minRule);
        html += row(QStringLiteral("rec-max"), QStringLiteral("max replicas"),
                    QStringLiteral("<span data-value='%1'>%1</span>").arg(rec.replicas->maxReplicas), rec.replicas->maxRule);
    }
    if (rec.throughputAtTargetRps > 0)
        html += row(QStringLiteral("rec-throughput"), rates ? QStringLiteral("served at that rate") : QStringLiteral("throughput at the target"),
                    QStringLiteral("<span data-value='%1'>%2</span> req/s per replica").arg(num(rec.throughputAtTargetRps), rps(rec.throughputAtTargetRps)),
                    rates          ? "measured on one replica at the recommended rate"
                    : rec.fromGrid ? "measured on one replica at the target and predict_concurrency (the grid's cell)"
                                   : "measured on one replica at the target's level");
    html += QStringLiteral("</table>");
    if (rates)
        html += QStringLiteral("<p class='rule' id='rec-knee'>Knee: %1.</p><p class='rule' id='rec-capacity'>Capacity: %2.</p>")
                    .arg(esc(r.rateAnalysis->kneeNote), esc(r.rateAnalysis->capacityNote));
    if (!rec.replicas)
        html += QStringLiteral("<p class='rule'>No baseline and peak traffic were given, so no min and max replicas were planned.</p>");
    QStringList slos;
    if (o.sloMs > 0)
        slos << QStringLiteral("p95 ≤ %1 ms").arg(ms(o.sloMs));
    if (o.ttftSloMs > 0)
        slos << QStringLiteral("time to first token p95 ≤ %1 ms").arg(ms(o.ttftSloMs));
    if (o.itlSloMs > 0)
        slos << QStringLiteral("inter-token p95 ≤ %1 ms").arg(ms(o.itlSloMs));
    html += QStringLiteral("<p class='rule'>SLO: %1.</p></div>").arg(slos.isEmpty() ? QStringLiteral("none set") : slos.join(QStringLiteral(", ")));
    return html;
}

// Columns the window's table shows only when some level has them (ui/sweep_results.cpp): goodput under an
// SLO, repeats' 95 % intervals and verdict (issue 17), what the server's /metrics said (issue 17), the GPUs'
// utilisation (NVML, live sweeps), an outside load generator's figures (issue 18), and the steady states a
// level's starts found (issue 13).
constexpr const char* kServerHeaders[] = {"Server: running", "Server: waiting", "Server: KV cache", "Server: batch"};
struct OptionalColumns {
    bool goodput = false, repeats = false, gpus = false, generator = false, states = false;
    bool server[std::size(kServerQuantities)] = {};
    std::vector<std::string> startNames; // the starts some level was measured from, in the sweep's order
    explicit OptionalColumns(const SweepResult& r)
    {
        for (const SweepLevel& l : r.levels) {
            goodput = goodput || l.goodCounted;
            gpus = gpus || !l.gpus.empty();
            generator = generator || l.generator.has_value();
            for (std::size_t q = 0; q < std::size(kServerQuantities); ++q)
                server[q] = server[q] || (l.server && l.server->metrics.count(kServerQuantities[q]) > 0);
            repeats = repeats || l.repeats.has_value();
            if (l.states) {
                states = true;
                for (const LevelStart& st : l.states->starts)
                    if (std::find(startNames.begin(), startNames.end(), st.start) == startNames.end())
                        startNames.push_back(st.start);
            }
        }
    }
    QString headers() const
    {
        QString h;
        if (goodput)
            h += QStringLiteral("<th>Goodput</th>");
        if (repeats)
            h += QStringLiteral("<th>p95, 95 % interval (ms)</th><th>Throughput, 95 % interval (req/s)</th><th>Repeats</th>");
        for (std::size_t q = 0; q < std::size(kServerQuantities); ++q)
            if (server[q])
                h += QStringLiteral("<th>%1</th>").arg(QLatin1String(kServerHeaders[q]));
        if (gpus)
            h += QStringLiteral("<th>GPU utilisation</th>");
        if (generator)
            h += QStringLiteral("<th>Load generator</th>");
        if (states)
            h += QStringLiteral("<th>Steady states</th>");
        return h;
    }
    QString cells(const SweepLevel& l) const
    {
        QString h;
        if (goodput)
            h += l.goodCounted ? QStringLiteral("<td data-field='good_share' data-value='%1' title='%2 of %3 requests met every SLO: %4 req/s of "
                                                "goodput'>%5 %</td>")
                                     .arg(num(l.goodShare()))
                                     .arg(l.good)
                                     .arg(l.completed + l.failed + l.rejected)
                                     .arg(rps(l.goodputRps), QString::number(100 * l.goodShare(), 'f', 1))
                               : QStringLiteral("<td data-field='good_share'>—</td>");
        if (repeats) {
            if (const auto& rp = l.repeats)
                h += QStringLiteral("<td data-field='p95_interval_ms' data-lo='%1' data-hi='%2'>%3 – %4</td>"
                                    "<td data-field='throughput_interval_rps' data-lo='%5' data-hi='%6'>%7 – %8</td>")
                         .arg(num(rp->p95.lo), num(rp->p95.hi), ms(rp->p95.lo), ms(rp->p95.hi), num(rp->throughput.lo), num(rp->throughput.hi),
                              rps(rp->throughput.lo), rps(rp->throughput.hi))
                    + QStringLiteral("<td data-field='repeats' data-value='%1' title='%2'>%1, %3</td>")
                          .arg(rp->runs.size())
                          .arg(attr(rp->verdictRule), esc(rp->verdict));
            else
                h += QStringLiteral("<td data-field='p95_interval_ms'>—</td><td data-field='throughput_interval_rps'>—</td>"
                                    "<td data-field='repeats' data-value='1'>1</td>");
        }
        for (std::size_t q = 0; q < std::size(kServerQuantities); ++q) {
            if (!server[q])
                continue;
            const ServerMetricSummary* m = nullptr;
            if (l.server)
                if (auto it = l.server->metrics.find(kServerQuantities[q]); it != l.server->metrics.end())
                    m = &it->second;
            const QString field = QStringLiteral("server_") + QLatin1String(kServerQuantities[q]);
            if (!m && l.server && l.server->failures > 0) // as the window's tooltip says it
                h += QStringLiteral("<td data-field='%1' title='%2 scrapes failed: %3'>—</td>")
                         .arg(field, QString::number(l.server->failures), attr(l.server->lastError));
            else if (!m)
                h += QStringLiteral("<td data-field='%1'>—</td>").arg(field);
            else // KV-cache usage is a share
                h += QStringLiteral("<td data-field='%1' data-value='%2' title='%3: mean of %4 scrapes (min %5, max %6)'>%7</td>")
                         .arg(field, num(m->mean), attr(m->source), QString::number(m->samples), QString::number(m->min, 'g', 4),
                              QString::number(m->max, 'g', 4),
                              q == 2 ? QString::number(100 * m->mean, 'f', 1) + QStringLiteral(" %") : QString::number(m->mean, 'f', 1));
        }
        if (gpus) { // the mean over the GPUs that reported one, each GPU in the title
            QStringList each;
            for (const GpuLevelFigures& g : l.gpus)
                each << QStringLiteral("GPU %1 (%2): %3 mean, %4")
                            .arg(QString::number(g.index), QString::fromStdString(g.name),
                                 g.utilizationMeanPct ? QString::number(*g.utilizationMeanPct, 'f', 0) + QStringLiteral(" %") : QStringLiteral("n/a"),
                                 g.powerMeanW ? QString::number(*g.powerMeanW, 'f', 0) + QStringLiteral(" W") : QStringLiteral("n/a"));
            const std::optional<double> mean = meanGpuUtilizationPct(l.gpus);
            h += mean ? QStringLiteral("<td data-field='gpu_utilization_pct' data-value='%1' title='%2'>%3 %</td>")
                         .arg(num(*mean), attr(each.join(QStringLiteral("; "))), QString::number(*mean, 'f', 0))
                   : each.isEmpty() ? QStringLiteral("<td data-field='gpu_utilization_pct'>—</td>")
                                    : QStringLiteral("<td data-field='gpu_utilization_pct' title='%1'>—</td>").arg(attr(each.join(QStringLiteral("; "))));
        }
        if (generator) {
            if (const auto& g = l.generator) {
                QString text = QStringLiteral("%1 worker%2, CPU %3 %").arg(g->workers).arg(g->workers == 1 ? QString() : QStringLiteral("s"),
                                                                                          QString::number(g->cpuMaxPct, 'f', 0));
                if (g->behind)
                    text += QStringLiteral(" · behind");
                h += QStringLiteral("<td data-field='load_generator' data-cpu-max-pct='%1' data-behind='%2'%3>%4</td>")
                         .arg(num(g->cpuMaxPct), g->behind ? QStringLiteral("yes") : QStringLiteral("no"),
                              g->why.empty() ? QString() : QStringLiteral(" title='%1'").arg(attr(g->why)), text);
            }
            else
                h += QStringLiteral("<td data-field='load_generator'>—</td>");
        }
        if (states) {
            if (const auto& st = l.states)
                h += QStringLiteral("<td data-field='states' data-several='%1' data-lo='%2' data-hi='%3' title='%4'>%5</td>")
                         .arg(st->several ? QStringLiteral("yes") : QStringLiteral("no"), num(st->slowestRps()), num(st->fastestRps()), attr(sentence(st->rule)),
                              st->several ? QStringLiteral("several: %1 – %2 req/s").arg(rps(st->slowestRps()), rps(st->fastestRps()))
                                          : QStringLiteral("one (%1 starts agree)").arg(st->starts.size()));
            else
                h += QStringLiteral("<td data-field='states'>—</td>");
        }
        return h;
    }
};

// Why a closed-loop level was left out of the analysis (empty: used): usableLevel's reasons, as the window's notes say them.
QStringList closedNotes(const SweepLevel& l)
{
    QStringList notes;
    if (l.failed || l.rejected)
        notes << QStringLiteral("errors");
    if (l.generatorBehind())
        notes << QStringLiteral("load generator fell behind");
    if (!l.stable)
        notes << QStringLiteral("did not stabilise");
    if (notes.isEmpty() && l.completed == 0)
        notes << QStringLiteral("nothing completed");
    return notes;
}

QString levelsTable(const SweepResult& r)
{
    const bool streaming = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.ttft.count > 0; });
    QString html = QStringLiteral("<table class='levels' id='levels'><thead><tr><th>Users</th><th>p50 (ms)</th><th>p95 (ms)</th><th>p99 (ms)</th>"
                                  "<th>Throughput (req/s)</th>");
    if (streaming)
        html += QStringLiteral("<th>TTFT p95 (ms)</th><th>Inter-token p95 (ms)</th>");
    const OptionalColumns optional(r);
    html += QStringLiteral("<th>Completed</th><th>Errors</th><th>Stable</th><th>Measured (s)</th>%1</tr></thead><tbody>").arg(optional.headers());
    auto cell = [](const QString& field, double exact, const QString& shown) {
        return QStringLiteral("<td data-field='%1' data-value='%2'>%3</td>").arg(field, num(exact), shown);
    };
    for (const SweepLevel& l : r.levels) {
        const std::int64_t errors = l.failed + l.rejected;
        html += QStringLiteral("<tr data-concurrency='%1'%2>").arg(l.concurrency).arg(usableLevel(l) ? QString() : QStringLiteral(" class='excluded'"));
        html += cell(QStringLiteral("concurrency"), l.concurrency, QString::number(l.concurrency));
        html += cell(QStringLiteral("p50_ms"), l.latency.p50, ms(l.latency.p50));
        html += cell(QStringLiteral("p95_ms"), l.latency.p95, ms(l.latency.p95));
        html += cell(QStringLiteral("p99_ms"), l.latency.p99, ms(l.latency.p99));
        html += cell(QStringLiteral("throughput_rps"), l.throughputRps, rps(l.throughputRps));
        if (streaming) {
            html += cell(QStringLiteral("ttft_p95_ms"), l.ttft.p95, l.ttft.count ? ms(l.ttft.p95) : QStringLiteral("—"));
            html += cell(QStringLiteral("itl_p95_ms"), l.itl.p95, l.itl.count ? ms(l.itl.p95) : QStringLiteral("—"));
        }
        html += cell(QStringLiteral("completed"), double(l.completed), QString::number(l.completed));
        html += cell(QStringLiteral("errors"), double(errors), QString::number(errors));
        html += QStringLiteral("<td data-field='stable'>%1</td>").arg(l.stable ? QStringLiteral("yes") : QStringLiteral("no"));
        html += cell(QStringLiteral("measured_s"), l.measuredS, QString::number(l.measuredS, 'f', 1));
        html += optional.cells(l) + QStringLiteral("</tr>");
    }
    html += QStringLiteral("</tbody></table>");
    return html;
}

// Why a rate sweep's level was left out of its analysis (empty: used), as the table's notes say it.
QStringList rateNotes(const SweepLevel& l, double tolerance)
{
    QStringList notes;
    if (l.failed || l.rejected)
        notes << QStringLiteral("errors");
    if (!l.keptUp(tolerance))
        notes << QStringLiteral("not served in full");
    if (l.behind)
        notes << QStringLiteral("load generator fell behind");
    if (!l.stable)
        notes << QStringLiteral("did not stabilise");
    return notes;
}

QString rateLevelsTable(const SweepResult& r, const SweepOptions& o)
{
    const bool streaming = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.ttft.count > 0; });
    QString html = QStringLiteral("<table class='levels' id='levels'><thead><tr><th>Rate asked (req/s)</th><th>Sent (req/s)</th><th>Served (req/s)</th>"
                                  "<th>p50 (ms)</th><th>p95 (ms)</th><th>p99 (ms)</th>");
    if (streaming)
        html += QStringLiteral("<th>TTFT p95 (ms)</th><th>Inter-token p95 (ms)</th>");
    const OptionalColumns optional(r);
    html += QStringLiteral("<th>In flight (Little)</th><th>Completed</th><th>Errors</th><th>Measured (s)</th>%1<th>Notes</th></tr></thead><tbody>")
                .arg(optional.headers());
    auto cell = [](const QString& field, double exact, const QString& shown) {
        return QStringLiteral("<td data-field='%1' data-value='%2'>%3</td>").arg(field, num(exact), shown);
    };
    std::vector<const SweepLevel*> levels;
    for (const SweepLevel& l : r.levels)
        levels.push_back(&l);
    std::stable_sort(levels.begin(), levels.end(), [](const SweepLevel* a, const SweepLevel* b) { return a->rateRps < b->rateRps; });
    for (const SweepLevel* l : levels) {
        const QStringList notes = rateNotes(*l, o.tolerance);
        html += QStringLiteral("<tr data-rate-rps='%1'%2>").arg(num(l->rateRps), notes.isEmpty() ? QString() : QStringLiteral(" class='excluded'"));
        html += cell(QStringLiteral("rate_rps"), l->rateRps, QString::number(l->rateRps, 'g', 6));
        html += cell(QStringLiteral("sent_rps"), l->sentRps, rps(l->sentRps));
        html += cell(QStringLiteral("throughput_rps"), l->throughputRps, rps(l->throughputRps));
        html += cell(QStringLiteral("p50_ms"), l->latency.p50, ms(l->latency.p50));
        html += cell(QStringLiteral("p95_ms"), l->latency.p95, ms(l->latency.p95));
        html += cell(QStringLiteral("p99_ms"), l->latency.p99, ms(l->latency.p99));
        if (streaming) {
            html += cell(QStringLiteral("ttft_p95_ms"), l->ttft.p95, l->ttft.count ? ms(l->ttft.p95) : QStringLiteral("—"));
            html += cell(QStringLiteral("itl_p95_ms"), l->itl.p95, l->itl.count ? ms(l->itl.p95) : QStringLiteral("—"));
        }
        html += cell(QStringLiteral("in_flight"), l->inFlightMean, QString::number(l->inFlightMean, 'f', 2));
        html += cell(QStringLiteral("completed"), double(l->completed), QString::number(l->completed));
        html += cell(QStringLiteral("errors"), double(l->failed + l->rejected), QString::number(l->failed + l->rejected));
        html += cell(QStringLiteral("measured_s"), l->measuredS, QString::number(l->measuredS, 'f', 1));
        html += optional.cells(*l);
        html += QStringLiteral("<td data-field='notes' class='notes'>%1</td></tr>").arg(notes.join(QStringLiteral(", ")));
    }
    html += QStringLiteral("</tbody></table>");
    return html;
}

QString rateAnalysisSection(const SweepResult& r, const SweepOptions& o)
{
    const RateAnalysis& a = *r.rateAnalysis;
    QString html = QStringLiteral("<h2>Knee and capacity</h2><ul id='analysis'>");
    html += QStringLiteral("<li>p95 knee: <b data-value='%1'>%2</b> — %3</li>").arg(num(a.knee.value_or(0)), rate(a.knee), esc(a.kneeNote));
    html += QStringLiteral("<li>Capacity: <b data-value='%1'>%2</b> — %3</li>").arg(num(a.capacity.value_or(0)), rate(a.capacity), esc(a.capacityNote));
    html += QStringLiteral("<li>Largest rate meeting the SLO: <b>%1</b></li>").arg(rate(a.sloRate));
    html += QStringLiteral("<li>Peak throughput: <b>%1</b></li>").arg(rate(a.peakThroughputRps));
    if (!a.extendedRates.empty()) {
        QStringList added;
        for (double x : a.extendedRates)
            added << QString::number(x, 'g', 6);
        html += QStringLiteral("<li>Rates added to find the capacity (every rate was still served): %1</li>").arg(added.join(QStringLiteral(", ")));
    }
    if (r.search)
        html += QStringLiteral("<li>SLO search: %1%2</li>")
                    .arg(esc(r.search->rule), r.search->stop.empty() ? QString() : QStringLiteral(" (%1)").arg(esc(r.search->stop)));
    QStringList excluded;
    for (const SweepLevel& l : r.levels)
        if (const QStringList notes = rateNotes(l, o.tolerance); !notes.isEmpty())
            excluded << QStringLiteral("%1 (%2)").arg(rate(l.rateRps), notes.join(QStringLiteral(", ")));
    if (!excluded.isEmpty())
        html += QStringLiteral("<li>Not used for the knee or the recommendation: %1</li>").arg(excluded.join(QStringLiteral("; ")));
    html += QStringLiteral("</ul>");
    return html;
}

QString analysisSection(const SweepResult& r)
{
    const KneeAnalysis& a = r.analysis;
    QString html = QStringLiteral("<h2>Knee and alternatives</h2><ul id='analysis'>");
    html += QStringLiteral("<li>p95 knee: <b data-value='%1'>%2</b> — %3</li>").arg(a.knee ? *a.knee : 0).arg(level(a.knee), esc(a.kneeNote));
    html += QStringLiteral("<li>Throughput bend: <b>%1</b> — %2</li>").arg(level(a.throughputKnee), esc(a.throughputKneeNote));
    if (a.saturation)
        html += QStringLiteral("<li>Saturation: <b data-value='%1'>%1</b>, the smallest level within %2 % of the peak throughput %3 req/s "
                               "(at %4)</li>")
                    .arg(*a.saturation)
                    .arg(100 * a.saturationTolerance)
                    .arg(rps(a.peakThroughputRps))
                    .arg(level(a.peakThroughput));
    else
        html += a.stillRising ? QStringLiteral("<li>Saturation: none — throughput still rises at the largest usable level.</li>")
                              : QStringLiteral("<li>Saturation: no usable level.</li>");
    html += QStringLiteral("<li>Largest level meeting the SLO: <b>%1</b></li>").arg(level(a.sloLevel));
    html += QStringLiteral("<li>Peak throughput at <b>%1</b>%2</li>")
                .arg(level(a.peakThroughput), a.throughputFallsAfterPeak ? QStringLiteral(", and throughput falls after it") : QString());
    html += QStringLiteral("<li>Best throughput ÷ p95 (Kleinrock's power) at <b>%1</b></li>").arg(level(a.bestPower));
    if (!r.extendedLevels.empty()) {
        QStringList added;
        for (int l : r.extendedLevels)
            added << QString::number(l);
        html += QStringLiteral("<li>Levels added to reach saturation: %1</li>").arg(added.join(QStringLiteral(", ")));
    }
    QStringList excluded;
    for (const SweepLevel& l : r.levels)
        if (const QStringList notes = closedNotes(l); !notes.isEmpty())
            excluded << QStringLiteral("%1 (%2)").arg(l.concurrency).arg(notes.join(QStringLiteral(", ")));
    if (!excluded.isEmpty())
        html += QStringLiteral("<li>Not used for the knee, saturation or recommendation: %1</li>").arg(excluded.join(QStringLiteral(", ")));
    QStringList several; // issue 13: the window's evidence says the same (ui/sweep_evidence.cpp)
    for (const SweepLevel& l : r.levels)
        if (l.states && l.states->several)
            several << QStringLiteral("%1 users (%2 – %3 req/s)").arg(l.concurrency).arg(rps(l.states->slowestRps()), rps(l.states->fastestRps()));
    if (!several.isEmpty())
        html += QStringLiteral("<li id='steady-states'>More than one steady state at %1: how the users started set the throughput "
                               "(dynamic batching's closed loop: one batch, or groups taking turns). Each such level's figures are its "
                               "slowest start's, and the knee, saturation and recommendation use them.</li>")
                    .arg(several.join(QStringLiteral(", ")));
    html += QStringLiteral("</ul>");
    return html;
}

QString gridSection(const Session& s, int sweepIndex)
{
    const SessionGrid* grid = gridOfSweep(s.grids, s.sweeps.size(), std::size_t(sweepIndex)); // the reported sweep's own
    if (!grid)
        return {};
    const GridResult& g = grid->result;
    // The recommended cell (applyGridChoice set it on the sweep when it was read), else the grid's own best.
    const Recommendation& rec = s.sweeps[std::size_t(sweepIndex)].result.recommendation;
    auto chosen = [&](const GridCell& c) {
        if (rec.fromGrid)
            return c.predictConcurrency == rec.predictConcurrency && c.target == rec.concurrencyTarget;
        return g.best && &c == &g.cells[*g.best];
    };
    std::vector<int> rows, cols;
    for (const GridCell& c : g.cells) {
        if (std::find(rows.begin(), rows.end(), c.predictConcurrency) == rows.end())
            rows.push_back(c.predictConcurrency);
        if (std::find(cols.begin(), cols.end(), c.target) == cols.end())
            cols.push_back(c.target);
    }
    std::sort(rows.begin(), rows.end());
    std::sort(cols.begin(), cols.end());
    QString html = QStringLiteral("<h2>Grid: predict_concurrency × concurrency target (p95 ms, req/s)</h2><table class='levels' id='grid'><tr><th>pc \\ target</th>");
    for (int c : cols)
        html += QStringLiteral("<th>%1</th>").arg(c);
    html += QStringLiteral("</tr>");
    for (int r : rows) {
        html += QStringLiteral("<tr><th>%1</th>").arg(r);
        for (int c : cols) {
            const auto it = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& x) { return x.predictConcurrency == r && x.target == c; });
            const bool best = it != g.cells.end() && chosen(*it);
            if (it == g.cells.end() || !it->measured)
                html += QStringLiteral("<td>—</td>");
            else
                html += QStringLiteral("<td%1>%2 ms · %3 req/s</td>")
                            .arg(best ? QStringLiteral(" style='font-weight:700'") : QString(), ms(it->level.latency.p95), rps(it->level.throughputRps));
        }
        html += QStringLiteral("</tr>");
    }
    html += rec.fromGrid ? QStringLiteral("</table><p class='rule'>Recommended (bold): %1. The grid's best cell by itself: %2.</p>")
                               .arg(esc(rec.predictConcurrencyRule), esc(g.rule))
                         : QStringLiteral("</table><p class='rule'>%1</p>").arg(esc(g.rule));
    return html;
}
} // namespace

ReportContext ReportContext::thisMachine(const QString& sessionName)
{
    ReportContext c;
    c.version = QCoreApplication::applicationVersion();
    QString machine = QStringLiteral("%1, kernel %2 %3, %4 cores").arg(QSysInfo::prettyProductName(), QSysInfo::kernelVersion(),
                                                                     QSysInfo::currentCpuArchitecture())
                          .arg(QThread::idealThreadCount());
    if (const QString cpu = cpuModel(); !cpu.isEmpty())
        machine += QStringLiteral(", ") + cpu;
    c.machine = machine;
    c.sessionName = sessionName;
    c.generatedAt = QDateTime::currentDateTimeUtc().toString(Qt::ISODate);
    return c;
}

QByteArray sessionReportHtml(const Session& session, const ReportContext& context, int sweepIndex)
{
    const int n = int(session.sweeps.size());
    const int index = sweepIndex < 0 ? n - 1 : std::min(sweepIndex, n - 1);
    if (index < 0)
        return {};
    const SessionSweep& sw = session.sweeps[std::size_t(index)];
    const SweepResult& r = sw.result;
    const QString name = r.scenarioName.empty() ? QStringLiteral("knee session") : esc(r.scenarioName);
    const QString mode = r.mode == "http" ? QStringLiteral("an HTTP endpoint, real time") : r.mode == "live" ? QStringLiteral("the built-in engine, live time")
                                                                                                           : QStringLiteral("the built-in engine, virtual time");
    QString html = QStringLiteral("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, "
                                  "initial-scale=1'><meta name='generator' content='knee %1'><title>knee report — %2</title><style>%3</style></head><body>")
                       .arg(context.version.toHtmlEscaped(), name, QString::fromUtf8(kStyle));
    html += QStringLiteral("<h1>%1</h1><p class='sub'>Sweep %2 of %3 · %4 · %5%6</p>") // one arg(): a name with "%1" stays as written
                .arg(name, QString::number(index + 1), QString::number(n), mode,
                     (r.rateAnalysis ? QStringLiteral("%1 rates, open loop") : QStringLiteral("%1 levels")).arg(r.levels.size()),
                     r.cancelled ? QStringLiteral(" · cancelled: the finished levels only") : QString());
    html += QStringLiteral("<h2>Recommendation</h2>") + recommendationCard(r, sw.options);
    html += QStringLiteral("<h2>Charts</h2><div class='charts'>%1%2</div>").arg(latencyChartSvg(r, sw.options), throughputChartSvg(r, sw.options));
    if (r.rateAnalysis) {
        html += QStringLiteral("<h2>Levels</h2><p class='rule'>One replica sent an open loop of requests at each rate (%1 arrivals), latency "
                               "counted from each request's scheduled time; rates in grey were not served in full, had errors, had their "
                               "load generator fall behind or did not stabilise, and were left out of the knee and the recommendation.</p>")
                    .arg(sw.options.constantArrivals ? QStringLiteral("evenly spaced") : QStringLiteral("Poisson"))
            + rateLevelsTable(r, sw.options);
        html += rateAnalysisSection(r, sw.options);
    } else {
        html += QStringLiteral("<h2>Levels</h2><p class='rule'>One replica held at each level by that many closed-loop users; levels in grey "
                               "had errors, had their load generator fall behind or did not stabilise, and were left out of the analysis.</p>")
            + levelsTable(r);
        html += analysisSection(r);
    }
    html += gridSection(session, index);
    if (r.mode == "http" && !r.target.empty())
        html += QStringLiteral("<h2>Endpoint measured</h2><pre id='target'>%1</pre>").arg(esc(r.target));
    else
        html += QStringLiteral("<h2>Scenario</h2><p class='rule'>%1</p><pre id='scenario'>%2</pre>")
                    .arg(session.scenarioSource.toHtmlEscaped(), session.scenarioYaml.toHtmlEscaped());
    html += QStringLiteral("<h2>How the levels were measured</h2><p class='rule'>Warm-up %1 s, windows of at least %2 s until two agree "
                           "within %3 %, cap %4 s per level; this sweep took %5 s of wall time.</p>")
                .arg(sw.options.warmupS)
                .arg(sw.options.windowS)
                .arg(100 * sw.options.tolerance)
                .arg(sw.options.capS)
                .arg(r.wallS, 0, 'f', 1);
    const OptionalColumns optional(r);
    if (optional.repeats)
        html += QStringLiteral("<p class='rule' id='measured-repeats'>Each level was measured %1 times; the intervals are 95 % intervals of "
                               "the mean over the repeats.</p>")
                    .arg(sw.options.repeats);
    if (optional.states) {
        QStringList starts;
        for (const std::string& st : optional.startNames)
            starts << QString::fromStdString(startText(st));
        html += QStringLiteral("<p class='rule' id='measured-starts'>Closed-loop levels of two users or more were measured from up to %1 starts "
                               "(%2), each once.</p>")
                    .arg(QString::number(starts.size()), starts.join(QStringLiteral("; ")));
    }
    if (!session.notes.isEmpty())
        html += QStringLiteral("<h2>Notes</h2><p>%1</p>").arg(session.notes.toHtmlEscaped());
    html += QStringLiteral("<footer id='made-by'>Made by knee %1%2 on %3 at %4 UTC.</footer></body></html>\n")
                .arg(context.version.toHtmlEscaped(),
                     context.sessionName.isEmpty() ? QString() : QStringLiteral(" from %1").arg(context.sessionName.toHtmlEscaped()),
                     context.machine.toHtmlEscaped(), context.generatedAt.toHtmlEscaped());
    return html.toUtf8();
}

} // namespace knee::report
