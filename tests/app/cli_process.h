// Runs the knee binary as a user's script would, for the command-line tests (tst_cli*.cpp): exit code,
// stdout and stderr. A hang is killed and shows as exit -1, not as a stuck test.
#pragma once
#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>

#include <optional>

namespace kneecli {

struct CliResult {
    int exitCode = -1;
    QByteArray out, err;
    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
};

struct CliOptions {
    int timeoutMs = 120'000;
    int fileBlocks = -1; // >= 0: under `ulimit -f fileBlocks` (sh's blocks of 512 bytes; 0 = no file can grow)
    std::optional<QProcessEnvironment> environment;
};

inline CliResult runCli(const QString& binary, const QStringList& args, const CliOptions& o = {})
{
    QProcess p;
    if (o.fileBlocks >= 0) {
        p.setProgram(QStringLiteral("/bin/sh"));
        p.setArguments(QStringList{"-c", QStringLiteral("ulimit -f %1 && exec \"$0\" \"$@\"").arg(o.fileBlocks), binary} + args);
    } else {
        p.setProgram(binary);
        p.setArguments(args);
    }
    if (o.environment)
        p.setProcessEnvironment(*o.environment);
    p.start();
    if (!p.waitForFinished(o.timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    const bool ran = p.error() != QProcess::FailedToStart && p.exitStatus() == QProcess::NormalExit;
    return {ran ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
}

} // namespace kneecli (not in knee::, as the tests call their wrapper knee())
