// Scenario writer: what writeScenarioYaml writes reads back to an equal scenario, field by field,
// and writing that again gives the same text (the output is canonical).
#include "scenario_test_support.h"

#include <QTest>

#include <algorithm>

using namespace knee;
using namespace knee::test;

class TestScenarioWriter : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        for (const char* file :
            { "good_mm1.yaml", "good_closed_loop.yaml", "good_with_changes.yaml", "good_example.yaml", "good_aliases.yaml" })
            QTest::addRow("%s", file) << readFile(kData + file);
        QTest::addRow("every distribution kind") << replaced(6,
            "  preprocess: {dist: uniform, mean_ms: 3, spread_ms: 1.5}\n"
            "  predict: {dist: empirical, mean_ms: 7, values_ms: [0.5, 1, 30], weights: [0.7, 0.2, 0.1]}\n"
            "  postprocess: {dist: lognormal, mean_ms: 2, sigma: 1.1}");
        QTest::addRow("awkward numbers") << replaced(1, 10,
            "deployment: {replicas: {min: 0, max: 7, initial: 3}, concurrency_target: 3, cold_start_s: 0.3,"
            " queue_limit: 123456789}\n"
            "model: {predict: {dist: exponential, mean_ms: 1e-7}, postprocess: 123456.789,"
            " predict_failure_rate: 0.1}\n"
            "workload: {arrival: {kind: poisson, rate_rps: 0.1}, requests: 9999999999, duration_s: 1234.5678,"
            " warmup_s: 0.000001, seed: 18446744073709551615}");
        QTest::addRow("a name to escape") << "name: \"quote \\\" backslash \\\\ newline \\n tab \\t bell \\a é ✓ 🙂\"\n"
                + kBase;
        QTest::addRow("a model profile") << replaced(6, "  predict: 10\n  profile: medium");
        QTest::addRow("closed loop") << replaced(8, "  arrival: {kind: closed, users: 12, think: {dist: uniform, mean_ms: 40}}");
        QTest::addRow("every knob changes") << appended(
            "changes:\n"
            "  - {at_s: 0.5, concurrency_target: 9, predict_concurrency: 3, replicas: {min: 0, max: 4},"
            " rate_rps: 12.5, users: 2}\n"
            "  - {at_s: 7, replicas: {max: 1}}\n"
            "  - {at_s: 7, replicas: {min: 1}}\n");
    }

    void roundTrip()
    {
        QFETCH(QByteArray, yaml);
        const ScenarioReadResult first = read(yaml);
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const std::string written = writeScenarioYaml(*first.scenario);
        const ScenarioReadResult second = readScenarioText(written, "written.yaml");
        QVERIFY2(second.ok(), qPrintable(allErrors(second) + "\n" + QString::fromStdString(written)));
        QCOMPARE(scenarioDiff(*first.scenario, *second.scenario), QString());
        QCOMPARE(writeScenarioYaml(*second.scenario), written); // canonical: writing again changes nothing
    }

    void writesAProgrammaticScenario()
    {
        Scenario s;
        s.name = std::string("bad \xff byte");
        s.deployment.minReplicas = 0;
        s.deployment.maxReplicas = 5;
        s.deployment.initialReplicas = 2;
        s.deployment.concurrencyTarget = 7;
        s.deployment.predictConcurrency = 3;
        s.deployment.coldStartS = 1.25;
        s.deployment.queueLimit = 10;
        s.model.preprocess = Distribution::of(Distribution::Kind::Lognormal, 2.5);
        s.model.preprocess.sigma = 0.75;
        s.model.predict = Distribution::of(Distribution::Kind::Empirical, 0); // 0: the table as it is
        s.model.predict.valuesMs = { 3, 1, 4, 1, 5 };
        s.model.postprocess = Distribution::of(Distribution::Kind::Uniform, 6);
        s.model.postprocess.spreadMs = 0;
        s.model.predictFailureRate = 0.125;
        s.workload.arrival.kind = ArrivalConfig::Kind::Closed;
        s.workload.arrival.users = 17;
        s.workload.arrival.think = Distribution::exponential(0.1);
        s.workload.durationS = 99.5;
        s.workload.warmupS = 1.5;
        s.workload.seed = 1234567890123456789ull;
        KnobChange c;
        c.atS = 3;
        c.users = 4;
        c.minReplicas = 1;
        s.changes = { c };
        const std::string text = writeScenarioYaml(s);
        const ScenarioReadResult r = readScenarioText(text, "written.yaml");
        QVERIFY2(r.ok(), qPrintable(allErrors(r) + "\n" + QString::fromStdString(text)));
        Scenario expected = s;
        expected.name = "bad \xEF\xBF\xBD byte"; // an invalid byte is written as U+FFFD
        QCOMPARE(scenarioDiff(*r.scenario, expected), QString());
    }
};

QTEST_GUILESS_MAIN(TestScenarioWriter)
#include "tst_scenario_writer.moc"
