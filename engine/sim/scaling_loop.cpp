#include "scaling_loop.h"

namespace knee {

ScalingLoop::ScalingLoop(const AutoscalerConfig& config, Nanos now)
    : m_config(config)
{
    if (config.policy != AutoscalerConfig::Policy::None)
        m_autoscaler = std::make_unique<Autoscaler>(config, now);
}

void ScalingLoop::set(const AutoscalerConfig& config, Nanos now, std::int64_t concurrency)
{
    m_config = config;
    ++m_generation; // the old autoscaler's queued tick is now stale: one tick chain only
    m_pending = false;
    m_quietTicks = 0;
    if (config.policy == AutoscalerConfig::Policy::None) {
        m_autoscaler.reset();
        return;
    }
    m_autoscaler = std::make_unique<Autoscaler>(config, now);
    m_autoscaler->observe(now, concurrency);
}

std::optional<Nanos> ScalingLoop::nextTick(Nanos now)
{
    if (!m_autoscaler || m_pending)
        return std::nullopt;
    m_pending = true;
    return now + m_autoscaler->interval();
}

int ScalingLoop::decide(Nanos now, const Autoscaler::Inputs& in)
{
    m_pending = false;
    std::vector<ScalingEvent> events;
    const int desired = m_autoscaler->evaluate(now, in, events);
    m_changed = desired != in.active || !events.empty();
    for (auto& e : events)
        log(std::move(e));
    return desired;
}

// Then the run can end; a later arrival wakes the autoscaler again. Backstop: with no traffic, once
// nothing has changed for longer than every delay the policy has, nothing will: stop.
bool ScalingLoop::keepTicking(bool traffic, int activeAfter, int minReplicas)
{
    m_quietTicks = traffic || m_changed ? 0 : m_quietTicks + 1;
    const double settleS = m_config.windowS + m_config.scaleDownDelayS + m_config.scaleToZeroGraceS + 10;
    const bool settled = double(m_quietTicks) * m_config.evaluationIntervalS > settleS;
    return traffic || (activeAfter > minReplicas && !settled);
}

void ScalingLoop::log(ScalingEvent e)
{
    if (m_log.size() < kMaxEvents)
        m_log.push_back(std::move(e));
    else
        ++m_dropped;
}

} // namespace knee
