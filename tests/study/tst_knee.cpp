// Knee detection on curves with known answers: a sharp bend, an M/M/1-like hockey stick, a straight
// line and a flat curve (no knee), a noisy curve, unusable levels, and the alternatives (SLO level,
// peak throughput and whether it falls after, best throughput ÷ latency).
#include "study/knee.h"

#include <QTest>

#include <cmath>

using namespace knee;

namespace {
std::vector<CurvePoint> curve(const std::vector<int>& levels, const std::vector<double>& latency, std::vector<double> throughput = {})
{
    std::vector<CurvePoint> out;
    for (std::size_t i = 0; i < levels.size(); ++i)
    {
        CurvePoint p;
        p.concurrency = levels[i];
        p.latencyMs = latency[i];
        p.throughputRps = throughput.empty() ? double(levels[i]) : throughput[i];
        out.push_back(p);
    }
    return out;
}
} // namespace

class TestKnee : public QObject {
    Q_OBJECT
private slots:
    void knownKnees_data()
    {
        QTest::addColumn<QList<int>>("levels");
        QTest::addColumn<QList<double>>("latency");
        QTest::addColumn<int>("expectedKnee"); // 0: no clear knee
        const QList<int> l{1, 2, 4, 8, 16, 32, 64, 128};
        QTest::addRow("flat then sharp at 16") << l << QList<double>{10, 10, 10.5, 11, 12, 40, 120, 300} << 16;
        QTest::addRow("sharp at 4") << l << QList<double>{10, 10.2, 10.5, 30, 70, 150, 310, 630} << 4;
        QTest::addRow("straight line in log2") << l << QList<double>{10, 20, 30, 40, 50, 60, 70, 80} << 0;
        QTest::addRow("flat") << l << QList<double>{10, 10, 10, 10, 10, 10, 10, 10} << 0;
        QTest::addRow("noisy before the bend") << l << QList<double>{10, 11.5, 9.8, 11, 12.5, 45, 130, 290} << 16;
    }
    void knownKnees()
    {
        QFETCH(QList<int>, levels);
        QFETCH(QList<double>, latency);
        QFETCH(int, expectedKnee);
        const KneeAnalysis a = analyzeCurve(curve({levels.begin(), levels.end()}, {latency.begin(), latency.end()}), 0);
        if (expectedKnee == 0) {
            QVERIFY2(!a.knee, qPrintable(QStringLiteral("found %1: %2").arg(a.knee.value_or(-1)).arg(QString::fromStdString(a.kneeNote))));
            QVERIFY(QString::fromStdString(a.kneeNote).contains("no clear knee"));
        } else {
            QVERIFY2(a.knee == expectedKnee, qPrintable(QString::fromStdString(a.kneeNote)));
            QVERIFY(QString::fromStdString(a.kneeNote).contains("Kneedle"));
        }
        QCOMPARE(a.sensitivity, 1.0);
    }

    void higherSensitivityNeedsAClearerBend()
    {
        const auto c = curve({1, 2, 4, 8, 16, 32}, {10, 11, 13, 17, 25, 41});
        QVERIFY(!analyzeCurve(c, 0, 10.0).knee); // a gentle bend is not a knee at S = 10
    }

    void unusableLevelsAreNeverChosen()
    {
        auto c = curve({1, 2, 4, 8, 16, 32, 64, 128}, {10, 10, 10.5, 11, 12, 40, 120, 300});
        c[4].usable = false; // the level that would be the knee had errors
        const KneeAnalysis a = analyzeCurve(c, 20);
        QVERIFY(a.knee != 16);
        QVERIFY(a.sloLevel != 16);
        QCOMPARE(a.sloLevel, std::optional<int>(8));
    }

    void tooFewLevels()
    {
        const KneeAnalysis a = analyzeCurve(curve({1, 2}, {10, 50}), 0);
        QVERIFY(!a.knee);
        QVERIFY(QString::fromStdString(a.kneeNote).contains("too few"));
    }

    void alternatives()
    {
        // Throughput rises to 32 then falls (the server thrashes); latency climbs after 8.
        const auto c = curve({1, 2, 4, 8, 16, 32, 64}, {10, 10, 11, 12, 25, 60, 200}, {100, 200, 380, 700, 760, 800, 500});
        const KneeAnalysis a = analyzeCurve(c, 30);
        QCOMPARE(a.sloLevel, std::optional<int>(16));
        QCOMPARE(a.peakThroughput, std::optional<int>(32));
        QVERIFY(a.throughputFallsAfterPeak);
        QCOMPARE(a.bestPower, std::optional<int>(8)); // 700 / 12 is the best ratio
        // A level above a miss does not extend the SLO level.
        const KneeAnalysis gap = analyzeCurve(curve({1, 2, 4, 8}, {10, 40, 20, 25}, {1, 2, 3, 4}), 30);
        QCOMPARE(gap.sloLevel, std::optional<int>(1));
        const KneeAnalysis noFall = analyzeCurve(curve({1, 2, 4}, {10, 12, 30}, {100, 180, 190}), 0);
        QVERIFY(!noFall.throughputFallsAfterPeak);
        QVERIFY(!noFall.sloLevel); // no SLO given
    }

    void streamingSlos()
    {
        auto c = curve({1, 2, 4, 8}, {100, 110, 130, 200});
        const double ttft[] = {20, 30, 60, 150}, itl[] = {10, 11, 12, 30};
        for (std::size_t i = 0; i < c.size(); ++i) {
            c[i].ttftMs = ttft[i];
            c[i].itlMs = itl[i];
        }
        QCOMPARE(analyzeCurve(c, Slos{0, 50, 0}).sloLevel, std::optional<int>(2));  // time to first token binds
        QCOMPARE(analyzeCurve(c, Slos{0, 0, 20}).sloLevel, std::optional<int>(4));  // inter-token binds later
        QCOMPARE(analyzeCurve(c, Slos{120, 100, 20}).sloLevel, std::optional<int>(2)); // every SLO must hold
    }

    void kneedleOnTheSatopaaExample()
    {
        // y = x² on [0, 1]: convex increasing; Kneedle's knee for S = 1 is near x = 0.5..0.6 of the range.
        std::vector<double> x, y;
        for (int i = 0; i <= 20; ++i) {
            x.push_back(i / 20.0);
            y.push_back(std::pow(i / 20.0, 2));
        }
        const auto k = kneedleConvexIncreasing(x, y, 1.0);
        QVERIFY(k.has_value());
        QVERIFY2(x[*k] >= 0.45 && x[*k] <= 0.6, qPrintable(QString::number(x[*k])));
    }
};

QTEST_GUILESS_MAIN(TestKnee)
#include "tst_knee.moc"
