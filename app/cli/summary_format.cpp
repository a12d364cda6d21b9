#include "summary_format.h"

#include "study/twin.h"

#include <QJsonArray>

namespace knee::cli {

QJsonObject latencyJson(const LatencySummaryMs& l)
{
    return QJsonObject{{"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90}, {"p95", l.p95},
                       {"p99", l.p99},   {"p99_9", l.p999}, {"max", l.max}};
}

QJsonObject toJson(const RunSummary& s)
{
    QJsonObject stageMeans, stagePercentiles;
    for (int p = 0; p < kPartCount; ++p) {
        const auto& part = s.parts[std::size_t(p)];
        stageMeans.insert(partKey(Part(p)), part.mean);
        stagePercentiles.insert(partKey(Part(p)), QJsonObject{{"p50", part.p50}, {"p95", part.p95}, {"p99", part.p99}, {"max", part.max}});
    }
    QJsonObject occupancyMean;
    for (int k = 0; k < kStageCount; ++k)
        occupancyMean.insert(stageKey(Stage(k)), s.occupancyMean[std::size_t(k)]);
    // Columnar, so a script can plot one stage without walking objects.
    QJsonObject timeline;
    QJsonArray start, width;
    std::array<QJsonArray, kStageCount> levels;
    for (const auto& w : s.timeline) {
        start.append(nanosToSeconds(w.start));
        width.append(nanosToSeconds(w.width));
        for (int k = 0; k < kStageCount; ++k)
            levels[std::size_t(k)].append(w.mean[std::size_t(k)]);
    }
    timeline.insert("start_s", start);
    timeline.insert("width_s", width);
    for (int k = 0; k < kStageCount; ++k)
        timeline.insert(stageKey(Stage(k)), levels[std::size_t(k)]);
    QJsonArray scaling;
    for (const ScalingEvent& e : s.scalingEvents)
        scaling.append(QJsonObject{{"t_s", nanosToSeconds(e.at)},
                                   {"action", QString::fromLatin1(toString(e.action))},
                                   {"from", e.from},
                                   {"to", e.to},
                                   {"reason", QString::fromStdString(e.reason)}});
    const QJsonObject replicas{{"mean", s.meanReplicas},
                               {"peak", s.peakReplicas},
                               {"hours", s.replicaHours},
                               {"cost_usd", s.costUsd},
                               {"cost_per_replica_hour", s.costPerReplicaHour},
                               {"cold_starts", qint64(s.coldStarts)},
                               {"autoscaler", QString::fromStdString(s.autoscalerPolicy)},
                               {"scaling_events", scaling},
                               {"scaling_events_dropped", qint64(s.scalingEventsDropped)},
                               {"mean_concurrency_limit", s.meanConcurrencyLimit}};
    QJsonArray warnings;
    for (const auto& w : s.warnings)
        warnings.append(QString::fromStdString(w));

    return QJsonObject{
        {"scenario", QString::fromStdString(s.scenarioName)},
        {"arrived", qint64(s.arrived)},
        {"completed", qint64(s.completed)},
        {"failed", qint64(s.failed)},
        {"rejected", qint64(s.rejected)},
        {"in_flight", qint64(s.inFlight)},
        {"measured", qint64(s.measuredCompleted)},
        {"throughput_rps", s.throughputRps},
        {"latency_ms", latencyJson(s.latency)},
        {"ttft_ms", s.timeToFirstToken.count ? QJsonValue(latencyJson(s.timeToFirstToken)) : QJsonValue()},
        {"itl_ms", s.interToken.count ? QJsonValue(latencyJson(s.interToken)) : QJsonValue()},
        {"stages_ms", stageMeans},
        {"stage_percentiles_ms", stagePercentiles},
        {"occupancy", QJsonObject{{"mean", occupancyMean}, {"timeline", timeline}}},
        {"replicas", replicas},
        {"simulated_s", s.simulatedS},
        {"wall_s", s.wallS},
        {"sim_requests_per_wall_s", s.simRequestsPerWallS},
        {"warnings", warnings},
    };
}

QString toText(const RunSummary& s) { return QString::fromStdString(formatSummary(s)); }

QString twinText(const Scenario& s)
{
    return s.twin ? QString::fromStdString(twinBanner(*s.twin)) + QStringLiteral(".\n") : QString();
}

void insertTwin(QJsonObject& o, const Scenario& s)
{
    if (!s.twin)
        return;
    const TwinSource& t = *s.twin;
    QJsonArray levels;
    for (int l : t.levels)
        levels.append(l);
    QJsonObject twin{{"endpoint", QString::fromStdString(t.endpoint)},
                     {"mode", QString::fromStdString(t.mode)},
                     {"measured_at", QString::fromStdString(t.measuredAt)},
                     {"fitted_at", QString::fromStdString(t.fittedAt)},
                     {"levels", levels},
                     {"replay_error_pct_max", twinWorstErrorPct(t.replay)},
                     {"banner", QString::fromStdString(twinBanner(t))}};
    if (!t.crossValidation.concurrency.empty())
        twin.insert("cross_validation_error_pct_max", twinWorstErrorPct(t.crossValidation));
    o.insert("twin", twin);
}

} // namespace knee::cli
