#include "yaml_fields.h"

#include "yaml_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace knee::io {

// ---------------------------------------------------------------- diagnostics

ScenarioError Diagnostics::make(std::optional<YamlMark> mark, std::string key, std::string message) const
{
    ScenarioError e;
    e.file = m_file;
    if (mark && mark->line >= 0) {
        e.line = mark->line + 1;
        e.column = (m_text.empty() ? mark->column : characterColumn(m_text, *mark)) + 1;
    }
    e.key = std::move(key);
    e.message = std::move(message);
    return e;
}

void Diagnostics::error(std::optional<YamlMark> mark, std::string key, std::string message)
{
    if (m_full)
        return;
    if (m_errors.size() == kMaxErrors) {
        m_errors.push_back(make(std::nullopt, {}, "too many errors; stopped after the first " + std::to_string(kMaxErrors)));
        m_full = true;
        return;
    }
    m_errors.push_back(make(mark, std::move(key), std::move(message)));
}

std::vector<ScenarioError> Diagnostics::takeErrors()
{
    const auto place = [](const ScenarioError& e) {
        return std::pair { e.line > 0 ? e.line : std::numeric_limits<int>::max(), e.column };
    };
    std::stable_sort(
        m_errors.begin(), m_errors.end(), [&](const ScenarioError& a, const ScenarioError& b) { return place(a) < place(b); });
    return std::move(m_errors);
}

void Diagnostics::warning(std::optional<YamlMark> mark, std::string key, std::string message)
{
    m_warnings.push_back(make(mark, std::move(key), std::move(message)).toString());
}

// ---------------------------------------------------------------- text helpers

namespace {

constexpr std::size_t kShownChars = 40; // of a found value, in messages

// A value as a message quotes it: control characters escaped, long text cut on a character boundary.
std::string quoteForMessage(std::string_view s)
{
    std::string out = "'";
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) != 0x80 && chars++ == kShownChars) {
            out += "...";
            break;
        }
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7F)
            out += '?';
        else
            out += char(c);
    }
    return out + "'";
}

// A key as a path shows it: a pasted paragraph is cut short, control characters are escaped.
std::string displayKey(std::string_view key)
{
    const std::string quoted = quoteForMessage(key);
    return quoted.substr(1, quoted.size() - 2);
}

std::string lowerNoUnderscore(std::string_view s)
{
    std::string out;
    for (char c : s)
        if (c != '_' && c != '-' && c != ' ')
            out += char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::size_t editDistance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({ prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1) });
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

enum class NumberStatus { Ok, NotANumber, NotFinite, OutOfRange };

// YAML core-schema numbers: [+-] digits [. digits] [e [+-] digits]. Hex, octal and underscores are
// refused rather than half-understood; .inf and .nan are numbers but not usable ones.
NumberStatus parseNumber(std::string_view s, double& out)
{
    for (std::string_view inf : { ".inf", "+.inf", "-.inf", ".nan", "inf", "+inf", "-inf", "nan", "infinity", "-infinity" })
        if (equalsIgnoreCase(s, inf))
            return NumberStatus::NotFinite;
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
        ++i;
    const std::size_t mantissa = i;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
        ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
            ++i, ++digits;
    }
    if (digits == 0)
        return NumberStatus::NotANumber;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-'))
            ++i;
        std::size_t expDigits = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
            ++i, ++expDigits;
        if (expDigits == 0)
            return NumberStatus::NotANumber;
    }
    if (i != s.size())
        return NumberStatus::NotANumber;
    // from_chars takes no leading '+'.
    const char* first = s.data() + (s[0] == '+' ? mantissa : 0);
    const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), out);
    if (ec == std::errc::result_out_of_range)
        return NumberStatus::OutOfRange;
    if (ec != std::errc() || ptr != s.data() + s.size())
        return NumberStatus::NotANumber;
    return std::isfinite(out) ? NumberStatus::Ok : NumberStatus::OutOfRange;
}

} // namespace

std::string formatNumber(double v)
{
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
        return std::to_string(static_cast<long long>(v));
    char buf[64];
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
}

std::string joinNames(std::span<const std::string_view> names)
{
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i ? ", " : "") + std::string(names[i]);
    return out;
}

