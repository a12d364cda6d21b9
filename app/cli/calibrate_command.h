// `knee calibrate [--profile NAME] [--backend auto|cpu|gpu] [--batches 1,2,4,…] [--repeats N]
//  [--out TABLE.yaml] [--json]`: measures the predict stage's time per call against batch size on the
// backend at hand (the GPU when there is one, else the CPU, with a notice) and writes the
// model.predict_table a scenario uses, so virtual-time runs predict the real stage.
#pragma once
#include <QStringList>

namespace knee::cli {
int runCalibrate(const QStringList& args); // args[0] is "calibrate"
}
