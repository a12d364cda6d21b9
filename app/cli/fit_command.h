// `knee fit SESSION.json --out TWIN.yaml [--sweep N] [--serial] [--no-cross-validation] [--json]`: a twin of
// the deployment an endpoint sweep measured (study/twin.h), and `knee sweep --target … --fit TWIN.yaml`.
#pragma once
#include "study/twin.h"

#include <QJsonObject>
#include <QStringList>

namespace knee::cli {

// The fit refused: the levels cannot identify a twin (stderr says why and what to measure next).
inline constexpr int kNoTwin = 4;

int runFit(const QStringList& args); // args[0] is "fit"

enum class FitOutput { Text, Json, Quiet }; // Quiet: only `report` (a caller that prints its own JSON)
// Fits `sweep`, writes the twin to `outPath` and reports (stdout; refusals on stderr). `report` receives
// the JSON form. Returns 0, kNoTwin, or 1 when the twin could not be written.
int fitAndWrite(const SweepResult& sweep, const TwinFitOptions& options, const QString& outPath, FitOutput output, QJsonObject& report);

} // namespace knee::cli
