// A scenario: the deployment, the model's stage times, the workload and timed knob changes.
// It is what a scenario YAML file holds (engine/io reads it) and what the engine runs.
#pragma once
#include "distribution.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace knee {

// Bounds that keep a hostile or mistyped scenario from asking for absurd memory or time.
namespace limits {
inline constexpr int kMaxConcurrency = 100'000;     // concurrency_target, predict_concurrency
inline constexpr int kMaxReplicas = 10'000;
inline constexpr int kMaxUsers = 1'000'000;         // closed-loop users
inline constexpr double kMaxRateRps = 10'000'000.0;
inline constexpr double kMaxStageMs = 86'400'000.0; // one day
inline constexpr double kMaxDurationS = 31'536'000.0; // one year of simulated time
inline constexpr std::int64_t kMaxRequests = 10'000'000'000;
inline constexpr std::size_t kMaxEmpiricalValues = 1'000'000;
// Requests queued or in service at once in one run: beyond this the load far exceeds what the replicas
// serve, and memory (about 150 bytes a request) would grow without bound. Above kMaxUsers, so a closed
// loop never reaches it.
inline constexpr std::int64_t kMaxRequestsInSystem = 2'000'000;
} // namespace limits

// How the replica count follows traffic. "none" keeps the count fixed (it only moves to stay
// inside min/max when those change). Defaults and ranges are the platforms' own.
struct AutoscalerConfig {
    enum class Policy { None, Baseten, Knative };
    Policy policy = Policy::None;
    double evaluationIntervalS = 2.0;   // how often the autoscaler decides (Knative's tick is 2 s)
    double targetUtilization = 0.70;    // share of the concurrency target to aim for (1 %–100 %)
    // Baseten
    double windowS = 60.0;              // averaging window, 10–3600 s
    double scaleDownDelayS = 900.0;     // 0–3600 s: excess replicas go only after this long
    double maxScaleDownRate = 0.5;      // largest share of active replicas removed in one step (0–1]
    // Knative (KPA)
    double panicWindowPercent = 10.0;   // panic window as a share of the stable window (windowS)
    double panicThresholdPercent = 200.0; // panic when the panic-window demand reaches this share of ready capacity
    double scaleToZeroGraceS = 30.0;    // with min 0: no traffic for this long removes the last replica
    double maxScaleUpRate = 1000.0;     // at most this many times the ready replicas in one step
    double knativeMaxScaleDownRate = 2.0; // at most ready / this removed in one step
};
const char* toString(AutoscalerConfig::Policy policy);
bool autoscalerPolicyFromString(const std::string& name, AutoscalerConfig::Policy& out);

// RunPod's concurrency_modifier (seed 001): before a replica takes more work it asks how many it
// may hold now. The replica's limit is min(concurrency_target, the modifier's answer).
struct ConcurrencyModifierConfig {
    enum class Kind { None, Fixed, EngineMax, Adaptive };
    Kind kind = Kind::None;
    int fixed = 0;            // Fixed: the constant the handler returns
    int engineMax = 0;        // EngineMax: the predict engine's own capacity (e.g. KV-cache sequences)
    // Adaptive (a gradient limiter, as in Netflix's concurrency-limits): raises the limit while the
    // replica's latency stays near its best, lowers it when latency grows.
    int initialLimit = 4;
    int minLimit = 1;
    int maxLimit = 1000;
    double tolerance = 1.5;   // latency up to tolerance × the best seen counts as "no queueing"
    double smoothing = 0.2;   // how far each update moves towards the new estimate
};
const char* toString(ConcurrencyModifierConfig::Kind kind);
bool modifierKindFromString(const std::string& name, ConcurrencyModifierConfig::Kind& out);

