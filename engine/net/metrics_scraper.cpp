#include "metrics_scraper.h"

#include "prometheus_text.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

#include <algorithm>
#include <set>

namespace knee::net {

namespace {

constexpr char kTritonInferences[] = "nv_inference_count";
constexpr char kTritonExecutions[] = "nv_inference_exec_count";

} // namespace

void MetricAggregate::add(double v)
{
    min = samples ? std::min(min, v) : v;
    max = samples ? std::max(max, v) : v;
    mean += (v - mean) / double(++samples);
    last = v;
}

QString ScraperOptions::validate() const
{
    QStringList problems;
    if (!url.isValid() || (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) || url.host().isEmpty())
        problems << QStringLiteral("the metrics URL must be http:// or https:// with a host, got '%1'").arg(url.toString(QUrl::RemoveUserInfo));
    if (periodMs < MetricsScraper::kMinPeriodMs || periodMs > MetricsScraper::kMaxPeriodMs)
        problems << QStringLiteral("the scrape period must be from %1 to %2 ms").arg(MetricsScraper::kMinPeriodMs).arg(MetricsScraper::kMaxPeriodMs);
    if (timeoutMs < 0 || timeoutMs > 3'600'000)
        problems << QStringLiteral("the scrape timeout must be from 1 ms to one hour (0: the period)");
    if (maxBytes < 1024)
        problems << QStringLiteral("the largest metrics page must be at least 1 KiB");
    for (const QString& name : extraNames) {
        bool ok = !name.isEmpty() && (name.at(0).isLetter() || name.at(0) == QLatin1Char('_') || name.at(0) == QLatin1Char(':'));
        for (QChar c : name)
            ok = ok && c.unicode() < 128 && (c.isLetterOrNumber() || c == QLatin1Char('_') || c == QLatin1Char(':'));
        if (!ok)
            problems << QStringLiteral("'%1' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)").arg(name);
    }
    return problems.join(QLatin1Char('\n'));
}

const std::vector<std::pair<QString, QStringList>>& MetricsScraper::knownQuantities()
{
    static const std::vector<std::pair<QString, QStringList>> known{
        {QStringLiteral("requests_running"),
         {QStringLiteral("vllm:num_requests_running"), QStringLiteral("sglang:num_running_reqs"), QStringLiteral("tgi_batch_current_size"),
          QStringLiteral("knee_requests_held")}},
        {QStringLiteral("requests_waiting"),
         {QStringLiteral("vllm:num_requests_waiting"), QStringLiteral("sglang:num_queue_reqs"), QStringLiteral("tgi_queue_size"),
          QStringLiteral("nv_inference_pending_request_count"), QStringLiteral("knee_deployment_queue_requests")}},
        {QStringLiteral("kv_cache_usage"),
         {QStringLiteral("vllm:kv_cache_usage_perc"), QStringLiteral("vllm:gpu_cache_usage_perc"), QStringLiteral("sglang:token_usage")}},
        {QStringLiteral("batch_size"), {QStringLiteral("tgi_batch_current_size")}},
    };
    return known;
}

QUrl MetricsScraper::metricsUrlFor(const QUrl& endpoint)
{
    QUrl u;
    u.setScheme(endpoint.scheme());
    u.setHost(endpoint.host());
    u.setPort(endpoint.port());
    u.setPath(QStringLiteral("/metrics"));
    return u;
}

MetricsScraper::MetricsScraper(ScraperOptions options, QObject* parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_nam(new QNetworkAccessManager(this))
{
    m_clock.start();
    m_timer.setInterval(std::clamp(m_options.periodMs, kMinPeriodMs, kMaxPeriodMs));
    connect(&m_timer, &QTimer::timeout, this, &MetricsScraper::scrape);
    m_window.startS = nowS();
}

MetricsScraper::~MetricsScraper() { stop(); }

void MetricsScraper::start()
{
    if (m_timer.isActive())
        return;
    m_timer.start();
    scrape();
}

void MetricsScraper::stop()
{
    m_timer.stop();
    if (m_reply) {
        QNetworkReply* r = m_reply;
        m_reply = nullptr;
        r->disconnect(this);
        r->abort();
        r->deleteLater();
    }
}

ScrapeWindow MetricsScraper::window() const
{
    ScrapeWindow w = m_window;
    w.endS = nowS();
    return w;
}

ScrapeWindow MetricsScraper::takeWindow()
{
    ScrapeWindow w = window();
    m_window = ScrapeWindow();
    m_window.startS = w.endS;
    return w;
}

void MetricsScraper::scrape()
{
    if (m_reply) { // the last one is still running: never two at once
        ++m_window.overruns;
        return;
    }
    QNetworkRequest request(m_options.url);
    request.setRawHeader("Accept", "text/plain;version=0.0.4");
    for (const auto& [name, value] : m_options.headers)
        request.setRawHeader(name, value);
    request.setTransferTimeout(m_options.timeoutMs > 0 ? m_options.timeoutMs : int(m_timer.interval()));
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
    QNetworkReply* reply = m_nam->get(request);
    m_reply = reply;
    m_sentAtS = nowS();
    connect(reply, &QNetworkReply::downloadProgress, this, [this, reply](qint64 received, qint64) {
        if (received > m_options.maxBytes && reply == m_reply) {
            m_reply = nullptr;
            reply->disconnect(this);
            reply->abort();
            reply->deleteLater();
            fail(QStringLiteral("the metrics page is larger than %1 bytes").arg(m_options.maxBytes));
        }
    });
    connect(reply, &QNetworkReply::finished, this, [this, reply] { finished(reply); });
}

void MetricsScraper::fail(const QString& why)
{
    ++m_window.failures;
    m_window.lastError = why;
    Q_EMIT scraped(false);
}

void MetricsScraper::finished(QNetworkReply* reply)
{
    reply->deleteLater();
    if (reply != m_reply)
        return;
    m_reply = nullptr;
    if (m_sentAtS < m_window.startS)
        return; // sent during the window before (the level before): it belongs to neither
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    // The reason goes into sessions and reports: the URL without user info or query (a ?token= stays here),
    // in Qt's error text too, which quotes the URL it fetched.
    const QString shown = m_options.url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery);
    if (reply->error() != QNetworkReply::NoError && status == 0) {
        QString why = reply->errorString();
        for (const QString& full : {m_options.url.toString(), QString::fromUtf8(m_options.url.toEncoded())})
            why.replace(full, shown);
        return fail(QStringLiteral("scraping %1: %2").arg(shown, why));
    }
    if (status != 200)
        return fail(QStringLiteral("scraping %1: HTTP %2").arg(shown).arg(status));
    const int before = m_window.scrapes;
    ingest(reply->readAll()); // counts a page that does not parse as a failure
    Q_EMIT scraped(m_window.scrapes > before);
}

void MetricsScraper::ingest(const QByteArray& body)
{
    // Only the names asked for are kept: a vLLM page holds hundreds of histogram buckets nobody here reads.
    std::set<QByteArray, std::less<>> wanted;
    for (const auto& [key, names] : knownQuantities())
        for (const QString& n : names)
            wanted.insert(n.toLatin1());
    for (const QString& n : m_options.extraNames)
        wanted.insert(n.toLatin1());
    wanted.insert(kTritonInferences);
    wanted.insert(kTritonExecutions);
    const PromText text = parsePrometheusText(body, [&](QByteArrayView name) { return wanted.find(name) != wanted.end(); });
    if (text.samples.empty() && text.badLines > 0) {
        m_window.failures += 1;
        m_window.lastError = QStringLiteral("the metrics page does not parse (%1 bad lines; %2)").arg(text.badLines).arg(text.firstError);
        return;
    }
    ++m_window.scrapes;
    std::map<QByteArray, double> sums; // each name summed over its label sets
    for (const PromSample& s : text.samples)
        sums[s.name] += s.value;
    auto take = [&](const QString& key, const QString& name) {
        const auto it = sums.find(name.toLatin1());
        if (it == sums.end())
            return false;
        MetricAggregate& a = m_window.metrics[key];
        a.source = name;
        a.add(it->second);
        return true;
    };
    bool batchGauge = false;
    for (const auto& [key, names] : knownQuantities())
        for (const QString& n : names)
            if (take(key, n)) {
                batchGauge = batchGauge || key == QLatin1String("batch_size");
                break;
            }
    for (const QString& n : m_options.extraNames)
        take(n, n);
    // Triton has no batch gauge: its average batch between two scrapes is Δinferences / Δexecutions.
    const auto inferences = sums.find(kTritonInferences), executions = sums.find(kTritonExecutions);
    if (inferences != sums.end() && executions != sums.end()) {
        if (m_tritonCounts && !batchGauge) {
            const double di = inferences->second - m_tritonCounts->first, de = executions->second - m_tritonCounts->second;
            if (de > 0 && di >= 0) {
                MetricAggregate& a = m_window.metrics[QStringLiteral("batch_size")];
                a.source = QStringLiteral("nv_inference_count / nv_inference_exec_count");
                a.add(di / de);
            }
        }
        m_tritonCounts = std::pair{inferences->second, executions->second};
    }
}

} // namespace knee::net
