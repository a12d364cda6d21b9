#include "simulate_command.h"

#include "commands.h"
#include "summary_format.h"

#include "study/run_summary.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QTextStream>

namespace knee::cli {

int runSimulate(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Run a scenario in virtual time and print what its users get."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario file (YAML)."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Override the workload's random seed."), QStringLiteral("N"));
    parser.addOptions({json, seed});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee simulate: expected exactly one scenario file, got " << positional.size() << "\n"
            << "usage: knee simulate SCENARIO.yaml [--json] [--seed N]\n";
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

    const RunSummary summary = simulateScenario(scenario);
    if (parser.isSet(json)) {
        QJsonObject o = toJson(summary);
        o.insert(QStringLiteral("file"), positional.first());
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << toText(summary);
    }
    return kOk;
}

} // namespace knee::cli
