#include "output_file.h"

#include "io/truss_config.h"
#include "io/user_file.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QThread>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace knee {

namespace {

QString systemError(int error) { return QString::fromLocal8Bit(std::strerror(error)); }

QString checkFolder(const QString& path)
{
    const QString folder = QFileInfo(path).absolutePath();
    struct stat st {};
    if (::stat(QFile::encodeName(folder).constData(), &st) != 0)
        return errno == ENOENT ? QStringLiteral("cannot write %1: the folder %2 does not exist").arg(path, folder)
                               : QStringLiteral("cannot write %1: %2: %3").arg(path, folder, systemError(errno));
    if (!S_ISDIR(st.st_mode))
        return QStringLiteral("cannot write %1: %2 is not a folder").arg(path, folder);
    // The new file is made beside the old one, then renamed over it: the folder must take new files.
    if (::access(QFile::encodeName(folder).constData(), W_OK | X_OK) != 0)
        return QStringLiteral("cannot write %1: cannot create files in %2: %3").arg(path, folder, systemError(errno));
    return {};
}

} // namespace

QString checkOutputFile(const QString& path)
{
    if (path.isEmpty())
        return QStringLiteral("no file name given");
    const QByteArray native = QFile::encodeName(path);
    struct stat st {};
    if (::stat(native.constData(), &st) != 0) {
        if (errno == ENOTDIR)
            return QStringLiteral("cannot write %1: %2 is not a folder").arg(path, QFileInfo(path).absolutePath());
        if (errno != ENOENT)
            return QStringLiteral("cannot write %1: %2").arg(path, systemError(errno));
        return checkFolder(path);
    }
    if (S_ISDIR(st.st_mode))
        return QStringLiteral("cannot write %1: it is a directory; give a file name").arg(path);
    if (!S_ISREG(st.st_mode))
        return QStringLiteral("cannot write %1: it is not a regular file (a device, pipe or socket); knee writes only regular files").arg(path);
    if (::access(native.constData(), W_OK) != 0)
        return QStringLiteral("cannot write %1: %2").arg(path, systemError(errno));
    // A link is replaced where it points (QSaveFile follows it): that folder takes the new file.
    return checkFolder(QFileInfo(path).canonicalFilePath());
}

QString writeOutputFile(const QString& path, const QByteArray& bytes)
{
    if (QString problem = checkOutputFile(path); !problem.isEmpty())
        return problem;
    const QString untouched = QFileInfo::exists(path) ? QStringLiteral("; the old file is as it was") : QStringLiteral("; nothing was written");
    auto failed = [&](const QString& why) { return QStringLiteral("cannot write %1: %2%3").arg(path, why, untouched); };
    QSaveFile f(path);
    // Unbuffered, so that each write() reaches the kernel and its error is seen here. Buffered, Qt 6.4's
    // QSaveFile::commit() ignored a failed flush of its buffer and renamed the empty temporary file over
    // the user's (a full disk gave a 0-byte config.yaml and "written"); later Qt versions check it.
    if (!f.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return failed(f.errorString());
    for (qint64 done = 0; done < bytes.size();) {
        const qint64 n = f.write(bytes.constData() + done, bytes.size() - done);
        if (n <= 0)
            return failed(f.errorString()); // ~QSaveFile discards the temporary file
        done += n;
    }
    if (!f.flush())
        return failed(f.errorString());
    // commit() syncs too but ignores the result; where space is allocated late (delayed allocation,
    // network file systems) a full disk is reported only here.
    if (::fsync(f.handle()) != 0 && errno != EINVAL)
        return failed(systemError(errno));
    // Test hook for tests/app/tst_crash_safety.cpp: with KNEE_TEST_STALL_SAVE_S=N set, a write stops for
    // N seconds between writing the temporary file and committing it, and says so on stderr, so the test
    // can SIGKILL the process at the worst moment. Unset (always, outside that test) it costs nothing.
    if (const int stallS = qEnvironmentVariableIntValue("KNEE_TEST_STALL_SAVE_S"); stallS > 0) {
        std::fprintf(stderr, "knee: test hook: %s written, stalled %d s before commit\n", qPrintable(path), stallS);
        std::fflush(stderr);
        QThread::sleep(static_cast<unsigned long>(stallS));
    }
    if (!f.commit())
        return failed(f.errorString());
    return {};
}

TrussFileExport exportIntoTrussConfig(const QString& path, int predictConcurrency, const std::string& modelName, bool dryRun)
{
    TrussFileExport out;
    if (QString problem = checkOutputFile(path); !problem.isEmpty()) {
        out.error = problem;
        return out;
    }
    const io::UserFileRead read = io::readUserFile(QFile::encodeName(path).toStdString(), io::kTrussConfigFile);
    if (!read.ok() && read.status != io::UserFileRead::Status::Missing) {
        out.error = QStringLiteral("cannot read %1: %2").arg(path, QString::fromStdString(read.error));
        return out;
    }
    const TrussExport e = exportTrussConfig(read.bytes, predictConcurrency, modelName);
    for (const std::string& n : e.notes)
        out.notes << QString::fromStdString(n);
    if (!e.error.empty()) {
        out.error = QStringLiteral("%1: %2").arg(path, QString::fromStdString(e.error));
        return out;
    }
    out.fileChanged = !read.ok() || e.text != read.bytes;
    if (!dryRun && out.fileChanged)
        out.error = writeOutputFile(path, QByteArray::fromStdString(e.text));
    out.predictConcurrencyWritten = out.error.isEmpty() && e.predictConcurrencyWritten;
    return out;
}

QString checkTrussConfigExport(const QString& path)
{
    // Two values: whatever the file holds, at least one of them is an edit, not "already so".
    for (int predictConcurrency : {1, 2})
        if (const TrussFileExport e = exportIntoTrussConfig(path, predictConcurrency, "check", true); !e.error.isEmpty())
            return e.error;
    return {};
}

} // namespace knee
