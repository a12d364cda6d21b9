// A scenario: the deployment, the model's stage times, the workload and timed knob changes.
// It is what a scenario YAML file holds (engine/io reads it) and what the engine runs.
#pragma once
#include "distribution.h"

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
} // namespace limits

struct DeploymentConfig {
    int minReplicas = 1;
    int maxReplicas = 1;
    int initialReplicas = 0;        // replicas ready at t = 0; 0 means max(min, 1)
    int concurrencyTarget = 1;      // most requests one replica holds, routing to response
    int predictConcurrency = 1;     // most requests inside predict at once, per replica
    double coldStartS = 0.0;        // a replica added during the run serves after this long
    std::int64_t queueLimit = 0;    // deployment-queue capacity; 0 = unbounded, else excess arrivals are rejected

    int effectiveInitialReplicas() const { return initialReplicas > 0 ? initialReplicas : std::max(minReplicas, 1); }
};

struct ModelConfig {
    Distribution preprocess = Distribution::constant(0);
    Distribution predict = Distribution::constant(0);
    Distribution postprocess = Distribution::constant(0);
    double predictFailureRate = 0.0; // share of predict calls that fail; the request ends as failed
};

struct ArrivalConfig {
    enum class Kind { Poisson, Constant, Closed };
    Kind kind = Kind::Poisson;
    double rateRps = 0.0;                           // open loop (poisson, constant)
    int users = 0;                                  // closed loop
    Distribution think = Distribution::constant(0); // closed loop: pause between a response and the next send
};

const char* toString(ArrivalConfig::Kind kind);

// The rules for each knob, shared by scenario validation, the engine's setters and the UI, so a
// value is judged the same wherever it is entered. Empty string = allowed, else why not.
std::string checkConcurrencyKnob(const char* name, int value); // concurrency_target, predict_concurrency
std::string checkReplicaBounds(int minReplicas, int maxReplicas);
std::string checkArrivalRate(double rps);
std::string checkUsers(int users);
// The flag for an allowed but self-defeating pair (seed 002): empty when target >= predict_concurrency.
std::string targetBelowPredictWarning(int concurrencyTarget, int predictConcurrency);
bool arrivalKindFromString(const std::string& name, ArrivalConfig::Kind& out);

struct WorkloadConfig {
    ArrivalConfig arrival;
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

struct Scenario {
    std::string name;
    DeploymentConfig deployment;
    ModelConfig model;
    WorkloadConfig workload;
    std::vector<KnobChange> changes; // sorted by atS

    // Empty when the scenario can run, else the first problem in words (programmatic
    // construction; the YAML reader reports the same rules with file and line).
    std::string validate() const;
    // Things that are allowed but probably not meant (e.g. concurrency_target < predict_concurrency).
    std::vector<std::string> warnings() const;
};

} // namespace knee
