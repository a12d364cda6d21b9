// Shared by the scenario reader and writer tests: a valid base scenario that rows edit line by
// line, a field-by-field comparison of scenarios, and small helpers.
#pragma once
#include "io/scenario_reader.h"

#include <QFile>
#include <QList>
#include <QString>
#include <QStringList>

namespace knee::test {

inline const QString kData = QStringLiteral(KNEE_TEST_DATA "/scenarios/");

// A valid scenario; malformed rows replace one of its numbered lines.
inline const QByteArray kBase = "deployment:\n" // 1
                                "  replicas: {min: 1, max: 2}\n" // 2
                                "  concurrency_target: 4\n" // 3
                                "  predict_concurrency: 2\n" // 4
                                "model:\n" // 5
                                "  predict: {dist: exponential, mean_ms: 10}\n" // 6
                                "workload:\n" // 7
                                "  arrival: {kind: poisson, rate_rps: 100}\n" // 8
                                "  requests: 1000\n" // 9
                                "  seed: 42\n"; // 10

// kBase with lines first..last (1-based) replaced by `text`: several lines, or none when empty.
inline QByteArray replaced(int first, int last, const QByteArray& text)
{
    QList<QByteArray> lines = kBase.split('\n');
    lines.removeLast(); // after the final newline
    lines.remove(first - 1, last - first + 1);
    if (!text.isEmpty())
        lines.insert(first - 1, text);
    return lines.join('\n') + '\n';
}
inline QByteArray replaced(int line, const QByteArray& text)
{
    return replaced(line, line, text);
}
inline QByteArray appended(const QByteArray& text)
{
    return kBase + text;
}

inline QByteArray readFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open test data %s", qPrintable(path));
    return f.readAll();
}

inline QString allErrors(const ScenarioReadResult& r)
{
    QStringList lines;
    for (const auto& e : r.errors)
        lines << QString::fromStdString(e.toString());
    return lines.join('\n');
}

inline ScenarioReadResult read(const QByteArray& yaml, const std::string& name = "test.yaml")
{
    return readScenarioText(yaml.toStdString(), name);
}

// Field-by-field comparison: "" when equal, else every difference.
inline void diffDistribution(QStringList& out, const QString& path, const Distribution& a, const Distribution& b)
{
    if (a.kind != b.kind)
        out << path + ".kind";
    if (a.meanMs != b.meanMs)
        out << path + QStringLiteral(".meanMs %1 vs %2").arg(a.meanMs).arg(b.meanMs);
    if (a.sigma != b.sigma)
        out << path + ".sigma";
    if (a.spreadMs != b.spreadMs)
        out << path + ".spreadMs";
    if (a.valuesMs != b.valuesMs)
        out << path + ".valuesMs";
    if (a.weights != b.weights)
        out << path + ".weights";
    if (a.perInstant != b.perInstant)
        out << path + ".perInstant";
}

