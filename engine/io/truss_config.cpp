#include "truss_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <sstream>

namespace knee {

namespace {

std::vector<std::string> splitLines(const std::string& text)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string joinLines(const std::vector<std::string>& lines, bool finalNewline)
{
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        out += lines[i] + (i + 1 < lines.size() || finalNewline ? "\n" : "");
    return out;
}

bool isTopLevelKey(const std::string& line)
{
    return !line.empty() && !std::isspace(static_cast<unsigned char>(line[0])) && line[0] != '#' && line[0] != '-'
        && line.find(':') != std::string::npos;
}

std::size_t indentOf(const std::string& line) { return line.find_first_not_of(' '); }

// Every top-level key except runtime, as canonical text, so the check after the edit can prove
// nothing else moved.
std::vector<std::pair<std::string, std::string>> othersOf(const YAML::Node& root)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>("");
        if (key == "runtime")
            continue;
        YAML::Emitter e;
        e << kv.second;
        out.emplace_back(key, e.c_str());
    }
    return out;
}

std::string runtimeOthers(const YAML::Node& root)
{
    YAML::Emitter e;
    e << YAML::BeginMap;
    if (root["runtime"] && root["runtime"].IsMap())
        for (const auto& kv : root["runtime"])
            if (kv.first.as<std::string>("") != "predict_concurrency")
                e << YAML::Key << kv.first << YAML::Value << kv.second;
    e << YAML::EndMap;
    return e.c_str();
}

std::string editLines(const std::string& text, int pc, bool hasRuntime, std::string& error)
{
    std::vector<std::string> lines = splitLines(text);
    const bool finalNewline = !text.empty() && text.back() == '\n';
    const std::string value = std::to_string(pc);
    // "\r?": files with Windows line endings keep them (the line is split on '\n' only).
    static const std::regex runtimeLine(R"(^runtime:[ \t]*(#.*)?\r?$)");
    static const std::regex runtimeFlow(R"(^runtime:[ \t]*\{(.*)\}[ \t]*(#.*)?(\r?)$)");
    static const std::regex pcLine(R"(^([ \t]+)predict_concurrency:[ \t]*([^#\r]*?)([ \t]*#[^\r]*)?(\r?)$)");
    static const std::regex pcFlow(R"(predict_concurrency:[ \t]*[^,}]*)");
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::smatch m;
        if (std::regex_match(lines[i], m, runtimeFlow)) { // runtime: {predict_concurrency: 2, ...}
            std::string inner = m[1].str();
            if (std::regex_search(inner, pcFlow))
                inner = std::regex_replace(inner, pcFlow, "predict_concurrency: " + value, std::regex_constants::format_first_only);
            else
                inner = "predict_concurrency: " + value + (inner.find_first_not_of(" \t") == std::string::npos ? "" : ", " + inner);
            lines[i] = "runtime: {" + inner + "}" + (m[2].matched ? " " + m[2].str() : "") + m[3].str();
            return joinLines(lines, finalNewline);
        }
        if (!std::regex_match(lines[i], runtimeLine))
            continue;
        // The block under runtime: up to the next top-level key.
        std::size_t childIndent = 0;
        std::size_t end = i + 1;
        for (; end < lines.size() && !isTopLevelKey(lines[end]); ++end) {
            const std::string& l = lines[end];
            const std::size_t ind = indentOf(l);
            if (ind == std::string::npos || l[ind] == '#')
                continue;
            if (childIndent == 0)
                childIndent = ind;
            std::smatch pm;
            if (ind == childIndent && std::regex_match(l, pm, pcLine)) {
                lines[end] = pm[1].str() + "predict_concurrency: " + value + (pm[3].matched ? pm[3].str() : "") + pm[4].str();
                return joinLines(lines, finalNewline);
            }
        }
        lines.insert(lines.begin() + std::ptrdiff_t(i + 1), std::string(childIndent ? childIndent : 2, ' ') + "predict_concurrency: " + value);
        return joinLines(lines, finalNewline);
    }
    // No runtime line found. Appending is right only when the file has no runtime at all; a runtime
    // written another way (an anchor, a tag, quoted) would otherwise end up twice, and readers that
    // keep the last duplicate (PyYAML, which Truss uses) would drop the user's other runtime keys.
    if (hasRuntime) {
        error = "its runtime section is written in a form knee does not edit (quoted, tagged or anchored); add "
                "runtime.predict_concurrency: " + value + " by hand";
        return text;
    }
    std::string out = text;
    if (!out.empty() && out.back() != '\n')
        out += '\n';
    return out + "runtime:\n  predict_concurrency: " + value + "\n";
}

} // namespace

