// `knee sweep SCENARIO.yaml --virtual [--levels 1,2,4,…] [--slo-ms N] [--baseline-rps B --peak-rps P]
//  [--out SESSION.json] [--export config.yaml] [--export-autoscaling FILE.json]
//  [--export-knative FILE.yaml] [--csv FILE] [--json]`: seed 000's benchmarking process, the knee,
// and a recommendation with the rule behind each value.
#pragma once
#include <QStringList>

namespace knee::cli {
int runSweep(const QStringList& args); // args[0] is "sweep"
}
