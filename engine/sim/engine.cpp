#include "engine.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace knee {

namespace stream {
inline constexpr std::uint64_t kPreprocess = 11, kPredict = 12, kPostprocess = 13, kFailure = 14, kSize = 15, kTokens = 16;
}

const char* toString(ReplicaState s)
{
    switch (s) {
    case ReplicaState::ColdStarting: return "cold_starting";
    case ReplicaState::Ready: return "ready";
    case ReplicaState::Draining: return "draining";
    case ReplicaState::Removed: return "removed";
    }
    return "?";
}

static const Scenario& validated(const Scenario& s)
{
    if (auto error = s.validate(); !error.empty())
        throw std::invalid_argument("invalid scenario: " + error);
    return s;
}

Engine::Engine(const Scenario& scenario, PredictExecutor* executor)
    : m_scenario(validated(scenario))
    , m_load(m_scenario.workload, m_events)
    , m_preprocess(m_scenario.model.preprocess)
    , m_predict(m_scenario.model.predict)
    , m_postprocess(m_scenario.model.postprocess)
    , m_size(m_scenario.workload.requestSize)
    , m_tokens(m_scenario.model.batching.outputTokens)
    , m_preprocessRng(streamSeed(m_scenario.workload.seed, stream::kPreprocess))
    , m_predictRng(streamSeed(m_scenario.workload.seed, stream::kPredict))
    , m_postprocessRng(streamSeed(m_scenario.workload.seed, stream::kPostprocess))
    , m_failureRng(streamSeed(m_scenario.workload.seed, stream::kFailure))
    , m_sizeRng(streamSeed(m_scenario.workload.seed, stream::kSize))
    , m_tokensRng(streamSeed(m_scenario.workload.seed, stream::kTokens))
    , m_sized(!(m_scenario.workload.requestSize.kind == Distribution::Kind::Constant && m_scenario.workload.requestSize.meanMs == 1.0))
    , m_warmupEnd(secondsToNanos(m_scenario.workload.warmupS))
    , m_executor(executor)
    , m_predictStage(m_scenario, m_now, m_events, m_requests, m_replicas, m_metrics, executor, *this)
{
    m_metrics.measureStart = m_warmupEnd;
    if (m_scenario.deployment.autoscaler.policy != AutoscalerConfig::Policy::None)
        m_autoscaler = std::make_unique<Autoscaler>(m_scenario.deployment.autoscaler, m_now);
    for (int i = 0; i < m_scenario.deployment.effectiveInitialReplicas(); ++i)
        provisionReplica(/*ready=*/true);
    m_started = true;
}

Engine::~Engine() = default;

// ---------------------------------------------------------------- load and clock

void Engine::startLoad()
{
    m_load.start(m_now);
    scheduleTick();
    for (std::size_t i = 0; i < m_scenario.changes.size(); ++i)
        m_events.push(std::max(m_now, secondsToNanos(m_scenario.changes[i].atS)), EventType::KnobChange, std::uint32_t(i));
}

std::uint64_t Engine::submit(Nanos intended, const std::optional<StageTimes>& times, int tokens)
{
    const std::uint64_t id = m_nextRequestId;
    arrive(std::min(intended, m_now), -1, times, -1, tokens);
    return id;
}

bool Engine::step()
{
    if (m_events.empty())
        return false;
    const Event e = m_events.pop();
    m_now = e.time;
    handle(e);
    return true;
}

void Engine::runUntil(Nanos t)
{
    while (m_events.nextTime() <= t)
        step();
    m_now = std::max(m_now, t);
}

bool Engine::quiescent() const
{
    if (!m_events.empty() || m_predictStage.executorCallsPending())
        return false;
    return std::none_of(m_replicas.begin(), m_replicas.end(), [](const Replica& r) { return r.state == ReplicaState::ColdStarting; });
}

void Engine::runToCompletion()
{
    const Nanos limit = secondsToNanos(limits::kMaxDurationS);
    while (m_events.nextTime() <= limit)
        step();
    m_timeLimitStop = !m_events.empty();
}

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