struct DeploymentConfig {
    int minReplicas = 1;
    int maxReplicas = 1;
    int initialReplicas = 0;        // replicas ready at t = 0; 0 means max(min, 1)
    int concurrencyTarget = 1;      // most requests one replica holds, routing to response
    int predictConcurrency = 1;     // most requests inside predict at once, per replica
    double coldStartS = 0.0;        // a replica added during the run serves after this long
    std::int64_t queueLimit = 0;    // deployment-queue capacity; 0 = unbounded, else excess arrivals are rejected
    AutoscalerConfig autoscaler;
    ConcurrencyModifierConfig modifier;
    double costPerReplicaHour = 0;  // $ per GPU-hour, for replica-hour cost
    // Placement of replicas on devices (GPUs). 0: each replica has a device of its own, as on Baseten,
    // RunPod and Knative with GPUs. N > 0: replicas share N devices, each new replica going to the device
    // that holds the fewest (lowest index on ties): what a local live run on N GPUs does.
    int devices = 0;

    int effectiveInitialReplicas() const { return initialReplicas > 0 ? initialReplicas : std::max(minReplicas, 1); }
};

// Time of one predict call T(b, k) against its batch size b and the calls k in flight on its device,
// measured on the real predict stage (`knee calibrate`): what the GPU physics give, memory-bound at small
// batch, compute-bound at large, and how calls in flight share the device's bandwidth and SMs.
struct ServiceTable {
    ServiceTable() = default;
    // A one-dimensional table: T(b, 1) by batch size.
    ServiceTable(std::vector<int> batchSizes, std::vector<double> msPerCall, std::string from = {})
        : batch(std::move(batchSizes))
        , ms(std::move(msPerCall))
        , source(std::move(from))
    {
    }
    std::vector<int> batch;     // increasing, from 1
    std::vector<double> ms;     // T(b, 1): one call alone on the device, by batch size
    std::string source;         // where it was measured (device, model, date)
    // Optional second axis: T(b, k) for k = concurrency[j] (increasing, each > 1) is msShared[j][i].
    // Empty: a one-dimensional table, measured at k = 1 only.
    std::vector<int> concurrency;
    std::vector<std::vector<double>> msShared;
    // The live engine's own cost per call outside the device (the completion's hand-off to the engine
    // thread, measured by `knee calibrate`): added to every call, never shared.
    double overheadMs = 0;
    // How much one call's time varies around the table's median (host scheduling, wake-ups): the ratio of
    // a call's time to its median at the quantiles kVariationQuantiles, measured by `knee calibrate`.
    // Each virtual call's work is multiplied by a draw from it. Empty: every call takes the median.
    std::vector<double> variation;
    // Where given, a call that starts alone on its device draws from this instead (same quantiles), and
    // `variation` is then that of calls that start beside others. Why: one call alone varies otherwise than
    // calls that share the device, whose pool (eight calls in flight count most) `variation` holds; on the
    // H200 `large` alone reached 1.38x its median at p95 where the pool said 1.17 (run 27's calibration), 1.18
    // against 1.09 in run 28's (BENCHMARKS.md "Fidelity", twenty-third session). Empty: every call draws from `variation`.
    std::vector<double> variationAlone;
    const std::vector<double>& variationOfOne() const { return variationAlone.empty() ? variation : variationAlone; }
    // Where given (with the concurrency axis: one row of quantiles per concurrency above 1), a call that starts
    // with k calls in flight on its device (itself included, k > 1) draws from the row at k instead of
    // `variation`: linear in k between rows (from variationOfOne at k = 1), flat beyond the last. Why: the
    // pooled `variation` is mostly the k = 8 points' (800 of 1,400 samples), whose calls started together
    // end in the order the host hands them back (0.59-1.53x the median on the H100's `medium`), where two
    // calls in flight spread 0.92-1.05x; drawn for every shared call, it broke the lockstep the live run's
    // pairs keep and widened their p95 (BENCHMARKS.md "Fidelity", thirty-fifth session). Empty: `variation`.
    std::vector<std::vector<double>> variationShared;
    // The variation quantile at `u` (a uniform draw) for a call that starts with k calls in flight.
    double variationAt(double u, int k) const;
    // Values given at kVariationQuantiles, read at the quantile u: linear between quantiles, clamped at the
    // outermost (1 for none).
    static double valueAtQuantile(const std::vector<double>& q, double u);
    static constexpr double kVariationQuantiles[] = {0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99};
    static constexpr std::size_t kP50 = 4, kP95 = 7; // kVariationQuantiles[kP50] is 0.5, [kP95] 0.95 (static_asserts after DeviceSharing hold them)
    // A call that finds its device idle takes longer the longer it was idle (the threads that notify
    // completions were asleep and wake slower, most of all on virtual machines): extra time by idle gap,
    // linear between measured gaps, flat beyond. Empty: no such cost.
    std::vector<double> idleGapMs, idleExtraMs;
    double idleExtraAt(double gapMs) const;
    // Where given, a call that no batcher's timer released (a request's arrival or a call's end started it:
    // no batching, continuous batching, a full batch) pays this curve instead (same reading: linear between
    // gaps, from 0 at no gap, flat beyond), and idleGapMs/idleExtraMs stay for the batches the timer
    // released. Why: `knee calibrate` sets idleExtraMs from live runs whose every call the batcher's timer
    // released, so it holds the timer's own lateness too; calls that an arrival started met the device's
    // wake-up alone (its live open-loop run's calls by gap, LiveOpenPoint::callIdle). On the H100 `medium`'s
    // calls under Poisson load took 0.012 ms more after gaps of 0.5-2 ms than back to back where the
    // batcher's curve charged 0.045-0.053, and virtual p95 came out 14-23 % above live at predict_concurrency
    // 1 (BENCHMARKS.md "Fidelity", thirty-fourth session). Empty: every call pays idleExtraMs.
    std::vector<double> callIdleGapMs, callIdleExtraMs;
    double callIdleExtraAt(double gapMs) const;
    // How much that wake-up varies: a call's host time after an idle gap minus its gap's mean, in ms, at the
    // quantiles kVariationQuantiles, pooled over `knee calibrate`'s idle gaps from idleJitterFromMs on. A call
    // that starts on a device idle at least idleJitterFromMs (or never used) adds a draw from it to its idle
    // extra, off the device (a wake-up below 0 is none). Centred on each gap's mean, the draws add no mean
    // of their own: the idle extra stays the wake-up's centre and only its spread widens. Why: on the H200
    // a call after a gap of 0.1-2 ms took p95 1.2-2.9x its gap's median, against 1.07x back to back, and
    // dynamic batching, whose every batch starts after the batcher's delay, ran live p95 16-49 % above
    // virtual in closed loops (BENCHMARKS.md "Fidelity", eighteenth session). Empty: every such call takes
    // the idle extra exactly.
    std::vector<double> idleJitterMs;
    double idleJitterFromMs = 0;
    // Which of the calls in flight the device serves first (DeviceSharing::order), measured on this device
    // (bench/predict/order_bench.cpp): used when the scenario states no model.predict_sharing.
    double order = 0;
    // The end of each call that does not load the device (the host's wait for the result, the copy back,
    // the completion's wake-up), in ms: a call of solo time T(b, 1) is T(b, 1) - tail_ms of device work
    // shared with the calls in their device work, at (T(b, 1) - tail) / (T(b, k) - tail) of its solo speed,
    // then tail_ms on its own. Calls started together still take T(b, k); calls that overlap only in a tail
    // do not slow each other, as `knee-bench-order` measures on the H200 (docs/DESIGN.md "The device").
    // Used with the table's sharing (DeviceSharing::Kind::Table); 0: the whole call loads the device.
    double tailMs = 0;
    // The device's own time per call, D(b, k) (CUDA events around the copies and layers: what the GPU's clock
    // sees of a call, without its launch, wait and hand-off), in the shape of `ms` and `msShared`. Where
    // given (with the table's sharing, instead of tailMs), a call of batch b and solo time s is
    // s * D(b, 1) / T(b, 1) of device work, shared with the calls in their device work at D(b, 1) / D(b, k)
    // of its solo speed, and the rest of s off the device after it. Why: the host's times of k calls
    // started together hold the host's own contention (their launches and completions at once), which
    // calls that overlap only in part do not meet: on the H100 `medium`'s Poisson calls that shared the
    // device took 0.84-0.89 of what rates from host times charged, and 0.97-1.02 of what rates from
    // device times charged, up to four slots (BENCHMARKS.md "Fidelity", thirty-fifth session). `knee
    // calibrate` leaves them out of its table: on the stored runs the costs by k fitted beside them did not
    // saturate beyond the table's last row, and deep closed loops moved away. Empty: host times only.
    std::vector<double> deviceMs;
    std::vector<std::vector<double>> deviceMsShared;
    bool hasDeviceTimes() const { return !deviceMs.empty(); }
    double deviceMsAt(double batchSize, double callsInFlight) const; // D(b, k), read as msAt(b, k) reads T
    // The live engine's one thread: its time per call (the completion's hand-off, the stages' bookkeeping,
    // the event loop's turn), shared by every call of the run, one after another. A call whose hand-off
    // (after its tail and idle wake-up) finds the thread still busy with earlier ones waits for it. Why:
    // run 23 measured `small`'s engine thread 21-45 us busy per call, 80-98 % busy at 26,000-39,000 calls/s,
    // where live p95 under Poisson load rose far above virtual's (BENCHMARKS.md "Fidelity"). Charged only
    // where the scenario places its replicas on local devices (DeploymentConfig::devices > 0), as a live run
    // does; on the platforms each replica has a server of its own. 0: no such thread.
    double engineThreadMs = 0;
    // How late that thread, asleep, takes a send of its own timer (an open-loop arrival, or a closed-loop
    // user's after a think time): ms at the quantiles kVariationQuantiles, what `knee calibrate` measures
    // in a live open-loop run. Where given (and the thread is charged), such a send enters the deployment
    // after a draw from it, or at once where a hand-off's turn queued before then wakes the thread first;
    // where the thread is in a hand-off's turn, when that turn ends; one due while the thread still wakes
    // for an earlier send, in the same turn; always in the order they were sent. Its latency counts from when
    // it was sent (the wait is in no stage's part). A closed loop without think time sends in the turn that
    // ended the user's last request: never late. Why: the live clock wakes for a timed event 9-10 us late
    // at the median and 28-29 at p95 (H100 and H200 alike); on `small` under Poisson load at 50 % of
    // capacity, virtual p95 ran 8.0 % (H100, run 30) and 9.2 % (H200, run 27) below live at the median
    // (BENCHMARKS.md "Fidelity", twenty-fifth session). Empty: a send enters at once.
    std::vector<double> engineThreadWakeMs;
    // With a concurrency axis, overhead_ms and engine_thread_ms may also be given for each k of it (one
    // value per concurrency row, k = 1 first: overheadMs and engineThreadMs, then these for
    // concurrency[j]); empty: the k = 1 values at every k. A call is charged the values at the most calls in
    // flight on its device while it was there (linear in k between rows, flat beyond). Why: on the H200
    // two calls in flight ran 7-14 % slower live than virtual where one, four or eight agreed, the slot
    // waiting 0.033 ms after each call where it waited 0.013 at predict_concurrency 1 (runs 25-27), and
    // `small`'s engine thread spent 28-31 us per call at 25,000-35,000 calls/s against the 40.7 us of its
    // one-call queue run (BENCHMARKS.md "Fidelity", twenty-third session).
    std::vector<double> overheadSharedMs, engineThreadSharedMs;
    double overheadAt(int callsInFlight) const { return byConcurrency(overheadMs, overheadSharedMs, callsInFlight); }
    double engineThreadAt(int callsInFlight) const { return byConcurrency(engineThreadMs, engineThreadSharedMs, callsInFlight); }
    bool empty() const { return batch.empty(); }
    bool hasConcurrency() const { return !concurrency.empty(); }
    double msAt(double batchSize) const; // T(b, 1): linear between measured sizes, linear beyond the last two
    // T(b, k): linear in k between measured rows; beyond the last row the device is saturated (k calls
    // take k / k_max times as long as k_max calls did). A one-dimensional table has no answer beyond
    // k = 1: callers choose what to assume (DeviceSharing).
    double msAt(double batchSize, double callsInFlight) const;

private:
    double byConcurrency(double atOne, const std::vector<double>& shared, int k) const;
};

