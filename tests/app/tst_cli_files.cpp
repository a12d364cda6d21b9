// The real `knee` binary against hostile and unlucky files (issue 12): every output target is checked
// before a sweep runs (exit 2, nothing run); a full disk at the end keeps every old file byte for byte
// and exits 1 naming what was not written, while the outputs that can be written still are; readers
// refuse devices, FIFOs, directories and huge files at once; a trace error never shows the file's
// content. The full disk is a file size limit (`ulimit -f` in /bin/sh): the kernel fails write() as
// ENOSPC would, with no root and no mount needed.
#include "cli_process.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace {
using Result = kneecli::CliResult;
// `fileBlocks` >= 0: under `ulimit -f fileBlocks` (sh's blocks of 512 bytes; 0 = no file can grow).
Result knee(const QStringList& args, int fileBlocks = -1)
{
    kneecli::CliOptions o;
    o.fileBlocks = fileBlocks;
    return kneecli::runCli(QStringLiteral(KNEE_BINARY), args, o);
}
QString defaultScenario() { return QStringLiteral(KNEE_SOURCE_DIR "/resources/scenarios/default.yaml"); }
QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("(unreadable)");
}
void writeAll(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}
// /dev/full, or as root a node of the same device in `dir`: the old writer renamed a temporary file
// over its target, so a regression run as root would replace the machine's /dev/full.
QString fullDevice(const QTemporaryDir& dir)
{
    if (::geteuid() != 0)
        return QStringLiteral("/dev/full");
    const QString path = dir.filePath("full");
    return ::mknod(QFile::encodeName(path).constData(), S_IFCHR | 0666, makedev(1, 7)) == 0 ? path : QString();
}
const QByteArray kGoodConfig = "model_name: m\nruntime:\n  predict_concurrency: 1\n";
// A valid scenario but for its workload, which each test gives.
const char* kScenarioHead = "deployment: {replicas: {min: 1, max: 1}, concurrency_target: 4}\nmodel: {predict: 10}\n";
} // namespace

class TestCliFiles : public QObject {
    Q_OBJECT
private slots:
    // `simulate --requests FILE`: one row per request (the header's columns), written as the run goes; a path
    // that cannot be opened fails before the run (exit 2); a disk that fills during it still prints the whole
    // summary, then exits 2 naming the file.
    void simulateWritesEveryRequest()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("requests.csv");
        const Result r = knee({"simulate", defaultScenario(), "--json", "--requests", path});
        QCOMPARE(r.exitCode, 0);
        const QList<QByteArray> lines = readAll(path).split('\n');
        QCOMPARE(lines.first(), QByteArray("id,intended_ms,sent_ms,ended_ms,latency_ms,ok,measured,outcome,replica,"
                                           "queue_ms,preprocess_ms,predict_wait_ms,predict_ms,postprocess_ms"));
        QCOMPARE(lines.last(), QByteArray()); // ends with a newline
        const QJsonObject o = r.json();
        QCOMPARE(qint64(lines.size() - 2), o["arrived"].toInteger());
        qint64 ok = 0;
        for (qsizetype i = 1; i + 1 < lines.size(); ++i)
            ok += lines[i].split(',').value(5) == "1";
        QCOMPARE(ok, o["completed"].toInteger());

        const Result missing = knee({"simulate", defaultScenario(), "--requests", dir.filePath("no/such/dir.csv")});
        QCOMPARE(missing.exitCode, 2);
        QVERIFY2(missing.err.contains("--requests: cannot write"), missing.err.constData());
        QVERIFY(missing.out.isEmpty()); // nothing ran

        // A bad argument found after --requests is read leaves its file as it was.
        const QString kept = dir.filePath("kept.csv");
        writeAll(kept, "earlier rows\n");
        const Result badWall = knee({"simulate", defaultScenario(), "--live", "--max-wall-s", "0", "--requests", kept});
        QCOMPARE(badWall.exitCode, 2);
        QCOMPARE(readAll(kept), QByteArray("earlier rows\n"));

