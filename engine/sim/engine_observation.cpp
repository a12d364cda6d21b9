// What the engine shows of itself: snapshots for views, why a run ended early, and the invariants of
// docs/DESIGN.md §1 checked on demand.
#include "engine.h"

#include <algorithm>

namespace knee {

std::vector<std::string> Engine::stopReasons() const
{
    std::vector<std::string> out;
    if (!m_budgetStop.empty())
        out.push_back(m_budgetStop);
    if (m_load.cutByTimeLimit())
        out.push_back("the run reached the one-year limit of simulated time with " + std::to_string(m_load.sent()) + " of "
                      + std::to_string(m_scenario.workload.requests)
                      + " requests sent: the arrival rate is too low for the request count (set workload.duration_s, or raise the rate)");
    if (m_timeLimitStop)
        out.push_back("the run stopped at the one-year limit of simulated time with " + std::to_string(std::int64_t(m_queue.size()) + m_held)
                      + " requests still queued or in service");
    return out;
}

EngineSnapshot Engine::snapshot() const
{
    EngineSnapshot s;
    s.now = m_now;
    s.arrived = m_metrics.arrived;
    s.completed = m_metrics.completed;
    s.failed = m_metrics.failed;
    s.rejected = m_metrics.rejected;
    s.queued = std::int64_t(m_queue.size());
    s.held = m_held;
    s.concurrencyTarget = m_scenario.deployment.concurrencyTarget;
    s.predictConcurrency = m_scenario.deployment.predictConcurrency;
    s.minReplicas = m_scenario.deployment.minReplicas;
    s.maxReplicas = m_scenario.deployment.maxReplicas;
    s.coldStartS = m_scenario.deployment.coldStartS;
    s.autoscaler = m_scenario.deployment.autoscaler;
    s.closedLoop = m_load.closedLoop();
    s.rateRps = m_load.rate();
    s.users = m_load.users();
    s.predictErrors = m_predictStage.predictErrors();
    s.replicaStartFailures = m_replicaStartFailures;
    s.lastPredictError = m_predictStage.lastError();
    s.stopReason = m_budgetStop;
    s.predictCalls = m_predictStage.callsStarted();
    s.predictBusyNs = m_retiredPredictBusyNs;
    for (const Replica& r : m_replicas) {
        if (!r.provisioned())
            continue;
        ReplicaSnapshot rs;
        rs.id = r.id;
        rs.state = r.state;
        rs.held = r.held;
        rs.preprocessing = r.preprocessing;
        rs.waitingForPredict = int(r.predictWait.size());
        rs.inPredict = r.inPredict;
        rs.postprocessing = r.postprocessing;
        rs.served = r.served;
        rs.readyAt = r.readyAt;
        rs.limit = limitOf(r);
        rs.device = r.device;
        const Nanos life = m_now - r.readyAt;
        const Nanos busy = r.predictBusyNs + (r.inPredict > 0 ? m_now - r.predictBusySince : 0);
        rs.predictBusyShare = life > 0 ? double(busy) / double(life) : 0.0;
        s.predictBusyNs += busy;
        s.replicas.push_back(rs);
    }
    std::sort(s.replicas.begin(), s.replicas.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    s.devices = m_predictStage.devices();
    return s;
}

std::string Engine::checkInvariants() const
{
    const RunMetrics& m = m_metrics;
    if (m.arrived != std::int64_t(m_nextRequestId))
        return "arrivals counted (" + std::to_string(m.arrived) + ") differ from requests created";
    const std::int64_t accounted = m.completed + m.failed + m.rejected + std::int64_t(m_queue.size()) + m_held;
    if (m.arrived != accounted)
        return "conservation broken: arrived " + std::to_string(m.arrived) + " != completed + failed + rejected + queued + held = "
            + std::to_string(accounted);
    if (m_overAdmissions != 0)
        return std::to_string(m_overAdmissions) + " admissions beyond the concurrency target or to a replica not ready";
    std::int64_t held = 0;
    int pre = 0, wait = 0, predict = 0, post = 0, provisioned = 0;
    for (const Replica& r : m_replicas) {
        const int stages = r.preprocessing + int(r.predictWait.size()) + r.inPredict + r.postprocessing;
        if (r.held != stages)
            return "replica " + std::to_string(r.id) + " holds " + std::to_string(r.held) + " but has " + std::to_string(stages)
                + " in its stages";
        if (r.held < 0 || r.inPredict < 0)
            return "replica " + std::to_string(r.id) + " has a negative count";
        if ((r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Removed) && r.held != 0)
            return "replica " + std::to_string(r.id) + " holds requests while " + toString(r.state);
        if (!r.predictWait.empty() && r.inPredict < m_scenario.deployment.predictConcurrency)
            return "replica " + std::to_string(r.id) + " leaves a predict slot idle while requests wait for one";
        // A decode loop that stalls: sequences wait for it, no step runs and none is queued (the idle loop's
        // DecodeStart, PredictStage::refill), so nothing would ever start one.
        if (m_scenario.model.batching.mode == BatchingConfig::Mode::Continuous && !r.batchQueue.empty() && !r.callRunning && !r.stepPending)
            return "replica " + std::to_string(r.id) + "'s decode loop is stalled: " + std::to_string(r.batchQueue.size())
                + " sequences wait, no step runs or is queued";
        held += r.held;
        pre += r.preprocessing;
        wait += int(r.predictWait.size());
        predict += r.inPredict;
        post += r.postprocessing;
        provisioned += r.provisioned();
    }
    if (held != m_held)
        return "held requests per replica do not add up to the deployment's count";
    const OccupancyTimeline& o = m.occupancy;
    if (o.level(Stage::Queue) != int(m_queue.size()) || o.level(Stage::Preprocess) != pre || o.level(Stage::PredictWait) != wait
        || o.level(Stage::Predict) != predict || o.level(Stage::Postprocess) != post || o.level(Stage::Replicas) != provisioned
        || o.level(Stage::Limit) != m_limitLevel)
        return "occupancy levels disagree with the requests in each stage";
    return {};
}

} // namespace knee
