// Typed, checked access to a parsed YAML document: each accessor either returns a value that
// obeys its bounds or records an error with line, column and dotted key, and lets reading go on
// so one pass reports every problem. Shared by every reader of user YAML.
#pragma once
#include "scenario_reader.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace knee::yaml {

class Checker {
public:
    explicit Checker(std::string file)
        : m_file(std::move(file))
    {
    }

    void error(const YAML::Mark& mark, const std::string& key, const std::string& message);
    void error(const YAML::Node& node, const std::string& key, const std::string& message) { error(node.Mark(), key, message); }
    std::vector<ScenarioError>& errors() { return m_errors; }
    bool full() const { return m_errors.size() >= kMaxErrors; }

    // A mapping whose keys are all in `allowed` and appear once; false (with errors) otherwise.
    // Unknown keys get a "did you mean" when an allowed key is close.
    bool map(const YAML::Node& node, const std::string& key, std::initializer_list<const char*> allowed);
    // The child `name` of a map; `found` says whether it was there.
    static YAML::Node child(const YAML::Node& map, const char* name);

    std::optional<double> number(const YAML::Node& node, const std::string& key, double min, double max,
                                 const char* expected);
    std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& key, std::int64_t min, std::int64_t max);
    std::optional<std::uint64_t> unsignedInteger(const YAML::Node& node, const std::string& key);
    std::optional<std::string> string(const YAML::Node& node, const std::string& key);
    std::optional<std::vector<double>> numberList(const YAML::Node& node, const std::string& key, double min, double max,
                                                  std::size_t maxItems);

    static std::string describe(const YAML::Node& node); // "a map", "'abc'", ...
    static std::string join(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

private:
    std::string m_file;
    std::vector<ScenarioError> m_errors;
};

} // namespace knee::yaml
