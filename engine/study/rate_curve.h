// An open-loop rate sweep's curve (issue 17: `--rates`): latency and served throughput against the
// request rate offered to one replica. Unlike a closed loop, an open loop does not slow down when the
// server does: past the replica's capacity the queue grows for as long as the level runs, the served
// throughput stays below the rate sent, and latency has no steady value. So the rate axis has its own rules:
// - kept up: the level served what it was sent (throughput within the tolerance of the achieved rate,
//   no failures); usable: kept up, stable (which for an open loop includes not drifting: LevelRecorder),
//   and the load generator did not fall behind;
// - the knee: Kneedle (knee.h) on log2(p95 latency) against the rate (linear: queueing delay grows as
//   1 / (1 − utilisation), which bends on a linear rate axis), over the usable levels;
// - capacity: the largest rate served in a steady state (kept up and stable), bracketed by the smallest
//   rate above it that was not (levels whose generator fell behind say nothing);
// - the rate recommended for one replica: the knee (latency is still near its floor there), else the
//   capacity when a larger rate was not served, capped by the SLOs; its concurrency target is the
//   requests in flight at that rate by Little's law (throughput × mean latency), rounded up.
#pragma once
#include "knee.h"

#include <optional>
#include <string>
#include <vector>

namespace knee {

// The slowest rate a sweep offers (one request in about 17 minutes); slower ones would take a level
// longer than anyone waits, and their gaps overflow timers.
inline constexpr double kMinSweepRateRps = 0.001;

struct RatePoint {
    double rateRps = 0;       // asked
    double sentRps = 0;       // achieved: what the load generator sent
    double throughputRps = 0; // served
    double latencyMs = 0;     // p95
    double ttftMs = 0, itlMs = 0; // streaming: p95
    double meanMs = 0;
    double inFlight = 0;      // Little's law: throughput × mean latency
    bool keptUp = false;      // served what was sent (within the tolerance), none failed
    bool stable = false;
    bool behind = false;      // the load generator sent less than the rate asked
    bool usable = false;      // kept up, stable, the generator not behind
};

struct RateAnalysis {
    double tolerance = 0.05;
    std::optional<double> knee; // the rate at the knee of p95
    std::string kneeNote;
    std::optional<double> capacity;    // the largest rate served in full (kept up and settled)
    std::optional<double> firstBehind; // the smallest rate above it not served in full (the capacity lies below it)
    std::string capacityNote;
    std::optional<double> sloRate;     // the largest rate up to which every usable level met every SLO
    double peakThroughputRps = 0;
    std::vector<double> extendedRates; // rates a virtual sweep added (doubling) to find the capacity
};

// `points` sorted by rate.
RateAnalysis analyzeRateCurve(const std::vector<RatePoint>& points, const Slos& slos, double sensitivity, double tolerance);

// The rate recommended for one replica and what follows from it. basis: "knee", "capacity" or "slo";
// with no rate, why: "not_saturated", "no_level_meets_slo" or "no_usable_level".
struct RateChoice {
    std::optional<double> rateRps;
    int concurrencyTarget = 0;
    double throughputRps = 0;
    std::string basis;
    std::string rule;
};
RateChoice chooseRate(const std::vector<RatePoint>& points, const RateAnalysis& a, const Slos& slos, bool cancelled, bool extended);

// The next rate a virtual sweep measures while the replica still keeps up at its largest rate (and the
// SLOs, if any, are still met there), so that the capacity is bracketed: twice the last; none otherwise.
std::optional<double> nextRateToSaturate(const std::vector<RatePoint>& points, const RateAnalysis& a, const Slos& slos);

// "12.5 req/s": a rate as the rules and tables write it.
std::string formatRate(double rps);

} // namespace knee
