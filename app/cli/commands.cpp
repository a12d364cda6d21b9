#include "commands.h"

#include "calibrate_command.h"
#include "fit_command.h"
#include "import_command.h"
#include "plan_command.h"
#include "report_command.h"
#include "serve_command.h"
#include "simulate_command.h"
#include "sweep_command.h"

#include "io/scenario_reader.h"
#include "live/backend_executor.h"
#include "telemetry/gpu_telemetry.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

#include <cmath>

namespace knee::cli {

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const QStringList& args);
};

const Command kCommands[] = {
    {"simulate", "run a scenario in virtual time and print what users get", runSimulate},
    {"plan", "min/max replicas from throughput per replica, checked by simulation", runPlan},
    {"sweep", "concurrency levels 1, 2, 4, ...: the knee and a recommendation; exports", runSweep},
    {"calibrate", "measure the predict stage's time per call vs batch size (GPU, else CPU)", runCalibrate},
    {"serve", "serve the scenario's engine over HTTP (generic JSON, OpenAI-compatible streaming)", runServe},
    {"report", "a saved session as one self-contained HTML report (charts, levels, recommendation)", runReport},
    {"import", "a load generator's per-request records (knee's Locust spool, k6's JSON output) as a session", runImport},
    {"fit", "a twin of the deployment an endpoint sweep measured: a scenario to simulate what-ifs on", runFit},
};

QString usage()
{
    QString text = QStringLiteral(
        "Usage: knee [COMMAND] [OPTIONS]\n"
        "\n"
        "Without a command, knee opens the workbench window (on SCENARIO.yaml if given).\n"
        "  --screenshot FILE.png [--after SECONDS]   open the window, let the default run go on, save a grab, exit\n"
        "\n"
        "Commands (headless; each takes --help and --json):\n");
    for (const Command& c : kCommands)
        text += QStringLiteral("  %1  %2\n").arg(QString::fromLatin1(c.name), -10).arg(QString::fromLatin1(c.summary));
    text += QStringLiteral("\nExit codes: 0 ok; 2 bad input, nothing run (the message is on stderr); 1 it ran but could not finish\n"
                           "(an output could not be written, the others were; or the device failed); 3 nothing measured (sweep); 4 no twin\n"
                           "(fit: the levels cannot identify one; stderr says what to measure next).\n");
    return text;
}

} // namespace

bool isHeadless(const QStringList& arguments)
{
    if (arguments.size() < 2)
        return false;
    const QString first = arguments.at(1);
    if (first == QLatin1String("--help") || first == QLatin1String("-h") || first == QLatin1String("--version"))
        return true;
    if (first.endsWith(QLatin1String(".yaml")) || first.endsWith(QLatin1String(".yml")))
        return false; // `knee SCENARIO.yaml` opens the window on that scenario
    return !first.startsWith(QLatin1Char('-')); // any other word is a command; unknown ones get an error, not a window
}

int run(const QStringList& arguments)
{
    QTextStream out(stdout), err(stderr);
    const QString first = arguments.value(1);
    if (first == QLatin1String("--help") || first == QLatin1String("-h")) {
        out << usage();
        return kOk;
    }
    if (first == QLatin1String("--version")) {
        out << "knee " << QCoreApplication::applicationVersion() << '\n';
        return kOk;
    }
    for (const Command& c : kCommands)
        if (first == QLatin1String(c.name))
            return c.run(arguments.mid(1));
    err << "knee: unknown command '" << first << "'\n\n" << usage();
    return kBadInput;
}

std::optional<int> gpuTelemetryMsOrReport(const QCommandLineParser& parser, const QCommandLineOption& option, int fallback,
                                          const char* command)
{
    if (!parser.isSet(option))
        return fallback;
    bool ok = false;
    const int ms = parser.value(option).toInt(&ok);
    if (ok && (ms == 0 || (ms >= telemetry::GpuSampler::kMinPeriodMs && ms <= telemetry::GpuSampler::kMaxPeriodMs)))
        return ms;
    QTextStream(stderr) << command << ": --gpu-telemetry-ms expects 0 (off) or milliseconds from " << telemetry::GpuSampler::kMinPeriodMs
                        << " to " << telemetry::GpuSampler::kMaxPeriodMs << ", got '" << parser.value(option) << "'\n";
    return std::nullopt;
}