void Engine::handle(const Event& e)
{
    switch (e.type) {
    case EventType::Arrival: {
        std::int32_t user = -1;
        double size = -1;
        if (m_load.onArrival(e, m_now, user, size))
            arrive(m_now, user, std::nullopt, size);
        break;
    }
    case EventType::PreprocessDone: preprocessDone(e.arg); break;
    case EventType::PredictDone:
    case EventType::CallDone:
    case EventType::DeviceDone:
    case EventType::BatchTimer: m_predictStage.handle(e); break;
    case EventType::PostprocessDone: finish(e.arg, Outcome::Completed); break;
    case EventType::ReplicaReady: replicaReady(e.arg); break;
    case EventType::KnobChange: applyChange(e.arg); break;
    case EventType::AutoscalerTick:
        if (m_autoscaler && e.generation == m_tickGeneration)
            autoscalerTick();
        break;
    }
}

// ---------------------------------------------------------------- a request's life

std::uint32_t Engine::allocRequest()
{
    if (!m_freeSlots.empty()) {
        const std::uint32_t slot = m_freeSlots.back();
        m_freeSlots.pop_back();
        return slot;
    }
    m_requests.emplace_back();
    return std::uint32_t(m_requests.size() - 1);
}

void Engine::freeRequest(std::uint32_t slot) { m_freeSlots.push_back(slot); }

void Engine::arrive(Nanos intended, std::int32_t user, const std::optional<StageTimes>& times, double size, int tokens)
{
    if (std::int64_t(m_queue.size()) + m_held >= m_requestBudget && m_budgetStop.empty()) {
        // The memory budget: stop the load rather than grow without bound (this request and any later
        // injected one are rejected; what is in the system drains).
        m_load.stop();
        char at[32];
        std::snprintf(at, sizeof at, "%.3f", nanosToSeconds(m_now));
        m_budgetStop = "stopped sending at " + std::string(at) + " s of simulated time: "
            + std::to_string(m_requestBudget)
            + " requests were queued or in service at once (knee's memory budget for a run). The load far exceeds what the "
              "replicas serve: lower it, add replicas, or bound the deployment queue (deployment.queue_limit)";
    }
    const bool overBudget = !m_budgetStop.empty() && std::int64_t(m_queue.size()) + m_held >= m_requestBudget;
    const std::uint32_t slot = allocRequest();
    Request& r = m_requests[slot];
    r = Request{};
    r.id = m_nextRequestId++;
    r.intended = intended;
    r.arrived = m_now;
    r.user = user;
    r.measured = intended >= m_warmupEnd;
    if (times) {
        r.times = *times;
    } else {
        r.times.preprocess = m_preprocess.sample(m_preprocessRng);
        r.times.predict = m_predict.sample(m_predictRng);
        r.times.postprocess = m_postprocess.sample(m_postprocessRng);
        const double failureRate = m_scenario.model.predictFailureRate;
        r.times.predictFails = failureRate > 0 && m_failureRng.uniform01() < failureRate;
        // A request's size scales the work that depends on its input: preprocess and predict.
        if (size < 0 && m_sized)
            size = m_size.sampleValue(m_sizeRng);
        if (size >= 0 && size != 1.0) {
            r.times.preprocess = Nanos(double(r.times.preprocess) * size);
            r.times.predict = Nanos(double(r.times.predict) * size);
        }
    }
    if (m_scenario.model.batching.mode == BatchingConfig::Mode::Continuous)
        r.tokens = r.tokensLeft = tokens > 0 ? tokens : std::max(1, int(std::lround(m_tokens.sampleValue(m_tokensRng))));
    ++m_metrics.arrived;
    if (m_autoscaler) {
        scheduleTick(); // traffic after a quiet spell wakes the autoscaler again
        if (activeReplicas() == 0 && m_scenario.deployment.maxReplicas > 0) {
            // Scale from zero: the request waits in the queue for a cold start.
            if (m_scalingLog.size() < kMaxScalingEvents)
                m_scalingLog.push_back({m_now, ScalingEvent::Action::ScaleFromZero, 0, 1,
                                        "a request arrived with no replica: one is started; the request waits for its cold start"});
            provisionReplica(/*ready=*/false);
        }
    }

    if (overBudget) {
        finish(slot, Outcome::Rejected);
        return;
    }
    // FIFO: a newcomer is routed directly only when nobody is waiting ahead of it.
    if (m_queue.empty()) {
        if (const int ri = pickReplica(); ri >= 0) {
            admit(slot, ri);
            observeConcurrency();
            return;
        }
    }
    const std::int64_t limit = m_scenario.deployment.queueLimit;
    if (limit > 0 && std::int64_t(m_queue.size()) >= limit) {
        finish(slot, Outcome::Rejected);
        return;
    }
    m_queue.push(slot);
    m_metrics.occupancy.change(m_now, Stage::Queue, +1);
    observeConcurrency();
}