inline QString scenarioDiff(const Scenario& a, const Scenario& b)
{
    QStringList out;
    auto check = [&](bool same, const char* what) {
        if (!same)
            out << QString::fromLatin1(what);
    };
    check(a.name == b.name, "name");
    const auto &da = a.deployment, &db = b.deployment;
    check(da.minReplicas == db.minReplicas, "minReplicas");
    check(da.maxReplicas == db.maxReplicas, "maxReplicas");
    check(da.initialReplicas == db.initialReplicas, "initialReplicas");
    check(da.concurrencyTarget == db.concurrencyTarget, "concurrencyTarget");
    check(da.predictConcurrency == db.predictConcurrency, "predictConcurrency");
    check(da.coldStartS == db.coldStartS, "coldStartS");
    check(da.queueLimit == db.queueLimit, "queueLimit");
    diffDistribution(out, "preprocess", a.model.preprocess, b.model.preprocess);
    diffDistribution(out, "predict", a.model.predict, b.model.predict);
    diffDistribution(out, "postprocess", a.model.postprocess, b.model.postprocess);
    check(a.model.predictFailureRate == b.model.predictFailureRate, "predictFailureRate");
    check(a.model.predictTable.order == b.model.predictTable.order && a.model.predictTable.tailMs == b.model.predictTable.tailMs, "predictTable.order/tailMs");
    check(a.model.predictTable.deviceMs == b.model.predictTable.deviceMs && a.model.predictTable.deviceMsShared == b.model.predictTable.deviceMsShared,
          "predictTable.deviceMs");
    check(a.model.predictTable.variationShared == b.model.predictTable.variationShared, "predictTable.variationShared");
    check(a.model.predictTable.engineThreadMs == b.model.predictTable.engineThreadMs
              && a.model.predictTable.engineThreadWakeMs == b.model.predictTable.engineThreadWakeMs,
          "predictTable.engineThreadMs/engineThreadWakeMs");
    check(a.model.profile == b.model.profile, "profile");
    const auto &wa = a.workload, &wb = b.workload;
    check(wa.arrival.kind == wb.arrival.kind, "arrival.kind");
    check(wa.arrival.rateRps == wb.arrival.rateRps, "arrival.rateRps");
    check(wa.arrival.users == wb.arrival.users, "arrival.users");
    diffDistribution(out, "think", wa.arrival.think, wb.arrival.think);
    check(wa.requests == wb.requests, "requests");
    check(wa.durationS == wb.durationS, "durationS");
    check(wa.warmupS == wb.warmupS, "warmupS");
    check(wa.seed == wb.seed, "seed");
    diffDistribution(out, "requestSize", wa.requestSize, wb.requestSize);
    check(wa.arrival.spikeRps == wb.arrival.spikeRps && wa.arrival.spikeAtS == wb.arrival.spikeAtS
              && wa.arrival.spikeDurationS == wb.arrival.spikeDurationS,
          "arrival.spike");
    check(wa.arrival.baselineRps == wb.arrival.baselineRps && wa.arrival.peakRps == wb.arrival.peakRps
              && wa.arrival.periodS == wb.arrival.periodS && wa.arrival.peakAtS == wb.arrival.peakAtS,
          "arrival.diurnal");
    check(wa.arrival.steps.size() == wb.arrival.steps.size(), "arrival.steps");
    for (std::size_t i = 0; i < std::min(wa.arrival.steps.size(), wb.arrival.steps.size()); ++i)
        check(wa.arrival.steps[i].atS == wb.arrival.steps[i].atS && wa.arrival.steps[i].rateRps == wb.arrival.steps[i].rateRps,
              "arrival.steps[i]");
    check(wa.arrival.traceFile == wb.arrival.traceFile && wa.arrival.trace.size() == wb.arrival.trace.size(), "arrival.trace");
    const auto &aa = da.autoscaler, &ab = db.autoscaler;
    check(aa.policy == ab.policy && aa.evaluationIntervalS == ab.evaluationIntervalS && aa.targetUtilization == ab.targetUtilization
              && aa.windowS == ab.windowS && aa.scaleDownDelayS == ab.scaleDownDelayS && aa.maxScaleDownRate == ab.maxScaleDownRate
              && aa.panicWindowPercent == ab.panicWindowPercent && aa.panicThresholdPercent == ab.panicThresholdPercent
              && aa.scaleToZeroGraceS == ab.scaleToZeroGraceS && aa.maxScaleUpRate == ab.maxScaleUpRate
              && aa.knativeMaxScaleDownRate == ab.knativeMaxScaleDownRate,
          "autoscaler");
    const auto &ma = da.modifier, &mb = db.modifier;
    check(ma.kind == mb.kind && ma.fixed == mb.fixed && ma.engineMax == mb.engineMax && ma.initialLimit == mb.initialLimit
              && ma.minLimit == mb.minLimit && ma.maxLimit == mb.maxLimit && ma.tolerance == mb.tolerance && ma.smoothing == mb.smoothing,
          "concurrency modifier");
    check(da.costPerReplicaHour == db.costPerReplicaHour, "costPerReplicaHour");
    const auto &ba = a.model.batching, &bb = b.model.batching;
    check(ba.mode == bb.mode && ba.maxSequences == bb.maxSequences && ba.prefillMs == bb.prefillMs, "batching");
    check(a.twin.has_value() == b.twin.has_value(), "twin");
    if (a.twin && b.twin) {
        const TwinSource &ta = *a.twin, &tb = *b.twin;
        check(ta.endpoint == tb.endpoint && ta.mode == tb.mode && ta.measuredAt == tb.measuredAt && ta.fittedAt == tb.fittedAt
                  && ta.session == tb.session && ta.levels == tb.levels && ta.notes == tb.notes,
              "twin source");
        for (auto [ea, eb] : {std::pair{&ta.replay, &tb.replay}, std::pair{&ta.crossValidation, &tb.crossValidation}})
            check(ea->concurrency == eb->concurrency && ea->throughputPct == eb->throughputPct && ea->p50Pct == eb->p50Pct
                      && ea->p95Pct == eb->p95Pct && ea->ttftP50Pct == eb->ttftP50Pct && ea->ttftP95Pct == eb->ttftP95Pct
                      && ea->itlP50Pct == eb->itlP50Pct,
                  "twin errors");
    }
    check(a.changes.size() == b.changes.size(), "changes.size");
    for (std::size_t i = 0; i < std::min(a.changes.size(), b.changes.size()); ++i) {
        const KnobChange &ca = a.changes[i], &cb = b.changes[i];
        if (ca.atS != cb.atS || ca.concurrencyTarget != cb.concurrencyTarget || ca.predictConcurrency != cb.predictConcurrency
            || ca.minReplicas != cb.minReplicas || ca.maxReplicas != cb.maxReplicas || ca.rateRps != cb.rateRps
            || ca.users != cb.users)
            out << QStringLiteral("changes[%1]").arg(i);
    }
    return out.join(", ");
}

// An alias bomb: `levels` anchors, each a list of ten aliases to the one before (10^levels leaves
// if anything expanded it), under top-level keys that are not part of the format.
inline QByteArray aliasBomb(int levels)
{
    QByteArray out = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i <= levels; ++i) {
        QByteArray alias = "*a" + QByteArray::number(i - 1);
        QByteArrayList ten(10, alias);
        out += "a" + QByteArray::number(i) + ": &a" + QByteArray::number(i) + " [" + ten.join(", ") + "]\n";
    }
    return out;
}

} // namespace knee::test
