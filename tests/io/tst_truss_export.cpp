// Export into Truss config.yaml: real files from truss-examples keep every other key, comment and
// the order (checked byte for byte outside the one changed or added line); custom-server and
// TensorRT-LLM configs get no predict_concurrency and say why; broken input is refused untouched;
// Baseten's API body and the Knative manifest carry the settings.
#include "io/truss_config.h"

#include <yaml-cpp/yaml.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
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

// Configs that the line-by-line editor got wrong (Truss would have read the old value, or the file
// was refused for the wrong reason): each is edited where PyYAML looks, or refused saying why.
struct Case {
    const char* name;
    QByteArray input;
    QByteArray expected; // empty: refused
    const char* refusal = "";
};
const std::vector<Case>& cases()
{
    static const std::vector<Case> all{
        {"two predict_concurrency keys", "runtime:\n  predict_concurrency: 2\n  predict_concurrency: 3\n", {},
         "runtime.predict_concurrency is written 2 times (lines 2 and 3)"},
        {"quoted predict_concurrency key", "runtime:\n  \"predict_concurrency\": 2  # c\n  num_workers: 1\n",
         "runtime:\n  \"predict_concurrency\": 4  # c\n  num_workers: 1\n"},
        {"single-quoted key", "runtime: {'predict_concurrency': 2}\n", "runtime: {'predict_concurrency': 4}\n"},
        {"two runtime blocks", "runtime:\n  num_workers: 1\nmodel_name: m\nruntime:\n  predict_concurrency: 2\n", {},
         "runtime is written 2 times at the top level (lines 1 and 4)"},
        {"runtime: null", "model_name: m\nruntime: null  # later\n", "model_name: m\nruntime: {predict_concurrency: 4}  # later\n"},
        {"runtime: ~", "runtime: ~\nmodel_name: m\n", "runtime: {predict_concurrency: 4}\nmodel_name: m\n"},
        {"empty runtime", "runtime:\nmodel_name: m\n", "runtime:\n  predict_concurrency: 4\nmodel_name: m\n"},
        {"multi-line flow mapping", "runtime: {num_workers: 1,\n  enable_tracing_data: false}\n",
         "runtime: {predict_concurrency: 4, num_workers: 1,\n  enable_tracing_data: false}\n"},
        {"multi-line flow mapping with the key", "runtime: {num_workers: 1,\n  predict_concurrency: 2}\n",
         "runtime: {num_workers: 1,\n  predict_concurrency: 4}\n"},
        {"empty flow mapping", "runtime: {}\n", "runtime: {predict_concurrency: 4}\n"},
        {"CRLF, appended", "model_name: m\r\n", "model_name: m\r\nruntime:\r\n  predict_concurrency: 4\r\n"},
        {"CRLF, inserted", "runtime:\r\n  num_workers: 1\r\n", "runtime:\r\n  predict_concurrency: 4\r\n  num_workers: 1\r\n"},
        {"CRLF, empty runtime", "runtime:\r\nmodel_name: m\r\n", "runtime:\r\n  predict_concurrency: 4\r\nmodel_name: m\r\n"},
        {"quoted value", "runtime:\n  predict_concurrency: '2'\n", "runtime:\n  predict_concurrency: 4\n"},
        {"04 is not taken for 4", "runtime:\n  predict_concurrency: 04\n", "runtime:\n  predict_concurrency: 4\n"},
        {"value on the next line", "runtime:\n  predict_concurrency:\n    2\n", "runtime:\n  predict_concurrency:\n    4\n"},
        {"UTF-8 byte order mark", "\xEF\xBB\xBFmodel_name: m\nruntime:\n  predict_concurrency: 2\n",
         "\xEF\xBB\xBFmodel_name: m\nruntime:\n  predict_concurrency: 4\n"},
        {"indented document", "  model_name: m\n  runtime:\n    num_workers: 1\n",
         "  model_name: m\n  runtime:\n    predict_concurrency: 4\n    num_workers: 1\n"},
        {"a duplicate elsewhere is left as it is", "model_name: a\nmodel_name: b\n",
         "model_name: a\nmodel_name: b\nruntime:\n  predict_concurrency: 4\n"},
        {"only comments", "# to do\n", "# to do\nruntime:\n  predict_concurrency: 4\n"},
        {"two documents", "model_name: m\n---\nmodel_name: n\n", {}, "more than one YAML document"},
        {"one flow mapping", "{model_name: m}\n", {}, "one flow mapping"},
        {"merge key in runtime", "base: &b {num_workers: 1}\nruntime:\n  <<: *b\n", {}, "merge key"},
        {"a list as the value", "runtime:\n  predict_concurrency: [2]\n", {}, "is not a number written on one line"},
    };
    return all;
}

