// writeScenarioYaml: canonical text for a scenario, in the reader's format. Numbers are written in
// their shortest form that reads back to the same double, so write -> read is exact.
#include "scenario_reader.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace knee {

namespace {

std::string number(double v)
{
    if (std::isnan(v))
        return ".nan"; // the reader refuses these; a scenario that holds them does not validate either
    if (std::isinf(v))
        return v > 0 ? ".inf" : "-.inf";
    char buf[64];
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, ptr);
}

// A double-quoted YAML string; invalid UTF-8 bytes become U+FFFD so the output always reads back.
std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"': out += "\\\""; continue;
        case '\\': out += "\\\\"; continue;
        case '\n': out += "\\n"; continue;
        case '\t': out += "\\t"; continue;
        case '\r': out += "\\r"; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", unsigned(c));
            out += buf;
            continue;
        }
        if (c < 0x80) {
            out += char(c);
            continue;
        }
        // Copy a whole, valid multi-byte sequence; C1 controls (U+0080..U+009F) are escaped.
        const std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool valid = len > 0 && i + len <= s.size();
        char32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (std::size_t k = 1; valid && k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            valid = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3F);
        }
        const char32_t minimum = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        valid = valid && cp >= minimum && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!valid) {
            out += "\\uFFFD";
            continue;
        }
        if (cp <= 0x9F || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
            char buf[12];
            std::snprintf(buf, sizeof buf, "\\u%04X", unsigned(cp));
            out += buf;
        } else {
            out.append(s.substr(i, len));
        }
        i += len - 1;
    }
    return out + "\"";
}

std::string numberList(const std::vector<double>& values)
{
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i)
        out += (i ? ", " : "") + number(values[i]);
    return out + "]";
}

// Stage times carry an "_ms" suffix on mean, spread and values; unitless quantities do not.
std::string distribution(const Distribution& d, const char* unit = "_ms")
{
    const std::string u = unit;
    std::string out = std::string("{dist: ") + toString(d.kind);
    if (d.kind != Distribution::Kind::Empirical || d.meanMs != 0)
        out += ", mean" + u + ": " + number(d.meanMs);
    switch (d.kind) {
    case Distribution::Kind::Lognormal: out += ", sigma: " + number(d.sigma); break;
    case Distribution::Kind::Uniform:
        if (d.spreadMs >= 0)
            out += ", spread" + u + ": " + number(d.spreadMs);
        break;
    case Distribution::Kind::Empirical:
        out += ", values" + u + ": " + numberList(d.valuesMs);
        if (!d.weights.empty())
            out += ", weights: " + numberList(d.weights);
        break;
    default: break;
    }
    if (d.perInstant && d.kind != Distribution::Kind::Constant) // a constant is the same either way
        out += ", draw: per_instant";
    return out + "}";
}

std::string intList(const std::vector<int>& values)
{
    return numberList(std::vector<double>(values.begin(), values.end()));
}

std::string twinErrors(const TwinErrors& e)
{
    std::string out = "{concurrency: " + intList(e.concurrency) + ", throughput: " + numberList(e.throughputPct) + ", p50: "
        + numberList(e.p50Pct) + ", p95: " + numberList(e.p95Pct);
    if (!e.ttftP50Pct.empty())
        out += ", ttft_p50: " + numberList(e.ttftP50Pct);
    if (!e.ttftP95Pct.empty())
        out += ", ttft_p95: " + numberList(e.ttftP95Pct);
    if (!e.itlP50Pct.empty())
        out += ", itl_p50: " + numberList(e.itlP50Pct);
    return out + "}";
}

