#include "knee.h"

#include "recommend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace knee {

std::optional<std::size_t> kneedleConvexIncreasing(const std::vector<double>& x, const std::vector<double>& y, double s,
                                                   double* bestDifference)
{
    const std::size_t n = x.size();
    if (bestDifference)
        *bestDifference = 0;
    if (n < 3 || y.size() != n)
        return std::nullopt;
    const auto [xmin, xmax] = std::minmax_element(x.begin(), x.end());
    const auto [ymin, ymax] = std::minmax_element(y.begin(), y.end());
    if (!(*xmax > *xmin) || !(*ymax > *ymin))
        return std::nullopt; // flat: no knee
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i)
        d[i] = (x[i] - *xmin) / (*xmax - *xmin) - (y[i] - *ymin) / (*ymax - *ymin);
    const double meanStep = 1.0 / double(n - 1); // x is normalised: its mean step
    std::optional<std::size_t> knee;
    // Walk the local maxima of the difference curve; the first one the curve then drops away from
    // by more than the threshold is the knee.
    for (std::size_t i = 1; i + 1 < n && !knee; ++i) {
        if (!(d[i] >= d[i - 1] && d[i] > d[i + 1]))
            continue;
        const double threshold = d[i] - s * meanStep;
        for (std::size_t j = i + 1; j < n; ++j) {
            if (d[j] > d[i])
                break; // a higher maximum comes first: keep looking from there
            if (d[j] <= threshold) { // reaching it counts: a clean hinge falls exactly to it at the last level
                knee = i;
                break;
            }
        }
    }
    if (bestDifference)
        *bestDifference = *std::max_element(d.begin(), d.end());
    return knee;
}

KneeAnalysis analyzeCurve(const std::vector<CurvePoint>& points, double sloMs, double sensitivity)
{
    return analyzeCurve(points, Slos{sloMs, 0, 0}, sensitivity);
}

namespace {

// Saturation and the throughput curve's own bend, on the usable levels (sorted by concurrency).
void analyzeThroughput(KneeAnalysis& a, const std::vector<const CurvePoint*>& used, double tolerance)
{
    a.saturationTolerance = tolerance;
    if (used.empty())
        return;
    for (const CurvePoint* p : used)
        a.peakThroughputRps = std::max(a.peakThroughputRps, p->throughputRps);
    std::size_t first = 0;
    while (first + 1 < used.size() && used[first]->throughputRps < (1 - tolerance) * a.peakThroughputRps)
        ++first;
    // Only a larger level within the tolerance shows a plateau; a peak at the last level may still rise.
    if (first + 1 < used.size())
        a.saturation = used[first]->concurrency;
    else
        a.stillRising = true;

    // Throughput against log2(concurrency) is concave: with the axes swapped it is convex increasing,
    // and Kneedle's difference (throughput − log2 concurrency, both normalised) is the concave form.
    std::vector<double> x, y;
    for (const CurvePoint* p : used) {
        x.push_back(p->throughputRps);
        y.push_back(std::log2(double(p->concurrency)));
    }
    double best = 0;
    const auto k = kneedleConvexIncreasing(x, y, a.sensitivity, &best);
    char buf[240];
    if (used.size() < 3) {
        a.throughputKneeNote = "too few usable levels for a bend in throughput";
    } else if (!k || best < kMinKneeDifference) {
        std::snprintf(buf, sizeof buf, "no clear bend in throughput (largest Kneedle difference %.3f)", best);
        a.throughputKneeNote = buf;
    } else {
        a.throughputKnee = used[*k]->concurrency;
        std::snprintf(buf, sizeof buf, "Kneedle (sensitivity %.1f) on throughput vs log2(concurrency): the bend is at %d (%s)", a.sensitivity,
                      *a.throughputKnee, formatThroughput(used[*k]->throughputRps).c_str());
        a.throughputKneeNote = buf;
    }
}

} // namespace

KneeAnalysis analyzeCurve(const std::vector<CurvePoint>& points, const Slos& slos, double sensitivity, double saturationTolerance)
{
    KneeAnalysis a;
    a.sensitivity = sensitivity;
    std::vector<double> x, y;
    std::vector<const CurvePoint*> used;
    for (const CurvePoint& p : points)
        if (p.usable && p.concurrency > 0) {
            x.push_back(std::log2(double(p.concurrency)));
            // Log latency as well: a saturated server's latency grows in proportion to the users,
            // which is a straight line on log-log axes, so the bend sits where queueing starts. On
            // linear latency Kneedle would place it several doublings later.
            y.push_back(std::log2(std::max(p.latencyMs, 1e-6)));
            used.push_back(&p);
        }
    double best = 0;
    const auto k = kneedleConvexIncreasing(x, y, sensitivity, &best);
    char buf[240];
    if (used.size() < 3) {
        a.kneeNote = "too few usable levels (" + std::to_string(used.size()) + ") to find a knee; at least 3 are needed";
    } else if (!k || best < kMinKneeDifference) {
        std::snprintf(buf, sizeof buf,
                      "no clear knee: latency grows %s across the levels (largest Kneedle difference %.3f, needs a drop of "
                      "S=%.1f x the mean step after a maximum of at least %.2f)",
                      best < kMinKneeDifference ? "about evenly" : "without a sharp bend", best, sensitivity, kMinKneeDifference);
        a.kneeNote = buf;
    } else {
        a.knee = used[*k]->concurrency;
        std::snprintf(buf, sizeof buf,
                      "Kneedle (sensitivity %.1f) on log2(p95 latency) vs log2(concurrency): the bend is at %d, where p95 is %.1f ms; "
                      "beyond it latency climbs sharply",
                      sensitivity, *a.knee, used[*k]->latencyMs);
        a.kneeNote = buf;
    }
    double bestThroughput = -1, bestPower = -1;
    bool sloHolds = slos.any();
    for (const CurvePoint* p : used) {
        // The SLO level: the largest level up to which every level meets every SLO set (a noisy level
        // above a miss does not count).
        sloHolds = sloHolds && slos.met(*p);
        if (sloHolds)
            a.sloLevel = p->concurrency;
        if (p->throughputRps > bestThroughput) {
            bestThroughput = p->throughputRps;
            a.peakThroughput = p->concurrency;
        }
        const double power = p->latencyMs > 0 ? p->throughputRps / p->latencyMs : 0;
        if (power > bestPower) {
            bestPower = power;
            a.bestPower = p->concurrency;
        }
    }
    if (a.peakThroughput)
        for (const CurvePoint* p : used)
            if (p->concurrency > *a.peakThroughput && p->throughputRps < 0.95 * bestThroughput)
                a.throughputFallsAfterPeak = true;
    analyzeThroughput(a, used, saturationTolerance);
    return a;
}

} // namespace knee
