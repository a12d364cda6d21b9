// The report's charts, drawn as inline SVG text (no script, no external file): latency p50/p95/p99 and
// throughput against concurrency on a log-2 axis, with the SLO as a line and the knee and saturation
// marked; for a rate sweep against the request rate (log 2 from the smallest rate), with the rate knee,
// and the served rate beside the sent one with the capacity marked. Each point carries a <title> (the browser's own hover read-out) and data- attributes with
// its exact values.
#pragma once
#include "study/sweep.h"

#include <QString>

namespace knee::report {

QString latencyChartSvg(const SweepResult& result, const SweepOptions& options);
// Levels with several steady states (issue 13) add hollow marks at the starts that settled more than the
// tolerance away from the level's figures, as the window's chart does.
QString throughputChartSvg(const SweepResult& result, const SweepOptions& options);

} // namespace knee::report
