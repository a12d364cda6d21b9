// The optional twin: section (sim/scenario.h TwinSource): where a fitted twin came from and how well it
// replays what was measured. Read with the same strictness as every other section: unknown keys, wrong
// types and ragged error columns are errors, never skipped.
//
//   twin:
//     endpoint: "http://127.0.0.1:8080/predict"
//     mode: http                          http, live or virtual
//     measured_at: "2025-01-01T12:00:00Z" optional
//     fitted_at: "2025-01-01T12:05:00Z"   optional
//     session: "sweep.json"               optional
//     levels: [1, 2, 4, 8, 16]            the levels fitted
//     replay_error_pct: {concurrency: [1, 2], throughput: [0.1, -0.3], p50: [..], p95: [..]}
//                                          streams add ttft_p50, ttft_p95, itl_p50
//     cross_validation_error_pct: {...}   optional, the same columns
//     notes: ["...", "..."]               optional
#include "scenario_twin.h"

namespace knee::io {

namespace {

constexpr std::string_view kTwinKeys[] = { "endpoint", "mode", "measured_at", "fitted_at", "session", "levels", "replay_error_pct",
    "cross_validation_error_pct", "notes" };
constexpr std::string_view kModes[] = { "http", "live", "virtual" };
constexpr std::string_view kErrorKeys[] = { "concurrency", "throughput", "p50", "p95", "ttft_p50", "ttft_p95", "itl_p50" };
constexpr std::size_t kMaxItems = 64;

// A list of 0 to kMaxItems numbers obeying `rule`; false (reported) otherwise.
template <typename T>
bool numbers(FieldReader& r, const Entry& e, const std::string& path, const NumberRule& rule, std::vector<T>& out)
{
    const YamlTree& tree = r.tree();
    if (tree.type(e.value) != YamlType::Sequence || tree.size(e.value) > kMaxItems) {
        r.expected(e, path, "a list of at most " + std::to_string(kMaxItems) + " numbers");
        return false;
    }
    for (std::size_t i = 0; i < tree.size(e.value); ++i) {
        const auto v = r.number(Entry { Entry::kNoKey, tree.item(e.value, i) }, path + "[" + std::to_string(i) + "]", rule);
        if (!v)
            return false;
        out.push_back(static_cast<T>(*v));
    }
    return true;
}

void readErrors(FieldReader& r, const Entry& e, const std::string& path, TwinErrors& out)
{
    const auto f = r.mapFields(e, path, kErrorKeys, "a map like {concurrency: [1, 2], throughput: [0.5, -1.2], p50: [..], p95: [..]}", false);
    if (!f)
        return;
    const NumberRule level { 1, double(limits::kMaxConcurrency), false, true, {} };
    const NumberRule pct { -1e9, 1e9, false, false, {} };
    bool ok = true;
    if (auto c = f->get("concurrency"))
        ok = numbers(r, *c, f->pathOf("concurrency"), level, out.concurrency);
    else {
        r.missing(*f, "concurrency", "a list of levels");
        ok = false;
    }
    const std::pair<std::string_view, std::vector<double>*> columns[] = { { "throughput", &out.throughputPct }, { "p50", &out.p50Pct },
        { "p95", &out.p95Pct }, { "ttft_p50", &out.ttftP50Pct }, { "ttft_p95", &out.ttftP95Pct }, { "itl_p50", &out.itlP50Pct } };
    for (const auto& [key, column] : columns) {
        const auto c = f->get(key);
        const bool streamColumn = key.starts_with("ttft") || key.starts_with("itl");
        if (!c) {
            if (!streamColumn) {
                r.missing(*f, key, "one error in percent per level");
                ok = false;
            }
            continue;
        }
        if (!numbers(r, *c, f->pathOf(key), pct, *column)) {
            ok = false;
            continue;
        }
        if (ok && column->size() != out.concurrency.size()) {
            r.fail(*c, f->pathOf(key),
                "expected one value per level in concurrency (" + std::to_string(out.concurrency.size()) + "), got "
                    + std::to_string(column->size()));
            ok = false;
        }
    }
}

} // namespace

void readTwin(FieldReader& r, const Entry& e, TwinSource& t)
{
    const auto f = r.mapFields(e, "twin", kTwinKeys, "a map with endpoint, levels and replay_error_pct (knee fit writes it)", false);
    if (!f)
        return;
    for (const auto& [key, into] : { std::pair { "endpoint", &t.endpoint }, std::pair { "measured_at", &t.measuredAt },
             std::pair { "fitted_at", &t.fittedAt }, std::pair { "session", &t.session } })
        if (auto v = f->get(key))
            if (auto s = r.text(*v, f->pathOf(key)))
                *into = *s;
    if (!f->has("endpoint"))
        r.missing(*f, "endpoint", "the URL the twin was fitted to");
    if (auto v = f->get("mode"))
        if (auto s = r.choice(*v, f->pathOf("mode"), kModes))
            t.mode = *s;
    if (auto v = f->get("levels"))
        numbers(r, *v, f->pathOf("levels"), NumberRule { 1, double(limits::kMaxConcurrency), false, true, {} }, t.levels);
    else
        r.missing(*f, "levels", "the levels fitted, e.g. [1, 2, 4, 8]");
    if (auto v = f->get("replay_error_pct"))
        readErrors(r, *v, f->pathOf("replay_error_pct"), t.replay);
    else
        r.missing(*f, "replay_error_pct", "the twin's error per level when it replays the sweep");
    if (auto v = f->get("cross_validation_error_pct"))
        readErrors(r, *v, f->pathOf("cross_validation_error_pct"), t.crossValidation);
    if (auto v = f->get("notes")) {
        const YamlTree& tree = r.tree();
        if (tree.type(v->value) != YamlType::Sequence || tree.size(v->value) > 256) {
            r.expected(*v, f->pathOf("notes"), "a list of at most 256 lines of text");
            return;
        }
        for (std::size_t i = 0; i < tree.size(v->value); ++i)
            if (auto s = r.text(Entry { Entry::kNoKey, tree.item(v->value, i) }, f->pathOf("notes") + "[" + std::to_string(i) + "]"))
                t.notes.push_back(*s);
    }
}

} // namespace knee::io
