#include "scenario_sections.h"

#include "scenario_scaling.h"
#include "scenario_twin.h"

#include "predict/model.h"

#include <algorithm>
#include <limits>

namespace knee::io {

namespace {

constexpr std::string_view kTopKeys[] = { "name", "deployment", "model", "workload", "changes", "twin" };
constexpr std::string_view kDeploymentKeys[] = { "replicas", "concurrency_target", "predict_concurrency", "cold_start_s",
    "queue_limit", "autoscaling", "concurrency_modifier", "cost_per_replica_hour", "devices" };
constexpr std::string_view kReplicaKeys[] = { "min", "max", "initial" };
constexpr std::string_view kChangeReplicaKeys[] = { "min", "max" };
constexpr std::string_view kModelKeys[] = { "preprocess", "predict", "postprocess", "predict_failure_rate", "predict_table", "batching",
    "profile", "predict_sharing" };
constexpr std::string_view kDistKeys[] = { "dist", "mean_ms", "sigma", "spread_ms", "values_ms", "weights", "draw" };
constexpr std::string_view kSizeDistKeys[] = { "dist", "mean", "sigma", "spread", "values", "weights" }; // unitless
constexpr std::string_view kDistKinds[] = { "constant", "exponential", "lognormal", "uniform", "empirical" };
constexpr std::string_view kDrawKinds[] = { "per_request", "per_instant" }; // Distribution::perInstant
constexpr std::string_view kWorkloadKeys[] = { "arrival", "requests", "duration_s", "warmup_s", "seed", "request_size" };
constexpr std::string_view kArrivalKeys[] = { "kind", "rate_rps", "users", "think", "steps", "spike_rps", "at_s", "duration_s",
    "baseline_rps", "peak_rps", "period_s", "peak_at_s", "file" };
constexpr std::string_view kArrivalKinds[] = { "poisson", "constant", "closed", "step", "spike", "diurnal", "trace" };
// Which arrival keys each kind takes beyond `kind` (the rest are reported as not applicable).
constexpr std::string_view kPatternKeys[] = { "steps", "spike_rps", "at_s", "duration_s", "baseline_rps", "peak_rps", "period_s",
    "peak_at_s", "file" };
constexpr std::string_view kChangeKeys[]
    = { "at_s", "concurrency_target", "predict_concurrency", "replicas", "rate_rps", "users" };
constexpr std::string_view kChangeKnobs[] = { "concurrency_target", "predict_concurrency", "replicas", "rate_rps", "users" };

// Where each key lives, so a key in the wrong section is answered with where it belongs.
constexpr KeyHome kSchema[] = {
    { "", "name" },
    { "", "deployment" },
    { "", "model" },
    { "", "workload" },
    { "", "changes" },
    { "", "twin" },
    { "deployment", "replicas" },
    { "deployment", "concurrency_target" },
    { "deployment", "predict_concurrency" },
    { "deployment", "cold_start_s" },
    { "deployment", "queue_limit" },
    { "deployment", "autoscaling" },
    { "deployment", "concurrency_modifier" },
    { "deployment", "cost_per_replica_hour" },
    { "deployment", "devices" },
    { "workload", "request_size" },
    { "deployment.replicas", "min" },
    { "deployment.replicas", "max" },
    { "deployment.replicas", "initial" },
    { "model", "preprocess" },
    { "model", "predict" },
    { "model", "postprocess" },
    { "model", "predict_failure_rate" },
    { "model", "predict_table" },
    { "model", "batching" },
    { "model", "profile" },
    { "model", "predict_sharing" },
    { "workload", "arrival" },
    { "workload", "requests" },
    { "workload", "duration_s" },
    { "workload", "warmup_s" },
    { "workload", "seed" },
    { "workload.arrival", "kind" },
    { "workload.arrival", "rate_rps" },
    { "workload.arrival", "users" },
    { "workload.arrival", "think" },
};

NumberRule whole(double lo, double hi)
{
    return { lo, hi, false, true, {} };
}
NumberRule between(double lo, double hi)
{
    return { lo, hi, false, false, {} };
}
NumberRule above(double lo, double hi)
{
    return { lo, hi, true, false, {} };
}

const NumberRule kMinReplicasRule = whole(0, limits::kMaxReplicas);
const NumberRule kMaxReplicasRule = whole(1, limits::kMaxReplicas);
const NumberRule kConcurrencyRule = whole(1, limits::kMaxConcurrency);
const NumberRule kColdStartRule = between(0, limits::kMaxStageMs / 1000);
const NumberRule kQueueLimitRule = whole(0, double(limits::kMaxRequests));
const NumberRule kStageMsRule = between(0, limits::kMaxStageMs);
// As Distribution::validate (kMaxLognormalSigma says why: beyond it no run realises the mean asked for).
const NumberRule kSigmaRule = { 0, kMaxLognormalSigma, true, false,
    "a number > 0 and <= 4 (a lognormal's mean needs (e^(sigma^2) - 1) / 0.01 samples to come within 10 %: 8.9e8 at "
    "sigma 4; above 4.3, more than the 1e10 requests a run may hold)" };
const NumberRule kWeightRule = { 0, std::numeric_limits<double>::max(), false, false, "a number >= 0" };
const NumberRule kFailureRateRule = between(0, 1);
const NumberRule kRateRule = above(0, limits::kMaxRateRps);
const NumberRule kUsersRule = whole(1, limits::kMaxUsers);
const NumberRule kRequestsRule = whole(0, double(limits::kMaxRequests));
const NumberRule kDurationRule = between(0, limits::kMaxDurationS);
const NumberRule kAtRule = between(0, limits::kMaxDurationS);

const std::string kStageWhat = "a time in ms (a number between 0 and " + formatNumber(limits::kMaxStageMs)
    + ") or a map like {dist: exponential, mean_ms: 10}";

std::string indexed(const std::string& path, std::size_t i)
{
    return path + "[" + std::to_string(i) + "]";
}

class SectionReader {
public:
    SectionReader(const YamlTree& tree, Diagnostics& diag)
        : m_tree(tree)
        , m_diag(diag)
        , m_r(tree, diag, kSchema)
    {
    }

