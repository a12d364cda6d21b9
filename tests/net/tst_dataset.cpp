// Datasets for LLM endpoints: the JSONL reader (the shipped tests/data/datasets/prompts_small.jsonl, and a
// table of bad lines, each refused with its line number), synthetic lengths (syntax, the same prompts for
// the same seed), the request bodies a dataset makes, its lengths fed to a scenario, and the whole path:
// `knee serve` answers each request with the output length its dataset entry asked for, and
// `knee sweep --target --dataset` runs (or refuses bad flags with exit 2).
#include "send_many.h"
#include "served.h"

#include "net/dataset.h"
#include "net/http_sweep.h"
#include "sim/engine.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <numeric>
#include <set>

using namespace knee;
using namespace knee::net;

namespace {

const QString kShipped = QStringLiteral(KNEE_TEST_DATA "/datasets/prompts_small.jsonl");
const std::vector<int> kShippedMaxTokens{24, 12, 8, 0, 4, 32, 16, 40}; // 0: the entry asks none

constexpr char kFixedScenario[] = R"(name: fixed 1 ms
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 64, predict_concurrency: 64}
model: {preprocess: 0, predict: {dist: constant, mean_ms: 1}, postprocess: 0}
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1, seed: 1}
)";

struct Cli {
    int exitCode = -1;
    QByteArray out, err;
};
Cli runKnee(const QStringList& args)
{
    QProcess p;
    p.start(QStringLiteral(KNEE_BINARY), args);
    p.waitForFinished(120'000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
}

} // namespace

class TestDataset : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    QString write(const QString& name, const QByteArray& text)
    {
        QFile f(m_dir.filePath(name));
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return f.fileName();
    }

