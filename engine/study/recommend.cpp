#include "recommend.h"
#include "printf_text.h"

#include <algorithm>

namespace knee {

namespace {

double power(const CurvePoint& p) { return p.latencyMs > 0 ? p.throughputRps / p.latencyMs : 0; }

std::vector<const CurvePoint*> usable(const std::vector<CurvePoint>& points)
{
    std::vector<const CurvePoint*> out;
    for (const CurvePoint& p : points)
        if (p.usable && p.concurrency > 0)
            out.push_back(&p);
    return out;
}

const CurvePoint* at(const std::vector<const CurvePoint*>& used, std::optional<int> level)
{
    for (const CurvePoint* p : used)
        if (level && p->concurrency == *level)
            return p;
    return nullptr;
}

} // namespace

std::string missedSlos(const CurvePoint& p, const Slos& s)
{
    std::string out;
    auto add = [&](const char* name, double value, double slo) {
        if (slo > 0 && value > slo)
            out += (out.empty() ? "" : ", ") + std::string(name) + " " + formatLatency(value) + " > " + formatLatency(slo);
    };
    add("p95", p.latencyMs, s.latencyMs);
    add("time to first token p95", p.ttftMs, s.ttftMs);
    add("inter-token p95", p.itlMs, s.itlMs);
    return out;
}

namespace {

std::string shareOfPeak(const CurvePoint& p, const KneeAnalysis& a)
{
    const double share = a.peakThroughputRps > 0 ? 100 * p.throughputRps / a.peakThroughputRps : 0;
    return printfText("%.0f %% of peak throughput %s", share, formatThroughput(a.peakThroughputRps).c_str());
}

std::string peakAt(const CurvePoint& p, const CurvePoint* peak)
{
    return peak && peak->concurrency != p.concurrency ? printfText("peak at %d; ", peak->concurrency) : std::string();
}

std::string powerNote(const CurvePoint& p, const KneeAnalysis& a)
{
    if (a.bestPower == p.concurrency)
        return "power (throughput ÷ p95) maximum";
    return printfText("power (throughput ÷ p95) peaks at %d", a.bestPower.value_or(0));
}

} // namespace

std::string formatLatency(double ms)
{
    // Below 1 ms three significant digits: a GPU call's p95 (0.174 ms on the H200) printed as 0.2 ms hid
    // the 6 % that separated two grid cells.
    return ms >= 1000 ? printfText("%.1f s", ms / 1000) : ms < 1 ? printfText("%.3g ms", ms) : printfText("%.1f ms", ms);
}

std::string formatThroughput(double rps)
{
    return rps >= 100 ? printfText("%.0f req/s", rps) : rps >= 10 ? printfText("%.1f req/s", rps) : printfText("%.2g req/s", rps);
}

std::string describeSlos(const Slos& s)
{
    std::string out;
    auto add = [&](const char* name, double slo) {
        if (slo > 0)
            out += (out.empty() ? "" : " and ") + std::string(name) + " <= " + formatLatency(slo);
    };
    add("p95", s.latencyMs);
    add("time to first token p95", s.ttftMs);
    add("inter-token p95", s.itlMs);
    return out;
}

TargetChoice chooseConcurrencyTarget(const std::vector<CurvePoint>& points, const KneeAnalysis& a, const Slos& slos,
                                     const SweepReach& reach)
{
    TargetChoice c;
    const std::vector<const CurvePoint*> used = usable(points);
    if (used.empty()) {
        c.basis = "no_usable_level";
        c.rule = "no usable level (every level had errors or did not stabilise); nothing is recommended";
        return c;
    }
    const CurvePoint* peak = at(used, a.peakThroughput);
    const std::string sloText = slos.any() ? "meets every SLO set (" + describeSlos(slos) + ")" : "no SLO set";

    if (slos.any() && !a.sloLevel) {
        c.basis = "no_level_meets_slo";
        c.rule = printfText("no level meets the SLO (%s): the smallest usable level, %d, already has %s; nothing is recommended "
                        "for concurrency_target: loosen the SLO or give the model more capacity",
                        describeSlos(slos).c_str(), used.front()->concurrency, missedSlos(*used.front(), slos).c_str());
        if (a.saturation)
            c.rule += printfText(" (without it, saturation is at %d)", *a.saturation);
        return c;
    }

    // The level saturation picks: within the tolerance of the peak, from the smallest such level on,
    // the highest power (ties: the smaller level).
    const CurvePoint* chosen = nullptr;
    if (a.saturation) {
        for (const CurvePoint* p : used)
            if (p->concurrency >= *a.saturation && p->throughputRps >= (1 - a.saturationTolerance) * a.peakThroughputRps
                && (!chosen || power(*p) > power(*chosen)))
                chosen = p;
    }
    const CurvePoint* sloCap = slos.any() ? at(used, a.sloLevel) : nullptr;
    const CurvePoint* largest = used.back();
    if (sloCap && sloCap->concurrency < (chosen ? chosen->concurrency : largest->concurrency)) {
        const CurvePoint* next = nullptr;
        for (const CurvePoint* p : used)
            if (!next && p->concurrency > sloCap->concurrency)
                next = p;
        c.level = sloCap->concurrency;
        c.basis = "slo";
        c.rule = printfText("SLO binds: the largest level meeting every SLO set (%s)%s; %s; p95 %s; %s; %s",
                        describeSlos(slos).c_str(), next ? printfText("; %d misses it: %s", next->concurrency, missedSlos(*next, slos).c_str()).c_str() : "",
                        shareOfPeak(*sloCap, a).c_str(), formatLatency(sloCap->latencyMs).c_str(), powerNote(*sloCap, a).c_str(),
                        chosen ? printfText("saturation would be at %d", chosen->concurrency).c_str() : "throughput still rises beyond it");
        return c;
    }
    if (chosen) {
        c.level = chosen->concurrency;
        c.basis = "saturation";
        const std::string where = chosen->concurrency == *a.saturation
            ? printfText("the smallest level within %g %%", 100 * a.saturationTolerance)
            : printfText("%d is the smallest within %g %%; power breaks the tie", *a.saturation, 100 * a.saturationTolerance);
        c.rule = printfText("saturation: %s (%s%s); p95 %s; %s; %s", shareOfPeak(*chosen, a).c_str(), peakAt(*chosen, peak).c_str(), where.c_str(),
                        formatLatency(chosen->latencyMs).c_str(), powerNote(*chosen, a).c_str(), sloText.c_str());
        return c;
    }

    // Not saturated: throughput still rises at the largest usable level.
    c.basis = "not_saturated";
    const CurvePoint* before = used.size() > 1 ? used[used.size() - 2] : nullptr;
    c.rule = printfText("not saturated: throughput still rises at %d, the largest usable level (%s%s); nothing is recommended",
                    largest->concurrency, formatThroughput(largest->throughputRps).c_str(),
                    before && before->throughputRps > 0
                        ? printfText(", +%.0f %% over %d", 100 * (largest->throughputRps / before->throughputRps - 1), before->concurrency).c_str()
                        : "");
    const bool lastUsable = points.back().concurrency == largest->concurrency;
    if (!lastUsable)
        c.rule += ": the levels above it had errors, did not stabilise or their load generator fell behind";
    else if (reach.cancelled)
        c.rule += ": the sweep was cancelled before throughput levelled off";
    else if (reach.extends && 2 * largest->concurrency > reach.extendLimit)
        c.rule += printfText(": the sweep doubled its levels up to its limit (%d users) without reaching saturation", reach.extendLimit);
    else
        c.rule += printfText(": raise the levels (add %d, %d, ...)", 2 * largest->concurrency, 4 * largest->concurrency);
    return c;
}

std::optional<int> nextLevelToSaturate(const std::vector<CurvePoint>& points, const KneeAnalysis& a, const Slos& slos, int extendLimit)
{
    if (points.empty() || !a.stillRising || !points.back().usable)
        return std::nullopt;
    if (slos.any() && a.sloLevel != points.back().concurrency)
        return std::nullopt; // an SLO binds already: larger levels cannot be recommended
    const long long next = 2LL * points.back().concurrency;
    if (next > extendLimit)
        return std::nullopt;
    return int(next);
}

} // namespace knee
