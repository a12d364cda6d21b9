// Export into Truss config.yaml: real files from truss-examples keep every other key, comment and
// the order (checked byte for byte outside the one changed or added line); custom-server and
// TensorRT-LLM configs get no predict_concurrency and say why; broken input is refused untouched;
// Baseten's API body and the Knative manifest carry the settings.
#include "io/truss_config.h"

#include <yaml-cpp/yaml.h>

#include <QFile>
#include <QTest>

using namespace knee;

namespace {
std::string readData(const char* name)
{
    QFile f(QStringLiteral(KNEE_TEST_DATA "/truss/") + QLatin1String(name));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("missing test data %s", name);
    return f.readAll().toStdString();
}
QStringList lines(const std::string& s) { return QString::fromStdString(s).split('\n'); }
} // namespace

class TestTrussExport : public QObject {
    Q_OBJECT
private slots:
    // No runtime section, comment blocks between keys and a long commented tail: the original text
    // stays byte for byte, the runtime section is added after it.
    void commentedConfigWithoutRuntime()
    {
        const std::string original = readData("sdxl-commented.yaml");
        const TrussExport e = exportTrussConfig(original, 3, "ignored");
        QVERIFY2(e.error.empty(), e.error.c_str());
        QVERIFY(e.predictConcurrencyWritten);
        QVERIFY(e.text.compare(0, original.size(), original) == 0);
        QCOMPARE(e.text.substr(original.size()), std::string("runtime:\n  predict_concurrency: 3\n"));
        const YAML::Node n = YAML::Load(e.text);
        QCOMPARE(n["runtime"]["predict_concurrency"].as<int>(), 3);
        QCOMPARE(n["model_name"].as<std::string>(), std::string("Stable Diffusion XL"));
    }

    // An existing runtime.predict_concurrency: 256 is replaced in place; exactly one line differs.
    void existingValueReplacedInPlace()
    {
        const std::string original = readData("whisper-dynamic-batching.yaml");
        const TrussExport e = exportTrussConfig(original, 32, "");
        QVERIFY2(e.error.empty(), e.error.c_str());
        const QStringList a = lines(original), b = lines(e.text);
        QCOMPARE(b.size(), a.size());
        int differing = 0;
        for (int i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) {
                ++differing;
                QCOMPARE(a[i], QStringLiteral("  predict_concurrency: 256"));
                QCOMPARE(b[i], QStringLiteral("  predict_concurrency: 32"));
            }
        QCOMPARE(differing, 1);
        // Applying the same value again changes nothing.
        QCOMPARE(exportTrussConfig(e.text, 32, "").text, e.text);
    }

