// The host's steal and context switches around a measurement (telemetry/host_contention.h).
#include "telemetry/host_contention.h"

#include <QTest>

using namespace knee::telemetry;

class TestHostContention : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parsesTheCpuLine()
    {
        // A 16-CPU guest's first lines: user nice system idle iowait irq softirq steal guest guest_nice.
        const auto m = parseProcStat("cpu  1000 20 300 8000 50 0 30 600 400 0\ncpu0 10 0 3 80 0 0 0 6 0 0\n");
        QVERIFY(m);
        QVERIFY(m->valid);
        QCOMPARE(m->totalTicks, 1000 + 20 + 300 + 8000 + 50 + 0 + 30 + 600); // guest time is inside user already
        QCOMPARE(m->stealTicks, 600);
    }

    void oldKernelsWithoutStealStillParse()
    {
        const auto m = parseProcStat("cpu 5 0 5 90\n");
        QVERIFY(m);
        QCOMPARE(m->totalTicks, 100);
        QCOMPARE(m->stealTicks, 0);
    }

    void refusesWhatIsNotACpuLine()
    {
        QVERIFY(!parseProcStat(""));
        QVERIFY(!parseProcStat("intr 5 6 7\nctxt 100\n"));
        QVERIFY(!parseProcStat("cpu0 1 2 3 4\n")); // a per-CPU line is not the total
        QVERIFY(!parseProcStat("cpu 1 2\n"));      // too few fields
        QVERIFY(!parseProcStat("cpu 1 -2 3 4\n"));
        QVERIFY(!parseProcStat("cpu x y z w\n"));
    }

    void stealShareBetweenTwoMarks()
    {
        HostMark a, b;
        a.valid = b.valid = true;
        a.totalTicks = 10'000;
        a.stealTicks = 100;
        a.involuntarySwitches = 3;
        b.totalTicks = 12'000; // 2,000 ticks passed, 30 of them stolen: 1.5 %
        b.stealTicks = 130;
        b.involuntarySwitches = 7;
        const HostContention c = between(a, b);
        QVERIFY(c.valid);
        QCOMPARE(c.stealPct, 1.5);
        QCOMPARE(c.involuntarySwitches, 4L);
        QVERIFY(c.disturbed());
        QCOMPARE(QString::fromStdString(c.describe()), QStringLiteral("host steal 1.5 %, 4 involuntary context switches"));
        b.stealTicks = 109; // 0.45 %: below the line
        QVERIFY(!between(a, b).disturbed());
        b.stealTicks = 110; // exactly 0.5 %: disturbed
        QVERIFY(between(a, b).disturbed());
    }

    void nothingToSayWithoutTwoGoodMarks()
    {
        HostMark a, b;
        a.valid = true;
        a.totalTicks = 100;
        b.totalTicks = 200; // b not valid (no /proc/stat)
        QVERIFY(!between(a, b).valid);
        QVERIFY(!between(a, b).disturbed());
        QVERIFY(between(a, b).describe().empty());
        b.valid = true;
        b.totalTicks = 100; // no time passed
        QVERIFY(!between(a, b).valid);
        b.totalTicks = 200;
        b.stealTicks = -1; // a counter that went backwards
        QVERIFY(!between(a, b).valid);
    }

    void marksThisMachine()
    {
        const HostMark a = HostMark::now();
#ifdef __linux__
        QVERIFY(a.valid);
        QVERIFY(a.totalTicks > 0);
        QVERIFY(a.stealTicks >= 0 && a.stealTicks <= a.totalTicks);
#endif
        QVERIFY(a.involuntarySwitches >= 0);
    }
};

QTEST_APPLESS_MAIN(TestHostContention)
#include "tst_host_contention.moc"
