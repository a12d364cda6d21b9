// `knee calibrate [--profile NAME] [--backend auto|cpu|gpu] [--batches 1,2,4,…] [--repeats N]
//  [--out TABLE.yaml] [--json]`: measures the predict stage's time per call against batch size on the
// backend at hand (the GPU when there is one, else the CPU, with a notice) and writes the
// model.predict_table a scenario uses, so virtual-time runs predict the real stage.
// `knee calibrate --check TABLE.yaml [--tolerance PCT]`: whether such a table still holds here.
#pragma once
#include <QStringList>

namespace knee::cli {
// --check: at some k, the live engine's queue run is further from virtual time on the table than --tolerance.
inline constexpr int kTableStale = 5;
int runCalibrate(const QStringList& args); // args[0] is "calibrate"
}
