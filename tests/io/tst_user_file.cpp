// io::readUserFile, the one reader of a path the user names (scenario, trace, session, Truss
// config.yaml, body template): whatever is at the path, it returns promptly with the file or a
// message saying what is there, and never reads more than the kind's limit. Without it, `--export
// /dev/full` grew to 24 GB, /dev/zero ended in std::bad_alloc and a FIFO hung the command.
#include "io/scenario_scaling.h"
#include "io/user_file.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace knee::io;

namespace {
constexpr UserFileKind kSmall{"a small file", 1024};
} // namespace

class TestUserFile : public QObject {
    Q_OBJECT
private slots:
    void refusedWhateverIsThere_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("fragment");
        using S = UserFileRead::Status;
        QTest::addRow("missing") << "missing" << int(S::Missing) << "cannot open: No such file or directory";
        QTest::addRow("a directory") << "directory" << int(S::NotRegular) << "is a directory, not a small file";
        QTest::addRow("a FIFO nobody writes") << "fifo" << int(S::NotRegular) << "is not a regular file (a pipe (FIFO)); expected a small file";
        QTest::addRow("a link to a FIFO") << "link to fifo" << int(S::NotRegular) << "a pipe (FIFO)";
        QTest::addRow("/dev/zero") << "/dev/zero" << int(S::NotRegular) << "is not a regular file (a device)";
        QTest::addRow("/dev/full") << "/dev/full" << int(S::NotRegular) << "is not a regular file (a device)";
        QTest::addRow("one byte over the limit") << "limit+1" << int(S::TooLarge) << "the file is 0.0 MiB; a small file is limited to 0.0 MiB";
        QTest::addRow("a sparse 1 TiB file") << "1TiB" << int(S::TooLarge) << "the file is 1048576.0 MiB";
        QTest::addRow("a /proc file that says 0 bytes") << "/proc/self/maps" << int(S::TooLarge) << "larger than 0.0 MiB, the limit for a small file";
        QTest::addRow("a path through a file") << "through a file" << int(S::Missing) << "Not a directory";
        QTest::addRow("unreadable") << "unreadable" << int(S::Unreadable) << "cannot be read: Permission denied";
    }
    void refusedWhateverIsThere()
    {
        QFETCH(QString, what);
        QFETCH(int, status);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QString path = dir.filePath("f");
        auto sized = [&](qint64 size) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            QVERIFY(f.resize(size)); // sparse: no disk space used
        };
        if (what == "missing") {
            path = dir.filePath("nope");
        } else if (what == "directory") {
            path = dir.path();
        } else if (what == "fifo" || what == "link to fifo") {
            QVERIFY(::mkfifo(QFile::encodeName(dir.filePath("fifo")).constData(), 0600) == 0);
            path = dir.filePath("fifo");
            if (what == "link to fifo") {
                QVERIFY(QFile::link(path, dir.filePath("link")));
                path = dir.filePath("link");
            }
        } else if (what.startsWith("/")) {
            path = what;
            if (!QFile::exists(path))
                QSKIP("not on this system");
        } else if (what == "limit+1") {
            sized(qint64(kSmall.maxBytes) + 1);
        } else if (what == "1TiB") {
            sized(qint64(1) << 40);
        } else if (what == "through a file") {
            sized(10);
            path = dir.filePath("f/inside");
        } else if (what == "unreadable") {
            sized(10);
            QVERIFY(QFile::setPermissions(path, QFileDevice::WriteOwner));
            if (::access(QFile::encodeName(path).constData(), R_OK) == 0)
                QSKIP("running with rights that read any file (root)");
        }
        const UserFileRead r = readUserFile(path.toStdString(), kSmall);
        QCOMPARE(int(r.status), status);
        QVERIFY(r.bytes.empty());
        QVERIFY2(QString::fromStdString(r.error).contains(fragment), r.error.c_str());
    }

    void readsAFileWhole_data()
    {
        QTest::addColumn<qint64>("size");
        QTest::addRow("empty") << qint64(0);
        QTest::addRow("one byte") << qint64(1);
        QTest::addRow("exactly at the limit") << qint64(kSmall.maxBytes);
    }
    void readsAFileWhole()
    {
        QFETCH(qint64, size);
        QTemporaryDir dir;
        QFile f(dir.filePath("f"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        const QByteArray bytes(size, 'k');
        QCOMPARE(f.write(bytes), size);
        f.close();
        const UserFileRead r = readUserFile(f.fileName().toStdString(), kSmall);
        QVERIFY2(r.ok(), r.error.c_str());
        QCOMPARE(QByteArray::fromStdString(r.bytes), bytes);
    }

    // A trace CSV through the same reader: a directory or a FIFO says what it is (it said "no such
    // file"), the size is capped, and a bad line is named by its number only: any readable file can be
    // given as a trace, and its content must not reach the terminal (a line of /etc/shadow did).
    void traceFiles_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("a directory") << "directory" << "is a directory, not a trace";
        QTest::addRow("a FIFO") << "fifo" << "a pipe (FIFO)";
        QTest::addRow("over 256 MiB") << "huge" << "a trace is limited to 256.0 MiB";
        QTest::addRow("a secret on line 2") << "secret" << "trace.csv:2: expected a send time in seconds";
        QTest::addRow("a secret after the comma") << "secret size" << "trace.csv:2: expected a request size";
    }
    void traceFiles()
    {
        QFETCH(QString, what);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QString path = dir.filePath("trace.csv");
        QFile f(path);
        if (what == "directory") {
            path = dir.path();
        } else if (what == "fifo") {
            QVERIFY(::mkfifo(QFile::encodeName(path).constData(), 0600) == 0);
        } else if (what == "huge") {
            QVERIFY(f.open(QIODevice::WriteOnly));
            QVERIFY(f.resize(qint64(kMaxTraceBytes) + 1));
        } else {
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(what == "secret" ? "0.5\nroot:$6$SECRETHASH:19000:0:99999:7:::\n" : "0.5\n1.0,SECRETHASH\n");
        }
        f.close();
        std::vector<knee::TraceRecord> records;
        const std::string error = readTraceCsv(path.toStdString(), records);
        QVERIFY2(QString::fromStdString(error).contains(fragment), error.c_str());
        QVERIFY2(error.find("SECRET") == std::string::npos, error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestUserFile)
#include "tst_user_file.moc"
