// The latency histogram: every quantile within its stated relative error of the exact sample
// quantile, exact extremes and mean, merge, and a sparse form that refuses inconsistent data.
#include "metrics/latency_histogram.h"
#include "sim/random.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace knee;

class TestLatencyHistogram : public QObject {
    Q_OBJECT
private slots:
    void bucketsCoverEveryValue()
    {
        // Every Nanos has its bucket since issue 12 item 9 (values up to 2^63 ns; the buckets stopped
        // at 2^48 ns before, and larger values were clamped): shifts from 1 bit cover the whole range.
        Rng rng(3);
        for (int i = 0; i < 200'000; ++i) {
            const Nanos v = Nanos(rng.next() >> (1 + rng.next() % 56));
            const int idx = LatencyHistogram::bucketIndex(v);
            QVERIFY(idx >= 0 && idx < LatencyHistogram::kBucketCount);
            const Nanos lo = LatencyHistogram::bucketLow(idx), width = LatencyHistogram::bucketWidth(idx);
            QVERIFY2(lo <= v && v - lo < width, qPrintable(QString("value %1 bucket [%2, +%3)").arg(v).arg(lo).arg(width)));
            QVERIFY(double(width) / double(std::max<Nanos>(lo, 1)) <= 1.0 / double(LatencyHistogram::kSubBuckets) || lo < 128);
        }
        const Nanos largest = std::numeric_limits<Nanos>::max();
        QCOMPARE(LatencyHistogram::bucketIndex(largest), LatencyHistogram::kBucketCount - 1);
        QVERIFY(largest - LatencyHistogram::bucketLow(LatencyHistogram::kBucketCount - 1) < LatencyHistogram::bucketWidth(LatencyHistogram::kBucketCount - 1));
    }

    void quantilesWithinBound_data()
    {
        QTest::addColumn<double>("sigma");
        QTest::addColumn<double>("medianMs");
        QTest::addRow("narrow lognormal around 10 ms") << 0.3 << 10.0;
        QTest::addRow("wide lognormal around 50 ms") << 2.0 << 50.0;
        QTest::addRow("microseconds") << 1.0 << 0.02;
        // Issue 12 item 9: beyond 2^48 ns (78 h) every quantile was the top bucket's (p50 78 h here).
        QTest::addRow("days, beyond 78 hours") << 0.5 << 200 * 3600e3;
        QTest::addRow("years") << 0.3 << 50 * 365 * 86400e3;
    }
    void quantilesWithinBound()
    {
        QFETCH(double, sigma);
        QFETCH(double, medianMs);
        Rng rng(11);
        std::vector<Nanos> values;
        LatencyHistogram h;
        for (int i = 0; i < 100'000; ++i) {
            const Nanos v = msToNanos(medianMs * std::exp(sigma * rng.normal()));
            values.push_back(v);
            h.record(v);
        }
        std::sort(values.begin(), values.end());
        for (double q : {0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0}) {
            const auto rank = std::max<std::size_t>(1, std::size_t(std::ceil(q * double(values.size()))));
            const double exact = double(values[rank - 1]);
            const double got = double(h.quantile(q));
            QVERIFY2(std::abs(got - exact) <= LatencyHistogram::kMaxRelativeError * exact + 0.5,
                     qPrintable(QString("q %1: %2 vs exact %3").arg(q).arg(got).arg(exact)));
        }
        QCOMPARE(h.min(), values.front());
        QCOMPARE(h.max(), values.back());
        QCOMPARE(h.count(), std::int64_t(values.size()));
        long double sum = 0;
        for (Nanos v : values)
            sum += v;
        QCOMPARE(h.mean(), double(sum / values.size()));
    }

    void emptyAndClampedValues()
    {
        LatencyHistogram h;
        QCOMPARE(h.quantile(0.5), Nanos(0));
        QCOMPARE(h.mean(), 0.0);
        h.record(-5); // a clock that stepped backwards must not index out of range
        QCOMPARE(h.min(), Nanos(0));
        const Nanos huge = Nanos(1) << 60;
        h.record(huge);
        QCOMPARE(h.max(), huge);
        QCOMPARE(h.quantile(1.0), huge);
    }

    void mergeEqualsRecordingEverything()
    {
        LatencyHistogram a, b, all;
        Rng rng(5);
        for (int i = 0; i < 10'000; ++i) {
            const Nanos v = Nanos(rng.exponential(1e6));
            (i % 3 ? a : b).record(v);
            all.record(v);
        }
        a.merge(b);
        QCOMPARE(a.count(), all.count());
        QCOMPARE(a.min(), all.min());
        QCOMPARE(a.max(), all.max());
        for (double q : {0.5, 0.99})
            QCOMPARE(a.quantile(q), all.quantile(q));
    }

    void sparseRoundTrip()
    {
        LatencyHistogram h;
        for (Nanos v : {Nanos(5), Nanos(1000), Nanos(123456789), Nanos(123456789)})
            h.record(v);
        LatencyHistogram back;
        QVERIFY(back.fromSparse(h.toSparse()));
        QCOMPARE(back.count(), h.count());
        QCOMPARE(back.quantile(0.5), h.quantile(0.5));
        QCOMPARE(back.mean(), h.mean());
    }

    void sparseRefusesInconsistentData_data()
    {
        QTest::addColumn<int>("breakage");
        QTest::addRow("index out of range") << 0;
        QTest::addRow("negative index") << 1;
        QTest::addRow("count does not add up") << 2;
        QTest::addRow("min above max") << 3;
        QTest::addRow("zero-count bucket") << 4;
    }
    void sparseRefusesInconsistentData()
    {
        QFETCH(int, breakage);
        LatencyHistogram h;
        h.record(100);
        h.record(1000);
        LatencyHistogram::Sparse s = h.toSparse();
        switch (breakage) {
        case 0: s.buckets[0].first = LatencyHistogram::kBucketCount; break;
        case 1: s.buckets[0].first = -1; break;
        case 2: s.count = 7; break;
        case 3: std::swap(s.min, s.max); break;
        case 4: s.buckets[0].second = 0; break;
        }
        LatencyHistogram back;
        QVERIFY(!back.fromSparse(s));
        QCOMPARE(back.count(), std::int64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestLatencyHistogram)
#include "tst_latency_histogram.moc"
