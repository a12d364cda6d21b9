// The scenario keys for autoscaling, the concurrency modifier, shaped traffic (step, spike,
// diurnal, trace files) and request sizes: good files read to the exact fields, malformed rows name
// line, key and what was expected, and written scenarios read back equal.
#include "scenario_test_support.h"

#include <QTemporaryDir>
#include <QTest>

using namespace knee;
using namespace knee::test;

namespace {
// kBase's deployment with these extra lines at its end (after line 4).
QByteArray deploymentWith(const QByteArray& lines) { return replaced(4, "  predict_concurrency: 2\n" + lines); }
QByteArray arrivalOf(const QByteArray& arrival) { return replaced(8, "  arrival: " + arrival); }
} // namespace

class TestScenarioScaling : public QObject {
    Q_OBJECT
private slots:
    void autoscaledDiurnalFileReadsExactly()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "good_autoscaled_diurnal.yaml").toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Scenario& s = *r.scenario;
        const AutoscalerConfig& a = s.deployment.autoscaler;
        QCOMPARE(a.policy, AutoscalerConfig::Policy::Baseten);
        QCOMPARE(a.windowS, 60.0);
        QCOMPARE(a.scaleDownDelayS, 300.0);
        QCOMPARE(a.targetUtilization, 0.70);
        QCOMPARE(a.maxScaleDownRate, 0.5);
        QCOMPARE(a.evaluationIntervalS, 2.0); // default
        QCOMPARE(s.deployment.costPerReplicaHour, 1.25);
        QCOMPARE(s.deployment.modifier.kind, ConcurrencyModifierConfig::Kind::Adaptive);
        QCOMPARE(s.deployment.modifier.initialLimit, 4);
        QCOMPARE(s.deployment.modifier.maxLimit, 16);
        QCOMPARE(s.workload.arrival.kind, ArrivalConfig::Kind::Diurnal);
        QCOMPARE(s.workload.arrival.baselineRps, 20.0);
        QCOMPARE(s.workload.arrival.peakRps, 150.0);
        QCOMPARE(s.workload.arrival.periodS, 7200.0);
        QCOMPARE(s.workload.arrival.peakAtS, 3600.0); // default: mid-period
        QCOMPARE(s.workload.requestSize.kind, Distribution::Kind::Lognormal);
        QCOMPARE(s.workload.requestSize.meanMs, 1.0);
        QCOMPARE(s.workload.requestSize.sigma, 0.5);
    }

    void traceFileIsReadBesideTheScenario()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "good_trace.yaml").toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const auto& t = r.scenario->workload.arrival.trace;
        QCOMPARE(t.size(), std::size_t(4)); // header and comment skipped
        QCOMPARE(t[1].atS, 0.25);
        QCOMPARE(t[1].size, 2.0);
        QCOMPARE(t[3].atS, 30.0);
        QCOMPARE(t[3].size, 1.0);
        QCOMPARE(r.scenario->deployment.autoscaler.policy, AutoscalerConfig::Policy::Knative);
        QCOMPARE(r.scenario->deployment.minReplicas, 0);
    }

    void stepAndSpike()
    {
        ScenarioReadResult r = read(arrivalOf("{kind: step, rate_rps: 10, steps: [{at_s: 60, rate_rps: 50}, {at_s: 120, rate_rps: 5}]}"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->workload.arrival.steps.size(), std::size_t(2));
        QCOMPARE(r.scenario->workload.arrival.steps[1].rateRps, 5.0);
        r = read(arrivalOf("{kind: spike, rate_rps: 10, spike_rps: 500, at_s: 30, duration_s: 5}"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->workload.arrival.spikeRps, 500.0);
        QCOMPARE(r.scenario->workload.arrival.spikeDurationS, 5.0);
    }

    void modifierKinds()
    {
        ScenarioReadResult r = read(deploymentWith("  concurrency_modifier: {kind: fixed, value: 3}"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->deployment.modifier.fixed, 3);
        r = read(deploymentWith("  concurrency_modifier: {kind: engine_max, engine_max: 48}"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->deployment.modifier.engineMax, 48);
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("unknown policy") << deploymentWith("  autoscaling: {policy: kubernetes}") << 5 << "deployment.autoscaling.policy"
                                        << "expected one of none, baseten, knative";
        QTest::addRow("policy missing") << deploymentWith("  autoscaling: {window_s: 60}") << 5 << "deployment.autoscaling.policy"
                                        << "missing";
        QTest::addRow("window below Baseten's 10 s") << deploymentWith("  autoscaling: {policy: baseten, window_s: 5}") << 5
                                                     << "deployment.autoscaling.window_s" << "between 10 and 3600";
        QTest::addRow("scale-down delay above 3600 s") << deploymentWith("  autoscaling: {policy: baseten, scale_down_delay_s: 4000}") << 5
                                                       << "deployment.autoscaling.scale_down_delay_s" << "between 0 and 3600";
        QTest::addRow("utilization 0 percent") << deploymentWith("  autoscaling: {policy: baseten, target_utilization_percent: 0}") << 5
                                         << "deployment.autoscaling.target_utilization_percent" << "between 1 and 100";
        QTest::addRow("scale-down rate 0") << deploymentWith("  autoscaling: {policy: baseten, max_scale_down_rate: 0}") << 5
                                           << "deployment.autoscaling.max_scale_down_rate" << "expected a number > 0 and <= 1, got '0'";
        QTest::addRow("autoscaling key typo") << deploymentWith("  autoscaling: {policy: baseten, windw_s: 60}") << 5
                                              << "deployment.autoscaling.windw_s" << "did you mean 'window_s'";
        QTest::addRow("negative cost") << deploymentWith("  cost_per_replica_hour: -1") << 5 << "deployment.cost_per_replica_hour"
                                       << "got '-1'";
        QTest::addRow("modifier without kind") << deploymentWith("  concurrency_modifier: {value: 3}") << 5
                                               << "deployment.concurrency_modifier.kind" << "missing";
        QTest::addRow("fixed modifier without value") << deploymentWith("  concurrency_modifier: {kind: fixed}") << 5
                                                      << "deployment.concurrency_modifier.value" << "missing";
        QTest::addRow("value on adaptive") << deploymentWith("  concurrency_modifier: {kind: adaptive, value: 3}") << 5
                                           << "deployment.concurrency_modifier.value" << "does not apply to kind: adaptive";
        QTest::addRow("adaptive limits crossed") << deploymentWith("  concurrency_modifier: {kind: adaptive, min_limit: 8, max_limit: 4}")
                                                 << 5 << "deployment.concurrency_modifier" << "min_limit <= initial_limit <= max_limit";
        QTest::addRow("step without steps") << arrivalOf("{kind: step, rate_rps: 10}") << 8 << "workload.arrival.steps" << "missing";
        QTest::addRow("steps out of order") << arrivalOf("{kind: step, rate_rps: 10, steps: [{at_s: 9, rate_rps: 1}, {at_s: 3, rate_rps: 2}]}")
                                            << 8 << "workload.arrival.steps[1].at_s" << "time order";
        QTest::addRow("step without a rate") << arrivalOf("{kind: step, rate_rps: 10, steps: [{at_s: 9}]}") << 8
                                             << "workload.arrival.steps[0].rate_rps" << "missing";
        QTest::addRow("spike without duration") << arrivalOf("{kind: spike, rate_rps: 10, spike_rps: 50, at_s: 3}") << 8
                                                << "workload.arrival.duration_s" << "missing";
        QTest::addRow("diurnal with a rate") << arrivalOf("{kind: diurnal, rate_rps: 5, baseline_rps: 1, peak_rps: 2}") << 8
                                             << "workload.arrival.rate_rps" << "does not apply to kind: diurnal";
        QTest::addRow("diurnal without peak") << arrivalOf("{kind: diurnal, baseline_rps: 1}") << 8 << "workload.arrival.peak_rps"
                                              << "missing";
        QTest::addRow("spike keys on poisson") << arrivalOf("{kind: poisson, rate_rps: 5, spike_rps: 50}") << 8
                                               << "workload.arrival.spike_rps" << "does not apply to kind: poisson";
        QTest::addRow("trace without file") << arrivalOf("{kind: trace}") << 8 << "workload.arrival.file" << "missing";
        QTest::addRow("trace file missing") << arrivalOf("{kind: trace, file: /nonexistent/trace.csv}") << 8
                                            << "workload.arrival.file" << "cannot open: No such file or directory";
        QTest::addRow("table lengths differ") << replaced(6, "  predict: 10\n  predict_table: {batch: [1, 2], ms: [1]}") << 7
                                              << "model.predict_table.ms" << "one time per batch size";
        QTest::addRow("table not increasing") << replaced(6, "  predict: 10\n  predict_table: {batch: [2, 1], ms: [1, 2]}") << 7
                                              << "model.predict_table.batch" << "increasing";
        QTest::addRow("table time zero") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [0]}") << 7
                                         << "model.predict_table.ms[0]" << "got '0'";
        QTest::addRow("order above 1") << replaced(6, "  predict: 10\n  predict_sharing: {kind: serial, order: 1.5}") << 7
                                       << "model.predict_sharing.order" << "got '1.5'";
        QTest::addRow("kind and speedup") << replaced(6, "  predict: 10\n  predict_sharing: {kind: serial, speedup: [1, 1.5]}") << 7
                                          << "model.predict_sharing.kind" << "not both";
        QTest::addRow("table order negative") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], order: -0.1}") << 7
                                              << "model.predict_table.order" << "got '-0.1'";
        QTest::addRow("table tail negative") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], tail_ms: -1}") << 7
                                             << "model.predict_table.tail_ms" << "got '-1'";
        QTest::addRow("engine thread wake-up too long") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], engine_thread_wake_ms: [0, 0, 0, 0, 0, 0, 0, 0, 1001]}") << 7
                                                        << "model.predict_table.engine_thread_wake_ms[8]" << "got '1001'";
        QTest::addRow("engine thread wake-up a number") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], engine_thread_wake_ms: 0.01}") << 7
                                                        << "model.predict_table.engine_thread_wake_ms" << "a list of 1 to 64 numbers";
        QTest::addRow("engine thread negative") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], engine_thread_ms: -0.1}") << 7
                                                << "model.predict_table.engine_thread_ms" << "got '-0.1'";
        QTest::addRow("overhead list without concurrency") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], overhead_ms: [0.1, 0.2]}") << 7
                                                           << "model.predict_table.overhead_ms" << "a list needs the concurrency axis";
        QTest::addRow("engine thread list too short") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], concurrency: [1, 2, 4], ms: [[1], [1.5], [2]], "
                                                                    "engine_thread_ms: [0.03, 0.02]}") << 7
                                                      << "model.predict_table.engine_thread_ms" << "one per concurrency (3)";
        QTest::addRow("overhead list negative") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], concurrency: [1, 2], ms: [[1], [1.5]], "
                                                              "overhead_ms: [0.01, -0.02]}") << 7
                                                << "model.predict_table.overhead_ms[1]" << "got '-0.02'";
        QTest::addRow("idle jitter without jitter_from_ms") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], idle: {gap_ms: [1], extra_ms: [0.1], "
                                                               "jitter_ms: [0, 0, 0, 0, 0, 0, 0, 0, 0]}}") << 7
                                                     << "model.predict_table.idle.jitter_from_ms" << "missing";
        QTest::addRow("idle jitter from zero") << replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], idle: {gap_ms: [1], extra_ms: [0.1], "
                                                         "jitter_ms: [0, 0, 0, 0, 0, 0, 0, 0, 0], jitter_from_ms: 0}}") << 7
                                               << "model.predict_table.idle.jitter_from_ms" << "got '0'";
        QTest::addRow("unknown draw") << replaced(6, "  predict: {dist: lognormal, mean_ms: 10, draw: per_user}") << 6
                                      << "model.predict.draw" << "per_request, per_instant";
        QTest::addRow("unknown batching mode") << replaced(6, "  predict: 10\n  batching: {mode: speculative}") << 7
                                               << "model.batching.mode" << "expected one of none, dynamic, continuous";
        QTest::addRow("max_batch on continuous") << replaced(6, "  predict: 10\n  batching: {mode: continuous, max_batch: 4}") << 7
                                                 << "model.batching.max_batch" << "applies to mode: dynamic";
        QTest::addRow("output tokens negative") << replaced(6, "  predict: 10\n  batching: {mode: continuous, output_tokens: -3}") << 7
                                                << "model.batching.output_tokens" << "got '-3'";
        QTest::addRow("max batch zero") << replaced(6, "  predict: 10\n  batching: {mode: dynamic, max_batch: 0}") << 7
                                        << "model.batching.max_batch" << "got '0'";
        QTest::addRow("request size with mean_ms") << replaced(9, "  requests: 1000\n  request_size: {dist: uniform, mean_ms: 1}") << 10
                                                   << "workload.request_size.mean" << "missing";
    }
    void malformed()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(int, line);
        QFETCH(QString, key);
        QFETCH(QString, fragment);
        const ScenarioReadResult r = read(yaml);
        QVERIFY2(!r.ok(), "accepted");
        const ScenarioError& e = r.errors.front();
        QVERIFY2(e.line == line && QString::fromStdString(e.key) == key && QString::fromStdString(e.message).contains(fragment),
                 qPrintable(allErrors(r)));
    }

    void badTraceCsvNamesItsLine()
    {
        const ScenarioReadResult r = read(arrivalOf("{kind: trace, file: bad_trace_backwards.csv}"), (kData + "x.yaml").toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(QString::fromStdString(r.errors.front().message).contains("bad_trace_backwards.csv:3"), qPrintable(allErrors(r)));
        QVERIFY(QString::fromStdString(r.errors.front().message).contains("backwards"));
    }

    void writtenScenarioReadsBackEqual_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addRow("autoscaled diurnal") << "good_autoscaled_diurnal.yaml";
        QTest::addRow("trace") << "good_trace.yaml";
    }
    void writtenScenarioReadsBackEqual()
    {
        QFETCH(QString, file);
        const ScenarioReadResult first = readScenarioFile((kData + file).toStdString());
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const std::string yaml = writeScenarioYaml(*first.scenario);
        // Written beside the original, so a relative trace path still resolves.
        const ScenarioReadResult again = readScenarioText(yaml, (kData + "written.yaml").toStdString());
        QVERIFY2(again.ok(), qPrintable(allErrors(again) + "\n" + QString::fromStdString(yaml)));
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
    }

    void predictTableAndBatchingReadBack()
    {
        const ScenarioReadResult first = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1, 4], ms: [2.5, 4], source: \"cpu\"}\n"
                                                          "  batching: {mode: dynamic, max_batch: 16, max_delay_ms: 2}"));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        QCOMPARE(first.scenario->model.predictTable.ms[1], 4.0);
        QCOMPARE(first.scenario->model.batching.maxBatch, 16);
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        QCOMPARE(again.scenario->model.predictTable.batch, first.scenario->model.predictTable.batch);
        QCOMPARE(again.scenario->model.predictTable.ms, first.scenario->model.predictTable.ms);
        QCOMPARE(again.scenario->model.predictTable.source, std::string("cpu"));
        QCOMPARE(again.scenario->model.batching.maxDelayMs, 2.0);
    }

    // The device's order (DeviceSharing::order): stated with a speedup curve or a kind, or measured in the
    // table (used when no predict_sharing is stated); each reads back from what knee writes.
    void deviceOrderReadsBack_data()
    {
        QTest::addColumn<QByteArray>("lines");
        QTest::addColumn<int>("kind");
        QTest::addColumn<double>("order");
        QTest::addRow("speedup") << QByteArray("  predict_sharing: {speedup: [1, 1.5], order: 0.6}") << int(DeviceSharing::Kind::Speedup) << 0.6;
        QTest::addRow("kind") << QByteArray("  predict_sharing: {kind: serial, order: 1}") << int(DeviceSharing::Kind::Serial) << 1.0;
        QTest::addRow("kind, no order") << QByteArray("  predict_sharing: {kind: independent}") << int(DeviceSharing::Kind::Independent) << 0.0;
        QTest::addRow("table") << QByteArray("  predict_table: {batch: [1], concurrency: [1, 2], ms: [[2], [3]], order: 0.45}")
                               << int(DeviceSharing::Kind::Table) << 0.45;
    }
    void deviceOrderReadsBack()
    {
        QFETCH(QByteArray, lines);
        QFETCH(int, kind);
        QFETCH(double, order);
        const ScenarioReadResult first = read(replaced(6, "  predict: 10\n" + lines));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            const DeviceSharing d = s.model.effectiveSharing();
            QCOMPARE(int(d.kind), kind);
            QCOMPARE(d.order, order);
        }
    }

    // A table's tail, its engine thread (and the thread's wake-up) and a stage drawn per instant read, write and read back the same.
    void tailAndDrawReadBack()
    {
        const ScenarioReadResult first = read(replaced(6, "  predict: 10\n  preprocess: {dist: lognormal, mean_ms: 0.7, sigma: 0.4, draw: per_instant}\n"
                                                          "  predict_table: {batch: [1], concurrency: [1, 2], ms: [[0.5], [0.8]], tail_ms: 0.1, "
                                                          "engine_thread_ms: 0.027, engine_thread_wake_ms: [0.003, 0.004, 0.005, 0.007, 0.009, 0.014, 0.022, 0.029, 0.041]}"));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            QCOMPARE(s.model.predictTable.tailMs, 0.1);
            QCOMPARE(s.model.predictTable.engineThreadMs, 0.027);
            QCOMPARE(s.model.predictTable.engineThreadWakeMs, (std::vector<double>{0.003, 0.004, 0.005, 0.007, 0.009, 0.014, 0.022, 0.029, 0.041}));
            QVERIFY(s.model.preprocess.perInstant);
            QVERIFY(!s.model.predict.perInstant);
        }
        // The wake-up is given at the nine quantiles, and does not decrease.
        const ScenarioReadResult two = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], engine_thread_wake_ms: [0.01, 0.02]}"));
        QVERIFY2(allErrors(two).contains("engine_thread_wake_ms needs 9 times (quantiles 1 % to 99 %)"), qPrintable(allErrors(two)));
        const ScenarioReadResult falling = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [2], "
                                                            "engine_thread_wake_ms: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.07]}"));
        QVERIFY2(allErrors(falling).contains("engine_thread_wake_ms must be between 0 and 1000 ms and not decrease"), qPrintable(allErrors(falling)));
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        // overhead_ms and engine_thread_ms by concurrency, k = 1 first: the same after a write.
        const ScenarioReadResult byK = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], concurrency: [1, 2, 4], ms: [[0.5], [0.8], [1.2]], "
                                                        "overhead_ms: [0.007, 0.034, 0.009], engine_thread_ms: [0.04, 0.03, 0.029]}"));
        QVERIFY2(byK.ok(), qPrintable(allErrors(byK)));
        const ScenarioReadResult byKAgain = read(QByteArray::fromStdString(writeScenarioYaml(*byK.scenario)));
        QVERIFY2(byKAgain.ok(), qPrintable(allErrors(byKAgain)));
        for (const Scenario& s : {*byK.scenario, *byKAgain.scenario}) {
            const ServiceTable& t = s.model.predictTable;
            QCOMPARE(t.overheadMs, 0.007);
            QCOMPARE(t.overheadSharedMs, (std::vector<double>{0.034, 0.009}));
            QCOMPARE(t.engineThreadMs, 0.04);
            QCOMPARE(t.engineThreadSharedMs, (std::vector<double>{0.03, 0.029}));
        }
        QVERIFY(writeScenarioYaml(*byK.scenario).find("overhead_ms: [0.007, 0.034, 0.009]") != std::string::npos);
        // variation_alone beside variation: the same after a write.
        const ScenarioReadResult alone = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], concurrency: [1, 2], ms: [[0.5], [0.8]], "
                                                          "variation: [0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5], "
                                                          "variation_alone: [0.9, 0.95, 0.96, 0.98, 1, 1.02, 1.05, 1.1, 1.4]}"));
        QVERIFY2(alone.ok(), qPrintable(allErrors(alone)));
        const ScenarioReadResult aloneAgain = read(QByteArray::fromStdString(writeScenarioYaml(*alone.scenario)));
        QVERIFY2(aloneAgain.ok(), qPrintable(allErrors(aloneAgain)));
        for (const Scenario& s : {*alone.scenario, *aloneAgain.scenario}) {
            QCOMPARE(s.model.predictTable.variationAlone, (std::vector<double>{0.9, 0.95, 0.96, 0.98, 1, 1.02, 1.05, 1.1, 1.4}));
            QCOMPARE(s.model.predictTable.variation.back(), 1.5);
        }
        // A tail as long as a solo call leaves no device work: refused with the reason.
        const ScenarioReadResult whole = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [0.5], tail_ms: 0.5}"));
        QVERIFY(!whole.ok());
        QVERIFY2(allErrors(whole).contains("tail_ms must be >= 0 and below every solo time"), qPrintable(allErrors(whole)));
    }

    // The idle wake-up's jitter (idle.jitter_ms from jitter_from_ms) reads, writes and reads back the same;
    // jitter that decreases, or has a time too few, is refused with the reason.
    void idleJitterReadsBack()
    {
        const QByteArray table = "  predict: 10\n  predict_table: {batch: [1], ms: [0.5], idle: {gap_ms: [0.01, 0.1, 2], extra_ms: [0, 0.03, 0.18], "
                                 "jitter_ms: [-0.06, -0.04, -0.03, -0.01, -0.005, 0.01, 0.04, 0.11, 0.23], jitter_from_ms: 0.1}}";
        const ScenarioReadResult first = read(replaced(6, table));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            QCOMPARE(s.model.predictTable.idleJitterMs, (std::vector<double>{-0.06, -0.04, -0.03, -0.01, -0.005, 0.01, 0.04, 0.11, 0.23}));
            QCOMPARE(s.model.predictTable.idleJitterFromMs, 0.1);
        }
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        QByteArray decreasing = table;
        decreasing.replace("0.11, 0.23", "0.23, 0.11");
        const ScenarioReadResult down = read(replaced(6, decreasing));
        QVERIFY(!down.ok());
        QVERIFY2(allErrors(down).contains("idle.jitter_ms must be between -1000 and 1000 ms and not decrease"), qPrintable(allErrors(down)));
        QByteArray shortList = table;
        shortList.replace("-0.06, ", "");
        const ScenarioReadResult few = read(replaced(6, shortList));
        QVERIFY(!few.ok());
        QVERIFY2(allErrors(few).contains("one time per quantile (9)"), qPrintable(allErrors(few)));
        // A gap to apply from without a jitter to apply says nothing: refused, not dropped on the next save.
        const ScenarioReadResult fromOnly = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [0.5], idle: {gap_ms: [0.1], "
                                                             "extra_ms: [0.03], jitter_from_ms: 0.1}}"));
        QVERIFY(!fromOnly.ok());
        QVERIFY2(allErrors(fromOnly).contains("jitter_from_ms applies to idle.jitter_ms"), qPrintable(allErrors(fromOnly)));
    }

    // The calls no batcher's timer released have a curve of their own (idle.call_gap_ms, idle.call_extra_ms):
    // it reads, writes and reads back the same; one list without the other, gaps that do not increase, and a
    // call curve without the idle curve are refused with the reason.
    void callIdleCurveReadsBack()
    {
        const QByteArray table = "  predict: 10\n  predict_table: {batch: [1], ms: [0.5], idle: {gap_ms: [0.01, 0.1, 2], extra_ms: [0, 0.03, 0.18], "
                                 "call_gap_ms: [0.03, 0.7, 1.4], call_extra_ms: [0.01, 0.02, 0.025]}}";
        const ScenarioReadResult first = read(replaced(6, table));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            QCOMPARE(s.model.predictTable.callIdleGapMs, (std::vector<double>{0.03, 0.7, 1.4}));
            QCOMPARE(s.model.predictTable.callIdleExtraMs, (std::vector<double>{0.01, 0.02, 0.025}));
            QCOMPARE(s.model.predictTable.callIdleExtraAt(1.05), 0.0225); // linear between gaps
            QCOMPARE(s.model.predictTable.callIdleExtraAt(5), 0.025);     // flat beyond
            QCOMPARE(s.model.predictTable.idleExtraAt(2), 0.18);          // the idle curve unchanged
        }
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        QByteArray gapsOnly = table;
        gapsOnly.replace(", call_extra_ms: [0.01, 0.02, 0.025]", "");
        const ScenarioReadResult half = read(replaced(6, gapsOnly));
        QVERIFY(!half.ok());
        QVERIFY2(allErrors(half).contains("idle.call_extra_ms") && allErrors(half).contains("missing"), qPrintable(allErrors(half)));
        QByteArray back = table;
        back.replace("[0.03, 0.7, 1.4]", "[0.03, 1.4, 0.7]");
        const ScenarioReadResult down = read(replaced(6, back));
        QVERIFY(!down.ok());
        QVERIFY2(allErrors(down).contains("idle.call_gap_ms must be > 0 ms and increase"), qPrintable(allErrors(down)));
        QByteArray uneven = table;
        uneven.replace("0.01, 0.02, 0.025", "0.01, 0.02");
        const ScenarioReadResult fewer = read(replaced(6, uneven));
        QVERIFY(!fewer.ok());
        QVERIFY2(allErrors(fewer).contains("one idle.call_extra_ms per gap"), qPrintable(allErrors(fewer)));
        // Without the idle curve: what the timer's batches would pay is unsaid, so refused (by the reader, which
        // wants idle.gap_ms, and by the scenario itself, built in code).
        const ScenarioReadResult alone = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [0.5], idle: {call_gap_ms: [0.1], call_extra_ms: [0.01]}}"));
        QVERIFY(!alone.ok());
        QVERIFY2(allErrors(alone).contains("idle.gap_ms"), qPrintable(allErrors(alone)));
        Scenario built = *first.scenario;
        built.model.predictTable.idleGapMs.clear();
        built.model.predictTable.idleExtraMs.clear();
        built.model.predictTable.idleJitterMs.clear();
        built.model.predictTable.idleJitterFromMs = 0;
        QCOMPARE(QString::fromStdString(built.validate()),
                 QString("model.predict_table: idle.call_gap_ms needs the idle curve (gap_ms, extra_ms) for the batches a timer releases"));
    }

    // The device's own times (ServiceTable::deviceMs): in the shape of ms, read, written and read back the same;
    // a row short, a time of 0, or beside tail_ms, refused.
    void deviceTimesReadBack()
    {
        const QByteArray table = "  predict: 10\n  predict_table: {batch: [1, 4], concurrency: [1, 2], ms: [[0.2, 0.3], [0.31, 0.45]], "
                                 "device_ms: [[0.154, 0.25], [0.234, 0.36]]}";
        const ScenarioReadResult first = read(replaced(6, table));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            QCOMPARE(s.model.predictTable.deviceMs, (std::vector<double>{0.154, 0.25}));
            QCOMPARE(s.model.predictTable.deviceMsShared, (std::vector<std::vector<double>>{{0.234, 0.36}}));
            QCOMPARE(s.model.predictTable.deviceMsAt(1, 2), 0.234);
            QVERIFY(qFuzzyCompare(s.model.predictTable.deviceMsAt(4, 4), 0.72)); // saturated beyond the last row: 0.36 * 4 / 2
        }
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        QByteArray shortRow = table;
        shortRow.replace("[0.234, 0.36]", "[0.234]");
        const ScenarioReadResult fewer = read(replaced(6, shortRow));
        QVERIFY(!fewer.ok());
        QVERIFY2(allErrors(fewer).contains("device_ms[1]") && allErrors(fewer).contains("one time per batch size"), qPrintable(allErrors(fewer)));
        QByteArray oneRow = table;
        oneRow.replace("device_ms: [[0.154, 0.25], [0.234, 0.36]]", "device_ms: [[0.154, 0.25]]");
        const ScenarioReadResult rows = read(replaced(6, oneRow));
        QVERIFY(!rows.ok());
        QVERIFY2(allErrors(rows).contains("one list of times per concurrency (2)"), qPrintable(allErrors(rows)));
        QByteArray zero = table;
        zero.replace("0.154", "0");
        QVERIFY(!read(replaced(6, zero)).ok());
        QByteArray withTail = table;
        withTail.replace("device_ms:", "tail_ms: 0.05, device_ms:");
        const ScenarioReadResult both = read(replaced(6, withTail));
        QVERIFY(!both.ok());
        QVERIFY2(allErrors(both).contains("give tail_ms or device_ms, not both"), qPrintable(allErrors(both)));
        // Built in code with a row short: refused by the scenario itself.
        Scenario built = *first.scenario;
        built.model.predictTable.deviceMsShared.clear();
        QCOMPARE(QString::fromStdString(built.validate()),
                 QString("model.predict_table: device_ms needs the shape of ms (one row per concurrency, one time per batch size)"));
    }

    // variation_shared (ServiceTable::variationShared): one row of nine ratios per concurrency above 1, read,
    // written and read back the same; a row too many, or without the concurrency axis, refused.
    void variationSharedReadsBack()
    {
        const QByteArray table = "  predict: 10\n  predict_table: {batch: [1], concurrency: [1, 2, 4], ms: [[0.2], [0.3], [0.42]], "
                                 "variation: [0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5], "
                                 "variation_shared: [[0.92, 0.95, 0.96, 0.97, 1, 1.01, 1.02, 1.03, 1.05], [0.67, 0.75, 0.88, 0.96, 1, 1.05, 1.08, 1.09, 1.13]]}";
        const ScenarioReadResult first = read(replaced(6, table));
        QVERIFY2(first.ok(), qPrintable(allErrors(first)));
        const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
        QVERIFY2(again.ok(), qPrintable(allErrors(again)));
        for (const Scenario& s : {*first.scenario, *again.scenario}) {
            QCOMPARE(s.model.predictTable.variationShared.size(), std::size_t(2));
            QCOMPARE(s.model.predictTable.variationShared[1][8], 1.13);
            QCOMPARE(s.model.predictTable.variationAt(0.99, 2), 1.05);
        }
        QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        QByteArray extra = table;
        extra.replace("1.09, 1.13]]", "1.09, 1.13], [1, 1, 1, 1, 1, 1, 1, 1, 1]]");
        const ScenarioReadResult tooMany = read(replaced(6, extra));
        QVERIFY(!tooMany.ok());
        QVERIFY2(allErrors(tooMany).contains("one list of ratios per concurrency above 1 (2)"), qPrintable(allErrors(tooMany)));
        const ScenarioReadResult noAxis = read(replaced(6, "  predict: 10\n  predict_table: {batch: [1], ms: [0.2], variation: [1, 1, 1, 1, 1, 1, 1, 1, 1], "
                                                        "variation_shared: [[1, 1, 1, 1, 1, 1, 1, 1, 1]]}"));
        QVERIFY(!noAxis.ok());
        QVERIFY2(allErrors(noAxis).contains("it needs the concurrency axis"), qPrintable(allErrors(noAxis)));
    }

    void writtenPatternsReadBack()
    {
        for (const QByteArray& arrival : {QByteArray("{kind: step, rate_rps: 10, steps: [{at_s: 60, rate_rps: 50}]}"),
                                          QByteArray("{kind: spike, rate_rps: 10, spike_rps: 500, at_s: 30, duration_s: 5}"),
                                          QByteArray("{kind: diurnal, baseline_rps: 3, peak_rps: 9, period_s: 600, peak_at_s: 100}")}) {
            const ScenarioReadResult first = read(arrivalOf(arrival));
            QVERIFY2(first.ok(), qPrintable(allErrors(first)));
            const ScenarioReadResult again = read(QByteArray::fromStdString(writeScenarioYaml(*first.scenario)));
            QVERIFY2(again.ok(), qPrintable(allErrors(again)));
            QCOMPARE(scenarioDiff(*first.scenario, *again.scenario), QString());
        }
    }
};

QTEST_GUILESS_MAIN(TestScenarioScaling)
#include "tst_scenario_scaling.moc"
