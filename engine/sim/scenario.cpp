#include "scenario.h"
#include "predict_variation.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace knee {

const char* toString(ArrivalConfig::Kind kind)
{
    switch (kind) {
    case ArrivalConfig::Kind::Poisson: return "poisson";
    case ArrivalConfig::Kind::Constant: return "constant";
    case ArrivalConfig::Kind::Closed: return "closed";
    case ArrivalConfig::Kind::Step: return "step";
    case ArrivalConfig::Kind::Spike: return "spike";
    case ArrivalConfig::Kind::Diurnal: return "diurnal";
    case ArrivalConfig::Kind::Trace: return "trace";
    }
    return "?";
}

namespace {
template <typename E, std::size_t N>
bool fromName(const std::string& name, E& out, const E (&all)[N])
{
    for (E k : all)
        if (name == toString(k)) {
            out = k;
            return true;
        }
    return false;
}
} // namespace

bool arrivalKindFromString(const std::string& name, ArrivalConfig::Kind& out)
{
    using K = ArrivalConfig::Kind;
    const K all[] = {K::Poisson, K::Constant, K::Closed, K::Step, K::Spike, K::Diurnal, K::Trace};
    return fromName(name, out, all);
}

const char* toString(AutoscalerConfig::Policy policy)
{
    switch (policy) {
    case AutoscalerConfig::Policy::None: return "none";
    case AutoscalerConfig::Policy::Baseten: return "baseten";
    case AutoscalerConfig::Policy::Knative: return "knative";
    }
    return "?";
}

bool autoscalerPolicyFromString(const std::string& name, AutoscalerConfig::Policy& out)
{
    using P = AutoscalerConfig::Policy;
    const P all[] = {P::None, P::Baseten, P::Knative};
    return fromName(name, out, all);
}

const char* toString(ConcurrencyModifierConfig::Kind kind)
{
    switch (kind) {
    case ConcurrencyModifierConfig::Kind::None: return "none";
    case ConcurrencyModifierConfig::Kind::Fixed: return "fixed";
    case ConcurrencyModifierConfig::Kind::EngineMax: return "engine_max";
    case ConcurrencyModifierConfig::Kind::Adaptive: return "adaptive";
    }
    return "?";
}

bool modifierKindFromString(const std::string& name, ConcurrencyModifierConfig::Kind& out)
{
    using K = ConcurrencyModifierConfig::Kind;
    const K all[] = {K::None, K::Fixed, K::EngineMax, K::Adaptive};
    return fromName(name, out, all);
}

double ArrivalConfig::rateAt(double t) const
{
    switch (kind) {
    case Kind::Poisson:
    case Kind::Constant: return rateRps;
    case Kind::Step: {
        double r = rateRps;
        for (const RateStep& s : steps) // sorted by atS
            if (t >= s.atS)
                r = s.rateRps;
        return r;
    }
    case Kind::Spike: return t >= spikeAtS && t < spikeAtS + spikeDurationS ? spikeRps : rateRps;
    case Kind::Diurnal: {
        // A cosine day: peak at peakAtS, baseline half a period away.
        const double phase = 2 * 3.141592653589793 * (t - peakAtS) / periodS;
        return baselineRps + (peakRps - baselineRps) * (1 + std::cos(phase)) / 2;
    }
    case Kind::Closed:
    case Kind::Trace: return 0;
    }
    return 0;
}

double ArrivalConfig::nextRateChange(double tS) const
{
    double next = std::numeric_limits<double>::infinity();
    switch (kind) {
    case Kind::Step:
        for (const RateStep& s : steps)
            if (s.atS > tS)
                return s.atS; // sorted by atS
        break;
    case Kind::Spike:
        if (tS < spikeAtS)
            next = spikeAtS;
        else if (tS < spikeAtS + spikeDurationS)
            next = spikeAtS + spikeDurationS;
        break;
    default: break;
    }
    return next;
}

double ArrivalConfig::maxRate() const
{
    switch (kind) {
    case Kind::Step: {
        double r = rateRps;
        for (const RateStep& s : steps)
            r = std::max(r, s.rateRps);
        return r;
    }
    case Kind::Spike: return std::max(rateRps, spikeRps);
    case Kind::Diurnal: return std::max(baselineRps, peakRps);
    default: return rateRps;
    }
}

std::string checkConcurrencyKnob(const char* name, int v)
{
    if (v < 1 || v > limits::kMaxConcurrency)
        return std::string(name) + " must be between 1 and " + std::to_string(limits::kMaxConcurrency) + ", got "
            + std::to_string(v);
    return {};
}

std::string checkReplicaBounds(int min, int max)
{
    if (min < 0 || min > limits::kMaxReplicas)
        return "min replicas must be between 0 and " + std::to_string(limits::kMaxReplicas) + ", got " + std::to_string(min);
    if (max < 1 || max > limits::kMaxReplicas)
        return "max replicas must be between 1 and " + std::to_string(limits::kMaxReplicas) + ", got " + std::to_string(max);
    if (min > max)
        return "min replicas (" + std::to_string(min) + ") cannot exceed max replicas (" + std::to_string(max) + ")";
    return {};
}

