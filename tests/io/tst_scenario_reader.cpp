// Scenario reader: every malformed input is an error at the right line, under the right dotted
// key, in words that say what was expected and what was found; good files read to the exact
// fields, with defaults, warnings and sorted changes.
#include "scenario_test_support.h"

#include <QTest>

#include <algorithm>

using namespace knee;
using namespace knee::test;

class TestScenarioReader : public QObject {
    Q_OBJECT
private slots:
    void baseIsValid()
    {
        // Every malformed row is one change away from this; it must read cleanly for the rows to mean anything.
        const auto r = read(kBase);
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QVERIFY(r.warnings.empty());
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("fragment");
        QTest::addColumn<int>("count"); // errors in all

        // Numbers: the arrival rate on line 8.
        auto rate = [](const QByteArray& v) { return replaced(8, "  arrival: {kind: poisson, rate_rps: " + v + "}"); };
        const QString rateKey = "workload.arrival.rate_rps";
        QTest::addRow("negative rate") << rate("-5") << 8 << rateKey << "expected a number > 0 and <= 10000000, got '-5'" << 1;
        QTest::addRow("rate is text") << rate("abc") << 8 << rateKey << "got 'abc'" << 1;
        QTest::addRow("rate is a map") << rate("{per_s: 5}") << 8 << rateKey << "got a map" << 1;
        QTest::addRow("rate is a list") << rate("[5]") << 8 << rateKey << "got a list" << 1;
        QTest::addRow("rate is empty") << rate("") << 8 << rateKey << "got nothing" << 1;
        QTest::addRow("rate NaN") << rate(".nan") << 8 << rateKey << "got '.nan' (not a finite number)" << 1;
        QTest::addRow("rate infinite") << rate(".inf") << 8 << rateKey << "(not a finite number)" << 1;
        QTest::addRow("rate 1e400") << rate("1e400") << 8 << rateKey << "got '1e400' (too large" << 1;
        QTest::addRow("rate quoted") << rate("\"100\"") << 8 << rateKey << "write numbers without quotes" << 1;
        QTest::addRow("rate above the limit") << rate("2e7") << 8 << rateKey << "got '2e7'" << 1;
        QTest::addRow("rate in hex") << rate("0x10") << 8 << rateKey << "got '0x10'" << 1;

        // Arrival kinds.
        auto arrival = [](const QByteArray& v) { return replaced(8, "  arrival: " + v); };
        QTest::addRow("unknown arrival kind") << arrival("{kind: bursty, rate_rps: 5}") << 8 << "workload.arrival.kind"
                                              << "expected one of poisson, constant, closed, step, spike, diurnal, trace, got 'bursty'" << 1;
        QTest::addRow("arrival kind typo") << arrival("{kind: poison, rate_rps: 5}") << 8 << "workload.arrival.kind"
                                           << "did you mean 'poisson'?" << 1;
        QTest::addRow("arrival without kind") << arrival("{rate_rps: 5}") << 8 << "workload.arrival.kind"
                                              << "missing; expected one of poisson" << 1;
        QTest::addRow("closed loop with a rate") << arrival("{kind: closed, users: 2, rate_rps: 5}") << 8 << rateKey
                                                 << "rate_rps does not apply to kind: closed; a closed loop sets users" << 1;
        QTest::addRow("open loop with users")
            << arrival("{kind: poisson, rate_rps: 5, users: 2}") << 8 << "workload.arrival.users"
            << "applies only to kind: closed" << 1;
        QTest::addRow("open loop with think time")
            << arrival("{kind: constant, rate_rps: 5, think: 3}") << 8 << "workload.arrival.think"
            << "applies only to kind: closed" << 1;
        QTest::addRow("closed loop without users") << arrival("{kind: closed}") << 8 << "workload.arrival.users"
                                                   << "missing; expected a whole number between 1 and 1000000" << 1;
        QTest::addRow("users fractional") << arrival("{kind: closed, users: 2.5}") << 8 << "workload.arrival.users"
                                          << "got '2.5' (a fraction where a whole number is needed)" << 1;
        QTest::addRow("users zero") << arrival("{kind: closed, users: 0}") << 8 << "workload.arrival.users"
                                    << "between 1 and 1000000, got '0'" << 1;
        QTest::addRow("bad think time") << arrival("{kind: closed, users: 2, think: {dist: constant, mean_ms: -1}}") << 8
                                        << "workload.arrival.think.mean_ms"
                                        << "got '-1'" << 1;
        QTest::addRow("arrival is a number") << arrival("5") << 8 << "workload.arrival"
                                             << "expected a map like {kind: poisson, rate_rps: 100}, got '5'" << 1;

        // Deployment, lines 1-4.
        QTest::addRow("target zero") << replaced(3, "  concurrency_target: 0") << 3 << "deployment.concurrency_target"
                                     << "expected a whole number between 1 and 100000, got '0'" << 1;
        QTest::addRow("target fractional") << replaced(3, "  concurrency_target: 2.5") << 3 << "deployment.concurrency_target"
                                           << "a fraction where a whole number is needed" << 1;
        QTest::addRow("target above the limit")
            << replaced(3, "  concurrency_target: 100001") << 3 << "deployment.concurrency_target"
            << "got '100001'" << 1;
        QTest::addRow("target is a list") << replaced(3, "  concurrency_target: [4]") << 3 << "deployment.concurrency_target"
                                          << "got a list" << 1;
        QTest::addRow("target missing") << replaced(3, "") << 1 << "deployment.concurrency_target"
                                        << "missing; expected a whole number between 1 and 100000" << 1;
        QTest::addRow("predict concurrency zero")
            << replaced(4, "  predict_concurrency: 0") << 4 << "deployment.predict_concurrency"
            << "got '0'" << 1;
        QTest::addRow("min above max") << replaced(2, "  replicas: {min: 3, max: 2}") << 2 << "deployment.replicas.min"
                                       << "expected a whole number between 0 and max (2), got '3'" << 1;
        QTest::addRow("max zero") << replaced(2, "  replicas: {min: 0, max: 0}") << 2 << "deployment.replicas.max"
                                  << "between 1 and 10000, got '0'" << 1;
        QTest::addRow("min negative") << replaced(2, "  replicas: {min: -1, max: 2}") << 2 << "deployment.replicas.min"
                                      << "got '-1'" << 1;
        QTest::addRow("max above the limit") << replaced(2, "  replicas: {min: 1, max: 10001}") << 2 << "deployment.replicas.max"
                                             << "between 1 and 10000, got '10001'" << 1;
        QTest::addRow("initial above max") << replaced(2, "  replicas: {min: 1, max: 2, initial: 5}") << 2
                                           << "deployment.replicas.initial"
                                           << "between 1 and max (2), got '5'" << 1;
        QTest::addRow("initial below min") << replaced(2, "  replicas: {min: 2, max: 3, initial: 1}") << 2
                                           << "deployment.replicas.initial"
                                           << "between 2 and max (3), got '1'" << 1;
        QTest::addRow("replicas without max") << replaced(2, "  replicas: {min: 1}") << 2 << "deployment.replicas.max"
                                              << "missing" << 1;
        QTest::addRow("replicas is a number") << replaced(2, "  replicas: 2") << 2 << "deployment.replicas"
                                              << "expected a map like {min: 1, max: 2}, got '2'" << 1;
        QTest::addRow("replicas missing") << replaced(2, "") << 1 << "deployment.replicas"
                                          << "missing" << 1;
        QTest::addRow("cold start negative") << replaced(4, "  cold_start_s: -1") << 4 << "deployment.cold_start_s"
                                             << "expected a number between 0 and 86400, got '-1'" << 1;
        QTest::addRow("cold start above a day") << replaced(4, "  cold_start_s: 86401") << 4 << "deployment.cold_start_s"
                                                << "got '86401'" << 1;
        QTest::addRow("queue limit fractional") << replaced(4, "  queue_limit: 1.5") << 4 << "deployment.queue_limit"
                                                << "a fraction where a whole number is needed" << 1;
        QTest::addRow("deployment is a list") << replaced(1, 4, "deployment: [1, 2]") << 1 << "deployment"
                                              << "expected a map with replicas and concurrency_target, got a list" << 1;

        // Workload, lines 7-10.
        QTest::addRow("requests negative") << replaced(9, "  requests: -5") << 9 << "workload.requests"
                                           << "expected a whole number between 0 and 10000000000, got '-5'" << 1;
        QTest::addRow("requests fractional") << replaced(9, "  requests: 1.5") << 9 << "workload.requests"
                                             << "a fraction where a whole number is needed" << 1;
        QTest::addRow("requests above the limit") << replaced(9, "  requests: 1e11") << 9 << "workload.requests"
                                                  << "got '1e11'" << 1;
        QTest::addRow("no end to the run") << replaced(9, "  requests: 0") << 9 << "workload.requests"
                                           << "both 0; set at least one > 0, or the run never ends" << 1;
        QTest::addRow("neither requests nor duration") << replaced(9, "") << 7 << "workload.requests"
                                                       << "missing; expected requests > 0 or duration_s > 0" << 1;
        QTest::addRow("duration negative") << replaced(9, "  duration_s: -1") << 9 << "workload.duration_s"
                                           << "expected a number between 0 and 31536000, got '-1'" << 1;
        QTest::addRow("warmup not shorter than the run")
            << replaced(9, "  duration_s: 10\n  warmup_s: 10") << 10 << "workload.warmup_s"
            << "< duration_s (10), got '10'" << 1;
        QTest::addRow("warmup negative") << replaced(9, "  requests: 5\n  warmup_s: -1") << 10 << "workload.warmup_s"
                                         << "got '-1'" << 1;
        QTest::addRow("seed negative") << replaced(10, "  seed: -1") << 10 << "workload.seed"
                                       << "expected a whole number between 0 and 18446744073709551615, got '-1'" << 1;
        QTest::addRow("seed fractional") << replaced(10, "  seed: 1.5") << 10 << "workload.seed"
                                         << "got '1.5'" << 1;
        QTest::addRow("seed above 2^64") << replaced(10, "  seed: 18446744073709551616") << 10 << "workload.seed"
                                         << "(too large)" << 1;
        QTest::addRow("seed quoted") << replaced(10, "  seed: \"42\"") << 10 << "workload.seed"
                                     << "write numbers without quotes" << 1;
        QTest::addRow("workload missing") << replaced(7, 10, "") << 1 << "workload"
                                          << "missing; expected a map" << 1;

        // Model and distributions, line 6.
        auto predict = [](const QByteArray& v) { return replaced(6, "  predict: " + v); };
        QTest::addRow("unknown distribution")
            << predict("{dist: gaussian, mean_ms: 10}") << 6 << "model.predict.dist"
            << "expected one of constant, exponential, lognormal, uniform, empirical, got 'gaussian'" << 1;
        QTest::addRow("distribution typo") << predict("{dist: exponental, mean_ms: 10}") << 6 << "model.predict.dist"
                                           << "did you mean 'exponential'?" << 1;
        auto profile = [](const QByteArray& v) { return replaced(6, "  predict: 10\n  profile: " + v); };
        QTest::addRow("unknown model profile") << profile("huge") << 7 << "model.profile"
                                               << "expected one of tiny, small, medium, large, xl, got 'huge'" << 1;
        QTest::addRow("model profile typo") << profile("smal") << 7 << "model.profile" << "did you mean 'small'?" << 1;
        QTest::addRow("model profile is a map") << profile("{hidden: 64}") << 7 << "model.profile" << "got a map" << 1;
        QTest::addRow("distribution without dist") << predict("{mean_ms: 10}") << 6 << "model.predict.dist"
                                                   << "missing; expected one of constant" << 1;
        QTest::addRow("distribution without mean") << predict("{dist: exponential}") << 6 << "model.predict.mean_ms"
                                                   << "missing; expected a number between 0 and 86400000" << 1;
        QTest::addRow("negative mean") << predict("{dist: exponential, mean_ms: -1}") << 6 << "model.predict.mean_ms"
                                       << "expected a number between 0 and 86400000, got '-1'" << 1;
        QTest::addRow("mean above a day") << predict("{dist: constant, mean_ms: 86400001}") << 6 << "model.predict.mean_ms"
                                          << "got '86400001'" << 1;
        QTest::addRow("bare number negative") << predict("-3") << 6 << "model.predict"
                                              << "expected a time in ms (a number between 0 and 86400000) or a map" << 1;
        QTest::addRow("stage is text") << predict("fast") << 6 << "model.predict"
                                       << "got 'fast'" << 1;
        QTest::addRow("stage is a list") << predict("[1, 2]") << 6 << "model.predict"
                                         << "got a list" << 1;
        QTest::addRow("stage is empty") << predict("") << 6 << "model.predict"
                                        << "got nothing" << 1;
        QTest::addRow("lognormal sigma zero") << predict("{dist: lognormal, mean_ms: 10, sigma: 0}") << 6 << "model.predict.sigma"
                                              << "expected a number > 0 and <= 4" << 1; // was <= 10 until issue 12 item 9
        // Issue 12 item 9: accepted before, while a run asked 10 ms and realised 0.000 ms.
        QTest::addRow("lognormal sigma whose mean cannot converge")
            << predict("{dist: lognormal, mean_ms: 10, sigma: 10}") << 6 << "model.predict.sigma"
            << "(a lognormal's mean needs (e^(sigma^2) - 1) / 0.01 samples to come within 10 %: 8.9e8 at sigma 4; above 4.3, more "
               "than the 1e10 requests a run may hold), got '10'" << 1;
        QTest::addRow("sigma on exponential")
            << predict("{dist: exponential, mean_ms: 1, sigma: 2}") << 6 << "model.predict.sigma"
            << "sigma applies only to dist: lognormal, not exponential" << 1;
        QTest::addRow("values on uniform") << predict("{dist: uniform, mean_ms: 1, values_ms: [1]}") << 6
                                           << "model.predict.values_ms"
                                           << "applies only to dist: empirical" << 1;
        QTest::addRow("uniform spread above mean")
            << predict("{dist: uniform, mean_ms: 10, spread_ms: 20}") << 6 << "model.predict.spread_ms"
            << "expected a number between 0 and mean_ms (10), got '20'" << 1;
        QTest::addRow("uniform spread negative")
            << predict("{dist: uniform, mean_ms: 10, spread_ms: -1}") << 6 << "model.predict.spread_ms"
            << "got '-1'" << 1;
        QTest::addRow("empirical without values") << predict("{dist: empirical}") << 6 << "model.predict.values_ms"
                                                  << "missing; expected a non-empty list" << 1;
        QTest::addRow("empirical with no values") << predict("{dist: empirical, values_ms: []}") << 6 << "model.predict.values_ms"
                                                  << "expected a non-empty list of numbers, got an empty list" << 1;
        QTest::addRow("empirical values not a list")
            << predict("{dist: empirical, values_ms: 5}") << 6 << "model.predict.values_ms"
            << "expected a list of numbers" << 1;
        QTest::addRow("empirical bad value")
            << predict("{dist: empirical, values_ms: [1, x]}") << 6 << "model.predict.values_ms[1]"
            << "got 'x'" << 1;
        QTest::addRow("empirical negative value")
            << predict("{dist: empirical, values_ms: [1, -2]}") << 6 << "model.predict.values_ms[1]"
            << "got '-2'" << 1;
        QTest::addRow("empirical weight count")
            << predict("{dist: empirical, values_ms: [1, 2], weights: [1]}") << 6 << "model.predict.weights"
            << "expected 2 weights (one per value in values_ms), got 1" << 1;
        QTest::addRow("empirical negative weight")
            << predict("{dist: empirical, values_ms: [1, 2], weights: [1, -1]}") << 6 << "model.predict.weights[1]"
            << "expected a number >= 0, got '-1'" << 1;
        QTest::addRow("empirical zero weights")
            << predict("{dist: empirical, values_ms: [1, 2], weights: [0, 0]}") << 6 << "model.predict.weights"
            << "at least one weight > 0" << 1;
        QTest::addRow("empirical zeros rescaled")
            << predict("{dist: empirical, mean_ms: 5, values_ms: [0, 0]}") << 6 << "model.predict.values_ms"
            << "rescaled to its mean, got only zeros" << 1;
        QTest::addRow("many bad values") << predict("{dist: empirical, values_ms: [a, b, c, d, e, f, g]}") << 6
                                         << "model.predict.values_ms[5]"
                                         << "this item and 1 more are not" << 6;
        QTest::addRow("predict missing") << replaced(6, "  preprocess: 1") << 5 << "model.predict"
                                         << "missing" << 1;
        QTest::addRow("failure rate above 1")
            << replaced(6, "  predict: 10\n  predict_failure_rate: 2") << 7 << "model.predict_failure_rate"
            << "expected a number between 0 and 1, got '2'" << 1;
        QTest::addRow("model is text") << replaced(5, 6, "model: fast") << 5 << "model"
                                       << "got 'fast'" << 1;

        // Keys.
        QTest::addRow("unknown top-level key") << appended("extras: 1\n") << 11 << "extras"
                                               << "unknown key; expected one of name, deployment, model, workload, changes" << 1;
        QTest::addRow("typo in a key") << replaced(3, "  concurency_target: 4") << 3 << "deployment.concurency_target"
                                       << "unknown key; did you mean 'concurrency_target'?" << 2;
        QTest::addRow("camelCase key") << replaced(3, "  concurrencyTarget: 4") << 3 << "deployment.concurrencyTarget"
                                       << "did you mean 'concurrency_target'?" << 2;
        QTest::addRow("key in the wrong section") << replaced(10, "  cold_start_s: 3") << 10 << "workload.cold_start_s"
                                                  << "'cold_start_s' belongs in 'deployment'" << 1;
        QTest::addRow("duplicate key") << replaced(4, "  concurrency_target: 8") << 4 << "deployment.concurrency_target"
                                       << "duplicate key (first at line 3)" << 1;
        QTest::addRow("duplicate section") << appended("model: {predict: 3}\n") << 11 << "model"
                                           << "duplicate key (first at line 5)" << 1;
        QTest::addRow("merge key") << replaced(6, "  predict: &p {dist: exponential, mean_ms: 10}\n  preprocess: {<<: *p}") << 7
                                   << "model.preprocess.<<"
                                   << "merge keys ('<<') are not supported" << 2;
        QTest::addRow("key that is a map") << appended("{a: 1}: 2\n") << 11 << ""
                                           << "expected a key name, got a map as a key" << 1;
        QTest::addRow("name is a list") << appended("name: [a]\n") << 11 << "name"
                                        << "expected text, got a list" << 1;

        // Changes, appended from line 11.
        auto change = [](const QByteArray& items) { return appended("changes:\n" + items); };
        QTest::addRow("changes is a map") << appended("changes: {at_s: 1}\n") << 11 << "changes"
                                          << "expected a list of changes" << 1;
        QTest::addRow("change without a time") << change("  - {concurrency_target: 2}\n") << 12 << "changes[0].at_s"
                                               << "missing" << 1;
        QTest::addRow("change at a negative time") << change("  - {at_s: -1, concurrency_target: 2}\n") << 12 << "changes[0].at_s"
                                                   << "between 0 and 31536000, got '-1'" << 1;
        QTest::addRow("change without a knob") << change("  - {at_s: 1}\n") << 12 << "changes[0]"
                                               << "a change needs at least one of concurrency_target" << 1;
        QTest::addRow("change with a bad knob")
            << change("  - {at_s: 1, predict_concurrency: 0}\n") << 12 << "changes[0].predict_concurrency"
            << "got '0'" << 1;
        QTest::addRow("change with an unknown knob")
            << change("  - {at_s: 1, cold_start_s: 3}\n") << 12 << "changes[0].cold_start_s"
            << "unknown key; expected one of at_s" << 1;
        QTest::addRow("change with min above max") << change("  - {at_s: 1, replicas: {min: 3}}\n") << 12 << "changes[0].replicas"
                                                   << "min replicas (3) would exceed max replicas (2)" << 1;
        QTest::addRow("change with empty replicas") << change("  - {at_s: 1, replicas: {}}\n") << 12 << "changes[0].replicas"
                                                    << "got an empty map" << 1;
        QTest::addRow("change is a number") << change("  - 5\n") << 12 << "changes[0]"
                                            << "got '5'" << 1;
        QTest::addRow("second change is bad")
            << change("  - {at_s: 5, concurrency_target: 3}\n  - {at_s: 1, rate_rps: 0}\n") << 13 << "changes[1].rate_rps"
            << "got '0'" << 1;
        // Sorted by time, the min of 3 (at 5 s) comes before the max of 5 (at 10 s): max is still 2.
        QTest::addRow("change order decides the bounds")
            << change("  - {at_s: 10, replicas: {max: 5}}\n  - {at_s: 5, replicas: {min: 3}}\n") << 13 << "changes[1].replicas"
            << "from at_s 5 on" << 1;

        // The document as a whole.
        QTest::addRow("unclosed flow map") << QByteArray("deployment: {concurrency_target: 4\nmodel: x\n") << 2 << ""
                                           << "YAML syntax error: end of map flow not found" << 1;
        QTest::addRow("bad indentation") << QByteArray("deployment:\n  replicas: 1\n concurrency_target: 2\n") << 3 << ""
                                         << "YAML syntax error" << 1;
        QTest::addRow("stray flow end") << QByteArray("a: [1, 2]]\n") << 1 << ""
                                        << "YAML syntax error: illegal flow end" << 1;
        QTest::addRow("tab indentation") << QByteArray("deployment:\n\treplicas: {min: 1, max: 1}\n") << 2 << ""
                                         << "a tab indents this line; YAML indents with spaces only" << 1;
        QTest::addRow("top level is a list")
            << QByteArray("- 1\n- 2\n") << 1 << ""
            << "expected a map with keys deployment, model, workload at the top level, got a list" << 1;
        QTest::addRow("top level is a scalar") << QByteArray("hello\n") << 1 << ""
                                               << "got 'hello'" << 1;
        QTest::addRow("empty file") << QByteArray() << 1 << ""
                                    << "the file is empty" << 1;
        QTest::addRow("only whitespace") << QByteArray("\n  \n\n") << 1 << ""
                                         << "the file is empty" << 1;
        QTest::addRow("only a comment") << QByteArray("# nothing here\n") << 1 << ""
                                        << "the file holds only comments" << 1;
        QTest::addRow("only a document marker") << QByteArray("---\n") << 1 << ""
                                                << "the document is empty" << 1;
        QTest::addRow("two documents") << kBase + "---\n" + kBase << 11 << ""
                                       << "a second YAML document starts here" << 1;
        QTest::addRow("not UTF-8") << QByteArray("name: caf\xe9\n") << 1 << ""
                                   << "byte 0xE9 is not valid UTF-8" << 1;
        QTest::addRow("truncated UTF-8") << QByteArray("name: \xe2\x82") << 1 << ""
                                         << "byte 0xE2 is not valid UTF-8" << 1;
        QTest::addRow("UTF-16") << QByteArray("\xff\xfen\0a\0", 6) << 1 << ""
                                << "byte 0xFF is not valid UTF-8" << 1;
        QTest::addRow("overlong UTF-8") << QByteArray("name: \xc0\xaf\n") << 1 << ""
                                        << "byte 0xC0 is not valid UTF-8" << 1;
        QTest::addRow("NUL byte") << QByteArray("name: a\nb\0c: 1\n", 15) << 2 << ""
                                  << "control character U+0000 is not allowed" << 1;
        QTest::addRow("escape character") << QByteArray("name: \x1b[31mred\n") << 1 << ""
                                          << "control character U+001B" << 1;
        QTest::addRow("deeply nested lists") << "deployment: " + QByteArray(10'000, '[') << 1 << ""
                                             << "nested too deeply" << 1;
        QByteArray deepMaps = "deployment:\n";
        for (int i = 1; i < 1'000; ++i)
            deepMaps += QByteArray(2 * i, ' ') + "k:\n";
        QTest::addRow("deeply nested maps") << deepMaps << 499 << ""
                                            << "nested too deeply" << 1;
        QTest::addRow("undefined alias") << QByteArray("deployment: *nothing\n") << 1 << ""
                                         << "the referenced anchor is not defined" << 1;
    }

    void malformed()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(int, line);
        QFETCH(QString, key);
        QFETCH(QString, fragment);
        QFETCH(int, count);

        const ScenarioReadResult r = read(yaml);
        const QString all = allErrors(r);
        QVERIFY(!r.ok());
        QVERIFY2(!r.scenario, "a scenario came back despite errors");
        const auto it = std::find_if(
            r.errors.begin(), r.errors.end(), [&](const ScenarioError& e) { return QString::fromStdString(e.key) == key; });
        QVERIFY2(it != r.errors.end(), qPrintable("no error for key '" + key + "' in:\n" + all));
        QCOMPARE(QString::fromStdString(it->file), QStringLiteral("test.yaml"));
        QVERIFY2(it->line == line, qPrintable(QStringLiteral("line %1, expected %2:\n").arg(it->line).arg(line) + all));
        QVERIFY2(it->column >= 1, qPrintable(all));
        QVERIFY2(QString::fromStdString(it->message).contains(fragment), qPrintable(all));
        QVERIFY2(int(r.errors.size()) == count,
            qPrintable(QStringLiteral("%1 errors, expected %2:\n").arg(r.errors.size()).arg(count) + all));
    }

    void positionsAreOneBasedCharacters_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<QByteArray>("at"); // the text the error must point at (its first occurrence)
        QTest::addColumn<QString>("key");
        QTest::addRow("value in a flow map")
            << replaced(8, "  arrival: {kind: poisson, rate_rps: abc}") << QByteArray("abc") << "workload.arrival.rate_rps";
        QTest::addRow("unknown key") << replaced(4, "  predict_concurency: 2") << QByteArray("predict_concurency")
                                     << "deployment.predict_concurency";
        QTest::addRow("after multi-byte characters")
            << replaced(6, "  predict: {dist: constant, mean_ms: 1, é: 2, x: 3}") << QByteArray("x: 3") << "model.predict.x";
        QTest::addRow("missing key at the top") << replaced(7, 10, "") << QByteArray("deployment") << "workload";
    }

    void positionsAreOneBasedCharacters()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(QByteArray, at);
        QFETCH(QString, key);
        const ScenarioReadResult r = read(yaml);
        const auto it = std::find_if(
            r.errors.begin(), r.errors.end(), [&](const ScenarioError& e) { return QString::fromStdString(e.key) == key; });
        QVERIFY2(it != r.errors.end(), qPrintable(allErrors(r)));
        const qsizetype offset = yaml.indexOf(at);
        QVERIFY(offset >= 0);
        const qsizetype lineStart = yaml.lastIndexOf('\n', offset) + 1;
        const int expectedLine = int(yaml.left(offset).count('\n')) + 1;
        const int expectedColumn = int(QString::fromUtf8(yaml.mid(lineStart, offset - lineStart)).size()) + 1;
        QCOMPARE(it->line, expectedLine);
        QCOMPARE(it->column, expectedColumn);
    }