const PredictBackendInfo* predictBackendFor(const Scenario& scenario)
{
    return scenario.model.profile.empty() ? nullptr : &sharedPredictBackend();
}

std::optional<double> numberOption(const QCommandLineParser& parser, const QCommandLineOption& option, double lo, double hi, QString& error)
{
    bool ok = false;
    const double v = parser.value(option).toDouble(&ok);
    if (!ok || !std::isfinite(v) || v < lo || v > hi) {
        error = QStringLiteral("--%1 expects a number between %2 and %3, got '%4'").arg(option.names().first()).arg(lo).arg(hi).arg(parser.value(option));
        return std::nullopt;
    }
    return v;
}

std::optional<std::size_t> sweepIndexOption(const QCommandLineParser& parser, const QCommandLineOption& option, std::size_t count,
                                            QString& error)
{
    if (!parser.isSet(option))
        return count - 1;
    bool ok = false;
    const qlonglong n = parser.value(option).toLongLong(&ok);
    if (!ok || n < 1 || std::size_t(n) > count) {
        error = QStringLiteral("--%1 expects a number from 1 to %2, got '%3'").arg(option.names().first()).arg(count).arg(parser.value(option));
        return std::nullopt;
    }
    return std::size_t(n - 1);
}

std::optional<std::vector<int>> wholeNumbersOption(const QCommandLineParser& parser, const QCommandLineOption& option, int lo, int hi,
                                                   QString& error)
{
    std::vector<int> out;
    for (const QString& part : parser.value(option).split(QLatin1Char(','))) {
        bool ok = false;
        const int v = part.trimmed().toInt(&ok);
        if (!ok || v < lo || v > hi) {
            error = QStringLiteral("--%1 expects whole numbers from %2 to %3 separated by commas, got '%4'").arg(option.names().first()).arg(lo).arg(hi).arg(part);
            return std::nullopt;
        }
        out.push_back(v);
    }
    return out;
}

std::optional<std::vector<double>> positiveNumbersOption(const QCommandLineParser& parser, const QCommandLineOption& option, double lo,
                                                         double hi, QString& error)
{
    std::vector<double> out;
    for (const QString& part : parser.value(option).split(QLatin1Char(','))) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(v) || v < lo || v > hi) {
            error = QStringLiteral("--%1 expects numbers from %2 to %3 separated by commas, got '%4'")
                        .arg(option.names().first())
                        .arg(lo)
                        .arg(hi, 0, 'f', 0)
                        .arg(part);
            return std::nullopt;
        }
        out.push_back(v);
    }
    return out;
}

QCommandLineOption gpuTelemetryOption(const QString& use, int defaultMs)
{
    return QCommandLineOption(QStringLiteral("gpu-telemetry-ms"),
                              QStringLiteral("%1 (default %2; 0 turns it off; %3 to %4).")
                                  .arg(use)
                                  .arg(defaultMs)
                                  .arg(telemetry::GpuSampler::kMinPeriodMs)
                                  .arg(telemetry::GpuSampler::kMaxPeriodMs),
                              QStringLiteral("MS"));
}

std::unique_ptr<telemetry::GpuSampler> startGpuSampler(int periodMs)
{
    if (periodMs <= 0)
        return nullptr;
    auto sampler = std::make_unique<telemetry::GpuSampler>(periodMs);
    sampler->start();
    return sampler;
}

void describeCommand(QCommandLineParser& parser, Positional positional, const QString& description)
{
    parser.setApplicationDescription(description);
    parser.addHelpOption();
    if (positional == Positional::Scenario)
        parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario file (YAML)."));
}

std::optional<int> parseCommandLine(QCommandLineParser& parser, const QStringList& args)
{
    const QString name = QStringLiteral("knee ") + args.value(0);
    QStringList argv = args; // the parser takes args[0] as the program
    argv[0] = name;
    if (!parser.parse(argv)) {
        QTextStream(stderr) << name << ": " << parser.errorText() << "\n";
        return kBadInput;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return kOk;
    }
    return std::nullopt;
}

std::optional<Scenario> readScenarioOrReport(const QString& path, std::string* text)
{
    ScenarioReadResult read = readScenarioFile(path.toStdString(), text);
    if (!read.ok()) {
        QTextStream err(stderr);
        for (const auto& e : read.errors)
            err << QString::fromStdString(e.toString()) << "\n";
        return std::nullopt;
    }
    return std::move(read.scenario);
}

} // namespace knee::cli