// How predict calls in flight on one device share it (docs/DESIGN.md "The device"): each call of batch b
// progresses at T(b, 1) / T(b, k) of its solo speed while k calls are in flight.
struct DeviceSharing {
    enum class Kind {
        Independent, // calls never slow each other: predict waits on I/O or a remote service (T(b, k) = T(b, 1))
        Serial,      // no speed-up: k calls in flight each go at 1/k speed (processor sharing)
        Speedup,     // a given curve: k calls in flight complete S(k) times the work one call alone does
        Table,       // the predict_table's concurrency axis
    };
    Kind kind = Kind::Independent;
    std::vector<double> speedup; // Speedup: S(1) = 1, S(2), …; beyond the last, flat (the device is saturated)
    // How the device divides its speed among the calls in flight; never what it does in all (k calls of
    // one batch size do S(k) calls' work per solo call time whatever the order). 0: processor sharing, every
    // call at T(b, 1) / T(b, k) of its solo speed. 1: oldest first, the earliest call at up to its solo
    // speed, the next at up to its own with what is left, and so on. Between: that blend of the two.
    // Why: a GPU's block scheduler dispatches the earlier kernel's blocks first, so an earlier call is slowed
    // less than processor sharing says. Closed loops cannot see it (their throughput and mean latency
    // are the same for any order); random arrivals can (docs/DESIGN.md "The device").
    double order = 0;
    bool given = false;          // stated in the scenario (else derived from the table: see effective())
};
static_assert(ServiceTable::kVariationQuantiles[ServiceTable::kP95] == 0.95);
static_assert(ServiceTable::kVariationQuantiles[ServiceTable::kP50] == 0.5);
const char* toString(DeviceSharing::Kind kind);
bool sharingKindFromString(const std::string& name, DeviceSharing::Kind& out);