// The real configs (tests/data/truss, from truss-examples) and the fuzz seeds (less their leading byte).
std::vector<std::pair<QString, QByteArray>> realConfigs()
{
    std::vector<std::pair<QString, QByteArray>> out;
    for (const char* dir : {KNEE_TEST_DATA "/truss", KNEE_SOURCE_DIR "/fuzz/corpus/truss_config"})
        for (const QFileInfo& info : QDir(QString::fromLatin1(dir)).entryInfoList({"*.yaml"}, QDir::Files)) {
            QFile f(info.filePath());
            if (!f.open(QIODevice::ReadOnly))
                qFatal("cannot read %s", qPrintable(info.filePath()));
            out.emplace_back(info.dir().dirName() + "/" + info.fileName(), f.readAll().mid(QByteArray(dir).endsWith("truss_config") ? 1 : 0));
        }
    return out;
}
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
        QVERIFY2(e.error.find("alias") != std::string::npos, e.error.c_str());
        QVERIFY(!e.predictConcurrencyWritten);
        QCOMPARE(e.text, anchored);
        // A quoted key is the same key to PyYAML: edited where it is, never added a second time.
        const std::string quoted = "\"runtime\":\n  num_workers: 1\n";
        const TrussExport q = exportTrussConfig(quoted, 4, "");
        QVERIFY2(q.error.empty(), q.error.c_str());
        QCOMPARE(q.text, std::string("\"runtime\":\n  predict_concurrency: 4\n  num_workers: 1\n"));
    }

    void whatTrussReads_data()
    {
        QTest::addColumn<int>("index");
        for (std::size_t i = 0; i < cases().size(); ++i)
            QTest::addRow("%s", cases()[i].name) << int(i);
    }
    void whatTrussReads()
    {
        QFETCH(int, index);
        const Case& c = cases()[std::size_t(index)];
        const TrussExport e = exportTrussConfig(c.input.toStdString(), 4, "");
        if (c.expected.isEmpty()) {
            QVERIFY2(QString::fromStdString(e.error).contains(QLatin1String(c.refusal)), e.error.c_str());
            QVERIFY(!e.predictConcurrencyWritten);
            QCOMPARE(QByteArray::fromStdString(e.text), c.input); // untouched
            return;
        }
        QVERIFY2(e.error.empty(), e.error.c_str());
        QCOMPARE(QByteArray::fromStdString(e.text), c.expected);
    }

    // What Truss reads, by the real PyYAML (yaml.safe_load, as Truss loads config.yaml), for every edit
    // above and for the real configs at three values: runtime.predict_concurrency is the value written
    // (an int), and every other key reads as before. One python3 for all (it takes a second to start).
    void pyyamlReadsEveryEdit()
    {
        QProcess probe;
        probe.start(QStringLiteral("python3"), {"-c", "import yaml"});
        if (!probe.waitForFinished(60000) || probe.exitStatus() != QProcess::NormalExit || probe.exitCode() != 0)
            QSKIP("python3 with PyYAML (Debian: python3-yaml, scripts/install-deps) is not installed: cannot check what Truss reads");
        QTemporaryDir dir;
        QStringList args{"-c", R"(
import json, sys, yaml
def load(p):
    with open(p, 'rb') as f:
        return yaml.safe_load(f) or {}
def others(d):
    d = dict(d)
    rt = dict(d.pop('runtime', None) or {})
    rt.pop('predict_concurrency', None)
    if rt:
        d['runtime'] = rt
    return d
out = []
for before, after in zip(sys.argv[1::2], sys.argv[2::2]):
    b, a = load(before), load(after)
    out.append({'predict_concurrency': (a.get('runtime') or {}).get('predict_concurrency'), 'others_equal': others(b) == others(a)})
print(json.dumps(out, default=str))
)"};
        std::vector<std::pair<QString, int>> checked; // name, predict_concurrency written
        auto add = [&](const QString& name, const QByteArray& before, const QByteArray& after, int pc) {
            for (const auto& [suffix, bytes] : {std::pair("b", before), std::pair("a", after)}) {
                QFile f(dir.filePath(QStringLiteral("%1.%2.yaml").arg(checked.size()).arg(suffix)));
                QVERIFY(f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size());
                args << f.fileName();
            }
            checked.emplace_back(name, pc);
        };
        for (const Case& c : cases()) // what knee wrote, whatever the table expects
            if (const TrussExport e = exportTrussConfig(c.input.toStdString(), 4, ""); e.predictConcurrencyWritten)
                add(QString::fromLatin1(c.name), c.input, QByteArray::fromStdString(e.text), 4);
        for (const auto& [name, original] : realConfigs())
            for (int pc : {1, 7, 256}) {
                const TrussExport e = exportTrussConfig(original.toStdString(), pc, "");
                QVERIFY2(e.error.empty(), e.error.c_str());
                if (e.predictConcurrencyWritten)
                    add(QStringLiteral("%1 at %2").arg(name).arg(pc), original, QByteArray::fromStdString(e.text), pc);
                else // a custom server: untouched, with a note
                    QVERIFY(!e.notes.empty() && e.text == original.toStdString());
            }
        QVERIFY(checked.size() > 20);
        QProcess py;
        py.start(QStringLiteral("python3"), args);
        QVERIFY(py.waitForFinished(120000));
        QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
        const QJsonArray results = QJsonDocument::fromJson(py.readAllStandardOutput()).array();
        QCOMPARE(results.size(), qsizetype(checked.size()));
        for (qsizetype i = 0; i < results.size(); ++i) {
            const QJsonObject o = results[i].toObject();
            const QString what = checked[std::size_t(i)].first + ": " + QJsonDocument(o).toJson(QJsonDocument::Compact);
            QVERIFY2(o["predict_concurrency"].isDouble() && o["predict_concurrency"].toInt() == checked[std::size_t(i)].second, qPrintable(what));
            QVERIFY2(o["others_equal"].toBool(), qPrintable(what));
        }
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

    // Found by fuzz_truss_config: yaml-cpp 0.7 never returns on this text (its memory grows without end).
    // YAML allows no NUL or other control byte in a document, so such text is refused before parsing.
    void binaryTextIsRefusedBeforeParsing_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("fragment");
        QTest::addRow("NUL in a flow key (fuzz timeout)") << QByteArray(",runtime:\n \0cy+: 2", 17) << "line 2, column 2";
        QTest::addRow("NUL after a good config") << QByteArray("model_name: m\nruntime:\n  predict_concurrency: 2\n\0", 49) << "line 4";
        QTest::addRow("escape byte") << QByteArray("model_name: \x1b[31mred\n") << "line 1, column 13";
    }
    // Also from fuzz_truss_config: on a top level that starts with ',' yaml-cpp's LoadAll never returns
    // (each "document" ends at the ',' without taking it). PyYAML refuses such text; so does knee.
    void strayFlowIndicatorIsASyntaxError_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addRow("a comma") << QByteArray(",");
        QTest::addRow("fuzz timeout") << QByteArray(",\"\"\",,,,,,i");
        QTest::addRow("a comma before a map") << QByteArray(", a: 1\n");
        QTest::addRow("after a good document") << QByteArray("model_name: m\n---\n,\n");
    }
    void strayFlowIndicatorIsASyntaxError()
    {
        QFETCH(QByteArray, input);
        const TrussExport e = exportTrussConfig(input.toStdString(), 4, "m");
        QVERIFY(!e.error.empty());
        QVERIFY(!e.predictConcurrencyWritten);
        QCOMPARE(QByteArray::fromStdString(e.text), input);
    }
    void binaryTextIsRefusedBeforeParsing()
    {
        QFETCH(QByteArray, input);
        QFETCH(QString, fragment);
        const TrussExport e = exportTrussConfig(input.toStdString(), 4, "m");
        QVERIFY2(QString::fromStdString(e.error).contains("not YAML text"), e.error.c_str());
        QVERIFY2(QString::fromStdString(e.error).contains(fragment), e.error.c_str());
        QVERIFY(!e.predictConcurrencyWritten);
        QCOMPARE(QByteArray::fromStdString(e.text), input); // the user's text, untouched
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
