// The serving engine: deployment queue → replicas → preprocess → predict slot → predict →
// postprocess (docs/DESIGN.md §1), as a discrete-event system over one event heap.
//
// The engine has no clock of its own. A driver advances it: the virtual clock (runToCompletion,
// as fast as the CPU allows, deterministic for a seed) or the live clock (runUntil(wall time) from a
// single paced timer on an event loop). One engine, two clocks: the semantics live only here.
#pragma once
#include "autoscaler.h"
#include "concurrency_modifier.h"
#include "event_queue.h"
#include "knob_move.h"
#include "load_generator.h"
#include "predict_executor.h"
#include "predict_stage.h"
#include "replica.h"
#include "replica_set.h"
#include "request.h"
#include "scaling_loop.h"
#include "scenario.h"

#include "metrics/run_metrics.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace knee {

struct ReplicaSnapshot {
    std::int32_t id = 0;
    ReplicaState state = ReplicaState::Ready;
    int held = 0, preprocessing = 0, waitingForPredict = 0, inPredict = 0, postprocessing = 0;
    std::int64_t served = 0;
    double predictBusyShare = 0; // share of its life with at least one request in predict
    Nanos readyAt = 0;
    int limit = 0;               // how many it may hold now: the target, or what the concurrency modifier allows
    int device = -1;             // the device it shares with others (placement), -1: one of its own
};

struct EngineSnapshot {
    Nanos now = 0;
    std::int64_t arrived = 0, completed = 0, failed = 0, rejected = 0;
    std::int64_t queued = 0, held = 0; // arrived = completed + failed + rejected + queued + held
    // The knobs as the engine has them now (slider moves and the scenario's timed changes applied): what
    // views, sliders and saved settings read.
    int concurrencyTarget = 0, predictConcurrency = 0, minReplicas = 0, maxReplicas = 0;
    double rateRps = 0;
    int users = 0;
    bool closedLoop = false;
    double coldStartS = 0;
    AutoscalerConfig autoscaler;
    std::vector<ReplicaSnapshot> replicas; // provisioned replicas, by id
    std::vector<DeviceSnapshot> devices;   // the devices predict runs on, with their calls in flight
    // With a real predict stage (PredictExecutor): calls that failed on the device, replicas that
    // could not start, and the newest such error, word for word.
    std::int64_t predictErrors = 0, replicaStartFailures = 0;
    // Predict calls started so far, and the time replicas spent with a request in predict, summed over every
    // replica of the run (removed ones included): both only grow (`knee serve`'s /metrics counters).
    std::int64_t predictCalls = 0;
    Nanos predictBusyNs = 0;
    std::string lastPredictError;
    // Set once the load was stopped because too many requests were queued or in service (the memory
    // budget, limits::kMaxRequestsInSystem): what happened, in words.
    std::string stopReason;
};

class Engine : public KnobSetters<Engine>, private PredictStage::Host {
public:
    // `scenario` must pass Scenario::validate(); the constructor throws std::invalid_argument if not.
    // With an `executor` (live runs only; it must outlive the engine), predict calls and replica starts
    // run on the real predict stage instead of being timed from the scenario.
    explicit Engine(const Scenario& scenario, PredictExecutor* executor = nullptr);
    ~Engine() override;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // --- load ---
    void startLoad(); // starts the scenario's workload (now) and schedules its knob changes from now
    Nanos loadStart() const { return m_loadStart; }
    // Injects one request at now() (tests, the HTTP front end). `intended` ≤ now() is when it was
    // meant to be sent; `times` overrides the sampled stage times; `tokens` > 0 overrides the sampled
    // response length (continuous batching: a client's max_tokens). Returns the request id.
    std::uint64_t submit(Nanos intended, const std::optional<StageTimes>& times = std::nullopt, int tokens = 0);

    // --- clock seam ---
    Nanos now() const { return m_now; }
    Nanos nextEventTime() const { return m_events.nextTime(); }
    // The next event is a load generator's send (an Arrival: it may yet be cancelled or refused).
    bool nextEventIsSend() const { return m_events.next() && m_events.next()->type == EventType::Arrival; }
    bool step();               // runs the next event; false when there is none
    void runUntil(Nanos t);    // runs every event at or before t, then moves now() to t
    // Virtual clock: runs until no event is left, or to the one-year limit of simulated time
    // (limits::kMaxDurationS; stopReasons() then says so).
    void runToCompletion();
    // Nothing will happen any more by itself: no event, no call on the real predict stage, no replica
    // starting on it (live runs end here; requests left in the queue stay counted as in flight).
    bool quiescent() const;

    // --- knobs (the setters: KnobSetters): act at now(); lowering never kills work, the excess drains.
    // Empty string = applied, else why it was refused (knob_move.h's rules).
    std::string applyKnob(const KnobMove& move);

    // --- the executor reports back (engine thread, at now()); an empty error means success.
    void predictCallDone(std::uint64_t callId, const std::string& error);
    void replicaProvisioned(std::int32_t replicaId, const std::string& error);
    std::vector<std::string> warnings() const; // allowed but flagged combinations, for the current knobs
    // Why the run ended before its workload did (the simulated-time limit, the memory budget for queued
    // requests), in words; empty when it ran its course.
    std::vector<std::string> stopReasons() const;
    // Requests queued or in service at once before the load stops (default limits::kMaxRequestsInSystem;
    // tests lower it to reach it quickly).
    void setRequestBudget(std::int64_t requests) { m_requestBudget = requests; }

