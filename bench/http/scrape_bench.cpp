// knee-bench-scrape: does scraping the target's /metrics each second move the latency an endpoint sweep
// measures? One closed-loop level (knee's own client, as `knee sweep --target` runs it) against an endpoint,
// alternately without and with a MetricsScraper on the same thread (where a sweep would run it: the worst
// case, its parsing competes with the client's own work), in pairs whose order alternates so that drift
// cancels. Prints each run, then the medians and the paired differences of p99 (and p50).
//   knee-bench-scrape --target URL --metrics URL [--rounds N] [--concurrency C] [--warmup-s S] [--window-s S]
//                     [--period-ms MS]
// bench/http/run_scrape_bench.sh starts the servers and runs it.
#include "net/http_sweep.h"
#include "net/metrics_scraper.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTextStream>
#include <QTimer>

#include <ctime>
#include <functional>

#include <algorithm>
#include <cstdio>

using namespace knee;
using namespace knee::net;

namespace {

struct Run {
    bool scraping = false;
    double p50 = 0, p99 = 0, rps = 0;
    std::int64_t completed = 0;
    int scrapes = 0, failures = 0;
};

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Run measure(const HttpTarget& target, const ScraperOptions* scrape, int concurrency, const SweepOptions& options)
{
    HttpClient client(target, {});
    std::unique_ptr<MetricsScraper> scraper;
    if (scrape) {
        scraper = std::make_unique<MetricsScraper>(*scrape);
        scraper->start();
    }
    const HttpLevel level = measureHttpLevel(client, concurrency, options);
    Run r;
    r.scraping = scrape != nullptr;
    r.p50 = level.level.latency.p50;
    r.p99 = level.level.latency.p99;
    r.rps = level.level.throughputRps;
    r.completed = level.level.completed;
    if (scraper) {
        scraper->stop();
        const ScrapeWindow w = scraper->takeWindow();
        r.scrapes = w.scrapes;
        r.failures = w.failures;
    }
    return r;
}

// The scraper's own cost, free of the network and of the machine's noise: thread CPU time to fold one page
// into a window (parse, keep the wanted names), averaged over many pages.
void ingestCost(const QUrl& metrics)
{
    QNetworkAccessManager nam;
    QNetworkReply* reply = nam.get(QNetworkRequest(metrics));
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    loop.exec();
    const QByteArray page = reply->readAll();
    reply->deleteLater();
    ScraperOptions o;
    o.url = metrics;
    MetricsScraper scraper(o);
    constexpr int kPages = 2000;
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (int i = 0; i < kPages; ++i)
        scraper.ingest(page);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    const double us = (double(b.tv_sec - a.tv_sec) * 1e9 + double(b.tv_nsec - a.tv_nsec)) / 1e3 / kPages;
    std::printf("ingest: %.1f us of CPU per %lld-byte page (%d pages; the window holds %d scrapes): %.3f %% of one core at one scrape a second\n",
                us, static_cast<long long>(page.size()), kPages, scraper.window().scrapes, us / 1e4);
}

// Interleaved A/B in one long closed-loop run: the scraper is on for `phaseS`, off for `phaseS`, and so on;
// each request counts in the phase it was sent in. Whatever else loads the machine (other builds on a
// shared box) falls on both phases alike, which whole runs one after the other cannot promise. The noise
// floor: the same comparison between the odd and the even off-phases.
void interleaved(const HttpTarget& target, const ScraperOptions& scrape, int users, double totalS, double phaseS)
{
    HttpClient client(target, {});
    MetricsScraper scraper(scrape);
    std::vector<double> on, offEven, offOdd; // latencies in ms
    QEventLoop loop;
    const Nanos end = client.now() + Nanos(totalS * 1e9);
    const Nanos phase = Nanos(phaseS * 1e9);
    auto phaseOf = [&](Nanos t) { return t / phase; }; // even: off, odd: on
    QTimer toggle;
    toggle.setInterval(10);
    std::int64_t current = 0;
    QObject::connect(&toggle, &QTimer::timeout, [&] {
        const std::int64_t k = phaseOf(client.now());
        if (k == current)
            return;
        current = k;
        if (k % 2)
            scraper.start(); // scrapes at once, then each period: the rate of a scraper that is always on
        else
            scraper.stop();
    });
    toggle.start();
    int running = users;
    std::function<void(int)> user = [&](int u) {
        const Nanos sent = client.now();
        if (sent >= end) {
            if (--running == 0)
                loop.quit();
            return;
        }
        client.send(sent, u).then([&, u, sent](HttpOutcome o) {
            if (o.ok()) {
                const std::int64_t k = phaseOf(sent);
                (k % 2 ? on : (k / 2) % 2 ? offOdd : offEven).push_back(double(o.latency) / 1e6);
            }
            user(u);
        });
    };
    for (int u = 0; u < users; ++u)
        user(u);
    loop.exec();
    scraper.stop();
    const ScrapeWindow w = scraper.takeWindow();
    auto quantile = [](std::vector<double> v, double q) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[std::min(v.size() - 1, std::size_t(q * double(v.size())))];
    };
    std::vector<double> off = offEven;
    off.insert(off.end(), offOdd.begin(), offOdd.end());
    const double p99On = quantile(on, 0.99), p99Off = quantile(off, 0.99);
    const double p99Even = quantile(offEven, 0.99), p99Odd = quantile(offOdd, 0.99);
    std::printf("interleaved, %.0f s in %.1f s phases, %d users: %zu responses with the scraper on (%d scrapes, %d failed), %zu off\n", totalS,
                phaseS, users, on.size(), w.scrapes, w.failures, off.size());
    std::printf("p50: %.3f ms on, %.3f ms off; p99: %.3f ms on, %.3f ms off: %+.2f %%\n", quantile(on, 0.5), quantile(off, 0.5), p99On, p99Off,
                100 * (p99On - p99Off) / p99Off);
    std::printf("noise floor: p99 of the odd off-phases against the even ones: %.3f vs %.3f ms: %+.2f %%\n", p99Odd, p99Even,
                100 * (p99Odd - p99Even) / p99Even);
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption target(QStringLiteral("target"), QStringLiteral("The endpoint (generic JSON POST)."), QStringLiteral("URL"));
    const QCommandLineOption metrics(QStringLiteral("metrics"), QStringLiteral("The /metrics to scrape."), QStringLiteral("URL"));
    const QCommandLineOption rounds(QStringLiteral("rounds"), QStringLiteral("Pairs of runs (default 6)."), QStringLiteral("N"), QStringLiteral("6"));
    const QCommandLineOption concurrency(QStringLiteral("concurrency"), QStringLiteral("Users (default 16)."), QStringLiteral("C"),
                                         QStringLiteral("16"));
    const QCommandLineOption warmup(QStringLiteral("warmup-s"), QStringLiteral("Warm-up per run (default 1)."), QStringLiteral("S"),
                                    QStringLiteral("1"));
    const QCommandLineOption window(QStringLiteral("window-s"), QStringLiteral("Window (default 3; 3 windows a run)."), QStringLiteral("S"),
                                    QStringLiteral("3"));
    const QCommandLineOption period(QStringLiteral("period-ms"), QStringLiteral("Scrape period (default 1000)."), QStringLiteral("MS"),
                                    QStringLiteral("1000"));
    const QCommandLineOption interleave(QStringLiteral("interleave-s"),
                                        QStringLiteral("Instead of whole runs: one run this long, the scraper on and off in turns."),
                                        QStringLiteral("S"));
    const QCommandLineOption phase(QStringLiteral("phase-s"), QStringLiteral("--interleave-s: length of each phase (default 2)."),
                                   QStringLiteral("S"), QStringLiteral("2"));
    parser.addOptions({target, metrics, rounds, concurrency, warmup, window, period, interleave, phase});
    parser.process(app);
    if (!parser.isSet(target) || !parser.isSet(metrics)) {
        std::fprintf(stderr, "knee-bench-scrape: --target and --metrics are needed\n");
        return 2;
    }
    HttpTarget t;
    t.url = QUrl(parser.value(target));
    t.maxConnections = 4096;
    ScraperOptions s;
    s.url = QUrl(parser.value(metrics));
    s.periodMs = parser.value(period).toInt();
    if (const QString e = t.validate() + s.validate(); !e.isEmpty()) {
        std::fprintf(stderr, "knee-bench-scrape: %s\n", qPrintable(e));
        return 2;
    }
    SweepOptions options;
    options.warmupS = parser.value(warmup).toDouble();
    options.windowS = parser.value(window).toDouble();
    options.minWindows = 3;
    options.capS = 3 * options.windowS; // exactly three windows: every run measures the same length
    const int users = parser.value(concurrency).toInt();
    ingestCost(s.url);
    if (parser.isSet(interleave)) {
        interleaved(t, s, users, parser.value(interleave).toDouble(), parser.value(phase).toDouble());
        return 0;
    }