std::string checkArrivalRate(double r)
{
    if (!(std::isfinite(r) && r > 0 && r <= limits::kMaxRateRps))
        return "arrival rate must be > 0 and <= 1e7 requests/s";
    return {};
}

std::string checkArrivalRateFor(const ArrivalConfig& a, double rps)
{
    if (a.kind == ArrivalConfig::Kind::Closed)
        return "the workload is closed-loop: set the number of users instead of a rate";
    if (!a.hasFixedRate())
        return "the arrival rate follows a pattern (step, spike, diurnal or trace); it has no single rate to set";
    return checkArrivalRate(rps);
}

std::string checkUsersFor(const ArrivalConfig& a, int users)
{
    if (a.kind != ArrivalConfig::Kind::Closed)
        return "the workload is open-loop: set an arrival rate instead of users";
    return checkUsers(users);
}

std::string checkUsers(int users)
{
    if (users < 1 || users > limits::kMaxUsers)
        return "users must be between 1 and " + std::to_string(limits::kMaxUsers) + ", got " + std::to_string(users);
    return {};
}

namespace {

std::string validateOpenLoop(const ArrivalConfig& a)
{
    using K = ArrivalConfig::Kind;
    switch (a.kind) {
    case K::Poisson:
    case K::Constant:
        if (auto e = checkArrivalRate(a.rateRps); !e.empty())
            return "workload.arrival.rate_rps: " + e;
        return {};
    case K::Step: {
        if (auto e = checkArrivalRate(a.rateRps); !e.empty())
            return "workload.arrival.rate_rps: " + e;
        if (a.steps.empty())
            return "a step pattern needs steps: [{at_s, rate_rps}, …]";
        double last = -1;
        for (const RateStep& s : a.steps) {
            if (!std::isfinite(s.atS) || s.atS < 0 || s.atS < last)
                return "step times must be >= 0 and in increasing order";
            last = s.atS;
            if (auto e = checkArrivalRate(s.rateRps); !e.empty())
                return "steps: " + e;
        }
        return {};
    }
    case K::Spike:
        if (auto e = checkArrivalRate(a.rateRps); !e.empty())
            return "workload.arrival.rate_rps: " + e;
        if (auto e = checkArrivalRate(a.spikeRps); !e.empty())
            return "workload.arrival.spike_rps: " + e;
        if (!(std::isfinite(a.spikeAtS) && a.spikeAtS >= 0 && std::isfinite(a.spikeDurationS) && a.spikeDurationS > 0))
            return "a spike needs at_s >= 0 and duration_s > 0";
        return {};
    case K::Diurnal:
        if (auto e = checkArrivalRate(a.baselineRps); !e.empty())
            return "workload.arrival.baseline_rps: " + e;
        if (auto e = checkArrivalRate(a.peakRps); !e.empty())
            return "workload.arrival.peak_rps: " + e;
        if (!(std::isfinite(a.periodS) && a.periodS >= 1 && a.periodS <= limits::kMaxDurationS))
            return "workload.arrival.period_s must be between 1 s and one year";
        if (!std::isfinite(a.peakAtS) || a.peakAtS < 0)
            return "workload.arrival.peak_at_s must be >= 0";
        return {};
    case K::Trace:
        if (a.trace.empty())
            return "a trace needs at least one send time";
        for (std::size_t i = 0; i < a.trace.size(); ++i) {
            const TraceRecord& r = a.trace[i];
            if (!std::isfinite(r.atS) || r.atS < 0 || r.atS > limits::kMaxDurationS || (i > 0 && r.atS < a.trace[i - 1].atS))
                return "trace send times must be >= 0, at most a year, and in order";
            if (!std::isfinite(r.size) || r.size < 0 || r.size > 1e6)
                return "trace request sizes must be between 0 and 1e6";
        }
        return {};
    case K::Closed: return {};
    }
    return {};
}

std::string validateAutoscaler(const DeploymentConfig& d) { return checkAutoscaler(d.autoscaler); }

} // namespace

std::string checkColdStart(double s)
{
    if (!std::isfinite(s) || s < 0 || s > limits::kMaxStageMs / 1000)
        return "cold start must be between 0 and 86400 seconds";
    return {};
}

std::string checkAutoscaler(const AutoscalerConfig& a)
{
    auto within = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
    if (!within(a.evaluationIntervalS, 0.01, 3600))
        return "autoscaling.evaluation_interval_s must be between 0.01 and 3600";
    if (!within(a.targetUtilization, 0.01, 1.0))
        return "autoscaling.target_utilization must be between 1 % and 100 %";
    if (!within(a.windowS, 10, 3600))
        return "autoscaling.window_s must be between 10 and 3600 seconds";
    if (!within(a.scaleDownDelayS, 0, 3600))
        return "autoscaling.scale_down_delay_s must be between 0 and 3600 seconds";
    if (!within(a.maxScaleDownRate, 1e-6, 1.0))
        return "autoscaling.max_scale_down_rate must be a share in (0, 1]";
    if (!within(a.panicWindowPercent, 1, 100))
        return "autoscaling.panic_window_percent must be between 1 and 100";
    if (!within(a.panicThresholdPercent, 110, 1000))
        return "autoscaling.panic_threshold_percent must be between 110 and 1000";
    if (!within(a.scaleToZeroGraceS, 0, 3600))
        return "autoscaling.scale_to_zero_grace_s must be between 0 and 3600 seconds";
    if (!within(a.maxScaleUpRate, 1.0, 1e6))
        return "autoscaling.max_scale_up_rate must be >= 1";
    // As Knative requires: a rate of 1 would allow no scale-down at all (ready / 1 = ready).
    if (!(std::isfinite(a.knativeMaxScaleDownRate) && a.knativeMaxScaleDownRate > 1.0 && a.knativeMaxScaleDownRate <= 1e6))
        return "autoscaling.knative_max_scale_down_rate must be > 1";
    return {};
}

