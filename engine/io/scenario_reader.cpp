#include "scenario_reader.h"

#include "yaml_checks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace knee {

using yaml::Checker;

std::string ScenarioError::toString() const
{
    std::string s = file;
    if (line > 0)
        s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += ": ";
    if (!key.empty())
        s += "key '" + key + "': ";
    return s + message;
}

namespace {

constexpr double kMaxMs = limits::kMaxStageMs;

// Where the first byte that is not UTF-8 sits (1-based line), or 0 if the text is valid.
int firstInvalidUtf8Line(const std::string& text)
{
    int line = 1;
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n')
            ++line;
        if (c == 0)
            return line;
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > text.size())
            return line;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
                return line;
        i += len;
    }
    return 0;
}

class ScenarioParser {
public:
    explicit ScenarioParser(const std::string& file)
        : m_check(file)
    {
    }

    ScenarioReadResult parse(const YAML::Node& root)
    {
        ScenarioReadResult result;
        if (!root.IsDefined() || root.IsNull()) {
            m_check.error(root, "", "the file holds no scenario (it is empty or only comments); expected keys deployment, model, workload");
        } else if (m_check.map(root, "", {"name", "deployment", "model", "workload", "changes"})) {
            if (auto n = Checker::child(root, "name"); n.IsDefined())
                if (auto v = m_check.string(n, "name"))
                    m_s.name = *v;
            readDeployment(Checker::child(root, "deployment"), root);
            readModel(Checker::child(root, "model"));
            readWorkload(Checker::child(root, "workload"), root);
            readChanges(Checker::child(root, "changes"));
        }
        if (m_check.errors().empty()) {
            // Backstop: the engine's own rules, in case a combination slipped past the field checks.
            if (const std::string e = m_s.validate(); !e.empty())
                m_check.error(YAML::Mark::null_mark(), "", e);
        }
        result.errors = std::move(m_check.errors());
        if (result.errors.empty()) {
            result.warnings = m_s.warnings();
            result.scenario = std::move(m_s);
        }
        return result;
    }

private:
    template <typename T, typename F>
    void optional(const YAML::Node& map, const char* name, const std::string& parent, F&& read, T& into)
    {
        if (auto n = Checker::child(map, name); n.IsDefined())
            if (auto v = read(n, Checker::join(parent, name)))
                into = static_cast<T>(*v);
    }

    std::optional<std::int64_t> concurrency(const YAML::Node& n, const std::string& key)
    {
        return m_check.integer(n, key, 1, limits::kMaxConcurrency);
    }

    void readReplicas(const YAML::Node& n, const std::string& key, std::optional<int>& min, std::optional<int>& max,
                      std::optional<int>* initial)
    {
        if (initial ? !m_check.map(n, key, {"min", "max", "initial"}) : !m_check.map(n, key, {"min", "max"}))
            return;
        auto read = [&](const char* name, std::int64_t lo, std::optional<int>& into) {
            if (auto c = Checker::child(n, name); c.IsDefined())
                if (auto v = m_check.integer(c, Checker::join(key, name), lo, limits::kMaxReplicas))
                    into = int(*v);
        };
        read("min", 0, min);
        read("max", 1, max);
        if (initial)
            read("initial", 1, *initial);
        if (min && max && *min > *max)
            m_check.error(n, key, "min (" + std::to_string(*min) + ") must not exceed max (" + std::to_string(*max) + ")");
    }

    void readDeployment(const YAML::Node& n, const YAML::Node& root)
    {
        const std::string key = "deployment";
        if (!n.IsDefined()) {
            (void)root; // all deployment keys have defaults: one replica, target 1, predict_concurrency 1
            return;
        }
        if (!m_check.map(n, key, {"replicas", "concurrency_target", "predict_concurrency", "cold_start_s", "queue_limit"}))
            return;
        DeploymentConfig& d = m_s.deployment;
        if (auto r = Checker::child(n, "replicas"); r.IsDefined()) {
            std::optional<int> min, max, initial;
            readReplicas(r, "deployment.replicas", min, max, &initial);
            d.minReplicas = min.value_or(d.minReplicas);
            d.maxReplicas = max.value_or(std::max(d.maxReplicas, d.minReplicas));
            if (initial) {
                if (*initial < std::max(d.minReplicas, 1) || *initial > d.maxReplicas)
                    m_check.error(Checker::child(r, "initial"), "deployment.replicas.initial",
                                  "expected a count between max(min, 1) and max (" + std::to_string(std::max(d.minReplicas, 1)) + ".."
                                      + std::to_string(d.maxReplicas) + "), got " + std::to_string(*initial));
                else
                    d.initialReplicas = *initial;
            }
        }
        optional(n, "concurrency_target", key, [&](auto& c, auto k) { return concurrency(c, k); }, d.concurrencyTarget);
        optional(n, "predict_concurrency", key, [&](auto& c, auto k) { return concurrency(c, k); }, d.predictConcurrency);
        optional(n, "cold_start_s", key,
                 [&](auto& c, auto k) { return m_check.number(c, k, 0, kMaxMs / 1000, "seconds between 0 and 86400"); }, d.coldStartS);
        optional(n, "queue_limit", key, [&](auto& c, auto k) { return m_check.integer(c, k, 0, limits::kMaxRequests); }, d.queueLimit);
    }

