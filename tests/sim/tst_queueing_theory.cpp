// Configurations whose answer queueing theory gives in closed form: M/M/1, M/M/c (Erlang C),
// M/D/1. One replica with a concurrency target far above the load turns predict into a c-server
// FIFO queue (c = predict_concurrency); preprocess and postprocess cost nothing.
//
// Tolerance: latencies of successive requests are correlated, so the standard error comes from
// batch means (32 batches after a 10 % warm-up), and the mean must lie within 4 standard errors
// of theory. Each row also requires that standard error to be under 2 % of the mean, so a
// too-small sample cannot make the test pass by widening its own tolerance.
#include "test_support.h"

#include <QTest>

#include <cmath>
#include <numeric>

using namespace knee;
using namespace knee::test;

namespace {

double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }

// Erlang C: probability that an arrival waits, c servers, offered load a = λ/μ.
double erlangC(int c, double a)
{
    double sum = 0;
    for (int k = 0; k < c; ++k)
        sum += std::pow(a, k) / factorial(k);
    const double top = std::pow(a, c) / factorial(c) * c / (c - a);
    return top / (sum + top);
}

struct RunResult {
    double mean = 0, stderrOfMean = 0;
    double littleL = 0, littleLambdaW = 0;
    Nanos p99 = 0;
};

RunResult run(int servers, Distribution::Kind service, double serviceMs, double rateRps, std::int64_t requests)
{
    Scenario s = singleReplica(limits::kMaxConcurrency, servers);
    s.model.predict = Distribution::of(service, serviceMs);
    s.workload.arrival = ArrivalConfig::poisson(rateRps);
    s.workload.requests = requests;
    s.workload.seed = 7;
    Engine engine(s);
    std::vector<double> latencies;
    latencies.reserve(std::size_t(requests));
    engine.setObserver([&](const Request& r) { latencies.push_back(nanosToMs(r.latency())); });
    engine.startLoad();
    engine.runToCompletion();

    RunResult out;
    const std::size_t skip = latencies.size() / 10, batches = 32;
    const std::size_t per = (latencies.size() - skip) / batches;
    std::vector<double> means;
    for (std::size_t b = 0; b < batches; ++b) {
        const auto first = latencies.begin() + std::ptrdiff_t(skip + b * per);
        means.push_back(std::accumulate(first, first + std::ptrdiff_t(per), 0.0) / double(per));
    }
    out.mean = std::accumulate(means.begin(), means.end(), 0.0) / double(batches);
    double var = 0;
    for (double m : means)
        var += (m - out.mean) * (m - out.mean);
    out.stderrOfMean = std::sqrt(var / double(batches - 1) / double(batches));

    // Little's law over the whole run: mean number in the system = λ · W.
    const RunMetrics& m = engine.metrics();
    const auto levels = m.occupancy.overallMean(engine.now());
    out.littleL = levels[int(Stage::Queue)] + levels[int(Stage::Preprocess)] + levels[int(Stage::PredictWait)]
        + levels[int(Stage::Predict)] + levels[int(Stage::Postprocess)];
    out.littleLambdaW = double(m.completed) / nanosToSeconds(engine.now()) * nanosToSeconds(m.latency.mean());
    out.p99 = m.latency.quantile(0.99);
    return out;
}

} // namespace

class TestQueueingTheory : public QObject {
    Q_OBJECT
private slots:
    void meanSojourn_data()
    {
        QTest::addColumn<int>("servers");
        QTest::addColumn<int>("service"); // Distribution::Kind
        QTest::addColumn<double>("serviceMs");
        QTest::addColumn<double>("rateRps");
        QTest::addColumn<double>("expectedMs");
        QTest::addColumn<qint64>("requests"); // heavier load decorrelates more slowly: more requests
        const double mu = 100.0; // 10 ms service
        auto mm1 = [&](double lambda) { return 1000.0 / (mu - lambda); };
        auto mmc = [&](int c, double lambda) {
            const double a = lambda / mu;
            return 1000.0 * (erlangC(c, a) / (c * mu - lambda) + 1.0 / mu);
        };
        auto md1 = [&](double lambda) {
            const double rho = lambda / mu;
            return 1000.0 * (rho / (2 * mu * (1 - rho)) + 1.0 / mu);
        };
        const int exp = int(Distribution::Kind::Exponential), det = int(Distribution::Kind::Constant);
        QTest::addRow("M/M/1 rho 0.5") << 1 << exp << 10.0 << 50.0 << mm1(50) << qint64(400000);
        QTest::addRow("M/M/1 rho 0.8") << 1 << exp << 10.0 << 80.0 << mm1(80) << qint64(400000);
        QTest::addRow("M/M/2 rho 0.75") << 2 << exp << 10.0 << 150.0 << mmc(2, 150) << qint64(400000);
        QTest::addRow("M/M/4 rho 0.9") << 4 << exp << 10.0 << 360.0 << mmc(4, 360) << qint64(2000000);
        QTest::addRow("M/D/1 rho 0.5") << 1 << det << 10.0 << 50.0 << md1(50) << qint64(400000);
        QTest::addRow("M/D/1 rho 0.9") << 1 << det << 10.0 << 90.0 << md1(90) << qint64(2000000);
    }
    void meanSojourn()
    {
        QFETCH(int, servers);
        QFETCH(int, service);
        QFETCH(double, serviceMs);
        QFETCH(double, rateRps);
        QFETCH(double, expectedMs);
        QFETCH(qint64, requests);
        const RunResult r = run(servers, Distribution::Kind(service), serviceMs, rateRps, requests);
        const QString detail = QString("mean %1 ms, theory %2 ms, stderr %3 ms").arg(r.mean).arg(expectedMs).arg(r.stderrOfMean);
        QVERIFY2(r.stderrOfMean < 0.02 * expectedMs, qPrintable("sample too small: " + detail));
        QVERIFY2(std::abs(r.mean - expectedMs) <= 4 * r.stderrOfMean, qPrintable(detail));
        // Little's law ties the occupancy timeline to the latency histogram: same run, within 1 %.
        QVERIFY2(std::abs(r.littleL - r.littleLambdaW) <= 0.01 * r.littleLambdaW,
                 qPrintable(QString("L %1 vs lambda*W %2").arg(r.littleL).arg(r.littleLambdaW)));
    }

    // M/M/1 sojourn time is exponential with rate μ − λ, so its p99 is ln(100)/(μ − λ). The
    // sample p99 of 400k correlated values is good to a few percent; the histogram adds < 0.4 %.
    void mm1Percentile()
    {
        const RunResult r = run(1, Distribution::Kind::Exponential, 10.0, 50.0, 400'000);
        const double expectedMs = std::log(100.0) / (100.0 - 50.0) * 1000.0;
        const double got = nanosToMs(r.p99);
        QVERIFY2(std::abs(got - expectedMs) <= 0.05 * expectedMs, qPrintable(QString("p99 %1 vs %2").arg(got).arg(expectedMs)));
    }
};

QTEST_GUILESS_MAIN(TestQueueingTheory)
#include "tst_queueing_theory.moc"