namespace {

std::string validateModifier(const ConcurrencyModifierConfig& m)
{
    using K = ConcurrencyModifierConfig::Kind;
    if (m.kind == K::Fixed)
        return checkConcurrencyKnob("concurrency_modifier.value", m.fixed);
    if (m.kind == K::EngineMax && m.engineMax != 0) // 0: the continuous-batching engine's max_sequences
        return checkConcurrencyKnob("concurrency_modifier.engine_max", m.engineMax);
    if (m.kind == K::Adaptive) {
        if (m.minLimit < 1 || m.minLimit > m.maxLimit || m.maxLimit > limits::kMaxConcurrency)
            return "concurrency_modifier: need 1 <= min_limit <= max_limit <= 100000";
        if (m.initialLimit < m.minLimit || m.initialLimit > m.maxLimit)
            return "concurrency_modifier.initial_limit must lie between min_limit and max_limit";
        if (!(std::isfinite(m.tolerance) && m.tolerance >= 1 && m.tolerance <= 10))
            return "concurrency_modifier.tolerance must be between 1 and 10";
        if (!(std::isfinite(m.smoothing) && m.smoothing > 0 && m.smoothing <= 1))
            return "concurrency_modifier.smoothing must be in (0, 1]";
    }
    return {};
}

} // namespace

namespace {
// A row of times by batch size at b: linear between measured sizes, linear beyond the last two.
double rowAt(const std::vector<int>& batch, const std::vector<double>& ms, double b)
{
    if (batch.empty() || ms.size() != batch.size())
        return 0;
    if (batch.size() == 1)
        return ms[0] * std::max(1.0, b / batch[0]);
    std::size_t i = 1;
    while (i + 1 < batch.size() && batch[i] < b)
        ++i;
    const double x0 = batch[i - 1], x1 = batch[i], y0 = ms[i - 1], y1 = ms[i];
    return std::max(0.0, y0 + (y1 - y0) * (b - x0) / (x1 - x0));
}

// Rows by k (k = 1 is `first`, then shared[j] at concurrency[j]), each read at b as rowAt reads it: linear in k
// between rows; beyond the last row the device is saturated (k calls take k / k_max times as long as k_max
// calls did).
double gridAt(const std::vector<int>& batch, const std::vector<int>& concurrency, const std::vector<double>& first,
              const std::vector<std::vector<double>>& shared, double b, double k)
{
    const double solo = rowAt(batch, first, b);
    if (k <= 1 || concurrency.empty() || shared.size() != concurrency.size())
        return solo;
    auto row = [&](std::size_t j) { return j == 0 ? solo : rowAt(batch, shared[j - 1], b); };
    const std::size_t rows = concurrency.size() + 1;
    auto kAt = [&](std::size_t j) { return j == 0 ? 1.0 : double(concurrency[j - 1]); };
    if (k >= kAt(rows - 1))
        return row(rows - 1) * k / kAt(rows - 1);
    std::size_t j = 1;
    while (kAt(j) < k)
        ++j;
    const double k0 = kAt(j - 1), k1 = kAt(j), y0 = row(j - 1), y1 = row(j);
    return y0 + (y1 - y0) * (k - k0) / (k1 - k0);
}
} // namespace

double ServiceTable::msAt(double b) const
{
    return rowAt(batch, ms, b);
}

double ServiceTable::byConcurrency(double atOne, const std::vector<double>& shared, int k) const
{
    if (shared.empty() || shared.size() != concurrency.size() || k <= 1)
        return atOne;
    double k0 = 1, v0 = atOne;
    for (std::size_t j = 0; j < concurrency.size(); ++j) {
        if (k <= concurrency[j])
            return v0 + (shared[j] - v0) * (k - k0) / (concurrency[j] - k0);
        k0 = concurrency[j];
        v0 = shared[j];
    }
    return v0;
}

double ServiceTable::msAt(double b, double k) const
{
    return gridAt(batch, concurrency, ms, msShared, b, k);
}

double ServiceTable::deviceMsAt(double b, double k) const
{
    return gridAt(batch, concurrency, deviceMs, deviceMsShared, b, k);
}

double ServiceTable::valueAtQuantile(const std::vector<double>& q, double u)
{
    const auto& p = kVariationQuantiles;
    if (q.empty())
        return 1.0;
    if (u <= p[0])
        return q.front();
    for (std::size_t i = 1; i < q.size(); ++i)
        if (u <= p[i])
            return q[i - 1] + (q[i] - q[i - 1]) * (u - p[i - 1]) / (p[i] - p[i - 1]);
    return q.back();
}

