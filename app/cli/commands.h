// The headless command line: `knee simulate|...` with --json output and exit codes
// (0 ok, 2 bad input). Names and flags here are a public interface: keep them stable.
#pragma once
#include "sim/scenario.h"

#include <QStringList>

#include <optional>

class QCommandLineParser;

namespace knee::cli {

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
std::optional<Scenario> readScenarioOrReport(const QString& path);

} // namespace knee::cli
