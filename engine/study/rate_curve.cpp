#include "rate_curve.h"

#include "printf_text.h"
#include "recommend.h"
#include "sim/scenario.h"

#include <algorithm>
#include <cmath>

namespace knee {

// Four significant figures, but never an exponent: "131.3 req/s", "16000 req/s".
std::string formatRate(double rps) { return rps >= 1000 ? printfText("%.0f req/s", rps) : printfText("%.4g req/s", rps); }

namespace {

CurvePoint curveOf(const RatePoint& p)
{
    CurvePoint c;
    c.latencyMs = p.latencyMs;
    c.ttftMs = p.ttftMs;
    c.itlMs = p.itlMs;
    return c;
}
std::string misses(const RatePoint& p, const Slos& s) { return missedSlos(curveOf(p), s); }
bool metSlos(const RatePoint& p, const Slos& s) { return s.met(curveOf(p)); }

const RatePoint* at(const std::vector<RatePoint>& points, const std::optional<double>& rate)
{
    for (const RatePoint& p : points)
        if (rate && p.rateRps == *rate)
            return &p;
    return nullptr;
}

} // namespace

RateAnalysis analyzeRateCurve(const std::vector<RatePoint>& points, const Slos& slos, double sensitivity, double tolerance)
{
    RateAnalysis a;
    a.tolerance = tolerance;
    std::vector<double> x, y;
    std::vector<const RatePoint*> used;
    for (const RatePoint& p : points) {
        a.peakThroughputRps = std::max(a.peakThroughputRps, p.throughputRps);
        if (p.usable) {
            x.push_back(p.rateRps);
            y.push_back(std::log2(std::max(p.latencyMs, 1e-6)));
            used.push_back(&p);
        }
    }
    double best = 0;
    const auto k = kneedleConvexIncreasing(x, y, sensitivity, &best);
    if (used.size() < 3)
        a.kneeNote = printfText("too few usable rates (%zu) to find a knee; at least 3 are needed", used.size());
    else if (!k || best < kMinKneeDifference)
        a.kneeNote = printfText("no clear knee: p95 grows %s across the rates (largest Kneedle difference %.3f)",
                                best < kMinKneeDifference ? "about evenly" : "without a sharp bend", best);
    else {
        a.knee = used[*k]->rateRps;
        a.kneeNote = printfText("Kneedle (sensitivity %.1f) on log2(p95 latency) vs the rate: the bend is at %s, where p95 is %s; "
                                "beyond it latency climbs sharply",
                                sensitivity, formatRate(*a.knee).c_str(), formatLatency(used[*k]->latencyMs).c_str());
    }
    // Capacity: the largest rate served in full (kept up and settled), bracketed by the first rate above it
    // that was not. A smaller level that did not settle (on the H200, a first level disturbed on
    // the host's side) does not end it; levels whose generator fell behind say nothing either way.
    for (const RatePoint& p : points)
        if (!p.behind && p.keptUp && p.stable)
            a.capacity = p.rateRps;
    for (const RatePoint& p : points) {
        if (p.behind || (p.keptUp && p.stable) || (a.capacity && p.rateRps < *a.capacity))
            continue;
        if (!a.firstBehind) {
            a.firstBehind = p.rateRps;
            a.capacityNote = p.keptUp ? printfText("%s did not reach a steady state (its latency kept changing)", formatRate(p.rateRps).c_str())
                                      : printfText("%s was not served in full: %s served of %s sent", formatRate(p.rateRps).c_str(),
                                                   formatRate(p.throughputRps).c_str(), formatRate(p.sentRps).c_str());
        }
    }
    if (a.capacity && a.firstBehind)
        a.capacityNote = printfText("one replica serves %s in full; ", formatRate(*a.capacity).c_str()) + a.capacityNote;
    else if (a.capacity)
        a.capacityNote = printfText("the largest rate, %s, was served in full: the capacity is above it", formatRate(*a.capacity).c_str());
    else if (!a.firstBehind)
        a.capacityNote = "no level to judge: the load generator fell behind at every rate";
    else if (a.firstBehind)
        a.capacityNote = "not even the smallest rate was served in full: " + a.capacityNote;
    bool holds = slos.any();
    for (const RatePoint* p : used) {
        holds = holds && metSlos(*p, slos);
        if (holds)
            a.sloRate = p->rateRps;
    }
    return a;
}

RateChoice chooseRate(const std::vector<RatePoint>& points, const RateAnalysis& a, const Slos& slos, bool cancelled, bool extended)
{
    RateChoice c;
    std::vector<const RatePoint*> used;
    for (const RatePoint& p : points)
        if (p.usable)
            used.push_back(&p);
    if (used.empty()) {
        c.basis = "no_usable_level";
        c.rule = "no usable rate (every level failed requests, fell behind the rate sent, did not stabilise, or its load generator "
                 "fell behind); nothing is recommended";
        return c;
    }
    if (slos.any() && !a.sloRate) {
        c.basis = "no_level_meets_slo";
        c.rule = printfText("no rate meets the SLO (%s): the smallest usable rate, %s, already has %s; nothing is recommended: loosen "
                            "the SLO or give the model more capacity",
                            describeSlos(slos).c_str(), formatRate(used.front()->rateRps).c_str(), misses(*used.front(), slos).c_str());
        return c;
    }
    const RatePoint* chosen = nullptr;
    std::string why;
    if (a.knee && (!a.capacity || *a.knee <= *a.capacity)) {
        chosen = at(points, a.knee);
        c.basis = "knee";
        why = "the knee of p95: latency climbs sharply beyond it";
    } else if (a.capacity && a.firstBehind && at(points, a.capacity) && at(points, a.capacity)->usable) {
        chosen = at(points, a.capacity);
        c.basis = "capacity";
        why = "the capacity: " + a.capacityNote;
    }
    const RatePoint* sloCap = slos.any() ? at(points, a.sloRate) : nullptr;
    const RatePoint* largest = used.back();
    if (sloCap && sloCap->rateRps < (chosen ? chosen->rateRps : largest->rateRps)) {
        const RatePoint* next = nullptr;
        for (const RatePoint* p : used)
            if (!next && p->rateRps > sloCap->rateRps)
                next = p;
        c.basis = "slo";
        why = printfText("SLO binds: the largest rate meeting every SLO set (%s)", describeSlos(slos).c_str())
            + (next ? printfText("; %s misses it: %s", formatRate(next->rateRps).c_str(), misses(*next, slos).c_str()) : std::string())
            + (chosen ? "; without it, " + formatRate(chosen->rateRps) : std::string());
        chosen = sloCap;
    }
    if (!chosen) {
        c.basis = "not_saturated";
        c.rule = printfText("not saturated: every rate up to %s was served and p95 has no knee (%s); nothing is recommended",
                            formatRate(largest->rateRps).c_str(), a.kneeNote.c_str());
        if (cancelled)
            c.rule += ": the sweep was cancelled first";
        else if (extended)
            c.rule += ": the sweep doubled its rates as far as it may without finding the capacity";
        else
            c.rule += printfText(": raise the rates (add %s, %s, ...)", formatRate(2 * largest->rateRps).c_str(),
                                 formatRate(4 * largest->rateRps).c_str());
        return c;
    }
    c.rateRps = chosen->rateRps;
    c.throughputRps = chosen->throughputRps;
    // Little's law on the replica at that rate: the requests it holds on average is what its
    // autoscaler should count towards the target.
    c.concurrencyTarget = int(std::clamp(std::ceil(chosen->inFlight - 1e-9), 1.0, double(limits::kMaxConcurrency))); // clamped before int: no overflow
    c.rule = printfText("%s per replica (%s); p95 %s; concurrency_target %d: Little's law, %s served x mean %s = %.2f requests in flight",
                        formatRate(chosen->rateRps).c_str(), why.c_str(), formatLatency(chosen->latencyMs).c_str(), c.concurrencyTarget,
                        formatRate(chosen->throughputRps).c_str(), formatLatency(chosen->meanMs).c_str(), chosen->inFlight);
    return c;
}

std::optional<double> nextRateToSaturate(const std::vector<RatePoint>& points, const RateAnalysis& a, const Slos& slos)
{
    if (points.empty() || !points.back().usable || a.firstBehind)
        return std::nullopt;
    if (slos.any() && a.sloRate != points.back().rateRps)
        return std::nullopt; // an SLO binds already
    const double next = 2 * points.back().rateRps;
    if (next > limits::kMaxRateRps)
        return std::nullopt;
    return next;
}

} // namespace knee
