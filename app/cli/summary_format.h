// A RunSummary as JSON (for --json and scripts) and as the plain-text report people read.
#pragma once
#include "sim/scenario.h"
#include "study/run_summary.h"

#include <QJsonObject>
#include <QString>

namespace knee::cli {

QJsonObject toJson(const RunSummary& summary);
// One latency summary: mean, p50, p90, p95, p99, p99_9 and max, in ms.
QJsonObject latencyJson(const LatencySummaryMs& latency);
QString toText(const RunSummary& summary);

// A twin's provenance where its answers are shown (simulate, plan, sweep on a twin: issue 15), so that a
// what-if on a twin never reads as a measurement: "Twin of URL, measured …; replays them within E %.\n",
// or nothing for a scenario people wrote. In JSON, "twin": {endpoint, mode, dates, levels, worst errors}.
QString twinText(const Scenario& scenario);
void insertTwin(QJsonObject& object, const Scenario& scenario);

} // namespace knee::cli
