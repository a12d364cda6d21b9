// `knee simulate SCENARIO.yaml [--json] [--seed N]`: run a scenario in virtual time.
#pragma once
#include <QStringList>

namespace knee::cli {
int runSimulate(const QStringList& args); // args[0] is "simulate"
}
