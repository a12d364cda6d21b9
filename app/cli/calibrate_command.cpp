#include "calibrate_command.h"

#include "commands.h"
#include "summary_format.h"

#include "live/backend_executor.h"
#include "live/calibration_run.h"

#include "predict/backend.h"
#include "predict/factory.h"
#include "predict/model.h"
#include "io/scenario_reader.h"
#include "session/output_file.h"

#include <QCommandLineParser>
#include <QRegularExpression>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace knee::cli {

namespace {

// The backend --backend asks for (auto, cpu or gpu), as calibrate itself makes it; nullopt and a message on
// `err` for a bad name or a GPU that is not there.
std::optional<predict::BackendChoice> chooseBackend(const QString& kind, QTextStream& err)
{
    predict::FactoryOptions factory;
    if (kind == QLatin1String("cpu"))
        factory.prefer = predict::Preference::Cpu;
    else if (kind == QLatin1String("gpu"))
        factory.prefer = predict::Preference::Cuda;
    else if (kind != QLatin1String("auto")) {
        err << "knee calibrate: --backend expects auto, cpu or gpu, got '" << kind << "'\n";
        return std::nullopt;
    }
    predict::BackendChoice choice = predict::makeBackend(factory);
    if (kind == QLatin1String("gpu") && !choice.gpu) {
        err << "knee calibrate: no GPU backend: " << QString::fromStdString(choice.notice) << "\n";
        return std::nullopt;
    }
    return choice;
}

// What the calibration runs are told of that backend.
PredictBackendInfo backendInfo(const predict::BackendChoice& choice)
{
    PredictBackendInfo backend;
    backend.backend = choice.backend.get();
    backend.gpu = choice.gpu;
    backend.fellBack = choice.fellBack;
    backend.notice = choice.notice;
    backend.shortName = choice.gpu ? choice.backend->description() : "the CPU";
    return backend;
}

// A live run's latency quantiles with how many requests they stand on.
QJsonObject spread(const LatencySummaryMs& l)
{
    QJsonObject o = latencyJson(l);
    o["count"] = qint64(l.count);
    return o;
}

// The table to check and its model: a file `knee calibrate --out` wrote (`profile:` and `predict_table:` at
// the top) is read as the model section of a scenario, so that it meets the scenario reader's checks; any
// other file as a scenario.
struct CheckedTable {
    std::string profile;
    ServiceTable table;
};
std::optional<CheckedTable> readTableToCheck(const QString& path, const QString& profileFlag, QTextStream& err)
{
    std::string text;
    ScenarioReadResult r = readScenarioFile(path.toStdString(), &text);
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) // a byte-order mark: the reader drops it at the start only
        text.erase(0, 3);
    QStringList lines = QString::fromStdString(text).split(QLatin1Char('\n'));
    if (!lines.filter(QRegularExpression(QStringLiteral("^predict_table:"))).isEmpty()) {
        // The user's lines go last, each indented under model:, after kAbove lines of our own, so that a message
        // about them has the file's line (and column); one about ours, or past the text's end, has no line.
        constexpr int kAbove = 4;
        std::string wrapped = "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 1}\n"
                              "workload: {arrival: {kind: closed, users: 1}, duration_s: 1}\n"
                              "model:\n"
                              "  predict: 1\n";
        for (const QString& line : lines) // a document marker would end the map once indented: kept as a blank line
            wrapped += (line.trimmed() == QLatin1String("---") || line.trimmed() == QLatin1String("...")) ? std::string("\n")
                                                                                                            : "  " + line.toStdString() + "\n";
        r = readScenarioText(wrapped, path.toStdString());
        for (ScenarioError& e : r.errors) {
            if (e.line > kAbove && e.line <= kAbove + int(lines.size())) {
                e.line -= kAbove;
                e.column = std::max(1, e.column - 2);
            } else {
                e.line = e.column = 0;
            }
            if (e.key.rfind("model.", 0) == 0) // the file has no model: section
                e.key.erase(0, 6);
        }
    }
    for (const std::string& w : r.warnings)
        err << "knee calibrate: --check: warning: " << QString::fromStdString(w) << "\n";
    if (!r.ok()) {
        for (const ScenarioError& e : r.errors)
            err << "knee calibrate: --check: " << QString::fromStdString(e.toString()) << "\n";
        return std::nullopt;
    }
    CheckedTable t{r.scenario->model.profile, r.scenario->model.predictTable};
    if (t.table.empty()) {
        err << "knee calibrate: --check: " << path << " has no model.predict_table to check\n";
        return std::nullopt;
    }
    if (!profileFlag.isEmpty() && !t.profile.empty() && profileFlag.toStdString() != t.profile) {
        err << "knee calibrate: --check: the table is of profile '" << QString::fromStdString(t.profile) << "', --profile says '" << profileFlag << "'\n";
        return std::nullopt;
    }
    if (t.profile.empty())
        t.profile = profileFlag.toStdString();
    if (t.profile.empty()) {
        err << "knee calibrate: --check: " << path << " names no model profile (model.profile); --profile NAME says which model the table is of\n";
        return std::nullopt;
    }
    if (!predict::findProfile(t.profile)) {
        err << "knee calibrate: --check: unknown profile '" << QString::fromStdString(t.profile) << "'; expected tiny, small, medium, large or xl\n";
        return std::nullopt;
    }
    if (const std::string refusal = tableCheckRefusal(t.table); !refusal.empty()) {
        err << "knee calibrate: --check: " << QString::fromStdString(refusal) << "\n";
        return std::nullopt;
    }
    return t;
}

