// Scrapes a model server's Prometheus /metrics once a period (a second by default) during a measurement
// and keeps per-window aggregates (samples, mean, min, max, last) of what the server says about itself:
// requests running and waiting, KV-cache usage and batch size, under the names vLLM, TGI, SGLang, Triton
// and knee serve use, plus any metric the user names. A sweep opens a window per level (takeWindow() at
// the level's start and end): the level's figures beside its latency.
//
// The names, by quantity (the first one a scrape holds wins; each is summed over its label sets, e.g.
// several models or engines):
//   requests_running  vllm:num_requests_running, sglang:num_running_reqs, tgi_batch_current_size,
//                     knee_requests_held
//   requests_waiting  vllm:num_requests_waiting, sglang:num_queue_reqs, tgi_queue_size,
//                     nv_inference_pending_request_count (Triton), knee_deployment_queue_requests
//   kv_cache_usage    vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc (its older name), sglang:token_usage
//                     (all a share, 0-1, whatever "perc" says)
//   batch_size        tgi_batch_current_size; Triton: Δnv_inference_count / Δnv_inference_exec_count between
//                     two scrapes (its documented average batch). vLLM and SGLang batch continuously: their
//                     batch is requests_running.
// Where they come from: vLLM's docs (docs.vllm.ai, "Production Metrics", and vllm/v1/metrics: gpu_cache_usage_perc
// deprecated for kv_cache_usage_perc); TGI's docs (huggingface.co/docs/text-generation-inference/reference/metrics:
// tgi_batch_current_size "Current batch size", tgi_queue_size "Current queue size"); SGLang's
// docs/references/production_metrics.md (sglang:num_running_reqs, sglang:num_queue_reqs, sglang:token_usage);
// Triton's docs/user_guide/metrics.md (nv_inference_count / nv_inference_exec_count = average batch size;
// nv_inference_pending_request_count, its pending-request gauge).
//
// Scraping runs on the thread that owns the scraper (the sweep's); a scrape still running when the next is
// due is not doubled (overruns counts it), and one sent before its window began counts in no window. A scrape that fails (refused, timeout, not 200, too large, no
// sample parses) counts in failures with its reason, and the sweep goes on.
#pragma once
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QStringList>
#include <QTimer>
#include <QUrl>

#include <map>
#include <optional>

class QNetworkAccessManager;
class QNetworkReply;

namespace knee::net {

struct PromText;

struct MetricAggregate {
    QString source; // the metric it was read from (for a known quantity, the name the server uses)
    std::int64_t samples = 0;
    double mean = 0, min = 0, max = 0, last = 0;
    void add(double v);
};

// What one window saw. Keys of `metrics`: requests_running, requests_waiting, kv_cache_usage, batch_size
// (when the server reports them) and each name the user asked for (when present).
struct ScrapeWindow {
    double startS = 0, endS = 0; // on the scraper's clock: seconds since it was made
    int scrapes = 0;             // scrapes that returned samples
    int failures = 0, overruns = 0;
    QString lastError;
    std::map<QString, MetricAggregate> metrics;
};

struct ScraperOptions {
    QUrl url;               // the target's /metrics
    QStringList extraNames; // metric names the user asks for, kept under their own name
    int periodMs = 1000;
    int timeoutMs = 0;      // 0: the period
    qint64 maxBytes = 16 * 1024 * 1024; // a bigger page is a failure, not a memory hog
    QList<QPair<QByteArray, QByteArray>> headers;
    QString validate() const; // empty when usable
};

class MetricsScraper : public QObject {
    Q_OBJECT
public:
    static constexpr int kMinPeriodMs = 100;
    static constexpr int kMaxPeriodMs = 60'000;
    explicit MetricsScraper(ScraperOptions options, QObject* parent = nullptr);
    ~MetricsScraper() override;

    // The /metrics URL beside an endpoint: same scheme, host and port.
    static QUrl metricsUrlFor(const QUrl& endpoint);
    // The names a quantity is read from, in priority order (see the header's list).
    static const std::vector<std::pair<QString, QStringList>>& knownQuantities();

    void start(); // scrapes at once, then every period
    void stop();  // a scrape in flight is aborted (and not counted)
    bool running() const { return m_timer.isActive(); }

    ScrapeWindow window() const; // the current window so far
    ScrapeWindow takeWindow();   // the current window; a new one starts now
    double nowS() const { return double(m_clock.nsecsElapsed()) / 1e9; }

    // Folds one page into the current window (what a scrape does with its body; for tests and benchmarks).
    void ingest(const QByteArray& body);

Q_SIGNALS:
    void scraped(bool ok); // after each scrape

private:
    void scrape();
    void finished(QNetworkReply* reply);
    void fail(const QString& why);

    ScraperOptions m_options;
    QNetworkAccessManager* m_nam;
    QPointer<QNetworkReply> m_reply;
    double m_sentAtS = 0; // when m_reply was sent
    QTimer m_timer;
    QElapsedTimer m_clock;
    ScrapeWindow m_window;
    std::optional<std::pair<double, double>> m_tritonCounts; // the last scrape's inference and execution counts
};

} // namespace knee::net
