#include "sweep_evidence.h"

#include <QCoreApplication>
#include <QStringList>

namespace knee::ui {

namespace {
QString tr(const char* text) { return QCoreApplication::translate("knee::ui::SweepPage", text); }
QString rate(double rps) { return QString::fromStdString(formatRate(rps)); }
// A level by where it sits on its sweep's axis: "8" (users) or "40 req/s".
QString levelName(const SweepLevel& l) { return l.open() ? rate(l.rateRps) : QString::number(l.concurrency); }
QString usersName(const SweepLevel& l) { return l.open() ? rate(l.rateRps) : tr("%1 users").arg(l.concurrency); }

// A rate sweep's knee and capacity (rate_curve.h), in place of a closed loop's knees and saturation.
QString rateAnalysisHtml(const RateAnalysis& a)
{
    QString html = tr("<h3>Knee and capacity</h3><p>p95: %1</p><p>Capacity: %2</p>")
                       .arg(QString::fromStdString(a.kneeNote).toHtmlEscaped(), QString::fromStdString(a.capacityNote).toHtmlEscaped());
    if (!a.extendedRates.empty()) {
        QStringList added;
        for (double x : a.extendedRates)
            added << rate(x);
        html += tr("<p>Rates added to find the capacity (every rate was still served): %1.</p>").arg(added.join(QStringLiteral(", ")));
    }
    return html;
}
} // namespace

QString sweepEvidenceHtml(const SweepResult& r, const SweepOptions& o)
{
    const Recommendation& rec = r.recommendation;
    const KneeAnalysis& a = r.analysis;
    // The card above is headed "Recommendation": this is its evidence, the rules in full.
    QString html = tr("<h3>The rules behind the recommendation</h3><ul>");
    if (r.rateAnalysis)
        html += tr("<li>rate per replica <b>%1</b></li>").arg(rec.ratePerReplicaRps > 0 ? rate(rec.ratePerReplicaRps) : tr("none"));
    html += tr("<li>concurrency_target <b>%1</b> — %2</li>")
                .arg(rec.concurrencyTarget > 0 ? QString::number(rec.concurrencyTarget) : tr("none"))
                .arg(QString::fromStdString(rec.concurrencyTargetRule).toHtmlEscaped());
    html += tr("<li>predict_concurrency <b>%1</b> — %2</li>")
                .arg(rec.predictConcurrency)
                .arg(QString::fromStdString(rec.predictConcurrencyRule).toHtmlEscaped());
    if (rec.replicas)
        html += tr("<li>min replicas <b>%1</b> — %2</li><li>max replicas <b>%3</b> — %4</li>")
                    .arg(rec.replicas->minReplicas)
                    .arg(QString::fromStdString(rec.replicas->minRule).toHtmlEscaped())
                    .arg(rec.replicas->maxReplicas)
                    .arg(QString::fromStdString(rec.replicas->maxRule).toHtmlEscaped());
    else
        html += tr("<li>Set baseline and peak traffic to plan min and max replicas.</li>");
    html += QStringLiteral("</ul>");
    if (r.rateAnalysis) {
        html += rateAnalysisHtml(*r.rateAnalysis);
    } else {
        html += tr("<h3>Knees</h3><p>p95: %1</p><p>Throughput: %2</p>")
                    .arg(QString::fromStdString(a.kneeNote).toHtmlEscaped(), QString::fromStdString(a.throughputKneeNote).toHtmlEscaped());
        html += tr("<h3>Saturation</h3><p>%1</p>")
                    .arg(a.saturation ? tr("Throughput saturates at <b>%1</b>: the smallest level within %2 % of the peak, %3 at %4.")
                                            .arg(*a.saturation)
                                            .arg(100 * a.saturationTolerance)
                                            .arg(QString::fromStdString(formatThroughput(a.peakThroughputRps)))
                                            .arg(a.peakThroughput.value_or(0))
                         : a.stillRising ? tr("Not saturated: throughput still rises at the largest usable level.")
                                         : tr("No usable level."));
    }
    if (!r.extendedLevels.empty()) {
        QStringList added;
        for (int l : r.extendedLevels)
            added << QString::number(l);
        html += tr("<p>Levels added to reach saturation: %1.</p>").arg(added.join(QStringLiteral(", ")));
    }
    if (r.search && r.search->rates) {
        html += tr("<h3>SLO search</h3><p>The largest rate meeting the SLOs: <b>%1</b>. %2.</p>")
                    .arg(r.search->largest ? rate(*r.search->largest) : tr("none"))
                    .arg(QString::fromStdString(r.search->rule).toHtmlEscaped());
        if (!r.search->stop.empty())
            html += tr("<p>The listed rates %1.</p>").arg(QString::fromStdString(r.search->stop).toHtmlEscaped());
    } else if (r.search) {
        html += tr("<h3>SLO search</h3><p>The largest concurrency meeting the SLOs: <b>%1</b>. %2.</p>")
                    .arg(r.search->largest ? QString::number(*r.search->largest) : tr("none"))
                    .arg(QString::fromStdString(r.search->rule).toHtmlEscaped());
        if (!r.search->stop.empty())
            html += tr("<p>The listed levels %1.</p>").arg(QString::fromStdString(r.search->stop).toHtmlEscaped());
    }
    QStringList noisy;
    int repeated = 0;
    for (const SweepLevel& l : r.levels)
        if (l.repeats) {
            repeated = int(l.repeats->runs.size());
            if (l.repeats->verdict != "stable")
                noisy << tr("%1 (%2: %3)").arg(levelName(l)).arg(QString::fromStdString(l.repeats->verdict),
                                                                   QString::fromStdString(l.repeats->verdictRule).toHtmlEscaped());
        }
    if (repeated > 1)
        html += tr("<h3>Repeats</h3><p>Each level was measured %1 times; the table's intervals are 95 % intervals of the "
                   "repeats' mean (expanded percentile bootstrap). %2</p>")
                    .arg(repeated)
                    .arg(noisy.isEmpty() ? tr("Every level's repeats agree within the tolerance.")
                                         : tr("Repeats that disagree: %1.").arg(noisy.join(QStringLiteral("; "))));
    // Issue 13: levels measured from several starts (dynamic batching), and those that found more than one
    // steady state: the range, and that the level's figures are the slowest start's.
    QStringList several;
    int withStarts = 0;
    for (const SweepLevel& l : r.levels) {
        if (!l.states)
            continue;
        ++withStarts;
        if (!l.states->several)
            continue;
        several << tr("%1 users (%2 – %3)").arg(levelName(l), QString::fromStdString(formatThroughput(l.states->slowestRps())).toHtmlEscaped(),
                                                QString::fromStdString(formatThroughput(l.states->fastestRps())).toHtmlEscaped());
    }
    if (withStarts > 0)
        html += tr("<h3>Steady states</h3><p>With dynamic batching a closed loop can settle in more than one steady state (the "
                   "users' requests in one batch, or in groups that take turns), and which one a run finds depends on how its "
                   "users started. Levels of two users or more were measured from several starts (all users at once; two groups half a "
                   "round trip apart; one by one): %1 of them. %2</p>")
                    .arg(withStarts)
                    .arg(several.isEmpty() ? tr("At every level the starts agreed.")
                                           : tr("More than one steady state at %1: a real server may settle in either. Those levels "
                                                "show the slowest start's figures, and the knee and the recommendation use them.")
                                                 .arg(several.join(QStringLiteral("; "))));
    QStringList server; // an endpoint's own metrics: what was read per level, and scrapes that failed
    for (const SweepLevel& l : r.levels) {
        if (!l.server)
            continue;
        QStringList said;
        for (const auto& [name, m] : l.server->metrics)
            said << tr("%1 %2").arg(QString::fromStdString(name).toHtmlEscaped()).arg(m.mean, 0, 'g', 4);
        server << tr("%1: %2 (%3 scrapes%4)")
                      .arg(usersName(l))
                      .arg(said.isEmpty() ? tr("no metric knee knows") : said.join(QStringLiteral(", ")))
                      .arg(l.server->scrapes)
                      .arg(l.server->failures ? tr(", %1 failed: %2").arg(l.server->failures).arg(QString::fromStdString(l.server->lastError).toHtmlEscaped())
                                              : QString());
    }
    if (!server.isEmpty())
        html += tr("<h3>What the server said</h3><p>Means over each level's measured windows, from its /metrics:</p><ul><li>%1</li></ul>")
                    .arg(server.join(QStringLiteral("</li><li>")));
    QStringList gpus; // a live sweep's GPUs (NVML)
    for (const SweepLevel& l : r.levels)
        for (const GpuLevelFigures& g : l.gpus)
            gpus << tr("%1, GPU %2 (%3): utilisation %4 %, power %5 W, SM clock %6 MHz")
                        .arg(usersName(l))
                        .arg(g.index)
                        .arg(QString::fromStdString(g.name).toHtmlEscaped())
                        .arg(g.utilizationMeanPct ? QString::number(*g.utilizationMeanPct, 'f', 0) : tr("n/a"))
                        .arg(g.powerMeanW ? QString::number(*g.powerMeanW, 'f', 0) : tr("n/a"))
                        .arg(g.smClockMeanMHz ? QString::number(*g.smClockMeanMHz, 'f', 0) : tr("n/a"));
    if (!gpus.isEmpty())
        html += tr("<h3>GPUs during each level</h3><p>Means over the measured windows (NVML):</p><ul><li>%1</li></ul>")
                    .arg(gpus.join(QStringLiteral("</li><li>")));
    html += tr("<h3>Alternatives</h3><ul>");
    QStringList slos;
    if (o.sloMs > 0)
        slos << tr("p95 &le; %1 ms").arg(o.sloMs);
    if (o.ttftSloMs > 0)
        slos << tr("time to first token p95 &le; %1 ms").arg(o.ttftSloMs);
    if (o.itlSloMs > 0)
        slos << tr("inter-token p95 &le; %1 ms").arg(o.itlSloMs);
    if (slos.isEmpty())
        html += tr("<li>No SLO set.</li>");
    else if (r.rateAnalysis)
        html += tr("<li>Largest rate meeting %1: <b>%2</b></li>")
                    .arg(slos.join(tr(" and ")))
                    .arg(r.rateAnalysis->sloRate ? rate(*r.rateAnalysis->sloRate) : tr("none"));
    else
        html += tr("<li>Largest level meeting %1: <b>%2</b></li>").arg(slos.join(tr(" and "))).arg(a.sloLevel ? QString::number(*a.sloLevel) : tr("none"));
    if (!r.levels.empty() && r.levels.back().ttft.count > 0) {
        QStringList rows;
        for (const SweepLevel& l : r.levels)
            rows << tr("%1: TTFT %2 ms, ITL %3 ms").arg(levelName(l)).arg(l.ttft.p95, 0, 'f', 1).arg(l.itl.p95, 0, 'f', 1);
        html += tr("<li>Streaming (p95): %1</li>").arg(rows.join(QStringLiteral("; ")));
    }
    if (r.rateAnalysis) {
        html += tr("<li>Capacity <b>%1</b></li>").arg(r.rateAnalysis->capacity ? rate(*r.rateAnalysis->capacity) : tr("—"));
        html += tr("<li>Peak served throughput <b>%1</b></li></ul>").arg(rate(r.rateAnalysis->peakThroughputRps));
    } else {
        html += tr("<li>Saturation at <b>%1</b></li>").arg(a.saturation ? QString::number(*a.saturation) : tr("—"));
        html += tr("<li>Peak throughput at <b>%1</b>%2</li>")
                    .arg(a.peakThroughput ? QString::number(*a.peakThroughput) : tr("—"))
                    .arg(a.throughputFallsAfterPeak ? tr(", and throughput falls after it") : QString());
        html += tr("<li>Best throughput ÷ p95 (Kleinrock's power) at <b>%1</b></li></ul>").arg(a.bestPower ? QString::number(*a.bestPower) : tr("—"));
    }
    QStringList marked;
    for (const SweepLevel& l : r.levels) {
        const bool unserved = l.open() && l.completed > 0 && !l.keptUp(o.tolerance);
        if (l.stable && !l.failed && !l.rejected && !unserved && !l.behind && !l.generatorBehind())
            continue;
        QStringList kinds; // an endpoint's failures by kind
        for (const auto& [kind, count] : l.failuresByKind)
            kinds << QStringLiteral("%1 %2").arg(QString::fromStdString(kind)).arg(count);
        const QString errors = kinds.isEmpty() ? tr("errors") : tr("errors: %1").arg(kinds.join(QStringLiteral(", ")));
        marked << tr("%1 (%2)").arg(levelName(l)).arg(l.failed || l.rejected ? errors
                                                      : unserved                ? tr("not served in full: %1 req/s of %2 sent").arg(l.throughputRps, 0, 'f', 1).arg(l.sentRps, 0, 'f', 1)
                                                      : l.behind              ? tr("load generator fell behind")
                                                      : l.generatorBehind()   ? tr("Locust's workers fell behind: %1").arg(QString::fromStdString(l.generator->why))
                                                                              : tr("did not stabilise"));
    }
    if (!marked.isEmpty())
        html += (r.rateAnalysis ? tr("<p><b>Not used for the knee or recommendation:</b> %1</p>")
                                : tr("<p><b>Not used for the knee, saturation or recommendation:</b> %1</p>"))
                    .arg(marked.join(QStringLiteral(", ")));
    return html;
}

} // namespace knee::ui