std::string closestName(std::string_view word, std::span<const std::string_view> names)
{
    constexpr std::size_t kMaxSuggestDistance = 2;
    constexpr std::size_t kLongest = 64; // no suggestion for a pasted paragraph
    if (word.size() > kLongest)
        return {};
    const std::string folded = lowerNoUnderscore(word);
    std::string best;
    std::size_t bestDistance = kMaxSuggestDistance + 1;
    for (auto name : names) {
        if (!folded.empty() && lowerNoUnderscore(name) == folded)
            return std::string(name); // concurrencyTarget, Concurrency-Target
        const std::size_t d = editDistance(word, name);
        if (d < bestDistance && d < word.size()) { // "x" is no typo of "max"
            bestDistance = d;
            best = name;
        }
    }
    return best;
}

std::string NumberRule::describe() const
{
    if (!what.empty())
        return what;
    if (integer)
        return "a whole number between " + formatNumber(min) + " and " + formatNumber(max);
    if (minExclusive)
        return "a number > " + formatNumber(min) + " and <= " + formatNumber(max);
    return "a number between " + formatNumber(min) + " and " + formatNumber(max);
}

std::optional<Entry> MapFields::get(std::string_view key) const
{
    for (const auto& [name, entry] : entries)
        if (name == key)
            return entry;
    return std::nullopt;
}

// ---------------------------------------------------------------- reader

YamlMark FieldReader::markOf(const Entry& e) const
{
    if (e.key != Entry::kNoKey && m_tree.type(e.value) == YamlType::Null)
        return m_tree.mark(e.key);
    return m_tree.mark(e.value);
}

std::string FieldReader::describe(YamlTree::Id id) const
{
    switch (m_tree.type(id)) {
    case YamlType::Null: return "nothing";
    case YamlType::Scalar: return quoteForMessage(m_tree.scalar(id));
    case YamlType::Sequence: return m_tree.size(id) == 0 ? "an empty list" : "a list";
    case YamlType::Map: return m_tree.size(id) == 0 ? "an empty map" : "a map";
    }
    return "?";
}

void FieldReader::fail(const Entry& e, const std::string& path, const std::string& message)
{
    m_diag.error(markOf(e), path, message);
}

void FieldReader::expected(const Entry& e, const std::string& path, const std::string& what, const std::string& note)
{
    fail(e, path, "expected " + what + ", got " + describe(e.value) + note);
}

void FieldReader::missing(const MapFields& fields, std::string_view key, const std::string& what)
{
    // At the key that opens the map (deployment:), where the user will add the missing key; a
    // block map's own mark would be its first key, which reads as if that key were at fault.
    const YamlMark at = fields.key != Entry::kNoKey ? m_tree.mark(fields.key) : m_tree.mark(fields.map);
    m_diag.error(at, fields.pathOf(key), "missing; expected " + what);
}

std::string FieldReader::unknownKeyHint(
    std::string_view key, std::string_view section, std::span<const std::string_view> allowed, bool hintSections) const
{
    // A key that is right but in the wrong section is a likelier mistake than a typo.
    for (const auto& home : hintSections ? m_schema : std::span<const KeyHome>())
        if (home.key == key && home.section != section)
            return "unknown key here; '" + std::string(key) + "' belongs in "
                + (home.section.empty() ? std::string("the top level") : "'" + std::string(home.section) + "'");
    if (auto near = closestName(key, allowed); !near.empty())
        return "unknown key; did you mean '" + near + "'?";
    return "unknown key; expected one of " + joinNames(allowed);
}