    Scenario read()
    {
        const auto top = m_r.mapFields(
            Entry { Entry::kNoKey, m_tree.root() }, "", kTopKeys, "a map with keys deployment, model, workload at the top level");
        if (!top)
            return m_s;
        if (auto e = top->get("name"))
            if (auto v = m_r.text(*e, "name"))
                m_s.name = *v;
        if (auto e = top->get("deployment"))
            readDeployment(*e);
        else
            m_r.missing(*top, "deployment", "a map with replicas and concurrency_target");
        if (auto e = top->get("model"))
            readModel(*e);
        else
            m_r.missing(*top, "model", "a map with at least predict");
        if (auto e = top->get("workload"))
            readWorkload(*e);
        else
            m_r.missing(*top, "workload", "a map with arrival and requests or duration_s");
        if (auto e = top->get("changes"))
            readChanges(*e);
        if (auto e = top->get("twin"))
            readTwin(m_r, *e, m_s.twin.emplace());
        // Relations across sections, and warnings, only once every field has read cleanly.
        if (!m_diag.hasErrors())
            finishChanges();
        if (!m_diag.hasErrors())
            warn();
        return m_s;
    }

private:
    struct ChangeSource {
        std::size_t index = 0; // in the file, for messages
        Entry item;
        std::optional<Entry> replicas;
        KnobChange change;
    };

    std::optional<double> optional(const MapFields& f, std::string_view key, const NumberRule& rule)
    {
        if (auto e = f.get(key))
            return m_r.number(*e, f.pathOf(key), rule);
        return std::nullopt;
    }

    std::optional<double> required(const MapFields& f, std::string_view key, const NumberRule& rule)
    {
        if (auto e = f.get(key))
            return m_r.number(*e, f.pathOf(key), rule);
        m_r.missing(f, key, rule.describe());
        return std::nullopt;
    }

    // A key that only some kinds take (sigma only for lognormal, users only for a closed loop).
    void notApplicable(const MapFields& f, std::string_view key, const std::string& why)
    {
        m_diag.error(m_tree.mark(f.get(key)->key), f.pathOf(key), why);
    }

    // ------------------------------------------------------------ deployment

