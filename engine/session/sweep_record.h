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
    // The index of the sweep it followed in its session, whose recommendation it sets (applyGridChoice);
    // -1: the last sweep (files saved before grids named theirs, 2026-12-05).
    int sweep = -1;
};

QJsonObject sweepRecord(const SessionSweep& sweep);
// The grid measured after sweep `index` of `sweepCount`, if any (the last such, should there be several).
const SessionGrid* gridOfSweep(const std::vector<SessionGrid>& grids, std::size_t sweepCount, std::size_t index);
QJsonObject gridRecord(const SessionGrid& grid);

// `format` is the session format the record was saved in (1 and 2 had their own shape of the target,
// the scenario's name and the grid's best cell). The analysis and recommendation are recomputed from
// the levels against `scenario`, so an edited file cannot show a knee its own data does not have; the
// saved ones must agree with them. With `grid` (the session's grid of this sweep) the recommendation is
// the grid's (applyGridChoice); a file saved before the grid chose the target too holds the target of its
// levels, which is accepted, and the grid's stands. Empty, with reader.error set, when the record is refused.
std::optional<SessionSweep> readSweepRecord(JsonReader& reader, const QJsonObject& record, const QString& path,
                                            const Scenario& scenario, int format, const GridResult* grid = nullptr);
std::optional<SessionGrid> readGridRecord(JsonReader& reader, const QJsonObject& record, const QString& path, int format);

} // namespace knee
