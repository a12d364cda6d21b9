// One sweep's record: its options, levels (figures, full latency summaries, histograms, an endpoint's
// counts), knee, saturation, alternatives and recommendation, each with its rule; and a grid's cells.
// The one shape that `knee sweep --json` prints and that a session (format 3) holds, written by
// sweepRecord/gridRecord and read back by readSweepRecord/readGridRecord; the report and the window
// work on the structs these give.
//
// The level's top-level p50_ms … max_ms (and ttft_/itl_ p50/p95) repeat latency_ms's quantiles: they
// are the names `knee sweep --json` has always printed and scripts read; readers use latency_ms.
#pragma once
#include "json_reader.h"

#include "study/grid.h"
#include "study/sweep.h"

#include <QJsonObject>

#include <optional>

namespace knee {

struct SessionSweep {
    SweepOptions options;
    SweepResult result;
};

struct SessionGrid {
    GridOptions options;
    GridResult result;
};

QJsonObject sweepRecord(const SessionSweep& sweep);
QJsonObject gridRecord(const SessionGrid& grid);

// `format` is the session format the record was saved in (1 and 2 had their own shape of the target,
// the scenario's name and the grid's best cell). The analysis and recommendation are recomputed from
// the levels against `scenario`, so an edited file cannot show a knee its own data does not have; the
// saved ones must agree with them. Empty, with reader.error set, when the record is refused.
std::optional<SessionSweep> readSweepRecord(JsonReader& reader, const QJsonObject& record, const QString& path,
                                            const Scenario& scenario, int format);
std::optional<SessionGrid> readGridRecord(JsonReader& reader, const QJsonObject& record, const QString& path, int format);

} // namespace knee