private Q_SLOTS:
    void readsTheShippedDataset()
    {
        QString error;
        const std::optional<Dataset> d = readJsonlDataset(kShipped, error);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->entries.size(), kShippedMaxTokens.size()); // the blank line is no prompt
        for (std::size_t i = 0; i < d->entries.size(); ++i)
            QCOMPARE(d->entries[i].maxTokens, kShippedMaxTokens[i]);
        QVERIFY(d->chat());
        QCOMPARE(d->entries[1].inputWords, 8); // "List three things that fill a deployment queue."
        QCOMPARE(d->entries[2].messages.size(), 2);
        QCOMPARE(d->entries[2].inputWords, 7); // every message's content: 3 + 4 words
        QCOMPARE(d->entries[6].prompt, QStringLiteral("Translate \"the knee of the curve\" into French, then back."));
        QCOMPARE(d->source, QStringLiteral("prompts_small.jsonl (8 prompts)"));
        QCOMPARE(d->forRequest(9).maxTokens, 12); // request 9 takes entry 1: in turn, round and round
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("not JSON") << QByteArray("{\"prompt\": \"a\"}\n{prompt: b}\n") << "line 2: not JSON";
        QTest::newRow("a list") << QByteArray("[\"a\"]\n") << "line 1: each line must be a JSON object";
        QTest::newRow("both") << QByteArray("{\"prompt\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"b\"}]}\n") << "not both";
        QTest::newRow("neither") << QByteArray("{\"text\": \"a\"}\n") << "no \"prompt\" and no \"messages\"";
        QTest::newRow("prompt a number") << QByteArray("{\"prompt\": 3}\n") << "\"prompt\" must be a string";
        QTest::newRow("empty prompt") << QByteArray("{\"prompt\": \"   \"}\n") << "the prompt is empty";
        QTest::newRow("no messages") << QByteArray("{\"messages\": []}\n") << "non-empty list";
        QTest::newRow("message without content") << QByteArray("{\"messages\": [{\"role\": \"user\"}]}\n") << "string \"content\"";
        QTest::newRow("max_tokens 0") << QByteArray("{\"prompt\": \"a\", \"max_tokens\": 0}\n") << "max_tokens must be a whole number";
        QTest::newRow("max_tokens 1.5") << QByteArray("{\"prompt\": \"a\", \"max_tokens\": 1.5}\n") << "max_tokens must be a whole number";
        QTest::newRow("max_tokens text") << QByteArray("{\"prompt\": \"a\", \"max_tokens\": \"12\"}\n") << "max_tokens must be a whole number";
        QTest::newRow("output_tokens huge") << QByteArray("{\"prompt\": \"a\", \"output_tokens\": 1e9}\n") << "output_tokens must be";
        QTest::newRow("lengths disagree") << QByteArray("{\"prompt\": \"a\", \"max_tokens\": 3, \"output_tokens\": 4}\n") << "disagree";
        QTest::newRow("only blank lines") << QByteArray("\n  \n\n") << "no prompts in it";
        QTest::newRow("binary") << QByteArray("\x00\x01\x02{", 4) << "line 1: not JSON";
    }
    void badFiles()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, fragment);
        QString error;
        QVERIFY(!readJsonlDataset(write(QStringLiteral("bad.jsonl"), text), error));
        QVERIFY2(error.contains(fragment), qPrintable(error));
    }

    void notAFile()
    {
        QString error;
        QVERIFY(!readJsonlDataset(QStringLiteral("/nonexistent/prompts.jsonl"), error));
        QVERIFY2(error.contains(QStringLiteral("No such file")), qPrintable(error));
        QVERIFY(!readJsonlDataset(m_dir.path(), error));
        QVERIFY2(error.contains(QStringLiteral("directory")), qPrintable(error));
    }

    void syntheticSpecs_data()
    {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("fragment"); // empty: accepted
        QTest::newRow("full") << "input=lognormal:512:0.6,output=uniform:64:256,seed=7,count=500" << "";
        QTest::newRow("constants") << "input=constant:100,output=constant:20" << "";
        QTest::newRow("exponential, spaces") << " input = exponential:300 , output = lognormal:128 " << "";
        QTest::newRow("no output") << "input=constant:100" << "need both input=DIST and output=DIST";
        QTest::newRow("unknown kind") << "input=normal:100:10,output=constant:5" << "'normal:100:10' is not a length distribution";
        QTest::newRow("uniform backwards") << "input=uniform:50:10,output=constant:5" << "not a length distribution";
        QTest::newRow("zero tokens") << "input=constant:0,output=constant:5" << "not a length distribution";
        QTest::newRow("sigma too large") << "input=lognormal:100:9,output=constant:5" << "not a length distribution";
        QTest::newRow("bad seed") << "input=constant:1,output=constant:1,seed=-1" << "seed=N";
        QTest::newRow("count 0") << "input=constant:1,output=constant:1,count=0" << "count=N";
        QTest::newRow("unknown key") << "input=constant:1,output=constant:1,prompts=3" << "'prompts=3'";
    }
    void syntheticSpecs()
    {
        QFETCH(QString, spec);
        QFETCH(QString, fragment);
        QString error;
        const bool ok = bool(parseSyntheticLengths(spec, error));
        QCOMPARE(ok, fragment.isEmpty());
        QVERIFY2(error.contains(fragment), qPrintable(error));
    }

    void syntheticIsRepeatable()
    {
        QString error;
        const auto lengths = parseSyntheticLengths(QStringLiteral("input=uniform:100:300,output=lognormal:128:0.5,seed=7,count=4000"), error);
        QVERIFY2(lengths, qPrintable(error));
        const Dataset a = syntheticDataset(*lengths), b = syntheticDataset(*lengths);
        SyntheticLengths other = *lengths;
        other.seed = 8;
        const Dataset c = syntheticDataset(other);
        bool sameAsOtherSeed = true;
        double inputSum = 0;
        for (std::size_t i = 0; i < a.entries.size(); ++i) {
            QCOMPARE(a.entries[i].inputWords, b.entries[i].inputWords);
            QCOMPARE(a.entries[i].maxTokens, b.entries[i].maxTokens);
            QVERIFY(a.entries[i].inputWords >= 100 && a.entries[i].inputWords <= 300);
            sameAsOtherSeed = sameAsOtherSeed && a.entries[i].inputWords == c.entries[i].inputWords;
            inputSum += a.entries[i].inputWords;
        }
        QVERIFY(!sameAsOtherSeed);
        QVERIFY(std::abs(inputSum / 4000 - 200) < 5); // uniform 100-300 has mean 200 (this seed's draws: fixed)
        // A synthetic prompt is its length in words, the same words each time it is sent.
        QCOMPARE(a.promptFor(5), b.promptFor(5));
        QCOMPARE(a.promptFor(5), a.promptFor(4005)); // request 4005 sends entry 5 again
        QCOMPARE(int(a.promptFor(5).split(QLatin1Char(' ')).size()), a.entries[5].inputWords);
        QVERIFY(a.promptFor(5) != a.promptFor(6));
        QVERIFY(a.source.contains(QStringLiteral("seed=7")));
    }

    void bodiesFromADataset()
    {
        QString error;
        auto d = readJsonlDataset(kShipped, error);
        QVERIFY2(d, qPrintable(error));
        HttpTarget t;
        t.url = QUrl(QStringLiteral("http://127.0.0.1:1/v1/chat/completions"));
        t.kind = HttpTarget::Kind::OpenAI;
        t.maxTokens = 16;
        t.dataset = std::make_shared<const Dataset>(*d);
        QCOMPARE(t.validate(), QString());
        QCOMPARE(t.toJson().value("dataset").toString(), QStringLiteral("prompts_small.jsonl (8 prompts)"));
        const QJsonObject chat = QJsonDocument::fromJson(t.renderBody(2, 0)).object();
        QCOMPARE(chat.value("messages").toArray(), d->entries[2].messages); // sent as they are
        QCOMPARE(chat.value("max_tokens").toInt(), 8);
        const QJsonObject plain = QJsonDocument::fromJson(t.renderBody(11, 0)).object(); // entry 3: no max_tokens
        QCOMPARE(plain.value("messages").toArray().size(), 1);
        QCOMPARE(plain.value("messages").toArray().at(0).toObject().value("content").toString(), d->entries[3].prompt);
        QCOMPARE(plain.value("max_tokens").toInt(), 16); // the target's own
        t.stream = true;
        QCOMPARE(QJsonDocument::fromJson(t.renderBody(0, 0)).object().value("stream").toBool(), true);
        // Generic kind: the prompt (a chat entry's contents) in "input"; one pass, so text with {{id}} stays.
        t.kind = HttpTarget::Kind::Generic;
        t.stream = false;
        QCOMPARE(QJsonDocument::fromJson(t.renderBody(6, 0)).object().value("input").toString(), d->entries[6].prompt);
        Dataset tricky;
        tricky.entries.push_back(DatasetEntry{QStringLiteral("keep {{id}} and {{messages}} as written"), {}, 0, 6});
        t.dataset = std::make_shared<const Dataset>(tricky);
        t.bodyTemplate = R"({"p": "{{prompt}}", "m": {{messages}}, "n": {{id}}, "x": "{{unknown}}"})";
        const QJsonObject o = QJsonDocument::fromJson(t.renderBody(3, 0)).object();
        QCOMPARE(o.value("p").toString(), QStringLiteral("keep {{id}} and {{messages}} as written"));
        QCOMPARE(o.value("m").toArray().at(0).toObject().value("content").toString(), o.value("p").toString());
        QCOMPARE(o.value("n").toInt(), 3);
        QCOMPARE(o.value("x").toString(), QStringLiteral("{{unknown}}"));
        t.dataset = std::make_shared<const Dataset>();
        QVERIFY(t.validate().contains(QStringLiteral("holds no prompts")));
    }

    void lengthsFeedTheEngine()
    {
        QString error;
        auto d = readJsonlDataset(kShipped, error);
        QVERIFY2(d, qPrintable(error));
        Scenario s;
        s.model.batching.mode = BatchingConfig::Mode::Continuous;
        s.model.predict = Distribution::constant(1);
        s.workload.arrival = ArrivalConfig::closed(4);
        s.workload.requests = 2000;
        const QString note = applyDatasetLengths(*d, 16, s);
        QVERIFY(note.contains(QStringLiteral("prompts_small.jsonl")));
        QCOMPARE(QString::fromStdString(s.validate()), QString());
        QCOMPARE(s.workload.requestSize.effectiveMeanMs(), 1.0); // relative sizes
        const std::vector<int> asked{24, 12, 8, 16, 4, 32, 16, 40};
        QCOMPARE(s.model.batching.outputTokens.effectiveMeanMs(), std::accumulate(asked.begin(), asked.end(), 0.0) / 8);
        // The engine draws output lengths from the dataset's: every response is one of them.
        Engine e(s);
        std::set<int> seen;
        e.setObserver([&](const Request& r) { seen.insert(r.tokens); });
        e.startLoad();
        e.runToCompletion();
        QVERIFY(seen == std::set<int>(asked.begin(), asked.end()));
    }

    // knee serve answers each request with the length its entry asked for: max_tokens made it through.
    void servedThroughAnEndpoint()
    {
        const QString scenario = write(QStringLiteral("fixed.yaml"), kFixedScenario);
        Served served(scenario, {QStringLiteral("--gpu-telemetry-ms"), QStringLiteral("0")});
        QVERIFY(served.start());
        QString error;
        auto d = readJsonlDataset(kShipped, error);
        QVERIFY2(d, qPrintable(error));
        HttpTarget t;
        t.url = QUrl(served.url("/v1/chat/completions"));
        t.kind = HttpTarget::Kind::OpenAI;
        t.maxTokens = 16;
        t.dataset = std::make_shared<const Dataset>(*d);
        HttpClient client(t, {});
        std::vector<int> tokens;
        for (const HttpOutcome& o : sendMany(client, 8)) {
            QVERIFY2(o.ok(), qPrintable(o.detail));
            tokens.push_back(o.tokens);
        }
        std::sort(tokens.begin(), tokens.end());
        QCOMPARE(tokens, (std::vector<int>{4, 8, 12, 16, 16, 24, 32, 40}));

        // The command line: a level with the dataset, and its name in the JSON.
        const Cli sweep = runKnee({QStringLiteral("sweep"), QStringLiteral("--target"), served.url("/v1/chat/completions"), QStringLiteral("--openai"),
                                QStringLiteral("--dataset"), kShipped, QStringLiteral("--levels"), QStringLiteral("2"), QStringLiteral("--warmup-s"),
                                QStringLiteral("0"), QStringLiteral("--window-s"), QStringLiteral("0.2"), QStringLiteral("--cap-s"),
                                QStringLiteral("0.6"), QStringLiteral("--json")});
        QVERIFY2(sweep.exitCode == 0, sweep.err.constData());
        const QJsonObject result = QJsonDocument::fromJson(sweep.out).object();
        QCOMPARE(result.value("target").toObject().value("dataset").toString(), QStringLiteral("prompts_small.jsonl (8 prompts)"));
        QVERIFY(result.value("levels").toArray().at(0).toObject().value("completed").toInt() > 0);
        const Cli synthetic = runKnee({QStringLiteral("sweep"), QStringLiteral("--target"), served.url("/predict"), QStringLiteral("--synthetic-lengths"),
                                    QStringLiteral("input=constant:50,output=uniform:2:6,seed=3"), QStringLiteral("--levels"), QStringLiteral("1"),
                                    QStringLiteral("--warmup-s"), QStringLiteral("0"), QStringLiteral("--window-s"), QStringLiteral("0.2"),
                                    QStringLiteral("--cap-s"), QStringLiteral("0.6"), QStringLiteral("--json")});
        QVERIFY2(synthetic.exitCode == 0, synthetic.err.constData());
        QVERIFY(QJsonDocument::fromJson(synthetic.out).object().value("target").toObject().value("dataset").toString().startsWith("synthetic"));
    }

    void badFlags_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("fragment");
        const QString url = QStringLiteral("http://127.0.0.1:9/predict");
        QTest::newRow("missing file") << QStringList{"sweep", "--target", url, "--dataset", "/nonexistent/p.jsonl"}
                                      << "--dataset /nonexistent/p.jsonl: cannot open";
        QTest::newRow("both") << QStringList{"sweep", "--target", url, "--dataset", kShipped, "--synthetic-lengths", "input=constant:1,output=constant:1"}
                              << "not both";
        QTest::newRow("bad spec") << QStringList{"sweep", "--target", url, "--synthetic-lengths", "input=constant:1"} << "--synthetic-lengths: synthetic";
        QTest::newRow("no target") << QStringList{"sweep", QStringLiteral(KNEE_SOURCE_DIR "/resources/scenarios/default.yaml"), "--dataset", kShipped}
                                   << "need --target URL";
    }
    void badFlags()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fragment);
        const Cli r = runKnee(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(fragment), r.err.constData());
        QVERIFY(r.out.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestDataset)
#include "tst_dataset.moc"
