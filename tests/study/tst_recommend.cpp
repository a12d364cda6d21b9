// The recommendation rule (issue 20) on synthetic curves with exact answers: flat throughput gives the
// first level, linear throughput is not saturated (and asks for the next doubling), an M/M/c-like curve
// gives its saturation level, an SLO that binds caps it, an SLO nobody meets recommends nothing; power
// breaks ties within the tolerance; a peak at the last level or above failed levels is not saturation.
#include "study/recommend.h"

#include <QTest>

#include <cmath>

using namespace knee;

namespace {
std::vector<CurvePoint> curve(const std::vector<int>& levels, const std::vector<double>& latency, const std::vector<double>& throughput)
{
    std::vector<CurvePoint> out;
    for (std::size_t i = 0; i < levels.size(); ++i) {
        CurvePoint p;
        p.concurrency = levels[i];
        p.latencyMs = latency[i];
        p.throughputRps = throughput[i];
        out.push_back(p);
    }
    return out;
}

const std::vector<int> kLevels{1, 2, 4, 8, 16, 32, 64, 128};

// The machine-repairman model (M/M/c//N): N closed-loop users thinking Z (exponential), c servers of
// mean S; the number at the servers is a birth–death chain, so throughput is exact; latency by
// Little's law (N / X − Z). With c = 4, S = 100 ms, Z = 300 ms capacity is 40 req/s, reached from
// N = c (S + Z) / S = 16 on: X(16) = 35.6 (89 %), X(32) = 39.9998, X(64) = X(128) = 40.
std::vector<CurvePoint> machineRepairman()
{
    const int c = 4;
    const double s = 0.1, z = 0.3;
    std::vector<double> latency, throughput;
    for (int n : kLevels) {
        std::vector<double> p{1.0};
        for (int k = 1; k <= n; ++k)
            p.push_back(p.back() * ((n - k + 1) / z) / (std::min(k, c) / s));
        double total = 0, x = 0;
        for (double v : p)
            total += v;
        for (int k = 0; k <= n; ++k)
            x += p[std::size_t(k)] / total * std::min(k, c) / s;
        throughput.push_back(x);
        latency.push_back(1000 * (n / x - z));
    }
    return curve(kLevels, latency, throughput);
}

TargetChoice choose(const std::vector<CurvePoint>& c, const Slos& slos = {}, SweepReach reach = {})
{
    return chooseConcurrencyTarget(c, analyzeCurve(c, slos), slos, reach);
}
} // namespace

class TestRecommend : public QObject {
    Q_OBJECT
private slots:
    void exactAnswers_data()
    {
        QTest::addColumn<QList<double>>("latency");
        QTest::addColumn<QList<double>>("throughput");
        QTest::addColumn<double>("sloMs");
        QTest::addColumn<int>("target"); // 0: none
        QTest::addColumn<QString>("basis");
        QTest::addColumn<QString>("ruleFragment");
        // One server: more users only queue. Everything is within 5 % of the peak: the first level.
        QTest::addRow("flat throughput: the first level")
            << QList<double>{100, 200, 400, 800, 1600, 3200, 6400, 12800} << QList<double>{10, 10, 10, 10, 10, 10, 10, 10} << 0.0 << 1
            << "saturation" << "100 % of peak throughput 10.0 req/s (the smallest level within 5 %); p95 100.0 ms; power (throughput ÷ p95) maximum; no SLO set";
        // Noise within the tolerance: still the first level, and the peak is named.
        QTest::addRow("flat with noise")
            << QList<double>{100, 200, 400, 800, 1600, 3200, 6400, 12800} << QList<double>{9.7, 10, 9.9, 10.1, 9.8, 10, 9.9, 10}
            << 0.0 << 1 << "saturation" << "96 % of peak throughput 10.1 req/s (peak at 8;";
        // Twice the users, twice the throughput, all the way: nothing says where it stops.
        QTest::addRow("linear throughput: not saturated")
            << QList<double>{10, 10, 10, 10, 10, 10, 10, 10} << QList<double>{100, 200, 400, 800, 1600, 3200, 6400, 12800} << 0.0 << 0
            << "not_saturated" << "not saturated: throughput still rises at 128, the largest usable level (12800 req/s, +100 % over 64)";
        // Thrashing: throughput falls after 32; 16 is within 5 % of the peak already.
        QTest::addRow("throughput falls after the peak")
            << QList<double>{10, 10, 11, 12, 25, 60, 200, 500} << QList<double>{100, 200, 380, 700, 770, 800, 500, 300} << 0.0 << 16
            << "saturation" << "96 % of peak throughput 800 req/s (peak at 32; the smallest level within 5 %)";
        // An SLO met everywhere does not move saturation.
        QTest::addRow("SLO met everywhere")
            << QList<double>{100, 200, 400, 800, 1600, 3200, 6400, 12800} << QList<double>{10, 10, 10, 10, 10, 10, 10, 10} << 1e6 << 1
            << "saturation" << "meets every SLO set (p95 <= 1000.0 s)";
    }
    void exactAnswers()
    {
        QFETCH(QList<double>, latency);
        QFETCH(QList<double>, throughput);
        QFETCH(double, sloMs);
        QFETCH(int, target);
        QFETCH(QString, basis);
        QFETCH(QString, ruleFragment);
        const TargetChoice c = choose(curve(kLevels, {latency.begin(), latency.end()}, {throughput.begin(), throughput.end()}), Slos{sloMs, 0, 0});
        QCOMPARE(c.level.value_or(0), target);
        QCOMPARE(QString::fromStdString(c.basis), basis);
        QVERIFY2(QString::fromStdString(c.rule).contains(ruleFragment), c.rule.c_str());
    }

