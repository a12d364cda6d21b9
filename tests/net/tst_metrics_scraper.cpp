// Reading a model server's /metrics: the text-format parser (a table of well-formed and hostile lines),
// the names of vLLM, TGI, SGLang and Triton mapped to the quantities knee keeps, and the scraper against
// a reference server that speaks vLLM's names with values the test sets (vllm_metrics_server.py on
// Debian's python3): per-window aggregates, windows that do not leak into each other, failures counted
// while scraping goes on.
#include "metrics_reference.h"

#include "net/metrics_scraper.h"
#include "net/prometheus_text.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

#include <cmath>

using namespace knee::net;

namespace {

ScraperOptions options(const QUrl& url, int periodMs = MetricsScraper::kMinPeriodMs)
{
    ScraperOptions o;
    o.url = url;
    o.periodMs = periodMs;
    o.timeoutMs = 5000; // a loaded machine may be slow to answer; a timeout here would be a false failure
    return o;
}

} // namespace

// Waits until the scraper's current window satisfies `pred` (an event: scrapes arriving, not a duration).
#define WAIT_FOR(scraper, pred) QTRY_VERIFY2_WITH_TIMEOUT((pred)((scraper).window()), "the scraper did not get there", 30000)

class TestMetricsScraper : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parse_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<QByteArray>("labelKey");
        QTest::addColumn<QByteArray>("labelValue");
        QTest::addColumn<double>("value");
        QTest::addColumn<int>("samples");
        QTest::addColumn<int>("badLines");
        QTest::newRow("plain") << QByteArray("up 1\n") << QByteArray("up") << QByteArray() << QByteArray() << 1.0 << 1 << 0;
        QTest::newRow("colon name, labels") << QByteArray("vllm:num_requests_running{engine=\"0\",model_name=\"m\"} 3.0\n")
                                            << QByteArray("vllm:num_requests_running") << QByteArray("model_name") << QByteArray("m") << 3.0
                                            << 1 << 0;
        QTest::newRow("escapes") << QByteArray("x{a=\"q\\\"uote\\\\back\\nline\"} 2\n") << QByteArray("x") << QByteArray("a")
                                 << QByteArray("q\"uote\\back\nline") << 2.0 << 1 << 0;
        QTest::newRow("trailing comma, blanks") << QByteArray("x{ a = \"1\" , } \t 5e-3\n") << QByteArray("x") << QByteArray("a")
                                                << QByteArray("1") << 0.005 << 1 << 0;
        QTest::newRow("timestamp") << QByteArray("x 7 1712345678901\n") << QByteArray("x") << QByteArray() << QByteArray() << 7.0 << 1 << 0;
        QTest::newRow("+Inf") << QByteArray("x_bucket{le=\"+Inf\"} +Inf\n") << QByteArray("x_bucket") << QByteArray("le")
                              << QByteArray("+Inf") << qInf() << 1 << 0;
        QTest::newRow("comments, blank lines, CRLF, EOF")
            << QByteArray("# HELP x a thing\r\n# TYPE x gauge\r\n\r\n   \nx 4\r\n# EOF\n") << QByteArray("x") << QByteArray() << QByteArray()
            << 4.0 << 1 << 0;
        QTest::newRow("no value") << QByteArray("x\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1 << 1;
        QTest::newRow("value not a number") << QByteArray("x one\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1 << 1;
        QTest::newRow("unterminated labels") << QByteArray("x{a=\"1\" 2\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1
                                             << 1;
        QTest::newRow("unquoted label") << QByteArray("x{a=1} 2\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1 << 1;
        QTest::newRow("junk after the value") << QByteArray("x 1 2 3\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1
                                              << 1;
        QTest::newRow("html") << QByteArray("<html>\ny 1\n") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1 << 1;
        QTest::newRow("no newline at the end") << QByteArray("y 1") << QByteArray("y") << QByteArray() << QByteArray() << 1.0 << 1 << 0;
    }
    void parse()
    {
        QFETCH(QByteArray, text);
        QFETCH(QByteArray, name);
        QFETCH(QByteArray, labelKey);
        QFETCH(QByteArray, labelValue);
        QFETCH(double, value);
        QFETCH(int, samples);
        QFETCH(int, badLines);
        const PromText parsed = parsePrometheusText(text);
        QCOMPARE(int(parsed.samples.size()), samples);
        QCOMPARE(parsed.badLines, badLines);
        QCOMPARE(parsed.firstError.isEmpty(), badLines == 0);
        const PromSample& s = parsed.samples.back();
        QCOMPARE(s.name, name);
        QCOMPARE(s.value, value);
        if (!labelKey.isEmpty())
            QCOMPARE(s.label(labelKey), labelValue);
    }

    void parseNaNAndTypes()
    {
        const PromText p = parsePrometheusText("# TYPE x gauge\nx NaN\nx -Inf\n");
        QCOMPARE(p.samples.size(), std::size_t(2));
        QVERIFY(std::isnan(p.samples[0].value));
        QCOMPARE(p.samples[1].value, -qInf());
        QCOMPARE(p.types.size(), std::size_t(1));
        QCOMPARE(p.types[0].second, QByteArray("gauge"));
    }

    void filterSkipsUnwantedLines()
    {
        // A refused name's line is not even checked: its garbage costs nothing and counts as nothing.
        const PromText p = parsePrometheusText("noise{{{ garbage\nkeep 1\nnoise 2\n", [](QByteArrayView n) { return n == "keep"; });
        QCOMPARE(p.samples.size(), std::size_t(1));
        QCOMPARE(p.badLines, 0);
    }

    // The other servers' names, fed straight to the scraper (no server needed).
    void otherServersNames_data()
    {
        QTest::addColumn<QByteArray>("page");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("source");
        QTest::addColumn<double>("value");
        QTest::newRow("TGI queue") << QByteArray("tgi_queue_size 7\ntgi_batch_current_size 4\n") << "requests_waiting" << "tgi_queue_size" << 7.0;
        QTest::newRow("TGI batch") << QByteArray("tgi_queue_size 7\ntgi_batch_current_size 4\n") << "batch_size" << "tgi_batch_current_size" << 4.0;
        QTest::newRow("TGI running") << QByteArray("tgi_batch_current_size 4\n") << "requests_running" << "tgi_batch_current_size" << 4.0;
        QTest::newRow("SGLang running") << QByteArray("sglang:num_running_reqs{model_name=\"m\"} 162\n") << "requests_running"
                                        << "sglang:num_running_reqs" << 162.0;
        QTest::newRow("SGLang queue") << QByteArray("sglang:num_queue_reqs{model_name=\"m\"} 2826\n") << "requests_waiting"
                                      << "sglang:num_queue_reqs" << 2826.0;
        QTest::newRow("SGLang tokens") << QByteArray("sglang:token_usage{model_name=\"m\"} 0.28\n") << "kv_cache_usage" << "sglang:token_usage"
                                       << 0.28;
        QTest::newRow("Triton pending, two models")
            << QByteArray("nv_inference_pending_request_count{model=\"a\",version=\"1\"} 3\n"
                          "nv_inference_pending_request_count{model=\"b\",version=\"1\"} 2\n")
            << "requests_waiting" << "nv_inference_pending_request_count" << 5.0;
        QTest::newRow("vLLM's older KV name") << QByteArray("vllm:gpu_cache_usage_perc 0.5\n") << "kv_cache_usage" << "vllm:gpu_cache_usage_perc"
                                              << 0.5;
        QTest::newRow("vLLM's new KV name first") << QByteArray("vllm:gpu_cache_usage_perc 0.5\nvllm:kv_cache_usage_perc 0.6\n") << "kv_cache_usage"
                                                  << "vllm:kv_cache_usage_perc" << 0.6;
        QTest::newRow("knee serve") << QByteArray("knee_deployment_queue_requests 9\nknee_requests_held 4\n") << "requests_waiting"
                                    << "knee_deployment_queue_requests" << 9.0;
    }
    void otherServersNames()
    {
        QFETCH(QByteArray, page);
        QFETCH(QString, key);
        QFETCH(QString, source);
        QFETCH(double, value);
        MetricsScraper scraper(options(QUrl(QStringLiteral("http://127.0.0.1:9/metrics"))));
        scraper.ingest(page);
        const ScrapeWindow w = scraper.takeWindow();
        QCOMPARE(w.scrapes, 1);
        QVERIFY2(w.metrics.count(key), qPrintable(key));
        QCOMPARE(w.metrics.at(key).source, source);
        QCOMPARE(w.metrics.at(key).last, value);
    }

    void tritonBatchFromCounters()
    {
        MetricsScraper scraper(options(QUrl(QStringLiteral("http://127.0.0.1:9/metrics"))));
        scraper.ingest("nv_inference_count{model=\"m\"} 100\nnv_inference_exec_count{model=\"m\"} 50\n");
        QVERIFY(!scraper.window().metrics.count(QStringLiteral("batch_size"))); // one scrape: no difference yet
        scraper.ingest("nv_inference_count{model=\"m\"} 180\nnv_inference_exec_count{model=\"m\"} 60\n"); // 80 inferences in 10 runs
        scraper.ingest("nv_inference_count{model=\"m\"} 200\nnv_inference_exec_count{model=\"m\"} 70\n"); // 20 in 10
        const MetricAggregate b = scraper.takeWindow().metrics.at(QStringLiteral("batch_size"));
        QCOMPARE(b.samples, std::int64_t(2));
        QCOMPARE(b.max, 8.0);
        QCOMPARE(b.min, 2.0);
        QCOMPARE(b.mean, 5.0);
    }

    void validate_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("periodMs");
        QTest::addColumn<QString>("extra");
        QTest::addColumn<QString>("fragment");
        QTest::newRow("fine") << "http://127.0.0.1:8000/metrics" << 1000 << "vllm:num_preemptions_total" << "";
        QTest::newRow("no scheme") << "127.0.0.1:8000/metrics" << 1000 << "" << "http:// or https://";
        QTest::newRow("ftp") << "ftp://host/metrics" << 1000 << "" << "http:// or https://";
        QTest::newRow("too fast") << "http://h/metrics" << 10 << "" << "scrape period";
        QTest::newRow("bad name") << "http://h/metrics" << 1000 << "vllm num running" << "not a Prometheus metric name";
        QTest::newRow("digit first") << "http://h/metrics" << 1000 << "9lives" << "not a Prometheus metric name";
    }
    void validate()
    {
        QFETCH(QString, url);
        QFETCH(int, periodMs);
        QFETCH(QString, extra);
        QFETCH(QString, fragment);
        ScraperOptions o = options(QUrl(url), periodMs);
        if (!extra.isEmpty())
            o.extraNames << extra;
        const QString e = o.validate();
        QCOMPARE(e.isEmpty(), fragment.isEmpty());
        QVERIFY2(e.contains(fragment), qPrintable(e));
    }

    void metricsUrlBesideTheEndpoint()
    {
        QCOMPARE(MetricsScraper::metricsUrlFor(QUrl(QStringLiteral("http://10.0.0.5:8000/v1/chat/completions?x=1"))),
                 QUrl(QStringLiteral("http://10.0.0.5:8000/metrics")));
        QCOMPARE(MetricsScraper::metricsUrlFor(QUrl(QStringLiteral("https://user:secret@api.example/predict"))),
                 QUrl(QStringLiteral("https://api.example/metrics"))); // no credentials carried over
    }

    void scrapesTheReferenceServer()
    {
        if (!MetricsReference::available())
            QSKIP("/usr/bin/python3 (Debian's python3) is absent");
        MetricsReference server;
        QVERIFY(server.port() > 0);
        QVERIFY(server.set({{"vllm:num_requests_running", 3}, {"vllm:num_requests_waiting", 7}, {"vllm:kv_cache_usage_perc", 0.25},
                            {"vllm:prompt_tokens_total", 1234}}));
        ScraperOptions o = options(server.url());
        o.extraNames << QStringLiteral("vllm:prompt_tokens_total") << QStringLiteral("vllm:absent_metric");
        MetricsScraper scraper(o);
        scraper.start();
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.scrapes >= 2; });
        QVERIFY(server.set({{"vllm:num_requests_running", 5}}));
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.metrics.count("requests_running") && w.metrics.at("requests_running").last == 5; });
        QVERIFY(server.set({{"vllm:num_requests_waiting", 1}, {"_engines", 2}})); // two engines: each gauge summed over both
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.metrics.at("requests_waiting").last == 2; });
        const ScrapeWindow first = scraper.takeWindow();
        QCOMPARE(first.failures, 0);
        const MetricAggregate running = first.metrics.at(QStringLiteral("requests_running"));
        QCOMPARE(running.source, QStringLiteral("vllm:num_requests_running"));
        QCOMPARE(running.samples, std::int64_t(first.scrapes));
        QCOMPARE(running.min, 3.0);
        QCOMPARE(running.max, 10.0); // 5 on each of two engines
        QVERIFY(running.mean > 3 && running.mean < 10);
        QCOMPARE(first.metrics.at(QStringLiteral("requests_waiting")).max, 7.0);
        QCOMPARE(first.metrics.at(QStringLiteral("requests_waiting")).min, 2.0);
        QCOMPARE(first.metrics.at(QStringLiteral("kv_cache_usage")).source, QStringLiteral("vllm:kv_cache_usage_perc"));
        QCOMPARE(first.metrics.at(QStringLiteral("kv_cache_usage")).min, 0.25);
        QCOMPARE(first.metrics.at(QStringLiteral("vllm:prompt_tokens_total")).min, 1234.0);
        QVERIFY(!first.metrics.count(QStringLiteral("vllm:absent_metric"))); // absent: no figure, not a zero
        QVERIFY(!first.metrics.count(QStringLiteral("batch_size")));         // vLLM has no batch gauge

        // The next window starts where the first ended and keeps none of its figures.
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.metrics.count("requests_waiting") && w.metrics.at("requests_waiting").samples >= 2; });
        scraper.stop();
        const ScrapeWindow second = scraper.takeWindow();
        QCOMPARE(second.startS, first.endS);
        QCOMPARE(second.metrics.at(QStringLiteral("requests_waiting")).max, 2.0); // the first window's 7 does not leak
        QCOMPARE(second.metrics.at(QStringLiteral("requests_waiting")).min, 2.0);
        QCOMPARE(second.metrics.at(QStringLiteral("requests_running")).min, 10.0);
        QCOMPARE(second.metrics.at(QStringLiteral("kv_cache_usage")).max, 0.5); // 0.25 on each engine
    }

    void failuresAreCountedAndScrapingGoesOn()
    {
        if (!MetricsReference::available())
            QSKIP("/usr/bin/python3 (Debian's python3) is absent");
        MetricsReference server;
        QVERIFY(server.set({{"_status", 503}}));
        MetricsScraper scraper(options(server.url()));
        QSignalSpy spy(&scraper, &MetricsScraper::scraped);
        scraper.start();
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.failures >= 2; });
        QVERIFY2(scraper.window().lastError.contains(QStringLiteral("HTTP 503")), qPrintable(scraper.window().lastError));
        QVERIFY(server.set({{"_status", 200}, {"_garbage", true}}));
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.lastError.contains("does not parse"); });
        QVERIFY(server.set({{"_garbage", false}, {"vllm:num_requests_running", 2}}));
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.scrapes >= 1; }); // it recovers by itself
        QCOMPARE(scraper.window().metrics.at(QStringLiteral("requests_running")).last, 2.0);
        QVERIFY(spy.size() >= 4);
    }

    void tooLargeAPageIsAFailure()
    {
        if (!MetricsReference::available())
            QSKIP("/usr/bin/python3 (Debian's python3) is absent");
        MetricsReference server({QStringLiteral("--histograms"), QStringLiteral("20")}); // ~50 KiB
        ScraperOptions o = options(server.url());
        o.maxBytes = 4096;
        MetricsScraper scraper(o);
        scraper.start();
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.failures >= 1; });
        QVERIFY2(scraper.window().lastError.contains(QStringLiteral("larger than 4096 bytes")), qPrintable(scraper.window().lastError));
        QCOMPARE(scraper.window().scrapes, 0);
    }

    void nobodyListening()
    {
        int port = 0;
        {
            QTcpServer probe; // a port that was free a moment ago, and is closed now
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            port = probe.serverPort();
        }
        MetricsScraper scraper(options(QUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(port))));
        scraper.start();
        WAIT_FOR(scraper, [](const ScrapeWindow& w) { return w.failures >= 1; });
        QVERIFY2(scraper.window().lastError.contains(QStringLiteral("refused"), Qt::CaseInsensitive), qPrintable(scraper.window().lastError));
    }
};

QTEST_GUILESS_MAIN(TestMetricsScraper)
#include "tst_metrics_scraper.moc"
