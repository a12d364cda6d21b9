// Finding the knee of a latency-vs-concurrency curve, the saturation of the throughput curve, and the
// alternatives shown beside them.
// Kneedle (Satopää et al., 2011) on (log2 concurrency, log2 p95 latency): both axes scaled to [0, 1]; for a
// convex increasing curve the knee is the local maximum of (x − y) after which the difference falls
// below that maximum minus S × the mean x step. Sensitivity S = 1 (the paper's default): larger S
// waits for a clearer drop. A curve whose largest difference is under kMinKneeDifference is treated
// as having no clear knee (nearly straight, or flat).
// Saturation: the smallest usable level whose throughput is within a tolerance (default 5 %) of the
// peak, confirmed by a larger usable level (a plateau, not a peak at the last level measured). A bend
// in p95 is not saturation: on the BEI preset p95 bends at 16 while throughput grows 4x by 128.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace knee {

struct CurvePoint {
    int concurrency = 0;
    double latencyMs = 0;   // the latency the knee is read on (p95)
    double ttftMs = 0;      // streaming: p95 time to first token (0 when not streaming)
    double itlMs = 0;       // streaming: p95 inter-token latency
    double throughputRps = 0;
    bool usable = true;     // false for a level with errors or that did not stabilise: never chosen
};

struct KneeAnalysis {
    std::optional<int> knee;            // concurrency at the knee (Kneedle), if the curve has a clear one
    std::string kneeNote;               // why there is none, or the knee's evidence
    double sensitivity = 1.0;
    std::optional<int> sloLevel;        // largest level whose latency meets the SLO
    std::optional<int> peakThroughput;  // level of the highest throughput
    bool throughputFallsAfterPeak = false;
    std::optional<int> bestPower;       // level of maximum throughput ÷ latency (Kleinrock's power, on p95)
    // The throughput curve.
    double saturationTolerance = 0.05;
    double peakThroughputRps = 0;
    std::optional<int> saturation;      // smallest usable level within the tolerance of the peak, confirmed above
    bool stillRising = false;           // the largest usable level is the only one near the peak: not saturated yet
    std::optional<int> throughputKnee;  // Kneedle on throughput vs log2(concurrency): where it bends (evidence only)
    std::string throughputKneeNote;
};

inline constexpr double kMinKneeDifference = 0.05;
inline constexpr double kDefaultSaturationTolerance = 0.05;

struct Slos {
    double latencyMs = 0, ttftMs = 0, itlMs = 0; // each <= 0: not set
    bool any() const { return latencyMs > 0 || ttftMs > 0 || itlMs > 0; }
    // One response (goodput): its latency, and for a stream its time to first token and mean
    // inter-token gap (0 when not a stream: those SLOs do not apply).
    bool metBy(double latency, double ttft, double itl) const
    {
        return (latencyMs <= 0 || latency <= latencyMs) && (ttftMs <= 0 || ttft <= ttftMs) && (itlMs <= 0 || itl <= itlMs);
    }
    bool met(const CurvePoint& p) const
    {
        return (latencyMs <= 0 || p.latencyMs <= latencyMs) && (ttftMs <= 0 || p.ttftMs <= ttftMs) && (itlMs <= 0 || p.itlMs <= itlMs);
    }
};

// `points` sorted by concurrency. sloMs <= 0: no SLO.
KneeAnalysis analyzeCurve(const std::vector<CurvePoint>& points, double sloMs, double sensitivity = 1.0);
KneeAnalysis analyzeCurve(const std::vector<CurvePoint>& points, const Slos& slos, double sensitivity = 1.0,
                          double saturationTolerance = kDefaultSaturationTolerance);
// Kneedle alone, on (x, y) with y increasing and convex; the index of the knee.
std::optional<std::size_t> kneedleConvexIncreasing(const std::vector<double>& x, const std::vector<double>& y, double sensitivity,
                                                   double* bestDifference = nullptr);

} // namespace knee
