#include "truss_config.h"

#include "yaml_text.h"
#include "yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

namespace knee {

namespace {

// Truss reads config.yaml with PyYAML (yaml.safe_load), where a key written twice in one map keeps
// its last value; yaml-cpp keeps both and its operator[] finds the first. So every lookup here goes
// through entriesNamed, and the checks compare what PyYAML would read (lastWinsText).
using Entries = std::vector<std::pair<YAML::Node, YAML::Node>>;

Entries entriesNamed(const YAML::Node& map, const std::string& key)
{
    Entries out;
    if (map.IsMap())
        for (const auto& kv : map)
            if (kv.first.IsScalar() && kv.first.Scalar() == key)
                out.emplace_back(kv.first, kv.second);
    return out;
}

// Canonical text of a node as PyYAML reads it: duplicate keys collapse to the last value (at the
// place of the first, as a Python dict does); quoted and plain scalars differ ("1" is not 1). A map's
// key `skip` is left out. `budget` bounds the nodes visited: aliases can make a small file an
// exponentially large tree.
bool lastWinsText(const YAML::Node& n, std::string& out, std::size_t& budget, const char* skip = nullptr)
{
    if (budget == 0)
        return false;
    --budget;
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        std::vector<std::string> order;
        std::map<std::string, YAML::Node> last;
        for (const auto& kv : n) {
            if (skip && kv.first.IsScalar() && kv.first.Scalar() == skip)
                continue;
            std::string key;
            if (!lastWinsText(kv.first, key, budget))
                return false;
            if (!last.count(key))
                order.push_back(key);
            last[key] = kv.second;
        }
        out += '{';
        for (const std::string& key : order) {
            out += key + ':';
            if (!lastWinsText(last[key], out, budget))
                return false;
            out += ',';
        }
        out += '}';
        return true;
    }
    case YAML::NodeType::Sequence:
        out += '[';
        for (const auto& item : n) {
            if (!lastWinsText(item, out, budget))
                return false;
            out += ',';
        }
        out += ']';
        return true;
    case YAML::NodeType::Scalar:
        out += (n.Tag() == "?" ? "p" : "q") + std::to_string(n.Scalar().size()) + ':' + n.Scalar();
        return true;
    default: out += '~'; return true;
    }
}

// The top level without runtime, and runtime without predict_concurrency, as PyYAML reads them
// (runtime null, empty or absent alike).
std::optional<std::pair<std::string, std::string>> untouchedParts(const YAML::Node& root)
{
    std::size_t budget = 1'000'000;
    std::pair<std::string, std::string> out;
    if (root.IsMap() && !lastWinsText(root, out.first, budget, "runtime"))
        return std::nullopt;
    const Entries runtime = entriesNamed(root, "runtime");
    if (!runtime.empty() && runtime.back().second.IsMap() && !lastWinsText(runtime.back().second, out.second, budget, "predict_concurrency"))
        return std::nullopt;
    if (out.second == "{}")
        out.second.clear();
    if (out.first == "{}")
        out.first.clear();
    return out;
}

std::string linesOf(const Entries& e)
{
    std::string out;
    for (std::size_t i = 0; i < e.size(); ++i)
        out += (i == 0 ? "" : i + 1 == e.size() ? " and " : ", ") + std::to_string(e[i].first.Mark().line + 1);
    return out;
}

struct Edit {
    std::size_t pos = 0, length = 0;
    std::string with;
};