    void mmcCurveSaturatesAtItsCapacity()
    {
        const auto c = machineRepairman();
        QVERIFY(std::abs(c[4].throughputRps - 35.6105) < 1e-3); // 16 users: 89 % of 40 req/s
        const KneeAnalysis a = analyzeCurve(c, Slos{});
        QCOMPARE(a.saturation, std::optional<int>(32));
        QVERIFY(!a.stillRising);
        QCOMPARE(a.bestPower, std::optional<int>(16)); // Kleinrock's optimum: N = c (S + Z) / S
        const TargetChoice t = choose(c);
        QCOMPARE(t.level, std::optional<int>(32));
        QCOMPARE(t.basis, std::string("saturation"));
        QVERIFY2(QString::fromStdString(t.rule).startsWith("saturation: 100 % of peak throughput 40.0 req/s (peak at 128; the smallest "
                                                           "level within 5 %); p95 500.0 ms; power (throughput ÷ p95) peaks at 16"),
                 t.rule.c_str());
        // A looser tolerance saturates earlier: 16 is within 12 % of the peak.
        QCOMPARE(analyzeCurve(c, Slos{}, 1.0, 0.12).saturation, std::optional<int>(16));
    }

    void anSloThatBinds()
    {
        // Latency 102.4 ms at 8, 149.3 ms at 16: an SLO of 120 ms holds up to 8, below saturation (32).
        const TargetChoice t = choose(machineRepairman(), Slos{120, 0, 0});
        QCOMPARE(t.level, std::optional<int>(8));
        QCOMPARE(t.basis, std::string("slo"));
        QVERIFY2(QString::fromStdString(t.rule).startsWith("SLO binds: the largest level meeting every SLO set (p95 <= 120.0 ms); "
                                                           "16 misses it: p95 149.3 ms > 120.0 ms; 50 % of peak throughput 40.0 req/s"),
                 t.rule.c_str());
        QVERIFY2(QString::fromStdString(t.rule).endsWith("saturation would be at 32"), t.rule.c_str());
        // On a curve that never saturates, an SLO still gives an answer.
        const auto linear = curve(kLevels, {10, 10, 10, 10, 20, 40, 80, 160}, {100, 200, 400, 800, 1600, 3200, 6400, 12800});
        const TargetChoice capped = choose(linear, Slos{30, 0, 0});
        QCOMPARE(capped.level, std::optional<int>(16));
        QVERIFY2(QString::fromStdString(capped.rule).endsWith("throughput still rises beyond it"), capped.rule.c_str());
    }

    void anSloNobodyMeets()
    {
        const TargetChoice t = choose(machineRepairman(), Slos{90, 0, 0});
        QVERIFY(!t.level);
        QCOMPARE(t.basis, std::string("no_level_meets_slo"));
        QVERIFY2(QString::fromStdString(t.rule).startsWith("no level meets the SLO (p95 <= 90.0 ms): the smallest usable level, 1, "
                                                           "already has p95 100.0 ms > 90.0 ms; nothing is recommended"),
                 t.rule.c_str());
        QVERIFY2(QString::fromStdString(t.rule).endsWith("(without it, saturation is at 32)"), t.rule.c_str());
        // Streaming SLOs count the same way.
        auto c = machineRepairman();
        for (CurvePoint& p : c)
            p.ttftMs = 50;
        QCOMPARE(choose(c, Slos{0, 40, 0}).basis, std::string("no_level_meets_slo"));
    }