// How predict runs requests. None: each request is its own call in its predict slot (with a table,
// the table's time for batch 1); calls in flight on one device share it (DeviceSharing). Dynamic: the
// batcher inside predict (as Truss's async batchers) collects the requests in predict and launches one
// call at a time, of up to max_batch requests, when that many wait or the oldest has waited max_delay_ms.
// Continuous: an LLM-style decode loop. Each step is one forward pass over the active sequences
// (its time: the table's time for that many, else the predict distribution's mean); every active
// sequence emits one token per step; sequences join and leave between steps; at most max_sequences
// are active (the KV-cache budget), which is also the engine's own maximum concurrency that RunPod's
// concurrency_modifier (kind engine_max, no value) reports.
struct BatchingConfig {
    enum class Mode { None, Dynamic, Continuous };
    Mode mode = Mode::None;
    int maxBatch = 32;
    double maxDelayMs = 5;
    int maxSequences = 64;                                    // continuous
    Distribution outputTokens = Distribution::constant(128); // continuous: tokens per response (the value, not ms)
    // Continuous: a step in which sequences join takes this much longer for each of them (their prompts'
    // prefill, which servers such as vLLM run inside the decode step): the joiners' first token and every
    // other sequence's next one wait for it. Virtual time; a live run's steps take what the device takes.
    double prefillMs = 0;
};

