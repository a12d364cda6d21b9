#include "summary_format.h"

#include <QJsonArray>

namespace knee::cli {

namespace {

QJsonObject latencyJson(const LatencySummaryMs& l)
{
    return QJsonObject{{"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90}, {"p95", l.p95},
                       {"p99", l.p99},   {"p99_9", l.p999}, {"max", l.max}};
}

QString ms(double v) { return QString::number(v, 'f', v < 10 ? 2 : 1); }

} // namespace

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
        {"stages_ms", stageMeans},
        {"stage_percentiles_ms", stagePercentiles},
        {"occupancy", QJsonObject{{"mean", occupancyMean}, {"timeline", timeline}}},
        {"simulated_s", s.simulatedS},
        {"wall_s", s.wallS},
        {"sim_requests_per_wall_s", s.simRequestsPerWallS},
        {"warnings", warnings},
    };
}

QString toText(const RunSummary& s)
{
    QString t;
    t += QStringLiteral("Scenario: %1\n").arg(QString::fromStdString(s.scenarioName.empty() ? "(unnamed)" : s.scenarioName));
    t += QStringLiteral("Requests: %1 arrived, %2 completed, %3 failed, %4 rejected\n")
             .arg(s.arrived)
             .arg(s.completed)
             .arg(s.failed)
             .arg(s.rejected);
    t += QStringLiteral("Throughput: %1 req/s over the measured window (%2 requests)\n")
             .arg(s.throughputRps, 0, 'f', 1)
             .arg(s.measuredCompleted);
    const auto& l = s.latency;
    t += QStringLiteral("Latency (ms): mean %1  p50 %2  p90 %3  p95 %4  p99 %5  p99.9 %6  max %7\n")
             .arg(ms(l.mean), ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99), ms(l.p999), ms(l.max));
    t += QStringLiteral("Where the time goes (mean ms / p99 ms):\n");
    const char* labels[] = {"deployment queue", "preprocess", "waiting for predict slot", "predict", "postprocess"};
    for (int p = 0; p < kPartCount; ++p)
        t += QStringLiteral("  %1 %2 / %3\n")
                 .arg(QString::fromLatin1(labels[p]), -26)
                 .arg(ms(s.parts[std::size_t(p)].mean), 8)
                 .arg(ms(s.parts[std::size_t(p)].p99), 8);
    t += QStringLiteral("Mean occupancy: queue %1, preprocess %2, predict wait %3, predict %4, postprocess %5, replicas %6\n")
             .arg(s.occupancyMean[0], 0, 'f', 2)
             .arg(s.occupancyMean[1], 0, 'f', 2)
             .arg(s.occupancyMean[2], 0, 'f', 2)
             .arg(s.occupancyMean[3], 0, 'f', 2)
             .arg(s.occupancyMean[4], 0, 'f', 2)
             .arg(s.occupancyMean[5], 0, 'f', 2);
    t += QStringLiteral("Simulated %1 s in %2 s of wall time (%3 requests per wall second)\n")
             .arg(s.simulatedS, 0, 'f', 1)
             .arg(s.wallS, 0, 'f', 3)
             .arg(s.simRequestsPerWallS, 0, 'f', 0);
    for (const auto& w : s.warnings)
        t += QStringLiteral("Warning: %1\n").arg(QString::fromStdString(w));
    return t;
}

} // namespace knee::cli
