#include "fit_command.h"

#include "commands.h"

#include "session/output_file.h"
#include "session/session.h"
#include "session/twin_file.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace knee::cli {

namespace {

QJsonArray strings(const std::vector<std::string>& lines)
{
    QJsonArray out;
    for (const std::string& l : lines)
        out.append(QString::fromStdString(l));
    return out;
}

QJsonArray checksJson(const std::vector<TwinLevelCheck>& checks)
{
    QJsonArray out;
    for (const TwinLevelCheck& c : checks) {
        QJsonObject o{{"concurrency", c.concurrency},
                      {"rate_rps", c.open() ? QJsonValue(c.rateRps) : QJsonValue()},
                      {"measured", QJsonObject{{"throughput_rps", c.measuredRps}, {"p50_ms", c.measuredP50}, {"p95_ms", c.measuredP95}}},
                      {"twin", QJsonObject{{"throughput_rps", c.twinRps}, {"p50_ms", c.twinP50}, {"p95_ms", c.twinP95}}},
                      {"error_pct", QJsonObject{{"throughput", c.throughputErrorPct()}, {"p50", c.p50ErrorPct()}, {"p95", c.p95ErrorPct()}}}};
        if (c.streaming) {
            auto add = [&](const char* side, const char* key, double v) {
                QJsonObject part = o.value(QLatin1String(side)).toObject();
                part.insert(QLatin1String(key), v);
                o.insert(QLatin1String(side), part);
            };
            add("measured", "ttft_p50_ms", c.measuredTtftP50);
            add("measured", "ttft_p95_ms", c.measuredTtftP95);
            add("measured", "itl_p50_ms", c.measuredItlP50);
            add("twin", "ttft_p50_ms", c.twinTtftP50);
            add("twin", "ttft_p95_ms", c.twinTtftP95);
            add("twin", "itl_p50_ms", c.twinItlP50);
            add("error_pct", "ttft_p50", c.ttftP50ErrorPct());
            add("error_pct", "ttft_p95", c.ttftP95ErrorPct());
            add("error_pct", "itl_p50", c.itlP50ErrorPct());
        }
        out.append(o);
    }
    return out;
}

QString checkLine(const TwinLevelCheck& c)
{
    QString line = QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
                       .arg(c.open() ? QString::number(c.rateRps, 'f', 1) : QString::number(c.concurrency), 6)
                       .arg(c.measuredRps, 9, 'f', 1)
                       .arg(c.twinRps, 9, 'f', 1)
                       .arg(c.measuredP50, 9, 'f', 1)
                       .arg(c.twinP50, 9, 'f', 1)
                       .arg(c.measuredP95, 9, 'f', 1)
                       .arg(c.twinP95, 9, 'f', 1);
    if (c.streaming)
        line += QStringLiteral(" %1 %2 %3 %4").arg(c.measuredTtftP50, 9, 'f', 1).arg(c.twinTtftP50, 9, 'f', 1).arg(c.measuredItlP50, 9, 'f', 2).arg(c.twinItlP50, 9, 'f', 2);
    return line + QStringLiteral("   worst %1 %").arg(c.worstErrorPct(), 0, 'f', 1);
}

void printChecks(QTextStream& out, const QString& title, const std::vector<TwinLevelCheck>& checks)
{
    if (checks.empty())
        return;
    out << title << "\n";
    QString head = QStringLiteral("%1 %2 %3 %4 %5 %6 %7").arg(checks.front().open() ? "rate" : "users", 6).arg("req/s", 9).arg("twin", 9).arg("p50 ms", 9).arg("twin", 9).arg("p95 ms", 9).arg("twin", 9);
    if (checks.front().streaming)
        head += QStringLiteral(" %1 %2 %3 %4").arg("ttft p50", 9).arg("twin", 9).arg("itl p50", 9).arg("twin", 9);
    out << head << "\n";
    for (const TwinLevelCheck& c : checks)
        out << checkLine(c) << "\n";
}

} // namespace

