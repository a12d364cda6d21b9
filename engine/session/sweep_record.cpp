#include "sweep_record.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace knee {

namespace {

QJsonValue optionalInt(const std::optional<int>& v) { return v ? QJsonValue(*v) : QJsonValue(); }
QJsonValue optionalNumber(const std::optional<double>& v) { return v ? QJsonValue(*v) : QJsonValue(); }
QJsonArray numbers(const std::vector<double>& v)
{
    QJsonArray out;
    for (double x : v)
        out.append(x);
    return out;
}
QString words(const std::string& s) { return QString::fromStdString(s); }

QJsonObject latencyJson(const LatencySummaryMs& l)
{
    return {{"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90}, {"p95", l.p95}, {"p99", l.p99}, {"p99_9", l.p999}, {"max", l.max},
            {"count", qint64(l.count)}};
}

QJsonObject optionsJson(const SweepOptions& o)
{
    QJsonArray levels;
    for (int l : o.levels)
        levels.append(l);
    QJsonObject out{{"levels", levels},           {"warmup_s", o.warmupS},       {"window_s", o.windowS},
            {"tolerance", o.tolerance},   {"min_windows", o.minWindows}, {"cap_s", o.capS},
            {"slo_ms", o.sloMs},          {"ttft_slo_ms", o.ttftSloMs},  {"itl_slo_ms", o.itlSloMs},
            {"sensitivity", o.sensitivity}, {"baseline_rps", o.baselineRps}, {"peak_rps", o.peakRps},
            {"buffer", o.buffer},         {"saturation_tolerance", o.saturationTolerance}, {"extend_limit", o.extendLimit},
            {"repeats", o.repeats},       {"search", o.searchSlo ? QStringLiteral("slo") : QString()},
            {"starts", o.starts}};
    if (o.rateSweep()) { // an open-loop rate sweep: its rates replace the levels
        out.insert("rates", numbers(o.rates));
        out.insert("arrival", o.constantArrivals ? QStringLiteral("constant") : QStringLiteral("poisson"));
        out.insert("rate_resolution", o.rateResolution);
    }
    return out;
}

QJsonArray intervalJson(const Interval& i) { return QJsonArray{i.lo, i.hi}; }

QJsonObject repeatsJson(const LevelRepeats& p)
{
    QJsonArray runs;
    for (const RepeatFigures& f : p.runs)
        runs.append(QJsonObject{{"p50_ms", f.p50},           {"p95_ms", f.p95},         {"p99_ms", f.p99},
                                {"mean_ms", f.meanMs},       {"throughput_rps", f.throughputRps}, {"goodput_rps", f.goodputRps},
                                {"ttft_p95_ms", f.ttftP95},  {"itl_p95_ms", f.itlP95},  {"completed", qint64(f.completed)},
                                {"failed", qint64(f.failed)}, {"measured_s", f.measuredS}, {"stable", f.stable}});
    return {{"count", qint64(p.runs.size())},
            {"verdict", QString::fromStdString(p.verdict)},
            {"verdict_rule", QString::fromStdString(p.verdictRule)},
            {"interval_95", QJsonObject{{"p50_ms", intervalJson(p.p50)},
                                        {"p95_ms", intervalJson(p.p95)},
                                        {"p99_ms", intervalJson(p.p99)},
                                        {"mean_ms", intervalJson(p.mean)},
                                        {"throughput_rps", intervalJson(p.throughput)},
                                        {"goodput_rps", intervalJson(p.goodput)},
                                        {"ttft_p95_ms", intervalJson(p.ttftP95)},
                                        {"itl_p95_ms", intervalJson(p.itlP95)}}},
            {"runs", runs}};
}

QJsonObject statesJson(const LevelStates& st)
{
    QJsonArray starts;
    for (const LevelStart& x : st.starts)
        starts.append(QJsonObject{{"start", QString::fromStdString(x.start)},
                                  {"throughput_rps", x.throughputRps},
                                  {"p50_ms", x.p50},
                                  {"p95_ms", x.p95},
                                  {"p99_ms", x.p99},
                                  {"completed", qint64(x.completed)},
                                  {"predict_calls", qint64(x.predictCalls)},
                                  {"requests_per_call", x.requestsPerCall()},
                                  {"stable", x.stable}});
    return {{"several", st.several}, {"chosen", QString::fromStdString(st.chosen)}, {"rule", QString::fromStdString(st.rule)}, {"starts", starts}};
}

QJsonObject searchJson(const SloSearch& s)
{
    const QJsonArray bisected = numbers(s.bisected), doubled = numbers(s.doubled);
    // interval: null when no level met the SLOs; its upper end null when no level surely missed them.
    return {{"largest", s.largest ? QJsonValue(*s.largest) : QJsonValue()},
            {"smallest_missing", s.smallestMissing ? QJsonValue(*s.smallestMissing) : QJsonValue()},
            {"interval", s.largest ? QJsonValue(QJsonArray{s.low, s.high > 0 ? QJsonValue(s.high) : QJsonValue()}) : QJsonValue()},
            {"bisected", bisected},
            {"doubled", doubled},
            {"stop", QString::fromStdString(s.stop)},
            {"rule", QString::fromStdString(s.rule)}};
}

QJsonObject levelJson(const SweepLevel& l)
{
    QJsonArray buckets;
    for (const auto& [index, count] : l.histogram.buckets)
        buckets.append(QJsonArray{index, qint64(count)});
    QJsonObject o{{"concurrency", l.concurrency},
                  {"p50_ms", l.latency.p50},
                  {"p90_ms", l.latency.p90},
                  {"p95_ms", l.latency.p95},
                  {"p99_ms", l.latency.p99},
                  {"mean_ms", l.latency.mean},
                  {"max_ms", l.latency.max},
                  {"latency_ms", latencyJson(l.latency)},
                  {"throughput_rps", l.throughputRps},
                  {"completed", qint64(l.completed)},
                  {"failed", qint64(l.failed)},
                  {"rejected", qint64(l.rejected)},
                  {"stable", l.stable},
                  {"windows", l.windows},
                  {"measured_s", l.measuredS},
                  {"histogram", QJsonObject{{"buckets", buckets},
                                            {"count", qint64(l.histogram.count)},
                                            {"min_ns", qint64(l.histogram.min)},
                                            {"max_ns", qint64(l.histogram.max)},
                                            {"sum_ns", double(l.histogram.sum)}}}};
    if (l.ttft.count > 0) { // streaming
        o.insert("ttft_ms", latencyJson(l.ttft));
        o.insert("itl_ms", latencyJson(l.itl));
        o.insert("ttft_p50_ms", l.ttft.p50);
        o.insert("ttft_p95_ms", l.ttft.p95);
        o.insert("itl_p50_ms", l.itl.p50);
        o.insert("itl_p95_ms", l.itl.p95);
    }
    if (l.ttft.count > 0 || l.outputTokens > 0) {
        o.insert("output_tokens", qint64(l.outputTokens));
        o.insert("tokens_per_s", l.tokensPerS);
    }
    if (!l.failuresByKind.empty()) { // endpoint sweeps: every kind; they add up to `failed`
        QJsonObject kinds;
        for (const auto& [kind, count] : l.failuresByKind)
            kinds.insert(words(kind), qint64(count));
        o.insert("failures_by_kind", kinds);
    }
    if (l.goodCounted) { // with an SLO: the responses that met every one
        o.insert("good", qint64(l.good));
        o.insert("goodput_rps", l.goodputRps);
        o.insert("goodput_share", l.goodShare());
    }
    if (l.repeats)
        o.insert("repeats", repeatsJson(*l.repeats));
    if (l.predictCalls > 0)
        o.insert("predict_calls", qint64(l.predictCalls));
    if (l.states)
        o.insert("states", statesJson(*l.states));
    if (!l.gpus.empty()) { // a live level's GPUs (NVML); a figure the GPU did not report is null
        QJsonArray gpus;
        auto v = [](const std::optional<double>& x) { return x ? QJsonValue(*x) : QJsonValue(); };
        for (const GpuLevelFigures& g : l.gpus)
            gpus.append(QJsonObject{{"index", g.index},
                                    {"name", words(g.name)},
                                    {"samples", qint64(g.samples)},
                                    {"utilization_mean_pct", v(g.utilizationMeanPct)},
                                    {"utilization_max_pct", v(g.utilizationMaxPct)},
                                    {"memory_used_max_bytes", v(g.memoryUsedMaxBytes)},
                                    {"memory_total_bytes", g.memoryTotalBytes},
                                    {"power_mean_w", v(g.powerMeanW)},
                                    {"power_max_w", v(g.powerMaxW)},
                                    {"sm_clock_mean_mhz", v(g.smClockMeanMHz)}});
        o.insert("gpus", gpus);
    }
    if (l.server) { // what the endpoint's /metrics said during the measured windows
        QJsonObject metrics;
        for (const auto& [name, m] : l.server->metrics)
            metrics.insert(words(name), QJsonObject{{"source", words(m.source)}, {"samples", qint64(m.samples)}, {"mean", m.mean},
                                                    {"min", m.min}, {"max", m.max}, {"last", m.last}});
        o.insert("server_metrics", QJsonObject{{"scrapes", l.server->scrapes},
                                               {"failures", l.server->failures},
                                               {"last_error", words(l.server->lastError).left(4096)}, // as read back
                                               {"metrics", metrics}});
    }
    if (l.open()) { // an open-loop level: the rate asked, what the generator sent, Little's law
        o.insert("rate_rps", l.rateRps);
        o.insert("arrivals", qint64(l.sent));
        o.insert("achieved_rps", l.sentRps);
        o.insert("generator_behind", l.behind);
        o.insert("in_flight_mean", l.inFlightMean);
    }
    if (l.generator) { // issue 18: what the outside load generator achieved; behind: never chosen
        const LoadGeneratorFigures& g = *l.generator;
        o.insert("load_generator", QJsonObject{{"name", words(g.name)},
                                               {"workers", g.workers},
                                               {"users_asked", g.usersAsked},
                                               {"users_mean", g.usersMean},
                                               {"users_min", g.usersMin},
                                               {"cpu_max_pct", g.cpuMaxPct},
                                               {"loop_lag_max_ms", g.loopLagMaxMs},
                                               {"loop_lag_mean_ms", g.loopLagMeanMs},
                                               {"records_lost", g.recordsLost},
                                               {"behind", g.behind},
                                               {"why", words(g.why)}});
    }
    if (l.endpoint) {
        o.insert("sent", qint64(l.endpoint->sent));
        o.insert("unfinished", qint64(l.endpoint->unfinished));
        if (!l.endpoint->lastError.empty())
            o.insert("last_error", words(l.endpoint->lastError));
    }
    return o;
}

QJsonObject recommendationJson(const Recommendation& rec)
{
    QJsonObject o{{"concurrency_target", QJsonObject{{"value", rec.concurrencyTarget > 0 ? QJsonValue(rec.concurrencyTarget) : QJsonValue()},
                                                     {"rule", words(rec.concurrencyTargetRule)},
                                                     {"basis", words(rec.concurrencyTargetBasis)}}},
                  {"predict_concurrency", QJsonObject{{"value", rec.predictConcurrency}, {"rule", words(rec.predictConcurrencyRule)}}},
                  {"throughput_at_target_rps", rec.throughputAtTargetRps}};
    if (rec.ratePerReplicaRps > 0)
        o.insert("rate_per_replica_rps", rec.ratePerReplicaRps);
    if (rec.replicas) {
        o.insert("min_replicas", QJsonObject{{"value", rec.replicas->minReplicas}, {"rule", words(rec.replicas->minRule)}});
        o.insert("max_replicas", QJsonObject{{"value", rec.replicas->maxReplicas}, {"rule", words(rec.replicas->maxRule)}});
    } else {
        const QString why = QStringLiteral("give the baseline and peak rates (--baseline-rps, --peak-rps) to plan replicas");
        o.insert("min_replicas", QJsonObject{{"value", QJsonValue()}, {"rule", why}});
        o.insert("max_replicas", QJsonObject{{"value", QJsonValue()}, {"rule", why}});
    }
    return o;
}

// ---- reading ----

LatencySummaryMs readLatency(JsonReader& r, const QJsonObject& o, const QString& path)
{
    LatencySummaryMs l;
    l.mean = r.number(o, "mean", path, 0, 1e12);
    l.p50 = r.number(o, "p50", path, 0, 1e12);
    l.p90 = r.number(o, "p90", path, 0, 1e12);
    l.p95 = r.number(o, "p95", path, 0, 1e12);
    l.p99 = r.number(o, "p99", path, 0, 1e12);
    l.p999 = r.number(o, "p99_9", path, 0, 1e12);
    l.max = r.number(o, "max", path, 0, 1e12);
    l.count = r.integer(o, "count", path, 0, kMaxSavedCount);
    return l;
}

void readFailureKinds(JsonReader& r, const QJsonObject& o, const QString& path, SweepLevel& l)
{
    const QString kp = path + ".failures_by_kind";
    const QJsonObject kinds = r.object(o, "failures_by_kind", path);
    std::int64_t sum = 0;
    for (auto it = kinds.begin(); r.ok() && it != kinds.end(); ++it) {
        const double count = it.value().toDouble(-1);
        if (it.key().isEmpty() || it.key().size() > 32 || count < 0 || count > kMaxSavedCount || std::floor(count) != count)
            r.fail(kp + "." + it.key(), "a whole number of failures");
        else
            sum += l.failuresByKind[it.key().toStdString()] = std::int64_t(count);
    }
    if (r.ok() && sum != l.failed)
        r.fail(kp, "counts that add up to the level's failed requests");
}

void readHistogram(JsonReader& r, const QJsonObject& o, const QString& path, SweepLevel& l)
{
    const QString hp = path + ".histogram";
    const QJsonObject h = r.object(o, "histogram", path);
    const QJsonArray buckets = r.array(h, "buckets", hp, LatencyHistogram::kBucketCount);
    for (qsizetype i = 0; r.ok() && i < buckets.size(); ++i) {
        const QJsonArray pair = buckets[i].toArray();
        const double index = pair.size() == 2 ? pair[0].toDouble(-1) : -1, count = pair.size() == 2 ? pair[1].toDouble(-1) : -1;
        if (index < 0 || index >= LatencyHistogram::kBucketCount || std::floor(index) != index || count < 1 || count > kMaxSavedCount
            || std::floor(count) != count)
            r.fail(hp + QStringLiteral(".buckets[%1]").arg(i), "[bucket index, count > 0]");
        else
            l.histogram.buckets.emplace_back(int(index), std::uint64_t(count));
    }
    l.histogram.count = r.integer(h, "count", hp, 0, kMaxSavedCount);
    l.histogram.min = r.integer(h, "min_ns", hp, 0, 9e18);
    l.histogram.max = r.integer(h, "max_ns", hp, 0, 9e18);
    l.histogram.sum = r.number(h, "sum_ns", hp, 0, 1e30);
    if (r.ok()) {
        LatencyHistogram check;
        if (!check.fromSparse(l.histogram))
            r.fail(hp, "a histogram whose counts add up and whose min is not above its max");
    }
}

// The repeats' own figures are read; their intervals and verdict are recomputed from them (an edited
// interval cannot stand), and the level must be stable exactly when every repeat was.
LevelRepeats readRepeats(JsonReader& r, const QJsonObject& o, const QString& path, bool levelStable, double tolerance = -1)
{
    std::vector<RepeatFigures> runs;
    const QJsonArray list = r.array(o, "runs", path, kMaxRepeats);
    for (qsizetype k = 0; r.ok() && k < list.size(); ++k) {
        const QString rp = path + QStringLiteral(".runs[%1]").arg(k);
        const QJsonObject f = list[k].toObject();
        RepeatFigures x;
        x.p50 = r.number(f, "p50_ms", rp, 0, 1e12);
        x.p95 = r.number(f, "p95_ms", rp, 0, 1e12);
        x.p99 = r.number(f, "p99_ms", rp, 0, 1e12);
        x.meanMs = r.number(f, "mean_ms", rp, 0, 1e12);
        x.throughputRps = r.number(f, "throughput_rps", rp, 0, 1e12);
        x.goodputRps = r.number(f, "goodput_rps", rp, 0, 1e12);
        x.ttftP95 = r.number(f, "ttft_p95_ms", rp, 0, 1e12);
        x.itlP95 = r.number(f, "itl_p95_ms", rp, 0, 1e12);
        x.completed = r.integer(f, "completed", rp, 0, kMaxSavedCount);
        x.failed = r.integer(f, "failed", rp, 0, kMaxSavedCount);
        x.measuredS = r.number(f, "measured_s", rp, 0, 1e12);
        x.stable = r.boolean(f, "stable", rp);
        runs.push_back(x);
    }
    if (r.ok() && runs.size() < 2)
        r.fail(path + ".runs", "two repeats or more");
    const bool allStable = std::all_of(runs.begin(), runs.end(), [](const RepeatFigures& f) { return f.stable; });
    if (r.ok() && allStable != levelStable)
        r.fail(path + ".runs", "repeats that are all stable exactly when the level is");
    return summarizeRepeats(std::move(runs), tolerance);
}

// The starts' own figures are read; which start the level reports and why are recomputed from them and
// the sweep's tolerance (readSweepRecord), and the level's figures must be that start's.
LevelStates readStates(JsonReader& r, const QJsonObject& o, const QString& path)
{
    std::vector<LevelStart> starts;
    const QJsonArray list = r.array(o, "starts", path, kMaxStarts);
    for (qsizetype k = 0; r.ok() && k < list.size() && k < kMaxStarts; ++k) {
        const QString sp = path + QStringLiteral(".starts[%1]").arg(k);
        const QJsonObject f = list[k].toObject();
        LevelStart x;
        // The starts in the order a sweep measures them (sweep.cpp, measureOtherStarts).
        static const char* const kOrder[] = {"together", "two_groups", "one_by_one"};
        x.start = r.text(f, "start", sp).toStdString();
        if (r.ok() && x.start != kOrder[k])
            r.fail(sp + ".start", QStringLiteral("%1 here (the starts come as together, two_groups, one_by_one)").arg(QLatin1String(kOrder[k])));
        x.throughputRps = r.number(f, "throughput_rps", sp, 0, 1e12);
        x.p50 = r.number(f, "p50_ms", sp, 0, 1e12);
        x.p95 = r.number(f, "p95_ms", sp, 0, 1e12);
        x.p99 = r.number(f, "p99_ms", sp, 0, 1e12);
        x.completed = r.integer(f, "completed", sp, 0, kMaxSavedCount);
        x.predictCalls = r.integer(f, "predict_calls", sp, 0, kMaxSavedCount);
        x.stable = r.boolean(f, "stable", sp);
        starts.push_back(x);
    }
    if (r.ok() && starts.size() < 2)
        r.fail(path + ".starts", "two starts or more");
    return summarizeStates(std::move(starts), SweepOptions().tolerance); // the sweep's own tolerance comes later
}

// A level read with its starts: which start it reports, by its sweep's tolerance, and its figures must be
// that start's.
void settleStates(JsonReader& r, SweepLevel& l, double tolerance, const QString& path)
{
    if (!l.states || !r.ok())
        return;
    l.states = summarizeStates(std::move(l.states->starts), tolerance);
    const auto chosen = std::find_if(l.states->starts.begin(), l.states->starts.end(), [&](const LevelStart& x) { return x.start == l.states->chosen; });
    if (chosen == l.states->starts.end() || chosen->completed != l.completed || chosen->throughputRps != l.throughputRps)
        r.fail(path, "levels measured from several starts whose figures are the start they report");
}

std::vector<GpuLevelFigures> readGpus(JsonReader& r, const QJsonObject& o, const QString& path)
{
    std::vector<GpuLevelFigures> out;
    const QJsonArray list = r.array(o, "gpus", path, 64);
    for (qsizetype k = 0; r.ok() && k < list.size(); ++k) {
        const QString gp = path + QStringLiteral(".gpus[%1]").arg(k);
        const QJsonObject g = list[k].toObject();
        GpuLevelFigures x;
        x.index = int(r.integer(g, "index", gp, 0, 1024));
        x.name = r.text(g, "name", gp).left(200).toStdString();
        x.samples = r.integer(g, "samples", gp, 0, kMaxSavedCount);
        x.memoryTotalBytes = r.number(g, "memory_total_bytes", gp, 0, 1e18);
        auto opt = [&](const char* key, double hi) -> std::optional<double> { // null: the GPU did not report it
            if (g.value(QLatin1String(key)).isNull())
                return std::nullopt;
            return r.number(g, key, gp, 0, hi);
        };
        x.utilizationMeanPct = opt("utilization_mean_pct", 100);
        x.utilizationMaxPct = opt("utilization_max_pct", 100);
        x.memoryUsedMaxBytes = opt("memory_used_max_bytes", 1e18);
        x.powerMeanW = opt("power_mean_w", 1e6);
        x.powerMaxW = opt("power_max_w", 1e6);
        x.smClockMeanMHz = opt("sm_clock_mean_mhz", 1e6);
        out.push_back(x);
    }
    return out;
}

ServerScrape readServerScrape(JsonReader& r, const QJsonObject& o, const QString& path)
{
    ServerScrape s;
    s.scrapes = int(r.integer(o, "scrapes", path, 0, 1e9));
    s.failures = int(r.integer(o, "failures", path, 0, 1e9));
    s.lastError = r.text(o, "last_error", path).left(4096).toStdString();
    const QJsonObject metrics = r.object(o, "metrics", path);
    if (r.ok() && metrics.size() > 256)
        r.fail(path + ".metrics", "at most 256 metrics");
    for (auto it = metrics.begin(); r.ok() && it != metrics.end(); ++it) {
        const QString mp = path + ".metrics." + it.key();
        const QJsonObject m = it.value().toObject();
        if (it.key().isEmpty() || it.key().size() > 200) {
            r.fail(mp, "a metric name of 1 to 200 characters");
            break;
        }
        ServerMetricSummary x;
        x.source = r.text(m, "source", mp).left(200).toStdString();
        x.samples = r.integer(m, "samples", mp, 0, kMaxSavedCount);
        x.mean = r.number(m, "mean", mp, -1e300, 1e300);
        x.min = r.number(m, "min", mp, -1e300, 1e300);
        x.max = r.number(m, "max", mp, -1e300, 1e300);
        x.last = r.number(m, "last", mp, -1e300, 1e300);
        const double slack = 1e-9 * (1 + std::abs(x.min) + std::abs(x.max)); // a running mean's rounding
        if (r.ok() && x.samples > 0 && !(x.min - slack <= x.mean && x.mean <= x.max + slack))
            r.fail(mp, "min <= mean <= max");
        s.metrics[it.key().toStdString()] = x;
    }
    return s;
}

SweepLevel readLevel(JsonReader& r, const QJsonObject& o, const QString& path)
{
    SweepLevel l;
    const bool open = o.contains("rate_rps"); // a rate sweep's level: concurrency 0
    l.concurrency = int(r.integer(o, "concurrency", path, open ? 0 : 1, open ? 0 : 1e6));
    if (open) { // the achieved rate, Little's law and "behind" are recomputed (finishOpenLevel)
        l.rateRps = r.number(o, "rate_rps", path, kMinSweepRateRps, limits::kMaxRateRps);
        l.sent = r.integer(o, "arrivals", path, 0, kMaxSavedCount);
    }
    l.latency = readLatency(r, r.object(o, "latency_ms", path), path + ".latency_ms");
    if (o.contains("ttft_ms")) // streaming figures; absent (format 3) or zero when the model does not stream
        l.ttft = readLatency(r, r.object(o, "ttft_ms", path), path + ".ttft_ms");
    if (o.contains("itl_ms"))
        l.itl = readLatency(r, r.object(o, "itl_ms", path), path + ".itl_ms");
    l.throughputRps = r.number(o, "throughput_rps", path, 0, 1e12);
    l.completed = r.integer(o, "completed", path, 0, kMaxSavedCount);
    l.failed = r.integer(o, "failed", path, 0, kMaxSavedCount);
    l.rejected = r.integer(o, "rejected", path, 0, kMaxSavedCount);
    if (o.contains("failures_by_kind"))
        readFailureKinds(r, o, path, l);
    if (o.contains("output_tokens")) {
        l.outputTokens = r.integer(o, "output_tokens", path, 0, kMaxSavedCount);
        l.tokensPerS = r.number(o, "tokens_per_s", path, 0, 1e15);
    }
    if (o.contains("sent")) {
        EndpointCounts e;
        e.sent = r.integer(o, "sent", path, 0, kMaxSavedCount);
        e.unfinished = r.integer(o, "unfinished", path, 0, kMaxSavedCount);
        if (o.contains("last_error"))
            e.lastError = r.text(o, "last_error", path).left(4096).toStdString();
        l.endpoint = e;
    }
    l.stable = r.boolean(o, "stable", path);
    l.windows = int(r.integer(o, "windows", path, 0, 1e9));
    l.measuredS = r.number(o, "measured_s", path, 0, 1e12);
    if (o.contains("good")) {
        l.goodCounted = true;
        l.good = r.integer(o, "good", path, 0, kMaxSavedCount);
        l.goodputRps = l.measuredS > 0 ? double(l.good) / l.measuredS : 0;
        if (r.ok() && l.good > l.completed)
            r.fail(path + ".good", "at most the level's completed requests");
    }
    if (o.contains("repeats")) {
        l.repeats = readRepeats(r, r.object(o, "repeats", path), path + ".repeats", l.stable);
        std::int64_t completed = 0; // the level is its repeats merged: their responses add up to its own
        for (const RepeatFigures& f : l.repeats->runs)
            completed += f.completed;
        if (r.ok() && completed != l.completed)
            r.fail(path + ".repeats.runs", "repeats whose completed requests add up to the level's");
    }
    if (o.contains("predict_calls"))
        l.predictCalls = r.integer(o, "predict_calls", path, 0, kMaxSavedCount);
    if (o.contains("states")) {
        l.states = readStates(r, r.object(o, "states", path), path + ".states");
        if (r.ok() && (open || l.concurrency < 2 || o.contains("repeats")))
            r.fail(path + ".states", "none here: starts are measured for closed-loop levels of 2 users or more, measured once");
    }
    if (o.contains("server_metrics"))
        l.server = readServerScrape(r, r.object(o, "server_metrics", path), path + ".server_metrics");
    if (o.contains("load_generator")) {
        const QString gp = path + ".load_generator";
        const QJsonObject go = r.object(o, "load_generator", path);
        LoadGeneratorFigures g;
        g.name = r.text(go, "name", gp).left(64).toStdString();
        g.workers = int(r.integer(go, "workers", gp, 0, 1e6));
        g.usersAsked = int(r.integer(go, "users_asked", gp, 0, 1e6));
        g.usersMean = r.number(go, "users_mean", gp, 0, 1e9);
        g.usersMin = int(r.integer(go, "users_min", gp, 0, 1e9));
        g.cpuMaxPct = r.number(go, "cpu_max_pct", gp, 0, 1e6);
        if (go.contains("loop_lag_max_ms"))
            g.loopLagMaxMs = r.number(go, "loop_lag_max_ms", gp, 0, 1e9);
        if (go.contains("loop_lag_mean_ms"))
            g.loopLagMeanMs = r.number(go, "loop_lag_mean_ms", gp, 0, 1e9);
        g.recordsLost = r.boolean(go, "records_lost", gp);
        g.behind = r.boolean(go, "behind", gp);
        g.why = r.text(go, "why", gp).left(4096).toStdString();
        l.generator = g;
    }
    if (o.contains("gpus"))
        l.gpus = readGpus(r, o, path);
    readHistogram(r, o, path, l);
    return l;
}

std::vector<double> rateList(JsonReader& r, const QJsonObject& o, const char* key, const QString& path)
{
    std::vector<double> out;
    for (const QJsonValue& v : r.array(o, key, path, 64)) {
        const double d = v.toDouble(-1);
        if (!(d >= kMinSweepRateRps && d <= limits::kMaxRateRps)) {
            r.fail(path + "." + key, "request rates from 0.001 to 10000000 req/s");
            return {};
        }
        out.push_back(d);
    }
    return out;
}

std::vector<int> intList(JsonReader& r, const QJsonObject& o, const char* key, const QString& path)
{
    std::vector<int> out;
    for (const QJsonValue& v : r.array(o, key, path, 64)) {
        const double d = v.toDouble(-1);
        if (d < 1 || d > 1e6 || std::floor(d) != d) {
            r.fail(path + "." + key, "whole numbers from 1 to 1000000");
            return {}; // converting an out-of-range double to int is undefined (found by fuzz_session)
        }
        out.push_back(int(d));
    }
    return out;
}

SweepOptions readOptions(JsonReader& r, const QJsonObject& opt, const QString& op)
{
    SweepOptions o;
    o.levels = intList(r, opt, "levels", op);
    o.warmupS = r.number(opt, "warmup_s", op, 0, 1e9);
    o.windowS = r.number(opt, "window_s", op, 0, 1e9);
    o.tolerance = r.number(opt, "tolerance", op, 0, 1);
    o.minWindows = int(r.integer(opt, "min_windows", op, 0, 1e6));
    o.capS = r.number(opt, "cap_s", op, 0, 1e9);
    o.sloMs = r.number(opt, "slo_ms", op, 0, 1e12);
    if (opt.contains("ttft_slo_ms"))
        o.ttftSloMs = r.number(opt, "ttft_slo_ms", op, 0, 1e12);
    if (opt.contains("itl_slo_ms"))
        o.itlSloMs = r.number(opt, "itl_slo_ms", op, 0, 1e12);
    o.sensitivity = r.number(opt, "sensitivity", op, 0, 100);
    o.baselineRps = r.number(opt, "baseline_rps", op, 0, 1e12);
    o.peakRps = r.number(opt, "peak_rps", op, 0, 1e12);
    o.buffer = int(r.integer(opt, "buffer", op, 0, 1e6));
    if (opt.contains("saturation_tolerance")) // format 2 on; before it, the default
        o.saturationTolerance = r.number(opt, "saturation_tolerance", op, 0, 0.5);
    if (opt.contains("extend_limit"))
        o.extendLimit = int(r.integer(opt, "extend_limit", op, 0, 1e6));
    if (opt.contains("repeats")) // format 3 from issue 17 on
        o.repeats = int(r.integer(opt, "repeats", op, 1, kMaxRepeats));
    if (opt.contains("starts")) // 0: as the scenario's batching asks (SweepOptions::starts)
        o.starts = int(r.integer(opt, "starts", op, 0, kMaxStarts));
    if (opt.contains("search")) {
        const QString search = r.text(opt, "search", op);
        if (r.ok() && !search.isEmpty() && search != QLatin1String("slo"))
            r.fail(op + ".search", "\"slo\" or empty");
        o.searchSlo = search == QLatin1String("slo");
    }
    if (opt.contains("rates")) { // a rate sweep (issue 17)
        o.rates = rateList(r, opt, "rates", op);
        if (r.ok() && o.rates.empty())
            r.fail(op + ".rates", "at least one rate");
        const QString arrival = r.text(opt, "arrival", op);
        if (r.ok() && arrival != QLatin1String("poisson") && arrival != QLatin1String("constant"))
            r.fail(op + ".arrival", "poisson or constant");
        o.constantArrivals = arrival == QLatin1String("constant");
        o.rateResolution = r.number(opt, "rate_resolution", op, 1e-6, 0.5);
    }
    return o;
}

bool sameOptional(const QJsonValue& saved, const std::optional<int>& computed)
{
    return saved.isNull() ? !computed.has_value() : saved.toInt(-1) == computed.value_or(-2);
}
bool sameOptional(const QJsonValue& saved, const std::optional<double>& computed)
{
    return saved.isNull() ? !computed.has_value() : computed && saved.isDouble() && saved.toDouble() == *computed;
}

QJsonObject rateAnalysisJson(const RateAnalysis& a)
{
    return {{"knee_rps", optionalNumber(a.knee)},          {"knee_rule", words(a.kneeNote)},
            {"capacity_rps", optionalNumber(a.capacity)},  {"first_behind_rps", optionalNumber(a.firstBehind)},
            {"capacity_rule", words(a.capacityNote)},      {"slo_rate_rps", optionalNumber(a.sloRate)},
            {"peak_throughput_rps", a.peakThroughputRps}, {"tolerance", a.tolerance},
            {"extended_rates", numbers(a.extendedRates)}};
}

} // namespace

QJsonObject sweepRecord(const SessionSweep& sweep)
{
    const SweepResult& r = sweep.result;
    QJsonArray levels;
    for (const SweepLevel& l : r.levels)
        levels.append(levelJson(l));
    const KneeAnalysis& a = r.analysis;
    QJsonArray extended;
    for (int l : r.extendedLevels)
        extended.append(l);
    QJsonObject o{
        {"scenario", words(r.scenarioName)},
        {"mode", words(r.mode)},
        {"options", optionsJson(sweep.options)},
        {"cancelled", r.cancelled},
        {"wall_s", r.wallS},
        {"levels", levels},
        {"knee", QJsonObject{{"concurrency", optionalInt(a.knee)}, {"rule", words(a.kneeNote)}, {"sensitivity", a.sensitivity}}},
        // The throughput curve: where it saturates (the recommendation's first rule), its own bend beside
        // the p95 knee, and the levels a virtual sweep added to get there.
        {"saturation", QJsonObject{{"level", optionalInt(a.saturation)},
                                   {"tolerance", a.saturationTolerance},
                                   {"peak_throughput_rps", a.peakThroughputRps},
                                   {"peak_level", optionalInt(a.peakThroughput)},
                                   {"still_rising", a.stillRising},
                                   {"throughput_knee", QJsonObject{{"concurrency", optionalInt(a.throughputKnee)},
                                                                   {"rule", words(a.throughputKneeNote)}}},
                                   {"extended_levels", extended}}},
        {"alternatives", QJsonObject{{"slo_level", optionalInt(a.sloLevel)},
                                     {"saturation_level", optionalInt(a.saturation)},
                                     {"peak_throughput_level", optionalInt(a.peakThroughput)},
                                     {"throughput_falls_after_peak", a.throughputFallsAfterPeak},
                                     {"best_throughput_per_latency_level", optionalInt(a.bestPower)}}},
        {"recommendation", recommendationJson(r.recommendation)}};
    if (!r.target.empty()) // an endpoint's description: the key's source, never the key
        o.insert("target", QJsonDocument::fromJson(QByteArray::fromStdString(r.target)).object());
    if (r.search)
        o.insert("slo_search", searchJson(*r.search));
    if (r.rateAnalysis)
        o.insert("rate_analysis", rateAnalysisJson(*r.rateAnalysis));
    return o;
}

QJsonObject gridRecord(const SessionGrid& g)
{
    QJsonArray pcs, targets, cells;
    for (int v : g.options.predictConcurrency)
        pcs.append(v);
    for (int v : g.options.targets)
        targets.append(v);
    for (const GridCell& c : g.result.cells)
        cells.append(QJsonObject{{"predict_concurrency", c.predictConcurrency},
                                 {"target", c.target},
                                 {"measured", c.measured},
                                 {"p95_ms", c.measured ? QJsonValue(c.level.latency.p95) : QJsonValue()},
                                 {"throughput_rps", c.measured ? QJsonValue(c.level.throughputRps) : QJsonValue()},
                                 {"stable", c.measured && c.level.stable},
                                 {"level", c.measured ? QJsonValue(levelJson(c.level)) : QJsonValue()}});
    QJsonValue best;
    if (g.result.best) {
        const GridCell& c = g.result.cells[*g.result.best];
        best = QJsonObject{{"predict_concurrency", c.predictConcurrency}, {"target", c.target}, {"cell", qint64(*g.result.best)}};
    }
    QJsonObject o{{"predict_concurrency_levels", pcs},
                  {"targets", targets},
                  {"options", optionsJson(g.options.level)},
                  {"cells", cells},
                  {"cancelled", g.result.cancelled},
                  {"best", best},
                  {"rule", words(g.result.rule)},
                  {"wall_s", g.result.wallS}};
    if (g.sweep >= 0)
        o.insert("sweep", g.sweep);
    return o;
}

const SessionGrid* gridOfSweep(const std::vector<SessionGrid>& grids, std::size_t sweepCount, std::size_t index)
{
    for (auto it = grids.rbegin(); it != grids.rend(); ++it)
        if (it->sweep >= 0 ? std::size_t(it->sweep) == index : index + 1 == sweepCount)
            return &*it;
    return nullptr;
}

std::optional<SessionSweep> readSweepRecord(JsonReader& r, const QJsonObject& o, const QString& path, const Scenario& scenario, int format,
                                            const GridResult* grid)
{
    SessionSweep sw;
    sw.options = readOptions(r, r.object(o, "options", path), path + ".options");
    SweepResult& res = sw.result;
    res.mode = r.text(o, "mode", path).toStdString();
    if (r.ok() && res.mode != "virtual" && res.mode != "live" && res.mode != "http")
        r.fail(path + ".mode", "virtual, live or http (an endpoint)");
    res.scenarioName = r.text(o, format >= 3 ? "scenario" : "scenario_name", path).toStdString();
    if (o.contains("target")) { // an endpoint's description (never a key): kept as it was written
        if (res.mode != "http" || !o.value("target").isObject())
            r.fail(path + ".target", "an object, on an http sweep only");
        else
            res.target = QJsonDocument(o.value("target").toObject()).toJson(QJsonDocument::Compact).toStdString();
    }
    res.cancelled = r.boolean(o, "cancelled", path);
    res.wallS = r.number(o, "wall_s", path, 0, 1e12);
    const QJsonArray levels = r.array(o, "levels", path, 64);
    for (qsizetype k = 0; r.ok() && k < levels.size(); ++k)
        res.levels.push_back(readLevel(r, levels[k].toObject(), path + QStringLiteral(".levels[%1]").arg(k)));
    if (!r.ok())
        return std::nullopt;
    for (SweepLevel& l : res.levels) { // the verdicts against the sweep's own tolerance
        if (l.repeats)
            l.repeats = summarizeRepeats(std::move(l.repeats->runs), sw.options.tolerance);
        settleStates(r, l, sw.options.tolerance, path + ".levels");
        finishOpenLevel(l, l.rateRps, sw.options.tolerance, res.mode == "http");
        if (r.ok() && l.open() != sw.options.rateSweep())
            r.fail(path + ".levels", sw.options.rateSweep() ? "the rate levels its options ask for" : "closed-loop levels, as its options ask");
    }
    const bool searched = sw.options.searchSlo && (sw.options.sloMs > 0 || sw.options.ttftSloMs > 0 || sw.options.itlSloMs > 0);
    if (r.ok() && o.contains("slo_search") != searched)
        r.fail(path + ".slo_search", searched ? "the SLO search its options asked for" : "none: its options asked for no SLO search");
    if (r.ok() && searched) { // recomputed from the levels; the bisection's order, the doubling and the stop are the run's
        const QString sp = path + ".slo_search";
        const QJsonObject so = r.object(o, "slo_search", path);
        auto measured = [&](const char* key) { // levels the search added: each one of the sweep's levels (users: whole numbers)
            std::vector<double> out;
            const QJsonArray list = so.contains(QLatin1String(key)) ? r.array(so, key, sp, 64) : QJsonArray();
            for (qsizetype k = 0; r.ok() && k < list.size(); ++k) {
                const double v = list[k].toDouble(-1);
                if (!(v > 0 && v <= limits::kMaxRateRps) || (!sw.options.rateSweep() && std::floor(v) != v)
                    || std::none_of(res.levels.begin(), res.levels.end(), [&](const SweepLevel& l) { return l.axis() == v; })) {
                    r.fail(sp + "." + key, "levels the sweep measured");
                    return std::vector<double>{};
                }
                out.push_back(v);
            }
            return out;
        };
        const std::vector<double> bisected = measured("bisected"), doubled = measured("doubled");
        const std::string stop = r.text(so, "stop", sp).left(512).toStdString();
        if (r.ok()) {
            res.search = summarizeSloSearch(res.levels, sw.options, bisected, stop, doubled);
            if (!sameOptional(so.value("largest"), res.search->largest))
                r.fail(sp + ".largest", "the largest level its levels give (the file was edited or damaged)");
        }
    }
    analyzeSweep(res, scenario, sw.options);
    if (!sameOptional(r.object(o, "knee", path).value("concurrency"), res.analysis.knee))
        r.fail(path + ".knee", "the knee its levels give (the file was edited or damaged)");
    // The target its levels give, and with a grid the grid's (which then stands): format 3 files, saved
    // before the grid chose the target too, hold the first.
    const int levelsTarget = res.recommendation.concurrencyTarget;
    if (grid && !res.rateAnalysis)
        applyGridChoice(res, *grid, scenario, sw.options);
    const int gridTarget = res.recommendation.concurrencyTarget;
    auto given = [](int target) { return target > 0 ? std::optional<int>(target) : std::nullopt; };
    const QJsonObject rec = r.object(o, "recommendation", path);
    // Format 1 chose the target by an older rule (the p95 knee): the current rule's target stands.
    if (r.ok() && format >= 3) {
        const QJsonValue saved = r.object(rec, "concurrency_target", path + ".recommendation").value("value");
        if (r.ok() && !sameOptional(saved, given(gridTarget)) && (format >= 4 || !sameOptional(saved, given(levelsTarget))))
            r.fail(path + ".recommendation.concurrency_target",
                   grid ? "the target its grid gives (the file was edited or damaged)" : "the target its levels give (the file was edited or damaged)");
    } else if (r.ok() && format == 2) {
        const qint64 saved = r.integer(rec, "concurrency_target", path + ".recommendation", 0, 1e6);
        if (saved != levelsTarget && saved != gridTarget && r.ok())
            r.fail(path + ".recommendation.concurrency_target", "the target its levels give (the file was edited or damaged)");
    }
    if (r.ok() && res.rateAnalysis.has_value() != o.contains("rate_analysis"))
        r.fail(path + ".rate_analysis", res.rateAnalysis ? "the rate analysis of a rate sweep" : "none: not a rate sweep");
    if (r.ok() && res.rateAnalysis
        && !sameOptional(r.object(o, "rate_analysis", path).value("knee_rps"), res.rateAnalysis->knee))
        r.fail(path + ".rate_analysis.knee_rps", "the knee its levels give (the file was edited or damaged)");
    if (r.ok() && format >= 2 && o.contains("saturation")
        && !sameOptional(r.object(o, "saturation", path).value("level"), res.analysis.saturation))
        r.fail(path + ".saturation", "the saturation its levels give (the file was edited or damaged)");
    if (!r.ok())
        return std::nullopt;
    return sw;
}

std::optional<SessionGrid> readGridRecord(JsonReader& r, const QJsonObject& o, const QString& path, int format)
{
    SessionGrid g;
    g.options.predictConcurrency = intList(r, o, "predict_concurrency_levels", path);
    g.options.targets = intList(r, o, "targets", path);
    g.options.level = readOptions(r, r.object(o, "options", path), path + ".options");
    g.result.cancelled = r.boolean(o, "cancelled", path);
    g.result.wallS = r.number(o, "wall_s", path, 0, 1e12);
    if (o.contains("sweep")) // session.cpp checks that the session has it
        g.sweep = int(r.integer(o, "sweep", path, 0, 1e6));
    const QJsonArray cells = r.array(o, "cells", path, 64 * 64);
    for (qsizetype k = 0; r.ok() && k < cells.size(); ++k) {
        const QString cp = path + QStringLiteral(".cells[%1]").arg(k);
        const QJsonObject c = cells[k].toObject();
        GridCell cell;
        cell.predictConcurrency = int(r.integer(c, "predict_concurrency", cp, 1, 1e6));
        cell.target = int(r.integer(c, "target", cp, 1, 1e6));
        cell.measured = r.boolean(c, "measured", cp);
        if (r.ok() && cell.measured && cell.predictConcurrency > cell.target)
            r.fail(cp + ".measured", "false where predict_concurrency is above the target (a grid never runs such a cell)");
        if (r.ok() && cell.measured) {
            cell.level = readLevel(r, r.object(c, "level", cp), cp + ".level");
            if (r.ok())
                settleStates(r, cell.level, g.options.level.tolerance, cp + ".level");
        }
        // Cells come in the order the grid runs them (its predict_concurrency levels, then its targets): where
        // a stopped grid stopped follows from their count (applyGridChoice says so in its rules).
        const std::size_t t = g.options.targets.size(), i = std::size_t(k);
        if (r.ok() && (t == 0 || i / t >= g.options.predictConcurrency.size() || cell.predictConcurrency != g.options.predictConcurrency[i / t]
                       || cell.target != g.options.targets[i % t]))
            r.fail(cp, "the cell the grid's predict_concurrency_levels and targets put here (the file was edited or damaged)");
        g.result.cells.push_back(cell);
    }
    g.result.plannedRows = g.options.predictConcurrency.size();
    g.result.plannedTargets = g.options.targets;
    if (r.ok() && !g.result.cancelled && g.result.cells.size() != g.result.plannedRows * g.result.plannedTargets.size())
        r.fail(path + ".cells", "every cell of its predict_concurrency_levels × targets: the grid was not stopped (the file was edited or damaged)");
    if (!r.ok())
        return std::nullopt;
    chooseGridCell(g.result, g.options.level.sloMs); // recomputed, and must agree with what was saved
    const QJsonValue best = o.value("best");
    const std::optional<int> chosen = g.result.best ? std::optional<int>(int(*g.result.best)) : std::nullopt;
    // Format 3 names the cell ({predict_concurrency, target, cell}); 1 and 2 saved its index.
    const QJsonValue savedCell = format >= 3 && best.isObject() ? best.toObject().value("cell") : best;
    if (!sameOptional(savedCell, chosen))
        r.fail(path + ".best", "the cell its measurements give (the file was edited or damaged)");
    if (!r.ok())
        return std::nullopt;
    return g;
}

} // namespace knee
