// The files `knee sweep` writes: --out (session), --csv, --export (Truss config.yaml),
// --export-autoscaling and --export-knative. Every target is checked before the sweep starts (a
// directory, a device, an unreadable or oversized config, a missing folder: exit 2, nothing run), so
// a live sweep's minutes are not lost to a typo; after it, each is written whole or not at all, and
// one that still fails does not stop the others: each failure is named, and the exit code says so.
#pragma once
#include "session/session.h"
#include "sim/scenario.h"
#include "study/sweep.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

class QTextStream;

namespace knee::cli {

struct SweepOutputs {
    QString session, csv, trussConfig, autoscaling, knative; // empty: not asked for
};

// Every problem with the targets, one message each ("--csv out/: cannot write out/: it is a
// directory; give a file name"); empty when all can be written.
QStringList checkSweepOutputs(const SweepOutputs& outputs);

// Writes every output asked for from the result (and `session`, for --out). Reports each failure on
// `err` and in exports.not_written, writes the others, and returns kOk, or kFailure when any could not be written.
int writeSweepOutputs(const SweepOutputs& outputs, const SweepResult& result, const Scenario& scenario, const Session& session,
                      QJsonObject& exports, QTextStream& err);

} // namespace knee::cli
