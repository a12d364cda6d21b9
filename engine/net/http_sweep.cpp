#include "http_sweep.h"

#include "arrival_timer.h"
#include "metrics_scraper.h"

#include <QJsonDocument>

#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <random>

namespace knee::net {

namespace {

// One level's clients against the target, as a level probe: closed-loop users, or an open loop's arrivals
// (Poisson or evenly spaced, each request's latency counted from its scheduled time, so a slow server
// cannot slow the load: no coordinated omission). measureLevel (study/sweep) runs the same procedure on
// it as on the engine. Its time is wall time since begin(); what it adds to the level (requests sent,
// unfinished, the last error) is for people.
class HttpProbe : public LevelProbe {
public:
    explicit HttpProbe(HttpClient& client, MetricsScraper* scraper = nullptr)
        : m_client(client)
        , m_scraper(scraper)
    {
    }
    ~HttpProbe() override { end(); }

    void begin(const LevelLoad& load) override
    {
        m_wall.start();
        if (load.open()) {
            m_open = true;
            m_sentBefore = m_client.counters().sent;
            arrivals(load);
            return;
        }
        for (int u = 0; u < load.users; ++u)
            user(u); // detached: each ends after end()
    }
    // Requests that left the client (past its connection limit): what waits inside knee has not been sent,
    // so a client short of connections shows as behind, not as the server's capacity.
    std::int64_t sent() const override { return m_open ? m_client.counters().sent - m_sentBefore : 0; }
    bool generatorMayLag() const override { return true; }
    Nanos now() const override { return m_wall.isValid() ? Nanos(m_wall.nsecsElapsed()) : 0; }
    // Lets wall time pass on this thread's event loop until the level's time is t.
    void advanceTo(Nanos t) override
    {
        const Nanos wait = t - now();
        if (wait <= 0)
            return;
        QEventLoop loop;
        QTimer::singleShot(std::chrono::milliseconds(std::max<qint64>(1, qint64(wait / kNanosPerMs))), Qt::PreciseTimer, &loop,
                           &QEventLoop::quit);
        loop.exec();
    }
    LevelWindow& window() override { return m_window; }
    void measuring() override
    {
        if (m_scraper)
            m_scraper->takeWindow(); // the warm-up's scrapes are left out, as its responses are
    }
    // Ends the users: requests in flight are aborted (not counted); returns when all have ended.
    void end() override
    {
        if (m_ended)
            return;
        m_ended = true;
        if (m_scraper)
            m_scrape = m_scraper->takeWindow();
        m_stopping = true;
        if (m_arrivals)
            m_arrivals->stop();
        const std::int64_t abortedBefore = m_client.counters().aborted;
        m_client.abortAll();
        if (m_running > 0) {
            QEventLoop loop;
            m_allEnded = &loop;
            loop.exec();
            m_allEnded = nullptr;
        }
        m_unfinished = m_client.counters().aborted - abortedBefore;
    }
    bool virtualTime() const override { return false; }
    const char* mode() const override { return "http"; }
    void annotate(SweepLevel& level) const override
    {
        level.endpoint = EndpointCounts{level.completed + level.failed, m_unfinished, m_lastError.toStdString()};
        for (FailureKind k : kFailureKinds) // every kind, 0 where none: a record lists them all
            level.failuresByKind.try_emplace(std::string(failureKindName(k)), 0);
        if (m_scrape)
            level.server = serverScrape(*m_scrape);
    }

private:
    // One timer for the next arrival: when it fires, every arrival already due is sent with its own
    // scheduled time (a late timer delays the send, never the latency's start). ArrivalTimer wakes within
    // tens of microseconds of the time, not at the next whole millisecond (arrival_timer.h).
    void arrivals(const LevelLoad& load)
    {
        m_rng.seed(load.seed);
        m_gap = std::exponential_distribution<double>(load.rateRps);
        m_constantGap = load.constant ? gapNanos(1 / load.rateRps) : 0;
        const Nanos start = m_client.now();
        m_next = start + nextGap();
        m_arrivals = std::make_unique<ArrivalTimer>([this] { return m_client.now(); },
                                                    [this] {
                                                        for (const Nanos now = m_client.now(); m_next <= now && !m_stopping; m_next += nextGap())
                                                            request(m_next);
                                                        if (!m_stopping)
                                                            m_arrivals->armAt(m_next);
                                                    });
        m_arrivals->armAt(m_next);
    }
    Nanos nextGap() { return std::max<Nanos>(1, m_constantGap > 0 ? m_constantGap : gapNanos(m_gap(m_rng))); }
    // A gap in seconds as nanoseconds, within the engine's year (an exponential draw can be huge).
    static Nanos gapNanos(double seconds) { return Nanos(std::min(seconds, limits::kMaxDurationS) * 1e9); }

    QCoro::Task<> request(Nanos intended)
    {
        ++m_running;
        const HttpOutcome r = co_await m_client.send(intended, int(++m_scheduled));
        if (!r.aborted)
            record(r);
        if (--m_running == 0 && m_allEnded)
            m_allEnded->quit();
    }

    QCoro::Task<> user(int index)
    {
        ++m_running;
        while (!m_stopping) {
            // Closed loop, no think time: the next request is meant to go the moment the last ended.
            const HttpOutcome r = co_await m_client.send(m_client.now(), index);
            if (r.aborted)
                break;
            record(r);
        }
        if (--m_running == 0 && m_allEnded)
            m_allEnded->quit();
    }

