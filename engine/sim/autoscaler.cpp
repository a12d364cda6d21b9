#include "autoscaler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace knee {

const char* toString(ScalingEvent::Action a)
{
    switch (a) {
    case ScalingEvent::Action::ScaleUp: return "scale_up";
    case ScalingEvent::Action::ScaleDown: return "scale_down";
    case ScalingEvent::Action::FlagExcess: return "flag_excess";
    case ScalingEvent::Action::KeepExcess: return "keep_excess";
    case ScalingEvent::Action::PanicStart: return "panic_start";
    case ScalingEvent::Action::PanicEnd: return "panic_end";
    case ScalingEvent::Action::ScaleFromZero: return "scale_from_zero";
    }
    return "?";
}

namespace {
std::string fmt(const char* f, double a = 0, double b = 0, double c = 0, double d = 0, double e = 0)
{
    char buf[320];
    std::snprintf(buf, sizeof buf, f, a, b, c, d, e);
    return buf;
}
int clampCount(long long v, int lo, int hi) { return int(std::clamp<long long>(v, lo, hi)); }
} // namespace

Autoscaler::Autoscaler(const AutoscalerConfig& config, Nanos now)
    : m_config(config)
    , m_interval(secondsToNanos(config.evaluationIntervalS))
    , m_last(now)
    , m_tickStart(now)
    , m_lastBusy(now)
{
    const auto ticks = std::size_t(std::ceil(config.windowS / config.evaluationIntervalS)) + 1;
    m_tickAreas.assign(ticks, 0.0);
    m_tickWidths.assign(ticks, 0);
}

void Autoscaler::closeTick(Nanos now)
{
    observe(now, m_level);
    m_tickAreas[m_tickHead] = m_area;
    m_tickWidths[m_tickHead] = now - m_tickStart;
    m_tickHead = (m_tickHead + 1) % m_tickAreas.size();
    m_tickCount = std::min(m_tickCount + 1, m_tickAreas.size());
    m_area = 0;
    m_tickStart = now;
}

// Time-weighted mean concurrency over the last `window` (or since the start, if shorter), from
// whole ticks: the newest ticks whose widths add up to the window.
double Autoscaler::average(Nanos, Nanos window) const
{
    double area = 0;
    Nanos covered = 0;
    for (std::size_t i = 0; i < m_tickCount && covered < window; ++i) {
        const std::size_t k = (m_tickHead + m_tickAreas.size() - 1 - i) % m_tickAreas.size();
        area += m_tickAreas[k];
        covered += m_tickWidths[k];
    }
    return covered > 0 ? area / double(covered) : 0.0;
}

int Autoscaler::evaluate(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log)
{
    closeTick(now);
    switch (m_config.policy) {
    case AutoscalerConfig::Policy::Baseten: return evaluateBaseten(now, in, log);
    case AutoscalerConfig::Policy::Knative: return evaluateKnative(now, in, log);
    case AutoscalerConfig::Policy::None: break;
    }
    return in.active;
}

int Autoscaler::evaluateBaseten(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log)
{
    const double perReplicaTarget = in.concurrencyTarget * m_config.targetUtilization;
    const double avg = average(now, secondsToNanos(m_config.windowS));
    m_lastStableAverage = avg;
    int desired = clampCount((long long)std::ceil(avg / perReplicaTarget - 1e-9), in.minReplicas, in.maxReplicas);
    if (m_level > 0 && desired == 0)
        desired = std::min(1, in.maxReplicas); // requests are waiting: never aim for zero
    const double perActive = in.active > 0 ? avg / in.active : avg;

    if (desired > in.active) {
        m_flagged = false;
        m_removedInEpisode = false;
        log.push_back({now, ScalingEvent::Action::ScaleUp, in.active, desired,
                       fmt("average %.2f requests per active replica over the window > concurrency target %.0f x target "
                           "utilization %.0f%% = %.2f; ",
                           perActive, in.concurrencyTarget, m_config.targetUtilization * 100, perReplicaTarget)
                           + fmt("desired ceil(%.2f / %.2f) within [min, max] = %.0f", avg, perReplicaTarget, desired)});
        return desired;
    }
    if (desired < in.active) {
        if (!m_flagged) {
            m_flagged = true;
            m_flaggedAt = now;
            log.push_back({now, ScalingEvent::Action::FlagExcess, in.active, in.active,
                           fmt("average %.2f requests over the window needs %.0f replica(s); %.0f flagged as excess, removed "
                               "if this lasts the scale-down delay (%.0f s)",
                               avg, desired, in.active - desired, m_config.scaleDownDelayS)});
            return in.active;
        }
        if (now - m_flaggedAt < secondsToNanos(m_config.scaleDownDelayS))
            return in.active;
        const int step = std::max(1, int(std::floor(in.active * m_config.maxScaleDownRate + 1e-9)));
        const int to = std::max(desired, in.active - step);
        log.push_back({now, ScalingEvent::Action::ScaleDown, in.active, to,
                       fmt("excess lasted the scale-down delay (%.0f s); removing %.0f (at most %.0f%% of %.0f active per step)",
                           m_config.scaleDownDelayS, in.active - to, m_config.maxScaleDownRate * 100, in.active)});
        // The flag stays while traffic keeps falling: one episode serves one delay, then steps
        // follow at each evaluation, limited only by the scale-down rate.
        m_removedInEpisode = true;
        return to;
    }
    if (m_flagged) {
        if (!m_removedInEpisode)
            log.push_back({now, ScalingEvent::Action::KeepExcess, in.active, in.active,
                           fmt("traffic returned before the scale-down delay: average %.2f needs all %.0f replica(s)", avg, in.active)});
        m_flagged = false;
        m_removedInEpisode = false;
    }
    return in.active;
}

