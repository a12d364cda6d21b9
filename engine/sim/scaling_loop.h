// The autoscaler's ticks: when the next decision is due, whether a tick in the heap is still the
// current autoscaler's, when deciding can stop (no traffic and nothing left to change), and the log of
// every decision with its reason (bounded). The decision rules are the Autoscaler's (autoscaler.h).
#pragma once
#include "autoscaler.h"

#include <memory>
#include <optional>
#include <vector>

namespace knee {

class ScalingLoop {
public:
    static constexpr std::size_t kMaxEvents = 100'000;

    ScalingLoop(const AutoscalerConfig& config, Nanos now);
    const Autoscaler* autoscaler() const { return m_autoscaler.get(); }
    // A new policy or setting: a fresh autoscaler with an empty averaging window; a tick of the old one
    // still in the heap becomes stale. Policy none: no autoscaler, no ticks.
    void set(const AutoscalerConfig& config, Nanos now, std::int64_t concurrency);
    void observe(Nanos now, std::int64_t concurrency)
    {
        if (m_autoscaler)
            m_autoscaler->observe(now, concurrency);
    }

    // When to push the next tick (and its generation), if one is wanted and none is pending.
    std::optional<Nanos> nextTick(Nanos now);
    std::uint32_t generation() const { return m_generation; }
    bool current(std::uint32_t generation) const { return m_autoscaler && generation == m_generation; }

    // A tick: the replicas the autoscaler wants now (its reasons go to the log).
    int decide(Nanos now, const Autoscaler::Inputs& in);
    // After the engine scaled to the decision: whether to tick again. Yes while `traffic` (load still
    // being sent or served), or while replicas above min may still go and something changed lately.
    bool keepTicking(bool traffic, int activeAfter, int minReplicas);

    void log(ScalingEvent e);
    const std::vector<ScalingEvent>& events() const { return m_log; }
    std::int64_t dropped() const { return m_dropped; }

private:
    std::unique_ptr<Autoscaler> m_autoscaler;
    AutoscalerConfig m_config;
    bool m_pending = false;
    std::uint32_t m_generation = 0;
    int m_quietTicks = 0; // ticks in a row with no traffic and no change
    bool m_changed = false; // the last decision changed the count or logged something
    std::vector<ScalingEvent> m_log;
    std::int64_t m_dropped = 0;
};

} // namespace knee
