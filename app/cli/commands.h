// The headless command line: `knee simulate|...` with --json output and exit codes. Names, flags and
// codes here are a public interface: keep them stable.
#pragma once
#include "sim/scenario.h"

#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

class QCommandLineOption;
class QCommandLineParser;

namespace knee {
struct PredictBackendInfo;
}
namespace knee::telemetry {
class GpuSampler;
}

namespace knee::cli {

// 0 ok; 2 bad input, found before anything ran (message on stderr); 1 the command ran but could not
// finish: an output could not be written (the others were; stderr names it) or the device failed.
enum ExitCode { kOk = 0, kFailure = 1, kBadInput = 2 };

// True when argv[1] names a headless command (or --help / --version), so main() can start
// without a display.
bool isHeadless(const QStringList& arguments);
// Runs a headless command; returns the process exit code.
int run(const QStringList& arguments);

// Shared by the commands. parseCommandLine parses `args` (args[0] is the command's name): it returns an
// exit code when the command ends here (help printed: 0; bad arguments reported on stderr: 2), or
// nothing when it should go on. readScenarioOrReport prints every problem of a scenario file on stderr.
std::optional<int> parseCommandLine(QCommandLineParser& parser, const QStringList& args);
// Every command's parser starts alike: its description (the head of --help), --help itself and, for the
// commands that run a scenario, the SCENARIO.yaml argument.
enum class Positional { None, Scenario };
void describeCommand(QCommandLineParser& parser, Positional positional, const QString& description);
// `text`, when given, receives the file as read (a session keeps it verbatim).
std::optional<Scenario> readScenarioOrReport(const QString& path, std::string* text = nullptr);
// What runs a live run's predict: the process's backend (sharedPredictBackend(), chosen on first use: the
// GPU's probe takes a moment) when the scenario names a model profile; null when its times are its own.
const PredictBackendInfo* predictBackendFor(const Scenario& scenario);
// The value of a --gpu-telemetry-ms option (0: off; else the sampler's period), `fallback` when it is
// not set; nothing (the problem reported on stderr, naming `command`) when it is not a valid period.
// The --gpu-telemetry-ms option: `use` says what it samples for, then its default and range follow.
QCommandLineOption gpuTelemetryOption(const QString& use, int defaultMs);
// A sampler of every GPU (NVML) started at this period, or none when it is 0 (off). Without a driver it
// starts anyway and says why it has nothing (its notice).
std::unique_ptr<telemetry::GpuSampler> startGpuSampler(int periodMs);
std::optional<int> gpuTelemetryMsOrReport(const QCommandLineParser& parser, const QCommandLineOption& option, int fallback,
                                          const char* command);
// A flag's value as a number from `lo` to `hi`; nothing, with "--NAME expects a number between LO and HI,
// got 'V'" in `error`, when it is not one (NaN and infinities included).
std::optional<double> numberOption(const QCommandLineParser& parser, const QCommandLineOption& option, double lo, double hi, QString& error);
// A flag's value as whole numbers from `lo` to `hi` separated by commas; nothing, with "--NAME expects whole
// numbers from LO to HI separated by commas, got 'PART'" in `error`, at the first part that is not one.
// "10,20,40.5": numbers from `lo` (above 0) to `hi`, for rates.
std::optional<std::vector<double>> positiveNumbersOption(const QCommandLineParser& parser, const QCommandLineOption& option, double lo,
                                                         double hi, QString& error);
std::optional<std::vector<int>> wholeNumbersOption(const QCommandLineParser& parser, const QCommandLineOption& option, int lo, int hi,
                                                   QString& error);
// Which of a session's `count` sweeps a --sweep flag picks, from 1 (unset: the last), as an index; nothing,
// with "--sweep expects a number from 1 to N, got 'V'" in `error`, when it names none.
std::optional<std::size_t> sweepIndexOption(const QCommandLineParser& parser, const QCommandLineOption& option, std::size_t count,
                                            QString& error);

} // namespace knee::cli
