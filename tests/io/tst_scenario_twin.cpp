// The twin: section a fitted twin carries (issue 15) and continuous batching's prefill_ms: written and read
// back equal, and read as strictly as every other section (unknown keys, wrong types, ragged columns).
#include "scenario_test_support.h"

#include <QTest>

using namespace knee;
using namespace knee::test;

namespace {

const QByteArray kTwin = "twin:\n"                                           // 11
                         "  endpoint: \"http://127.0.0.1:8080/predict\"\n"    // 12
                         "  mode: http\n"                                     // 13
                         "  levels: [1, 2, 4]\n"                              // 14
                         "  replay_error_pct: {concurrency: [1, 2, 4], throughput: [0.1, -0.2, 0.3], p50: [1, 2, 3], p95: [-1, -2, -3]}\n"; // 15

} // namespace

class TstScenarioTwin : public QObject {
    Q_OBJECT
private slots:
    void twinAndPrefillReadBackEqual()
    {
        const ScenarioReadResult first = read(replaced(6, "  predict: 10\n  batching: {mode: continuous, max_sequences: 8, prefill_ms: 2.5}")
                                              + kTwin
                                              + "  cross_validation_error_pct: {concurrency: [2], throughput: [1], p50: [2], p95: [3], "
                                                "ttft_p50: [4], ttft_p95: [5], itl_p50: [6]}\n"
                                                "  measured_at: \"2025-01-01T12:00:00Z\"\n"
                                                "  notes: [\"a: b\", \"c\"]\n");
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const Scenario& s = *first.scenario;
        QCOMPARE(s.model.batching.prefillMs, 2.5);
        QVERIFY(s.twin.has_value());
        QCOMPARE(s.twin->endpoint, std::string("http://127.0.0.1:8080/predict"));
        QCOMPARE(s.twin->levels, (std::vector<int>{1, 2, 4}));
        QCOMPARE(s.twin->replay.p95Pct, (std::vector<double>{-1, -2, -3}));
        QCOMPARE(s.twin->crossValidation.itlP50Pct, (std::vector<double>{6}));
        QCOMPARE(s.twin->notes, (std::vector<std::string>{"a: b", "c"}));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(s)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        QCOMPARE(scenarioDiff(s, *again.scenario), QString());
    }

    // A scenario without the section reads as one without a twin; the writer adds none.
    void noTwinNoSection()
    {
        const ScenarioReadResult r = read(kBase);
        QVERIFY(r.ok());
        QVERIFY(!r.scenario->twin.has_value());
        QVERIFY(writeScenarioYaml(*r.scenario).find("twin:") == std::string::npos);
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("fragment");
        QByteArray unknown = kTwin;
        unknown.replace("  mode: http\n", "  mdoe: http\n");
        QTest::newRow("unknown key") << kBase + unknown << "twin.mdoe" << "unknown key";
        QByteArray noEndpoint = kTwin;
        noEndpoint.replace("  endpoint: \"http://127.0.0.1:8080/predict\"\n", "");
        QTest::newRow("endpoint missing") << kBase + noEndpoint << "twin.endpoint" << "missing";
        QByteArray badMode = kTwin;
        badMode.replace("mode: http", "mode: grpc");
        QTest::newRow("mode") << kBase + badMode << "twin.mode" << "expected one of http, live, virtual";
        QByteArray badLevels = kTwin;
        badLevels.replace("levels: [1, 2, 4]", "levels: [1, two]");
        QTest::newRow("level not a number") << kBase + badLevels << "twin.levels[1]" << "got 'two'";
        QByteArray ragged = kTwin;
        ragged.replace("p50: [1, 2, 3]", "p50: [1, 2]");
        QTest::newRow("ragged column") << kBase + ragged << "twin.replay_error_pct.p50" << "one value per level in concurrency (3)";
        QByteArray noP95 = kTwin;
        noP95.replace(", p95: [-1, -2, -3]", "");
        QTest::newRow("column missing") << kBase + noP95 << "twin.replay_error_pct.p95" << "missing";
        QByteArray unknownColumn = kTwin;
        unknownColumn.replace("p95:", "p96:");
        QTest::newRow("unknown column") << kBase + unknownColumn << "twin.replay_error_pct.p96" << "unknown key";
        QTest::newRow("notes not a list") << kBase + kTwin + "  notes: {a: 1}\n" << "twin.notes" << "a list of at most 256 lines";
        QTest::newRow("twin not a map") << kBase + "twin: [1, 2]\n" << "twin" << "a map with endpoint";
        QTest::newRow("prefill on dynamic batching") << replaced(6, "  predict: 10\n  batching: {mode: dynamic, prefill_ms: 2}")
                                                     << "model.batching.prefill_ms" << "applies to mode: continuous";
        QTest::newRow("negative prefill") << replaced(6, "  predict: 10\n  batching: {mode: continuous, prefill_ms: -1}")
                                          << "model.batching.prefill_ms" << "got '-1'";
    }
    void malformed()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(QString, key);
        QFETCH(QString, fragment);
        const ScenarioReadResult r = read(yaml);
        QVERIFY2(!r.ok(), "accepted");
        bool found = false;
        for (const ScenarioError& e : r.errors)
            found = found || (QString::fromStdString(e.key) == key && QString::fromStdString(e.message).contains(fragment));
        QVERIFY2(found, qPrintable(allErrors(r)));
    }
};

QTEST_APPLESS_MAIN(TstScenarioTwin)
#include "tst_scenario_twin.moc"
