#include "occupancy_timeline.h"

namespace knee {

const char* stageKey(Stage s)
{
    switch (s) {
    case Stage::Queue: return "queue";
    case Stage::Preprocess: return "preprocess";
    case Stage::PredictWait: return "predict_wait";
    case Stage::Predict: return "predict";
    case Stage::Postprocess: return "postprocess";
    case Stage::Replicas: return "replicas";
    case Stage::Limit: return "concurrency_limit";
    }
    return "?";
}

OccupancyTimeline::OccupancyTimeline(Nanos initialWindow, std::size_t maxWindows)
    : m_maxWindows(maxWindows < 2 ? 2 : maxWindows & ~std::size_t(1)) // even, so pairs merge cleanly
    , m_width(initialWindow > 0 ? initialWindow : 1)
    , m_windowEnd(m_width)
{
    m_closed.reserve(m_maxWindows);
}

// A long idle gap closes windows one by one, but each merge doubles the width, so a gap costs
// O(maxWindows · log(gap / width)) steps, never O(gap / width).
void OccupancyTimeline::closeWindowsUpTo(Nanos now)
{
    while (now >= m_windowEnd) {
        Window w{m_windowStart, m_width, {}};
        for (std::size_t k = 0; k < kStageCount; ++k) {
            m_area[k] += double(m_level[k]) * double(m_windowEnd - m_last[k]);
            m_last[k] = m_windowEnd;
            w.mean[k] = m_area[k] / double(m_width);
            m_closedArea[k] += m_area[k];
            m_area[k] = 0;
        }
        m_closed.push_back(w);
        m_windowStart = m_windowEnd;
        if (m_closed.size() == m_maxWindows) {
            // Merge neighbours: half as many windows, each twice as wide.
            for (std::size_t i = 0; i < m_maxWindows / 2; ++i) {
                const Window& a = m_closed[2 * i];
                const Window& b = m_closed[2 * i + 1];
                Window merged{a.start, a.width + b.width, {}};
                for (std::size_t k = 0; k < kStageCount; ++k)
                    merged.mean[k] = (a.mean[k] * double(a.width) + b.mean[k] * double(b.width)) / double(merged.width);
                m_closed[i] = merged;
            }
            m_closed.resize(m_maxWindows / 2);
            m_width *= 2;
        }
        m_windowEnd = m_windowStart + m_width;
    }
}

std::vector<OccupancyTimeline::Window> OccupancyTimeline::windows(Nanos now) const
{
    std::vector<Window> out = m_closed;
    if (now > m_windowStart) {
        Window w{m_windowStart, now - m_windowStart, {}};
        for (std::size_t k = 0; k < kStageCount; ++k) {
            const double area = m_area[k] + double(m_level[k]) * double(now - m_last[k]);
            w.mean[k] = area / double(w.width);
        }
        out.push_back(w);
    }
    return out;
}

OccupancyTimeline::Levels OccupancyTimeline::overallMean(Nanos now) const
{
    Levels out{};
    if (now <= 0)
        return out;
    for (std::size_t k = 0; k < kStageCount; ++k) {
        const double area = m_closedArea[k] + m_area[k] + double(m_level[k]) * double(now - m_last[k]);
        out[k] = area / double(now);
    }
    return out;
}

} // namespace knee
