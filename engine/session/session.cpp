#include "session.h"

#include "io/scenario_reader.h"
#include "io/user_file.h"
#include "output_file.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace knee {

namespace {

QJsonValue optionalInt(const std::optional<int>& v) { return v ? QJsonValue(*v) : QJsonValue(); }

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
    return {{"levels", levels},       {"warmup_s", o.warmupS},  {"ttft_slo_ms", o.ttftSloMs}, {"itl_slo_ms", o.itlSloMs},       {"window_s", o.windowS},   {"tolerance", o.tolerance},
            {"min_windows", o.minWindows}, {"cap_s", o.capS},          {"slo_ms", o.sloMs},       {"sensitivity", o.sensitivity},
            {"baseline_rps", o.baselineRps}, {"peak_rps", o.peakRps}, {"buffer", o.buffer},
            {"saturation_tolerance", o.saturationTolerance}, {"extend_limit", o.extendLimit}};
}

QJsonObject levelJson(const SweepLevel& l)
{
    QJsonArray buckets;
    for (const auto& [index, count] : l.histogram.buckets)
        buckets.append(QJsonArray{index, qint64(count)});
    QJsonObject o{{"concurrency", l.concurrency},
            {"latency_ms", latencyJson(l.latency)},
            {"ttft_ms", latencyJson(l.ttft)},
            {"itl_ms", latencyJson(l.itl)},
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
    if (!l.failuresByKind.empty()) { // endpoint sweeps only: engine sessions keep their bytes
        QJsonObject kinds;
        for (const auto& [kind, count] : l.failuresByKind)
            kinds.insert(QString::fromStdString(kind), qint64(count));
        o.insert("failures_by_kind", kinds);
    }
    return o;
}

// Strict reading: every field present with the right type and in range, or the whole load fails
// with the path of the first bad field.
class Reader {
public:
    QString error;
    bool ok() const { return error.isEmpty(); }

    QJsonObject object(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isObject())
            fail(path + "." + key, "an object");
        return v.toObject();
    }
    QJsonArray array(const QJsonObject& o, const char* key, const QString& path, qsizetype maxItems)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isArray() || v.toArray().size() > maxItems)
            fail(path + "." + key, QStringLiteral("a list of at most %1 items").arg(maxItems));
        return v.toArray();
    }
    double number(const QJsonObject& o, const char* key, const QString& path, double lo, double hi)
    {
        if (!ok())
            return 0;
        const QJsonValue v = o.value(QLatin1String(key));
        const double d = v.toDouble(std::nan(""));
        if (!v.isDouble() || !std::isfinite(d) || d < lo || d > hi)
            fail(path + "." + key, QStringLiteral("a number between %1 and %2").arg(lo).arg(hi));
        return d;
    }
    qint64 integer(const QJsonObject& o, const char* key, const QString& path, double lo, double hi)
    {
        const double d = number(o, key, path, lo, hi);
        if (!ok())
            return 0; // d may be NaN (missing, not a number) or out of range: converting it is undefined
        if (std::floor(d) != d) {
            fail(path + "." + key, "a whole number");
            return 0;
        }
        return qint64(d);
    }
    bool boolean(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return false;
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isBool())
            fail(path + "." + key, "true or false");
        return v.toBool();
    }
    QString text(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isString())
            fail(path + "." + key, "text");
        return v.toString();
    }
    void fail(const QString& path, const QString& expected)
    {
        if (ok())
            error = QStringLiteral("%1: expected %2").arg(path, expected);
    }
};

constexpr double kMaxCount = 9e15; // integers beyond 2^53 do not survive JSON doubles

