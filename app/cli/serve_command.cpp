#include "serve_command.h"

#include "commands.h"

#include "live/backend_executor.h"

#include "net/engine_server.h"
#include "telemetry/gpu_telemetry.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QTextStream>
#include <QTimer>

#include <csignal>
#include <memory>

namespace knee::cli {

namespace {

constexpr int kDefaultDrainMs = 10'000;
constexpr int kMaxTimeoutMs = 3'600'000; // one hour
constexpr int kDefaultGpuTelemetryMs = 1000;

volatile std::sig_atomic_t g_stopSignals = 0; // how many SIGINT, SIGTERM or SIGHUP came
extern "C" void onStopSignal(int) { g_stopSignals = g_stopSignals + 1; }

} // namespace

int runServe(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::Scenario, QStringLiteral(
        "Serve the scenario's engine over HTTP, live: POST /predict (generic JSON), POST /v1/chat/completions (OpenAI-compatible, "
        "stream true or false), GET /health, GET /metrics (Prometheus text format). Each request is one request to the engine; the scenario's own workload is not run. "
        "Runs until Ctrl+C (SIGINT), SIGTERM or SIGHUP: then it stops accepting, lets the requests in flight finish (up to "
        "--drain-timeout-ms; what is left is answered 503), and prints a summary. A second signal stops at once."));
    const QCommandLineOption port(QStringLiteral("port"), QStringLiteral("TCP port (default 8080; 0 picks a free one)."), QStringLiteral("N"),
                                  QStringLiteral("8080"));
    const QCommandLineOption host(QStringLiteral("host"),
                                  QStringLiteral("Address to bind (default 127.0.0.1, loopback only). Another address exposes the "
                                                 "engine to the network: give it explicitly."),
                                  QStringLiteral("ADDRESS"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print one JSON line when listening (the bound address) and one when stopped (a summary)."));
    // Per-connection time limits (HttpServerLimits): a slow or silent client is closed, never kept.
    const net::HttpServerLimits defaults;
    const QCommandLineOption headerTimeout(
        QStringLiteral("header-timeout-ms"),
        QStringLiteral("Longest time for a request's head, from its first byte (a new connection's: from connecting); then 408 and "
                       "close (default %1).").arg(defaults.headerTimeoutMs),
        QStringLiteral("MS"));
    const QCommandLineOption bodyTimeout(QStringLiteral("body-timeout-ms"),
                                         QStringLiteral("Longest time for a request's body, from the end of its head; then 408 and close "
                                                        "(default %1).").arg(defaults.bodyTimeoutMs),
                                         QStringLiteral("MS"));
    const QCommandLineOption idleTimeout(QStringLiteral("idle-timeout-ms"),
                                         QStringLiteral("A keep-alive connection with nothing to do is closed after this; so is one whose "
                                                        "client takes none of its answer for this long (default %1).").arg(defaults.idleTimeoutMs),
                                         QStringLiteral("MS"));
    const QCommandLineOption drainTimeout(QStringLiteral("drain-timeout-ms"),
                                          QStringLiteral("At a stop signal, longest wait for the requests in flight (default %1); then "
                                                         "they are answered 503.").arg(kDefaultDrainMs),
                                          QStringLiteral("MS"));
    const QCommandLineOption gpuTelemetry =
        gpuTelemetryOption(QStringLiteral("Sample every GPU through NVML this often for /metrics"), kDefaultGpuTelemetryMs);
    parser.addOptions({port, host, json, headerTimeout, bodyTimeout, idleTimeout, drainTimeout, gpuTelemetry});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee serve: expected exactly one scenario file\nusage: knee serve SCENARIO.yaml [--port N] [--host ADDRESS] [--json] "
               "[--header-timeout-ms MS] [--body-timeout-ms MS] [--idle-timeout-ms MS] [--drain-timeout-ms MS] [--gpu-telemetry-ms MS]\n";
        return kBadInput;
    }
    bool portOk = false;
    const uint portNumber = parser.value(port).toUInt(&portOk);
    if (!portOk || portNumber > 65535) {
        err << "knee serve: --port expects a number from 0 to 65535, got '" << parser.value(port) << "'\n";
        return kBadInput;
    }
    const QHostAddress address(parser.value(host));
    if (address.isNull()) {
        err << "knee serve: --host expects an IP address (e.g. 127.0.0.1 or ::1), got '" << parser.value(host) << "'\n";
        return kBadInput;
    }
    net::HttpServerLimits limits;
    int drainMs = kDefaultDrainMs;
    for (const auto& [option, into] : {std::pair{&headerTimeout, &limits.headerTimeoutMs}, std::pair{&bodyTimeout, &limits.bodyTimeoutMs},
                                       std::pair{&idleTimeout, &limits.idleTimeoutMs}, std::pair{&drainTimeout, &drainMs}}) {
        if (!parser.isSet(*option))
            continue;
        bool ok = false;
        const int ms = parser.value(*option).toInt(&ok);
        if (!ok || ms < 1 || ms > kMaxTimeoutMs) {
            err << "knee serve: --" << option->names().first() << " expects a whole number of milliseconds from 1 to " << kMaxTimeoutMs
                << ", got '" << parser.value(*option) << "'\n";
            return kBadInput;
        }
        *into = ms;
    }
    const std::optional<int> gpuTelemetryMs = gpuTelemetryMsOrReport(parser, gpuTelemetry, kDefaultGpuTelemetryMs, "knee serve");
    if (!gpuTelemetryMs)
        return kBadInput;
    const std::optional<Scenario> scenario = readScenarioOrReport(positional.first());
    if (!scenario)
        return kBadInput;

    const PredictBackendInfo* backend = predictBackendFor(*scenario);
    net::EngineServer server(*scenario, backend, limits);
    // GPU telemetry for /metrics: NVML when a driver is there; a notice (never a failure) when not.
    const std::unique_ptr<telemetry::GpuSampler> gpus = startGpuSampler(*gpuTelemetryMs);
    QString gpuNotice = QStringLiteral("GPU telemetry off (--gpu-telemetry-ms 0)");
    if (gpus) {
        gpuNotice = QString::fromStdString(gpus->notice());
        server.setGpuSampler(gpus.get());
    }
    if (const QString e = server.listen(address, quint16(portNumber)); !e.isEmpty()) {
        err << "knee serve: " << e << "\n";
        return kBadInput;
    }
    const QString url = QStringLiteral("http://%1:%2")
                            .arg(address.protocol() == QAbstractSocket::IPv6Protocol ? "[" + address.toString() + "]" : address.toString())
                            .arg(server.port());
    // Signals only count; a timer on the event loop notices (nothing else is safe in a handler). The
    // first drains (the clients in flight get their answers), a second stops at once. SIGHUP (the
    // terminal went away) stops it the same way, summary included. Installed before the listening line,
    // so that a script that signals as soon as it reads that line gets the summary, not a killed process.
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    std::signal(SIGHUP, onStopSignal);
    // What runs predict: the scenario's times, or its model on the GPU (the CPU, with why, without one).
    const QString predictStage = scenario->model.profile.empty()
        ? QStringLiteral("predict is timed from the scenario (no model profile)")
        : QStringLiteral("predict runs model '%1': %2")
              .arg(QString::fromStdString(scenario->model.profile), QString::fromStdString(backend->notice));
    if (parser.isSet(json)) {
        out << QJsonDocument(QJsonObject{{"event", "listening"},
                                         {"predict_stage", predictStage},
                                         {"host", address.toString()},
                                         {"port", server.port()},
                                         {"url", url},
                                         {"metrics", url + "/metrics"},
                                         {"gpu_telemetry", gpuNotice},
                                         {"scenario", QString::fromStdString(scenario->name)}})
                   .toJson(QJsonDocument::Compact)
            << "\n";
    } else {
        out << "knee serve: " << QString::fromStdString(scenario->name) << " on " << url
            << " (POST /predict, POST /v1/chat/completions, GET /health, GET /metrics); Ctrl+C stops\n"
            << "knee serve: " << predictStage << "\n"
            << "knee serve: " << gpuNotice << "\n";
        if (!address.isLoopback())
            out << "knee serve: listening beyond loopback: anyone who reaches " << address.toString() << " can send load\n";
    }
    out.flush();

    QObject::connect(&server, &net::EngineServer::stopped, [] { QCoreApplication::quit(); });
    QTimer watch;
    bool draining = false;
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (g_stopSignals >= 2) {
            QCoreApplication::quit();
        } else if (g_stopSignals == 1 && !draining) {
            draining = true;
            if (!parser.isSet(json) && server.inFlight() > 0) {
                out << "knee serve: stopping: waiting up to " << drainMs << " ms for " << server.inFlight()
                    << " requests in flight (a second signal stops at once)\n";
                out.flush();
            }
            server.shutdown(drainMs);
        }
    });
    watch.start(50);
    QCoreApplication::exec();

    const QJsonObject summary = server.statsJson();
    if (parser.isSet(json)) {
        QJsonObject o = summary;
        o.insert("event", "stopped");
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << "knee serve: stopped after " << summary.value("requests").toInteger() << " requests (" << summary.value("completed").toInteger()
            << " completed, " << summary.value("failed").toInteger() << " failed, " << summary.value("rejected").toInteger() << " rejected, "
            << summary.value("bad_requests").toInteger() << " malformed";
        if (const qint64 unfinished = summary.value("unfinished_at_stop").toInteger())
            out << ", " << unfinished << " unfinished at the stop, answered 503";
        if (const qint64 timedOut = summary.value("timed_out").toInteger())
            out << ", " << timedOut << " timed out (408)";
        out << ")\n";
    }
    return kOk;
}

} // namespace knee::cli
