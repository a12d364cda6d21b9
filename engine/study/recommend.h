// The recommended concurrency_target, from the whole latency–throughput curve of a sweep:
// 1. saturation: the smallest usable level within the tolerance of peak throughput, confirmed by a
//    larger level (KneeAnalysis::saturation); among the levels within the tolerance, Kleinrock's power
//    (throughput ÷ p95) breaks the tie — in a closed loop it falls along a plateau (Little's law: twice
//    the users at the same throughput wait twice as long), so that is the smallest one unless the
//    measurements show a larger level with both the throughput and relatively less latency;
// 2. SLOs cap it: the largest level up to which every level meets every SLO set; when none does,
//    nothing is recommended, and the rule says so;
// 3. not saturated (throughput still rises at the largest usable level): nothing is recommended; a
//    virtual sweep measures more levels first (nextLevelToSaturate), a live or endpoint sweep asks for
//    higher levels.
// The rule text names the rule and its numbers, e.g. "saturation: 99 % of peak throughput 7.7 req/s
// (the smallest level within 5 %); p95 16.2 s; power maximum; no SLO set".
#pragma once
#include "knee.h"

#include <optional>
#include <string>
#include <vector>

namespace knee {

// What set the target, for scripts: "saturation" or "slo"; with no target, why: "not_saturated",
// "no_level_meets_slo" or "no_usable_level".
struct TargetChoice {
    std::optional<int> level;
    std::string basis;
    std::string rule;
};

// How the sweep could have grown its levels, for the "not saturated" rule's advice.
struct SweepReach {
    bool extends = false; // virtual time: levels double until saturation or extendLimit
    int extendLimit = 0;
    bool cancelled = false;
};

// `points` sorted by concurrency; `a` is analyzeCurve of the same points and SLOs.
TargetChoice chooseConcurrencyTarget(const std::vector<CurvePoint>& points, const KneeAnalysis& a, const Slos& slos,
                                     const SweepReach& reach);

// The next level a sweep that extends its levels should measure: twice the last, while throughput
// still rises there, the last level is usable and meets every SLO set, and the limit allows it.
std::optional<int> nextLevelToSaturate(const std::vector<CurvePoint>& points, const KneeAnalysis& a, const Slos& slos,
                                       int extendLimit);

// The SLOs a point misses, with its figures: "p95 210.5 ms > 150 ms"; empty when it meets them.
std::string missedSlos(const CurvePoint& point, const Slos& slos);
// "p95 <= 150 ms and time to first token p95 <= 50 ms"; empty when no SLO is set.
std::string describeSlos(const Slos& slos);
// 5.8 ms, 16.2 s; 7.7 req/s, 16003 req/s: the figures of a rule.
std::string formatLatency(double ms);
std::string formatThroughput(double rps);

} // namespace knee
