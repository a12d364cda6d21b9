// Stage-time distributions: each kind produces its declared mean (within 4 standard errors of a
// large sample) and its shape; the empirical table is rescaled to mean_ms; bad parameters are
// refused with a reason.
#include "sim/distribution.h"
#include "sim/scenario.h"

#include <QTest>

#include <cmath>

using namespace knee;

namespace {
struct Moments {
    double mean = 0, sd = 0, min = 1e300, max = -1e300;
};
Moments sample(const Distribution& d, int n, std::uint64_t seed = 9)
{
    Sampler s(d);
    Rng rng(seed);
    double sum = 0, sum2 = 0;
    Moments m;
    for (int i = 0; i < n; ++i) {
        const double v = nanosToMs(s.sample(rng));
        sum += v;
        sum2 += v * v;
        m.min = std::min(m.min, v);
        m.max = std::max(m.max, v);
    }
    m.mean = sum / n;
    m.sd = std::sqrt(std::max(0.0, sum2 / n - m.mean * m.mean));
    return m;
}
Distribution make(Distribution::Kind k, double mean, double sigma = 0.5, double spread = -1, std::vector<double> values = {},
                  std::vector<double> weights = {})
{
    return Distribution{k, mean, sigma, spread, std::move(values), std::move(weights)};
}
} // namespace

class TestDistribution : public QObject {
    Q_OBJECT
private slots:
    void meanAndShape_data()
    {
        using K = Distribution::Kind;
        QTest::addColumn<int>("kind");
        QTest::addColumn<double>("mean");
        QTest::addColumn<double>("sigma");
        QTest::addColumn<double>("spread");
        QTest::addColumn<double>("expectedSd");
        QTest::addColumn<double>("expectedMin");
        QTest::addColumn<double>("expectedMax");
        QTest::addRow("constant") << int(K::Constant) << 7.0 << 0.0 << -1.0 << 0.0 << 7.0 << 7.0;
        QTest::addRow("exponential") << int(K::Exponential) << 10.0 << 0.0 << -1.0 << 10.0 << 0.0 << 1e9;
        // lognormal: sd = mean · sqrt(exp(σ²) − 1)
        QTest::addRow("lognormal sigma 0.5") << int(K::Lognormal) << 10.0 << 0.5 << -1.0 << 10.0 * std::sqrt(std::exp(0.25) - 1)
                                             << 0.0 << 1e9;
        // uniform on [mean − spread, mean + spread]: sd = spread / sqrt(3)
        QTest::addRow("uniform default spread") << int(K::Uniform) << 4.0 << 0.0 << -1.0 << 4.0 / std::sqrt(3.0) << 0.0 << 8.0;
        QTest::addRow("uniform narrow") << int(K::Uniform) << 10.0 << 0.0 << 1.0 << 1.0 / std::sqrt(3.0) << 9.0 << 11.0;
    }
    void meanAndShape()
    {
        QFETCH(int, kind);
        QFETCH(double, mean);
        QFETCH(double, sigma);
        QFETCH(double, spread);
        QFETCH(double, expectedSd);
        QFETCH(double, expectedMin);
        QFETCH(double, expectedMax);
        const int n = 400'000;
        const Distribution d = make(Distribution::Kind(kind), mean, sigma, spread);
        QCOMPARE(d.validate(), std::string());
        const Moments m = sample(d, n);
        const double se = std::max(expectedSd / std::sqrt(double(n)), 1e-6); // ns rounding for constants
        QVERIFY2(std::abs(m.mean - mean) <= 4 * se, qPrintable(QString("mean %1").arg(m.mean)));
        QVERIFY2(std::abs(m.sd - expectedSd) <= 0.02 * expectedSd + 1e-6, qPrintable(QString("sd %1").arg(m.sd)));
        QVERIFY(m.min >= expectedMin - 1e-6);
        QVERIFY(m.max <= expectedMax + 1e-6);
    }

