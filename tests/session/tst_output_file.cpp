// writeOutputFile, the one writer of files for the user (sessions, exports, calibrate --out): a
// failed write at any step leaves the old file byte for byte as it was, leaves nothing beside it, and
// says which file and why. The full disk is a file size limit (RLIMIT_FSIZE): the kernel fails the
// write() as ENOSPC would, and unlike a tiny tmpfs it needs no root. Before the fix, Qt 6.4's
// QSaveFile renamed the empty temporary file over the user's and reported success.
#include "session/output_file.h"
#include "session/session.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

using namespace knee;

namespace {
// For the scope: files this process writes are limited to `bytes` (a full disk, as write() sees it).
struct FileSizeLimit {
    rlimit saved{};
    explicit FileSizeLimit(rlim_t bytes)
    {
        ::getrlimit(RLIMIT_FSIZE, &saved);
        rlimit l = saved;
        l.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &l);
    }
    ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved); }
};

const QByteArray kOld = "the user's good file\n";

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("(unreadable)");
}
bool isRoot() { return ::geteuid() == 0; }

// /dev/full, or as root a node of the same device in `dir`: QSaveFile renames a temporary file over
// its target, so a regression that wrote to a device as root would replace the machine's /dev/full
// with a regular file (the old writer did exactly that). Empty when neither is there.
QString fullDevice(const QTemporaryDir& dir)
{
    if (!isRoot())
        return QFile::exists("/dev/full") ? QStringLiteral("/dev/full") : QString();
    const QString path = dir.filePath("full");
    return ::mknod(QFile::encodeName(path).constData(), S_IFCHR | 0666, makedev(1, 7)) == 0 ? path : QString();
}
} // namespace

