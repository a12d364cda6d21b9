// The one way knee writes a file for the user: sessions (Save, autosave, `sweep --out`), the exports
// (Truss config.yaml, Baseten autoscaling JSON, Knative manifest, sweep CSV, charts) and
// `calibrate --out`. A file is written whole or not at all; on any failure the old file stays byte
// for byte as it was and the caller gets a message that says which file and why.
#pragma once
#include <QByteArray>
#include <QString>
#include <QStringList>

#include <string>

namespace knee {

// Empty when `path` can be written, else why not (nothing is touched). Checked before a sweep starts
// so that minutes of measuring are not lost to a typo: a directory, a device or a pipe (knee writes
// only regular files: a save over /dev/full would otherwise replace the device), a folder that is
// missing or is a file, a file or folder that cannot be written.
QString checkOutputFile(const QString& path);

// Writes `bytes` into `path` through a temporary file beside it, renamed over the target only when
// every write, the flush and the sync to disk succeeded. Empty = written; else the message.
QString writeOutputFile(const QString& path, const QByteArray& bytes);

// runtime.predict_concurrency into the Truss config.yaml at `path` (created when missing), with
// io::exportTrussConfig's edit and checks, read and written through the two functions above.
struct TrussFileExport {
    QString error;  // empty: done (or nothing to do, see notes)
    QStringList notes;
    bool predictConcurrencyWritten = false;
    bool fileChanged = false;
};
// `dryRun`: read, check and edit, but write nothing (the check before a sweep).
TrussFileExport exportIntoTrussConfig(const QString& path, int predictConcurrency, const std::string& modelName, bool dryRun = false);
// Whether the export can be made whatever predict_concurrency the sweep recommends: the file can be
// written and, when it exists, is read and edited (in a dry run). Empty = it can.
QString checkTrussConfigExport(const QString& path);

} // namespace knee