    void record(const HttpOutcome& r)
    {
        recordOutcome(m_window, r);
        if (r.failure)
            m_lastError = QString::fromLatin1(failureKindName(*r.failure)) + QStringLiteral(": ") + r.detail;
    }

    HttpClient& m_client;
    MetricsScraper* m_scraper;
    std::optional<ScrapeWindow> m_scrape;
    std::int64_t m_unfinished = 0;
    QElapsedTimer m_wall;
    int m_running = 0;
    bool m_stopping = false, m_ended = false;
    QEventLoop* m_allEnded = nullptr;
    LevelWindow m_window;
    bool m_open = false;
    std::int64_t m_sentBefore = 0;
    // An open loop's arrivals.
    std::unique_ptr<ArrivalTimer> m_arrivals;
    std::mt19937_64 m_rng;
    std::exponential_distribution<double> m_gap;
    Nanos m_constantGap = 0, m_next = 0;
    std::int64_t m_scheduled = 0;
    QString m_lastError;
};

} // namespace

void recordOutcome(LevelWindow& w, const HttpOutcome& r)
{
    if (r.failure) {
        ++w.failed;
        ++w.failuresByKind[std::string(failureKindName(*r.failure))];
        return;
    }
    ++w.completed;
    w.latency.record(r.latency);
    if (r.ttft >= 0)
        w.ttft.record(r.ttft);
    if (r.itl >= 0)
        w.itl.record(r.itl);
    w.outputTokens += r.tokens;
    w.countGood(r.latency, r.ttft, r.itl);
}

SweepLevel measureHttpLevel(HttpClient& client, int concurrency, const SweepOptions& o)
{
    HttpProbe probe(client);
    return measureLevel(probe, concurrency, o);
}

ScraperOptions scraperFor(const HttpTarget& t, const QUrl& metricsUrl, const QStringList& extraNames)
{
    ScraperOptions o;
    o.url = metricsUrl.isEmpty() ? MetricsScraper::metricsUrlFor(t.url) : metricsUrl;
    o.extraNames = extraNames;
    // An auth header, say, goes to the target's own origin only (scheme, host and port): never in clear
    // text to a metrics port beside an https target.
    if (o.url.scheme() == t.url.scheme() && o.url.host() == t.url.host() && o.url.port(-1) == t.url.port(-1))
        o.headers = t.headers;
    return o;
}

ServerScrape serverScrape(const ScrapeWindow& w)
{
    ServerScrape s;
    s.scrapes = w.scrapes;
    s.failures = w.failures;
    s.lastError = w.lastError.toStdString();
    for (const auto& [name, m] : w.metrics)
        s.metrics[name.toStdString()] = ServerMetricSummary{m.source.toStdString(), m.samples, m.mean, m.min, m.max, m.last};
    return s;
}

SweepResult runHttpSweep(HttpClient& client, const Scenario& scenario, const SweepOptions& o,
                         const std::function<bool(const SweepLevel&)>& progress, const std::optional<ScraperOptions>& scrape)
{
    // Scraping runs on this thread's event loop, which the probes turn while the level's time passes.
    std::unique_ptr<MetricsScraper> scraper;
    if (scrape) {
        scraper = std::make_unique<MetricsScraper>(*scrape);
        scraper->start();
    }
    // The endpoint's rules are a live sweep's (the probe is wall-clock): the time cap, the user's levels only.
    SweepResult r = runLevels(scenario, o, [&](int, int) { return std::make_unique<HttpProbe>(client, scraper.get()); }, progress);
    if (scraper)
        scraper->stop();
    r.mode = "http";
    r.target = QJsonDocument(client.target().toJson()).toJson(QJsonDocument::Compact).toStdString();
    r.scenarioName = client.target().url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery).toStdString();
    return r;
}

QString nothingMeasured(const SweepResult& r)
{
    if (r.levels.empty() || std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.completed > 0; }))
        return {};
    std::int64_t failed = 0, unfinished = 0;
    for (const SweepLevel& l : r.levels)
        failed += l.failed;
    QString lastError;
    bool endpoint = false;
    for (const SweepLevel& l : r.levels) {
        if (!l.endpoint)
            continue;
        endpoint = true;
        unfinished += l.endpoint->unfinished;
        if (!l.endpoint->lastError.empty())
            lastError = QString::fromStdString(l.endpoint->lastError);
    }
    QString why = QStringLiteral("nothing measured: no level completed a request (%1 failed").arg(failed);
    if (endpoint)
        why += QStringLiteral(", %1 still unanswered when their level ended").arg(unfinished);
    why += QStringLiteral("), so nothing is recommended");
    if (unfinished > 0)
        why += QStringLiteral("; a response that outlasts its level is never measured (--request-timeout-ms bounds one)");
    if (!lastError.isEmpty())
        why += QStringLiteral("; last error: ") + lastError;
    return why;
}

Scenario endpointScenario(const QString& name)
{
    Scenario s;
    s.name = name.toStdString();
    s.workload.arrival = ArrivalConfig::closed(1, Distribution::constant(0)); // the default open-loop rate of 0 would not validate
    s.workload.requests = 1;
    return s;
}

HttpOutcome testConnection(HttpClient& client)
{
    HttpOutcome result;
    QEventLoop loop;
    bool done = false;
    client.send(client.now()).then([&](HttpOutcome o) {
        result = std::move(o);
        done = true;
        loop.quit();
    });
    if (!done)
        loop.exec();
    return result;
}

} // namespace knee::net
