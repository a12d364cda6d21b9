// `knee plan SCENARIO.yaml --baseline-rps B --peak-rps P [--throughput-rps T] [--buffer N]
//  [--hours H] [--slo-ms MS] [--cost-per-hour USD] [--json]`: min and max replicas from the
// throughput per replica (seed 000's rule), then a virtual-time check of the plan.
#pragma once
#include <QStringList>

namespace knee::cli {
int runPlan(const QStringList& args); // args[0] is "plan"
}