        const QString full = dir.filePath("full.csv");
        const Result filled = knee({"simulate", defaultScenario(), "--json", "--requests", full}, 8); // 4 KiB at most
        QCOMPARE(filled.exitCode, 2);
        QCOMPARE(filled.json()["arrived"].toInteger(), o["arrived"].toInteger()); // the summary is whole
        QVERIFY2(filled.err.contains("--requests: cannot write " + full.toUtf8()), filled.err.constData());
    }

    void outputsCheckedBeforeTheSweep_data()
    {
        QTest::addColumn<QString>("flag");
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("--export /dev/full") << "--export" << "/dev/full" << "not a regular file";
        QTest::addRow("--export /dev/zero") << "--export" << "/dev/zero" << "not a regular file";
        QTest::addRow("--export a FIFO") << "--export" << "fifo" << "not a regular file";
        QTest::addRow("--export a directory") << "--export" << "directory" << "it is a directory";
        QTest::addRow("--export a 17 MiB file") << "--export" << "17MiB" << "a Truss config.yaml is limited to 16.0 MiB";
        QTest::addRow("--export predict_concurrency twice") << "--export" << "twice" << "written 2 times";
        QTest::addRow("--export in a missing folder") << "--export" << "missing folder" << "does not exist";
        QTest::addRow("--out a directory") << "--out" << "directory" << "it is a directory";
        QTest::addRow("--out under a file") << "--out" << "under a file" << "is not a folder";
        QTest::addRow("--csv /dev/full") << "--csv" << "/dev/full" << "not a regular file";
        QTest::addRow("--export-autoscaling a FIFO") << "--export-autoscaling" << "fifo" << "not a regular file";
        QTest::addRow("--export-knative in a missing folder") << "--export-knative" << "missing folder" << "does not exist";
        QTest::addRow("--csv and --out the same file") << "--csv" << "same as --out" << "--out and --csv name the same file";
    }
    void outputsCheckedBeforeTheSweep()
    {
        QFETCH(QString, flag);
        QFETCH(QString, what);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        const QString good = dir.filePath("good.yaml"), session = dir.filePath("s.json");
        writeAll(good, kGoodConfig);
        QString target = dir.filePath("target");
        if (what == "/dev/full" && (target = fullDevice(dir)).isEmpty())
            QSKIP("cannot make a /dev/full node here");
        else if (what == "/dev/zero")
            target = what;
        else if (what == "fifo")
            QVERIFY(::mkfifo(QFile::encodeName(target).constData(), 0600) == 0);
        else if (what == "directory")
            target = dir.path();
        else if (what == "17MiB") {
            QFile f(target);
            QVERIFY(f.open(QIODevice::WriteOnly) && f.resize(17 << 20)); // sparse
        } else if (what == "twice")
            writeAll(target, "runtime:\n  predict_concurrency: 1\n  predict_concurrency: 2\n");
        else if (what == "missing folder")
            target = dir.filePath("no/such/config.yaml");
        else if (what == "under a file")
            target = good + "/s.json";
        else if (what == "same as --out")
            target = session;
        const QByteArray before = what == "twice" ? readAll(target) : QByteArray();
        // The good config is exported too (unless the row's flag is --export): it must not be touched.
        QStringList args{"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4", "--json", flag, target};
        if (flag != "--export")
            args << "--export" << good;
        if (flag != "--out")
            args << "--out" << session;
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
        QVERIFY2(r.err.contains("nothing was run"), r.err.constData());
        QVERIFY2(r.out.isEmpty(), r.out.constData()); // no sweep result: it did not run
        QCOMPARE(readAll(good), kGoodConfig);
        QVERIFY(!QFile::exists(session) || what == "same as --out");
        if (!before.isEmpty())
            QCOMPARE(readAll(target), before);
        if (what == "/dev/full") {
            struct stat st {};
            QVERIFY(::stat(QFile::encodeName(target).constData(), &st) == 0 && S_ISCHR(st.st_mode));
        }
    }

    // A disk that fills during the sweep: every output fails at its write, every old file stays as it
    // was (before the fix: replaced by 0 bytes, exit 0, "written"), and the exit code is 1.
    void aFullDiskKeepsEveryOldFile()
    {
        QTemporaryDir dir;
        const QStringList names{"config.yaml", "s.json", "points.csv", "autoscaling.json", "knative.yaml"};
        for (const QString& n : names)
            writeAll(dir.filePath(n), n == "config.yaml" ? kGoodConfig : "old " + n.toUtf8() + "\n");
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8", "--json", "--export", dir.filePath("config.yaml"),
                               "--out", dir.filePath("s.json"), "--csv", dir.filePath("points.csv"), "--export-autoscaling",
                               dir.filePath("autoscaling.json"), "--export-knative", dir.filePath("knative.yaml")},
                              0);
        QVERIFY2(r.exitCode == 1, r.err.constData());
        for (const QString& n : names) {
            QCOMPARE(readAll(dir.filePath(n)), n == "config.yaml" ? kGoodConfig : "old " + n.toUtf8() + "\n");
            QVERIFY2(r.err.contains("cannot write " + dir.filePath(n).toUtf8() + ": File too large; the old file is as it was"), r.err.constData());
        }
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), names.size()); // no temporary file left
        QVERIFY2(r.err.contains("none of its outputs could be written"), r.err.constData());
        const QJsonObject exports = QJsonDocument::fromJson(r.out).object()["exports"].toObject();
        QCOMPARE(exports["not_written"].toArray().size(), 5);
        QVERIFY(!exports["config_yaml"].toObject()["predict_concurrency_written"].toBool());
    }

    // A limit the small files pass and the session does not: the session fails, the others are written.
    void oneFailedOutputDoesNotStopTheOthers()
    {
        QTemporaryDir dir;
        const QString config = dir.filePath("config.yaml"), session = dir.filePath("s.json"), csv = dir.filePath("points.csv");
        writeAll(config, kGoodConfig);
        writeAll(session, "old session\n");
        const Result r = knee({"sweep", defaultScenario(), "--virtual", "--levels", "1,2,4,8", "--json", "--export", config, "--out", session,
                               "--csv", csv},
                              2); // 1 KiB
        QVERIFY2(r.exitCode == 1, r.err.constData());
        QCOMPARE(readAll(session), QByteArray("old session\n"));
        QVERIFY2(r.err.contains("--out: cannot write " + session.toUtf8()), r.err.constData());
        QVERIFY2(r.err.contains("1 of 3 outputs could not be written (--out); the others were"), r.err.constData());
        QVERIFY(readAll(config).startsWith("model_name: m\nruntime:\n  predict_concurrency: 2")); // the recommendation
        QCOMPARE(readAll(csv).count('\n'), 5); // header + 4 levels
        const QJsonObject exports = QJsonDocument::fromJson(r.out).object()["exports"].toObject();
        QCOMPARE(exports["csv"].toString(), csv);
        QCOMPARE(exports["not_written"].toArray().first().toObject()["flag"].toString(), QStringLiteral("--out"));
    }

    void calibrateChecksAndKeepsItsTable()
    {
        QTemporaryDir dir;
        const Result bad = knee({"calibrate", "--profile", "tiny", "--batches", "1", "--repeats", "1", "--out", dir.path()});
        QCOMPARE(bad.exitCode, 2); // before measuring
        QVERIFY2(bad.err.contains("--out: cannot write " + dir.path().toUtf8() + ": it is a directory"), bad.err.constData());
        const QString table = dir.filePath("table.yaml");
        writeAll(table, "old table\n");
        const Result full = knee({"calibrate", "--profile", "tiny", "--batches", "1,2", "--repeats", "1", "--out", table}, 0);
        QVERIFY2(full.exitCode == 1, full.err.constData());
        QCOMPARE(readAll(table), QByteArray("old table\n"));
        QVERIFY2(full.err.contains("File too large; the old file is as it was"), full.err.constData());
        QVERIFY(full.out.contains("predict_table:")); // measured: the table still goes to stdout
    }

    // Readers of user paths: each refuses at once, saying what is there.
    void readersRefuseWhatIsNotAFile_data()
    {
        QTest::addColumn<QStringList>("args"); // "@" stands for the scratch directory
        QTest::addColumn<QString>("fragment");
        QTest::addRow("scenario /dev/zero") << QStringList{"simulate", "/dev/zero"} << "is not a regular file (a device)";
        QTest::addRow("scenario a FIFO") << QStringList{"simulate", "@/fifo"} << "is not a regular file (a pipe (FIFO))";
        QTest::addRow("--body-template /dev/zero") << QStringList{"sweep", "--target", "http://127.0.0.1:9", "--body-template", "/dev/zero"}
                                                   << "--body-template /dev/zero: is not a regular file (a device)";
        QTest::addRow("--body-template a FIFO") << QStringList{"sweep", "--target", "http://127.0.0.1:9", "--body-template", "@/fifo"}
                                                << "is not a regular file (a pipe (FIFO))";
        QTest::addRow("--body-template over 1 MiB") << QStringList{"sweep", "--target", "http://127.0.0.1:9", "--body-template", "@/2MiB"}
                                                    << "a body template is limited to 1.0 MiB";
        QTest::addRow("trace a directory") << QStringList{"simulate", "@/trace-dir.yaml"} << "is a directory, not a trace";
        QTest::addRow("trace a FIFO") << QStringList{"simulate", "@/trace-fifo.yaml"} << "is not a regular file (a pipe (FIFO)); expected a trace";
    }
    void readersRefuseWhatIsNotAFile()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QVERIFY(::mkfifo(QFile::encodeName(dir.filePath("fifo")).constData(), 0600) == 0);
        QFile big(dir.filePath("2MiB"));
        QVERIFY(big.open(QIODevice::WriteOnly) && big.resize(2 << 20));
        big.close();
        const QByteArray scenario = QByteArray(kScenarioHead) + "workload: {arrival: {kind: trace, file: %1}, requests: 10}\n";
        writeAll(dir.filePath("trace-dir.yaml"), QByteArray(scenario).replace("%1", QFile::encodeName(dir.path())));
        writeAll(dir.filePath("trace-fifo.yaml"), QByteArray(scenario).replace("%1", "fifo"));
        args.replaceInStrings(QRegularExpression("^@"), dir.path());
        const Result r = knee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
    }

    // Any readable file can be named as a trace; an error names the line, never shows it.
    void traceErrorsDoNotShowTheFile()
    {
        QTemporaryDir dir;
        writeAll(dir.filePath("shadow"), "0.5\nroot:$6$SECRETHASH:19000:0:99999:7:::\n");
        writeAll(dir.filePath("s.yaml"), QByteArray(kScenarioHead) + "workload: {arrival: {kind: trace, file: shadow}, requests: 10}\n");
        const Result r = knee({"simulate", dir.filePath("s.yaml")});
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(r.err.count('\n'), 1); // the trace is the one problem
        QVERIFY2(r.err.contains("shadow:2: expected a send time"), r.err.constData());
        QVERIFY2(!r.err.contains("SECRET") && !r.out.contains("SECRET"), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCliFiles)
#include "tst_cli_files.moc"