    void readDistribution(const YAML::Node& n, const std::string& key, Distribution& out)
    {
        if (n.IsScalar()) { // shorthand: a bare number is a constant time in ms
            if (auto v = m_check.number(n, key, 0, kMaxMs, "a time in ms between 0 and 86400000, or a map with dist and mean_ms"))
                out = Distribution::constant(*v);
            return;
        }
        if (!m_check.map(n, key, {"dist", "mean_ms", "sigma", "spread_ms", "values_ms", "weights"}))
            return;
        Distribution d;
        const YAML::Node kindNode = Checker::child(n, "dist");
        if (!kindNode.IsDefined()) {
            m_check.error(n, key + ".dist", "missing: expected one of constant, exponential, lognormal, uniform, empirical");
            return;
        }
        const auto kindName = m_check.string(kindNode, key + ".dist");
        if (!kindName)
            return;
        if (!distributionKindFromString(*kindName, d.kind)) {
            m_check.error(kindNode, key + ".dist",
                          "expected one of constant, exponential, lognormal, uniform, empirical, got '" + *kindName + "'");
            return;
        }
        const bool empirical = d.kind == Distribution::Kind::Empirical;
        if (auto m = Checker::child(n, "mean_ms"); m.IsDefined()) {
            if (auto v = m_check.number(m, key + ".mean_ms", 0, kMaxMs, "a time in ms between 0 and 86400000"))
                d.meanMs = *v;
        } else if (!empirical) {
            m_check.error(n, key + ".mean_ms", std::string("missing: every ") + *kindName + " distribution takes mean_ms");
        }
        auto only = [&](const char* name, bool allowed, const char* what) {
            const YAML::Node c = Checker::child(n, name);
            if (c.IsDefined() && !allowed)
                m_check.error(c, Checker::join(key, name), std::string("only ") + what + " distributions take " + name);
            return allowed ? c : YAML::Node(YAML::NodeType::Undefined);
        };
        if (auto s = only("sigma", d.kind == Distribution::Kind::Lognormal, "lognormal"); s.IsDefined())
            if (auto v = m_check.number(s, key + ".sigma", 1e-9, 10, "a shape sigma > 0 and <= 10"))
                d.sigma = *v;
        if (auto s = only("spread_ms", d.kind == Distribution::Kind::Uniform, "uniform"); s.IsDefined())
            if (auto v = m_check.number(s, key + ".spread_ms", 0, kMaxMs, "a half-width in ms >= 0")) {
                if (*v > d.meanMs)
                    m_check.error(s, key + ".spread_ms", "expected a half-width no larger than mean_ms, or times would go negative");
                else
                    d.spreadMs = *v;
            }
        const YAML::Node values = only("values_ms", empirical, "empirical");
        const YAML::Node weights = only("weights", empirical, "empirical");
        if (empirical) {
            if (!values.IsDefined()) {
                m_check.error(n, key + ".values_ms", "missing: an empirical distribution takes a values_ms list");
                return;
            }
            if (auto v = m_check.numberList(values, key + ".values_ms", 0, kMaxMs, limits::kMaxEmpiricalValues))
                d.valuesMs = std::move(*v);
            if (weights.IsDefined()) {
                if (auto w = m_check.numberList(weights, key + ".weights", 0, 1e300, limits::kMaxEmpiricalValues)) {
                    if (w->size() != d.valuesMs.size() && !d.valuesMs.empty())
                        m_check.error(weights, key + ".weights",
                                      "expected as many weights as values_ms (" + std::to_string(d.valuesMs.size()) + "), got "
                                          + std::to_string(w->size()));
                    else
                        d.weights = std::move(*w);
                }
            }
            if (!d.valuesMs.empty())
                if (const std::string e = d.validate(); !e.empty())
                    m_check.error(n, key, e);
        }
        out = std::move(d);
    }