LatencySummaryMs readLatency(Reader& r, const QJsonObject& o, const QString& path)
{
    LatencySummaryMs l;
    l.mean = r.number(o, "mean", path, 0, 1e12);
    l.p50 = r.number(o, "p50", path, 0, 1e12);
    l.p90 = r.number(o, "p90", path, 0, 1e12);
    l.p95 = r.number(o, "p95", path, 0, 1e12);
    l.p99 = r.number(o, "p99", path, 0, 1e12);
    l.p999 = r.number(o, "p99_9", path, 0, 1e12);
    l.max = r.number(o, "max", path, 0, 1e12);
    l.count = r.integer(o, "count", path, 0, kMaxCount);
    return l;
}

SweepLevel readLevel(Reader& r, const QJsonObject& o, const QString& path)
{
    SweepLevel l;
    l.concurrency = int(r.integer(o, "concurrency", path, 1, 1e6));
    l.latency = readLatency(r, r.object(o, "latency_ms", path), path + ".latency_ms");
    if (o.contains("ttft_ms")) // streaming figures; zero when the model does not stream
        l.ttft = readLatency(r, r.object(o, "ttft_ms", path), path + ".ttft_ms");
    if (o.contains("itl_ms"))
        l.itl = readLatency(r, r.object(o, "itl_ms", path), path + ".itl_ms");
    l.throughputRps = r.number(o, "throughput_rps", path, 0, 1e12);
    l.completed = r.integer(o, "completed", path, 0, kMaxCount);
    l.failed = r.integer(o, "failed", path, 0, kMaxCount);
    l.rejected = r.integer(o, "rejected", path, 0, kMaxCount);
    if (o.contains("failures_by_kind")) {
        const QString kp = path + ".failures_by_kind";
        const QJsonObject kinds = r.object(o, "failures_by_kind", path);
        std::int64_t sum = 0;
        for (auto it = kinds.begin(); r.ok() && it != kinds.end(); ++it) {
            const double count = it.value().toDouble(-1);
            if (it.key().isEmpty() || it.key().size() > 32 || count < 0 || count > kMaxCount || std::floor(count) != count)
                r.fail(kp + "." + it.key(), "a whole number of failures");
            else
                sum += l.failuresByKind[it.key().toStdString()] = std::int64_t(count);
        }
        if (r.ok() && sum != l.failed)
            r.fail(kp, "counts that add up to the level's failed requests");
    }
    l.stable = r.boolean(o, "stable", path);
    l.windows = int(r.integer(o, "windows", path, 0, 1e9));
    l.measuredS = r.number(o, "measured_s", path, 0, 1e12);
    const QString hp = path + ".histogram";
    const QJsonObject h = r.object(o, "histogram", path);
    const QJsonArray buckets = r.array(h, "buckets", hp, LatencyHistogram::kBucketCount);
    for (qsizetype i = 0; r.ok() && i < buckets.size(); ++i) {
        const QJsonArray pair = buckets[i].toArray();
        const double index = pair.size() == 2 ? pair[0].toDouble(-1) : -1, count = pair.size() == 2 ? pair[1].toDouble(-1) : -1;
        if (index < 0 || index >= LatencyHistogram::kBucketCount || std::floor(index) != index || count < 1 || count > kMaxCount
            || std::floor(count) != count)
            r.fail(hp + QStringLiteral(".buckets[%1]").arg(i), "[bucket index, count > 0]");
        else
            l.histogram.buckets.emplace_back(int(index), std::uint64_t(count));
    }
    l.histogram.count = r.integer(h, "count", hp, 0, kMaxCount);
    l.histogram.min = r.integer(h, "min_ns", hp, 0, 9e18);
    l.histogram.max = r.integer(h, "max_ns", hp, 0, 9e18);
    l.histogram.sum = r.number(h, "sum_ns", hp, 0, 1e30);
    if (r.ok()) {
        LatencyHistogram check;
        if (!check.fromSparse(l.histogram))
            r.fail(hp, "a histogram whose counts add up and whose min is not above its max");
    }
    return l;
}