class TestOutputFile : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        std::signal(SIGXFSZ, SIG_IGN); // as knee's main() does: a size limit is an error to report
    }

    void failedWriteKeepsTheOldFile_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("disk full at the first byte") << "limit 0" << "File too large; the old file is as it was";
        QTest::addRow("disk full part way") << "limit 100" << "File too large; the old file is as it was";
        QTest::addRow("/dev/full as the target") << "/dev/full" << "not a regular file";
        QTest::addRow("a directory as the target") << "directory" << "it is a directory";
        QTest::addRow("the folder is missing") << "missing folder" << "does not exist";
        QTest::addRow("the folder is a file") << "folder is a file" << "is not a folder";
        QTest::addRow("a folder that takes no files (0555)") << "read-only folder" << "cannot create files in";
        QTest::addRow("a read-only file (0444)") << "read-only file" << "Permission denied";
    }
    void failedWriteKeepsTheOldFile()
    {
        QFETCH(QString, what);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        const QString good = dir.filePath("good.json");
        QFile f(good);
        QVERIFY(f.open(QIODevice::WriteOnly) && f.write(kOld) == kOld.size());
        f.close();
        QString target = good;
        std::optional<FileSizeLimit> limit;
        if (what == "limit 0")
            limit.emplace(0);
        else if (what == "limit 100")
            limit.emplace(100);
        else if (what == "/dev/full" && (target = fullDevice(dir)).isEmpty())
            QSKIP("no /dev/full here");
        else if (what == "directory")
            target = dir.path();
        else if (what == "missing folder")
            target = dir.filePath("no/such/folder/out.json");
        else if (what == "folder is a file")
            target = good + "/out.json";
        else if (what == "read-only folder" || what == "read-only file") {
            if (isRoot())
                QSKIP("root writes whatever the permissions say (the folder-is-a-file row covers root)");
            QVERIFY(QFile::setPermissions(what == "read-only folder" ? dir.path() : good,
                                          QFileDevice::ReadOwner | QFileDevice::ExeOwner | QFileDevice::ReadUser | QFileDevice::ExeUser));
        }
        const QByteArray bytes(4096, 'n');
        const QString error = writeOutputFile(target, bytes);
        limit.reset();
        QFile::setPermissions(dir.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        QVERIFY2(error.contains(fragment), qPrintable(error));
        QVERIFY2(error.contains(target), qPrintable(error)); // says which file
        QCOMPARE(readAll(good), kOld); // byte for byte
        QStringList expected{"good.json"};
        if (what == "/dev/full") {
            struct stat st {};
            QVERIFY(::stat(QFile::encodeName(target).constData(), &st) == 0 && S_ISCHR(st.st_mode)); // still the device
            if (target.startsWith(dir.path()))
                expected.prepend("full");
        }
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot), expected);
    }

    void writesWholeFiles_data()
    {
        QTest::addColumn<bool>("existing");
        QTest::addColumn<int>("size");
        QTest::addRow("new, empty") << false << 0;
        QTest::addRow("new, 1 MiB") << false << (1 << 20);
        QTest::addRow("replacing, 100 bytes") << true << 100;
    }
    void writesWholeFiles()
    {
        QFETCH(bool, existing);
        QFETCH(int, size);
        QTemporaryDir dir;
        const QString path = dir.filePath("out.bin");
        if (existing) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly) && f.write(kOld) == kOld.size());
        }
        QByteArray bytes(size, '\0');
        for (int i = 0; i < size; ++i)
            bytes[i] = char(i * 7);
        QCOMPARE(writeOutputFile(path, bytes), QString());
        QCOMPARE(readAll(path), bytes);
    }

    // The session and the Truss config go through the same writer: a full disk keeps both as they were.
    void sessionAndConfigKeptOnAFullDisk()
    {
        QTemporaryDir dir;
        const QString session = dir.filePath("s.json"), config = dir.filePath("config.yaml");
        const QByteArray configText = "model_name: m\nruntime:\n  predict_concurrency: 2\n";
        for (const auto& [path, bytes] : {std::pair(session, kOld), std::pair(config, configText)}) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size());
        }
        QString saveError;
        TrussFileExport exported;
        {
            FileSizeLimit full(0);
            saveError = saveSession(Session{}, session);
            exported = exportIntoTrussConfig(config, 8, "m");
        }
        QVERIFY2(saveError.contains("File too large"), qPrintable(saveError));
        QVERIFY2(exported.error.contains("File too large"), qPrintable(exported.error));
        QVERIFY(!exported.predictConcurrencyWritten);
        QCOMPARE(readAll(session), kOld);
        QCOMPARE(readAll(config), configText);
    }

    // What `sweep --export` checks before it runs: a target it could not read, edit or write is known
    // before the minutes of measuring, not after.
    void trussConfigTargetsCheckedFirst_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("/dev/zero") << "/dev/zero" << "not a regular file";
        QTest::addRow("/dev/full") << "/dev/full" << "not a regular file";
        QTest::addRow("a FIFO") << "fifo" << "not a regular file";
        QTest::addRow("a directory") << "directory" << "it is a directory";
        QTest::addRow("17 MiB") << "17MiB" << "a Truss config.yaml is limited to 16.0 MiB";
        QTest::addRow("broken YAML") << "broken" << "does not parse";
        QTest::addRow("predict_concurrency twice") << "twice" << "written 2 times";
        QTest::addRow("missing: created later") << "missing" << "";
        QTest::addRow("a good config") << "good" << "";
    }
    void trussConfigTargetsCheckedFirst()
    {
        QFETCH(QString, what);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QString path = dir.filePath("config.yaml");
        QFile f(path);
        if (what == "/dev/full" && (path = fullDevice(dir)).isEmpty())
            QSKIP("no /dev/full here");
        else if (what == "/dev/zero")
            path = what;
        else if (what == "fifo")
            QVERIFY(::mkfifo(QFile::encodeName(path).constData(), 0600) == 0);
        else if (what == "directory")
            path = dir.path();
        else if (what == "17MiB")
            QVERIFY(f.open(QIODevice::WriteOnly) && f.resize(17 << 20));
        else if (what != "missing")
            QVERIFY(f.open(QIODevice::WriteOnly)
                    && f.write(what == "broken" ? "model_name: [\n"
                                : what == "twice" ? "runtime:\n  predict_concurrency: 1\n  predict_concurrency: 2\n"
                                                  : "model_name: m\n")
                        > 0);
        f.close();
        const QByteArray before = what.startsWith("/") || what == "fifo" || what == "directory" ? QByteArray() : readAll(path);
        struct stat st {};
        const QString error = checkTrussConfigExport(path);
        if (fragment.isEmpty())
            QVERIFY2(error.isEmpty(), qPrintable(error));
        else
            QVERIFY2(error.contains(fragment), qPrintable(error));
        if (what == "missing")
            QVERIFY(!QFile::exists(path)); // a check, not a write
        else if (what.startsWith("/"))
            QVERIFY(::stat(QFile::encodeName(path).constData(), &st) == 0 && S_ISCHR(st.st_mode));
        else if (!before.isEmpty())
            QCOMPARE(readAll(path), before);
    }
};

QTEST_GUILESS_MAIN(TestOutputFile)
#include "tst_output_file.moc"
