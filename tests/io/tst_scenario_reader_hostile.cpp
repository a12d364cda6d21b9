// Scenario reader against hostile and broken input: missing, oversized and odd files, alias
// bombs, deep nesting, huge lists, every truncation and random corruption. Nothing crashes, hangs
// or throws; every failure is an error with a file name.
#include "scenario_test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <random>

using namespace knee;
using namespace knee::test;

class TestScenarioReaderHostile : public QObject {
    Q_OBJECT
private slots:
    void fileErrors_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("missing") << "missing"
                                 << "cannot open: No such file or directory";
        QTest::addRow("a directory") << "directory"
                                     << "is a directory, not a scenario file";
        QTest::addRow("a device") << "device"
                                  << "is not a regular file";
        QTest::addRow("17 MiB") << "17MiB"
                                << "the file is 17.0 MiB; a scenario file is limited to 16.0 MiB";
        QTest::addRow("one byte over the limit") << "limit+1"
                                                 << "a scenario file is limited to 16.0 MiB";
        QTest::addRow("exactly at the limit") << "limit"
                                              << "the file holds only comments"; // read, not refused
        QTest::addRow("unreadable") << "unreadable"
                                    << "cannot be read";
    }

    void fileErrors()
    {
        QFETCH(QString, what);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QString path = dir.filePath("s.yaml");
        auto writeSized = [&](qint64 size) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            const QByteArray line = "# " + QByteArray(97, 'x') + '\n'; // comment lines: the size is all that is wrong
            for (qint64 left = size; left > 0; left -= line.size())
                f.write(line.left(int(std::min<qint64>(left, line.size()))));
        };
        if (what == "missing") {
            path = dir.filePath("nope.yaml");
        } else if (what == "directory") {
            path = dir.path();
        } else if (what == "device") {
            path = "/dev/null";
            if (!QFile::exists(path))
                QSKIP("no /dev/null here");
        } else if (what == "17MiB") {
            writeSized(17 * 1024 * 1024);
        } else if (what == "limit+1") {
            writeSized(qint64(kMaxScenarioFileBytes) + 1);
        } else if (what == "limit") {
            writeSized(qint64(kMaxScenarioFileBytes));
        } else if (what == "unreadable") {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(kBase);
            f.close();
            QVERIFY(f.setPermissions(QFileDevice::WriteOwner));
            if (f.open(QIODevice::ReadOnly))
                QSKIP("running with rights that read any file (root)");
        }
        const ScenarioReadResult r = readScenarioFile(path.toStdString());
        QVERIFY(!r.ok());
        QCOMPARE(r.errors.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(r.errors[0].file), path);
        QVERIFY2(QString::fromStdString(r.errors[0].message).contains(fragment), r.errors[0].toString().c_str());
    }

    void hostileInput_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<QString>("fragment"); // in some error

        const QByteArray bomb = aliasBomb(9); // 10^10 leaves if expanded
        QTest::addRow("alias bomb under unknown keys") << bomb + kBase << "key 'a9': unknown key";
        QTest::addRow("alias bomb as values_ms") << bomb + replaced(6, "  predict: {dist: empirical, values_ms: *a9}")
                                                 << "key 'model.predict.values_ms[0]': expected a number";
        QTest::addRow("alias bomb as the name") << bomb + "name: *a9\n" + kBase << "key 'name': expected text, got a list";
        QTest::addRow("alias bomb as the changes")
            << bomb + appended("changes: *a9\n") << "key 'changes[0]': expected a map like {at_s: 10";
        QTest::addRow("self-referential anchor")
            << replaced(6, "  predict: {dist: empirical, values_ms: &v [*v, 1]}")
            << "key 'model.predict.values_ms[0]': expected a number between 0 and 86400000, got an empty list";
        // YAML allows implicit keys of at most 1024 characters; yaml-cpp enforces it.
        QTest::addRow("a million-character key") << QByteArray(1'000'000, 'k') + ": 1\n" + kBase << "YAML syntax error";
        // yaml-cpp 0.7 takes no token at a top-level ',' and starts every next document there again.
        QTest::addRow("a stray comma at the top") << QByteArray(", a: 1\n") + kBase << "unexpected ','";
        QTest::addRow("a thousand-character key") << QByteArray(1'000, 'k') + ": 1\n" + kBase << "unknown key";
        QTest::addRow("200k changes") << appended("changes: [" + QByteArray("{at_s: 1, users: 1}, ").repeated(200'000) + "]\n")
                                      << "expected at most 100000 changes, got 200000";
        QByteArray manyKeys = kBase;
        for (int i = 0; i < 100'000; ++i)
            manyKeys += "k" + QByteArray::number(i) + ": 1\n";
        QTest::addRow("100k unknown keys") << manyKeys << "too many errors";
        QTest::addRow("16 MiB list under an unknown key")
            << kBase + "junk: [" + QByteArray("1,").repeated(int(kMaxScenarioFileBytes / 2 - 600)) + "1]\n"
            << "key 'junk'";
        QTest::addRow("2 million values") << replaced(
            6, "  predict: {dist: empirical, values_ms: [" + QByteArray("1,").repeated(2'000'000) + "1]}")
                                          << "expected at most 1000000 items, got 2000001";
    }

    void hostileInput()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(QString, fragment);
        // No wall-clock bound (flaky on shared machines): an alias expansion or a quadratic walk
        // would run into ctest's timeout instead.
        const ScenarioReadResult r = read(yaml);
        QVERIFY(!r.ok());
        QVERIFY(!r.errors.empty());
        QVERIFY(r.errors.size() <= 51);
        QVERIFY2(std::any_of(r.errors.begin(), r.errors.end(),
                     [&](const ScenarioError& e) { return QString::fromStdString(e.toString()).contains(fragment); }),
            qPrintable(allErrors(r).left(4000)));
        for (const auto& e : r.errors) // messages quote found text, cut short
            QVERIFY2(e.toString().size() < 1000, e.toString().substr(0, 200).c_str());
    }

    void everyPrefixOfAGoodFileIsHandled()
    {
        // Truncation at every byte: each prefix reads or gives located errors, never a crash.
        const QByteArray text = readFile(kData + "good_with_changes.yaml");
        int accepted = 0;
        for (qsizetype n = 0; n <= text.size(); ++n) {
            const ScenarioReadResult r = read(text.left(n), "prefix.yaml");
            if (r.ok()) {
                ++accepted;
                continue;
            }
            QVERIFY2(!r.errors.empty(), qPrintable(QStringLiteral("prefix %1: no scenario and no error").arg(n)));
            for (const auto& e : r.errors)
                QVERIFY(e.file == "prefix.yaml" && !e.message.empty() && e.line >= 0);
        }
        QVERIFY(accepted >= 1); // at least the whole file
        QVERIFY(accepted < text.size() / 2);
    }

    void randomCorruptionIsHandled()
    {
        // Seeded byte flips, insertions and deletions of good files: a smoke test for crashes.
        std::mt19937 rng(20'241'124);
        const QStringList files = { "good_mm1.yaml", "good_closed_loop.yaml", "good_with_changes.yaml", "good_example.yaml" };
        int rejected = 0;
        for (const QString& file : files) {
            const QByteArray original = readFile(kData + file);
            for (int round = 0; round < 500; ++round) {
                QByteArray text = original;
                for (int edits = 1 + int(rng() % 4); edits > 0 && !text.isEmpty(); --edits) {
                    const qsizetype at = qsizetype(rng() % std::uint32_t(text.size()));
                    switch (rng() % 3) {
                    case 0: text[at] = char(rng() % 256); break;
                    case 1: text.insert(at, char(rng() % 128)); break;
                    default: text.remove(at, 1); break;
                    }
                }
                const ScenarioReadResult r = read(text);
                QVERIFY(r.ok() == r.errors.empty());
                QVERIFY(r.ok() == r.scenario.has_value());
                rejected += r.ok() ? 0 : 1;
            }
        }
        QVERIFY(rejected > 0);
    }
};

QTEST_GUILESS_MAIN(TestScenarioReaderHostile)
#include "tst_scenario_reader_hostile.moc"