// The twin: section (engine/io/scenario_twin.cpp reads it).
std::string twinSection(const TwinSource& t)
{
    std::ostringstream o;
    o << "twin:\n";
    o << "  endpoint: " << quoted(t.endpoint) << "\n";
    if (!t.mode.empty())
        o << "  mode: " << t.mode << "\n";
    if (!t.measuredAt.empty())
        o << "  measured_at: " << quoted(t.measuredAt) << "\n";
    if (!t.fittedAt.empty())
        o << "  fitted_at: " << quoted(t.fittedAt) << "\n";
    if (!t.session.empty())
        o << "  session: " << quoted(t.session) << "\n";
    o << "  levels: " << intList(t.levels) << "\n";
    o << "  replay_error_pct: " << twinErrors(t.replay) << "\n";
    if (!t.crossValidation.concurrency.empty())
        o << "  cross_validation_error_pct: " << twinErrors(t.crossValidation) << "\n";
    if (!t.notes.empty()) {
        o << "  notes:\n";
        for (const std::string& n : t.notes)
            o << "    - " << quoted(n) << "\n";
    }
    return o.str();
}

} // namespace

std::string writePredictTableYaml(const ServiceTable& t)
{
    std::ostringstream o;
    std::vector<double> batch(t.batch.begin(), t.batch.end());
    o << "{batch: " << numberList(batch);
    // ms, and device_ms in its shape: one row per concurrency where the table has the axis, else one list.
    auto grid = [&](const char* key, const std::vector<double>& first, const std::vector<std::vector<double>>& shared) {
        if (!t.hasConcurrency()) {
            o << ", " << key << ": " << numberList(first);
            return;
        }
        o << ", " << key << ": [" << numberList(first);
        for (const auto& row : shared)
            o << ", " << numberList(row);
        o << "]";
    };
    if (t.hasConcurrency()) {
        std::vector<double> k { 1 };
        k.insert(k.end(), t.concurrency.begin(), t.concurrency.end());
        o << ", concurrency: " << numberList(k);
    }
    grid("ms", t.ms, t.msShared);
    // One value per concurrency row where the table has them (k = 1 first), else the one value.
    auto perConcurrency = [&](const char* key, double atOne, const std::vector<double>& shared) {
        if (!shared.empty() && shared.size() == t.concurrency.size()) {
            std::vector<double> all { atOne };
            all.insert(all.end(), shared.begin(), shared.end());
            o << ", " << key << ": " << numberList(all);
        } else if (atOne > 0) {
            o << ", " << key << ": " << number(atOne);
        }
    };
    perConcurrency("overhead_ms", t.overheadMs, t.overheadSharedMs);
    if (!t.variation.empty())
        o << ", variation: " << numberList(t.variation);
    if (!t.variationAlone.empty())
        o << ", variation_alone: " << numberList(t.variationAlone);
    if (!t.variationShared.empty()) {
        o << ", variation_shared: [";
        for (std::size_t j = 0; j < t.variationShared.size(); ++j)
            o << (j ? ", " : "") << numberList(t.variationShared[j]);
        o << "]";
    }
    if (!t.idleGapMs.empty())
        o << ", idle: {gap_ms: " << numberList(t.idleGapMs) << ", extra_ms: " << numberList(t.idleExtraMs)
          << (t.idleJitterMs.empty() ? "" : ", jitter_ms: " + numberList(t.idleJitterMs) + ", jitter_from_ms: " + number(t.idleJitterFromMs))
          << (t.callIdleGapMs.empty() ? "" : ", call_gap_ms: " + numberList(t.callIdleGapMs) + ", call_extra_ms: " + numberList(t.callIdleExtraMs))
          << "}";
    if (t.order > 0)
        o << ", order: " << number(t.order);
    if (t.tailMs > 0)
        o << ", tail_ms: " << number(t.tailMs);
    if (t.hasDeviceTimes())
        grid("device_ms", t.deviceMs, t.deviceMsShared);
    perConcurrency("engine_thread_ms", t.engineThreadMs, t.engineThreadSharedMs);
    if (!t.engineThreadWakeMs.empty())
        o << ", engine_thread_wake_ms: " << numberList(t.engineThreadWakeMs);
    if (!t.source.empty())
        o << ", source: " << quoted(t.source);
    o << "}";
    return o.str();
}