std::vector<int> intList(Reader& r, const QJsonObject& o, const char* key, const QString& path)
{
    std::vector<int> out;
    for (const QJsonValue& v : r.array(o, key, path, 64)) {
        const double d = v.toDouble(-1);
        if (d < 1 || d > 1e6 || std::floor(d) != d)
            r.fail(path + "." + key, "whole numbers >= 1");
        out.push_back(int(d));
    }
    return out;
}

SweepOptions readOptions(Reader& r, const QJsonObject& opt, const QString& op)
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
    return o;
}

} // namespace

QByteArray serializeSession(const Session& s)
{
    QJsonArray sweeps;
    for (const SessionSweep& sw : s.sweeps) {
        const SweepResult& r = sw.result;
        QJsonArray levels;
        for (const SweepLevel& l : r.levels)
            levels.append(levelJson(l));
        const Recommendation& rec = r.recommendation;
        QJsonObject recommendation{{"concurrency_target", rec.concurrencyTarget},
                                   {"concurrency_target_rule", QString::fromStdString(rec.concurrencyTargetRule)},
                                   {"concurrency_target_basis", QString::fromStdString(rec.concurrencyTargetBasis)},
                                   {"predict_concurrency", rec.predictConcurrency},
                                   {"predict_concurrency_rule", QString::fromStdString(rec.predictConcurrencyRule)},
                                   {"throughput_at_target_rps", rec.throughputAtTargetRps}};
        if (rec.replicas)
            recommendation.insert("replicas", QJsonObject{{"min", rec.replicas->minReplicas},
                                                          {"max", rec.replicas->maxReplicas},
                                                          {"min_rule", QString::fromStdString(rec.replicas->minRule)},
                                                          {"max_rule", QString::fromStdString(rec.replicas->maxRule)}});
        const KneeAnalysis& a = r.analysis;
        QJsonArray extended;
        for (int l : r.extendedLevels)
            extended.append(l);
        QJsonObject sweepJson{
            {"mode", QString::fromStdString(r.mode)},
            {"scenario_name", QString::fromStdString(r.scenarioName)},
            {"options", optionsJson(sw.options)},
            {"cancelled", r.cancelled},
            {"wall_s", r.wallS},
            {"levels", levels},
            {"knee", QJsonObject{{"concurrency", optionalInt(a.knee)}, {"rule", QString::fromStdString(a.kneeNote)}}},
            {"saturation", QJsonObject{{"level", optionalInt(a.saturation)},
                                       {"tolerance", a.saturationTolerance},
                                       {"peak_throughput_rps", a.peakThroughputRps},
                                       {"still_rising", a.stillRising},
                                       {"throughput_knee", optionalInt(a.throughputKnee)},
                                       {"throughput_knee_rule", QString::fromStdString(a.throughputKneeNote)},
                                       {"extended_levels", extended}}},
            {"alternatives", QJsonObject{{"slo_level", optionalInt(a.sloLevel)},
                                         {"saturation_level", optionalInt(a.saturation)},
                                         {"peak_throughput_level", optionalInt(a.peakThroughput)},
                                         {"throughput_falls_after_peak", a.throughputFallsAfterPeak},
                                         {"best_throughput_per_latency_level", optionalInt(a.bestPower)}}},
            {"recommendation", recommendation}};
        if (!r.target.empty()) // endpoint sweeps only: engine sessions keep their bytes
            sweepJson.insert("target", QJsonDocument::fromJson(QByteArray::fromStdString(r.target)).object());
        sweeps.append(sweepJson);
    }
    QJsonArray grids;
    for (const SessionGrid& g : s.grids) {
        QJsonArray pcs, targets, cells;
        for (int v : g.options.predictConcurrency)
            pcs.append(v);
        for (int v : g.options.targets)
            targets.append(v);
        for (const GridCell& c : g.result.cells)
            cells.append(QJsonObject{{"predict_concurrency", c.predictConcurrency},
                                     {"target", c.target},
                                     {"measured", c.measured},
                                     {"level", c.measured ? QJsonValue(levelJson(c.level)) : QJsonValue()}});
        grids.append(QJsonObject{{"predict_concurrency_levels", pcs},
                                 {"targets", targets},
                                 {"options", optionsJson(g.options.level)},
                                 {"cells", cells},
                                 {"cancelled", g.result.cancelled},
                                 {"best", g.result.best ? QJsonValue(qint64(*g.result.best)) : QJsonValue()},
                                 {"rule", QString::fromStdString(g.result.rule)},
                                 {"wall_s", g.result.wallS}});
    }
    QJsonObject root{{"format", "knee-session"},
                     {"version", Session::kFormatVersion},
                     {"scenario_yaml", s.scenarioYaml},
                     {"scenario_source", s.scenarioSource},
                     {"notes", s.notes},
                     {"sweeps", sweeps}};
    if (!grids.isEmpty())
        root.insert("grids", grids);
    return QJsonDocument(root).toJson(QJsonDocument::Indented); // keys sorted: the same session gives the same bytes
}

