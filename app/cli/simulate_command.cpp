#include "simulate_command.h"

#include "commands.h"
#include "summary_format.h"

#include "live/live_run.h"
#include "study/run_summary.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QTextStream>

namespace knee::cli {

int runSimulate(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Run a scenario in virtual time (or, with --live, in wall-clock time on the real "
                                                    "predict stage) and print what its users get."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario file (YAML)."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Override the workload's random seed."), QStringLiteral("N"));
    const QCommandLineOption live(QStringLiteral("live"),
                                  QStringLiteral("Run in wall-clock time; with model.profile in the scenario, every predict call is a "
                                                 "forward pass of that model on the GPU (or the CPU, with a notice)."));
    const QCommandLineOption maxWall(QStringLiteral("max-wall-s"), QStringLiteral("--live: stop after this many seconds (default 600)."),
                                     QStringLiteral("S"), QStringLiteral("600"));
    parser.addOptions({json, seed, live, maxWall});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee simulate: expected exactly one scenario file, got " << positional.size() << "\n"
            << "usage: knee simulate SCENARIO.yaml [--json] [--seed N] [--live [--max-wall-s S]]\n";
        return kBadInput;
    }

    if (parser.isSet(maxWall) && !parser.isSet(live)) {
        err << "knee simulate: --max-wall-s limits a --live run; a virtual-time run takes no wall-time limit\n";
        return kBadInput;
    }
    const std::optional<Scenario> read = readScenarioOrReport(positional.first());
    if (!read)
        return kBadInput;
    Scenario scenario = *read;
    if (parser.isSet(seed)) {
        bool ok = false;
        const qulonglong value = parser.value(seed).toULongLong(&ok);
        if (!ok) {
            err << "knee simulate: --seed expects a non-negative integer, got '" << parser.value(seed) << "'\n";
            return kBadInput;
        }
        scenario.workload.seed = value;
    }

    if (!parser.isSet(live)) {
        const RunSummary summary = simulateScenario(scenario);
        if (parser.isSet(json)) {
            QJsonObject o = toJson(summary);
            o.insert(QStringLiteral("file"), positional.first());
            o.insert(QStringLiteral("clock"), QStringLiteral("virtual"));
            out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
        } else {
            if (!scenario.model.profile.empty())
                out << "Virtual time: predict takes the scenario's times; --live runs model '"
                    << QString::fromStdString(scenario.model.profile) << "' itself.\n";
            out << toText(summary);
        }
        return kOk;
    }
    bool ok = false;
    const double maxWallS = parser.value(maxWall).toDouble(&ok);
    if (!ok || !(maxWallS > 0) || maxWallS > 86400) {
        err << "knee simulate: --max-wall-s expects seconds in (0, 86400], got '" << parser.value(maxWall) << "'\n";
        return kBadInput;
    }
    const LiveRunResult result = runLive(scenario, maxWallS);
    if (parser.isSet(json)) {
        QJsonObject o = toJson(result.summary);
        o.insert(QStringLiteral("file"), positional.first());
        o.insert(QStringLiteral("clock"), QStringLiteral("live"));
        o.insert(QStringLiteral("predict_stage"), QString::fromStdString(result.predictStage));
        o.insert(QStringLiteral("real_predict"), result.realPredict);
        o.insert(QStringLiteral("predict_errors"), qint64(result.predictErrors));
        o.insert(QStringLiteral("replica_start_failures"), qint64(result.replicaStartFailures));
        o.insert(QStringLiteral("last_predict_error"), QString::fromStdString(result.lastPredictError));
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << "Live time: " << QString::fromStdString(result.predictStage) << "\n";
        if (result.predictErrors || result.replicaStartFailures)
            out << "Predict errors: " << result.predictErrors << " failed calls, " << result.replicaStartFailures
                << " failed replica starts; last: " << QString::fromStdString(result.lastPredictError) << "\n";
        out << toText(result.summary);
    }
    return kOk;
}

} // namespace knee::cli