double ServiceTable::variationAt(double u, int k) const
{
    if (k <= 1)
        return valueAtQuantile(variationOfOne(), u);
    if (variationShared.empty() || variationShared.size() != concurrency.size())
        return valueAtQuantile(variation, u);
    double k0 = 1, v0 = valueAtQuantile(variationOfOne(), u);
    for (std::size_t j = 0; j < concurrency.size(); ++j) {
        const double v1 = valueAtQuantile(variationShared[j], u);
        if (k <= concurrency[j])
            return v0 + (v1 - v0) * (k - k0) / (concurrency[j] - k0);
        k0 = concurrency[j];
        v0 = v1;
    }
    return v0;
}

double variationMean(const std::vector<double>& v)
{
    if (v.empty())
        return 1;
    const auto& p = ServiceTable::kVariationQuantiles;
    double mean = p[0] * v.front() + (1 - p[std::size(p) - 1]) * v.back();
    for (std::size_t i = 1; i < v.size(); ++i)
        mean += (p[i] - p[i - 1]) * (v[i] + v[i - 1]) / 2;
    return mean;
}

namespace {
// An idle curve at `gapMs`: linear between its gaps, from 0 at no gap, flat beyond the last.
double curveAt(const std::vector<double>& gaps, const std::vector<double>& extras, double gapMs)
{
    if (gaps.empty() || gapMs <= 0)
        return 0;
    if (gapMs <= gaps.front())
        return extras.front() * gapMs / gaps.front(); // from 0 at no gap
    for (std::size_t i = 1; i < gaps.size(); ++i)
        if (gapMs <= gaps[i])
            return extras[i - 1] + (extras[i] - extras[i - 1]) * (gapMs - gaps[i - 1]) / (gaps[i] - gaps[i - 1]);
    return extras.back();
}
} // namespace

double ServiceTable::idleExtraAt(double gapMs) const { return curveAt(idleGapMs, idleExtraMs, gapMs); }

double ServiceTable::callIdleExtraAt(double gapMs) const
{
    return callIdleGapMs.empty() ? idleExtraAt(gapMs) : curveAt(callIdleGapMs, callIdleExtraMs, gapMs);
}

const char* toString(DeviceSharing::Kind kind)
{
    switch (kind) {
    case DeviceSharing::Kind::Independent: return "independent";
    case DeviceSharing::Kind::Serial: return "serial";
    case DeviceSharing::Kind::Speedup: return "speedup";
    case DeviceSharing::Kind::Table: return "table";
    }
    return "?";
}

bool sharingKindFromString(const std::string& name, DeviceSharing::Kind& out)
{
    using K = DeviceSharing::Kind;
    const K all[] = {K::Independent, K::Serial, K::Speedup, K::Table};
    return fromName(name, out, all);
}

DeviceSharing ModelConfig::effectiveSharing() const
{
    if (sharing.given)
        return sharing;
    DeviceSharing d;
    d.order = predictTable.order;
    d.kind = predictTable.hasConcurrency() ? DeviceSharing::Kind::Table
        : predictTable.empty()             ? DeviceSharing::Kind::Independent
                                           : DeviceSharing::Kind::Serial;
    return d;
}

namespace {
int replicasOnDevice(const DeploymentConfig& d, int devices)
{
    return devices > 0 ? (std::max(d.maxReplicas, 1) + devices - 1) / devices : 1;
}
} // namespace

int ModelConfig::maxCallsOnDevice(const DeploymentConfig& d, int devices) const
{
    int perReplica = 1;
    if (batching.mode == BatchingConfig::Mode::None) {
        perReplica = std::max(d.predictConcurrency, 1);
        if (d.modifier.kind == ConcurrencyModifierConfig::Kind::None) // else the modifier sets what a replica holds
            perReplica = std::min(perReplica, std::max(d.concurrencyTarget, 1));
    }
    return perReplica * replicasOnDevice(d, devices);
}

