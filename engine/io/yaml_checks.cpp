#include "yaml_checks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace knee::yaml {

namespace {

std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string trimmed(const std::string& s)
{
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos)
        return {};
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// A YAML 1.2 core-schema number, finite only. from_chars rejects "nan", "inf" and their YAML
// spellings (".nan", ".inf") and anything with trailing text.
std::optional<double> parseDouble(const std::string& raw, bool& outOfRange)
{
    outOfRange = false;
    std::string s = trimmed(raw);
    if (!s.empty() && s[0] == '+')
        s.erase(0, 1);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
        outOfRange = true;
        return std::nullopt;
    }
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::string numberText(double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

} // namespace

void Checker::error(const YAML::Mark& mark, const std::string& key, const std::string& message)
{
    if (full())
        return;
    ScenarioError e;
    e.file = m_file;
    if (!mark.is_null()) {
        e.line = mark.line + 1;
        e.column = mark.column + 1;
    }
    e.key = key;
    e.message = message;
    m_errors.push_back(std::move(e));
    if (full())
        m_errors.back().message += " (further problems not listed)";
}

std::string Checker::describe(const YAML::Node& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar: {
        std::string s = node.Scalar();
        if (s.size() > 40)
            s = s.substr(0, 37) + "...";
        return "'" + s + "'";
    }
    case YAML::NodeType::Undefined: return "nothing";
    }
    return "something else";
}

YAML::Node Checker::child(const YAML::Node& map, const char* name)
{
    // Look up without operator[] side effects, and tolerate non-map parents.
    if (!map.IsMap())
        return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& kv : map)
        if (kv.first.IsScalar() && kv.first.Scalar() == name)
            return kv.second;
    return YAML::Node(YAML::NodeType::Undefined);
}

bool Checker::map(const YAML::Node& node, const std::string& key, std::initializer_list<const char*> allowed)
{
    if (!node.IsMap()) {
        error(node, key, "expected a map of keys, got " + describe(node));
        return false;
    }
    bool ok = true;
    std::set<std::string> seen;
    for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
            error(kv.first, key, "expected a plain key, got " + describe(kv.first));
            ok = false;
            continue;
        }
        const std::string name = kv.first.Scalar();
        if (!seen.insert(name).second) {
            // yaml-cpp keeps the first of two equal keys silently; a user meant one of them.
            error(kv.first, join(key, name), "duplicate key: it appears more than once in this map");
            ok = false;
            continue;
        }
        if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; }) == allowed.end()) {
            std::string message = "unknown key";
            std::string best;
            std::size_t bestDistance = 3;
            for (const char* a : allowed)
                if (const std::size_t d = editDistance(name, a); d < bestDistance) {
                    bestDistance = d;
                    best = a;
                }
            if (!best.empty())
                message += "; did you mean '" + best + "'?";
            else {
                message += "; expected one of:";
                for (const char* a : allowed)
                    message += std::string(" ") + a;
            }
            error(kv.first, join(key, name), message);
            ok = false;
        }
    }
    return ok;
}

std::optional<double> Checker::number(const YAML::Node& node, const std::string& key, double min, double max, const char* expected)
{
    if (!node.IsScalar()) {
        error(node, key, std::string("expected ") + expected + ", got " + describe(node));
        return std::nullopt;
    }
    bool outOfRange = false;
    const auto v = parseDouble(node.Scalar(), outOfRange);
    if (!v) {
        error(node, key, std::string("expected ") + expected + (outOfRange ? ", got a number too large to represent" : ", got " + describe(node)));
        return std::nullopt;
    }
    if (*v < min || *v > max) {
        error(node, key, std::string("expected ") + expected + ", got " + numberText(*v));
        return std::nullopt;
    }
    return v;
}

std::optional<std::int64_t> Checker::integer(const YAML::Node& node, const std::string& key, std::int64_t min, std::int64_t max)
{
    const std::string expected = "a whole number between " + std::to_string(min) + " and " + std::to_string(max);
    if (!node.IsScalar()) {
        error(node, key, "expected " + expected + ", got " + describe(node));
        return std::nullopt;
    }
    bool outOfRange = false;
    const auto v = parseDouble(node.Scalar(), outOfRange); // accepts 2e5 as well as 200000
    if (!v || std::floor(*v) != *v || std::abs(*v) > 9.007199254740992e15) {
        error(node, key, "expected " + expected + ", got " + describe(node));
        return std::nullopt;
    }
    if (*v < double(min) || *v > double(max)) {
        error(node, key, "expected " + expected + ", got " + numberText(*v));
        return std::nullopt;
    }
    return std::int64_t(*v);
}

std::optional<std::uint64_t> Checker::unsignedInteger(const YAML::Node& node, const std::string& key)
{
    const std::string s = node.IsScalar() ? trimmed(node.Scalar()) : std::string();
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!node.IsScalar() || s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        error(node, key, "expected a whole number from 0 to 18446744073709551615, got " + describe(node));
        return std::nullopt;
    }
    return v;
}

std::optional<std::string> Checker::string(const YAML::Node& node, const std::string& key)
{
    if (!node.IsScalar()) {
        error(node, key, "expected text, got " + describe(node));
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<std::vector<double>> Checker::numberList(const YAML::Node& node, const std::string& key, double min, double max,
                                                       std::size_t maxItems)
{
    if (!node.IsSequence() || node.size() == 0) {
        error(node, key, "expected a non-empty list of numbers, got " + describe(node));
        return std::nullopt;
    }
    if (node.size() > maxItems) {
        error(node, key, "expected at most " + std::to_string(maxItems) + " values, got " + std::to_string(node.size()));
        return std::nullopt;
    }
    std::vector<double> out;
    out.reserve(node.size());
    std::size_t i = 0;
    for (const auto& item : node) {
        const auto v = number(item, key + "[" + std::to_string(i++) + "]", min, max, "a finite number >= 0");
        if (!v)
            return std::nullopt; // one error per list is enough
        out.push_back(*v);
    }
    return out;
}

} // namespace knee::yaml
