// Time-weighted occupancy of the pipeline's stages over time (how many requests sit in the
// deployment queue, in preprocess, waiting for a predict slot, in predict, in postprocess, and how
// many replicas serve), in windows. When the window list is full, neighbours merge and the window
// doubles, so memory is bounded however long a run lasts.
#pragma once
#include "base/time.h"

#include <array>
#include <cstddef>
#include <vector>

namespace knee {

// Replicas counts provisioned replicas (cold starting, ready, draining); Limit is the sum of the
// ready replicas' concurrency limits (target, or what the concurrency modifier allows).
enum class Stage : int { Queue, Preprocess, PredictWait, Predict, Postprocess, Replicas, Limit };
inline constexpr int kStageCount = 7;
const char* stageKey(Stage s); // snake_case name used in JSON and sessions

class OccupancyTimeline {
public:
    using Levels = std::array<double, kStageCount>;
    struct Window {
        Nanos start = 0;
        Nanos width = 0;
        Levels mean{}; // time-weighted mean level over the window
    };

    explicit OccupancyTimeline(Nanos initialWindow = 100 * kNanosPerMs, std::size_t maxWindows = 512);

    // Level of `stage` changes by `delta` at time `now` (now never goes backwards).
    void change(Nanos now, Stage stage, int delta)
    {
        if (now >= m_windowEnd)
            closeWindowsUpTo(now);
        const auto k = std::size_t(stage);
        m_area[k] += double(m_level[k]) * double(now - m_last[k]);
        m_last[k] = now;
        m_level[k] += delta;
    }
    int level(Stage stage) const { return m_level[std::size_t(stage)]; }

    // Closed windows, plus the partial current one up to `now`.
    std::vector<Window> windows(Nanos now) const;
    // Time-weighted mean of each level over [0, now].
    Levels overallMean(Nanos now) const;

private:
    void closeWindowsUpTo(Nanos now);

    std::size_t m_maxWindows;
    Nanos m_width;
    Nanos m_windowStart = 0;
    Nanos m_windowEnd;
    std::array<long long, kStageCount> m_level{};
    std::array<Nanos, kStageCount> m_last{};
    Levels m_area{};                  // level·ns in the current window
    std::vector<Window> m_closed;
    Levels m_closedArea{};            // level·ns over all closed windows
};

} // namespace knee
