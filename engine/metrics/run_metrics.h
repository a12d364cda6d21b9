// What one run measured: request counters, end-to-end latency, the per-stage breakdown,
// throughput over the measured window, and stage occupancy over time. Constant memory.
#pragma once
#include "latency_histogram.h"
#include "occupancy_timeline.h"

#include <array>
#include <cstdint>

namespace knee {

// The parts of a request's time, in pipeline order.
enum class Part : int { QueueWait, Preprocess, PredictWait, Predict, Postprocess };
inline constexpr int kPartCount = 5;
const char* partKey(Part p); // "queue_wait", "preprocess", ...

struct Transitions {
    Nanos intended, arrived, routed, preprocessDone, predictStart, predictDone, done;
};

class RunMetrics {
public:
    // Every request, warm-up included: these always satisfy the conservation identity.
    std::int64_t arrived = 0, completed = 0, failed = 0, rejected = 0;
    // Only requests sent after warm-up.
    std::int64_t measuredCompleted = 0, measuredFailed = 0, measuredRejected = 0;

    LatencyHistogram latency; // completed, measured requests: done − intended
    LatencyHistogram timeToFirstToken; // streaming (continuous batching): first token − intended
    LatencyHistogram interToken;       // streaming: time between a sequence's consecutive tokens
    std::array<LatencyHistogram, kPartCount> parts;
    OccupancyTimeline occupancy;

    Nanos measureStart = 0;    // end of warm-up
    Nanos lastMeasuredDone = 0;

    void recordCompleted(const Transitions& t, bool measured)
    {
        ++completed;
        if (!measured)
            return;
        ++measuredCompleted;
        latency.record(t.done - t.intended);
        parts[0].record(t.routed - t.arrived);
        parts[1].record(t.preprocessDone - t.routed);
        parts[2].record(t.predictStart - t.preprocessDone);
        parts[3].record(t.predictDone - t.predictStart);
        parts[4].record(t.done - t.predictDone);
        if (t.done > lastMeasuredDone)
            lastMeasuredDone = t.done;
    }
    void recordFailed(Nanos done, bool measured)
    {
        ++failed;
        if (measured) {
            ++measuredFailed;
            if (done > lastMeasuredDone)
                lastMeasuredDone = done;
        }
    }
    void recordRejected(bool measured)
    {
        ++rejected;
        measuredRejected += measured;
    }

    // Completed requests per second over [measureStart, last measured response].
    double throughputRps() const
    {
        const Nanos span = lastMeasuredDone - measureStart;
        return span > 0 ? double(measuredCompleted) / nanosToSeconds(span) : 0.0;
    }
};

} // namespace knee