int fitAndWrite(const SweepResult& sweep, const TwinFitOptions& options, const QString& outPath, FitOutput output, QJsonObject& report)
{
    QTextStream out(stdout), err(stderr);
    const TwinFit fit = fitTwin(sweep, options);
    QJsonArray leftOut;
    for (const TwinLeftOut& l : fit.leftOut)
        leftOut.append(QJsonObject{{"concurrency", l.concurrency}, {"why", QString::fromStdString(l.why)}});
    QJsonArray used;
    for (int k : fit.used)
        used.append(k);
    report = QJsonObject{{"fitted", fit.ok()},
                         {"refusal", fit.ok() ? QJsonValue() : QJsonValue(QString::fromStdString(fit.refusal))},
                         {"measure_next", strings(fit.measureNext)},
                         {"notes", strings(fit.notes)},
                         {"levels_used", used},
                         {"levels_left_out", leftOut},
                         {"order", fit.order()},
                         {"rate_checks", checksJson(fit.rateChecks)},
                         {"replay", checksJson(fit.replay)},
                         {"cross_validation", checksJson(fit.crossValidation)},
                         {"out", QJsonValue()}};
    if (!fit.ok()) {
        if (output == FitOutput::Text) // what the best attempt replayed, when it got that far: the evidence
            printChecks(out, QStringLiteral("The best twin found, replaying the sweep (measured, twin):"), fit.replay);
        err << "knee fit: no twin: " << QString::fromStdString(fit.refusal) << "\n";
        for (const TwinLeftOut& l : fit.leftOut)
            err << "knee fit: level " << l.concurrency << " left out: " << QString::fromStdString(l.why) << "\n";
        for (const std::string& m : fit.measureNext)
            err << "knee fit: measure next: " << QString::fromStdString(m) << "\n";
        if (output == FitOutput::Json)
            out << QJsonDocument(report).toJson(QJsonDocument::Compact) << "\n";
        return kNoTwin;
    }
    const TwinFileText file = twinFileText(fit);
    QString writeError = file.error;
    if (writeError.isEmpty())
        writeError = writeOutputFile(outPath, file.text);
    if (writeError.isEmpty())
        report.insert("out", outPath);
    report.insert("banner", QString::fromStdString(twinBanner(*fit.twin->twin)));
    if (output == FitOutput::Json) {
        out << QJsonDocument(report).toJson(QJsonDocument::Compact) << "\n";
    } else if (output == FitOutput::Text) {
        out << QString::fromStdString(twinBanner(*fit.twin->twin)) << ".\n";
        for (const std::string& n : fit.notes)
            out << "  - " << QString::fromStdString(n) << "\n";
        for (const TwinLeftOut& l : fit.leftOut)
            out << "  - level " << l.concurrency << " left out: " << QString::fromStdString(l.why) << "\n";
        printChecks(out, QStringLiteral("The twin replaying the sweep (measured, twin):"), fit.replay);
        printChecks(out, QStringLiteral("Cross-validation (each level predicted by a twin fitted without it):"), fit.crossValidation);
        printChecks(out, QStringLiteral("The twin under the rate sweep's arrivals (measured, twin):"), fit.rateChecks);
        for (const std::string& m : fit.measureNext)
            out << "Measure next: " << QString::fromStdString(m) << "\n";
        if (writeError.isEmpty())
            out << "Twin written to " << outPath << " (an ordinary scenario: knee simulate, plan, sweep --virtual and the window run it)\n";
    }
    if (!writeError.isEmpty()) {
        err << "knee fit: " << outPath << ": " << writeError << "\n";
        return kFailure;
    }
    return kOk;
}