    void readModel(const YAML::Node& n)
    {
        if (!n.IsDefined())
            return;
        if (!m_check.map(n, "model", {"preprocess", "predict", "postprocess", "predict_failure_rate"}))
            return;
        for (auto [name, into] : {std::pair{"preprocess", &m_s.model.preprocess}, std::pair{"predict", &m_s.model.predict},
                                  std::pair{"postprocess", &m_s.model.postprocess}})
            if (auto c = Checker::child(n, name); c.IsDefined())
                readDistribution(c, std::string("model.") + name, *into);
        optional(n, "predict_failure_rate", "model",
                 [&](auto& c, auto k) { return m_check.number(c, k, 0, 1, "a share between 0 and 1"); }, m_s.model.predictFailureRate);
    }

    void readArrival(const YAML::Node& n)
    {
        const std::string key = "workload.arrival";
        if (!m_check.map(n, key, {"kind", "rate_rps", "users", "think"}))
            return;
        ArrivalConfig& a = m_s.workload.arrival;
        const YAML::Node kindNode = Checker::child(n, "kind");
        if (!kindNode.IsDefined()) {
            m_check.error(n, key + ".kind", "missing: expected poisson, constant or closed");
            return;
        }
        const auto kindName = m_check.string(kindNode, key + ".kind");
        if (!kindName)
            return;
        if (!arrivalKindFromString(*kindName, a.kind)) {
            m_check.error(kindNode, key + ".kind", "expected poisson, constant or closed, got '" + *kindName + "'");
            return;
        }
        const YAML::Node rate = Checker::child(n, "rate_rps"), users = Checker::child(n, "users"), think = Checker::child(n, "think");
        if (a.kind == ArrivalConfig::Kind::Closed) {
            if (rate.IsDefined())
                m_check.error(rate, key + ".rate_rps", "a closed loop has no rate: its users send when their response comes back");
            if (!users.IsDefined())
                m_check.error(n, key + ".users", "missing: a closed loop needs users (a whole number >= 1)");
            else if (auto v = m_check.integer(users, key + ".users", 1, limits::kMaxUsers))
                a.users = int(*v);
            if (think.IsDefined())
                readDistribution(think, key + ".think", a.think);
        } else {
            for (auto [node, name] : {std::pair{users, "users"}, std::pair{think, "think"}})
                if (node.IsDefined())
                    m_check.error(node, key + "." + name, "only a closed loop takes " + std::string(name) + "; an open loop takes rate_rps");
            if (!rate.IsDefined())
                m_check.error(n, key + ".rate_rps", "missing: an open loop needs rate_rps (requests per second > 0)");
            else if (auto v = m_check.number(rate, key + ".rate_rps", 1e-9, limits::kMaxRateRps, "requests per second > 0 and <= 1e7"))
                a.rateRps = *v;
        }
    }

    void readWorkload(const YAML::Node& n, const YAML::Node& root)
    {
        if (!n.IsDefined()) {
            m_check.error(root, "workload", "missing: expected workload with arrival and requests or duration_s");
            return;
        }
        if (!m_check.map(n, "workload", {"arrival", "requests", "duration_s", "warmup_s", "seed"}))
            return;
        WorkloadConfig& w = m_s.workload;
        if (auto a = Checker::child(n, "arrival"); a.IsDefined())
            readArrival(a);
        else
            m_check.error(n, "workload.arrival", "missing: expected {kind: poisson|constant, rate_rps: N} or {kind: closed, users: N}");
        optional(n, "requests", "workload", [&](auto& c, auto k) { return m_check.integer(c, k, 0, limits::kMaxRequests); }, w.requests);
        optional(n, "duration_s", "workload",
                 [&](auto& c, auto k) { return m_check.number(c, k, 0, limits::kMaxDurationS, "seconds between 0 and one year"); },
                 w.durationS);
        optional(n, "warmup_s", "workload",
                 [&](auto& c, auto k) { return m_check.number(c, k, 0, limits::kMaxDurationS, "seconds >= 0"); }, w.warmupS);
        if (auto s = Checker::child(n, "seed"); s.IsDefined())
            if (auto v = m_check.unsignedInteger(s, "workload.seed"))
                w.seed = *v;
        if (w.requests == 0 && w.durationS == 0 && m_check.errors().empty())
            m_check.error(n, "workload", "expected requests > 0 or duration_s > 0, or the run would never end");
        if (w.durationS > 0 && w.warmupS >= w.durationS)
            m_check.error(Checker::child(n, "warmup_s"), "workload.warmup_s", "expected a warm-up shorter than duration_s");
    }