    std::vector<Run> runs;
    std::printf("%-6s %-9s %9s %9s %9s %9s %8s\n", "round", "scraping", "p50 ms", "p99 ms", "req/s", "responses", "scrapes");
    for (int round = 0; round < parser.value(rounds).toInt(); ++round) {
        for (int k = 0; k < 2; ++k) {
            const bool on = (round % 2 == 0) == (k == 1); // off,on then on,off: drift cancels in pairs
            const Run r = measure(t, on ? &s : nullptr, users, options);
            std::printf("%-6d %-9s %9.3f %9.3f %9.1f %9lld %8d%s\n", round, on ? "yes" : "no", r.p50, r.p99, r.rps,
                        static_cast<long long>(r.completed), r.scrapes, r.failures ? " (scrape failures!)" : "");
            std::fflush(stdout);
            runs.push_back(r);
        }
    }
    if (runs.empty())
        return 0;
    std::vector<double> p99Off, p99On, p50Off, p50On, pairedP99, pairedP50;
    for (std::size_t i = 0; i + 1 < runs.size(); i += 2) {
        const Run& off = runs[i].scraping ? runs[i + 1] : runs[i];
        const Run& on = runs[i].scraping ? runs[i] : runs[i + 1];
        p99Off.push_back(off.p99);
        p99On.push_back(on.p99);
        p50Off.push_back(off.p50);
        p50On.push_back(on.p50);
        pairedP99.push_back(100 * (on.p99 - off.p99) / off.p99);
        pairedP50.push_back(100 * (on.p50 - off.p50) / off.p50);
    }
    std::vector<double> noise; // how much p99 moves between runs without scraping at all (consecutive rounds)
    for (std::size_t i = 1; i < p99Off.size(); ++i)
        noise.push_back(100 * std::abs(p99Off[i] - p99Off[i - 1]) / p99Off[i - 1]);
    std::printf("\np99: median %.3f ms without scraping, %.3f ms with: %+.2f %%; paired differences: median %+.2f %%, range %+.2f .. %+.2f %%\n",
                median(p99Off), median(p99On), 100 * (median(p99On) - median(p99Off)) / median(p99Off), median(pairedP99),
                *std::min_element(pairedP99.begin(), pairedP99.end()), *std::max_element(pairedP99.begin(), pairedP99.end()));
    std::printf("p50: median %.3f ms without, %.3f ms with; paired differences: median %+.2f %%\n", median(p50Off), median(p50On), median(pairedP50));
    std::printf("run-to-run noise of p99 without scraping (consecutive rounds): median %.2f %%\n", median(noise));
    return 0;
}
