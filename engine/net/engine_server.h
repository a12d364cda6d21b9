// The engine as an HTTP endpoint (`knee serve`): each request becomes one request submitted to a
// live engine (its own thread, paced to the wall by a LiveClock), answered when the engine finishes
// it. Endpoints:
//   POST /predict               generic JSON: {"max_tokens": N} optional → {"id", "output", "tokens", "latency_ms"}
//   POST /v1/chat/completions   OpenAI-compatible; "stream": true answers with chat.completion.chunk
//                               server-sent events, one per token for continuous-batching models (the
//                               whole content in one chunk otherwise), then data: [DONE]
//   GET  /health                {"status": "ok", …}
//   GET  /metrics               Prometheus text format 0.0.4 (serve_metrics.h lists the families)
// A failed request answers 500, a rejected one (deployment queue full) 503, both with a JSON error.
// The scenario's workload and knob changes are not run: the HTTP clients are the load.
// shutdown() drains: no new connections or requests, those in flight finish (for a bounded time, then
// they are answered 503 or their stream is cut), and stopped() says when the last answer has gone.
#pragma once
#include "http_server.h"
#include "serve_metrics.h"

#include "sim/scenario.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QTimer>

#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace knee {
struct PredictBackendInfo;
}

namespace knee::net {

class ServeWorker;

struct ServeStats {
    std::int64_t requests = 0, completed = 0, failed = 0, rejected = 0, badRequests = 0, connections = 0;
    std::int64_t goneBeforeAnswer = 0; // clients that left before their answer
    std::int64_t unfinishedAtStop = 0; // still in the engine when the drain's time ran out (answered 503, or cut)
    std::map<int, std::int64_t> byStatus;
};

class EngineServer : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultMaxTokens = 16;
    static constexpr int kFlushMs = 1000; // after the drain: longest wait for the last answers to go out
    // `backend` runs a model profile's predict (the caller's; it outlives the server); null with a
    // profile, or a scenario that does not validate, throws std::invalid_argument.
    EngineServer(const Scenario& scenario, const PredictBackendInfo* backend, const HttpServerLimits& limits = {},
                 QObject* parent = nullptr);
    ~EngineServer() override;

    QString listen(const QHostAddress& address, quint16 port); // empty = listening
    quint16 port() const { return m_http->port(); }
    QHostAddress address() const { return m_http->address(); }
    ServeStats stats() const;
    QJsonObject statsJson() const;
    int inFlight() const { return int(m_pending.size()); }

    // GPU telemetry for /metrics (not owned; null: none). Set before listen().
    void setGpuSampler(const telemetry::GpuSampler* sampler) { m_gpus = sampler; }
    // The exposition text /metrics answers, without its engine part (that comes from the engine thread at
    // a scrape): for tests and for `knee serve`'s summary.
    QByteArray metricsText() const { return m_metrics.render(); }

    // Stops taking requests and waits up to `graceMs` for those in flight; then answers what is left
    // 503 (cuts a stream) and waits up to kFlushMs for the answers to be sent. Emits stopped() once.
    void shutdown(int graceMs);
Q_SIGNALS:
    void stopped();

private:
    friend class ServeWorker;
    struct Pending {
        std::shared_ptr<HttpExchange> exchange;
        bool openai = false, stream = false, includeUsage = false;
        int maxTokens = kDefaultMaxTokens, promptTokens = 0, sentTokens = 0;
        QByteArray model;
        ServeMetrics::Handler handler() const { return openai ? ServeMetrics::Handler::ChatCompletions : ServeMetrics::Handler::Predict; }
    };
    void handle(const HttpRequest& request, const std::shared_ptr<HttpExchange>& exchange);
    void answer(const std::shared_ptr<HttpExchange>& exchange, int status, const QByteArray& json,
                ServeMetrics::Handler handler = ServeMetrics::Handler::Other);
    void countStatus(ServeMetrics::Handler handler, int status);
    // GET /metrics: the engine's gauges are read on its thread, then the answer goes from this one.
    void scrape(const std::shared_ptr<HttpExchange>& exchange);
    void answerScrape(const std::shared_ptr<HttpExchange>& exchange);
    void submit(std::uint64_t ticket, Pending pending);
    // From the engine thread (queued): a token streamed, or the request ended.
    void tokenEmitted(std::uint64_t ticket, int emitted);
    void requestEnded(std::uint64_t ticket, int outcome, int tokens, double latencyMs);
    QByteArray chunk(std::uint64_t ticket, const Pending& p, const QByteArray& delta, const char* finishReason) const;
    void checkShutdown();

    Scenario m_scenario;
    HttpServer* m_http;
    // The engine thread: a std::thread running a Qt event loop (Qt adopts it), not a QThread. QThread's
    // threads are detached and its wait() returns before the thread's own exit has released Qt's data
    // for it, so a `knee serve` that returns from main right after could leave that release undone
    // (LeakSanitizer reported it in CI's ASan stage, and here in one run of eight); join() waits for the
    // thread's whole exit.
    std::thread m_thread;
    std::future<void> m_loopEnded;
    std::mutex m_workerMutex; // guards m_workerGone (the destructor's last post races the thread's end)
    bool m_workerGone = false;
    ServeWorker* m_worker = nullptr; // lives on m_thread, until its loop ends
    std::unordered_map<std::uint64_t, Pending> m_pending;
    std::uint64_t m_nextTicket = 1;
    ServeStats m_stats;
    ServeMetrics m_metrics; // thread-safe: the engine thread observes latencies into it
    const telemetry::GpuSampler* m_gpus = nullptr;
    QElapsedTimer m_uptime;
    bool m_continuous = false;
    // shutdown(): a poll until nothing is in flight and every connection has closed.
    QTimer m_shutdownPoll;
    QElapsedTimer m_shutdownClock;
    int m_graceMs = 0;
    bool m_shuttingDown = false, m_graceOver = false, m_stopped = false;
};

} // namespace knee::net
