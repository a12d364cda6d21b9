#include "sweep_outputs.h"

#include "commands.h"

#include "io/truss_config.h"
#include "session/output_file.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QTextStream>

#include <optional>
#include <vector>

namespace knee::cli {

namespace {

struct Target {
    const char* flag;
    QString path;
};

std::vector<Target> targetsOf(const SweepOutputs& o)
{
    std::vector<Target> out;
    for (const Target& t : {Target{"--out", o.session}, Target{"--csv", o.csv}, Target{"--export", o.trussConfig},
                            Target{"--export-autoscaling", o.autoscaling}, Target{"--export-knative", o.knative}})
        if (!t.path.isEmpty())
            out.push_back(t);
    return out;
}

// The same file under two flags: the second write would silently replace the first.
QString sameFile(const QString& path)
{
    const QFileInfo info(path);
    return info.exists() ? info.canonicalFilePath() : info.absoluteFilePath();
}

} // namespace

QStringList checkSweepOutputs(const SweepOutputs& outputs)
{
    QStringList problems;
    const std::vector<Target> targets = targetsOf(outputs);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const Target& t = targets[i];
        // The config is read and edited in a dry run too: a file that cannot be edited is known now.
        const QString problem = QLatin1String(t.flag) == QLatin1String("--export") ? checkTrussConfigExport(t.path) : checkOutputFile(t.path);
        if (!problem.isEmpty())
            problems << QStringLiteral("%1: %2").arg(QLatin1String(t.flag), problem);
        for (std::size_t j = 0; j < i; ++j)
            if (sameFile(targets[j].path) == sameFile(t.path))
                problems << QStringLiteral("%1 and %2 name the same file, %3").arg(QLatin1String(targets[j].flag), QLatin1String(t.flag), t.path);
    }
    return problems;
}

int writeSweepOutputs(const SweepOutputs& outputs, const SweepResult& r, const Scenario& scenario, const Session& session,
                      QJsonObject& exports, QTextStream& err)
{
    QJsonArray notWritten;
    auto failed = [&](const char* flag, const QString& path, const QString& why) {
        err << "knee sweep: " << flag << ": " << why << "\n";
        notWritten.append(QJsonObject{{"flag", QLatin1String(flag)}, {"path", path}, {"error", why}});
    };
    const Recommendation& rec = r.recommendation;
    if (!outputs.trussConfig.isEmpty()) {
        const TrussFileExport e = exportIntoTrussConfig(outputs.trussConfig, rec.predictConcurrency, scenario.name);
        for (const QString& n : e.notes)
            err << "knee sweep: " << outputs.trussConfig << ": " << n << "\n";
        if (!e.error.isEmpty())
            failed("--export", outputs.trussConfig, e.error);
        exports.insert("config_yaml", QJsonObject{{"path", outputs.trussConfig},
                                                  {"predict_concurrency_written", e.predictConcurrencyWritten},
                                                  {"notes", QJsonArray::fromStringList(e.notes)},
                                                  {"error", e.error}});
    }
    std::optional<AutoscalingSettings> settings;
    if (rec.concurrencyTarget > 0)
        settings = autoscalingSettings(scenario.deployment, rec.concurrencyTarget,
                                       rec.replicas ? std::optional(rec.replicas->minReplicas) : std::nullopt,
                                       rec.replicas ? std::optional(rec.replicas->maxReplicas) : std::nullopt);
    const QString noTarget = QStringLiteral("no concurrency target to export: no level was usable");
    if (!outputs.autoscaling.isEmpty()) {
        const QString e = settings ? writeOutputFile(outputs.autoscaling, QByteArray::fromStdString(basetenAutoscalingJson(*settings))) : noTarget;
        if (e.isEmpty())
            exports.insert("baseten_autoscaling", outputs.autoscaling);
        else
            failed("--export-autoscaling", outputs.autoscaling, e);
    }
    if (!outputs.knative.isEmpty()) {
        const QString e = settings ? writeOutputFile(outputs.knative, QByteArray::fromStdString(knativeServiceYaml(*settings, scenario.name))) : noTarget;
        if (e.isEmpty())
            exports.insert("knative_service", outputs.knative);
        else
            failed("--export-knative", outputs.knative, e);
    }
    if (!outputs.csv.isEmpty()) {
        if (const QString e = writeOutputFile(outputs.csv, QByteArray::fromStdString(sweepPointsCsv(r))); e.isEmpty())
            exports.insert("csv", outputs.csv);
        else
            failed("--csv", outputs.csv, e);
    }
    if (!outputs.session.isEmpty()) {
        if (const QString e = saveSession(session, outputs.session); e.isEmpty())
            exports.insert("session", outputs.session);
        else
            failed("--out", outputs.session, e);
    }
    if (notWritten.isEmpty())
        return kOk;
    exports.insert("not_written", notWritten);
    QStringList flags;
    for (const QJsonValue& v : notWritten)
        flags << v.toObject()["flag"].toString();
    const std::size_t asked = targetsOf(outputs).size();
    if (std::size_t(notWritten.size()) == asked)
        err << "knee sweep: the sweep ran, but none of its outputs could be written (" << flags.join(QStringLiteral(", ")) << ")\n";
    else
        err << "knee sweep: the sweep ran, but " << notWritten.size() << " of " << asked << " outputs could not be written ("
            << flags.join(QStringLiteral(", ")) << "); the others were\n";
    return kFailure;
}

} // namespace knee::cli