// How many requests a replica may hold now: the concurrency target, or less when the concurrency
// modifier says so (seed 001).
int Engine::limitOf(const Replica& r) const
{
    const int target = m_scenario.deployment.concurrencyTarget;
    const ConcurrencyModifierConfig& m = m_scenario.deployment.modifier;
    switch (m.kind) {
    case ConcurrencyModifierConfig::Kind::None: return target;
    case ConcurrencyModifierConfig::Kind::Fixed: return std::min(target, m.fixed);
    case ConcurrencyModifierConfig::Kind::EngineMax:
        // RunPod: concurrency_modifier = lambda x: engine.max_concurrency. Given, or the decode loop's budget.
        return std::min(target, m.engineMax > 0 ? m.engineMax : m_scenario.model.batching.maxSequences);
    case ConcurrencyModifierConfig::Kind::Adaptive: return std::min(target, std::max(m.minLimit, int(r.adaptiveLimit)));
    }
    return target;
}

// A gradient limiter (the idea of Netflix's concurrency-limits "Gradient2"): while the replica's
// recent latency stays within `tolerance` of the best it has shown, the limit grows by about its
// square root per update (probing for room); when latency grows beyond that, the limit shrinks in
// proportion. Smoothing keeps one slow request from swinging it.
void Engine::adaptLimit(Replica& r, Nanos replicaLatency)
{
    const ConcurrencyModifierConfig& m = m_scenario.deployment.modifier;
    const double sample = std::max(1.0, double(replicaLatency));
    r.bestLatency = r.bestLatency > 0 ? std::min(r.bestLatency, sample) : sample;
    r.recentLatency = r.recentLatency > 0 ? 0.9 * r.recentLatency + 0.1 * sample : sample;
    const double gradient = std::clamp(m.tolerance * r.bestLatency / r.recentLatency, 0.5, 1.0);
    const double proposed = r.adaptiveLimit * gradient + std::sqrt(r.adaptiveLimit);
    const int before = limitOf(r);
    r.adaptiveLimit = std::clamp((1 - m.smoothing) * r.adaptiveLimit + m.smoothing * proposed, double(m.minLimit), double(m.maxLimit));
    if (limitOf(r) != before)
        refreshLimitLevel();
}

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

// Least-loaded ready replica below its limit; ties go to the lowest slot.
int Engine::pickReplica() const
{
    int best = -1;
    for (int i = 0; i < int(m_replicas.size()); ++i) {
        const Replica& r = m_replicas[std::size_t(i)];
        if (r.takesRequests() && r.held < limitOf(r) && (best < 0 || r.held < m_replicas[std::size_t(best)].held))
            best = i;
    }
    return best;
}

void Engine::dispatch()
{
    while (!m_queue.empty()) {
        const int ri = pickReplica();
        if (ri < 0)
            return;
        const std::uint32_t slot = m_queue.pop();
        m_metrics.occupancy.change(m_now, Stage::Queue, -1);
        admit(slot, ri);
    }
}

void Engine::admit(std::uint32_t slot, int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.held >= limitOf(rep) || !rep.takesRequests())
        ++m_overAdmissions; // never expected: checkInvariants() reports it
    Request& r = m_requests[slot];
    ++rep.held;
    ++m_held;
    ++rep.preprocessing;
    r.routed = m_now;
    r.replica = rep.id;
    r.replicaSlot = ri;
    m_metrics.occupancy.change(m_now, Stage::Preprocess, +1);
    m_events.push(m_now + r.times.preprocess, EventType::PreprocessDone, slot);
}