// The bytes of a scalar as written (quotes included), at its mark; nullopt when the text there is
// not the scalar on one line (a multi-line or escaped form knee does not edit).
std::optional<std::pair<std::size_t, std::size_t>> scalarSpan(const std::string& text, std::size_t pos, const YAML::Node& n)
{
    if (pos >= text.size())
        return std::nullopt;
    std::size_t end = pos;
    if (text[pos] == '"' || text[pos] == '\'') {
        end = text.find(text[pos], pos + 1);
        if (end == std::string::npos || text.compare(pos + 1, end - pos - 1, n.Scalar()) != 0)
            return std::nullopt;
        return std::pair(pos, end + 1 - pos);
    }
    while (end < text.size() && std::string_view(",]}#\r\n").find(text[end]) == std::string_view::npos)
        ++end;
    while (end > pos && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        --end;
    if (text.compare(pos, end - pos, n.Scalar()) != 0)
        return std::nullopt;
    return std::pair(pos, end - pos);
}

// Where and what to write so that PyYAML reads runtime.predict_concurrency = pc, changing nothing
// else. Positions come from yaml-cpp's marks (byte offsets; a UTF-8 BOM is not counted), so quoted
// keys, flow maps over several lines and any indentation are found where they are.
std::optional<Edit> planEdit(const std::string& text, const YAML::Node& root, int pc, std::string& error)
{
    const std::string value = std::to_string(pc);
    const std::string byHand = "; add runtime.predict_concurrency: " + value + " by hand";
    const std::size_t bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    const std::size_t firstNewline = text.find('\n');
    // New lines take the file's line ending: a CRLF file stays CRLF.
    const std::string eol = firstNewline != std::string::npos && firstNewline > 0 && text[firstNewline - 1] == '\r' ? "\r\n" : "\n";
    if (root.IsMap() && root.Style() == YAML::EmitterStyle::Flow) {
        error = "the config is written as one flow mapping ({...}); knee edits block-style configs" + byHand;
        return std::nullopt;
    }
    if (!entriesNamed(root, "<<").empty()) {
        error = "the config uses a YAML merge key (<<) at the top level, which knee does not edit" + byHand;
        return std::nullopt;
    }
    const Entries runtime = entriesNamed(root, "runtime");
    if (runtime.size() > 1) {
        error = "runtime is written " + std::to_string(runtime.size()) + " times at the top level (lines " + linesOf(runtime)
            + "); Truss (PyYAML) reads only the last one. Keep one runtime section and export again";
        return std::nullopt;
    }
    if (runtime.empty()) { // a new section at the end, indented like the other top-level keys
        const std::size_t indent = root.IsMap() && root.size() > 0 ? root.Mark().column : 0;
        const std::string pad(indent, ' ');
        const std::string before = text.empty() || text.back() == '\n' ? "" : eol;
        return Edit{text.size(), 0, before + pad + "runtime:" + eol + pad + "  predict_concurrency: " + value + eol};
    }
    const YAML::Node& key = runtime.front().first;
    const YAML::Node& section = runtime.front().second;
    const std::size_t keyPos = key.Mark().pos + bom;
    if (section.Mark().pos + bom < keyPos) {
        error = "runtime is an alias (*name) of another part of the config; editing it would change that part too" + byHand;
        return std::nullopt;
    }
    if (section.IsNull()) {
        const std::size_t pos = section.Mark().pos + bom;
        for (const char* word : {"null", "Null", "NULL", "~"})
            if (section.Mark().line == key.Mark().line && text.compare(pos, std::strlen(word), word) == 0)
                return Edit{pos, std::strlen(word), "{predict_concurrency: " + value + "}"};
        // `runtime:` with nothing after it: the value goes on a line of its own below.
        const std::size_t lineEnd = text.find('\n', keyPos);
        const std::string line = std::string(key.Mark().column + 2, ' ') + "predict_concurrency: " + value;
        if (lineEnd == std::string::npos)
            return Edit{text.size(), 0, eol + line};
        return Edit{lineEnd + 1, 0, line + eol};
    }
    if (!section.IsMap()) {
        error = "runtime in the existing config.yaml is not a map; nothing was written";
        return std::nullopt;
    }
    if (!entriesNamed(section, "<<").empty()) {
        error = "runtime uses a YAML merge key (<<), which knee does not edit" + byHand;
        return std::nullopt;
    }
    const Entries existing = entriesNamed(section, "predict_concurrency");
    if (existing.size() > 1) {
        error = "runtime.predict_concurrency is written " + std::to_string(existing.size()) + " times (lines " + linesOf(existing)
            + "); Truss (PyYAML) reads only the last one. Keep one and export again";
        return std::nullopt;
    }
    if (existing.size() == 1) {
        const YAML::Node& v = existing.front().second;
        if (v.IsScalar() && v.Tag() == "?" && v.Scalar() == value)
            return Edit{}; // already so
        const auto span = v.IsScalar() ? scalarSpan(text, v.Mark().pos + bom, v) : std::nullopt;
        if (!span) {
            error = "runtime.predict_concurrency (line " + std::to_string(v.Mark().line + 1)
                + ") is not a number written on one line, which knee does not edit" + byHand;
            return std::nullopt;
        }
        return Edit{span->first, span->second, value};
    }
    const std::size_t pos = section.Mark().pos + bom;
    if (section.Style() == YAML::EmitterStyle::Flow) { // {a: 1, ...}, on one line or several
        if (pos >= text.size() || text[pos] != '{') {
            error = "runtime is written in a form knee does not edit" + byHand;
            return std::nullopt;
        }
        const std::size_t first = text.find_first_not_of(" \t", pos + 1);
        const bool empty = first != std::string::npos && text[first] == '}';
        return Edit{first == std::string::npos ? pos + 1 : first, 0, "predict_concurrency: " + value + (empty ? "" : ", ")};
    }
    // A block map: a line above its first key, indented the same.
    const std::size_t column = section.Mark().column;
    if (column > pos || text.find_first_not_of(' ', pos - column) != pos) {
        error = "runtime is written in a form knee does not edit" + byHand;
        return std::nullopt;
    }
    return Edit{pos - column, 0, std::string(column, ' ') + "predict_concurrency: " + value + eol};
}

// One YAML document as a yaml-cpp node, or why not. Not YAML::LoadAll: it never returns (its memory
// growing) on text whose top level starts with a token no node starts with, such as ','; io::parseYaml
// (yaml_tree.h) finds that, and a second document, before YAML::Load reads the first.
struct LoadedDocument {
    YAML::Node node;
    std::string error; // set when there is no single document to edit
};

LoadedDocument loadOneDocument(const std::string& text)
{
    const io::YamlParseResult parsed = io::parseYaml(text);
    using Status = io::YamlParseResult::Status;
    const std::string line = " (line " + std::to_string(parsed.errorMark.line + 1) + ")";
    switch (parsed.status) {
    case Status::Ok:
    case Status::NoDocument:
        break;
    case Status::ExtraDocument:
        return {{}, "holds more than one YAML document ('---' at line " + std::to_string(parsed.errorMark.line + 1)
                        + "); Truss reads a single one"};
    case Status::SyntaxError:
        return {{}, "does not parse" + line + ": " + parsed.errorMessage};
    case Status::TooDeep:
        return {{}, "nests too deep" + line};
    case Status::Failed:
        return {{}, "could not be read: " + parsed.errorMessage};
    }
    try {
        return {YAML::Load(text), {}};
    } catch (const YAML::Exception& e) {
        return {{}, "does not parse (line " + std::to_string(e.mark.line + 1) + "): " + e.msg};
    }
}

// The edited text read back as PyYAML reads it: one document, runtime once, predict_concurrency once
// and equal to pc (written plain, so an int), and everything else as it was. Empty = so.
std::string verifyEdit(const std::string& edited, int pc, const std::pair<std::string, std::string>& untouchedBefore)
{
    const LoadedDocument loaded = loadOneDocument(edited);
    if (!loaded.error.empty())
        return "editing the config.yaml would break it (it " + loaded.error + ")";
    if (!loaded.node.IsMap())
        return "the edited config.yaml would not read as one map of keys";
    const YAML::Node& after = loaded.node;
    const Entries runtime = entriesNamed(after, "runtime");
    const Entries written = runtime.size() == 1 ? entriesNamed(runtime.front().second, "predict_concurrency") : Entries{};
    if (written.size() != 1 || !written.front().second.IsScalar() || written.front().second.Tag() != "?"
        || written.front().second.Scalar() != std::to_string(pc))
        return "runtime.predict_concurrency would not read back as " + std::to_string(pc);
    if (untouchedParts(after) != untouchedBefore)
        return "the result would change other keys";
    return {};
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
    out.text = existing;
    // Before yaml-cpp sees it: yaml-cpp 0.7 loops without end, its memory growing, on some text with a
    // NUL byte (",runtime:\n \0cy+: 2"), and YAML allows no such byte in a document anyway.
    if (const auto problem = io::checkYamlText(existing)) {
        out.error = "the existing config.yaml is not YAML text (line " + std::to_string(problem->mark.line + 1)
            + ", column " + std::to_string(io::characterColumn(existing, problem->mark) + 1) + "): " + problem->message
            + "; nothing was written";
        return out;
    }
    const LoadedDocument loaded = loadOneDocument(existing);
    if (!loaded.error.empty()) {
        out.error = "the existing config.yaml " + loaded.error + "; nothing was written";
        return out;
    }
    const YAML::Node& before = loaded.node;
    if (!before.IsMap() && !before.IsNull()) { // null: only comments, which Truss reads as an empty config
        out.error = "the existing config.yaml is not a map of keys; nothing was written";
        return out;
    }
    for (const char* key : {"docker_server", "trt_llm"})
        if (!entriesNamed(before, key).empty()) {
            out.notes.push_back(std::string("this config runs ") + (std::string(key) == "docker_server" ? "a custom server" : "a TensorRT-LLM engine")
                                + " (" + key + "): predict_concurrency exists only for Python Truss models, so it was not written; "
                                  "export the autoscaling settings instead");
            return out;
        }
    const auto untouchedBefore = untouchedParts(before);
    if (!untouchedBefore) {
        out.error = "the existing config.yaml expands to too many nodes (aliases of aliases); nothing was written";
        return out;
    }
    std::string error;
    const std::optional<Edit> edit = planEdit(existing, before, pc, error);
    if (!edit) {
        out.error = error;
        return out;
    }
    std::string edited = existing;
    edited.replace(edit->pos, edit->length, edit->with);
    // Prove the edit before anyone writes it: read back as PyYAML would, it says what was meant.
    if (const std::string problem = verifyEdit(edited, pc, *untouchedBefore); !problem.empty()) {
        out.error = "the config.yaml is laid out in a way knee cannot edit safely (" + problem + "); add runtime.predict_concurrency: "
            + std::to_string(pc) + " by hand";
        return out;
    }
    out.text = std::move(edited);
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