    void edits_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::addRow("runtime with other keys, no predict_concurrency")
            << "model_name: m\nruntime:\n    enable_tracing_data: false  # keep\nresources: {cpu: 1}\n"
            << "model_name: m\nruntime:\n    predict_concurrency: 4\n    enable_tracing_data: false  # keep\nresources: {cpu: 1}\n";
        QTest::addRow("value with a comment keeps the comment")
            << "runtime:\n  predict_concurrency: 1  # default\n  num_workers: 1\n"
            << "runtime:\n  predict_concurrency: 4  # default\n  num_workers: 1\n";
        QTest::addRow("flow-style runtime") << "model_name: m\nruntime: {predict_concurrency: 2, num_workers: 1}\n"
                                            << "model_name: m\nruntime: {predict_concurrency: 4, num_workers: 1}\n";
        QTest::addRow("flow-style runtime without it") << "runtime: {num_workers: 1}\n" << "runtime: {predict_concurrency: 4, num_workers: 1}\n";
        QTest::addRow("a nested predict_concurrency elsewhere is not touched")
            << "model_metadata:\n  predict_concurrency: 9\nruntime:\n  num_workers: 1\n"
            << "model_metadata:\n  predict_concurrency: 9\nruntime:\n  predict_concurrency: 4\n  num_workers: 1\n";
        QTest::addRow("no final newline") << "model_name: m" << "model_name: m\nruntime:\n  predict_concurrency: 4\n";
    }
    void edits()
    {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        const TrussExport e = exportTrussConfig(input.toStdString(), 4, "");
        QVERIFY2(e.error.empty(), e.error.c_str());
        QCOMPARE(QString::fromStdString(e.text), expected);
    }

    void windowsLineEndingsAreKept()
    {
        const std::string crlf = "model_name: m\r\nruntime:\r\n  predict_concurrency: 2\r\n  num_workers: 1\r\n";
        const TrussExport e = exportTrussConfig(crlf, 5, "");
        QVERIFY2(e.error.empty(), e.error.c_str());
        QCOMPARE(e.text, std::string("model_name: m\r\nruntime:\r\n  predict_concurrency: 5\r\n  num_workers: 1\r\n"));
        const TrussExport same = exportTrussConfig(crlf, 2, ""); // already so: untouched
        QCOMPARE(same.text, crlf);
        QVERIFY(same.predictConcurrencyWritten);
    }

    void anUneditableRuntimeIsNeverDuplicated()
    {
        const std::string anchored = "defaults: &rt {num_workers: 1}\nruntime: *rt\n";
        const TrussExport e = exportTrussConfig(anchored, 4, "");
        QVERIFY(!e.error.empty());
        QVERIFY(!e.predictConcurrencyWritten);
        const std::string quoted = "\"runtime\":\n  num_workers: 1\n";
        const TrussExport q = exportTrussConfig(quoted, 4, "");
        QVERIFY(!q.error.empty());
        QVERIFY(q.text.find("runtime:\n  predict_concurrency") == std::string::npos);
    }

    void newConfig()
    {
        const TrussExport e = exportTrussConfig("", 2, "My model");
        QVERIFY(e.predictConcurrencyWritten);
        const YAML::Node n = YAML::Load(e.text);
        QCOMPARE(n["model_name"].as<std::string>(), std::string("My model"));
        QCOMPARE(n["runtime"]["predict_concurrency"].as<int>(), 2);
    }

    void customServersGetNoPredictConcurrency_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("docker_server") << "model_name: m\ndocker_server:\n  start_command: serve\n" << "a custom server (docker_server)";
        QTest::addRow("trt_llm") << "model_name: m\ntrt_llm:\n  build: {base_model: llama}\n" << "a TensorRT-LLM engine (trt_llm)";
    }
    void customServersGetNoPredictConcurrency()
    {
        QFETCH(QString, input);
        QFETCH(QString, fragment);
        const TrussExport e = exportTrussConfig(input.toStdString(), 4, "");
        QVERIFY(e.error.empty());
        QVERIFY(!e.predictConcurrencyWritten);
        QCOMPARE(QString::fromStdString(e.text), input); // untouched
        QCOMPARE(e.notes.size(), std::size_t(1));
        QVERIFY(QString::fromStdString(e.notes[0]).contains(fragment));
        QVERIFY(QString::fromStdString(e.notes[0]).contains("only for Python Truss models"));
    }

    void brokenInputIsRefused_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("syntax error") << "model_name: [unclosed\n" << "does not parse";
        QTest::addRow("a list") << "- a\n- b\n" << "not a map";
        QTest::addRow("runtime is a number") << "runtime: 5\n" << "runtime";
        QTest::addRow("zero") << "model_name: m\n" << "";
    }
    void brokenInputIsRefused()
    {
        QFETCH(QString, input);
        QFETCH(QString, fragment);
        const int pc = fragment.isEmpty() ? 0 : 4; // the last row: an impossible value
        const TrussExport e = exportTrussConfig(input.toStdString(), pc, "");
        QVERIFY(!e.error.empty());
        QVERIFY(!e.predictConcurrencyWritten);
        QVERIFY2(QString::fromStdString(e.error).contains(fragment), e.error.c_str());
    }

    void platformSettings()
    {
        const AutoscalingSettings s{2, 10, 4, 70, 60, 900};
        const YAML::Node json = YAML::Load(basetenAutoscalingJson(s)); // JSON is YAML
        QCOMPARE(json["min_replica"].as<int>(), 2);
        QCOMPARE(json["max_replica"].as<int>(), 10);
        QCOMPARE(json["concurrency_target"].as<int>(), 4);
        QCOMPARE(json["target_utilization_percentage"].as<int>(), 70);
        QCOMPARE(json["autoscaling_window"].as<int>(), 60);
        QCOMPARE(json["scale_down_delay"].as<int>(), 900);
        const YAML::Node k = YAML::Load(knativeServiceYaml(s, "Stable Diffusion XL!"));
        QCOMPARE(k["metadata"]["name"].as<std::string>(), std::string("stable-diffusion-xl"));
        const YAML::Node ann = k["spec"]["template"]["metadata"]["annotations"];
        QCOMPARE(ann["autoscaling.knative.dev/target"].as<std::string>(), std::string("4"));
        QCOMPARE(ann["autoscaling.knative.dev/min-scale"].as<std::string>(), std::string("2"));
        QCOMPARE(ann["autoscaling.knative.dev/max-scale"].as<std::string>(), std::string("10"));
        QCOMPARE(ann["autoscaling.knative.dev/scale-down-delay"].as<std::string>(), std::string("900s"));
        QCOMPARE(k["spec"]["template"]["spec"]["containerConcurrency"].as<int>(), 4);
    }
};

QTEST_GUILESS_MAIN(TestTrussExport)
#include "tst_truss_export.moc"
