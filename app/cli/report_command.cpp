#include "report_command.h"

#include "commands.h"

#include "report/report.h"
#include "session/output_file.h"
#include "session/session.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

namespace knee::cli {

int runReport(const QStringList& args)
{
    QCommandLineParser parser;
    describeCommand(parser, Positional::None, QStringLiteral("Write a saved session as one self-contained HTML report."));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the report here (required)."), QStringLiteral("REPORT.html"));
    const QCommandLineOption sweepOpt(QStringLiteral("sweep"), QStringLiteral("Which of the session's sweeps, from 1 (default: the last)."),
                                      QStringLiteral("N"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    parser.addOptions({outOpt, sweepOpt, json});
    parser.addPositionalArgument(QStringLiteral("session"), QStringLiteral("A session saved by the window or `knee sweep --out`."),
                                 QStringLiteral("SESSION.json"));
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    QTextStream err(stderr);
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee report: give one SESSION.json (see knee report --help)\n";
        return kBadInput;
    }
    if (!parser.isSet(outOpt)) {
        err << "knee report: --out REPORT.html is required\n";
        return kBadInput;
    }
    const QString out = parser.value(outOpt);
    if (const QString problem = checkOutputFile(out); !problem.isEmpty()) {
        err << "knee report: --out: " << problem << "\n";
        return kBadInput;
    }
    const SessionLoad load = loadSession(positional.first());
    if (!load.session) {
        err << "knee report: " << load.error << "\n";
        return kBadInput;
    }
    const int sweeps = int(load.session->sweeps.size());
    if (sweeps == 0) {
        err << "knee report: " << positional.first() << " holds no sweep to report\n";
        return kBadInput;
    }
    QString problem;
    const std::optional<std::size_t> picked = sweepIndexOption(parser, sweepOpt, std::size_t(sweeps), problem);
    if (!picked) {
        err << "knee report: " << problem << "\n";
        return kBadInput;
    }
    const int index = int(*picked);
    const QByteArray html =
        report::sessionReportHtml(*load.session, report::ReportContext::thisMachine(QFileInfo(positional.first()).fileName()), index);
    if (const QString e = writeOutputFile(out, html); !e.isEmpty()) {
        err << "knee report: " << e << "\n";
        return kFailure;
    }
    const SweepResult& r = load.session->sweeps[std::size_t(index)].result;
    if (parser.isSet(json)) {
        QJsonObject o{{QStringLiteral("out"), out},
                      {QStringLiteral("sweep"), index + 1},
                      {QStringLiteral("sweeps"), sweeps},
                      {QStringLiteral("levels"), int(r.levels.size())},
                      {QStringLiteral("bytes"), html.size()},
                      {QStringLiteral("concurrency_target"), r.recommendation.concurrencyTarget},
                      {QStringLiteral("predict_concurrency"), r.recommendation.predictConcurrency}};
        QTextStream(stdout) << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        QTextStream(stdout) << "knee report: wrote " << out << " (sweep " << index + 1 << " of " << sweeps << ", " << r.levels.size()
                            << " levels)\n";
    }
    return kOk;
}

} // namespace knee::cli