    void empiricalTableIsRescaledToMean()
    {
        const Distribution d = make(Distribution::Kind::Empirical, 20.0, 0.5, -1, {1, 2, 3, 4}, {});
        QCOMPARE(d.validate(), std::string());
        QCOMPARE(d.effectiveMeanMs(), 20.0);
        const Moments m = sample(d, 100'000);
        QCOMPARE(m.min, 8.0); // 1 · (20 / 2.5)
        QCOMPARE(m.max, 32.0);
        QVERIFY(std::abs(m.mean - 20.0) < 0.2);
    }

    void empiricalWeights()
    {
        const Distribution d = make(Distribution::Kind::Empirical, 0, 0.5, -1, {10, 100}, {9, 1});
        QCOMPARE(d.effectiveMeanMs(), 19.0);
        const Moments m = sample(d, 200'000);
        QVERIFY2(std::abs(m.mean - 19.0) < 0.3, qPrintable(QString::number(m.mean)));
    }

    void badParameters_data()
    {
        using K = Distribution::Kind;
        QTest::addColumn<int>("kind");
        QTest::addColumn<double>("mean");
        QTest::addColumn<double>("sigma");
        QTest::addColumn<double>("spread");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("negative mean") << int(K::Exponential) << -1.0 << 0.5 << -1.0 << "mean_ms";
        QTest::addRow("nan mean") << int(K::Constant) << qQNaN() << 0.5 << -1.0 << "mean_ms";
        QTest::addRow("infinite mean") << int(K::Constant) << qInf() << 0.5 << -1.0 << "mean_ms";
        QTest::addRow("over a day") << int(K::Constant) << 9e7 << 0.5 << -1.0 << "mean_ms";
        QTest::addRow("zero sigma") << int(K::Lognormal) << 10.0 << 0.0 << -1.0 << "sigma";
        QTest::addRow("sigma whose mean cannot converge") << int(K::Lognormal) << 10.0 << 4.01 << -1.0 << "within 10 %";
        QTest::addRow("spread above mean") << int(K::Uniform) << 10.0 << 0.5 << 11.0 << "spread_ms";
        QTest::addRow("empty table") << int(K::Empirical) << 10.0 << 0.5 << -1.0 << "values_ms";
    }
    void badParameters()
    {
        QFETCH(int, kind);
        QFETCH(double, mean);
        QFETCH(double, sigma);
        QFETCH(double, spread);
        QFETCH(QString, fragment);
        const std::string error = make(Distribution::Kind(kind), mean, sigma, spread).validate();
        QVERIFY2(QString::fromStdString(error).contains(fragment), error.c_str());
    }

    // Issue 12 item 9: lognormal sigma is bounded where a run can still realise the mean it asks for.
    // The sample mean's relative standard error is sqrt((e^(sigma^2) - 1) / n): at the bound, 10 % takes
    // at most the 1e10 requests a run may hold; just above 4.29 it takes more.
    void lognormalSigmaIsBoundedWhereTheMeanConverges()
    {
        const auto samplesFor10Percent = [](double sigma) { return std::expm1(sigma * sigma) / 0.01; };
        QVERIFY(samplesFor10Percent(kMaxLognormalSigma) <= double(limits::kMaxRequests));
        QVERIFY(samplesFor10Percent(4.3) > double(limits::kMaxRequests));
        QVERIFY(make(Distribution::Kind::Lognormal, 10, kMaxLognormalSigma).validate().empty());
        QVERIFY(!make(Distribution::Kind::Lognormal, 10, 10).validate().empty());
        // The reason, measured: at sigma 1 (172 samples for 10 %) 200 000 samples realise the mean;
        // at sigma 10, which was accepted, they realise almost nothing of it.
        QVERIFY(std::abs(sample(make(Distribution::Kind::Lognormal, 10, 1), 200'000).mean - 10) < 0.2);
        QVERIFY(sample(make(Distribution::Kind::Lognormal, 10, 10), 200'000).mean < 0.1);
    }

    void badEmpiricalTables()
    {
        using K = Distribution::Kind;
        QVERIFY(!make(K::Empirical, 0, 0.5, -1, {1, -2}).validate().empty());
        QVERIFY(!make(K::Empirical, 0, 0.5, -1, {1, 2}, {1}).validate().empty());
        QVERIFY(!make(K::Empirical, 0, 0.5, -1, {1, 2}, {0, 0}).validate().empty());
        QVERIFY(!make(K::Empirical, 5, 0.5, -1, {0, 0}).validate().empty()); // cannot rescale zeros
        QVERIFY(make(K::Empirical, 0, 0.5, -1, {0, 0}).validate().empty());  // zeros as they are: fine
    }

    void kindNamesRoundTrip()
    {
        for (auto k : {Distribution::Kind::Constant, Distribution::Kind::Exponential, Distribution::Kind::Lognormal,
                       Distribution::Kind::Uniform, Distribution::Kind::Empirical}) {
            Distribution::Kind back{};
            QVERIFY(distributionKindFromString(toString(k), back));
            QCOMPARE(back, k);
        }
        Distribution::Kind unused{};
        QVERIFY(!distributionKindFromString("gaussian", unused));
    }
};

QTEST_GUILESS_MAIN(TestDistribution)
#include "tst_distribution.moc"