    void linearThroughputAsksForTheNextDoubling()
    {
        const auto c = curve(kLevels, {10, 10, 10, 10, 10, 10, 10, 10}, {100, 200, 400, 800, 1600, 3200, 6400, 12800});
        const KneeAnalysis a = analyzeCurve(c, Slos{});
        QVERIFY(a.stillRising);
        QVERIFY(!a.saturation);
        QCOMPARE(nextLevelToSaturate(c, a, Slos{}, 4096), std::optional<int>(256));
        QVERIFY(!nextLevelToSaturate(c, a, Slos{}, 255)); // the limit
        // Live and endpoint sweeps ask; a virtual sweep at its limit says it reached it.
        QVERIFY2(QString::fromStdString(choose(c).rule).endsWith(": raise the levels (add 256, 512, ...)"), choose(c).rule.c_str());
        const std::string atLimit = choose(c, {}, SweepReach{true, 128, false}).rule;
        QVERIFY2(QString::fromStdString(atLimit).endsWith("up to its limit (128 users) without reaching saturation"), atLimit.c_str());
        QVERIFY(QString::fromStdString(choose(c, {}, SweepReach{true, 4096, true}).rule).contains("cancelled"));
        // One level cannot show a plateau.
        const auto one = curve({4}, {10}, {40});
        QVERIFY(analyzeCurve(one, Slos{}).stillRising);
        QCOMPARE(nextLevelToSaturate(one, analyzeCurve(one, Slos{}), Slos{}, 4096), std::optional<int>(8));
    }

    void noExtensionPastAFailedLevelOrABindingSlo()
    {
        auto c = curve({1, 2, 4, 8}, {10, 10, 10, 10}, {100, 200, 400, 800});
        c.back().usable = false; // errors at 8: doubling further will not help
        const KneeAnalysis a = analyzeCurve(c, Slos{});
        QVERIFY(a.stillRising); // among the usable levels, 4 is the peak
        QVERIFY(!nextLevelToSaturate(c, a, Slos{}, 4096));
        const TargetChoice t = choose(c);
        QCOMPARE(t.basis, std::string("not_saturated"));
        QVERIFY2(QString::fromStdString(t.rule).contains("at 4, the largest usable level") && QString::fromStdString(t.rule).contains("had errors"),
                 t.rule.c_str());
        // An SLO missed at the last level: larger levels cannot be recommended, so no more are measured.
        const auto rising = curve({1, 2, 4, 8}, {10, 10, 10, 50}, {100, 200, 400, 800});
        const Slos slo{20, 0, 0};
        QVERIFY(!nextLevelToSaturate(rising, analyzeCurve(rising, slo), slo, 4096));
        QCOMPARE(choose(rising, slo).level, std::optional<int>(4));
    }

    void powerBreaksTiesWithinTheTolerance()
    {
        // 2, 4 and 8 are within 5 % of the peak; 4 serves as much with less latency than 2 (a dynamic
        // batch filling faster, say): the highest throughput ÷ p95 among them wins.
        const auto c = curve({1, 2, 4, 8}, {10, 20, 15, 40}, {10, 19.5, 20, 20});
        const KneeAnalysis a = analyzeCurve(c, Slos{});
        QCOMPARE(a.saturation, std::optional<int>(2));
        const TargetChoice t = choose(c);
        QCOMPARE(t.level, std::optional<int>(4));
        QVERIFY2(QString::fromStdString(t.rule).contains("2 is the smallest within 5 %; power breaks the tie"), t.rule.c_str());
    }

    void noUsableLevel()
    {
        auto c = curve({1, 2}, {10, 20}, {10, 10});
        for (CurvePoint& p : c)
            p.usable = false;
        const TargetChoice t = choose(c);
        QVERIFY(!t.level);
        QCOMPARE(t.basis, std::string("no_usable_level"));
    }

    void throughputKneeBesideTheP95Knee()
    {
        // Throughput bends at 8 (93.75 % of the peak) and is flat from 16: its knee is evidence, and
        // saturation, the rule, waits for the level within 5 %.
        const auto c = curve(kLevels, {10, 10, 10, 11, 20, 40, 80, 160}, {100, 200, 400, 750, 800, 800, 800, 800});
        const KneeAnalysis a = analyzeCurve(c, Slos{});
        QCOMPARE(a.throughputKnee, std::optional<int>(8));
        QVERIFY2(QString::fromStdString(a.throughputKneeNote).contains("the bend is at 8 (750 req/s)"), a.throughputKneeNote.c_str());
        QCOMPARE(a.saturation, std::optional<int>(16));
        QCOMPARE(choose(c).level, std::optional<int>(16));
        // Flat throughput has no bend.
        QVERIFY(!analyzeCurve(curve(kLevels, {1, 2, 4, 8, 16, 32, 64, 128}, {5, 5, 5, 5, 5, 5, 5, 5}), Slos{}).throughputKnee);
    }
};

QTEST_GUILESS_MAIN(TestRecommend)
#include "tst_recommend.moc"