    // --- observation ---
    EngineSnapshot snapshot() const;
    const RunMetrics& metrics() const { return m_metrics; }
    const Scenario& scenario() const { return m_scenario; } // knobs as they are now
    std::int64_t overAdmissions() const { return m_overAdmissions; } // must stay 0
    // Empty when every invariant of docs/DESIGN.md §1 holds, else what is broken.
    std::string checkInvariants() const;
    // Called once per request when it ends (completed, failed or rejected), with all its timestamps.
    void setObserver(std::function<void(const Request&)> observer) { m_observer = std::move(observer); }
    // Continuous batching: called for every token a sequence emits (its first at r.firstToken), before
    // the request ends; r.tokens - r.tokensLeft tokens have been emitted so far (a streaming front end).
    void setTokenObserver(std::function<void(const Request&)> observer) { m_tokenObserver = std::move(observer); }

    // Autoscaling: every decision with its reason (bounded: the first kMaxScalingEvents), replicas
    // provisioned after the start (cold starts), and replica-hours so far.
    static constexpr std::size_t kMaxScalingEvents = ScalingLoop::kMaxEvents;
    const std::vector<ScalingEvent>& scalingLog() const { return m_scaling.events(); }
    std::int64_t scalingEventsDropped() const { return m_scaling.dropped(); }
    std::int64_t coldStarts() const { return m_coldStarts; }
    double replicaHours() const;
    const Autoscaler* autoscaler() const { return m_scaling.autoscaler(); }
    const PredictStage& predictStage() const { return m_predictStage; }

private:
    void handle(const Event& e);
    void arrive(Nanos intended, std::int32_t user, const std::optional<StageTimes>& times, double size = -1, int tokens = 0);
    void dispatch();
    int pickReplica() const { return m_replicas.leastLoaded([this](const Replica& r) { return limitOf(r); }); }
    void admit(std::uint32_t rq, int replicaIndex);
    void preprocessDone(std::uint32_t rq);
    void leavePredict(std::uint32_t rq) override; // PredictStage::Host
    void tokenEmitted(const Request& r) override;   // PredictStage::Host
    void finish(std::uint32_t rq, Outcome outcome);
    void replicaReady(std::uint32_t replicaIndex);
    void applyChange(std::size_t index);
    void provisionReplica(bool ready);
    void drainReplica(int replicaIndex);
    void retireIfDrained(int replicaIndex);
    void removeReplica(int replicaIndex);
    void scaleTo(int active);
    void autoscalerTick();
    void scheduleTick();
    void observeConcurrency() { m_scaling.observe(m_now, std::int64_t(m_queue.size()) + m_held); }
    int limitOf(const Replica& r) const { return replicaLimit(m_scenario.deployment, m_scenario.model.batching.maxSequences, r); }
    void refreshLimitLevel();

    std::uint32_t allocRequest();
    void freeRequest(std::uint32_t rq);

    Scenario m_scenario;
    Nanos m_now = 0;
    EventQueue m_events;
    LoadGenerator m_load;
    RunMetrics m_metrics;
    Sampler m_preprocess, m_predict, m_postprocess, m_size, m_tokens;
    Rng m_preprocessRng, m_predictRng, m_postprocessRng, m_failureRng, m_sizeRng, m_tokensRng;
    bool m_sized; // request sizes vary
    Nanos m_warmupEnd;
    Nanos m_loadStart = 0; // when startLoad() ran
    bool m_loadStarted = false;

    // The pool of requests in the system; a request is named by its index here (`rq` in this code), and
    // entries are reused, so memory stays flat. "Slot" means only a place in predict (predict_concurrency).
    std::vector<Request> m_requests;
    std::vector<std::uint32_t> m_freeRequests;
    std::uint64_t m_nextRequestId = 0;
    RingQueue<std::uint32_t> m_queue; // the deployment queue (request indices)
    // Timed sends the live engine's thread takes late (ServiceTable::engineThreadWakeMs), oldest first:
    // each has its SendTaken event, and a later send is never taken earlier (PredictStage::timedSendTakenAt).
    struct LateSend {
        Nanos sent = 0;
        std::int32_t user = -1;
        double size = -1;
    };
    RingQueue<LateSend> m_lateSends;
    ReplicaSet m_replicas;
    std::int64_t m_held = 0;
    std::int64_t m_overAdmissions = 0;
    std::function<void(const Request&)> m_observer;
    std::function<void(const Request&)> m_tokenObserver;
    ScalingLoop m_scaling;
    std::int64_t m_coldStarts = 0;
    bool m_started = false; // replicas provisioned from now on are cold starts
    int m_limitLevel = 0;
    // The real predict stage (live runs), replicas that could not start on it.
    PredictExecutor* m_executor = nullptr;
    std::int64_t m_replicaStartFailures = 0;
    Nanos m_retiredPredictBusyNs = 0; // predict-busy time of replicas already removed
    PredictStage m_predictStage; // last: it holds references to the members above
    std::int64_t m_requestBudget = limits::kMaxRequestsInSystem;
    std::string m_budgetStop;   // the memory budget for queued requests stopped the load
    bool m_timeLimitStop = false; // runToCompletion stopped at the simulated-time limit
};

} // namespace knee
