#include "import_command.h"

#include "commands.h"

#include "io/scenario_reader.h"
#include "net/http_sweep.h"
#include "net/k6_import.h"
#include "net/locust_sweep.h"
#include "session/output_file.h"
#include "session/session.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

namespace knee::cli {

int runImport(const QStringList& args)
{
    QCommandLineParser parser;
    describeCommand(parser, Positional::None,
                    QStringLiteral("Import a load generator's per-request records into a session (knee report and the window open it)."));
    const QCommandLineOption locust(QStringLiteral("locust"),
                                    QStringLiteral("The files are knee's Locust spool (knee sweep --load-generator locust --locust-spool DIR)."));
    const QCommandLineOption k6(QStringLiteral("k6"),
                                QStringLiteral("The files are k6's JSON output (k6 run --out json=FILE): a level per scenario, its users from the vus gauge."));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the session here (required)."), QStringLiteral("SESSION.json"));
    const QCommandLineOption warmup(QStringLiteral("warmup-s"), QStringLiteral("Warm-up per level, as the sweep's (default 10)."), QStringLiteral("S"));
    const QCommandLineOption window(QStringLiteral("window-s"), QStringLiteral("Shortest measurement window (default 10)."), QStringLiteral("S"));
    const QCommandLineOption slo(QStringLiteral("slo-ms"), QStringLiteral("Latency SLO on p95, ms."), QStringLiteral("MS"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the sweep record on stdout."));
    parser.addOptions({locust, k6, outOpt, warmup, window, slo, json});
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Locust: the spool's JSONL files (worker-K.jsonl); k6: its JSON output files."), QStringLiteral("FILE…"));
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    QTextStream out(stdout), err(stderr);
    const QStringList files = parser.positionalArguments();
    if (parser.isSet(locust) == parser.isSet(k6)) {
        err << "knee import: say what the files are: --locust or --k6\n";
        return kBadInput;
    }
    const bool fromK6 = parser.isSet(k6);
    if (files.isEmpty() || !parser.isSet(outOpt)) {
        err << "knee import: give the " << (fromK6 ? "k6 JSON" : "spool") << " files and --out SESSION.json\n";
        return kBadInput;
    }
    if (const QString why = checkOutputFile(parser.value(outOpt)); !why.isEmpty()) {
        err << "knee import: --out " << parser.value(outOpt) << ": " << why << "\n";
        return kBadInput;
    }
    SweepOptions options;
    for (const auto& [o, into, lo] : {std::tuple{&warmup, &options.warmupS, 0.0}, std::tuple{&window, &options.windowS, 0.01},
                                      std::tuple{&slo, &options.sloMs, 1e-6}}) {
        if (!parser.isSet(*o))
            continue;
        QString error;
        const auto v = numberOption(parser, *o, lo, 1e9, error);
        if (!v) {
            err << "knee import: " << error << "\n";
            return kBadInput;
        }
        *into = *v;
    }
    const Scenario scenario = net::endpointScenario(fromK6 ? QStringLiteral("k6 import") : QStringLiteral("locust import"));
    QString error;
    SessionSweep sweep{options, fromK6 ? net::importK6Json(files, scenario, options, error) : net::importLocustSpool(files, scenario, options, error)};
    if (!error.isEmpty()) {
        err << "knee import: " << error << "; nothing written\n";
        return kBadInput;
    }
    sweep.options.levels.clear();
    sweep.options.rates.clear();
    sweep.options.repeats = 1;
    for (const SweepLevel& l : sweep.result.levels) {
        if (l.repeats) // a sweep run with --repeats: each level's repeats were merged
            sweep.options.repeats = int(l.repeats->runs.size());
        if (l.open()) // a Locust rate sweep's spool
            sweep.options.rates.push_back(l.rateRps);
        else
            sweep.options.levels.push_back(l.concurrency);
    }
    Session session;
    session.scenarioYaml = QString::fromStdString(writeScenarioYaml(scenario));
    session.scenarioSource = files.join(QStringLiteral(", "));
    session.notes = (fromK6 ? QStringLiteral("Imported from k6's JSON output: %1") : QStringLiteral("Imported from Locust's spool: %1"))
                        .arg(files.join(QStringLiteral(", ")));
    session.sweeps.push_back(sweep);
    if (const QString why = saveSession(session, parser.value(outOpt)); !why.isEmpty()) {
        err << "knee import: --out " << parser.value(outOpt) << ": " << why << "\n";
        return kFailure;
    }
    if (parser.isSet(json)) {
        out << QJsonDocument(sweepRecord(sweep)).toJson(QJsonDocument::Compact) << "\n";
        return kOk;
    }
    out << "Imported " << sweep.result.levels.size() << " levels into " << parser.value(outOpt) << ":\n";
    for (const SweepLevel& l : sweep.result.levels)
        out << QStringLiteral("%1: p50 %2 ms, p95 %3 ms, %4 req/s, %5 completed, %6 failed%7\n")
                   .arg(l.open() ? QStringLiteral("%1 req/s asked").arg(l.rateRps) : QStringLiteral("%1 users").arg(l.concurrency))
                   .arg(l.latency.p50, 0, 'f', 1)
                   .arg(l.latency.p95, 0, 'f', 1)
                   .arg(l.throughputRps, 0, 'f', 1)
                   .arg(l.completed)
                   .arg(l.failed)
                   .arg((l.stable ? QString() : QStringLiteral(", did not stabilise")) + (l.behind ? QStringLiteral(", the load generator fell behind") : QString()));
    const Recommendation& rec = sweep.result.recommendation;
    out << "Recommended concurrency_target: " << (rec.concurrencyTarget > 0 ? QString::number(rec.concurrencyTarget) : QStringLiteral("none")) << " ("
        << QString::fromStdString(rec.concurrencyTargetRule) << ")\n";
    return kOk;
}

} // namespace knee::cli
