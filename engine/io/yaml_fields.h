// Typed reading of YAML values against a schema, with errors that name the file, the line and
// column, the dotted key path, what was expected and what was found. Used by the scenario reader;
// knows nothing about scenarios.
#pragma once
#include "scenario_reader.h"
#include "yaml_tree.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace knee::io {

// Collects errors (at most kMaxErrors, then one "too many" note) and warnings.
class Diagnostics {
public:
    static constexpr std::size_t kMaxErrors = 50;

    explicit Diagnostics(std::string file)
        : m_file(std::move(file))
    {
    }

    // The text the marks point into, so columns can be reported in characters, as editors count.
    void setText(std::string_view text) { m_text = text; }

    void error(std::optional<YamlMark> mark, std::string key, std::string message);
    void warning(std::optional<YamlMark> mark, std::string key, std::string message);
    bool full() const { return m_full; }
    bool hasErrors() const { return !m_errors.empty(); }
    const std::string& file() const { return m_file; }

    // In the order of the text (as a compiler lists them); errors without a place come last.
    std::vector<ScenarioError> takeErrors();
    std::vector<std::string> takeWarnings() { return std::move(m_warnings); }

private:
    ScenarioError make(std::optional<YamlMark> mark, std::string key, std::string message) const;

    std::string m_file;
    std::string_view m_text;
    std::vector<ScenarioError> m_errors;
    std::vector<std::string> m_warnings;
    bool m_full = false;
};

// A value and the key it sits under (kNoKey for a list item).
struct Entry {
    static constexpr YamlTree::Id kNoKey = ~YamlTree::Id(0);
    YamlTree::Id key = kNoKey;
    YamlTree::Id value = 0;
};

// Bounds for a number; `integer` refuses fractions. `what` overrides the generated description.
struct NumberRule {
    double min = 0;
    double max = 0;
    bool minExclusive = false;
    bool integer = false;
    std::string what;

    std::string describe() const;
};

// Where a key is allowed: lets an unknown key be answered with "it belongs in 'deployment'".
struct KeyHome {
    std::string_view section;
    std::string_view key;
};

// The entries of one map whose keys were checked against the allowed names.
class MapFields {
public:
    YamlTree::Id map = 0;
    YamlTree::Id key = Entry::kNoKey; // the key the map sits under, if any
    std::string path;

    std::optional<Entry> get(std::string_view key) const;
    bool has(std::string_view key) const { return get(key).has_value(); }
    std::string pathOf(std::string_view key) const { return path.empty() ? std::string(key) : path + "." + std::string(key); }

    std::vector<std::pair<std::string_view, Entry>> entries; // first occurrence of each allowed key
};

class FieldReader {
public:
    FieldReader(const YamlTree& tree, Diagnostics& diag, std::span<const KeyHome> schema)
        : m_tree(tree)
        , m_diag(diag)
        , m_schema(schema)
    {
    }

    const YamlTree& tree() const { return m_tree; }
    Diagnostics& diag() { return m_diag; }

    // Where to report a problem with a value: the value, or its key when the value is empty
    // (yaml-cpp marks an empty value at the start of the next line).
    YamlMark markOf(const Entry& e) const;
    // The value as the message shows it: 'abc', "a list", "a map", "nothing".
    std::string describe(YamlTree::Id id) const;

    void fail(const Entry& e, const std::string& path, const std::string& message);
    void expected(const Entry& e, const std::string& path, const std::string& what, const std::string& note = {});
    void missing(const MapFields& fields, std::string_view key, const std::string& what);

    // Checks the node is a map and its keys: unknown ones (with a suggestion), duplicates, merge
    // keys and keys that are not names are reported. nullopt when it is not a map.
    // `hintSections`: answer a key that belongs in another section with where it belongs.
    std::optional<MapFields> mapFields(const Entry& e, const std::string& path, std::span<const std::string_view> allowed,
        const std::string& what, bool hintSections = true);

    std::optional<double> number(const Entry& e, const std::string& path, const NumberRule& rule);
    // Why a node is not a number obeying `rule` (the note that follows "got ..."), or nullopt when
    // it is one (then `out` holds it). Reports nothing.
    std::optional<std::string> checkNumber(YamlTree::Id id, const NumberRule& rule, double& out) const;
    std::optional<std::uint64_t> unsignedInteger(const Entry& e, const std::string& path);
    // One of `choices`, with a suggestion for a near miss.
    std::optional<std::string> choice(const Entry& e, const std::string& path, std::span<const std::string_view> choices);
    // Any scalar as text; an empty value is "".
    std::optional<std::string> text(const Entry& e, const std::string& path);

private:
    std::string unknownKeyHint(
        std::string_view key, std::string_view section, std::span<const std::string_view> allowed, bool hintSections) const;

    const YamlTree& m_tree;
    Diagnostics& m_diag;
    std::span<const KeyHome> m_schema;
};

// Helpers shared with the writer and the tests' expectations.
std::string formatNumber(double v);
std::string joinNames(std::span<const std::string_view> names);
// The closest of `names` within edit distance 2 (also matching case and '_' differences), or "".
std::string closestName(std::string_view word, std::span<const std::string_view> names);

} // namespace knee::io