    void readChanges(const YAML::Node& n)
    {
        if (!n.IsDefined())
            return;
        if (!n.IsSequence()) {
            m_check.error(n, "changes", "expected a list of {at_s: …, knob: value} entries, got " + Checker::describe(n));
            return;
        }
        if (n.size() > kMaxChanges) {
            m_check.error(n, "changes", "expected at most " + std::to_string(kMaxChanges) + " changes, got " + std::to_string(n.size()));
            return;
        }
        std::size_t i = 0;
        for (const auto& c : n) {
            const std::string key = "changes[" + std::to_string(i++) + "]";
            if (m_check.full())
                return;
            if (!m_check.map(c, key, {"at_s", "concurrency_target", "predict_concurrency", "replicas", "rate_rps", "users"}))
                continue;
            KnobChange k;
            if (auto at = Checker::child(c, "at_s"); !at.IsDefined())
                m_check.error(c, key + ".at_s", "missing: when the change happens, in seconds of simulated time");
            else if (auto v = m_check.number(at, key + ".at_s", 0, limits::kMaxDurationS, "seconds >= 0"))
                k.atS = *v;
            if (auto t = Checker::child(c, "concurrency_target"); t.IsDefined())
                if (auto v = concurrency(t, key + ".concurrency_target"))
                    k.concurrencyTarget = int(*v);
            if (auto p = Checker::child(c, "predict_concurrency"); p.IsDefined())
                if (auto v = concurrency(p, key + ".predict_concurrency"))
                    k.predictConcurrency = int(*v);
            if (auto r = Checker::child(c, "replicas"); r.IsDefined())
                readReplicas(r, key + ".replicas", k.minReplicas, k.maxReplicas, nullptr);
            if (auto r = Checker::child(c, "rate_rps"); r.IsDefined())
                if (auto v = m_check.number(r, key + ".rate_rps", 1e-9, limits::kMaxRateRps, "requests per second > 0"))
                    k.rateRps = *v;
            if (auto u = Checker::child(c, "users"); u.IsDefined())
                if (auto v = m_check.integer(u, key + ".users", 1, limits::kMaxUsers))
                    k.users = int(*v);
            m_s.changes.push_back(k);
        }
        std::stable_sort(m_s.changes.begin(), m_s.changes.end(), [](const auto& a, const auto& b) { return a.atS < b.atS; });
    }

    Checker m_check;
    Scenario m_s;
};

ScenarioReadResult failure(const std::string& file, int line, const std::string& message)
{
    ScenarioReadResult r;
    r.errors.push_back(ScenarioError{file, line, line > 0 ? 1 : 0, "", message});
    return r;
}

} // namespace

ScenarioReadResult readScenarioText(const std::string& text, const std::string& sourceName)
{
    if (text.size() > kMaxScenarioBytes)
        return failure(sourceName, 0, "the file is larger than 16 MiB; a scenario is a few kilobytes");
    if (const int bad = firstInvalidUtf8Line(text); bad > 0)
        return failure(sourceName, bad, "the file is not UTF-8 text (a binary file, or another encoding)");
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        ScenarioReadResult r = failure(sourceName, e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax: " + e.msg);
        r.errors.front().column = e.mark.is_null() ? 0 : e.mark.column + 1;
        return r;
    } catch (const std::exception& e) {
        return failure(sourceName, 0, std::string("YAML syntax: ") + e.what());
    }
    try {
        return ScenarioParser(sourceName).parse(root);
    } catch (const std::exception& e) { // yaml-cpp can throw on odd nodes; never let it escape
        return failure(sourceName, 0, std::string("could not read the scenario: ") + e.what());
    }
}

ScenarioReadResult readScenarioFile(const std::string& path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        return failure(path, 0, "no such file");
    if (fs::is_directory(status))
        return failure(path, 0, "this is a directory; expected a scenario file (.yaml)");
    if (!fs::is_regular_file(status))
        return failure(path, 0, "not a regular file");
    const auto size = fs::file_size(path, ec);
    if (ec)
        return failure(path, 0, "cannot read the file size: " + ec.message());
    if (size > kMaxScenarioBytes)
        return failure(path, 0, "the file is larger than 16 MiB; a scenario is a few kilobytes");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return failure(path, 0, "cannot open the file for reading (permissions?)");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return readScenarioText(buffer.str(), path);
}