std::string ModelConfig::sharingAssumption(const DeploymentConfig& d, int devices) const
{
    const int predictConcurrency = d.predictConcurrency;
    // Measured rows that stop short of what this placement can put on a device. Why say so: a twin fitted on
    // one replica with predict_concurrency 4 has rows to 4 calls; two or four such replicas on one GPU run up
    // to 8 or 16, where the saturated device made the H100 twin 16 % slow at closed 8 and 17-38 % high in
    // Poisson p95 (bench/twin/results/h100_2026-12-06_serve_split), with nothing in the run to say why.
    const DeviceSharing effective = effectiveSharing();
    if (effective.kind == DeviceSharing::Kind::Table || effective.kind == DeviceSharing::Kind::Speedup) {
        const bool table = effective.kind == DeviceSharing::Kind::Table;
        if (table && !predictTable.hasConcurrency())
            return {}; // refused by validate()
        const int last = table ? predictTable.concurrency.back() : int(effective.speedup.size());
        const int most = maxCallsOnDevice(d, devices);
        if (most <= last)
            return {};
        const int shared = replicasOnDevice(d, devices);
        const std::string where = devices > 0 && shared > 1 ? std::to_string(shared) + " replicas on a device" : "a device per replica";
        std::string perReplica = "one batch call a replica";
        if (batching.mode == BatchingConfig::Mode::None) {
            perReplica = "predict_concurrency " + std::to_string(predictConcurrency);
            if (most / shared < std::max(predictConcurrency, 1))
                perReplica += " held to the concurrency target " + std::to_string(d.concurrencyTarget);
        }
        return std::string(table ? "model.predict_table's concurrency axis stops" : "model.predict_sharing's speedup curve stops") + " at "
            + std::to_string(last) + " calls in flight on a device, and this placement can put up to " + std::to_string(most)
            + " there (" + where + ", " + perReplica + "): beyond " + std::to_string(last) + " the device is assumed saturated (k calls take k / " + std::to_string(last) + " times as long as "
            + std::to_string(last) + " did): what more calls do there was not measured (a calibrated model: knee calibrate --concurrency up to "
            + std::to_string(most) + ")";
    }
    if (sharing.given)
        return {};
    // Calls share a device when one replica has several in flight (no batching: one call per predict slot) or
    // when replicas share devices (batching: one call at a time per replica).
    const bool shares = (batching.mode == BatchingConfig::Mode::None && predictConcurrency > 1) || devices > 0;
    if (!shares)
        return {};
    if (predictTable.empty())
        return "predict times come from the scenario's distributions: calls in flight on one device are assumed not to slow each "
               "other (model.predict_sharing: independent). For a GPU-bound predict, measure how they share it: knee calibrate "
               "--concurrency 1,2,4,8, or state model.predict_sharing";
    return "model.predict_table has no concurrency axis (measured with one call on the device): calls in flight on one device are "
           "assumed to share it with no speed-up (model.predict_sharing: serial). Measure it: knee calibrate --concurrency 1,2,4,8";
}