// `knee calibrate --check FILE`: the table's queue runs, live against virtual (checkTable).
int runCalibrateCheck(const QString& path, const QString& profileFlag, const QString& backendKind,
                      const QString& toleranceText, bool asJson)
{
    QTextStream out(stdout), err(stderr);
    bool ok = false;
    const double tolerancePct = toleranceText.toDouble(&ok);
    if (!ok || !(tolerancePct > 0) || tolerancePct > 100) {
        err << "knee calibrate: --tolerance expects a percentage above 0 and up to 100, got '" << toleranceText << "'\n";
        return kBadInput;
    }
    const std::optional<CheckedTable> checked = readTableToCheck(path, profileFlag, err);
    if (!checked)
        return kBadInput;
    std::optional<predict::BackendChoice> choice = chooseBackend(backendKind, err);
    if (!choice)
        return kBadInput;
    if (!asJson)
        err << "knee calibrate: " << QString::fromStdString(choice->notice) << "\n";
    const PredictBackendInfo backend = backendInfo(*choice);
    const TableCheck check = checkTable(checked->profile, checked->table, backend);
    if (!check.error.empty()) {
        err << "knee calibrate: --check: " << QString::fromStdString(check.error) << "\n";
        return kFailure;
    }
    if (!check.hostNotice.empty())
        err << "knee calibrate: --check: " << QString::fromStdString(check.hostNotice) << "\n";
    const double worst = check.worst()->error(); // checkTable measures k = 1 at least
    const int worstK = check.worst()->concurrency;
    const bool stale = !check.holds(tolerancePct);
    const ServiceTable& t = checked->table;
    if (asJson) {
        QJsonArray points;
        for (const TableCheckPoint& p : check.points) {
            points.append(QJsonObject{{"concurrency", p.concurrency}, {"live_rps", p.liveRps}, {"virtual_rps", p.virtualRps},
                                      {"error_pct", 100 * p.error()}, {"live_engine_thread_ms", p.liveEngineThreadMs},
                                      {"table_engine_thread_ms", t.engineThreadAt(p.concurrency)}, {"latency_ms", spread(p.latency)},
                                      {"host_steal_pct", p.host.valid ? QJsonValue(p.host.stealPct) : QJsonValue()},
                                      // the device's host time per call over the table's (GPU only: a slower device is measured again)
                                      {"device_vs_table_pct", choice->gpu ? QJsonValue(100 * p.deviceSlowness) : QJsonValue()},
                                      {"attempts", p.attempts}});
        }
        const QJsonObject o{{"check", path},
                            {"profile", QString::fromStdString(checked->profile)},
                            {"table_source", QString::fromStdString(t.source)},
                            {"gpu", choice->gpu},
                            {"notice", QString::fromStdString(choice->notice)},
                            {"tolerance_pct", tolerancePct},
                            {"points", points},
                            {"worst_error_pct", 100 * worst},
                            {"worst_concurrency", worstK},
                            {"stale", stale},
                            {"host_notice", QString::fromStdString(check.hostNotice)}};
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        const auto signedPct = [](double v) {
            return QStringLiteral("%1%2").arg(std::round(1000 * v) > 0 ? QStringLiteral("+") : QString()).arg(std::round(1000 * v) == 0 ? 0.0 : 100 * v, 0, 'f', 1);
        };
        // On a GPU also the device's own time per call against the table's: whether the device moved, or the rest
        out << "calls in flight   live calls/s   virtual calls/s   live / virtual" << (choice->gpu ? "   device / table" : "") << "\n";
        for (const TableCheckPoint& p : check.points) {
            out << QStringLiteral("%1 %2 %3 %4 %")
                       .arg(p.concurrency, 15)
                       .arg(p.liveRps, 14, 'f', 1)
                       .arg(p.virtualRps, 17, 'f', 1)
                       .arg(signedPct(p.error()), 16);
            if (choice->gpu)
                out << QStringLiteral("%1 %").arg(signedPct(p.deviceSlowness), 15);
            out << "\n";
        }
        out << (stale ? QStringLiteral("stale: at %1 in flight live is %2 % from virtual time on this table (tolerance %3 %); calibrate again\n")
                      : QStringLiteral("holds: every k within %3 % (worst %2 % at %1 in flight)\n"))
                   .arg(worstK)
                   .arg(100 * worst, 0, 'f', 1)
                   .arg(tolerancePct);
    }
    return stale ? kTableStale : kOk;
}

} // namespace