std::optional<MapFields> FieldReader::mapFields(const Entry& e, const std::string& path,
    std::span<const std::string_view> allowed, const std::string& what, bool hintSections)
{
    if (m_tree.type(e.value) != YamlType::Map) {
        expected(e, path, what);
        return std::nullopt;
    }
    MapFields fields;
    fields.map = e.value;
    fields.key = e.key;
    fields.path = path;
    // Every key, so a duplicate is found however large the map (yaml-cpp keeps both; lookups see one).
    std::unordered_map<std::string_view, YamlTree::Id> seen;
    const std::size_t n = m_tree.size(e.value);
    for (std::size_t i = 0; i < n && !m_diag.full(); ++i) {
        const YamlTree::Id k = m_tree.key(e.value, i), v = m_tree.value(e.value, i);
        if (m_tree.type(k) != YamlType::Scalar) {
            m_diag.error(m_tree.mark(k), path, "expected a key name, got " + describe(k) + " as a key");
            continue;
        }
        const std::string_view name = m_tree.scalar(k);
        const std::string keyPath = fields.pathOf(displayKey(name));
        if (name == "<<" && m_tree.node(k).plain) {
            m_diag.error(m_tree.mark(k), keyPath,
                "merge keys ('<<') are not supported; write the keys out, or alias a whole value (predict: *fast)");
            continue;
        }
        if (auto [it, inserted] = seen.try_emplace(name, k); !inserted) {
            m_diag.error(m_tree.mark(k), keyPath,
                "duplicate key (first at line " + std::to_string(m_tree.mark(it->second).line + 1) + "); keep one");
            continue;
        }
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            m_diag.error(m_tree.mark(k), keyPath, unknownKeyHint(name, path, allowed, hintSections));
            continue;
        }
        fields.entries.push_back({ name, Entry { k, v } });
    }
    return fields;
}

std::optional<std::string> FieldReader::checkNumber(YamlTree::Id id, const NumberRule& rule, double& out) const
{
    const YamlNode& n = m_tree.node(id);
    if (n.type != YamlType::Scalar)
        return std::string();
    double v = 0;
    switch (parseNumber(m_tree.scalar(id), v)) {
    case NumberStatus::NotANumber: return std::string();
    case NumberStatus::NotFinite: return std::string(" (not a finite number)");
    case NumberStatus::OutOfRange: return std::string(" (too large or too small to represent)");
    case NumberStatus::Ok: break;
    }
    if (!n.plain)
        return std::string(" (quoted, so it is text: write numbers without quotes)");
    if (rule.integer && v != std::floor(v))
        return std::string(" (a fraction where a whole number is needed)");
    if (v < rule.min || v > rule.max || (rule.minExclusive && v == rule.min))
        return std::string();
    out = v == 0 ? 0.0 : v; // no -0 in a scenario
    return std::nullopt;
}

std::optional<double> FieldReader::number(const Entry& e, const std::string& path, const NumberRule& rule)
{
    double v = 0;
    if (auto note = checkNumber(e.value, rule, v)) {
        expected(e, path, rule.describe(), *note);
        return std::nullopt;
    }
    return v;
}

std::optional<std::uint64_t> FieldReader::unsignedInteger(const Entry& e, const std::string& path)
{
    const std::string what = "a whole number between 0 and " + std::to_string(std::numeric_limits<std::uint64_t>::max());
    const YamlNode& n = m_tree.node(e.value);
    if (n.type != YamlType::Scalar) {
        expected(e, path, what);
        return std::nullopt;
    }
    // Digits only: a seed above 2^53 would not survive a trip through double.
    std::string_view s = m_tree.scalar(e.value);
    if (!s.empty() && s[0] == '+')
        s.remove_prefix(1);
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || ptr != s.data() + s.size()) {
        expected(e, path, what);
        return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range) {
        expected(e, path, what, " (too large)");
        return std::nullopt;
    }
    if (!n.plain) {
        expected(e, path, what, " (quoted, so it is text: write numbers without quotes)");
        return std::nullopt;
    }
    return v;
}

std::optional<std::string> FieldReader::choice(const Entry& e, const std::string& path, std::span<const std::string_view> choices)
{
    const std::string what = "one of " + joinNames(choices);
    if (m_tree.type(e.value) != YamlType::Scalar) {
        expected(e, path, what);
        return std::nullopt;
    }
    const std::string_view s = m_tree.scalar(e.value);
    if (std::find(choices.begin(), choices.end(), s) != choices.end())
        return std::string(s);
    const std::string near = closestName(s, choices);
    expected(e, path, what, near.empty() ? std::string() : "; did you mean '" + near + "'?");
    return std::nullopt;
}

std::optional<std::string> FieldReader::text(const Entry& e, const std::string& path)
{
    switch (m_tree.type(e.value)) {
    case YamlType::Null: return std::string();
    case YamlType::Scalar: return std::string(m_tree.scalar(e.value));
    default: expected(e, path, "text"); return std::nullopt;
    }
}

} // namespace knee::io
