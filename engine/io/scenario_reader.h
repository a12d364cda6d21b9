// Reads and writes scenario YAML files (the format is in docs below and in tests/data/scenarios/).
// Every problem is reported with file, line, column and dotted key, all of them rather than the
// first; hostile input (binary, huge, deeply nested, alias bombs) gives errors, never a crash or a hang.
//
// Format (keys snake_case, durations carry their unit):
//   name: text                                   optional
//   deployment:
//     replicas: {min: 1, max: 1, initial: 1}     initial optional (absent or 0: max(min, 1))
//     concurrency_target: 4
//     predict_concurrency: 2                     optional, default 1
//     cold_start_s: 0                            optional
//     queue_limit: 0                             optional, 0 = unbounded
//   model:
//     preprocess:  {dist: exponential, mean_ms: 4}   optional, default 0 ms
//     predict:     {dist: lognormal, mean_ms: 10, sigma: 0.4}
//     postprocess: 2                                  a bare number is a constant time in ms; optional
//     predict_failure_rate: 0.0                       optional, 0..1
//   workload:
//     arrival: {kind: poisson, rate_rps: 300}    or constant; or {kind: closed, users: 8, think: <dist>}
//     requests: 200000                           at least one of requests, duration_s > 0
//     duration_s: 0
//     warmup_s: 0                                optional
//     seed: 42                                   optional, default 1
//   changes:                                     optional; sorted by at_s when read
//     - {at_s: 10, concurrency_target: 1, predict_concurrency: 1, replicas: {min: 1, max: 2}, rate_rps: 100, users: 4}
// Distributions: dist is constant | exponential | lognormal (sigma, default 0.5) | uniform (spread_ms,
// default mean_ms) | empirical (values_ms: [..], optional weights: [..], optional mean_ms rescales).
// Aliases (*name) are accepted as values; merge keys (<<) are not.
#pragma once
#include "sim/scenario.h"
#include "io/user_file.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace knee {

struct ScenarioError {
    std::string file;
    int line = 0; // 1-based; 0 when the problem has no place in the text (a missing file)
    int column = 0; // 1-based, in characters
    std::string key; // dotted path, e.g. workload.arrival.rate_rps or changes[2].users; empty when none
    std::string message;

    // "file:line:col: key 'workload.arrival.rate_rps': expected a number > 0 and <= 10000000, got 'abc'"
    std::string toString() const;
};

struct ScenarioReadResult {
    std::optional<Scenario> scenario; // set only when there are no errors
    std::vector<ScenarioError> errors;
    std::vector<std::string> warnings; // allowed but probably not meant; formatted like errors

    bool ok() const { return scenario.has_value() && errors.empty(); }
};

// Larger files are refused before they are read (io/user_file.h says why).
inline constexpr std::size_t kMaxScenarioFileBytes = io::kScenarioFile.maxBytes;

// File problems (missing, a directory, a pipe or device, unreadable, too large, not UTF-8) are
// ScenarioErrors too; the file is read through io::readUserFile. `text`, when given, receives the
// bytes read (for a session that keeps the scenario as written).
ScenarioReadResult readScenarioFile(const std::string& path, std::string* text = nullptr);
// `sourceName` stands for the file in messages.
ScenarioReadResult readScenarioText(const std::string& yaml, const std::string& sourceName);

// Canonical YAML for a scenario; reading it back gives an equal scenario (every field the format
// carries; a closed loop's rate and an open loop's users and think time are not carried).
std::string writeScenarioYaml(const Scenario& scenario);
// A predict_table as one flow-style YAML map (what `knee calibrate` writes and scenarios embed).
std::string writePredictTableYaml(const ServiceTable& table);

} // namespace knee