int runCalibrate(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::None, QStringLiteral(
        "Measure the predict stage's time per call against batch size and write the "
        "model.predict_table that virtual-time runs use."));
    const QCommandLineOption profileOpt(QStringLiteral("profile"), QStringLiteral("Model profile: tiny, small, medium, large, xl (default small)."),
                                        QStringLiteral("NAME"), QStringLiteral("small"));
    const QCommandLineOption backendOpt(QStringLiteral("backend"), QStringLiteral("auto (default: the GPU if there is one), cpu or gpu."),
                                        QStringLiteral("KIND"), QStringLiteral("auto"));
    const QCommandLineOption batchesOpt(QStringLiteral("batches"), QStringLiteral("Batch sizes (default 1,2,4,...,64)."), QStringLiteral("LIST"),
                                        QStringLiteral("1,2,4,8,16,32,64"));
    const QCommandLineOption repeatsOpt(QStringLiteral("repeats"), QStringLiteral("Timed calls per batch size; the median is kept (default 20)."),
                                        QStringLiteral("N"), QStringLiteral("20"));
    const QCommandLineOption concurrencyOpt(QStringLiteral("concurrency"),
                                            QStringLiteral("Calls in flight on the device, from 1 (default 1,2,4,8): the table's "
                                                           "concurrency axis, how calls share the device."),
                                            QStringLiteral("LIST"), QStringLiteral("1,2,4,8"));
    const QCommandLineOption noOverheadOpt(QStringLiteral("no-overhead"),
                                           QStringLiteral("Skip the live engine's own cost per call and of calls after an idle device (short live runs, about 8 s)."));
    const QCommandLineOption sharedCostOpt(QStringLiteral("shared-cost"),
                                           QStringLiteral("The live engine's own cost per call at each calls-in-flight above 1 (predict_concurrency k "
                                                          "under a queue, about 3 s each), as overhead_ms and engine_thread_ms by concurrency: "
                                                          "auto (on a GPU; default), on, or off (the one-call values hold for every k)."),
                                           QStringLiteral("auto|on|off"), QStringLiteral("auto"));
    const QCommandLineOption settleOpt(QStringLiteral("settle-s"),
                                       QStringLiteral("Before measuring, run calls back to back until three blocks of them in a row agree "
                                                      "within 2 % (a GPU raising its clocks after its cold start), for at most S "
                                                      "seconds; 0 skips it (default 10)."),
                                       QStringLiteral("S"), QStringLiteral("10"));
    const QCommandLineOption liveIdleOpt(QStringLiteral("live-idle-delays"),
                                         QStringLiteral("The batcher's delays (ms) at which the live engine's own cost of a call that finds "
                                                        "the device idle is measured (one user, dynamic batching, about 1 s each), or none "
                                                        "(default 0.1,0.2,0.5,1,2)."),
                                         QStringLiteral("LIST"), QStringLiteral("0.1,0.2,0.5,1,2"));
    const QCommandLineOption attemptsOpt(QStringLiteral("attempts"),
                                         QStringLiteral("Measure each point in passes over the table until another attempt agrees with its fastest "
                                                        "within 5 %, at most N passes (1: once, no confirmation; default 4). A later pass meets the host "
                                                        "in another moment, so a disturbance of a few seconds marks one attempt only."),
                                         QStringLiteral("N"), QStringLiteral("4"));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the predict_table (YAML) here."), QStringLiteral("FILE"));
    const QCommandLineOption checkOpt(QStringLiteral("check"),
                                      QStringLiteral("Measure nothing new: check that this table (a file `knee calibrate --out` wrote, or a "
                                                     "scenario with model.profile and model.predict_table) still holds here. The live engine "
                                                     "runs a queue at predict_concurrency 1 and at each k of the table's concurrency axis "
                                                     "(each as calibrate's: a cold start, 0.5 s of warm-up, then 0.3 s per ms of T(1, 1), "
                                                     "2 to 120 s), and each is compared with virtual time on the table. Exit code 5 "
                                                     "when one is off by more than --tolerance."),
                                      QStringLiteral("FILE"));
    const QCommandLineOption toleranceOpt(QStringLiteral("tolerance"),
                                          QStringLiteral("With --check: how far (percent) live may be from virtual time at any k before the "
                                                         "table counts as stale (default 5)."),
                                          QStringLiteral("PCT"), QString::number(kTableCheckTolerancePct));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    parser.addOptions({profileOpt, backendOpt, batchesOpt, concurrencyOpt, repeatsOpt, settleOpt, attemptsOpt, noOverheadOpt, sharedCostOpt, liveIdleOpt, outOpt,
                       checkOpt, toleranceOpt, json});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    if (parser.isSet(checkOpt)) {
        for (const QCommandLineOption* o : {&batchesOpt, &concurrencyOpt, &repeatsOpt, &settleOpt, &attemptsOpt, &noOverheadOpt, &sharedCostOpt, &liveIdleOpt, &outOpt})
            if (parser.isSet(*o)) {
                err << "knee calibrate: --check measures the table's own axis and writes no table; drop --" << o->names().first() << "\n";
                return kBadInput;
            }
        return runCalibrateCheck(parser.value(checkOpt), parser.isSet(profileOpt) ? parser.value(profileOpt) : QString(),
                                 parser.value(backendOpt), parser.value(toleranceOpt), parser.isSet(json));
    }
    if (parser.isSet(toleranceOpt)) {
        err << "knee calibrate: --tolerance goes with --check\n";
        return kBadInput;
    }
    const auto profile = predict::findProfile(parser.value(profileOpt).toStdString());
    if (!profile) {
        err << "knee calibrate: unknown profile '" << parser.value(profileOpt) << "'; expected tiny, small, medium, large or xl\n";
        return kBadInput;
    }
    const QString kind = parser.value(backendOpt);
    if (kind != QLatin1String("auto") && kind != QLatin1String("cpu") && kind != QLatin1String("gpu")) {
        err << "knee calibrate: --backend expects auto, cpu or gpu, got '" << kind << "'\n";
        return kBadInput;
    }
    auto parseList = [&](const QCommandLineOption& opt, int hi, const char* what, std::vector<int>& out) {
        for (const QString& part : parser.value(opt).split(QLatin1Char(','))) {
            bool ok = false;
            const int v = part.trimmed().toInt(&ok);
            if (!ok || v < 1 || v > hi || (!out.empty() && v <= out.back())) {
                err << "knee calibrate: --" << opt.names().first() << " expects " << what << ", got '" << part << "'\n";
                return false;
            }
            out.push_back(v);
        }
        return true;
    };
    CalibrationRequest request;
    request.profile = profile->name;
    request.sharing.batches.clear();
    request.sharing.concurrency.clear();
    if (!parseList(batchesOpt, 4096, "increasing whole numbers from 1 to 4096", request.sharing.batches)
        || !parseList(concurrencyOpt, 64, "increasing whole numbers from 1 to 64, starting at 1", request.sharing.concurrency))
        return kBadInput;
    if (request.sharing.concurrency.front() != 1) {
        err << "knee calibrate: --concurrency must start at 1 (one call alone on the device)\n";
        return kBadInput;
    }
    bool ok = false;
    request.sharing.repeats = parser.value(repeatsOpt).toInt(&ok);
    if (!ok || request.sharing.repeats < 1 || request.sharing.repeats > 10'000) {
        err << "knee calibrate: --repeats expects a whole number from 1 to 10000\n";
        return kBadInput;
    }
    request.sharing.pointAttempts = parser.value(attemptsOpt).toInt(&ok);
    if (!ok || request.sharing.pointAttempts < 1 || request.sharing.pointAttempts > 10) {
        err << "knee calibrate: --attempts expects a whole number from 1 to 10\n";
        return kBadInput;
    }
    const double settleS = parser.value(settleOpt).toDouble(&ok);
    if (!ok || !(settleS >= 0) || settleS > 600) {
        err << "knee calibrate: --settle-s expects seconds from 0 (no settling) to 600, got '" << parser.value(settleOpt) << "'\n";
        return kBadInput;
    }
    request.sharing.settleMaxMs = settleS * 1000.0;
    request.measureOverhead = !parser.isSet(noOverheadOpt);
    if (parser.value(sharedCostOpt) == QLatin1String("on") && !request.measureOverhead) {
        err << "knee calibrate: --shared-cost on measures the live engine's cost, which --no-overhead skips\n";
        return kBadInput;
    }
    if (const QString v = parser.value(sharedCostOpt); v == QLatin1String("on") || v == QLatin1String("off"))
        request.measureSharedCost = v == QLatin1String("on");
    else if (v != QLatin1String("auto")) {
        err << "knee calibrate: --shared-cost expects auto, on or off, got '" << v << "'\n";
        return kBadInput;
    }
    request.liveIdleDelaysMs.clear();
    if (parser.value(liveIdleOpt) != QLatin1String("none")) {
        for (const QString& part : parser.value(liveIdleOpt).split(QLatin1Char(','))) {
            const double v = part.trimmed().toDouble(&ok);
            if (!ok || !(v > 0) || v > 100 || (!request.liveIdleDelaysMs.empty() && v <= request.liveIdleDelaysMs.back())) {
                err << "knee calibrate: --live-idle-delays expects increasing delays in ms above 0 and up to 100, or none; got '"
                    << part << "'\n";
                return kBadInput;
            }
            request.liveIdleDelaysMs.push_back(v);
        }
    }
    if (parser.isSet(outOpt)) { // before the measuring, not after it
        if (const QString problem = checkOutputFile(parser.value(outOpt)); !problem.isEmpty()) {
            err << "knee calibrate: --out: " << problem << "\n";
            return kBadInput;
        }
    }

    std::optional<predict::BackendChoice> chosen = chooseBackend(kind, err);
    if (!chosen)
        return kBadInput;
    predict::BackendChoice& choice = *chosen;
    if (!parser.isSet(json))
        err << "knee calibrate: " << QString::fromStdString(choice.notice) << "\n";
    const PredictBackendInfo backend = backendInfo(choice);
    const CalibrationResult result = calibrateProfile(request, backend);
    if (!result.error.empty()) {
        err << "knee calibrate: " << QString::fromStdString(result.error) << "\n";
        return kFailure;
    }
    const QString yaml = QString::fromStdString(result.yaml());
    if (!parser.isSet(json) || !result.settling.settled) // stdout keeps the table alone; a device that never settled is said on stderr too
        err << "knee calibrate: " << QString::fromStdString(result.settling.notice()) << "\n";
    if (!result.hostNotice.empty()) // a calibration the host disturbed throughout: said whatever the output
        err << "knee calibrate: " << QString::fromStdString(result.hostNotice) << "\n";
    int status = kOk;
    if (parser.isSet(outOpt)) {
        if (const QString e = writeOutputFile(parser.value(outOpt), yaml.toUtf8()); !e.isEmpty()) {
            err << "knee calibrate: --out: " << e << "\n";
            status = kFailure; // measured but not written: the table still goes to stdout below
        }
    }
    if (parser.isSet(json)) {
        const ServiceTable& t = result.table;
        auto row = [](const std::vector<double>& v) {
            QJsonArray a;
            for (double x : v)
                a.append(x);
            return a;
        };
        QJsonArray batchJson, concurrencyJson{1}, byConcurrency{row(t.ms)}, deviceJson;
        for (int b : t.batch)
            batchJson.append(b);
        for (int k : t.concurrency)
            concurrencyJson.append(k);
        for (const auto& r : t.msShared)
            byConcurrency.append(row(r));
        for (const auto& r : result.deviceMs)
            deviceJson.append(row(r));
        QJsonArray inFlightJson;
        for (const auto& r : result.deviceInFlight)
            inFlightJson.append(row(r));
        QJsonArray samplesJson; // raw, so that a table can be derived again later without the device
        for (const auto& byBatch : result.hostSamples) {
            QJsonArray r;
            for (const auto& v : byBatch)
                r.append(row(v));
            samplesJson.append(r);
        }
        QJsonArray idleSamplesJson; // [gap][call]: the idle curve's raw host times (its mean or median can be taken again)
        for (const auto& v : result.idleHostSamples)
            idleSamplesJson.append(row(v));
        QJsonObject table{{"batch", batchJson}, {"ms", row(t.ms)}, {"concurrency", concurrencyJson},
                          {"ms_by_concurrency", byConcurrency}, {"overhead_ms", t.overheadMs},
                          {"engine_thread_ms", t.engineThreadMs}, // the live engine thread's CPU time per call in the queue run
                          {"source", QString::fromStdString(t.source)}};
        if (!t.overheadSharedMs.empty()) { // by concurrency, k = 1 first, as the YAML table has them
            QJsonArray o{t.overheadMs}, e{t.engineThreadMs};
            for (double v : t.overheadSharedMs)
                o.append(v);
            for (double v : t.engineThreadSharedMs)
                e.append(v);
            table["overhead_ms_by_concurrency"] = o;
            table["engine_thread_ms_by_concurrency"] = e;
        }
        if (!t.engineThreadWakeMs.empty()) // how late the asleep engine thread ran a timed send (live_open)
            table["engine_thread_wake_ms"] = row(t.engineThreadWakeMs);
        if (!t.variation.empty()) // as the YAML table has them, when they were measured
            table["variation"] = row(t.variation);
        if (!t.variationAlone.empty())
            table["variation_alone"] = row(t.variationAlone);
        if (!t.variationShared.empty()) { // one row per concurrency above 1
            QJsonArray rows;
            for (const auto& r : t.variationShared)
                rows.append(row(r));
            table["variation_shared"] = rows;
        }
        if (!t.idleGapMs.empty()) {
            QJsonObject idle{{"gap_ms", row(t.idleGapMs)}, {"extra_ms", row(t.idleExtraMs)}};
            if (!t.idleJitterMs.empty()) {
                idle["jitter_ms"] = row(t.idleJitterMs);
                idle["jitter_from_ms"] = t.idleJitterFromMs;
            }
            if (!t.callIdleGapMs.empty()) {
                idle["call_gap_ms"] = row(t.callIdleGapMs);
                idle["call_extra_ms"] = row(t.callIdleExtraMs);
            }
            table["idle"] = idle;
        }
        QJsonArray liveIdleJson; // the idle curve's points from the live engine's batcher, with what the waiting caller said
        for (const LiveIdlePoint& p : result.liveIdle)
            liveIdleJson.append(QJsonObject{{"delay_ms", p.delayMs}, {"cycle_ms", p.cycleMs}, {"gap_ms", p.gapMs},
                                            {"extra_ms", p.extraMs}, {"caller_extra_ms", p.callerExtraMs},
                                            {"latency_ms", spread(p.latency)}, {"predict_ms", spread(p.predict)},
                                            {"host_steal_pct", p.host.valid ? QJsonValue(p.host.stealPct) : QJsonValue()},
                                            {"attempts", p.attempts}});
        const QJsonObject o{{"profile", QString::fromStdString(result.profile)},
                            {"backend", QString::fromStdString(result.backendKind)},
                            {"gpu", result.gpu},
                            {"notice", QString::fromStdString(choice.notice)},
                            {"device", QString::fromStdString(result.deviceName)},
                            // the driver's work queues the calls shared (the GPU backend sets 32 unless the user set it)
                            {"cuda_device_max_connections", result.gpu ? QJsonValue(QString::fromLocal8Bit(qgetenv("CUDA_DEVICE_MAX_CONNECTIONS"))) : QJsonValue()},
                            {"parameter_bytes", qint64(result.parameterBytes)},
                            {"cold_start_ms", result.coldStartMs},
                            {"weight_upload_ms", result.weightUploadMs},
                            // ms: one call alone on the device, by batch (as before the concurrency axis);
                            // ms_by_concurrency[j][i]: batch[i] with concurrency[j] calls in flight
                            {"predict_table", table},
                            {"live_p50_ms", result.liveP50Ms},
                            {"live_cycle_ms", result.liveCycleMs}, // at predict_concurrency 1 under a queue: overhead_ms's source
                            {"live_idle", liveIdleJson},
                            {"live_queue", [&] { // k > 1: the live queue runs behind overhead_ms and engine_thread_ms by concurrency
                                 QJsonArray a;
                                 for (const LiveQueuePoint& p : result.liveQueue)
                                     a.append(QJsonObject{{"concurrency", p.concurrency}, {"throughput_rps", p.throughputRps},
                                                          {"engine_thread_ms", p.engineThreadMs}, {"overhead_ms", p.overheadMs},
                                                          {"virtual_rps", p.virtualRps}, {"latency_ms", spread(p.latency)},
                                                          {"host_steal_pct", p.host.valid ? QJsonValue(p.host.stealPct) : QJsonValue()},
                                                          {"device_vs_table_pct", result.gpu ? QJsonValue(100 * p.deviceSlowness) : QJsonValue()},
                                                          {"attempts", p.attempts}});
                                 return a;
                             }()},
                            // Poisson sends at a quarter of the queue run's rate: engine_thread_wake_ms's source (null: not run)
                            {"live_open", result.liveOpen ? QJsonValue(QJsonObject{
                                              {"rate_rps", result.liveOpen->rateRps}, {"throughput_rps", result.liveOpen->throughputRps},
                                              {"wake_ups", qint64(result.liveOpen->wakeUps)}, {"wake_ms", row(result.liveOpen->wakeMs)},
                                              {"engine_thread_ms", result.liveOpen->engineThreadMs}, {"latency_ms", spread(result.liveOpen->latency)},
                                              // its calls by the gap before them (the first bin: back to back), from its trace
                                              {"call_idle", [&] {
                                                   QJsonArray bins;
                                                   for (const LiveOpenPoint::CallIdleBin& b : result.liveOpen->callIdle)
                                                       bins.append(QJsonObject{{"from_gap_ms", b.fromGapMs}, {"to_gap_ms", b.toGapMs}, {"gap_ms", b.gapMs},
                                                                               {"host_ms", b.hostMs}, {"calls", qint64(b.calls)}});
                                                   return bins;
                                               }()},
                                              {"host_steal_pct", result.liveOpen->host.valid ? QJsonValue(result.liveOpen->host.stealPct) : QJsonValue()},
                                              {"attempts", result.liveOpen->attempts}})
                                                          : QJsonValue()},
                            // What the host took from the queue run kept (null without /proc/stat), and the runs it took
                            {"host", QJsonObject{{"queue_steal_pct", result.queueHost.valid ? QJsonValue(result.queueHost.stealPct) : QJsonValue()},
                                                 {"queue_involuntary_switches", result.queueHost.valid ? QJsonValue(qint64(result.queueHost.involuntarySwitches)) : QJsonValue()},
                                                 {"queue_attempts", result.queueAttempts},
                                                 {"disturbed_steal_pct", kCalibrationDisturbedStealPct},
                                                 // the queue run kept: its device's host time per call over the table's (GPU only; a run
                                                 // above device_slow_pct is measured again, as one above disturbed_steal_pct)
                                                 {"queue_device_vs_table_pct", result.gpu && result.queueAttempts > 0 ? QJsonValue(100 * result.queueDeviceSlowness) : QJsonValue()},
                                                 {"device_slow_pct", 100 * kLiveDeviceSlowTolerance},
                                                 {"notice", QString::fromStdString(result.hostNotice)}}},
                            {"caller_idle", QJsonObject{{"gap_ms", row(result.callerIdleGapMs)}, {"extra_ms", row(result.callerIdleExtraMs)},
                                                        {"overhead_ms", result.callerOverheadMs},
                                                        {"scaled_to_queue_gap", result.idleCurveScaled}}},
                            // The idle phase's calls after gaps under 0.1 ms against the table's calls alone (p95 over
                            // the median): disturbed when the first spreads more than twice as far (checkIdlePhase)
                            {"idle_phase", QJsonObject{{"back_to_back_p95", result.idlePhase.backToBackP95},
                                                       {"calls_alone_p95", result.idlePhase.aloneP95},
                                                       {"disturbed", result.idlePhase.disturbed}}},
                            {"device_ms", deviceJson}, // the layers and copies alone, by CUDA events; like ms_by_concurrency
                            // like device_ms: the mean calls on the device while it held any (k where none waited off it)
                            {"device_in_flight", inFlightJson},
                            {"host_ms_samples", samplesJson}, // every timed call's host time, [concurrency][batch][call]
                            {"idle_host_ms_samples", idleSamplesJson},
                            // attempts[j][i]: the passes batch[i] with concurrency[j] calls in flight took until one agreed with the fastest
                            {"confirmation", QJsonObject{{"attempts", [&] {
                                                             QJsonArray a;
                                                             for (const auto& r : result.pointAttempts) {
                                                                 QJsonArray rowJson;
                                                                 for (int n : r)
                                                                     rowJson.append(n);
                                                                 a.append(rowJson);
                                                             }
                                                             return a;
                                                         }()},
                                                         {"max_attempts", request.sharing.pointAttempts},
                                                         {"notice", QString::fromStdString(result.confirmationNotice)}}},
                            {"settle", QJsonObject{{"skipped", result.settling.calls == 0 && result.settling.settled},
                                                   {"settled", result.settling.calls > 0 && result.settling.settled},
                                                   {"calls", result.settling.calls},
                                                   {"ms", result.settling.ms},
                                                   {"block_median_ms", row(result.settling.blockMedianMs)},
                                                   {"notice", QString::fromStdString(result.settling.notice())}}}};
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << yaml;
    }
    return status;
}

} // namespace knee::cli
