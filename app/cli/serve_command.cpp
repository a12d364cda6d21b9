#include "serve_command.h"

#include "commands.h"

#include "live/backend_executor.h"

#include "net/engine_server.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QTextStream>
#include <QTimer>

#include <csignal>

namespace knee::cli {

namespace {

volatile std::sig_atomic_t g_stopSignal = 0;
extern "C" void onStopSignal(int signal) { g_stopSignal = signal; }

} // namespace

int runServe(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Serve the scenario's engine over HTTP, live: POST /predict (generic JSON), POST /v1/chat/completions (OpenAI-compatible, "
        "stream true or false), GET /health. Each request is one request to the engine; the scenario's own workload is not run. "
        "Runs until Ctrl+C (SIGINT) or SIGTERM."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario file (YAML)."));
    const QCommandLineOption port(QStringLiteral("port"), QStringLiteral("TCP port (default 8080; 0 picks a free one)."), QStringLiteral("N"),
                                  QStringLiteral("8080"));
    const QCommandLineOption host(QStringLiteral("host"),
                                  QStringLiteral("Address to bind (default 127.0.0.1, loopback only). Another address exposes the "
                                                 "engine to the network: give it explicitly."),
                                  QStringLiteral("ADDRESS"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print one JSON line when listening (the bound address) and one when stopped (a summary)."));
    parser.addOptions({port, host, json});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        err << "knee serve: expected exactly one scenario file\nusage: knee serve SCENARIO.yaml [--port N] [--host ADDRESS] [--json]\n";
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
    const std::optional<Scenario> scenario = readScenarioOrReport(positional.first());
    if (!scenario)
        return kBadInput;

    net::EngineServer server(*scenario);
    if (const QString e = server.listen(address, quint16(portNumber)); !e.isEmpty()) {
        err << "knee serve: " << e << "\n";
        return kBadInput;
    }
    const QString url = QStringLiteral("http://%1:%2")
                            .arg(address.protocol() == QAbstractSocket::IPv6Protocol ? "[" + address.toString() + "]" : address.toString())
                            .arg(server.port());
    // What runs predict: the scenario's times, or its model on the GPU (the CPU, with why, without one).
    const QString predictStage = scenario->model.profile.empty()
        ? QStringLiteral("predict is timed from the scenario (no model profile)")
        : QStringLiteral("predict runs model '%1': %2")
              .arg(QString::fromStdString(scenario->model.profile), QString::fromStdString(sharedPredictBackend().notice));
    if (parser.isSet(json)) {
        out << QJsonDocument(QJsonObject{{"event", "listening"},
                                         {"predict_stage", predictStage},
                                         {"host", address.toString()},
                                         {"port", server.port()},
                                         {"url", url},
                                         {"scenario", QString::fromStdString(scenario->name)}})
                   .toJson(QJsonDocument::Compact)
            << "\n";
    } else {
        out << "knee serve: " << QString::fromStdString(scenario->name) << " on " << url
            << " (POST /predict, POST /v1/chat/completions, GET /health); Ctrl+C stops\n"
            << "knee serve: " << predictStage << "\n";
        if (!address.isLoopback())
            out << "knee serve: listening beyond loopback: anyone who reaches " << address.toString() << " can send load\n";
    }
    out.flush();

    // Signals only set a flag; a timer on the event loop notices it (nothing else is safe in a handler).
    std::signal(SIGINT, onStopSignal);
    std::signal(SIGTERM, onStopSignal);
    QTimer watch;
    QObject::connect(&watch, &QTimer::timeout, [&] {
        if (g_stopSignal)
            QCoreApplication::quit();
    });
    watch.start(100);
    QCoreApplication::exec();

    const QJsonObject summary = server.statsJson();
    if (parser.isSet(json)) {
        QJsonObject o = summary;
        o.insert("event", "stopped");
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << "knee serve: stopped after " << summary.value("requests").toInteger() << " requests (" << summary.value("completed").toInteger()
            << " completed, " << summary.value("failed").toInteger() << " failed, " << summary.value("rejected").toInteger() << " rejected, "
            << summary.value("bad_requests").toInteger() << " malformed)\n";
    }
    return kOk;
}

} // namespace knee::cli