void Engine::preprocessDone(std::uint32_t slot)
{
    Request& r = m_requests[slot];
    Replica& rep = m_replicas[std::size_t(r.replicaSlot)];
    --rep.preprocessing;
    r.preprocessDone = m_now;
    m_metrics.occupancy.change(m_now, Stage::Preprocess, -1);
    m_predictStage.enter(r.replicaSlot, slot);
}

// The request's predict ended (PredictStage): a failed call ends it, else on to postprocess.
void Engine::leavePredict(std::uint32_t slot)
{
    Request& r = m_requests[slot];
    if (r.times.predictFails) {
        finish(slot, Outcome::Failed);
        return;
    }
    ++m_replicas[std::size_t(r.replicaSlot)].postprocessing;
    m_metrics.occupancy.change(m_now, Stage::Postprocess, +1);
    m_events.push(m_now + r.times.postprocess, EventType::PostprocessDone, slot);
}

void Engine::tokenEmitted(const Request& r)
{
    if (m_tokenObserver)
        m_tokenObserver(r);
}

void Engine::predictCallDone(std::uint64_t callId, const std::string& error)
{
    m_predictStage.executorCallDone(callId, error);
    observeConcurrency();
}

void Engine::finish(std::uint32_t slot, Outcome outcome)
{
    Request& r = m_requests[slot];
    r.done = m_now;
    r.outcome = outcome;
    const int ri = r.replicaSlot;
    if (ri >= 0) {
        Replica& rep = m_replicas[std::size_t(ri)];
        --rep.held;
        --m_held;
        ++rep.served;
        if (outcome == Outcome::Completed) {
            --rep.postprocessing;
            m_metrics.occupancy.change(m_now, Stage::Postprocess, -1);
            if (m_scenario.deployment.modifier.kind == ConcurrencyModifierConfig::Kind::Adaptive)
                adaptLimit(rep, r.done - r.routed);
        }
    }
    switch (outcome) {
    case Outcome::Completed:
        m_metrics.recordCompleted({r.intended, r.arrived, r.routed, r.preprocessDone, r.predictStart, r.predictDone, r.done},
                                  r.measured);
        if (r.firstToken >= 0 && r.measured)
            m_metrics.timeToFirstToken.record(r.firstToken - r.intended);
        break;
    case Outcome::Failed: m_metrics.recordFailed(m_now, r.measured); break;
    case Outcome::Rejected: m_metrics.recordRejected(r.measured); break;
    case Outcome::InFlight: break;
    }
    if (m_observer)
        m_observer(r);
    const std::int32_t user = r.user;
    freeRequest(slot);
    if (user >= 0)
        m_load.onResponse(user, m_now, outcome == Outcome::Rejected);
    if (ri >= 0) {
        retireIfDrained(ri);
        dispatch();
    }
    observeConcurrency();
}

// ---------------------------------------------------------------- replicas

int Engine::activeReplicas() const
{
    int n = 0;
    for (const Replica& r : m_replicas)
        n += r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready;
    return n;
}

int Engine::readyReplicas() const
{
    int n = 0;
    for (const Replica& r : m_replicas)
        n += r.state == ReplicaState::Ready;
    return n;
}

// The replica to remove next: one still cold starting (it holds nothing; the newest), else the
// ready replica holding the least (the newest on ties). -1 when none can go.
int Engine::pickVictim() const
{
    int victim = -1;
    auto better = [&](const Replica& r, const Replica& v) {
        if (r.state == ReplicaState::ColdStarting)
            return v.state != ReplicaState::ColdStarting || r.id > v.id;
        if (r.state != ReplicaState::Ready || v.state == ReplicaState::ColdStarting)
            return false;
        return r.held < v.held || (r.held == v.held && r.id > v.id);
    };
    for (int i = 0; i < int(m_replicas.size()); ++i) {
        const Replica& r = m_replicas[std::size_t(i)];
        if ((r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready)
            && (victim < 0 || better(r, m_replicas[std::size_t(victim)])))
            victim = i;
    }
    return victim;
}

