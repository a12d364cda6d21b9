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
    , m_scaling(m_scenario.deployment.autoscaler, 0)
    , m_executor(executor)
    , m_predictStage(m_scenario, m_now, m_events, m_requests, m_replicas.table(), m_metrics, executor, *this)
{
    m_metrics.measureStart = m_warmupEnd;
    for (int i = 0; i < m_scenario.deployment.effectiveInitialReplicas(); ++i)
        provisionReplica(/*ready=*/true);
    m_started = true;
}

Engine::~Engine() = default;

// ---------------------------------------------------------------- load and clock

void Engine::startLoad()
{
    if (m_loadStarted)
        return; // once: a second start would move the warm-up and repeat every knob change
    m_loadStarted = true;
    // The workload's clock starts here: its warm-up and its knob changes count from the load's start
    // (0 in virtual time; a live run may start it later, once its replicas have loaded their weights).
    m_loadStart = m_now;
    // So does the autoscaler's: its averaging window must not hold the wait before the load as idle time.
    if (m_now > 0)
        m_scaling.set(m_scenario.deployment.autoscaler, m_now, std::int64_t(m_queue.size()) + m_held);
    m_warmupEnd = m_now + secondsToNanos(m_scenario.workload.warmupS);
    m_metrics.measureStart = m_warmupEnd;
    m_load.start(m_now);
    scheduleTick();
    for (std::size_t i = 0; i < m_scenario.changes.size(); ++i)
        m_events.push(m_now + secondsToNanos(m_scenario.changes[i].atS), EventType::KnobChange, std::uint32_t(i));
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

void Engine::handle(const Event& e)
{
    switch (e.type) {
    case EventType::Arrival: {
        std::int32_t user = -1;
        double size = -1;
        if (m_load.onArrival(e, m_now, user, size)) {
            const Nanos taken = m_load.lastSendTimed() ? m_predictStage.timedSendTakenAt() : m_now;
            // Taken later, or behind sends still waiting (a send due at the instant an earlier one is taken
            // goes after it): in order.
            if (taken > m_now || !m_lateSends.empty()) {
                m_lateSends.push({m_now, user, size});
                m_events.push(taken, EventType::SendTaken, 0);
            } else {
                arrive(m_now, user, std::nullopt, size);
            }
        }
        break;
    }
    case EventType::SendTaken: {
        const LateSend s = m_lateSends.pop();
        arrive(s.sent, s.user, std::nullopt, s.size);
        break;
    }
    case EventType::PreprocessDone: preprocessDone(e.arg); break;
    case EventType::PredictDone:
    case EventType::CallDone:
    case EventType::DeviceDone:
    case EventType::BatchTimer:
    case EventType::DecodeStart: m_predictStage.handle(e); break;
    case EventType::PostprocessDone: finish(e.arg, Outcome::Completed); break;
    case EventType::ReplicaReady: replicaReady(e.arg); break;
    case EventType::KnobChange: applyChange(e.arg); break;
    case EventType::AutoscalerTick:
        if (m_scaling.current(e.generation))
            autoscalerTick();
        break;
    }
}

// ---------------------------------------------------------------- a request's life

std::uint32_t Engine::allocRequest()
{
    if (!m_freeRequests.empty()) {
        const std::uint32_t rq = m_freeRequests.back();
        m_freeRequests.pop_back();
        return rq;
    }
    m_requests.emplace_back();
    return std::uint32_t(m_requests.size() - 1);
}

void Engine::freeRequest(std::uint32_t rq) { m_freeRequests.push_back(rq); }

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
    const std::uint32_t rq = allocRequest();
    Request& r = m_requests[rq];
    r = Request{};
    r.id = m_nextRequestId++;
    r.intended = intended;
    r.arrived = m_now;
    r.user = user;
    r.measured = intended >= m_warmupEnd;
    if (times) {
        r.times = *times;
    } else {
        r.times.preprocess = m_preprocess.sampleAt(m_preprocessRng, m_now);
        r.times.predict = m_predict.sampleAt(m_predictRng, m_now);
        r.times.postprocess = m_postprocess.sampleAt(m_postprocessRng, m_now);
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
    if (m_scaling.autoscaler()) {
        scheduleTick(); // traffic after a quiet spell wakes the autoscaler again
        if (m_replicas.active() == 0 && m_scenario.deployment.maxReplicas > 0) {
            // Scale from zero: the request waits in the queue for a cold start.
            m_scaling.log({m_now, ScalingEvent::Action::ScaleFromZero, 0, 1,
                           "a request arrived with no replica: one is started; the request waits for its cold start"});
            provisionReplica(/*ready=*/false);
        }
    }

    if (overBudget) {
        finish(rq, Outcome::Rejected);
        return;
    }
    // FIFO: a newcomer is routed directly only when nobody is waiting ahead of it.
    if (m_queue.empty()) {
        if (const int ri = pickReplica(); ri >= 0) {
            admit(rq, ri);
            observeConcurrency();
            return;
        }
    }
    const std::int64_t limit = m_scenario.deployment.queueLimit;
    if (limit > 0 && std::int64_t(m_queue.size()) >= limit) {
        finish(rq, Outcome::Rejected);
        return;
    }
    m_queue.push(rq);
    m_metrics.occupancy.change(m_now, Stage::Queue, +1);
    observeConcurrency();
}

void Engine::dispatch()
{
    while (!m_queue.empty()) {
        const int ri = pickReplica();
        if (ri < 0)
            return;
        const std::uint32_t rq = m_queue.pop();
        m_metrics.occupancy.change(m_now, Stage::Queue, -1);
        admit(rq, ri);
    }
}

void Engine::admit(std::uint32_t rq, int ri)
{
    Replica& rep = m_replicas[std::size_t(ri)];
    if (rep.held >= limitOf(rep) || !rep.takesRequests())
        ++m_overAdmissions; // never expected: checkInvariants() reports it
    Request& r = m_requests[rq];
    ++rep.held;
    ++m_held;
    ++rep.preprocessing;
    r.routed = m_now;
    r.replica = rep.id;
    r.replicaIndex = ri;
    m_metrics.occupancy.change(m_now, Stage::Preprocess, +1);
    m_events.push(m_now + r.times.preprocess, EventType::PreprocessDone, rq);
}

void Engine::preprocessDone(std::uint32_t rq)
{
    Request& r = m_requests[rq];
    Replica& rep = m_replicas[std::size_t(r.replicaIndex)];
    --rep.preprocessing;
    r.preprocessDone = m_now;
    m_metrics.occupancy.change(m_now, Stage::Preprocess, -1);
    m_predictStage.enter(r.replicaIndex, rq);
}

// The request's predict ended (PredictStage): a failed call ends it, else on to postprocess.
void Engine::leavePredict(std::uint32_t rq)
{
    Request& r = m_requests[rq];
    if (r.times.predictFails) {
        finish(rq, Outcome::Failed);
        return;
    }
    ++m_replicas[std::size_t(r.replicaIndex)].postprocessing;
    m_metrics.occupancy.change(m_now, Stage::Postprocess, +1);
    m_events.push(m_now + r.times.postprocess, EventType::PostprocessDone, rq);
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

void Engine::finish(std::uint32_t rq, Outcome outcome)
{
    Request& r = m_requests[rq];
    r.done = m_now;
    r.outcome = outcome;
    const int ri = r.replicaIndex;
    if (ri >= 0) {
        Replica& rep = m_replicas[std::size_t(ri)];
        --rep.held;
        --m_held;
        ++rep.served;
        if (outcome == Outcome::Completed) {
            --rep.postprocessing;
            m_metrics.occupancy.change(m_now, Stage::Postprocess, -1);
            if (m_scenario.deployment.modifier.kind == ConcurrencyModifierConfig::Kind::Adaptive
                && learnReplicaLimit(m_scenario.deployment, m_scenario.model.batching.maxSequences, rep, r.done - r.routed))
                refreshLimitLevel();
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
    freeRequest(rq);
    if (user >= 0)
        m_load.onResponse(user, m_now, outcome == Outcome::Rejected);
    if (ri >= 0) {
        retireIfDrained(ri);
        dispatch();
    }
    observeConcurrency();
}

} // namespace knee
