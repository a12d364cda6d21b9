#include "scenario_scaling.h"

#include <charconv>
#include <type_traits>
#include <cmath>
#include <filesystem>
#include <tuple>

#include "user_file.h"

namespace knee::io {

namespace {

constexpr std::string_view kAutoscalingKeys[] = { "policy", "evaluation_interval_s", "target_utilization_percent", "window_s",
    "scale_down_delay_s", "max_scale_down_rate", "panic_window_percent", "panic_threshold_percent", "scale_to_zero_grace_s",
    "max_scale_up_rate", "knative_max_scale_down_rate" };
constexpr std::string_view kPolicies[] = { "none", "baseten", "knative" };
constexpr std::string_view kModifierKeys[] = { "kind", "value", "engine_max", "initial_limit", "min_limit", "max_limit", "tolerance",
    "smoothing" };
constexpr std::string_view kModifierKinds[] = { "none", "fixed", "engine_max", "adaptive" };

NumberRule rule(double lo, double hi, bool integer = false, bool exclusive = false) { return { lo, hi, exclusive, integer, {} }; }

template <typename T>
void take(FieldReader& r, const MapFields& f, std::string_view key, const NumberRule& rule, T& into)
{
    if (auto e = f.get(key))
        if (auto v = r.number(*e, f.pathOf(key), rule))
            into = static_cast<T>(*v);
}

std::optional<double> need(FieldReader& r, const MapFields& f, std::string_view key, const NumberRule& rule)
{
    if (auto e = f.get(key))
        return r.number(*e, f.pathOf(key), rule);
    r.missing(f, key, rule.describe());
    return std::nullopt;
}

} // namespace

void readAutoscaling(FieldReader& r, const Entry& e, AutoscalerConfig& a)
{
    const auto f = r.mapFields(e, "deployment.autoscaling", kAutoscalingKeys, "a map like {policy: baseten, window_s: 60}");
    if (!f)
        return;
    if (auto p = f->get("policy")) {
        if (auto name = r.choice(*p, f->pathOf("policy"), kPolicies))
            autoscalerPolicyFromString(*name, a.policy);
    } else {
        r.missing(*f, "policy", "one of " + joinNames(kPolicies));
    }
    // Ranges are the platforms' own (Baseten: window 10–3600 s, scale-down delay 0–3600 s,
    // utilization 1–100 %).
    take(r, *f, "evaluation_interval_s", rule(0.01, 3600), a.evaluationIntervalS);
    double percent = a.targetUtilization * 100;
    take(r, *f, "target_utilization_percent", rule(1, 100), percent);
    a.targetUtilization = percent / 100;
    take(r, *f, "window_s", rule(10, 3600), a.windowS);
    take(r, *f, "scale_down_delay_s", rule(0, 3600), a.scaleDownDelayS);
    take(r, *f, "max_scale_down_rate", rule(0, 1, false, true), a.maxScaleDownRate);
    take(r, *f, "panic_window_percent", rule(1, 100), a.panicWindowPercent);
    take(r, *f, "panic_threshold_percent", rule(110, 1000), a.panicThresholdPercent);
    take(r, *f, "scale_to_zero_grace_s", rule(0, 3600), a.scaleToZeroGraceS);
    take(r, *f, "max_scale_up_rate", rule(1, 1e6), a.maxScaleUpRate);
    take(r, *f, "knative_max_scale_down_rate", rule(1, 1e6, false, true), a.knativeMaxScaleDownRate); // > 1, as Knative requires
}

void readConcurrencyModifier(FieldReader& r, const Entry& e, ConcurrencyModifierConfig& m)
{
    const auto f = r.mapFields(e, "deployment.concurrency_modifier", kModifierKeys, "a map like {kind: fixed, value: 8}");
    if (!f)
        return;
    if (auto k = f->get("kind")) {
        if (auto name = r.choice(*k, f->pathOf("kind"), kModifierKinds))
            modifierKindFromString(*name, m.kind);
    } else {
        r.missing(*f, "kind", "one of " + joinNames(kModifierKinds));
        return;
    }
    using K = ConcurrencyModifierConfig::Kind;
    const NumberRule limit = rule(1, limits::kMaxConcurrency, true);
    if (m.kind == K::Fixed) {
        if (auto v = need(r, *f, "value", limit))
            m.fixed = int(*v);
    } else if (m.kind == K::EngineMax) {
        if (auto v = need(r, *f, "engine_max", limit))
            m.engineMax = int(*v);
    } else if (m.kind == K::Adaptive) {
        take(r, *f, "initial_limit", limit, m.initialLimit);
        take(r, *f, "min_limit", limit, m.minLimit);
        take(r, *f, "max_limit", limit, m.maxLimit);
        take(r, *f, "tolerance", rule(1, 10), m.tolerance);
        take(r, *f, "smoothing", rule(0, 1, false, true), m.smoothing);
        if (m.minLimit > m.maxLimit || m.initialLimit < m.minLimit || m.initialLimit > m.maxLimit)
            r.fail(*f->get(f->has("initial_limit") ? "initial_limit" : "min_limit"), f->path,
                   "expected min_limit <= initial_limit <= max_limit, got " + std::to_string(m.minLimit) + ", "
                       + std::to_string(m.initialLimit) + ", " + std::to_string(m.maxLimit));
    }
    for (std::string_view key : {"value", "engine_max", "initial_limit", "min_limit", "max_limit", "tolerance", "smoothing"}) {
        const bool applies = (key == "value" && m.kind == K::Fixed) || (key == "engine_max" && m.kind == K::EngineMax)
            || (key != "value" && key != "engine_max" && m.kind == K::Adaptive);
        if (f->has(key) && !applies)
            r.diag().error(r.tree().mark(f->get(key)->key), f->pathOf(key),
                           std::string(key) + " does not apply to kind: " + toString(m.kind));
    }
}

void readPredictTable(FieldReader& r, const Entry& e, ServiceTable& t)
{
    constexpr std::string_view kKeys[] = { "batch", "ms", "concurrency", "overhead_ms", "variation", "variation_alone", "variation_shared", "idle", "order", "tail_ms", "device_ms", "engine_thread_ms", "engine_thread_wake_ms", "source" };
    const auto f = r.mapFields(e, "model.predict_table", kKeys,
                               "a map like {batch: [1, 2, 4], ms: [1.0, 1.1, 1.4]}, or with concurrency: [1, 2, 4] one ms row per "
                               "concurrency (knee calibrate writes it)");
    if (!f)
        return;
    const YamlTree& tree = r.tree();
    auto numbers = [&](const Entry& entry, const std::string& path, const NumberRule& rule, auto& out) {
        if (tree.type(entry.value) != YamlType::Sequence || tree.size(entry.value) == 0 || tree.size(entry.value) > 64) {
            r.expected(entry, path, "a list of 1 to 64 numbers");
            return false;
        }
        for (std::size_t i = 0; i < tree.size(entry.value); ++i) {
            const Entry item { Entry::kNoKey, tree.item(entry.value, i) };
            const auto v = r.number(item, path + "[" + std::to_string(i) + "]", rule);
            if (!v)
                return false;
            out.push_back(static_cast<typename std::decay_t<decltype(out)>::value_type>(*v));
        }
        return true;
    };
    auto list = [&](std::string_view key, const NumberRule& rule, auto& out) {
        const auto entry = f->get(key);
        if (!entry) {
            r.missing(*f, key, "a list of numbers");
            return false;
        }
        return numbers(*entry, f->pathOf(key), rule, out);
    };
    const NumberRule msRule = rule(0, limits::kMaxStageMs, false, true);
    bool ok = list("batch", rule(1, limits::kMaxConcurrency, true), t.batch);
    std::vector<int> concurrency;
    if (f->has("concurrency"))
        ok = list("concurrency", rule(1, limits::kMaxConcurrency, true), concurrency) && ok;
    // ms (and device_ms, in its shape): with a concurrency axis one row per concurrency, each a time per
    // batch size; else one list.
    auto grid = [&](std::string_view key, std::vector<double>& first, std::vector<std::vector<double>>& shared) {
        const auto entry = f->get(key);
        if (concurrency.empty())
            return list(key, msRule, first);
        if (!entry) {
            r.missing(*f, key, "one list of times per concurrency");
            return false;
        }
        if (tree.type(entry->value) != YamlType::Sequence || tree.size(entry->value) != concurrency.size()) {
            r.expected(*entry, f->pathOf(key), "one list of times per concurrency (" + std::to_string(concurrency.size()) + ")");
            return false;
        }
        bool rowsOk = ok; // a failed batch list has no size to hold the rows to
        for (std::size_t j = 0; j < concurrency.size(); ++j) {
            const Entry row { Entry::kNoKey, tree.item(entry->value, j) };
            const std::string path = f->pathOf(key) + "[" + std::to_string(j) + "]";
            std::vector<double> times;
            if (!numbers(row, path, msRule, times)) {
                rowsOk = false;
                continue;
            }
            if (rowsOk && times.size() != t.batch.size()) {
                r.fail(row, path, "expected one time per batch size (" + std::to_string(t.batch.size()) + "), got " + std::to_string(times.size()));
                rowsOk = false;
            }
            if (j == 0)
                first = std::move(times);
            else
                shared.push_back(std::move(times));
        }
        return rowsOk;
    };
    if (!concurrency.empty()) {
        if (!f->get("ms")) {
            r.missing(*f, "ms", "one list of times per concurrency");
            return;
        }
        if (!grid("ms", t.ms, t.msShared))
            ok = false;
        if (concurrency.front() != 1 || std::adjacent_find(concurrency.begin(), concurrency.end(), std::greater_equal<int>()) != concurrency.end())
            r.fail(*f->get("concurrency"), f->pathOf("concurrency"), "expected increasing calls in flight, starting at 1");
        else if (concurrency.size() > 17)
            r.fail(*f->get("concurrency"), f->pathOf("concurrency"), "expected at most 17 values");
        t.concurrency.assign(concurrency.begin() + 1, concurrency.end());
    } else {
        ok = list("ms", msRule, t.ms) && ok;
    }
    if (f->has("device_ms") && !grid("device_ms", t.deviceMs, t.deviceMsShared))
        ok = false;
    // overhead_ms and engine_thread_ms: one number, or with a concurrency axis one per concurrency (k = 1 first).
    auto perConcurrency = [&](std::string_view key, double& atOne, std::vector<double>& shared) {
        const auto v = f->get(key);
        if (!v)
            return;
        if (tree.type(v->value) != YamlType::Sequence) {
            if (auto x = r.number(*v, f->pathOf(key), rule(0, 1000, false, false)))
                atOne = *x;
            return;
        }
        std::vector<double> values;
        if (concurrency.empty() || tree.size(v->value) != concurrency.size()) {
            r.expected(*v, f->pathOf(key),
                       concurrency.empty() ? "a number (a list needs the concurrency axis)"
                                           : "a number, or one per concurrency (" + std::to_string(concurrency.size()) + ")");
            return;
        }
        if (!numbers(*v, f->pathOf(key), rule(0, 1000, false, false), values))
            return;
        atOne = values.front();
        shared.assign(values.begin() + 1, values.end());
    };
    perConcurrency("overhead_ms", t.overheadMs, t.overheadSharedMs);
    if (auto v = f->get("variation"))
        numbers(*v, f->pathOf("variation"), rule(0, 100, false, true), t.variation);
    if (auto v = f->get("variation_alone"))
        numbers(*v, f->pathOf("variation_alone"), rule(0, 100, false, true), t.variationAlone);
    if (auto v = f->get("variation_shared")) {
        // One row of quantiles per concurrency above 1.
        if (tree.type(v->value) != YamlType::Sequence || concurrency.size() < 2 || tree.size(v->value) != concurrency.size() - 1) {
            r.expected(*v, f->pathOf("variation_shared"),
                       concurrency.size() < 2 ? "no value: it needs the concurrency axis"
                                              : "one list of ratios per concurrency above 1 (" + std::to_string(concurrency.size() - 1) + ")");
        } else {
            for (std::size_t j = 0; j < tree.size(v->value); ++j) {
                const Entry row { Entry::kNoKey, tree.item(v->value, j) };
                t.variationShared.emplace_back();
                if (!numbers(row, f->pathOf("variation_shared") + "[" + std::to_string(j) + "]", rule(0, 100, false, true), t.variationShared.back()))
                    break;
            }
        }
    }
    if (auto v = f->get("order"))
        if (auto x = r.number(*v, f->pathOf("order"), rule(0, 1, false, false)))
            t.order = *x;
    if (auto v = f->get("tail_ms"))
        if (auto x = r.number(*v, f->pathOf("tail_ms"), rule(0, 1000, false, false)))
            t.tailMs = *x;
    perConcurrency("engine_thread_ms", t.engineThreadMs, t.engineThreadSharedMs);
    if (auto v = f->get("engine_thread_wake_ms"))
        numbers(*v, f->pathOf("engine_thread_wake_ms"), rule(0, 1000, false, false), t.engineThreadWakeMs);
    if (auto v = f->get("idle")) {
        constexpr std::string_view kIdleKeys[] = { "gap_ms", "extra_ms", "jitter_ms", "jitter_from_ms", "call_gap_ms", "call_extra_ms" };
        if (const auto idle = r.mapFields(*v, f->pathOf("idle"), kIdleKeys, "a map like {gap_ms: [0.1, 1], extra_ms: [0.01, 0.05]}")) {
            for (auto [key, out] : { std::pair { "gap_ms", &t.idleGapMs }, std::pair { "extra_ms", &t.idleExtraMs } }) {
                if (const auto e = idle->get(key))
                    numbers(*e, idle->pathOf(key), rule(0, 1000, false, false), *out);
                else
                    r.missing(*idle, key, "a list of numbers");
            }
            if (const auto e = idle->get("jitter_ms"))
                numbers(*e, idle->pathOf("jitter_ms"), rule(-1000, 1000, false, false), t.idleJitterMs);
            // The calls no batcher's timer released (ServiceTable::callIdleGapMs): both lists, or neither.
            for (auto [key, other, out] : { std::tuple { "call_gap_ms", "call_extra_ms", &t.callIdleGapMs },
                                            std::tuple { "call_extra_ms", "call_gap_ms", &t.callIdleExtraMs } })
                if (const auto e = idle->get(key))
                    numbers(*e, idle->pathOf(key), rule(0, 1000, false, false), *out);
                else if (idle->get(other))
                    r.missing(*idle, key, "a list of numbers");
            if (const auto e = idle->get("jitter_from_ms")) {
                if (auto x = r.number(*e, idle->pathOf("jitter_from_ms"), rule(0, 1000, false, true)))
                    t.idleJitterFromMs = *x;
            } else if (idle->get("jitter_ms")) {
                r.missing(*idle, "jitter_from_ms", "the smallest idle gap in ms the jitter applies from");
            }
        }
    }
    if (auto s = f->get("source"))
        if (auto v = r.text(*s, f->pathOf("source")))
            t.source = *v;
    if (!ok)
        return;
    if (concurrency.empty() && t.batch.size() != t.ms.size())
        r.fail(*f->get("ms"), f->pathOf("ms"), "expected one time per batch size (" + std::to_string(t.batch.size()) + "), got " + std::to_string(t.ms.size()));
    for (std::size_t i = 1; i < t.batch.size(); ++i)
        if (t.batch[i] <= t.batch[i - 1]) {
            r.fail(*f->get("batch"), f->pathOf("batch"), "expected increasing batch sizes");
            break;
        }
}

// independent | serial | table, or {speedup: [1, 1.4, 1.6]} or {kind: table}, either map with order: 0…1.
void readDeviceSharing(FieldReader& r, const Entry& e, DeviceSharing& d)
{
    const YamlTree& tree = r.tree();
    const std::string what = "independent, serial, table, or a map like {speedup: [1, 1.4, 1.6]} (S(k): the work k calls in flight do, "
                             "relative to one) or {kind: table}, either with order: 0 (processor sharing) to 1 (oldest first)";
    d.given = true;
    if (tree.type(e.value) == YamlType::Scalar) {
        constexpr std::string_view kKinds[] = { "independent", "serial", "table" };
        if (auto name = r.choice(e, "model.predict_sharing", kKinds))
            sharingKindFromString(std::string(*name), d.kind);
        return;
    }
    constexpr std::string_view kKeys[] = { "speedup", "kind", "order" };
    const auto f = r.mapFields(e, "model.predict_sharing", kKeys, what);
    if (!f)
        return;
    if (auto v = f->get("order"))
        if (auto x = r.number(*v, f->pathOf("order"), rule(0, 1, false, false)))
            d.order = *x;
    const auto entry = f->get("speedup");
    if (auto k = f->get("kind")) {
        constexpr std::string_view kKinds[] = { "independent", "serial", "table" };
        if (entry)
            r.fail(*k, f->pathOf("kind"), "give kind or speedup, not both (a speedup curve is its own kind)");
        else if (auto name = r.choice(*k, f->pathOf("kind"), kKinds))
            sharingKindFromString(std::string(*name), d.kind);
        return;
    }
    if (!entry) {
        r.missing(*f, "speedup", "a list like [1, 1.4, 1.6], or kind: independent, serial or table");
        return;
    }
    d.kind = DeviceSharing::Kind::Speedup;
    if (tree.type(entry->value) != YamlType::Sequence || tree.size(entry->value) == 0 || tree.size(entry->value) > 1024) {
        r.expected(*entry, f->pathOf("speedup"), "a list of 1 to 1024 numbers, the first 1");
        return;
    }
    for (std::size_t k = 0; k < tree.size(entry->value); ++k) {
        const Entry item { Entry::kNoKey, tree.item(entry->value, k) };
        const std::string path = f->pathOf("speedup") + "[" + std::to_string(k) + "]";
        const double hi = double(k + 1);
        const auto v = r.number(item, path, NumberRule { k == 0 ? 1.0 : 0.0, hi, k != 0, false,
                                                         k == 0 ? "1 (one call does one call's work)"
                                                                : "a number > 0 and at most " + formatNumber(hi) + " (k calls cannot do more than k calls' work)" });
        if (!v)
            return;
        d.speedup.push_back(*v);
    }
}

void readBatching(FieldReader& r, const Entry& e, BatchingConfig& b,
                  const std::function<void(const Entry&, const std::string&, Distribution&)>& readDistribution)
{
    constexpr std::string_view kKeys[] = { "mode", "max_batch", "max_delay_ms", "max_sequences", "output_tokens", "prefill_ms" };
    constexpr std::string_view kModes[] = { "none", "dynamic", "continuous" };
    const auto f = r.mapFields(e, "model.batching", kKeys, "a map like {mode: dynamic, max_batch: 32, max_delay_ms: 5}");
    if (!f)
        return;
    if (auto m = f->get("mode")) {
        if (auto name = r.choice(*m, f->pathOf("mode"), kModes))
            b.mode = *name == "dynamic" ? BatchingConfig::Mode::Dynamic
                : *name == "continuous" ? BatchingConfig::Mode::Continuous
                                        : BatchingConfig::Mode::None;
    } else {
        r.missing(*f, "mode", "none, dynamic or continuous");
    }
    const bool continuous = b.mode == BatchingConfig::Mode::Continuous;
    for (std::string_view key : {"max_batch", "max_delay_ms"})
        if (continuous && f->has(key))
            r.diag().error(r.tree().mark(f->get(key)->key), f->pathOf(key), std::string(key) + " applies to mode: dynamic, not continuous");
    for (std::string_view key : {"max_sequences", "output_tokens", "prefill_ms"})
        if (!continuous && f->has(key))
            r.diag().error(r.tree().mark(f->get(key)->key), f->pathOf(key), std::string(key) + " applies to mode: continuous");
    take(r, *f, "max_batch", rule(1, limits::kMaxConcurrency, true), b.maxBatch);
    take(r, *f, "max_delay_ms", rule(0, 60'000), b.maxDelayMs);
    take(r, *f, "max_sequences", rule(1, limits::kMaxConcurrency, true), b.maxSequences);
    take(r, *f, "prefill_ms", rule(0, limits::kMaxStageMs), b.prefillMs);
    if (auto t = f->get("output_tokens"); t && continuous)
        readDistribution(*t, f->pathOf("output_tokens"), b.outputTokens);
}

void readArrivalPattern(FieldReader& r, const MapFields& f, ArrivalConfig& a, const std::string& scenarioFile)
{
    using K = ArrivalConfig::Kind;
    const NumberRule rate = rule(0, limits::kMaxRateRps, false, true);
    const NumberRule seconds = rule(0, limits::kMaxDurationS);
    switch (a.kind) {
    case K::Step: {
        const auto steps = f.get("steps");
        if (!steps) {
            r.missing(f, "steps", "a list like [{at_s: 60, rate_rps: 300}]");
            return;
        }
        const YamlTree& t = r.tree();
        if (t.type(steps->value) != YamlType::Sequence || t.size(steps->value) == 0) {
            r.expected(*steps, f.pathOf("steps"), "a non-empty list like [{at_s: 60, rate_rps: 300}]");
            return;
        }
        constexpr std::string_view kStepKeys[] = { "at_s", "rate_rps" };
        double last = -1;
        for (std::size_t i = 0; i < t.size(steps->value); ++i) {
            const Entry item { Entry::kNoKey, t.item(steps->value, i) };
            const std::string path = f.pathOf("steps") + "[" + std::to_string(i) + "]";
            const auto sf = r.mapFields(item, path, kStepKeys, "a map like {at_s: 60, rate_rps: 300}", false);
            if (!sf)
                continue;
            const auto at = need(r, *sf, "at_s", seconds);
            const auto rps = need(r, *sf, "rate_rps", rate);
            if (at && *at < last)
                r.fail(*sf->get("at_s"), sf->pathOf("at_s"), "steps must be in time order: " + formatNumber(*at) + " comes after "
                                                                    + formatNumber(last));
            if (at && rps) {
                a.steps.push_back({*at, *rps});
                last = *at;
            }
        }
        return;
    }
    case K::Spike:
        if (auto v = need(r, f, "spike_rps", rate))
            a.spikeRps = *v;
        if (auto v = need(r, f, "at_s", seconds))
            a.spikeAtS = *v;
        if (auto v = need(r, f, "duration_s", rule(0, limits::kMaxDurationS, false, true)))
            a.spikeDurationS = *v;
        return;
    case K::Diurnal:
        if (auto v = need(r, f, "baseline_rps", rate))
            a.baselineRps = *v;
        if (auto v = need(r, f, "peak_rps", rate))
            a.peakRps = *v;
        take(r, f, "period_s", rule(1, limits::kMaxDurationS), a.periodS);
        a.peakAtS = a.periodS / 2; // default: the peak mid-period
        take(r, f, "peak_at_s", seconds, a.peakAtS);
        return;
    case K::Trace: {
        const auto file = f.get("file");
        if (!file) {
            r.missing(f, "file", "the path of a CSV of send times (seconds), optionally with a size column");
            return;
        }
        const auto name = r.text(*file, f.pathOf("file"));
        if (!name)
            return;
        a.traceFile = *name;
        std::filesystem::path path(*name);
        if (path.is_relative())
            path = std::filesystem::path(scenarioFile).parent_path() / path;
        if (std::string error = readTraceCsv(path.string(), a.trace); !error.empty())
            r.fail(*file, f.pathOf("file"), error);
        return;
    }
    default: return;
    }
}

std::string readTraceCsv(const std::string& path, std::vector<TraceRecord>& out)
{
    const UserFileRead file = readUserFile(path, kTraceFile);
    if (!file.ok())
        return "the trace " + path + ": " + file.error;
    out.clear();
    std::size_t lineNo = 0;
    double last = 0;
    auto parse = [](std::string_view s, double& v) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
            s.remove_suffix(1);
        const auto [p, err] = std::from_chars(s.data(), s.data() + s.size(), v);
        return err == std::errc() && p == s.data() + s.size() && std::isfinite(v);
    };
    // The file's content never goes into a message, only the line number and what is wrong: any
    // readable file can be named as a trace (a line of /etc/shadow was once printed this way).
    std::string_view rest(file.bytes);
    while (!rest.empty()) {
        ++lineNo;
        const std::size_t newline = rest.find('\n');
        const std::string_view l = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
        if (l.empty() || l.front() == '#' || l.find_first_not_of(" \t\r") == std::string_view::npos)
            continue;
        const auto comma = l.find(',');
        double at = 0, size = 1;
        const bool timeOk = parse(l.substr(0, comma), at);
        if (!timeOk && out.empty() && lineNo == 1)
            continue; // a header line
        const std::string where = path + ":" + std::to_string(lineNo) + ": ";
        if (!timeOk || at < 0 || at > limits::kMaxDurationS)
            return where + "expected a send time in seconds (0 to one year) before any comma";
        if (comma != std::string_view::npos && (!parse(l.substr(comma + 1), size) || size < 0 || size > 1e6))
            return where + "expected a request size between 0 and 1e6 after the comma";
        if (at < last)
            return where + "send times must not go backwards (" + std::to_string(at) + " after " + std::to_string(last) + ")";
        if (out.size() >= kMaxTraceRecords)
            return where + "more than 50 million requests in one trace";
        out.push_back({at, size});
        last = at;
    }
    if (out.empty())
        return "the trace " + path + " has no send times";
    return {};
}

} // namespace knee::io