    void readDeployment(const Entry& e)
    {
        const auto f = m_r.mapFields(e, "deployment", kDeploymentKeys, "a map with replicas and concurrency_target");
        if (!f)
            return;
        DeploymentConfig& d = m_s.deployment;
        if (auto r = f->get("replicas"))
            readReplicas(*r);
        else
            m_r.missing(*f, "replicas", "a map like {min: 1, max: 1}");
        if (auto v = required(*f, "concurrency_target", kConcurrencyRule))
            d.concurrencyTarget = int(*v);
        if (auto v = optional(*f, "predict_concurrency", kConcurrencyRule))
            d.predictConcurrency = int(*v);
        if (auto v = optional(*f, "cold_start_s", kColdStartRule))
            d.coldStartS = *v;
        if (auto v = optional(*f, "queue_limit", kQueueLimitRule))
            d.queueLimit = std::int64_t(*v);
        if (auto v = optional(*f, "cost_per_replica_hour", between(0, 1e6)))
            d.costPerReplicaHour = *v;
        if (auto v = optional(*f, "devices", whole(0, limits::kMaxReplicas)))
            d.devices = int(*v);
        if (auto a = f->get("autoscaling"))
            readAutoscaling(m_r, *a, d.autoscaler);
        if (auto m = f->get("concurrency_modifier"))
            readConcurrencyModifier(m_r, *m, d.modifier);
        m_targetEntry = f->get("concurrency_target");
    }

    void readReplicas(const Entry& e)
    {
        const auto f = m_r.mapFields(e, "deployment.replicas", kReplicaKeys, "a map like {min: 1, max: 2}");
        if (!f)
            return;
        DeploymentConfig& d = m_s.deployment;
        const auto min = required(*f, "min", kMinReplicasRule);
        const auto max = required(*f, "max", kMaxReplicasRule);
        if (min)
            d.minReplicas = int(*min);
        if (max)
            d.maxReplicas = int(*max);
        if (min && max && *min > *max)
            m_r.expected(*f->get("min"), f->pathOf("min"), "a whole number between 0 and max (" + formatNumber(*max) + ")");
        if (auto initial = optional(*f, "initial", whole(0, limits::kMaxReplicas))) {
            d.initialReplicas = int(*initial);
            const double lo = std::max(min.value_or(1), 1.0);
            if (*initial != 0 && min && max && *min <= *max && (*initial < lo || *initial > *max))
                m_r.expected(*f->get("initial"), f->pathOf("initial"),
                    "0 (meaning max(min, 1)) or a whole number between " + formatNumber(lo) + " and max (" + formatNumber(*max)
                        + ")");
        }
    }

    // ------------------------------------------------------------ model

    void readModel(const Entry& e)
    {
        const auto f = m_r.mapFields(e, "model", kModelKeys, "a map with at least predict");
        if (!f)
            return;
        ModelConfig& m = m_s.model;
        for (auto [key, target] : { std::pair { "preprocess", &m.preprocess }, std::pair { "predict", &m.predict },
                 std::pair { "postprocess", &m.postprocess } }) {
            if (auto stage = f->get(key))
                readDistribution(*stage, f->pathOf(key), *target);
            else if (std::string_view(key) == "predict")
                m_r.missing(*f, key, kStageWhat);
        }
        if (auto v = optional(*f, "predict_failure_rate", kFailureRateRule))
            m.predictFailureRate = *v;
        if (auto t = f->get("predict_table"))
            readPredictTable(m_r, *t, m.predictTable);
        if (auto p = f->get("predict_sharing"))
            readDeviceSharing(m_r, *p, m.sharing);
        if (auto b = f->get("batching"))
            readBatching(m_r, *b, m.batching,
                         [this](const Entry& e, const std::string& path, Distribution& out) { readDistribution(e, path, out, true); });
        if (auto p = f->get("profile")) {
            std::vector<std::string_view> names;
            for (const auto& profile : predict::builtinProfiles())
                names.push_back(profile.name);
            if (auto name = m_r.choice(*p, f->pathOf("profile"), names))
                m.profile = *name;
        }
    }

