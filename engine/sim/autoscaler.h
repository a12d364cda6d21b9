// The autoscaler: from the deployment's concurrency (requests queued or held) averaged over a
// window, how many replicas should be active. Two policies, so users of either platform see their
// own behaviour:
//  - Baseten: when the average requests per active replica over the window exceed
//    concurrency_target × target_utilization, scale up to ceil(average / (target × utilization)),
//    up to max. When fewer would do, the excess is flagged and removed only after the scale-down
//    delay (at most max_scale_down_rate of the active replicas per step), and kept if traffic
//    returns first.
//  - Knative KPA: the same desired count from a stable window, plus a panic window (a share of the
//    stable one): when panic-window demand reaches panic_threshold × ready capacity, panic mode
//    scales on the panic window and never scales down until a stable window passes calmly. Scale
//    rates are bounded; with min 0 the last replica goes after the scale-to-zero grace period.
// Every decision comes with its reason in words.
#pragma once
#include "scenario.h"

#include "base/time.h"

#include <cstdint>
#include <string>
#include <vector>

namespace knee {

struct ScalingEvent {
    enum class Action { ScaleUp, ScaleDown, FlagExcess, KeepExcess, PanicStart, PanicEnd, ScaleFromZero };
    Nanos at = 0;
    Action action = Action::ScaleUp;
    int from = 0, to = 0; // active replicas before and after (equal for flags and panic changes)
    std::string reason;
};
const char* toString(ScalingEvent::Action action);

class Autoscaler {
public:
    // `now`: when it starts deciding. Its window holds only what it has seen since.
    Autoscaler(const AutoscalerConfig& config, Nanos now);

    const AutoscalerConfig& config() const { return m_config; }
    Nanos interval() const { return m_interval; }

    // The deployment's concurrency (queued + held) changed to `level` at `now`.
    void observe(Nanos now, std::int64_t level)
    {
        m_area += double(m_level) * double(now - m_last);
        m_last = now;
        m_level = level;
        if (level > 0)
            m_lastBusy = now;
    }

    struct Inputs {
        int active = 0; // ready + cold starting
        int ready = 0;
        int concurrencyTarget = 1;
        int minReplicas = 0, maxReplicas = 1;
    };
    // One evaluation at `now`: the active count to aim for, with the events that explain it.
    int evaluate(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log);

    double lastWindowAverage() const { return m_lastStableAverage; }
    bool panicking() const { return m_panicking; }

private:
    void closeTick(Nanos now);
    double average(Nanos now, Nanos window) const;
    int evaluateBaseten(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log);
    int evaluateKnative(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log);

    AutoscalerConfig m_config;
    Nanos m_interval;
    // Concurrency integral: the open tick, and closed ticks (newest last) covering the window.
    double m_area = 0;
    Nanos m_last = 0;
    std::int64_t m_level = 0;
    Nanos m_tickStart = 0;
    std::vector<double> m_tickAreas; // ring
    std::vector<Nanos> m_tickWidths;
    std::size_t m_tickHead = 0, m_tickCount = 0;
    Nanos m_lastBusy = 0; // last time there was traffic; idle since the start counts as idle

    double m_lastStableAverage = 0;
    bool m_flagged = false;
    bool m_removedInEpisode = false;
    Nanos m_flaggedAt = 0;
    bool m_panicking = false;
    Nanos m_panicSince = 0;
    int m_panicFloor = 0;
};

} // namespace knee