int Autoscaler::evaluateKnative(Nanos now, const Inputs& in, std::vector<ScalingEvent>& log)
{
    const double perReplicaTarget = in.concurrencyTarget * m_config.targetUtilization;
    const Nanos stableWindow = secondsToNanos(m_config.windowS);
    const Nanos panicWindow = std::max(m_interval, Nanos(double(stableWindow) * m_config.panicWindowPercent / 100.0));
    const double stable = average(now, stableWindow);
    const double panic = average(now, panicWindow);
    m_lastStableAverage = stable;
    const int ready = std::max(1, in.ready);
    const int desiredStable = int(std::ceil(stable / perReplicaTarget - 1e-9));
    const int desiredPanic = int(std::ceil(panic / perReplicaTarget - 1e-9));
    const bool overThreshold = double(desiredPanic) / ready >= m_config.panicThresholdPercent / 100.0;

    if (overThreshold && !m_panicking) {
        m_panicking = true;
        m_panicSince = now;
        m_panicFloor = in.active;
        log.push_back({now, ScalingEvent::Action::PanicStart, in.active, in.active,
                       fmt("panic: the panic window asks for %.0f replicas, >= %.0f%% of the %.0f ready", desiredPanic,
                           m_config.panicThresholdPercent, ready)});
    } else if (overThreshold) {
        m_panicSince = now; // still over: panic lasts a full stable window from the last time it was
    } else if (m_panicking && now - m_panicSince >= stableWindow) {
        m_panicking = false;
        log.push_back({now, ScalingEvent::Action::PanicEnd, in.active, in.active,
                       fmt("panic over: a stable window (%.0f s) without reaching the threshold", m_config.windowS)});
    }

    long long desired = m_panicking ? std::max(desiredPanic, m_panicFloor) : desiredStable;
    if (m_panicking)
        m_panicFloor = int(desired); // never scale down while panicking
    // Rate limits: up to maxScaleUpRate × ready, down to ready / maxScaleDownRate per step.
    desired = std::min<long long>(desired, (long long)std::ceil(m_config.maxScaleUpRate * ready));
    desired = std::max<long long>(desired, (long long)std::floor(in.ready / m_config.knativeMaxScaleDownRate));
    // Scale to zero only after the grace period without traffic.
    if (desired == 0 && (m_level > 0 || now - m_lastBusy < secondsToNanos(m_config.scaleToZeroGraceS)))
        desired = in.active > 0 ? 1 : (m_level > 0 ? 1 : 0);
    const int to = clampCount(desired, in.minReplicas, in.maxReplicas);
    if (to != in.active)
        log.push_back({now, to > in.active ? ScalingEvent::Action::ScaleUp : ScalingEvent::Action::ScaleDown, in.active, to,
                       std::string(m_panicking ? "panic" : "stable")
                           + fmt(" window average %.2f / (target %.0f x utilization %.0f%%) -> %.0f, within rate limits and [min, max]",
                                 m_panicking ? panic : stable, in.concurrencyTarget, m_config.targetUtilization * 100, to)});
    return to;
}

} // namespace knee