    // Stage times take mean_ms, spread_ms, values_ms; a unitless quantity (request sizes) takes
    // mean, spread, values. Otherwise the same shapes and rules.
    void readDistribution(const Entry& e, const std::string& path, Distribution& out, bool unitless = false)
    {
        const std::string what = unitless ? "a number >= 0 or a map like {dist: lognormal, mean: 1, sigma: 0.5}" : kStageWhat;
        if (m_tree.type(e.value) == YamlType::Scalar) { // shorthand: a bare number is a constant
            if (auto v = m_r.number(e, path, NumberRule { 0, limits::kMaxStageMs, false, false, what }))
                out = Distribution::constant(*v);
            return;
        }
        const char* mean = unitless ? "mean" : "mean_ms";
        const char* spread = unitless ? "spread" : "spread_ms";
        const char* values = unitless ? "values" : "values_ms";
        const auto f = unitless ? m_r.mapFields(e, path, kSizeDistKeys, what) : m_r.mapFields(e, path, kDistKeys, what);
        if (!f)
            return;
        Distribution d;
        std::optional<Distribution::Kind> kind;
        if (auto k = f->get("dist")) {
            if (auto name = m_r.choice(*k, f->pathOf("dist"), kDistKinds)) {
                Distribution::Kind parsed {};
                if (distributionKindFromString(*name, parsed))
                    kind = parsed;
            }
        } else {
            m_r.missing(*f, "dist", "one of " + joinNames(kDistKinds));
        }
        using K = Distribution::Kind;
        for (auto [key, owner] : { std::pair { "sigma", K::Lognormal }, std::pair { spread, K::Uniform },
                 std::pair { values, K::Empirical }, std::pair { "weights", K::Empirical } })
            if (kind && *kind != owner && f->has(key))
                notApplicable(
                    *f, key, std::string(key) + " applies only to dist: " + toString(owner) + ", not " + toString(*kind));

        const auto meanValue = kind == K::Empirical ? optional(*f, mean, kStageMsRule)
            : kind                                  ? required(*f, mean, kStageMsRule)
                                                    : optional(*f, mean, kStageMsRule);
        d.meanMs = meanValue.value_or(0);
        if (kind == K::Lognormal)
            if (auto v = optional(*f, "sigma", kSigmaRule))
                d.sigma = *v;
        if (kind == K::Uniform)
            if (auto v = optional(*f, spread,
                    meanValue ? NumberRule { 0, *meanValue, false, false,
                                    "a number between 0 and " + std::string(mean) + " (" + formatNumber(*meanValue) + ")" }
                              : kStageMsRule))
                d.spreadMs = *v;
        if (kind == K::Empirical)
            readEmpirical(*f, d, values);
        if (!unitless)
            if (auto v = f->get("draw"))
                if (auto how = m_r.choice(*v, f->pathOf("draw"), kDrawKinds))
                    d.perInstant = *how == "per_instant";
        if (kind)
            d.kind = *kind;
        out = d;
    }

    void readEmpirical(const MapFields& f, Distribution& d, const char* valuesKey)
    {
        const auto values = f.get(valuesKey);
        if (!values) {
            m_r.missing(f, valuesKey, "a non-empty list of numbers, like [4, 5, 9]");
            return;
        }
        const bool valuesOk = numberList(*values, f.pathOf(valuesKey), kStageMsRule, d.valuesMs);
        const auto weights = f.get("weights");
        const bool weightsOk = !weights || numberList(*weights, f.pathOf("weights"), kWeightRule, d.weights);
        if (!valuesOk || !weightsOk)
            return;
        if (weights && d.weights.size() != d.valuesMs.size()) {
            m_r.fail(*weights, f.pathOf("weights"),
                "expected " + std::to_string(d.valuesMs.size()) + " weights (one per value in values_ms), got "
                    + std::to_string(d.weights.size()));
            return;
        }
        double sum = 0, weighted = 0;
        for (std::size_t i = 0; i < d.valuesMs.size(); ++i) {
            const double w = weights ? d.weights[i] : 1.0;
            sum += w;
            weighted += w * d.valuesMs[i];
        }
        if (!(sum > 0))
            m_r.fail(*weights, f.pathOf("weights"), "expected at least one weight > 0, got only zeros");
        else if (d.meanMs > 0 && !(weighted > 0))
            m_r.fail(*values, f.pathOf(valuesKey),
                "expected a value > 0 (with a weight > 0) so the table can be rescaled to its mean, got only zeros");
    }