    void byteOrderMarkAndWindowsLineEndings()
    {
        // An editor shows neither the byte-order mark nor the CR: positions are as the user sees them.
        const ScenarioReadResult bom = read("\xEF\xBB\xBF" + replaced(1, 4, "deployment: [1, 2]"));
        QCOMPARE(bom.errors.size(), std::size_t(1));
        QCOMPARE(bom.errors[0].line, 1);
        QCOMPARE(bom.errors[0].column, 13);
        QVERIFY(read("\xEF\xBB\xBF" + kBase).ok());

        QByteArray crlf = replaced(9, "  requests: -5");
        crlf.replace("\n", "\r\n");
        const ScenarioReadResult windows = read(crlf);
        QCOMPARE(windows.errors.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(windows.errors[0].key), QStringLiteral("workload.requests"));
        QCOMPARE(windows.errors[0].line, 9);
        QCOMPARE(windows.errors[0].column, 13);
        QByteArray good = kBase;
        QVERIFY(read(good.replace("\n", "\r\n")).ok());
    }

    void reportsEveryProblemAtOnce()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "bad_types.yaml").toStdString());
        QStringList keys;
        for (const auto& e : r.errors)
            keys << QString::fromStdString(e.key);
        const QStringList expected
            = { "deployment.replicas.min", "deployment.concurrency_target", "deployment.predict_concurrency",
                  "model.predict.dist", "workload.arrival.rate_rps", "workload.requests", "workload.seed" };
        QCOMPARE(keys, expected); // in the order of the file
    }

    void errorsStopAtACap()
    {
        QByteArray yaml = kBase;
        for (int i = 0; i < 200; ++i)
            yaml += "unknown_" + QByteArray::number(i) + ": 1\n";
        const ScenarioReadResult r = read(yaml);
        QCOMPARE(r.errors.size(), std::size_t(51));
        QCOMPARE(r.errors.back().line, 0);
        QVERIFY(QString::fromStdString(r.errors.back().message).contains("too many errors"));
        QCOMPARE(r.errors.front().line, 11);
    }

    void errorToString_data()
    {
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("expected");
        QTest::addRow("full") << 3 << "workload.arrival.rate_rps"
                              << "s.yaml:3:7: key 'workload.arrival.rate_rps': expected a number > 0, got 'abc'";
        QTest::addRow("no key") << 3 << ""
                                << "s.yaml:3:7: expected a number > 0, got 'abc'";
        QTest::addRow("no place") << 0 << ""
                                  << "s.yaml: expected a number > 0, got 'abc'";
    }

    void errorToString()
    {
        QFETCH(int, line);
        QFETCH(QString, key);
        QFETCH(QString, expected);
        const ScenarioError e { "s.yaml", line, line ? 7 : 0, key.toStdString(), "expected a number > 0, got 'abc'" };
        QCOMPARE(QString::fromStdString(e.toString()), expected);
    }

    void issueExampleReadsExactly()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "good_example.yaml").toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Scenario& s = *r.scenario;
        QCOMPARE(QString::fromStdString(s.name), QStringLiteral("optional text"));
        QCOMPARE(s.deployment.minReplicas, 1);
        QCOMPARE(s.deployment.maxReplicas, 1);
        QCOMPARE(s.deployment.initialReplicas, 1);
        QCOMPARE(s.deployment.concurrencyTarget, 4);
        QCOMPARE(s.deployment.predictConcurrency, 2);
        QCOMPARE(s.deployment.coldStartS, 0.0);
        QCOMPARE(s.deployment.queueLimit, std::int64_t(0));
        for (const auto& [stage, mean] : { std::pair { &s.model.preprocess, 4.0 }, std::pair { &s.model.predict, 10.0 },
                 std::pair { &s.model.postprocess, 2.0 } }) {
            QCOMPARE(stage->kind, Distribution::Kind::Exponential);
            QCOMPARE(stage->meanMs, mean);
        }
        QCOMPARE(s.model.predictFailureRate, 0.0);
        QCOMPARE(s.workload.arrival.kind, ArrivalConfig::Kind::Poisson);
        QCOMPARE(s.workload.arrival.rateRps, 300.0);
        QCOMPARE(s.workload.requests, std::int64_t(200000));
        QCOMPARE(s.workload.durationS, 0.0);
        QCOMPARE(s.workload.warmupS, 0.0);
        QCOMPARE(s.workload.seed, std::uint64_t(42));
        QCOMPARE(s.changes.size(), std::size_t(1));
        const KnobChange& c = s.changes[0];
        QCOMPARE(c.atS, 10.0);
        QCOMPARE(c.concurrencyTarget, std::optional<int>(1));
        QCOMPARE(c.predictConcurrency, std::optional<int>(1));
        QCOMPARE(c.minReplicas, std::optional<int>(1));
        QCOMPARE(c.maxReplicas, std::optional<int>(2));
        QCOMPARE(c.rateRps, std::optional<double>(100));
        QCOMPARE(c.users, std::optional<int>(4));
        // users in an open loop is allowed but does nothing: a warning, with its place.
        QCOMPARE(r.warnings.size(), std::size_t(1));
        QVERIFY(
            QString::fromStdString(r.warnings[0]).startsWith(kData + "good_example.yaml:20:5: key 'changes[0].users': ignored"));
    }

    void distributionKinds_data()
    {
        QTest::addColumn<QByteArray>("stage");
        QTest::addColumn<int>("kind");
        QTest::addColumn<double>("mean");
        QTest::addColumn<double>("sigma");
        QTest::addColumn<double>("spread");
        QTest::addColumn<QList<double>>("values");
        QTest::addColumn<QList<double>>("weights");
        using K = Distribution::Kind;
        QTest::addRow("bare number is constant")
            << QByteArray("7.5") << int(K::Constant) << 7.5 << 0.5 << -1.0 << QList<double>() << QList<double>();
        QTest::addRow("constant") << QByteArray("{dist: constant, mean_ms: 3}") << int(K::Constant) << 3.0 << 0.5 << -1.0
                                  << QList<double>() << QList<double>();
        QTest::addRow("exponential") << QByteArray("{dist: exponential, mean_ms: 10}") << int(K::Exponential) << 10.0 << 0.5
                                     << -1.0 << QList<double>() << QList<double>();
        QTest::addRow("lognormal, default sigma") << QByteArray("{dist: lognormal, mean_ms: 10}") << int(K::Lognormal) << 10.0
                                                  << 0.5 << -1.0 << QList<double>() << QList<double>();
        QTest::addRow("lognormal, sigma") << QByteArray("{dist: lognormal, mean_ms: 10, sigma: 1.25}") << int(K::Lognormal)
                                          << 10.0 << 1.25 << -1.0 << QList<double>() << QList<double>();
        QTest::addRow("uniform, default spread") << QByteArray("{dist: uniform, mean_ms: 8}") << int(K::Uniform) << 8.0 << 0.5
                                                 << -1.0 << QList<double>() << QList<double>();
        QTest::addRow("uniform, spread") << QByteArray("{dist: uniform, mean_ms: 8, spread_ms: 2}") << int(K::Uniform) << 8.0
                                         << 0.5 << 2.0 << QList<double>() << QList<double>();
        QTest::addRow("empirical") << QByteArray("{dist: empirical, values_ms: [1, 2.5, 4]}") << int(K::Empirical) << 0.0 << 0.5
                                   << -1.0 << QList<double> { 1, 2.5, 4 } << QList<double>();
        QTest::addRow("empirical, weights, mean")
            << QByteArray("{dist: empirical, mean_ms: 6, values_ms: [1, 3], weights: [3, 1]}") << int(K::Empirical) << 6.0 << 0.5
            << -1.0 << QList<double> { 1, 3 } << QList<double> { 3, 1 };
        QTest::addRow("block style") << QByteArray("\n    dist: lognormal\n    mean_ms: 2\n    sigma: 0.1") << int(K::Lognormal)
                                     << 2.0 << 0.1 << -1.0 << QList<double>() << QList<double>();
    }

    void distributionKinds()
    {
        QFETCH(QByteArray, stage);
        QFETCH(int, kind);
        QFETCH(double, mean);
        QFETCH(double, sigma);
        QFETCH(double, spread);
        QFETCH(QList<double>, values);
        QFETCH(QList<double>, weights);
        const ScenarioReadResult r = read(replaced(6, "  predict: " + stage));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Distribution& d = r.scenario->model.predict;
        QCOMPARE(int(d.kind), kind);
        QCOMPARE(d.meanMs, mean);
        QCOMPARE(d.sigma, sigma);
        QCOMPARE(d.spreadMs, spread);
        QCOMPARE(QList<double>(d.valuesMs.begin(), d.valuesMs.end()), values);
        QCOMPARE(QList<double>(d.weights.begin(), d.weights.end()), weights);
    }

    void defaults()
    {
        const ScenarioReadResult r = read("deployment: {replicas: {min: 2, max: 3}, concurrency_target: 2}\n"
                                          "model: {predict: 5}\n"
                                          "workload: {arrival: {kind: constant, rate_rps: 10}, duration_s: 60}\n");
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Scenario& s = *r.scenario;
        QCOMPARE(QString::fromStdString(s.name), QString());
        QCOMPARE(s.deployment.initialReplicas, 0);
        QCOMPARE(s.deployment.effectiveInitialReplicas(), 2); // max(min, 1)
        QCOMPARE(s.deployment.predictConcurrency, 1);
        QCOMPARE(s.deployment.coldStartS, 0.0);
        QCOMPARE(s.deployment.queueLimit, std::int64_t(0));
        QCOMPARE(s.model.preprocess.kind, Distribution::Kind::Constant);
        QCOMPARE(s.model.preprocess.meanMs, 0.0);
        QCOMPARE(s.model.postprocess.kind, Distribution::Kind::Constant);
        QCOMPARE(s.model.postprocess.meanMs, 0.0);
        QCOMPARE(s.model.predictFailureRate, 0.0);
        QCOMPARE(s.workload.requests, std::int64_t(0));
        QCOMPARE(s.workload.warmupS, 0.0);
        QCOMPARE(s.workload.seed, std::uint64_t(1));
        QVERIFY(s.changes.empty());
        QVERIFY(r.warnings.empty());

        const ScenarioReadResult closed = read(replaced(8, "  arrival: {kind: closed, users: 3}"));
        QVERIFY2(closed.ok(), qPrintable(allErrors(closed)));
        QCOMPARE(closed.scenario->workload.arrival.think.kind, Distribution::Kind::Constant);
        QCOMPARE(closed.scenario->workload.arrival.think.meanMs, 0.0);
        QCOMPARE(closed.scenario->workload.arrival.users, 3);
    }

    void largestValuesAreAccepted()
    {
        const ScenarioReadResult r = read(replaced(1, 10,
            "deployment: {replicas: {min: 10000, max: 10000}, concurrency_target: 100000, "
            "predict_concurrency: 100000, cold_start_s: 86400}\n"
            "model: {predict: 86400000}\n"
            "workload: {arrival: {kind: poisson, rate_rps: 1e7}, requests: 10000000000, "
            "duration_s: 31536000, seed: 18446744073709551615}"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->workload.seed, std::uint64_t(18446744073709551615ull));
        QCOMPARE(r.scenario->workload.requests, std::int64_t(10'000'000'000));
        QCOMPARE(r.scenario->deployment.concurrencyTarget, 100000);
    }

    void warnings_data()
    {
        QTest::addColumn<QByteArray>("yaml");
        QTest::addColumn<int>("count");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("none for a plain scenario") << kBase << 0 << QString();
        QTest::addRow("target below predict concurrency")
            << replaced(3, "  concurrency_target: 1") << 1
            << "test.yaml:3:23: key 'deployment.concurrency_target': concurrency_target (1) is below predict_concurrency (2)";
        QTest::addRow("a change takes the target below predict concurrency")
            << appended("changes:\n  - {at_s: 5, concurrency_target: 1}\n") << 1
            << "test.yaml:12:5: key 'changes[0]': from at_s 5 on: concurrency_target (1) is below predict_concurrency (2)";
        QTest::addRow("rate change in a closed loop")
            << replaced(8, "  arrival: {kind: closed, users: 2}") + "changes:\n  - {at_s: 5, rate_rps: 9}\n"
            << 1 << "key 'changes[0].rate_rps': ignored: the arrival is a closed loop";
        QTest::addRow("users change in an open loop") << appended("changes:\n  - {at_s: 5, users: 9}\n") << 1
                                                      << "key 'changes[0].users': ignored: the arrival is open-loop (poisson)";
        QTest::addRow("change after the run ends")
            << replaced(9, "  duration_s: 10") + "changes:\n  - {at_s: 20, concurrency_target: 8}\n"
            << 1 << "key 'changes[0].at_s': at_s 20 is not before duration_s (10)";
    }

    void warnings()
    {
        QFETCH(QByteArray, yaml);
        QFETCH(int, count);
        QFETCH(QString, fragment);
        const ScenarioReadResult r = read(yaml);
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(int(r.warnings.size()), count);
        if (count > 0)
            QVERIFY2(QString::fromStdString(r.warnings[0]).contains(fragment), r.warnings[0].c_str());
    }

    void changesAreSortedByTime()
    {
        const ScenarioReadResult r = read(appended("changes:\n"
                                                   "  - {at_s: 30, concurrency_target: 3}\n"
                                                   "  - {at_s: 10, concurrency_target: 5}\n"
                                                   "  - {at_s: 20, predict_concurrency: 1}\n"
                                                   "  - {at_s: 10, rate_rps: 50}\n"));
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const auto& c = r.scenario->changes;
        QCOMPARE(c.size(), std::size_t(4));
        QCOMPARE(c[0].atS, 10.0);
        QCOMPARE(c[0].concurrencyTarget, std::optional<int>(5)); // equal times keep the file's order
        QCOMPARE(c[1].atS, 10.0);
        QCOMPARE(c[1].rateRps, std::optional<double>(50));
        QCOMPARE(c[2].atS, 20.0);
        QCOMPARE(c[2].predictConcurrency, std::optional<int>(1));
        QCOMPARE(c[3].atS, 30.0);
        QCOMPARE(c[3].concurrencyTarget, std::optional<int>(3));
    }

    void plainAliasesAreAccepted()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "good_aliases.yaml").toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        QCOMPARE(r.scenario->model.postprocess.kind, Distribution::Kind::Exponential);
        QCOMPARE(r.scenario->model.postprocess.meanMs, 3.0);
        QCOMPARE(r.scenario->model.preprocess.meanMs, 3.0);
        QCOMPARE(r.scenario->deployment.maxReplicas, 1);
    }

    void goodFiles_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("arrival");
        QTest::addColumn<double>("load"); // rate_rps, or users for a closed loop
        QTest::addColumn<int>("predictKind");
        QTest::addColumn<double>("predictMean");
        QTest::addColumn<QList<double>>("changeTimes");
        QTest::addColumn<int>("warnings");
        using A = ArrivalConfig::Kind;
        using K = Distribution::Kind;
        QTest::addRow("M/M/1") << "good_mm1.yaml"
                               << "M/M/1 at rho 0.8" << int(A::Poisson) << 80.0 << int(K::Exponential) << 10.0 << QList<double>()
                               << 0;
        QTest::addRow("closed loop") << "good_closed_loop.yaml"
                                     << "closed loop, 8 users" << int(A::Closed) << 8.0 << int(K::Uniform) << 12.0
                                     << QList<double>() << 0;
        QTest::addRow("knob changes") << "good_with_changes.yaml"
                                      << "knob changes over time" << int(A::Constant) << 250.0 << int(K::Lognormal) << 10.0
                                      << QList<double> { 60, 120, 200 } << 1;
        QTest::addRow("aliases") << "good_aliases.yaml"
                                 << "shared stage times" << int(A::Poisson) << 50.0 << int(K::Lognormal) << 20.0
                                 << QList<double>() << 0;
    }

    void goodFiles()
    {
        QFETCH(QString, file);
        QFETCH(QString, name);
        QFETCH(int, arrival);
        QFETCH(double, load);
        QFETCH(int, predictKind);
        QFETCH(double, predictMean);
        QFETCH(QList<double>, changeTimes);
        QFETCH(int, warnings);
        const ScenarioReadResult r = readScenarioFile((kData + file).toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Scenario& s = *r.scenario;
        QCOMPARE(QString::fromStdString(s.name), name);
        QCOMPARE(int(s.workload.arrival.kind), arrival);
        QCOMPARE(s.workload.arrival.kind == ArrivalConfig::Kind::Closed ? double(s.workload.arrival.users)
                                                                        : s.workload.arrival.rateRps,
            load);
        QCOMPARE(int(s.model.predict.kind), predictKind);
        QCOMPARE(s.model.predict.meanMs, predictMean);
        QList<double> times;
        for (const auto& c : s.changes)
            times << c.atS;
        QCOMPARE(times, changeTimes);
        QCOMPARE(int(r.warnings.size()), warnings);
    }

    void closedLoopFileDetails()
    {
        const ScenarioReadResult r = readScenarioFile((kData + "good_closed_loop.yaml").toStdString());
        QVERIFY2(r.ok(), qPrintable(allErrors(r)));
        const Scenario& s = *r.scenario;
        QCOMPARE(s.model.preprocess.kind, Distribution::Kind::Constant);
        QCOMPARE(s.model.preprocess.meanMs, 3.0);
        QCOMPARE(s.model.predict.spreadMs, 4.0);
        QCOMPARE(s.model.postprocess.valuesMs, (std::vector<double> { 1, 2, 5 }));
        QCOMPARE(s.model.postprocess.weights, (std::vector<double> { 5, 3, 2 }));
        QCOMPARE(s.workload.arrival.think.kind, Distribution::Kind::Lognormal);
        QCOMPARE(s.workload.arrival.think.sigma, 0.25);
        QCOMPARE(s.workload.durationS, 120.0);
        QCOMPARE(s.workload.warmupS, 10.0);
        QCOMPARE(s.deployment.coldStartS, 30.0);
    }

    void brokenFiles_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("fragment");
        // yaml-cpp notices the unclosed map at the next key.
        QTest::addRow("truncated") << "bad_truncated.yaml" << 4 << 6 << ""
                                   << "YAML syntax error: end of map flow not found";
        QTest::addRow("binary") << "bad_binary.yaml" << 1 << 1 << ""
                                << "byte 0x89 is not valid UTF-8";
        QTest::addRow("Latin-1 text") << "bad_not_utf8.yaml" << 1 << 10 << ""
                                      << "byte 0xE9 is not valid UTF-8";
        QTest::addRow("tabs") << "bad_tabs.yaml" << 3 << 1 << ""
                              << "a tab indents this line";
        QTest::addRow("only comments") << "bad_only_comments.yaml" << 1 << 1 << ""
                                       << "the file holds only comments";
        QTest::addRow("wrong types") << "bad_types.yaml" << 3 << 19 << "deployment.replicas.min"
                                     << "got 'two'";
        QTest::addRow("unknown keys") << "bad_unknown_keys.yaml" << 4 << 3 << "deployment.seed"
                                      << "belongs in 'workload'";
    }

    void brokenFiles()
    {
        QFETCH(QString, file);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, key);
        QFETCH(QString, fragment);
        const std::string path = (kData + file).toStdString();
        const ScenarioReadResult r = readScenarioFile(path);
        QVERIFY(!r.ok());
        QVERIFY(!r.scenario);
        const auto it = std::find_if(r.errors.begin(), r.errors.end(), [&](const ScenarioError& e) {
            return QString::fromStdString(e.key) == key && QString::fromStdString(e.message).contains(fragment);
        });
        QVERIFY2(it != r.errors.end(), qPrintable(allErrors(r)));
        QCOMPARE(it->file, path);
        QCOMPARE(it->line, line);
        QCOMPARE(it->column, column);
    }
};

QTEST_GUILESS_MAIN(TestScenarioReader)
#include "tst_scenario_reader.moc"