void Engine::scaleTo(int target)
{
    for (int active = activeReplicas(); active < target; ++active)
        provisionReplica(/*ready=*/false);
    for (int active = activeReplicas(); active > target; --active) {
        const int victim = pickVictim();
        if (victim < 0)
            break;
        drainReplica(victim);
    }
}

void Engine::scheduleTick()
{
    if (!m_autoscaler || m_tickPending)
        return;
    m_tickPending = true;
    m_events.push(m_now + m_autoscaler->interval(), EventType::AutoscalerTick, 0, m_tickGeneration);
}

void Engine::autoscalerTick()
{
    m_tickPending = false;
    const DeploymentConfig& d = m_scenario.deployment;
    Autoscaler::Inputs in{activeReplicas(), readyReplicas(), d.concurrencyTarget, d.minReplicas, d.maxReplicas};
    std::vector<ScalingEvent> events;
    const int desired = m_autoscaler->evaluate(m_now, in, events);
    for (auto& e : events) {
        if (m_scalingLog.size() < kMaxScalingEvents)
            m_scalingLog.push_back(std::move(e));
        else
            ++m_scalingDropped;
    }
    if (desired != in.active)
        scaleTo(desired);
    // Keep deciding while traffic may still come, requests are in the system, or replicas above min
    // may still go (scale-down after the traffic, scale to zero). Then the run can end; a later
    // arrival wakes the autoscaler again. Backstop: with no traffic, once nothing has changed for
    // longer than every delay the policy has, nothing will: stop.
    const bool traffic = m_load.sending(m_now) || !m_queue.empty() || m_held > 0;
    m_quietTicks = traffic || desired != in.active || !events.empty() ? 0 : m_quietTicks + 1;
    const AutoscalerConfig& a = d.autoscaler;
    const double settleS = a.windowS + a.scaleDownDelayS + a.scaleToZeroGraceS + 10;
    const bool settled = double(m_quietTicks) * a.evaluationIntervalS > settleS;
    if (traffic || (activeReplicas() > d.minReplicas && !settled))
        scheduleTick();
}

double Engine::replicaHours() const
{
    return m_metrics.occupancy.overallMean(m_now)[std::size_t(Stage::Replicas)] * nanosToSeconds(m_now) / 3600.0;
}

void Engine::provisionReplica(bool ready)
{
    auto it = std::find_if(m_replicas.begin(), m_replicas.end(), [](const Replica& r) { return !r.provisioned(); });
    if (it == m_replicas.end())
        it = m_replicas.insert(m_replicas.end(), Replica{});
    const auto ri = std::uint32_t(it - m_replicas.begin());
    Replica& rep = *it;
    const Nanos coldStart = secondsToNanos(m_scenario.deployment.coldStartS);
    rep.id = m_nextReplicaId++;
    rep.provisionedAt = m_now;
    rep.held = rep.preprocessing = rep.inPredict = rep.postprocessing = 0;
    rep.served = 0;
    rep.predictBusyNs = 0;
    rep.adaptiveLimit = m_scenario.deployment.modifier.initialLimit;
    rep.bestLatency = rep.recentLatency = 0;
    m_coldStarts += m_started;
    m_metrics.occupancy.change(m_now, Stage::Replicas, +1);
    m_predictStage.placeReplica(int(ri));
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
        m_events.push(rep.readyAt, EventType::ReplicaReady, ri);
    }
}

