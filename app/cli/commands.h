// The headless command line: `knee simulate|...` with --json output and exit codes
// (0 ok, 2 bad input). Names and flags here are a public interface: keep them stable.
#pragma once
#include <QStringList>

namespace knee::cli {

enum ExitCode { kOk = 0, kFailure = 1, kBadInput = 2 };

// True when argv[1] names a headless command (or --help / --version), so main() can start
// without a display.
bool isHeadless(const QStringList& arguments);
// Runs a headless command; returns the process exit code.
int run(const QStringList& arguments);

} // namespace knee::cli