struct ModelConfig {
    Distribution preprocess = Distribution::constant(0);
    Distribution predict = Distribution::constant(0);
    Distribution postprocess = Distribution::constant(0);
    double predictFailureRate = 0.0; // share of predict calls that fail; the request ends as failed
    ServiceTable predictTable;       // optional: calibrated time per call vs batch size (and calls in flight)
    BatchingConfig batching;
    // How calls in flight on one device share it. When the scenario does not say: the table's
    // concurrency axis if it has one; Serial for a one-dimensional table (measured at k = 1 only: no
    // speed-up is assumed, and the run says so); Independent for times from the distributions alone.
    DeviceSharing sharing;
    DeviceSharing effectiveSharing() const;
    // The most predict calls one device can hold at once: a replica's (without batching predict_concurrency,
    // or fewer where the concurrency target holds fewer requests and no concurrency modifier moves it; one
    // call with batching) times the replicas a device can hold (max replicas over `devices`, rounded up; one
    // with a device per replica, devices 0).
    int maxCallsOnDevice(const DeploymentConfig& d, int devices) const;
    // What the run assumes about sharing, in words, when the scenario leaves it open and it matters (a
    // one-dimensional table, or distribution times with predict_concurrency > 1), or when the placement can
    // put more calls on a device than the measured rows (the table's concurrency axis, a speedup curve)
    // reach: beyond the last the device is taken as saturated. Empty otherwise. `devices`: the placement's
    // (a live run's executor may have its own).
    std::string sharingAssumption(const DeploymentConfig& d, int devices) const;
    // The model a live run's predict stage really runs (a built-in MLP profile: tiny, small, medium,
    // large, xl). Empty: live runs time predict from the fields above, like virtual runs always do.
    std::string profile;
};

