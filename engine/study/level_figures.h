// What a sweep level's optional figures mean, for the two places that show them per level: the window's table
// (ui/sweep_results.cpp) and the HTML report (engine/report). Kept here so that both read them alike.
#pragma once
#include "study/sweep.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace knee {

// The server's own view of a level (ServerScrape::metrics keys, as engine/net's MetricsScraper names them), in
// the order the tables show them; "kv_cache_usage" is a share (0-1), the others counts.
inline constexpr const char* kServerQuantities[] = {"requests_running", "requests_waiting", "kv_cache_usage", "batch_size"};

// The mean utilisation over the GPUs that reported one (none: empty).
inline std::optional<double> meanGpuUtilizationPct(const std::vector<GpuLevelFigures>& gpus)
{
    double sum = 0;
    int n = 0;
    for (const GpuLevelFigures& g : gpus)
        if (g.utilizationMeanPct) {
            sum += *g.utilizationMeanPct;
            ++n;
        }
    return n ? std::optional<double>(sum / n) : std::nullopt;
}

// A level with several steady states (issue 13): the starts that settled more than the tolerance away from
// the level's own figures (the slowest start's), which the charts mark beside the curve.
inline std::vector<const LevelStart*> otherSteadyStates(const SweepLevel& l, double tolerance)
{
    std::vector<const LevelStart*> out;
    if (l.states && l.states->several)
        for (const LevelStart& st : l.states->starts)
            if (std::abs(st.throughputRps - l.throughputRps) > tolerance * std::max(st.throughputRps, l.throughputRps))
                out.push_back(&st);
    return out;
}

} // namespace knee