int runFit(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::None, QStringLiteral(
        "Fit a twin of the deployment an endpoint sweep measured (one replica, closed-loop levels): an ordinary scenario whose "
        "service curve, request time shape and fixed cost come from the sweep, checked by replaying the sweep's levels and by "
        "cross-validation. Refused (exit 4, with what to measure next) when the levels cannot identify it."));
    parser.addPositionalArgument(QStringLiteral("session"), QStringLiteral("Session file (JSON) from knee sweep --out."));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the twin (scenario YAML) here."), QStringLiteral("TWIN.yaml"));
    const QCommandLineOption sweepOpt(QStringLiteral("sweep"), QStringLiteral("Which of the session's sweeps (1 = the first; default the last closed-loop one)."),
                                      QStringLiteral("N"));
    const QCommandLineOption serial(QStringLiteral("serial"),
                                    QStringLiteral("The replica serves one request at a time: fit a throughput that is flat from level 1 as "
                                                   "such (without it the fit refuses: a queue in front of the replica looks the same)."));
    const QCommandLineOption noCv(QStringLiteral("no-cross-validation"), QStringLiteral("Skip the leave-one-out check (faster)."));
    const QCommandLineOption ratesOpt(QStringLiteral("rates-session"),
                                      QStringLiteral("A session holding a rate sweep (knee sweep --rates) of the same endpoint: the fit replays it to "
                                                     "choose how the replica divides itself among the requests in flight (its order). Rate "
                                                     "sweeps in SESSION itself are used too."),
                                      QStringLiteral("RATES.json"));
    const QCommandLineOption skipOpt(QStringLiteral("skip-levels"),
                                     QStringLiteral("Leave these levels of users out of the fit (the twin still replays them, and the fit says "
                                                    "how far it misses each): a level the fit refused, as it names."),
                                     QStringLiteral("N,M"));
    const QCommandLineOption threadsOpt(QStringLiteral("threads"),
                                        QStringLiteral("At most this many threads for the fit's replays (default: every core; 1: one thread). The "
                                                       "twin and every figure of the fit are the same for any count."),
                                        QStringLiteral("N"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    parser.addOptions({outOpt, sweepOpt, serial, noCv, ratesOpt, skipOpt, threadsOpt, json});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || !parser.isSet(outOpt)) {
        err << "knee fit: expected one session file and --out TWIN.yaml\n"
               "usage: knee fit SESSION.json --out TWIN.yaml [--sweep N] [--serial] [--no-cross-validation] [--rates-session RATES.json] "
               "[--skip-levels N,M] [--threads N] [--json]\n";
        return kBadInput;
    }
    const QString outPath = parser.value(outOpt);
    if (const QString problem = checkOutputFile(outPath); !problem.isEmpty()) {
        err << "knee fit: " << outPath << ": " << problem << "\n";
        return kBadInput;
    }
    const SessionLoad load = loadSession(positional.first());
    if (!load.session) {
        err << "knee fit: " << positional.first() << ": " << load.error << "\n";
        return kBadInput;
    }
    const std::vector<SessionSweep>& sweeps = load.session->sweeps;
    if (sweeps.empty()) {
        err << "knee fit: " << positional.first() << " holds no sweep: knee sweep --target URL --out SESSION.json measures one\n";
        return kBadInput;
    }
    QString problem;
    const std::optional<std::size_t> picked = sweepIndexOption(parser, sweepOpt, sweeps.size(), problem);
    if (!picked) {
        err << "knee fit: " << problem << "\n";
        return kBadInput;
    }
    std::size_t index = *picked;
    if (!parser.isSet(sweepOpt)) // the last closed-loop sweep: a rate sweep saved after it is there to choose the order
        for (std::size_t i = sweeps.size(); i-- > 0;)
            if (!sweeps[i].options.rateSweep()) {
                index = i;
                break;
            }
    // The session does not record when it was measured: its file's last change is when the sweep saved it.
    TwinFitOptions options =
        twinFitOptions(sweeps[index].result, QFileInfo(positional.first()).absoluteFilePath(), QFileInfo(positional.first()).lastModified());
    options.serial = parser.isSet(serial);
    options.crossValidate = !parser.isSet(noCv);
    if (parser.isSet(threadsOpt)) {
        bool ok = false;
        const int threads = parser.value(threadsOpt).toInt(&ok);
        if (!ok || threads < 1 || threads > 1024) {
            err << "knee fit: --threads expects a whole number from 1 to 1024; got '" << parser.value(threadsOpt) << "'\n";
            return kBadInput;
        }
        options.threads = threads;
    }
    if (parser.isSet(skipOpt)) {
        QStringList measured; // the levels a user may leave out: the sweep's, but level 1 (the fit reads its shape there)
        for (const SweepLevel& l : sweeps[index].result.levels)
            if (l.concurrency > 1 && !measured.contains(QString::number(l.concurrency)))
                measured.append(QString::number(l.concurrency));
        for (const QString& value : parser.values(skipOpt))
            for (const QString& part : value.split(QLatin1Char(','))) {
                bool ok = false;
                const int k = part.trimmed().toInt(&ok);
                if (!ok || !measured.contains(QString::number(k))) {
                    err << "knee fit: --skip-levels expects levels of users the sweep measured above 1 (" << measured.join(QLatin1Char(','))
                        << "), separated by commas; got '" << part << "'\n";
                    return kBadInput;
                }
                if (std::find(options.skipLevels.begin(), options.skipLevels.end(), k) == options.skipLevels.end())
                    options.skipLevels.push_back(k);
            }
    }
    // The refit a refusal may offer, as this command line plus the level it names (and those left out already).
    QString skipped;
    for (int k : options.skipLevels)
        skipped += QString::number(k) + QLatin1Char(',');
    options.terms.skip = QStringLiteral("knee fit %1 --out %2%3%4%5 --skip-levels %6{level}")
                             .arg(positional.first(), outPath, parser.isSet(sweepOpt) ? " --sweep " + parser.value(sweepOpt) : QString(),
                                  parser.isSet(serial) ? QStringLiteral(" --serial") : QString(),
                                  parser.isSet(ratesOpt) ? " --rates-session " + parser.value(ratesOpt) : QString(), skipped)
                             .toStdString();
    addRateLevels(options, sweeps[index].result, sweeps);
    if (parser.isSet(ratesOpt)
        && QFileInfo(parser.value(ratesOpt)).canonicalFilePath() != QFileInfo(positional.first()).canonicalFilePath()) { // not twice
        const SessionLoad rates = loadSession(parser.value(ratesOpt));
        if (!rates.session) {
            err << "knee fit: --rates-session " << parser.value(ratesOpt) << ": " << rates.error << "\n";
            return kBadInput;
        }
        const std::size_t before = options.rateLevels.size();
        addRateLevels(options, sweeps[index].result, rates.session->sweeps);
        if (options.rateLevels.size() == before) {
            err << "knee fit: --rates-session " << parser.value(ratesOpt) << " holds no rate sweep of "
                << QString::fromStdString(options.endpoint) << " (knee sweep --target URL --rates R1,R2 --out RATES.json measures one)\n";
            return kBadInput;
        }
    }
    QJsonObject report;
    return fitAndWrite(sweeps[index].result, options, outPath, parser.isSet(json) ? FitOutput::Json : FitOutput::Text, report);
}

} // namespace knee::cli
