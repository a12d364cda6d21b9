// The engine's replicas: their life (provisioned with or without a cold start, ready, draining, removed),
// the concurrency limit each may hold now, and the autoscaler's ticks that move their count. The rules
// that pick (routing, the replica to remove) are ReplicaSet's; the limit is the concurrency modifier's.
#include "engine.h"

#include <algorithm>

namespace knee {

void Engine::refreshLimitLevel()
{
    int total = 0;
    for (const Replica& r : m_replicas)
        if (r.takesRequests())
            total += limitOf(r);
    if (total != m_limitLevel) {
        m_metrics.occupancy.change(m_now, Stage::Limit, total - m_limitLevel);
        m_limitLevel = total;
    }
}

void Engine::scaleTo(int target)
{
    for (int active = m_replicas.active(); active < target; ++active)
        provisionReplica(/*ready=*/false);
    for (int active = m_replicas.active(); active > target; --active) {
        const int victim = m_replicas.victim();
        if (victim < 0)
            break;
        drainReplica(victim);
    }
}

void Engine::scheduleTick()
{
    if (const auto at = m_scaling.nextTick(m_now))
        m_events.push(*at, EventType::AutoscalerTick, 0, m_scaling.generation());
}

void Engine::autoscalerTick()
{
    const DeploymentConfig& d = m_scenario.deployment;
    const Autoscaler::Inputs in{m_replicas.active(), m_replicas.ready(), d.concurrencyTarget, d.minReplicas, d.maxReplicas};
    const int desired = m_scaling.decide(m_now, in);
    if (desired != in.active)
        scaleTo(desired);
    const bool traffic = m_load.sending(m_now) || !m_queue.empty() || m_held > 0;
    if (m_scaling.keepTicking(traffic, m_replicas.active(), d.minReplicas))
        scheduleTick();
}

double Engine::replicaHours() const
{
    return m_metrics.occupancy.overallMean(m_now)[std::size_t(Stage::Replicas)] * nanosToSeconds(m_now) / 3600.0;
}

void Engine::provisionReplica(bool ready)
{
    const int ri = m_replicas.add(m_now);
    Replica& rep = m_replicas[ri];
    const Nanos coldStart = secondsToNanos(m_scenario.deployment.coldStartS);
    rep.adaptiveLimit = m_scenario.deployment.modifier.initialLimit;
    m_coldStarts += m_started;
    m_metrics.occupancy.change(m_now, Stage::Replicas, +1);
    m_predictStage.placeReplica(ri);
    if (m_executor) {
        // The real cold start: ready when the executor has the weights on the device. readyAt is the
        // scenario's estimate until then.
        rep.state = ReplicaState::ColdStarting;
        rep.readyAt = m_now + coldStart;
        m_executor->provision(rep.id, m_scenario.deployment.predictConcurrency, rep.device);
    } else if (ready || coldStart == 0) {
        rep.state = ReplicaState::Ready;
        rep.readyAt = m_now;
        refreshLimitLevel();
        dispatch();
    } else {
        rep.state = ReplicaState::ColdStarting;
        rep.readyAt = m_now + coldStart;
        m_events.push(rep.readyAt, EventType::ReplicaReady, std::uint32_t(ri));
    }
}

void Engine::replicaReady(std::uint32_t ri)
{
    Replica& rep = m_replicas[int(ri)];
    // A cold start cancelled by a later scale-down leaves a stale event behind: ignore it.
    if (rep.state != ReplicaState::ColdStarting || rep.readyAt != m_now)
        return;
    rep.state = ReplicaState::Ready;
    refreshLimitLevel();
    dispatch();
}

void Engine::replicaProvisioned(std::int32_t replicaId, const std::string& error)
{
    const auto it = std::find_if(m_replicas.begin(), m_replicas.end(), [&](const Replica& r) {
        return r.id == replicaId && r.state == ReplicaState::ColdStarting;
    });
    if (it == m_replicas.end())
        return; // cancelled while it started: retire() already told the executor
    if (!error.empty()) {
        // It cannot start (out of device memory, a device error): it leaves the deployment, logged
        // with the reason; the autoscaler (if any) may try again at its next decision.
        ++m_replicaStartFailures;
        m_predictStage.setLastError(error);
        removeReplica(int(it - m_replicas.begin()));
        m_scaling.log({m_now, ScalingEvent::Action::ScaleDown, m_replicas.active() + 1, m_replicas.active(),
                       "replica " + std::to_string(replicaId) + " failed to start: " + error});
        return;
    }
    it->readyAt = m_now;
    replicaReady(std::uint32_t(it - m_replicas.begin()));
}

void Engine::drainReplica(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.state == ReplicaState::ColdStarting) {
        removeReplica(ri); // holds nothing yet: gone at once
        return;
    }
    rep.state = ReplicaState::Draining;
    refreshLimitLevel();
    retireIfDrained(ri);
}

void Engine::retireIfDrained(int ri)
{
    const Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.state == ReplicaState::Draining && rep.held == 0)
        removeReplica(ri);
}

// The replica leaves the deployment: its device place is free, and the real predict stage frees it.
void Engine::removeReplica(int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    rep.state = ReplicaState::Removed;
    m_retiredPredictBusyNs += rep.predictBusyNs; // drained: nothing of it is in predict now
    m_metrics.occupancy.change(m_now, Stage::Replicas, -1);
    m_predictStage.unplaceReplica(ri);
    if (m_executor)
        m_executor->retire(rep.id);
}

} // namespace knee
