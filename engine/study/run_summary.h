// What a finished (or paused) run amounts to, computed once here for every front end: the
// command line prints it, the GUI shows it, sessions will store it (heaptrack's "one analysis core").
#pragma once
#include "sim/engine.h"

#include <array>
#include <string>
#include <vector>

namespace knee {

struct LatencySummaryMs {
    double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
    std::int64_t count = 0;
};
LatencySummaryMs summarize(const LatencyHistogram& h);

struct RunSummary {
    std::string scenarioName;
    std::int64_t arrived = 0, completed = 0, failed = 0, rejected = 0, inFlight = 0;
    std::int64_t measuredCompleted = 0;
    double throughputRps = 0;
    double simulatedS = 0;
    LatencySummaryMs latency;
    LatencySummaryMs timeToFirstToken, interToken; // streaming (continuous batching); count 0 otherwise
    std::array<LatencySummaryMs, kPartCount> parts; // queue wait, preprocess, predict wait, predict, postprocess
    OccupancyTimeline::Levels occupancyMean{};      // time-weighted mean in each stage, and replicas
    std::vector<OccupancyTimeline::Window> timeline;
    std::vector<std::string> warnings;
    // Replicas and autoscaling.
    std::string autoscalerPolicy = "none";
    double replicaHours = 0, costUsd = 0, costPerReplicaHour = 0;
    double meanReplicas = 0;
    int peakReplicas = 0;
    std::int64_t coldStarts = 0;
    std::vector<ScalingEvent> scalingEvents;
    std::int64_t scalingEventsDropped = 0;
    double meanConcurrencyLimit = 0; // per ready replica, over the run
    double wallS = 0;
    double simRequestsPerWallS = 0;
};

RunSummary summarize(const Engine& engine, double wallS);
// Share of the measured, completed requests slower than `sloMs` (0 when none completed).
double shareOver(const RunMetrics& metrics, double sloMs);

// The plain-text report people read (the CLI prints it, the GUI shows it).
std::string formatSummary(const RunSummary& summary);

// Runs a scenario to completion in virtual time and summarises it (the `simulate` command); `observer`, when
// set, sees every request as it ends (`simulate --requests`).
RunSummary simulateScenario(const Scenario& scenario, const std::function<void(const Request&)>& observer = {});

} // namespace knee