std::string writeScenarioYaml(const Scenario& s)
{
    std::ostringstream o;
    o << "# knee scenario\n";
    o << "name: " << quoted(s.name) << "\n";

    const DeploymentConfig& d = s.deployment;
    o << "deployment:\n";
    o << "  replicas: {min: " << d.minReplicas << ", max: " << d.maxReplicas;
    if (d.initialReplicas != 0)
        o << ", initial: " << d.initialReplicas;
    o << "}\n";
    o << "  concurrency_target: " << d.concurrencyTarget << "\n";
    o << "  predict_concurrency: " << d.predictConcurrency << "\n";
    o << "  cold_start_s: " << number(d.coldStartS) << "\n";
    o << "  queue_limit: " << d.queueLimit << "\n";
    if (d.costPerReplicaHour > 0)
        o << "  cost_per_replica_hour: " << number(d.costPerReplicaHour) << "\n";
    if (d.devices > 0)
        o << "  devices: " << d.devices << "\n";
    if (const AutoscalerConfig& a = d.autoscaler; a.policy != AutoscalerConfig::Policy::None) {
        o << "  autoscaling:\n";
        o << "    policy: " << toString(a.policy) << "\n";
        o << "    evaluation_interval_s: " << number(a.evaluationIntervalS) << "\n";
        o << "    target_utilization_percent: " << number(a.targetUtilization * 100) << "\n";
        o << "    window_s: " << number(a.windowS) << "\n";
        o << "    scale_down_delay_s: " << number(a.scaleDownDelayS) << "\n";
        o << "    max_scale_down_rate: " << number(a.maxScaleDownRate) << "\n";
        o << "    panic_window_percent: " << number(a.panicWindowPercent) << "\n";
        o << "    panic_threshold_percent: " << number(a.panicThresholdPercent) << "\n";
        o << "    scale_to_zero_grace_s: " << number(a.scaleToZeroGraceS) << "\n";
        o << "    max_scale_up_rate: " << number(a.maxScaleUpRate) << "\n";
        o << "    knative_max_scale_down_rate: " << number(a.knativeMaxScaleDownRate) << "\n";
    }
    if (const ConcurrencyModifierConfig& m = d.modifier; m.kind != ConcurrencyModifierConfig::Kind::None) {
        o << "  concurrency_modifier: {kind: " << toString(m.kind);
        if (m.kind == ConcurrencyModifierConfig::Kind::Fixed)
            o << ", value: " << m.fixed;
        else if (m.kind == ConcurrencyModifierConfig::Kind::EngineMax)
            o << ", engine_max: " << m.engineMax;
        else
            o << ", initial_limit: " << m.initialLimit << ", min_limit: " << m.minLimit << ", max_limit: " << m.maxLimit
              << ", tolerance: " << number(m.tolerance) << ", smoothing: " << number(m.smoothing);
        o << "}\n";
    }

    const ModelConfig& m = s.model;
    o << "model:\n";
    o << "  preprocess: " << distribution(m.preprocess) << "\n";
    o << "  predict: " << distribution(m.predict) << "\n";
    o << "  postprocess: " << distribution(m.postprocess) << "\n";
    o << "  predict_failure_rate: " << number(m.predictFailureRate) << "\n";
    if (!m.predictTable.empty())
        o << "  predict_table: " << writePredictTableYaml(m.predictTable) << "\n";
    if (m.sharing.given) {
        const std::string order = m.sharing.order > 0 ? ", order: " + number(m.sharing.order) : std::string();
        if (m.sharing.kind == DeviceSharing::Kind::Speedup)
            o << "  predict_sharing: {speedup: " << numberList(m.sharing.speedup) << order << "}\n";
        else if (!order.empty())
            o << "  predict_sharing: {kind: " << toString(m.sharing.kind) << order << "}\n";
        else
            o << "  predict_sharing: " << toString(m.sharing.kind) << "\n";
    }
    if (!m.profile.empty())
        o << "  profile: " << m.profile << "\n";
    if (m.batching.mode == BatchingConfig::Mode::Dynamic)
        o << "  batching: {mode: dynamic, max_batch: " << m.batching.maxBatch << ", max_delay_ms: " << number(m.batching.maxDelayMs) << "}\n";
    else if (m.batching.mode == BatchingConfig::Mode::Continuous)
        o << "  batching: {mode: continuous, max_sequences: " << m.batching.maxSequences
          << ", output_tokens: " << distribution(m.batching.outputTokens, "")
          << (m.batching.prefillMs > 0 ? ", prefill_ms: " + number(m.batching.prefillMs) : std::string()) << "}\n";

    const WorkloadConfig& w = s.workload;
    o << "workload:\n";
    const ArrivalConfig& a = w.arrival;
    o << "  arrival: {kind: " << toString(a.kind);
    switch (a.kind) {
    case ArrivalConfig::Kind::Closed: o << ", users: " << a.users << ", think: " << distribution(a.think); break;
    case ArrivalConfig::Kind::Poisson:
    case ArrivalConfig::Kind::Constant: o << ", rate_rps: " << number(a.rateRps); break;
    case ArrivalConfig::Kind::Step:
        o << ", rate_rps: " << number(a.rateRps) << ", steps: [";
        for (std::size_t i = 0; i < a.steps.size(); ++i)
            o << (i ? ", " : "") << "{at_s: " << number(a.steps[i].atS) << ", rate_rps: " << number(a.steps[i].rateRps) << "}";
        o << "]";
        break;
    case ArrivalConfig::Kind::Spike:
        o << ", rate_rps: " << number(a.rateRps) << ", spike_rps: " << number(a.spikeRps) << ", at_s: " << number(a.spikeAtS)
          << ", duration_s: " << number(a.spikeDurationS);
        break;
    case ArrivalConfig::Kind::Diurnal:
        o << ", baseline_rps: " << number(a.baselineRps) << ", peak_rps: " << number(a.peakRps) << ", period_s: " << number(a.periodS)
          << ", peak_at_s: " << number(a.peakAtS);
        break;
    case ArrivalConfig::Kind::Trace: o << ", file: " << quoted(a.traceFile); break;
    }
    o << "}\n";
    if (!(w.requestSize.kind == Distribution::Kind::Constant && w.requestSize.meanMs == 1.0))
        o << "  request_size: " << distribution(w.requestSize, "") << "\n";
    o << "  requests: " << w.requests << "\n";
    o << "  duration_s: " << number(w.durationS) << "\n";
    o << "  warmup_s: " << number(w.warmupS) << "\n";
    o << "  seed: " << w.seed << "\n";

    if (!s.changes.empty()) {
        o << "changes:\n";
        for (const KnobChange& c : s.changes) {
            o << "  - {at_s: " << number(c.atS);
            if (c.concurrencyTarget)
                o << ", concurrency_target: " << *c.concurrencyTarget;
            if (c.predictConcurrency)
                o << ", predict_concurrency: " << *c.predictConcurrency;
            if (c.minReplicas || c.maxReplicas) {
                o << ", replicas: {";
                if (c.minReplicas)
                    o << "min: " << *c.minReplicas << (c.maxReplicas ? ", " : "");
                if (c.maxReplicas)
                    o << "max: " << *c.maxReplicas;
                o << "}";
            }
            if (c.rateRps)
                o << ", rate_rps: " << number(*c.rateRps);
            if (c.users)
                o << ", users: " << *c.users;
            o << "}\n";
        }
    }
    if (s.twin)
        o << twinSection(*s.twin);
    return o.str();
}

} // namespace knee