namespace {

void emitDistribution(YAML::Emitter& out, const Distribution& d)
{
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "dist" << YAML::Value << toString(d.kind);
    if (d.kind != Distribution::Kind::Empirical || d.meanMs != 0)
        out << YAML::Key << "mean_ms" << YAML::Value << d.meanMs;
    if (d.kind == Distribution::Kind::Lognormal)
        out << YAML::Key << "sigma" << YAML::Value << d.sigma;
    if (d.kind == Distribution::Kind::Uniform && d.spreadMs >= 0)
        out << YAML::Key << "spread_ms" << YAML::Value << d.spreadMs;
    if (d.kind == Distribution::Kind::Empirical) {
        out << YAML::Key << "values_ms" << YAML::Value << YAML::Flow << d.valuesMs;
        if (!d.weights.empty())
            out << YAML::Key << "weights" << YAML::Value << YAML::Flow << d.weights;
    }
    out << YAML::EndMap;
}

} // namespace

std::string writeScenarioYaml(const Scenario& s)
{
    YAML::Emitter out;
    out.SetDoublePrecision(17); // round-trips every double exactly
    out << YAML::BeginMap;
    if (!s.name.empty())
        out << YAML::Key << "name" << YAML::Value << s.name;
    const DeploymentConfig& d = s.deployment;
    out << YAML::Key << "deployment" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "replicas" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "min" << YAML::Value << d.minReplicas
        << YAML::Key << "max" << YAML::Value << d.maxReplicas;
    if (d.initialReplicas > 0)
        out << YAML::Key << "initial" << YAML::Value << d.initialReplicas;
    out << YAML::EndMap;
    out << YAML::Key << "concurrency_target" << YAML::Value << d.concurrencyTarget;
    out << YAML::Key << "predict_concurrency" << YAML::Value << d.predictConcurrency;
    out << YAML::Key << "cold_start_s" << YAML::Value << d.coldStartS;
    out << YAML::Key << "queue_limit" << YAML::Value << d.queueLimit;
    out << YAML::EndMap;

    out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "preprocess" << YAML::Value;
    emitDistribution(out, s.model.preprocess);
    out << YAML::Key << "predict" << YAML::Value;
    emitDistribution(out, s.model.predict);
    out << YAML::Key << "postprocess" << YAML::Value;
    emitDistribution(out, s.model.postprocess);
    out << YAML::Key << "predict_failure_rate" << YAML::Value << s.model.predictFailureRate;
    out << YAML::EndMap;

    const WorkloadConfig& w = s.workload;
    out << YAML::Key << "workload" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "arrival" << YAML::Value << YAML::BeginMap << YAML::Key << "kind" << YAML::Value << toString(w.arrival.kind);
    if (w.arrival.kind == ArrivalConfig::Kind::Closed) {
        out << YAML::Key << "users" << YAML::Value << w.arrival.users << YAML::Key << "think" << YAML::Value;
        emitDistribution(out, w.arrival.think);
    } else {
        out << YAML::Key << "rate_rps" << YAML::Value << w.arrival.rateRps;
    }
    out << YAML::EndMap;
    out << YAML::Key << "requests" << YAML::Value << w.requests;
    out << YAML::Key << "duration_s" << YAML::Value << w.durationS;
    out << YAML::Key << "warmup_s" << YAML::Value << w.warmupS;
    out << YAML::Key << "seed" << YAML::Value << w.seed;
    out << YAML::EndMap;

    if (!s.changes.empty()) {
        out << YAML::Key << "changes" << YAML::Value << YAML::BeginSeq;
        for (const KnobChange& c : s.changes) {
            out << YAML::Flow << YAML::BeginMap << YAML::Key << "at_s" << YAML::Value << c.atS;
            if (c.concurrencyTarget)
                out << YAML::Key << "concurrency_target" << YAML::Value << *c.concurrencyTarget;
            if (c.predictConcurrency)
                out << YAML::Key << "predict_concurrency" << YAML::Value << *c.predictConcurrency;
            if (c.minReplicas || c.maxReplicas) {
                out << YAML::Key << "replicas" << YAML::Value << YAML::Flow << YAML::BeginMap;
                if (c.minReplicas)
                    out << YAML::Key << "min" << YAML::Value << *c.minReplicas;
                if (c.maxReplicas)
                    out << YAML::Key << "max" << YAML::Value << *c.maxReplicas;
                out << YAML::EndMap;
            }
            if (c.rateRps)
                out << YAML::Key << "rate_rps" << YAML::Value << *c.rateRps;
            if (c.users)
                out << YAML::Key << "users" << YAML::Value << *c.users;
            out << YAML::EndMap;
        }
        out << YAML::EndSeq;
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace knee