    // A list of numbers, each obeying `rule`; the first few bad items are reported one by one.
    bool numberList(const Entry& e, const std::string& path, const NumberRule& rule, std::vector<double>& out)
    {
        if (m_tree.type(e.value) != YamlType::Sequence) {
            m_r.expected(e, path, "a list of numbers, like [4, 5, 9]");
            return false;
        }
        const std::size_t n = m_tree.size(e.value);
        if (n == 0) {
            m_r.expected(e, path, "a non-empty list of numbers");
            return false;
        }
        if (n > limits::kMaxEmpiricalValues) {
            m_r.fail(
                e, path, "expected at most " + std::to_string(limits::kMaxEmpiricalValues) + " items, got " + std::to_string(n));
            return false;
        }
        out.clear();
        out.reserve(n);
        std::size_t bad = 0;
        std::optional<std::pair<Entry, std::size_t>> firstUnreported;
        for (std::size_t i = 0; i < n; ++i) {
            const Entry item { Entry::kNoKey, m_tree.item(e.value, i) };
            double v = 0;
            if (auto note = m_r.checkNumber(item.value, rule, v)) {
                if (++bad <= kMaxBadItemsShown)
                    m_r.expected(item, indexed(path, i), rule.describe(), *note);
                else if (!firstUnreported)
                    firstUnreported = { item, i };
                continue;
            }
            out.push_back(v);
        }
        if (firstUnreported) {
            const std::size_t more = bad - kMaxBadItemsShown - 1;
            m_r.fail(firstUnreported->first, indexed(path, firstUnreported->second),
                "this item" + (more ? " and " + std::to_string(more) + " more are not " : std::string(" is not "))
                    + rule.describe() + " either (only the first " + std::to_string(kMaxBadItemsShown)
                    + " bad items of a list are reported one by one)");
        }
        return bad == 0;
    }

    // ------------------------------------------------------------ workload

    void readWorkload(const Entry& e)
    {
        const auto f = m_r.mapFields(e, "workload", kWorkloadKeys, "a map with arrival and requests or duration_s");
        if (!f)
            return;
        WorkloadConfig& w = m_s.workload;
        if (auto a = f->get("arrival"))
            readArrival(*a);
        else
            m_r.missing(*f, "arrival", "a map like {kind: poisson, rate_rps: 100}");
        const auto requests = optional(*f, "requests", kRequestsRule);
        const auto duration = optional(*f, "duration_s", kDurationRule);
        w.requests = std::int64_t(requests.value_or(0));
        w.durationS = duration.value_or(0);
        const bool requestsOk = requests || !f->has("requests"), durationOk = duration || !f->has("duration_s");
        if (requestsOk && durationOk && w.requests == 0 && w.durationS == 0) {
            if (!f->has("requests") && !f->has("duration_s"))
                m_r.missing(*f, "requests", "requests > 0 or duration_s > 0 (or both), or the run never ends");
            else {
                const char* key = f->has("requests") ? "requests" : "duration_s";
                m_r.fail(*f->get(key), f->pathOf(key),
                    "requests and duration_s are both 0; set at least one > 0, or the run never ends");
            }
        }
        if (auto warmup = optional(*f, "warmup_s", kDurationRule)) {
            w.warmupS = *warmup;
            if (duration && *duration > 0 && *warmup >= *duration)
                m_r.expected(*f->get("warmup_s"), f->pathOf("warmup_s"),
                    "a number >= 0 and < duration_s (" + formatNumber(*duration) + ")");
        }
        if (auto s = f->get("seed"))
            if (auto v = m_r.unsignedInteger(*s, f->pathOf("seed")))
                w.seed = *v;
        if (auto size = f->get("request_size"))
            readDistribution(*size, f->pathOf("request_size"), w.requestSize, /*unitless=*/true);
    }