struct RateStep {
    double atS = 0;
    double rateRps = 0;
};
struct TraceRecord {
    double atS = 0;
    double size = 1; // request size (scales preprocess and predict time); 1 when the trace has none
};

struct ArrivalConfig {
    // Poisson and Constant: a fixed rate. Step, Spike, Diurnal: Poisson arrivals at a rate that
    // follows a shape over time. Trace: replay of recorded send times. Closed: N users.
    enum class Kind { Poisson, Constant, Closed, Step, Spike, Diurnal, Trace };
    Kind kind = Kind::Poisson;
    double rateRps = 0.0;                           // open loop: the rate (step, spike: the base rate)
    int users = 0;                                  // closed loop
    Distribution think = Distribution::constant(0); // closed loop: pause between a response and the next send
    std::vector<RateStep> steps;                    // step: the rate from each at_s on
    double spikeRps = 0, spikeAtS = 0, spikeDurationS = 0; // spike
    double baselineRps = 0, peakRps = 0, periodS = 86400, peakAtS = 43200; // diurnal (cosine between baseline and peak)
    std::vector<TraceRecord> trace;                 // trace: sorted send times (s from start) and sizes
    std::string traceFile;                          // trace: the file it was read from, as the scenario names it

    static ArrivalConfig poisson(double rps) { return fixedRate(Kind::Poisson, rps); }
    static ArrivalConfig constantRate(double rps) { return fixedRate(Kind::Constant, rps); }
    static ArrivalConfig closed(int users, Distribution think = Distribution::constant(0))
    {
        ArrivalConfig a;
        a.kind = Kind::Closed;
        a.users = users;
        a.think = std::move(think);
        return a;
    }
    static ArrivalConfig fixedRate(Kind kind, double rps)
    {
        ArrivalConfig a;
        a.kind = kind;
        a.rateRps = rps;
        return a;
    }

    bool openLoop() const { return kind != Kind::Closed; }
    bool hasFixedRate() const { return kind == Kind::Poisson || kind == Kind::Constant; }
    double rateAt(double tS) const;                 // the shaped rate at time t (open-loop patterns)
    double maxRate() const;                         // its largest value (for thinning)
    // Step and spike (piecewise constant): the first instant after tS at which the rate changes,
    // infinity when it never does again.
    double nextRateChange(double tS) const;
};

