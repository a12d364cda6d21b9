// A benchmark session: the scenario it was run on (its YAML, verbatim), every sweep with its options,
// per-level statistics and latency histograms, the analysis and recommendation, and the user's notes.
// Saved as versioned JSON (Qt Core, no Widgets), written atomically; a file that is damaged, from a
// newer knee, or inconsistent is refused whole with a clear message, never half-loaded.
#pragma once
#include "io/user_file.h"
#include "sweep_record.h"

#include <QString>

#include <optional>
#include <vector>

namespace knee {

struct Session {
    // 2: the saturation rule (issue 20): sweeps carry saturation, extended levels and the target's basis,
    // options the saturation tolerance and the extension limit. Version 1 files still open: their
    // recommendation is recomputed by the current rule, and only the knee is checked against the file.
    // 3: sweeps and grids are sweep records (sweep_record.h), the shape `knee sweep --json` prints.
    // 4: a grid names the sweep it followed and sets that sweep's concurrency target with its
    // predict_concurrency (applyGridChoice); format 3 files still open, their grid then set the target.
    static constexpr int kFormatVersion = 4;
    QString scenarioYaml;
    QString scenarioSource; // where it came from, for the title
    std::vector<SessionSweep> sweeps;
    std::vector<SessionGrid> grids;
    QString notes;
};

struct SessionLoad {
    std::optional<Session> session;
    QString error; // set when session is empty
};

QByteArray serializeSession(const Session& session); // deterministic: same session, same bytes
SessionLoad parseSession(const QByteArray& bytes, const QString& sourceName);
// Through writeOutputFile (output_file.h): empty = saved whole; on failure the old file is kept.
QString saveSession(const Session& session, const QString& path);
// Through io::readUserFile: a directory, a pipe, a device or a file over 64 MiB is refused as such.
SessionLoad loadSession(const QString& path);

inline constexpr qint64 kMaxSessionBytes = qint64(io::kSessionFile.maxBytes);

} // namespace knee