    void readArrival(const Entry& e)
    {
        const auto f = m_r.mapFields(e, "workload.arrival", kArrivalKeys, "a map like {kind: poisson, rate_rps: 100}");
        if (!f)
            return;
        ArrivalConfig& a = m_s.workload.arrival;
        std::optional<ArrivalConfig::Kind> kind;
        if (auto k = f->get("kind")) {
            if (auto name = m_r.choice(*k, f->pathOf("kind"), kArrivalKinds)) {
                ArrivalConfig::Kind parsed {};
                if (arrivalKindFromString(*name, parsed))
                    kind = parsed;
            }
        } else {
            m_r.missing(*f, "kind", "one of " + joinNames(kArrivalKinds));
        }
        using K = ArrivalConfig::Kind;
        const bool closed = kind == K::Closed, open = kind && !closed;
        const bool takesRate = kind == K::Poisson || kind == K::Constant || kind == K::Step || kind == K::Spike;
        if (kind && !takesRate && f->has("rate_rps"))
            notApplicable(*f, "rate_rps",
                std::string("rate_rps does not apply to kind: ") + toString(*kind)
                    + (closed ? "; a closed loop sets users" : "; its rate comes from its pattern"));
        else if (auto v = takesRate ? required(*f, "rate_rps", kRateRule) : optional(*f, "rate_rps", kRateRule))
            a.rateRps = *v;
        if (open && f->has("users"))
            notApplicable(
                *f, "users", std::string("users applies only to kind: closed; kind ") + toString(*kind) + " sends at a rate");
        else if (auto v = closed ? required(*f, "users", kUsersRule) : optional(*f, "users", kUsersRule))
            a.users = int(*v);
        if (open && f->has("think"))
            notApplicable(*f, "think", std::string("think applies only to kind: closed (the pause between a user's requests)"));
        else if (auto t = f->get("think"))
            readDistribution(*t, f->pathOf("think"), a.think);
        if (!kind)
            return;
        a.kind = *kind;
        // Keys of the other patterns do not apply to this one.
        for (std::string_view key : kPatternKeys) {
            if (!f->has(key))
                continue;
            const bool applies = (a.kind == K::Step && key == "steps")
                || (a.kind == K::Spike && (key == "spike_rps" || key == "at_s" || key == "duration_s"))
                || (a.kind == K::Diurnal && (key == "baseline_rps" || key == "peak_rps" || key == "period_s" || key == "peak_at_s"))
                || (a.kind == K::Trace && key == "file");
            if (!applies)
                notApplicable(*f, key, std::string(key) + " does not apply to kind: " + toString(a.kind));
        }
        readArrivalPattern(m_r, *f, a, m_diag.file());
    }

    // ------------------------------------------------------------ changes

    void readChanges(const Entry& e)
    {
        if (m_tree.type(e.value) == YamlType::Null) // "changes:" with nothing under it
            return;
        if (m_tree.type(e.value) != YamlType::Sequence) {
            m_r.expected(e, "changes", "a list of changes, like [{at_s: 10, concurrency_target: 2}]");
            return;
        }
        const std::size_t n = m_tree.size(e.value);
        if (n > kMaxChanges) {
            m_r.fail(e, "changes", "expected at most " + std::to_string(kMaxChanges) + " changes, got " + std::to_string(n));
            return;
        }
        for (std::size_t i = 0; i < n && !m_diag.full(); ++i)
            readChange(Entry { Entry::kNoKey, m_tree.item(e.value, i) }, i);
    }

    void readChange(const Entry& item, std::size_t index)
    {
        const std::string path = indexed("changes", index);
        const auto f = m_r.mapFields(item, path, kChangeKeys, "a map like {at_s: 10, concurrency_target: 2}", false);
        if (!f)
            return;
        ChangeSource src;
        src.index = index;
        src.item = item;
        KnobChange& c = src.change;
        if (auto v = required(*f, "at_s", kAtRule))
            c.atS = *v;
        if (auto v = optional(*f, "concurrency_target", kConcurrencyRule))
            c.concurrencyTarget = int(*v);
        if (auto v = optional(*f, "predict_concurrency", kConcurrencyRule))
            c.predictConcurrency = int(*v);
        if (auto v = optional(*f, "rate_rps", kRateRule))
            c.rateRps = *v;
        if (auto v = optional(*f, "users", kUsersRule))
            c.users = int(*v);
        if (auto r = f->get("replicas")) {
            src.replicas = r;
            if (const auto rf = m_r.mapFields(
                    *r, f->pathOf("replicas"), kChangeReplicaKeys, "a map with min and/or max, like {max: 4}", false)) {
                if (m_tree.size(r->value) == 0)
                    m_r.expected(*r, f->pathOf("replicas"), "a map with min and/or max, like {max: 4}");
                if (auto v = optional(*rf, "min", kMinReplicasRule))
                    c.minReplicas = int(*v);
                if (auto v = optional(*rf, "max", kMaxReplicasRule))
                    c.maxReplicas = int(*v);
            }
        }
        // Only when nothing else is there: an unknown key has its own error.
        if (m_tree.size(item.value) == std::size_t(f->has("at_s")))
            m_diag.error(m_tree.mark(item.value), path, "a change needs at least one of " + joinNames(kChangeKnobs));
        m_changes.push_back(std::move(src));
    }

