// The occupancy timeline: exact time-weighted means on a known step function, and bounded memory
// with the total preserved when windows merge.
#include "metrics/occupancy_timeline.h"

#include <QTest>

using namespace knee;

class TestOccupancyTimeline : public QObject {
    Q_OBJECT
private slots:
    void stepFunction()
    {
        OccupancyTimeline t(100 * kNanosPerMs, 8);
        t.change(0, Stage::Queue, +2);
        t.change(150 * kNanosPerMs, Stage::Queue, -2);
        t.change(150 * kNanosPerMs, Stage::Predict, +1);
        const auto w = t.windows(200 * kNanosPerMs);
        QCOMPARE(w.size(), std::size_t(2));
        QCOMPARE(w[0].mean[int(Stage::Queue)], 2.0);
        QCOMPARE(w[1].mean[int(Stage::Queue)], 1.0);   // 2 for half the window
        QCOMPARE(w[1].mean[int(Stage::Predict)], 0.5);
        const auto overall = t.overallMean(200 * kNanosPerMs);
        QCOMPARE(overall[int(Stage::Queue)], 1.5);
        QCOMPARE(overall[int(Stage::Predict)], 0.25);
    }

    void boundedAndConservedWhenMerging()
    {
        OccupancyTimeline t(kNanosPerMs, 16);
        double exactArea = 0;
        int level = 0;
        Nanos now = 0;
        for (int i = 0; i < 100'000; ++i) {
            const Nanos next = now + 137'000 + (i % 7) * 50'000;
            exactArea += double(level) * double(next - now);
            now = next;
            const int delta = (i % 3 == 0 && level > 0) ? -1 : +1;
            t.change(now, Stage::Preprocess, delta);
            level += delta;
        }
        const auto windows = t.windows(now);
        QVERIFY(windows.size() <= 17);
        double area = 0;
        for (const auto& w : windows)
            area += w.mean[int(Stage::Preprocess)] * double(w.width);
        QVERIFY(std::abs(area - exactArea) <= 1e-9 * exactArea);
        QVERIFY(std::abs(t.overallMean(now)[int(Stage::Preprocess)] - exactArea / double(now)) <= 1e-9 * exactArea / double(now));
        // Windows tile time without gaps.
        for (std::size_t i = 1; i < windows.size(); ++i)
            QCOMPARE(windows[i].start, windows[i - 1].start + windows[i - 1].width);
    }

    void longIdleGapIsCheap()
    {
        OccupancyTimeline t(kNanosPerMs, 64);
        t.change(0, Stage::Replicas, +1);
        t.change(Nanos(3600) * kNanosPerSecond * 24 * 365, Stage::Replicas, -1); // a year later
        QVERIFY(t.windows(Nanos(3600) * kNanosPerSecond * 24 * 365).size() <= 65);
        QCOMPARE(t.overallMean(Nanos(3600) * kNanosPerSecond * 24 * 365)[int(Stage::Replicas)], 1.0);
    }
};

QTEST_GUILESS_MAIN(TestOccupancyTimeline)
#include "tst_occupancy_timeline.moc"