const char* toString(ArrivalConfig::Kind kind);

// The rules for each knob, shared by scenario validation, the engine's setters and the UI, so a
// value is judged the same wherever it is entered. Empty string = allowed, else why not.
std::string checkConcurrencyKnob(const char* name, int value); // concurrency_target, predict_concurrency
std::string checkReplicaBounds(int minReplicas, int maxReplicas);
std::string checkArrivalRate(double rps);
std::string checkUsers(int users);
std::string checkAutoscaler(const AutoscalerConfig& config);
std::string checkColdStart(double seconds);
// A rate or a number of users set on a running workload: refused when the workload has none of that
// kind (a closed loop has users, a shaped or replayed open loop no single rate), else the value's range.
std::string checkArrivalRateFor(const ArrivalConfig& arrival, double rps);
std::string checkUsersFor(const ArrivalConfig& arrival, int users);
// The flag for an allowed but self-defeating pair (seed 002): empty when target >= predict_concurrency.
std::string targetBelowPredictWarning(int concurrencyTarget, int predictConcurrency);
bool arrivalKindFromString(const std::string& name, ArrivalConfig::Kind& out);

struct WorkloadConfig {
    ArrivalConfig arrival;
    // Optional request sizes: each request draws a size (mean 1) that multiplies its preprocess and
    // predict time. Constant 1 (the default) means all requests alike.
    Distribution requestSize = Distribution::constant(1);
    std::int64_t requests = 0; // stop sending after this many arrivals; 0 = no count limit
    double durationS = 0.0;    // stop sending after this much simulated time; 0 = no time limit
    double warmupS = 0.0;      // requests sent before this are served but left out of the statistics
    std::uint64_t seed = 1;
};

// A knob change at a simulated time: what a user's slider move would do, scripted.
struct KnobChange {
    double atS = 0.0;
    std::optional<int> concurrencyTarget;
    std::optional<int> predictConcurrency;
    std::optional<int> minReplicas;
    std::optional<int> maxReplicas;
    std::optional<double> rateRps; // open loop
    std::optional<int> users;      // closed loop
};

// Where a twin's values came from (DESIGN.md "A twin of a real deployment"): `knee fit` sets it on the
// scenario it fits to an endpoint sweep, so whoever opens the file sees what it is a twin of, when it was
// measured, and how well it replays what was measured. The engine never reads it.
struct TwinErrors {
    // (twin - measured) / measured in percent, one value per level in `concurrency` in each column;
    // the stream columns are empty for a model that does not stream.
    std::vector<int> concurrency;
    std::vector<double> throughputPct, p50Pct, p95Pct;
    std::vector<double> ttftP50Pct, ttftP95Pct, itlP50Pct;
    std::string validate(const char* name) const; // empty when every column has one value per level
};
struct TwinSource {
    std::string endpoint;   // the URL measured (or the engine sweep's scenario)
    std::string mode;       // the sweep's mode: http, live, virtual
    std::string measuredAt; // ISO 8601, when known
    std::string fittedAt;   // ISO 8601
    std::string session;    // the session file, when the fit read one
    std::vector<int> levels; // the levels fitted
    TwinErrors replay;       // the twin replaying those levels
    TwinErrors crossValidation; // each level predicted by a twin fitted without it
    std::vector<std::string> notes; // the fit's choices and caveats
};

struct Scenario {
    std::string name;
    DeploymentConfig deployment;
    ModelConfig model;
    WorkloadConfig workload;
    std::vector<KnobChange> changes; // sorted by atS
    std::optional<TwinSource> twin;  // a twin's provenance (knee fit); absent for scenarios people write

    // Empty when the scenario can run, else the first problem in words (programmatic
    // construction; the YAML reader reports the same rules with file and line).
    std::string validate() const;
    // Things that are allowed but probably not meant (e.g. concurrency_target < predict_concurrency).
    std::vector<std::string> warnings() const;
};

} // namespace knee