TrussExport exportTrussConfig(const std::string& existing, int pc, const std::string& modelName)
{
    TrussExport out;
    if (pc < 1 || pc > limits::kMaxConcurrency) {
        out.error = "predict_concurrency must be between 1 and " + std::to_string(limits::kMaxConcurrency);
        return out;
    }
    if (existing.find_first_not_of(" \t\r\n") == std::string::npos) {
        YAML::Emitter e;
        e << YAML::BeginMap << YAML::Key << "model_name" << YAML::Value << (modelName.empty() ? std::string("my-model") : modelName)
          << YAML::Key << "runtime" << YAML::Value << YAML::BeginMap << YAML::Key << "predict_concurrency" << YAML::Value << pc
          << YAML::EndMap << YAML::EndMap;
        out.text = std::string(e.c_str()) + "\n";
        out.predictConcurrencyWritten = true;
        return out;
    }
    YAML::Node before;
    try {
        before = YAML::Load(existing);
    } catch (const YAML::Exception& e) {
        out.error = "the existing config.yaml does not parse (line " + std::to_string(e.mark.line + 1) + "): " + e.msg
            + "; nothing was written";
        return out;
    }
    if (!before.IsMap()) {
        out.error = "the existing config.yaml is not a map of keys; nothing was written";
        return out;
    }
    out.text = existing;
    for (const char* key : {"docker_server", "trt_llm"})
        if (before[key]) {
            out.notes.push_back(std::string("this config runs ") + (std::string(key) == "docker_server" ? "a custom server" : "a TensorRT-LLM engine")
                                + " (" + key + "): predict_concurrency exists only for Python Truss models, so it was not written; "
                                  "export the autoscaling settings instead");
            return out;
        }
    if (before["runtime"] && !before["runtime"].IsMap() && !before["runtime"].IsNull()) {
        out.error = "runtime in the existing config.yaml is not a map; nothing was written";
        return out;
    }
    if (before["runtime"] && before["runtime"]["predict_concurrency"] && before["runtime"]["predict_concurrency"].as<int>(-1) == pc) {
        out.predictConcurrencyWritten = true; // already so: nothing to change
        return out;
    }
    std::string error;
    const std::string edited = editLines(existing, pc, bool(before["runtime"]), error);
    if (!error.empty()) {
        out.error = error;
        return out;
    }
    // Prove the edit: it parses, predict_concurrency reads back, nothing else changed.
    try {
        const YAML::Node after = YAML::Load(edited);
        const bool readsBack = after["runtime"] && after["runtime"]["predict_concurrency"]
            && after["runtime"]["predict_concurrency"].as<int>(-1) == pc;
        if (!readsBack || othersOf(after) != othersOf(before) || runtimeOthers(after) != runtimeOthers(before)) {
            out.error = "the config.yaml is laid out in a way knee cannot edit safely (the result would change other keys); "
                        "add runtime.predict_concurrency: " + std::to_string(pc) + " by hand";
            out.text = existing;
            return out;
        }
    } catch (const YAML::Exception& e) {
        out.error = std::string("editing the config.yaml would break it (") + e.what() + "); nothing was written";
        out.text = existing;
        return out;
    }
    out.text = edited;
    out.predictConcurrencyWritten = true;
    return out;
}

AutoscalingSettings autoscalingSettings(const DeploymentConfig& d, int target, std::optional<int> minReplicas,
                                        std::optional<int> maxReplicas)
{
    AutoscalingSettings s;
    s.concurrencyTarget = target;
    s.minReplicas = minReplicas.value_or(d.minReplicas);
    s.maxReplicas = maxReplicas.value_or(d.maxReplicas);
    s.targetUtilizationPercent = d.autoscaler.targetUtilization * 100;
    s.autoscalingWindowS = d.autoscaler.windowS;
    s.scaleDownDelayS = d.autoscaler.scaleDownDelayS;
    return s;
}

std::string basetenAutoscalingJson(const AutoscalingSettings& s)
{
    std::ostringstream o;
    o << "{\n  \"min_replica\": " << s.minReplicas << ",\n  \"max_replica\": " << s.maxReplicas
      << ",\n  \"autoscaling_window\": " << std::lround(s.autoscalingWindowS) << ",\n  \"scale_down_delay\": " << std::lround(s.scaleDownDelayS)
      << ",\n  \"concurrency_target\": " << s.concurrencyTarget << ",\n  \"target_utilization_percentage\": "
      << std::lround(s.targetUtilizationPercent) << "\n}\n";
    return o.str();
}

std::string knativeServiceYaml(const AutoscalingSettings& s, const std::string& serviceName)
{
    // A DNS-1035 label: lower case letters, digits and '-', starting with a letter, at most 63.
    std::string name;
    for (char c : serviceName) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u))
            name += char(std::tolower(u));
        else if (!name.empty() && name.back() != '-')
            name += '-';
    }
    while (!name.empty() && name.back() == '-')
        name.pop_back();
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
        name = "model-" + name;
    name = name.substr(0, 63);
    while (!name.empty() && name.back() == '-')
        name.pop_back();
    std::ostringstream o;
    o << "# Knative Service with the autoscaling settings knee recommends. Set the image before applying.\n"
      << "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: " << name << "\nspec:\n  template:\n    metadata:\n"
      << "      annotations:\n"
      << "        autoscaling.knative.dev/class: \"kpa.autoscaling.knative.dev\"\n"
      << "        autoscaling.knative.dev/metric: \"concurrency\"\n"
      << "        autoscaling.knative.dev/target: \"" << s.concurrencyTarget << "\"\n"
      << "        autoscaling.knative.dev/target-utilization-percentage: \"" << std::lround(s.targetUtilizationPercent) << "\"\n"
      << "        autoscaling.knative.dev/min-scale: \"" << s.minReplicas << "\"\n"
      << "        autoscaling.knative.dev/max-scale: \"" << s.maxReplicas << "\"\n"
      << "        autoscaling.knative.dev/window: \"" << std::lround(s.autoscalingWindowS) << "s\"\n"
      << "        autoscaling.knative.dev/scale-down-delay: \"" << std::lround(s.scaleDownDelayS) << "s\"\n"
      << "    spec:\n      containerConcurrency: " << s.concurrencyTarget << "\n"
      << "      containers:\n        - image: REPLACE-WITH-YOUR-IMAGE\n";
    return o.str();
}

} // namespace knee
