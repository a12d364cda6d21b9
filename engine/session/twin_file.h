// From a sweep (a saved session's, or one just measured) to a twin's file: the fit's options from what the
// sweep recorded, and the file's text. The one path for `knee fit`, `knee sweep --fit` and the window's
// "Make a twin" (study/twin.h has the fit itself; the provenance is Scenario::twin).
#pragma once
#include "session/sweep_record.h"
#include "study/twin.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>

namespace knee {

// The fit's options for `sweep`: the endpoint (the target's URL, or the engine sweep's scenario), the
// mode, the client's max_connections and max_tokens from the target's JSON, when it was measured and
// from which session file (both optional).
TwinFitOptions twinFitOptions(const SweepResult& sweep, const QString& sessionPath = {}, const QDateTime& measuredAt = {});
// The open-loop levels of every rate sweep in `sweeps` that measured what `fitted` measured (the same target,
// or for the engine's sweeps the same scenario, in the same mode), into `o` (TwinFitOptions::rateLevels):
// they choose the twin's order, each replayed with its own sweep's arrivals.
void addRateLevels(TwinFitOptions& o, const SweepResult& fitted, const std::vector<SessionSweep>& sweeps);

struct TwinFileText {
    QByteArray text; // comments (where each value came from, the checks) + the scenario YAML with its twin: section
    QString error;   // set when there is no twin, or its text would not read back as the same scenario
};
TwinFileText twinFileText(const TwinFit& fit);

} // namespace knee
