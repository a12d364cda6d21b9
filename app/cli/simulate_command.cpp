#include "simulate_command.h"

#include "commands.h"
#include "summary_format.h"

#include "live/live_run.h"
#include "study/request_log.h"
#include "study/run_summary.h"
#include "telemetry/gpu_telemetry.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTextStream>

#include <functional>
#include <memory>

namespace knee::cli {

namespace {

constexpr int kDefaultGpuTelemetryMs = 500;

QJsonValue fieldJson(const telemetry::FieldStats& f, double scale = 1)
{
    if (f.count == 0)
        return QJsonValue(); // the GPU never reported it (NVML: not supported)
    return QJsonObject{{"mean", f.mean() * scale}, {"min", f.min * scale}, {"max", f.max * scale}, {"samples", qint64(f.count)}};
}

// The run's GPU figures per GPU (NVML), or why there are none.
QJsonObject gpuTelemetryJson(const telemetry::GpuSampler* sampler)
{
    if (!sampler)
        return {{"available", false}, {"notice", "GPU telemetry off (--gpu-telemetry-ms 0)"}, {"gpus", QJsonArray()}};
    QJsonArray gpus;
    for (const telemetry::GpuSummary& g : sampler->summary())
        gpus.append(QJsonObject{{"index", g.index},
                                {"name", QString::fromStdString(g.name)},
                                {"samples", qint64(g.samples)},
                                {"utilization_pct", fieldJson(g.utilizationPct)},
                                {"memory_used_bytes", fieldJson(g.memoryUsedBytes)},
                                {"memory_total_bytes", g.memoryTotalBytes},
                                {"power_w", fieldJson(g.powerW)},
                                {"sm_clock_mhz", fieldJson(g.smClockMHz)}});
    return {{"available", sampler->available()},
            {"notice", QString::fromStdString(sampler->notice())},
            {"period_ms", sampler->periodMs()},
            {"gpus", gpus}};
}

QString gpuTelemetryText(const telemetry::GpuSampler* sampler)
{
    if (!sampler || !sampler->available() || sampler->gpuCount() == 0)
        return QStringLiteral("GPU telemetry: %1\n").arg(sampler ? QString::fromStdString(sampler->notice()) : QStringLiteral("off"));
    QString text;
    auto mean = [](const telemetry::FieldStats& f, double scale, int decimals) {
        return f.count ? QString::number(f.mean() * scale, 'f', decimals) : QStringLiteral("n/a");
    };
    for (const telemetry::GpuSummary& g : sampler->summary())
        text += QStringLiteral("GPU %1 (%2): utilisation %3 % mean (max %4), memory used %5 GiB max, power %6 W mean, SM clock %7 MHz mean; %8 samples\n")
                    .arg(g.index)
                    .arg(QString::fromStdString(g.name), mean(g.utilizationPct, 1, 0),
                         g.utilizationPct.count ? QString::number(g.utilizationPct.max, 'f', 0) : QStringLiteral("n/a"),
                         g.memoryUsedBytes.count ? QString::number(g.memoryUsedBytes.max / double(1 << 30), 'f', 2) : QStringLiteral("n/a"),
                         mean(g.powerW, 1, 0), mean(g.smClockMHz, 1, 0))
                    .arg(g.samples);
    return text;
}

} // namespace

int runSimulate(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::Scenario, QStringLiteral(
        "Run a scenario in virtual time (or, with --live, in wall-clock time on the real "
        "predict stage) and print what its users get."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Override the workload's random seed."), QStringLiteral("N"));
    const QCommandLineOption live(QStringLiteral("live"),
                                  QStringLiteral("Run in wall-clock time; with model.profile in the scenario, every predict call is a "
                                                 "forward pass of that model on the GPU (or the CPU, with a notice)."));
    const QCommandLineOption maxWall(QStringLiteral("max-wall-s"), QStringLiteral("--live: stop after this many seconds (default 600)."),
                                     QStringLiteral("S"), QStringLiteral("600"));
    const QCommandLineOption gpuTelemetry = gpuTelemetryOption(
        QStringLiteral("--live: sample every GPU through NVML this often and report a summary per GPU"), kDefaultGpuTelemetryMs);
    const QCommandLineOption requests(QStringLiteral("requests"),
                                      QStringLiteral("Write every request, one CSV row each as it ends, to FILE: its times "
                                                     "(intended, sent, ended, latency, the time in each stage), outcome, replica "
                                                     "and whether it is measured."),
                                      QStringLiteral("FILE"));
    parser.addOptions({json, seed, live, maxWall, gpuTelemetry, requests});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee simulate: expected exactly one scenario file, got " << positional.size() << "\n"
            << "usage: knee simulate SCENARIO.yaml [--json] [--seed N] [--requests FILE] [--live [--max-wall-s S] [--gpu-telemetry-ms MS]]\n";
        return kBadInput;
    }

    if (parser.isSet(maxWall) && !parser.isSet(live)) {
        err << "knee simulate: --max-wall-s limits a --live run; a virtual-time run takes no wall-time limit\n";
        return kBadInput;
    }
    if (parser.isSet(gpuTelemetry) && !parser.isSet(live)) {
        err << "knee simulate: --gpu-telemetry-ms samples the GPUs during a --live run; a virtual-time run uses none\n";
        return kBadInput;
    }
    const std::optional<int> gpuTelemetryMs = gpuTelemetryMsOrReport(parser, gpuTelemetry, kDefaultGpuTelemetryMs, "knee simulate");
    if (!gpuTelemetryMs)
        return kBadInput;
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
    bool ok = false;
    const double maxWallS = parser.value(maxWall).toDouble(&ok); // checked before --requests truncates its file
    if (!ok || !(maxWallS > 0) || maxWallS > 86400) {
        err << "knee simulate: --max-wall-s expects seconds in (0, 86400], got '" << parser.value(maxWall) << "'\n";
        return kBadInput;
    }
    // Opened before the run, so a path that cannot be written fails at once instead of after it.
    std::unique_ptr<RequestLog> log;
    std::function<void(const Request&)> observer;
    if (parser.isSet(requests)) {
        log = std::make_unique<RequestLog>(parser.value(requests).toStdString());
        if (!log->ok()) {
            err << "knee simulate: --requests: " << QString::fromStdString(log->error()) << "\n";
            return kBadInput;
        }
        observer = [&log](const Request& r) { log->record(r); };
    }
    // After the summary is printed (nothing of the run is lost): whether every row reached the file.
    const auto closeLog = [&]() {
        if (!log || log->close())
            return kOk;
        err << "knee simulate: --requests: " << QString::fromStdString(log->error()) << " (the summary above is complete)\n";
        return kBadInput;
    };

    if (!parser.isSet(live)) {
        const RunSummary summary = simulateScenario(scenario, observer);
        if (parser.isSet(json)) {
            QJsonObject o = toJson(summary);
            o.insert(QStringLiteral("file"), positional.first());
            o.insert(QStringLiteral("clock"), QStringLiteral("virtual"));
            insertTwin(o, scenario);
            out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
        } else {
            out << twinText(scenario);
            if (!scenario.model.profile.empty())
                out << "Virtual time: predict takes the scenario's times; --live runs model '"
                    << QString::fromStdString(scenario.model.profile) << "' itself.\n";
            out << toText(summary);
        }
        out.flush();
        return closeLog();
    }
    // GPU telemetry on its own thread for the run: NVML when a driver is there, a notice when not.
    const std::unique_ptr<telemetry::GpuSampler> gpus = startGpuSampler(*gpuTelemetryMs);
    const LiveRunResult result = runLive(scenario, maxWallS, predictBackendFor(scenario), observer);
    if (gpus)
        gpus->stop();
    if (parser.isSet(json)) {
        QJsonObject o = toJson(result.summary);
        o.insert(QStringLiteral("file"), positional.first());
        o.insert(QStringLiteral("clock"), QStringLiteral("live"));
        insertTwin(o, scenario);
        o.insert(QStringLiteral("predict_stage"), QString::fromStdString(result.predictStage));
        o.insert(QStringLiteral("real_predict"), result.realPredict);
        o.insert(QStringLiteral("load_started_s"), result.loadStartS);
        o.insert(QStringLiteral("replicas_ready_at_load"), result.replicasReadyAtLoad);
        o.insert(QStringLiteral("predict_errors"), qint64(result.predictErrors));
        o.insert(QStringLiteral("replica_start_failures"), qint64(result.replicaStartFailures));
        o.insert(QStringLiteral("last_predict_error"), QString::fromStdString(result.lastPredictError));
        o.insert(QStringLiteral("gpu_telemetry"), gpuTelemetryJson(gpus.get()));
        if (result.host.valid) // what the host took from the run (hypervisor steal): null where it cannot be read
            o.insert(QStringLiteral("host"), QJsonObject{{QStringLiteral("steal_pct"), result.host.stealPct},
                                                         {QStringLiteral("involuntary_switches"), qint64(result.host.involuntarySwitches)},
                                                         {QStringLiteral("disturbed"), result.host.disturbed()}});
        else
            o.insert(QStringLiteral("host"), QJsonValue());
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << twinText(scenario);
        out << "Live time: " << QString::fromStdString(result.predictStage) << "\n";
        if (result.loadStartS > 0 && result.replicasReadyAtLoad)
            out << "Load started at " << QString::number(result.loadStartS, 'f', 2)
                << " s, once the replicas had loaded their weights (warm-up and times count from there)\n";
        else if (!result.replicasReadyAtLoad)
            out << "Load started at " << QString::number(result.loadStartS, 'f', 2)
                << " s: the replicas had not finished starting within --max-wall-s\n";
        if (result.predictErrors || result.replicaStartFailures)
            out << "Predict errors: " << result.predictErrors << " failed calls, " << result.replicaStartFailures
                << " failed replica starts; last: " << QString::fromStdString(result.lastPredictError) << "\n";
        out << toText(result.summary);
        out << gpuTelemetryText(gpus.get());
    }
    out.flush();
    return closeLog();
}

} // namespace knee::cli