SessionLoad parseSession(const QByteArray& bytes, const QString& source)
{
    SessionLoad out;
    if (bytes.size() > kMaxSessionBytes) {
        out.error = QStringLiteral("%1 is larger than 64 MiB: not a knee session").arg(source);
        return out;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        out.error = QStringLiteral("%1 is damaged or not a knee session (%2 at byte %3); nothing was loaded")
                        .arg(source, pe.error != QJsonParseError::NoError ? pe.errorString() : QStringLiteral("not a JSON object"))
                        .arg(pe.offset);
        return out;
    }
    const QJsonObject root = doc.object();
    if (root.value("format").toString() != QLatin1String("knee-session")) {
        out.error = QStringLiteral("%1 is not a knee session (no \"format\": \"knee-session\"); nothing was loaded").arg(source);
        return out;
    }
    const int version = root.value("version").toInt(-1);
    if (version > Session::kFormatVersion) {
        out.error = QStringLiteral("%1 was saved by a newer knee (session format %2; this knee reads up to %3): update knee to open it")
                        .arg(source)
                        .arg(version)
                        .arg(Session::kFormatVersion);
        return out;
    }
    if (version < 1) {
        out.error = QStringLiteral("%1 has no valid session format version; nothing was loaded").arg(source);
        return out;
    }
    Reader r;
    Session s;
    s.scenarioYaml = r.text(root, "scenario_yaml", "session");
    s.scenarioSource = r.text(root, "scenario_source", "session");
    s.notes = r.text(root, "notes", "session");
    if (r.ok()) { // the scenario must still read: a session is only as good as what it was run on
        const ScenarioReadResult read = readScenarioText(s.scenarioYaml.toStdString(), "session scenario");
        if (!read.ok())
            r.fail("session.scenario_yaml", "a valid scenario (" + QString::fromStdString(read.errors.front().toString()) + ")");
    }
    const QJsonArray sweeps = r.array(root, "sweeps", "session", 1000);
    for (qsizetype i = 0; r.ok() && i < sweeps.size(); ++i) {
        const QString path = QStringLiteral("session.sweeps[%1]").arg(i);
        const QJsonObject o = sweeps[i].toObject();
        SessionSweep sw;
        sw.options = readOptions(r, r.object(o, "options", path), path + ".options");
        SweepResult& res = sw.result;
        res.mode = r.text(o, "mode", path).toStdString();
        if (r.ok() && res.mode != "virtual" && res.mode != "live" && res.mode != "http")
            r.fail(path + ".mode", "virtual, live or http (an endpoint)");
        res.scenarioName = r.text(o, "scenario_name", path).toStdString();
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
            break;
        // The analysis and recommendation are recomputed from the levels, so a hand-edited session
        // cannot show a knee its own data does not have; the saved ones must agree with them.
        const ScenarioReadResult scenario = readScenarioText(s.scenarioYaml.toStdString(), "session scenario");
        analyzeSweep(res, *scenario.scenario, sw.options);
        const QJsonObject knee = r.object(o, "knee", path);
        const QJsonValue savedKnee = knee.value("concurrency");
        if (r.ok() && (savedKnee.isNull() ? res.analysis.knee.has_value() : savedKnee.toInt(-1) != res.analysis.knee.value_or(-2)))
            r.fail(path + ".knee", "the knee its levels give (the file was edited or damaged)");
        const QJsonObject rec = r.object(o, "recommendation", path);
        const qint64 savedTarget = r.integer(rec, "concurrency_target", path + ".recommendation", 0, 1e6);
        // Version 1 chose the target by an older rule (the p95 knee): the current rule's target stands.
        if (r.ok() && version >= 2 && savedTarget != res.recommendation.concurrencyTarget)
            r.fail(path + ".recommendation.concurrency_target", "the target its levels give (the file was edited or damaged)");
        if (r.ok() && version >= 2 && o.contains("saturation")) {
            const QJsonValue saved = r.object(o, "saturation", path).value("level");
            if (saved.isNull() ? res.analysis.saturation.has_value() : saved.toInt(-1) != res.analysis.saturation.value_or(-2))
                r.fail(path + ".saturation", "the saturation its levels give (the file was edited or damaged)");
        }
        s.sweeps.push_back(std::move(sw));
    }
    if (r.ok() && root.contains("grids")) {
        const QJsonArray grids = r.array(root, "grids", "session", 1000);
        for (qsizetype i = 0; r.ok() && i < grids.size(); ++i) {
            const QString path = QStringLiteral("session.grids[%1]").arg(i);
            const QJsonObject o = grids[i].toObject();
            SessionGrid g;
            g.options.predictConcurrency = intList(r, o, "predict_concurrency_levels", path);
            g.options.targets = intList(r, o, "targets", path);
            g.options.level = readOptions(r, r.object(o, "options", path), path + ".options");
            g.result.cancelled = r.boolean(o, "cancelled", path);
            g.result.wallS = r.number(o, "wall_s", path, 0, 1e12);
            const QJsonArray cells = r.array(o, "cells", path, 64 * 64);
            for (qsizetype k = 0; r.ok() && k < cells.size(); ++k) {
                const QString cp = path + QStringLiteral(".cells[%1]").arg(k);
                const QJsonObject c = cells[k].toObject();
                GridCell cell;
                cell.predictConcurrency = int(r.integer(c, "predict_concurrency", cp, 1, 1e6));
                cell.target = int(r.integer(c, "target", cp, 1, 1e6));
                cell.measured = r.boolean(c, "measured", cp);
                if (r.ok() && cell.measured)
                    cell.level = readLevel(r, r.object(c, "level", cp), cp + ".level");
                g.result.cells.push_back(cell);
            }
            if (!r.ok())
                break;
            chooseGridCell(g.result, g.options.level.sloMs); // recomputed, and must agree with what was saved
            const QJsonValue best = o.value("best");
            if (best.isNull() ? g.result.best.has_value() : qint64(best.toDouble(-1)) != qint64(g.result.best.value_or(~std::size_t(0))))
                r.fail(path + ".best", "the cell its measurements give (the file was edited or damaged)");
            s.grids.push_back(std::move(g));
        }
    }
    if (!r.ok()) {
        out.error = QStringLiteral("%1 is damaged: %2; nothing was loaded").arg(source, r.error);
        return out;
    }
    out.session = std::move(s);
    return out;
}

QString saveSession(const Session& session, const QString& path)
{
    return writeOutputFile(path, serializeSession(session)); // whole or not at all; the old file kept on failure
}

SessionLoad loadSession(const QString& path)
{
    io::UserFileRead read = io::readUserFile(QFile::encodeName(path).toStdString(), io::kSessionFile);
    if (!read.ok())
        return {std::nullopt, QStringLiteral("cannot open %1: %2").arg(path, QString::fromStdString(read.error))};
    return parseSession(QByteArray::fromStdString(read.bytes), path);
}

} // namespace knee