void Engine::replicaReady(std::uint32_t ri)
{
    Replica& rep = m_replicas[ri];
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
        if (m_scalingLog.size() < kMaxScalingEvents)
            m_scalingLog.push_back({ m_now, ScalingEvent::Action::ScaleDown, activeReplicas() + 1, activeReplicas(),
                                     "replica " + std::to_string(replicaId) + " failed to start: " + error });
        else
            ++m_scalingDropped;
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

// ---------------------------------------------------------------- knobs

std::string Engine::setConcurrencyTarget(int target)
{
    if (auto e = checkConcurrencyKnob("concurrency target", target); !e.empty())
        return e;
    m_scenario.deployment.concurrencyTarget = target;
    refreshLimitLevel();
    dispatch(); // a raise admits queued requests now; a lowering admits nothing until the excess drains
    return {};
}

std::string Engine::setPredictConcurrency(int predictSlots)
{
    if (auto e = checkConcurrencyKnob("predict_concurrency", predictSlots); !e.empty())
        return e;
    m_scenario.deployment.predictConcurrency = predictSlots;
    for (int i = 0; i < int(m_replicas.size()); ++i)
        if (m_replicas[std::size_t(i)].provisioned())
            m_predictStage.refill(i);
    return {};
}

std::string Engine::setReplicaBounds(int minReplicas, int maxReplicas)
{
    if (auto e = checkReplicaBounds(minReplicas, maxReplicas); !e.empty())
        return e;
    m_scenario.deployment.minReplicas = minReplicas;
    m_scenario.deployment.maxReplicas = maxReplicas;
    // The count moves only to stay inside the new bounds (the autoscaler, if any, works within them).
    const int active = activeReplicas();
    scaleTo(std::clamp(active, minReplicas, maxReplicas));
    return {};
}

std::string Engine::setArrivalRate(double rps)
{
    if (m_load.closedLoop())
        return "the workload is closed-loop: set the number of users instead of a rate";
    if (!m_load.fixedRate())
        return "the arrival rate follows a pattern (step, spike, diurnal or trace); it has no single rate to set";
    if (auto e = checkArrivalRate(rps); !e.empty())
        return e;
    m_scenario.workload.arrival.rateRps = rps;
    m_load.setRate(rps, m_now);
    return {};
}

std::string Engine::setUsers(int users)
{
    if (!m_load.closedLoop())
        return "the workload is open-loop: set an arrival rate instead of users";
    if (auto e = checkUsers(users); !e.empty())
        return e;
    m_scenario.workload.arrival.users = users;
    m_load.setUsers(users, m_now);
    return {};
}

std::string Engine::setAutoscaler(const AutoscalerConfig& config)
{
    if (auto e = checkAutoscaler(config); !e.empty())
        return e;
    m_scenario.deployment.autoscaler = config;
    if (config.policy == AutoscalerConfig::Policy::None) {
        m_autoscaler.reset(); // a pending tick finds no autoscaler and ends
        return {};
    }
    m_autoscaler = std::make_unique<Autoscaler>(config, m_now);
    m_autoscaler->observe(m_now, std::int64_t(m_queue.size()) + m_held);
    ++m_tickGeneration; // the old autoscaler's queued tick is now stale: one tick chain only
    m_tickPending = false;
    m_quietTicks = 0;
    scheduleTick();
    return {};
}

std::string Engine::setColdStart(double seconds)
{
    if (auto e = checkColdStart(seconds); !e.empty())
        return e;
    m_scenario.deployment.coldStartS = seconds;
    return {};
}

void Engine::applyChange(std::size_t index)
{
    const KnobChange& c = m_scenario.changes[index];
    // Validated with the scenario, so none of these can refuse.
    if (c.minReplicas || c.maxReplicas)
        setReplicaBounds(c.minReplicas.value_or(m_scenario.deployment.minReplicas),
                         c.maxReplicas.value_or(m_scenario.deployment.maxReplicas));
    if (c.predictConcurrency)
        setPredictConcurrency(*c.predictConcurrency);
    if (c.concurrencyTarget)
        setConcurrencyTarget(*c.concurrencyTarget);
    if (c.rateRps && m_load.fixedRate())
        setArrivalRate(*c.rateRps);
    if (c.users && m_load.closedLoop())
        setUsers(*c.users);
}

std::vector<std::string> Engine::warnings() const
{
    std::vector<std::string> out;
    if (auto w = targetBelowPredictWarning(m_scenario.deployment.concurrencyTarget, m_scenario.deployment.predictConcurrency);
        !w.empty())
        out.push_back(w);
    return out;
}

// ---------------------------------------------------------------- observation

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