std::string Scenario::validate() const
{
    const auto& d = deployment;
    if (auto e = checkReplicaBounds(d.minReplicas, d.maxReplicas); !e.empty())
        return e;
    if (d.initialReplicas != 0 && (d.initialReplicas < std::max(d.minReplicas, 1) || d.initialReplicas > d.maxReplicas))
        return "replicas.initial must be between max(min, 1) and max";
    if (auto e = checkConcurrencyKnob("concurrency_target", d.concurrencyTarget); !e.empty())
        return e;
    if (auto e = checkConcurrencyKnob("predict_concurrency", d.predictConcurrency); !e.empty())
        return e;
    if (auto e = checkColdStart(d.coldStartS); !e.empty())
        return "cold_start_s: " + e;
    if (d.queueLimit < 0)
        return "queue_limit must be >= 0 (0 = unbounded)";

    for (auto [name, dist] : {std::pair{"model.preprocess", &model.preprocess}, std::pair{"model.predict", &model.predict},
                              std::pair{"model.postprocess", &model.postprocess}})
        if (auto e = dist->validate(); !e.empty())
            return std::string(name) + ": " + e;
    if (!std::isfinite(model.predictFailureRate) || model.predictFailureRate < 0 || model.predictFailureRate > 1)
        return "model.predict_failure_rate must be between 0 and 1";
    if (const ServiceTable& t = model.predictTable; !t.empty()) {
        if (t.batch.size() != t.ms.size() || t.batch.size() > 64)
            return "model.predict_table: batch and ms must have the same length (at most 64)";
        for (std::size_t i = 0; i < t.batch.size(); ++i) {
            if (t.batch[i] < 1 || (i > 0 && t.batch[i] <= t.batch[i - 1]))
                return "model.predict_table: batch sizes must start at 1 or more and increase";
            if (!std::isfinite(t.ms[i]) || t.ms[i] <= 0 || t.ms[i] > limits::kMaxStageMs)
                return "model.predict_table: times must be > 0 ms and at most a day";
        }
        if (t.concurrency.size() != t.msShared.size() || t.concurrency.size() > 16)
            return "model.predict_table: one row of times per concurrency (at most 16 rows)";
        for (std::size_t j = 0; j < t.concurrency.size(); ++j) {
            if (t.concurrency[j] < 2 || t.concurrency[j] > limits::kMaxConcurrency || (j > 0 && t.concurrency[j] <= t.concurrency[j - 1]))
                return "model.predict_table: concurrency must start at 1 and increase";
            if (t.msShared[j].size() != t.batch.size())
                return "model.predict_table: each concurrency row needs one time per batch size";
            for (double v : t.msShared[j])
                if (!std::isfinite(v) || v <= 0 || v > limits::kMaxStageMs)
                    return "model.predict_table: times must be > 0 ms and at most a day";
        }
        if (!std::isfinite(t.overheadMs) || t.overheadMs < 0 || t.overheadMs > 1000)
            return "model.predict_table: overhead_ms must be between 0 and 1000";
        if (!std::isfinite(t.engineThreadMs) || t.engineThreadMs < 0 || t.engineThreadMs > 1000)
            return "model.predict_table: engine_thread_ms must be between 0 and 1000";
        if (!t.engineThreadWakeMs.empty()) {
            if (t.engineThreadWakeMs.size() != std::size(ServiceTable::kVariationQuantiles))
                return "model.predict_table: engine_thread_wake_ms needs " + std::to_string(std::size(ServiceTable::kVariationQuantiles))
                    + " times (quantiles 1 % to 99 %)";
            for (std::size_t i = 0; i < t.engineThreadWakeMs.size(); ++i)
                if (!std::isfinite(t.engineThreadWakeMs[i]) || t.engineThreadWakeMs[i] < 0 || t.engineThreadWakeMs[i] > 1000
                    || (i > 0 && t.engineThreadWakeMs[i] < t.engineThreadWakeMs[i - 1]))
                    return "model.predict_table: engine_thread_wake_ms must be between 0 and 1000 ms and not decrease";
        }
        for (const auto& [name, values] : {std::pair{"overhead_ms", &t.overheadSharedMs}, std::pair{"engine_thread_ms", &t.engineThreadSharedMs}}) {
            if (!values->empty() && values->size() != t.concurrency.size())
                return std::string("model.predict_table: ") + name + " by concurrency needs one value per concurrency (" + std::to_string(t.concurrency.size() + 1) + ")";
            for (double v : *values)
                if (!std::isfinite(v) || v < 0 || v > 1000)
                    return std::string("model.predict_table: ") + name + " must be between 0 and 1000";
        }
        constexpr std::size_t kQuantiles = std::size(ServiceTable::kVariationQuantiles);
        for (const auto& [name, v] : {std::pair{"variation", &t.variation}, std::pair{"variation_alone", &t.variationAlone}}) {
            if (v->empty())
                continue;
            if (v->size() != kQuantiles)
                return std::string("model.predict_table: ") + name + " needs " + std::to_string(kQuantiles) + " ratios (quantiles 1 % to 99 %)";
            for (std::size_t i = 0; i < kQuantiles; ++i)
                if (!std::isfinite((*v)[i]) || (*v)[i] <= 0 || (*v)[i] > 100 || (i > 0 && (*v)[i] < (*v)[i - 1]))
                    return std::string("model.predict_table: ") + name + " ratios must be > 0, at most 100, and not decrease";
        }
        if (!t.variationAlone.empty() && t.variation.empty())
            return "model.predict_table: variation_alone needs variation (the calls that start beside others)";
        if (!t.variationShared.empty()) {
            if (t.variation.empty() || t.variationShared.size() != t.concurrency.size())
                return "model.predict_table: variation_shared needs variation and one row per concurrency above 1 ("
                    + std::to_string(t.concurrency.size()) + ")";
            for (const auto& row : t.variationShared) {
                if (row.size() != kQuantiles)
                    return "model.predict_table: each variation_shared row needs " + std::to_string(kQuantiles) + " ratios (quantiles 1 % to 99 %)";
                for (std::size_t i = 0; i < kQuantiles; ++i)
                    if (!std::isfinite(row[i]) || row[i] <= 0 || row[i] > 100 || (i > 0 && row[i] < row[i - 1]))
                        return "model.predict_table: variation_shared ratios must be > 0, at most 100, and not decrease";
            }
        }
        if (t.idleGapMs.size() != t.idleExtraMs.size() || t.idleGapMs.size() > 32)
            return "model.predict_table: idle needs one extra time per gap (at most 32)";
        for (std::size_t i = 0; i < t.idleGapMs.size(); ++i)
            if (!std::isfinite(t.idleGapMs[i]) || t.idleGapMs[i] <= 0 || (i > 0 && t.idleGapMs[i] <= t.idleGapMs[i - 1])
                || !std::isfinite(t.idleExtraMs[i]) || t.idleExtraMs[i] < 0 || t.idleExtraMs[i] > 1000)
                return "model.predict_table: idle gaps must be > 0 ms and increase; extra times between 0 and 1000 ms";
        if (t.callIdleGapMs.size() != t.callIdleExtraMs.size() || t.callIdleGapMs.size() > 32)
            return "model.predict_table: idle.call_gap_ms needs one idle.call_extra_ms per gap (at most 32)";
        if (!t.callIdleGapMs.empty() && t.idleGapMs.empty())
            return "model.predict_table: idle.call_gap_ms needs the idle curve (gap_ms, extra_ms) for the batches a timer releases";
        for (std::size_t i = 0; i < t.callIdleGapMs.size(); ++i)
            if (!std::isfinite(t.callIdleGapMs[i]) || t.callIdleGapMs[i] <= 0 || (i > 0 && t.callIdleGapMs[i] <= t.callIdleGapMs[i - 1])
                || !std::isfinite(t.callIdleExtraMs[i]) || t.callIdleExtraMs[i] < 0 || t.callIdleExtraMs[i] > 1000)
                return "model.predict_table: idle.call_gap_ms must be > 0 ms and increase; idle.call_extra_ms between 0 and 1000 ms";
        if (!t.idleJitterMs.empty()) {
            if (t.idleGapMs.empty() || t.idleJitterMs.size() != kQuantiles)
                return "model.predict_table: idle.jitter_ms needs the idle gaps, and one time per quantile (" + std::to_string(kQuantiles) + ")";
            if (!(t.idleJitterFromMs > 0 && t.idleJitterFromMs <= 1000))
                return "model.predict_table: idle.jitter_from_ms must be above 0 and at most 1000";
            for (std::size_t i = 0; i < t.idleJitterMs.size(); ++i)
                if (!std::isfinite(t.idleJitterMs[i]) || std::abs(t.idleJitterMs[i]) > 1000 || (i > 0 && t.idleJitterMs[i] < t.idleJitterMs[i - 1]))
                    return "model.predict_table: idle.jitter_ms must be between -1000 and 1000 ms and not decrease";
        } else if (t.idleJitterFromMs != 0) {
            return "model.predict_table: idle.jitter_from_ms applies to idle.jitter_ms, which the table lacks";
        }
        if (!(t.order >= 0 && t.order <= 1))
            return "model.predict_table: order must be between 0 (processor sharing) and 1 (oldest first)";
        if (!(t.tailMs >= 0) || (t.tailMs > 0 && !(t.tailMs < *std::min_element(t.ms.begin(), t.ms.end()))))
            return "model.predict_table: tail_ms must be >= 0 and below every solo time in ms (a call's end that does not load the device)";
        for (const auto& row : t.msShared)
            if (t.tailMs > 0 && !row.empty() && !(t.tailMs < *std::min_element(row.begin(), row.end())))
                return "model.predict_table: tail_ms must be below every time in the table (calls started together take T(b, k))";
        if (t.hasDeviceTimes() || !t.deviceMsShared.empty()) {
            if (t.tailMs > 0)
                return "model.predict_table: give tail_ms or device_ms, not both (device times say what of each call is off the device)";
            if (t.deviceMs.size() != t.batch.size() || t.deviceMsShared.size() != t.concurrency.size())
                return "model.predict_table: device_ms needs the shape of ms (one row per concurrency, one time per batch size)";
            for (std::size_t j = 0; j <= t.deviceMsShared.size(); ++j) {
                const std::vector<double>& row = j == 0 ? t.deviceMs : t.deviceMsShared[j - 1];
                if (row.size() != t.batch.size())
                    return "model.predict_table: device_ms needs the shape of ms (one row per concurrency, one time per batch size)";
                for (double v : row)
                    if (!std::isfinite(v) || v <= 0 || v > limits::kMaxStageMs)
                        return "model.predict_table: device_ms times must be > 0 ms and at most a day";
            }
        }
    }
    if (model.sharing.given) {
        const DeviceSharing& d = model.sharing;
        if (!(d.order >= 0 && d.order <= 1))
            return "model.predict_sharing: order must be between 0 (processor sharing) and 1 (oldest first)";
        if (d.kind == DeviceSharing::Kind::Table && !model.predictTable.hasConcurrency())
            return "model.predict_sharing: table needs a predict_table with a concurrency axis (knee calibrate --concurrency 1,2,4)";
        if (d.kind == DeviceSharing::Kind::Speedup) {
            if (d.speedup.empty() || d.speedup.size() > 1024 || d.speedup[0] != 1.0)
                return "model.predict_sharing: speedup needs S(1) = 1 first, then S(2), … (at most 1024 values)";
            for (std::size_t k = 1; k < d.speedup.size(); ++k)
                if (!std::isfinite(d.speedup[k]) || d.speedup[k] <= 0 || d.speedup[k] > double(k + 1))
                    return "model.predict_sharing: speedup S(k) must be > 0 and at most k (k calls cannot do more than k calls' work)";
        }
    }
    if (d.devices < 0 || d.devices > limits::kMaxReplicas)
        return "deployment.devices must be between 0 (a device per replica) and " + std::to_string(limits::kMaxReplicas);
    if (model.batching.mode == BatchingConfig::Mode::Continuous) {
        if (model.batching.maxSequences < 1 || model.batching.maxSequences > limits::kMaxConcurrency)
            return "model.batching.max_sequences must be between 1 and 100000";
        if (auto e = model.batching.outputTokens.validate(); !e.empty())
            return "model.batching.output_tokens: " + e;
        if (!std::isfinite(model.batching.prefillMs) || model.batching.prefillMs < 0 || model.batching.prefillMs > limits::kMaxStageMs)
            return "model.batching.prefill_ms must be between 0 and a day";
    }
    if (model.batching.mode == BatchingConfig::Mode::Dynamic) {
        if (model.batching.maxBatch < 1 || model.batching.maxBatch > limits::kMaxConcurrency)
            return "model.batching.max_batch must be between 1 and 100000";
        if (!std::isfinite(model.batching.maxDelayMs) || model.batching.maxDelayMs < 0 || model.batching.maxDelayMs > 60'000)
            return "model.batching.max_delay_ms must be between 0 and 60000";
    }

    const auto& w = workload;
    if (w.arrival.kind == ArrivalConfig::Kind::Closed) {
        if (auto e = checkUsers(w.arrival.users); !e.empty())
            return "workload.arrival." + e;
        if (auto e = w.arrival.think.validate(); !e.empty())
            return "workload.arrival.think: " + e;
    } else if (auto e = validateOpenLoop(w.arrival); !e.empty()) {
        return e;
    }
    if (auto e = w.requestSize.validate(); !e.empty())
        return "workload.request_size: " + e;
    if (auto e = validateAutoscaler(d); !e.empty())
        return e;
    if (auto e = validateModifier(d.modifier); !e.empty())
        return e;
    if (!std::isfinite(d.costPerReplicaHour) || d.costPerReplicaHour < 0 || d.costPerReplicaHour > 1e6)
        return "cost_per_replica_hour must be between 0 and 1e6";
    if (w.requests < 0 || w.requests > limits::kMaxRequests)
        return "workload.requests must be between 0 and 1e10";
    if (!std::isfinite(w.durationS) || w.durationS < 0 || w.durationS > limits::kMaxDurationS)
        return "workload.duration_s must be between 0 and one year";
    if (w.requests == 0 && w.durationS == 0)
        return "workload needs requests > 0 or duration_s > 0, or the run would never end";
    if (!std::isfinite(w.warmupS) || w.warmupS < 0 || (w.durationS > 0 && w.warmupS >= w.durationS))
        return "workload.warmup_s must be >= 0 and shorter than duration_s";

    double lastAt = 0;
    int minNow = d.minReplicas, maxNow = d.maxReplicas; // bounds as earlier changes left them, as the engine applies them
    for (const auto& c : changes) {
        if (!std::isfinite(c.atS) || c.atS < 0 || c.atS > limits::kMaxDurationS)
            return "changes: at_s must be between 0 and one year";
        if (c.atS < lastAt)
            return "changes must be sorted by at_s";
        lastAt = c.atS;
        if (c.concurrencyTarget)
            if (auto e = checkConcurrencyKnob("changes: concurrency_target", *c.concurrencyTarget); !e.empty())
                return e;
        if (c.predictConcurrency)
            if (auto e = checkConcurrencyKnob("changes: predict_concurrency", *c.predictConcurrency); !e.empty())
                return e;
        if (c.minReplicas || c.maxReplicas) {
            minNow = c.minReplicas.value_or(minNow);
            maxNow = c.maxReplicas.value_or(maxNow);
            if (auto e = checkReplicaBounds(minNow, maxNow); !e.empty())
                return "changes: " + e;
        }
        if (c.rateRps)
            if (auto e = checkArrivalRate(*c.rateRps); !e.empty())
                return "changes: " + e;
        if (c.users)
            if (auto e = checkUsers(*c.users); !e.empty())
                return "changes: " + e;
    }
    if (twin)
        for (const auto& [name, errors] : {std::pair{"twin.replay_error_pct", &twin->replay},
                                           std::pair{"twin.cross_validation_error_pct", &twin->crossValidation}})
            if (auto e = errors->validate(name); !e.empty())
                return e;
    return {};
}

std::string TwinErrors::validate(const char* name) const
{
    const std::size_t n = concurrency.size();
    for (const std::vector<double>* column : {&throughputPct, &p50Pct, &p95Pct})
        if (column->size() != n)
            return std::string(name) + ": throughput, p50 and p95 need one value per level in concurrency";
    for (const std::vector<double>* column : {&ttftP50Pct, &ttftP95Pct, &itlP50Pct})
        if (!column->empty() && column->size() != n)
            return std::string(name) + ": ttft_p50, ttft_p95 and itl_p50 need one value per level in concurrency (or none)";
    return {};
}

std::string targetBelowPredictWarning(int target, int pc)
{
    if (target >= pc)
        return {};
    return "concurrency_target (" + std::to_string(target) + ") is below predict_concurrency (" + std::to_string(pc)
        + "): a replica never holds enough requests to fill its predict slots";
}

std::vector<std::string> Scenario::warnings() const
{
    std::vector<std::string> out;
    auto targetBelowPredict = [&](int target, int pc, const std::string& when) {
        if (auto w = targetBelowPredictWarning(target, pc); !w.empty())
            out.push_back(when + w);
    };
    targetBelowPredict(deployment.concurrencyTarget, deployment.predictConcurrency, "");
    int target = deployment.concurrencyTarget, pc = deployment.predictConcurrency;
    for (const auto& c : changes) {
        if (!c.concurrencyTarget && !c.predictConcurrency)
            continue;
        const bool wasBelow = target < pc;
        target = c.concurrencyTarget.value_or(target);
        pc = c.predictConcurrency.value_or(pc);
        if (!wasBelow)
            targetBelowPredict(target, pc, "at " + std::to_string(c.atS) + " s: ");
    }
    if (deployment.minReplicas == 0 && deployment.autoscaler.policy == AutoscalerConfig::Policy::None)
        out.push_back("min replicas 0 means scale to zero, which needs an autoscaler (autoscaling.policy); without one "
                      "the deployment keeps its initial replicas");
    if (workload.arrival.openLoop() && workload.requests == 0 && workload.durationS > 0
        && workload.arrival.maxRate() * workload.durationS > 1e9)
        out.push_back("the workload sends more than a billion requests; the run will take a while");
    return out;
}

} // namespace knee