    // Sorts the changes by time and checks what depends on the state each one starts from.
    void finishChanges()
    {
        std::stable_sort(m_changes.begin(), m_changes.end(),
            [](const ChangeSource& a, const ChangeSource& b) { return a.change.atS < b.change.atS; });
        int minReplicas = m_s.deployment.minReplicas, maxReplicas = m_s.deployment.maxReplicas;
        for (const ChangeSource& src : m_changes) {
            const KnobChange& c = src.change;
            if (!c.minReplicas && !c.maxReplicas)
                continue;
            const int min = c.minReplicas.value_or(minReplicas), max = c.maxReplicas.value_or(maxReplicas);
            if (min > max) {
                m_r.fail(*src.replicas, indexed("changes", src.index) + ".replicas",
                    "min replicas (" + std::to_string(min) + ") would exceed max replicas (" + std::to_string(max)
                        + ") from at_s " + formatNumber(c.atS) + " on");
                continue;
            }
            minReplicas = min;
            maxReplicas = max;
        }
        for (ChangeSource& src : m_changes)
            m_s.changes.push_back(src.change);
    }

    // ------------------------------------------------------------ warnings

    void warn()
    {
        const DeploymentConfig& d = m_s.deployment;
        if (auto w = targetBelowPredictWarning(d.concurrencyTarget, d.predictConcurrency); !w.empty() && m_targetEntry) {
            m_diag.warning(m_tree.mark(m_targetEntry->value), "deployment.concurrency_target", w);
            m_coveredWarnings.push_back(w);
        }
        const bool closed = m_s.workload.arrival.kind == ArrivalConfig::Kind::Closed;
        int target = d.concurrencyTarget, pc = d.predictConcurrency;
        for (const ChangeSource& src : m_changes) {
            const KnobChange& c = src.change;
            const std::string path = indexed("changes", src.index);
            const YamlMark mark = m_tree.mark(src.item.value);
            if (c.concurrencyTarget || c.predictConcurrency) {
                const bool wasBelow = target < pc;
                target = c.concurrencyTarget.value_or(target);
                pc = c.predictConcurrency.value_or(pc);
                if (auto w = targetBelowPredictWarning(target, pc); !w.empty() && !wasBelow) {
                    m_diag.warning(mark, path, "from at_s " + formatNumber(c.atS) + " on: " + w);
                    m_coveredWarnings.push_back(w);
                }
            }
            if (c.rateRps && closed)
                m_diag.warning(mark, path + ".rate_rps", "ignored: the arrival is a closed loop, which sets users, not a rate");
            if (c.users && !closed)
                m_diag.warning(mark, path + ".users",
                    std::string("ignored: the arrival is open-loop (") + toString(m_s.workload.arrival.kind)
                        + "), which sets rate_rps, not users");
            if (m_s.workload.durationS > 0 && c.atS >= m_s.workload.durationS)
                m_diag.warning(mark, path + ".at_s",
                    "at_s " + formatNumber(c.atS) + " is not before duration_s (" + formatNumber(m_s.workload.durationS)
                        + "): no new request is sent after this change");
        }
        // The engine's own warnings that were not already given here with a place.
        for (const std::string& w : m_s.warnings())
            if (std::none_of(m_coveredWarnings.begin(), m_coveredWarnings.end(),
                    [&](const std::string& covered) { return w.find(covered) != std::string::npos; }))
                m_diag.warning(std::nullopt, {}, w);
    }

    const YamlTree& m_tree;
    Diagnostics& m_diag;
    FieldReader m_r;
    Scenario m_s;
    std::optional<Entry> m_targetEntry;
    std::vector<ChangeSource> m_changes;
    std::vector<std::string> m_coveredWarnings;
};

} // namespace

Scenario readScenarioDocument(const YamlTree& tree, Diagnostics& diag)
{
    return SectionReader(tree, diag).read();
}

} // namespace knee::io
