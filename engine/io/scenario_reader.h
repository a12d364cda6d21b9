// Reads and writes scenario YAML files (yaml-cpp). Every problem is reported with the file, the
// line and column, the dotted key, what was expected and what was found; all problems at once
// (up to kMaxErrors), never by throwing or crashing, whatever the bytes.
#pragma once
#include "sim/scenario.h"

#include <optional>
#include <string>
#include <vector>

namespace knee {

struct ScenarioError {
    std::string file;
    int line = 0;   // 1-based; 0 when the problem has no place in the file
    int column = 0; // 1-based
    std::string key; // dotted path, e.g. "workload.arrival.rate_rps"
    std::string message;
    std::string toString() const; // "file:line:col: key 'k': message"
};

struct ScenarioReadResult {
    std::optional<Scenario> scenario; // only when there are no errors
    std::vector<ScenarioError> errors;
    std::vector<std::string> warnings;
    bool ok() const { return scenario.has_value() && errors.empty(); }
};

inline constexpr std::size_t kMaxScenarioBytes = 16u * 1024 * 1024;
inline constexpr std::size_t kMaxErrors = 50;
inline constexpr std::size_t kMaxChanges = 100'000;

ScenarioReadResult readScenarioFile(const std::string& path);
ScenarioReadResult readScenarioText(const std::string& yaml, const std::string& sourceName);
// Canonical YAML that reads back to an equal Scenario.
std::string writeScenarioYaml(const Scenario& scenario);

} // namespace knee
