#include "engine_server.h"

#include "live/live_clock.h"
#include "live/live_run.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QEventLoop>
#include <QThread>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMetaObject>

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace knee::net {

namespace {

constexpr int kMaxTokens = 100'000;
constexpr const char* kWords[] = {"the", "knee", "of", "the", "curve", "is", "where", "latency", "climbs"};

// The text of tokens [from, to): one word per token.
QByteArray words(int from, int to)
{
    QByteArray out;
    for (int i = from; i < to; ++i) {
        if (i > 0)
            out += ' ';
        out += kWords[std::size_t(i) % std::size(kWords)];
    }
    return out;
}

QByteArray jsonString(const QString& s)
{
    const QByteArray a = QJsonDocument(QJsonArray{s}).toJson(QJsonDocument::Compact); // ["…"]
    return a.mid(1, a.size() - 2);
}

QByteArray errorJson(const QByteArray& message, const QByteArray& type)
{
    return R"({"error": {"message": )" + jsonString(QString::fromUtf8(message)) + R"(, "type": ")" + type + R"("}})";
}

} // namespace

// Everything that touches the engine, on the engine thread (as LiveEngineHost's LiveWorker).
class ServeWorker : public QObject {
public:
    ServeWorker(EngineServer& server, const Scenario& scenario, const PredictBackendInfo* backend)
        : m_server(server)
        , m_scenario(scenario)
        , m_backend(backend)
    {
    }

    void start()
    {
        // With a model profile, every predict call is a forward pass on the real backend (the GPU, or
        // the CPU where there is none), as in the window's live runs.
        m_run = std::make_unique<LiveRun>(m_scenario, m_backend);
        m_run->engine().setObserver([this](const Request& r) { ended(r); });
        m_run->engine().setTokenObserver([this](const Request& r) { token(r); });
        m_run->start(/*load=*/false); // the HTTP clients are the load
    }

    void submit(std::uint64_t ticket, int tokens, bool wantsTokens)
    {
        m_run->act([&](Engine& e) { // the request arrives now, after everything already due
            m_submitting = ticket;
            m_endedWhileSubmitting = false;
            const std::uint64_t id = e.submit(m_run->clock().wallNow(), std::nullopt, tokens);
            if (!m_endedWhileSubmitting) // a rejection ends the request inside submit()
                m_tickets.emplace(id, Ticket{ticket, wantsTokens});
            m_submitting = 0;
        });
    }

    // A scrape: the engine's state into the metrics (engine thread), then back to the server to answer.
    void refreshMetrics(const std::shared_ptr<HttpExchange>& exchange)
    {
        if (m_run) {
            m_run->clock().catchUp(); // the state as of now, not as of the last event
            m_server.m_metrics.setEngine(m_run->engine().snapshot());
        }
        EngineServer* s = &m_server;
        QMetaObject::invokeMethod(s, [s, exchange] { s->answerScrape(exchange); }, Qt::QueuedConnection);
    }

    void shutdown()
    {
        if (!m_run) {
            thread()->quit();
            return;
        }
        connect(m_run.get(), &LiveRun::stopped, this, [this] { thread()->quit(); });
        m_run->stop(); // undelivered results are dropped; the device's calls in flight end on Qt's pool
    }

private:
    struct Ticket {
        std::uint64_t ticket = 0;
        bool wantsTokens = false;
    };

    void ended(const Request& r)
    {
        std::uint64_t ticket = 0;
        if (auto it = m_tickets.find(r.id); it != m_tickets.end()) {
            ticket = it->second.ticket;
            m_tickets.erase(it);
        } else if (m_submitting) {
            ticket = m_submitting;
            m_endedWhileSubmitting = true;
        } else {
            return;
        }
        m_server.m_metrics.observe(r); // thread-safe; the same requests requestEnded() counts
        const int outcome = int(r.outcome), tokens = r.tokens;
        const double latencyMs = nanosToMs(r.latency());
        EngineServer* s = &m_server;
        QMetaObject::invokeMethod(s, [s, ticket, outcome, tokens, latencyMs] { s->requestEnded(ticket, outcome, tokens, latencyMs); },
                                  Qt::QueuedConnection);
    }

    void token(const Request& r)
    {
        const auto it = m_tickets.find(r.id);
        if (it == m_tickets.end() || !it->second.wantsTokens)
            return;
        const std::uint64_t ticket = it->second.ticket;
        const int emitted = r.tokens - r.tokensLeft;
        EngineServer* s = &m_server;
        QMetaObject::invokeMethod(s, [s, ticket, emitted] { s->tokenEmitted(ticket, emitted); }, Qt::QueuedConnection);
    }

    EngineServer& m_server;
    Scenario m_scenario;
    const PredictBackendInfo* m_backend;
    std::unique_ptr<LiveRun> m_run;
    std::unordered_map<std::uint64_t, Ticket> m_tickets; // engine request id → HTTP ticket
    std::uint64_t m_submitting = 0;
    bool m_endedWhileSubmitting = false;
};

EngineServer::EngineServer(const Scenario& scenario, const PredictBackendInfo* backend, const HttpServerLimits& limits, QObject* parent)
    : QObject(parent)
    , m_scenario(scenario)
    , m_http(new HttpServer([this](const HttpRequest& r, const std::shared_ptr<HttpExchange>& e) { handle(r, e); }, limits, this))
    , m_continuous(scenario.model.batching.mode == BatchingConfig::Mode::Continuous)
{
    if (const std::string e = scenario.validate(); !e.empty())
        throw std::invalid_argument(e);
    if (const std::string e = LiveRun::missingBackend(scenario, backend != nullptr); !e.empty())
        throw std::invalid_argument(e); // here, on the caller's thread, not from the engine thread's start
    std::promise<ServeWorker*> ready;
    std::promise<void> loopEnded;
    m_loopEnded = loopEnded.get_future();
    m_thread = std::thread([this, backend, &ready, ended = std::move(loopEnded)]() mutable {
        QThread::currentThread()->setObjectName(QStringLiteral("knee-serve-engine"));
        {
            ServeWorker worker(*this, m_scenario, backend);
            QEventLoop loop; // ended by the worker's thread()->quit()
            ready.set_value(&worker);
            loop.exec();
            std::lock_guard lock(m_workerMutex);
            m_workerGone = true; // what was posted to it and not run goes with it
        }
        // What the run deleteLater()ed on this thread: a QThread's end does this itself.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        ended.set_value();
    });
    m_worker = ready.get_future().get();
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->start(); }, Qt::QueuedConnection);
    m_uptime.start();
}

EngineServer::~EngineServer()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->shutdown(); }, Qt::QueuedConnection);
    if (m_loopEnded.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        // The run did not say it stopped: end the loop anyway (the worker's destructor stops the run).
        std::lock_guard lock(m_workerMutex);
        if (!m_workerGone)
            QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->thread()->quit(); }, Qt::QueuedConnection);
    }
    m_thread.join();
}

QString EngineServer::listen(const QHostAddress& address, quint16 port) { return m_http->listen(address, port); }

ServeStats EngineServer::stats() const
{
    ServeStats s = m_stats;
    s.badRequests = m_http->stats().badRequests;
    s.connections = m_http->stats().connections;
    return s;
}

void EngineServer::shutdown(int graceMs)
{
    if (m_shuttingDown)
        return;
    m_shuttingDown = true;
    m_graceMs = graceMs;
    m_shutdownClock.start();
    m_http->drain();
    connect(&m_shutdownPoll, &QTimer::timeout, this, &EngineServer::checkShutdown);
    m_shutdownPoll.start(20);
    checkShutdown();
}

void EngineServer::checkShutdown()
{
    if (m_stopped)
        return;
    if (!m_graceOver && m_shutdownClock.elapsed() >= m_graceMs) {
        // Time is up for what is still in the engine (an answer now beats a silent close), and for
        // clients slow to take their last answers (only the flush's time is left for them).
        m_graceOver = true;
        m_shutdownClock.restart(); // now the flush's
        for (auto& [ticket, p] : m_pending) {
            ++m_stats.unfinishedAtStop;
            if (!p.exchange->open())
                continue;
            if (p.exchange->streaming()) { // its status went out with the first token
                p.exchange->writeChunk("data: " + errorJson("knee serve is shutting down", "server_error") + "\n\n");
                p.exchange->cut();
            } else {
                answer(p.exchange, 503, errorJson("knee serve is shutting down", "unavailable"), p.handler());
            }
        }
        m_pending.clear(); // the engine's late word on them is dropped (requestEnded finds no ticket)
    }
    const bool answered = m_pending.empty() && m_http->openConnections() == 0;
    if (answered || (m_graceOver && m_shutdownClock.elapsed() >= kFlushMs)) {
        m_stopped = true;
        m_shutdownPoll.stop();
        Q_EMIT stopped();
    }
}

QJsonObject EngineServer::statsJson() const
{
    const ServeStats s = stats();
    QJsonObject byStatus;
    for (const auto& [status, count] : s.byStatus)
        byStatus.insert(QString::number(status), qint64(count));
    const HttpServerStats& h = m_http->stats();
    return {{"requests", qint64(s.requests)},           {"completed", qint64(s.completed)},
            {"failed", qint64(s.failed)},               {"rejected", qint64(s.rejected)},
            {"bad_requests", qint64(s.badRequests)},    {"connections", qint64(s.connections)},
            {"gone_before_answer", qint64(s.goneBeforeAnswer)}, {"by_status", byStatus},
            {"in_flight", qint64(m_pending.size())},    {"uptime_s", double(m_uptime.elapsed()) / 1000.0},
            {"unfinished_at_stop", qint64(s.unfinishedAtStop)},
            {"timed_out", qint64(h.timedOut)},          {"closed_idle", qint64(h.closedIdle)},
            {"cut_unread", qint64(h.cutUnread)},        {"accept_errors", qint64(h.acceptErrors)},
            {"open_connections", m_http->openConnections()}, {"buffered_bytes", m_http->bufferedBytes()}};
}

void EngineServer::countStatus(ServeMetrics::Handler handler, int status)
{
    ++m_stats.byStatus[status];
    m_metrics.countAnswer(handler, status);
}

void EngineServer::answer(const std::shared_ptr<HttpExchange>& exchange, int status, const QByteArray& json, ServeMetrics::Handler handler)
{
    countStatus(handler, status);
    exchange->respondJson(status, json);
}

void EngineServer::scrape(const std::shared_ptr<HttpExchange>& exchange)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, exchange] { w->refreshMetrics(exchange); }, Qt::QueuedConnection);
}

void EngineServer::answerScrape(const std::shared_ptr<HttpExchange>& exchange)
{
    if (!exchange->open())
        return;
    m_metrics.setHttp(int(m_pending.size()), m_http->openConnections(), m_http->stats());
    if (m_gpus)
        m_metrics.setGpus(m_gpus->available(), m_gpus->latest());
    else
        m_metrics.setGpus(false, {});
    countStatus(ServeMetrics::Handler::Metrics, 200); // before rendering: this scrape is in its own answer
    exchange->respond(200, ServeMetrics::kContentType, m_metrics.render());
}

void EngineServer::handle(const HttpRequest& request, const std::shared_ptr<HttpExchange>& exchange)
{
    ++m_stats.requests;
    const QByteArray path = request.path();
    const bool predict = path == "/predict", chat = path == "/v1/chat/completions";
    if (path == "/metrics") {
        if (request.method != "GET")
            return answer(exchange, 405, errorJson("use GET", "invalid_request_error"), ServeMetrics::Handler::Metrics);
        return scrape(exchange);
    }
    if (path == "/health") {
        using H = ServeMetrics::Handler;
        if (request.method != "GET")
            return answer(exchange, 405, errorJson("use GET", "invalid_request_error"), H::Health);
        return answer(exchange, 200,
                      QJsonDocument(QJsonObject{{"status", "ok"},
                                                {"scenario", QString::fromStdString(m_scenario.name)},
                                                {"streams_tokens", m_continuous},
                                                {"in_flight", qint64(m_pending.size())},
                                                {"open_connections", m_http->openConnections()},
                                                {"buffered_bytes", m_http->bufferedBytes()},
                                                {"accept_errors", qint64(m_http->stats().acceptErrors)}})
                          .toJson(QJsonDocument::Compact),
                      H::Health);
    }
    if (!predict && !chat)
        return answer(exchange, 404, errorJson("no such endpoint: POST /predict, POST /v1/chat/completions, GET /health, GET /metrics", "invalid_request_error"));
    const ServeMetrics::Handler handler = chat ? ServeMetrics::Handler::ChatCompletions : ServeMetrics::Handler::Predict;
    if (request.method != "POST")
        return answer(exchange, 405, errorJson("use POST", "invalid_request_error"), handler);

    QJsonObject body;
    if (!request.body.trimmed().isEmpty() || chat) {
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(request.body, &pe);
        if (pe.error != QJsonParseError::NoError || !doc.isObject())
            return answer(exchange, 400, errorJson("the body must be a JSON object", "invalid_request_error"), handler);
        body = doc.object();
    }
    Pending p;
    p.exchange = exchange;
    p.openai = chat;
    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
        const QJsonValue v = body.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            continue;
        const double d = v.toDouble(-1);
        if (!v.isDouble() || d < 1 || d > kMaxTokens || d != std::floor(d))
            return answer(exchange, 400, errorJson(QByteArray(key) + " must be a whole number from 1 to 100000", "invalid_request_error"), handler);
        p.maxTokens = int(d);
    }
    if (chat) {
        const QJsonValue messages = body.value("messages");
        if (!messages.isArray() || messages.toArray().isEmpty())
            return answer(exchange, 400, errorJson("messages must be a non-empty list", "invalid_request_error"), handler);
        for (const QJsonValue& m : messages.toArray())
            p.promptTokens += int(m.toObject().value("content").toString().split(QLatin1Char(' '), Qt::SkipEmptyParts).size());
        const QJsonValue stream = body.value("stream");
        if (!stream.isUndefined() && !stream.isNull() && !stream.isBool())
            return answer(exchange, 400, errorJson("stream must be true or false", "invalid_request_error"), handler);
        p.stream = stream.toBool(false);
        p.includeUsage = body.value("stream_options").toObject().value("include_usage").toBool(false);
        p.model = jsonString(body.value("model").toString(QStringLiteral("knee")));
    }
    submit(m_nextTicket++, std::move(p));
}

void EngineServer::submit(std::uint64_t ticket, Pending pending)
{
    const int tokens = pending.maxTokens;
    const bool wantsTokens = pending.stream && m_continuous;
    m_pending.emplace(ticket, std::move(pending));
    QMetaObject::invokeMethod(m_worker, [w = m_worker, ticket, tokens, wantsTokens] { w->submit(ticket, tokens, wantsTokens); },
                              Qt::QueuedConnection);
}

QByteArray EngineServer::chunk(std::uint64_t ticket, const Pending& p, const QByteArray& delta, const char* finishReason) const
{
    return "data: {\"id\":\"chatcmpl-" + QByteArray::number(qulonglong(ticket))
        + "\",\"object\":\"chat.completion.chunk\",\"created\":" + QByteArray::number(QDateTime::currentSecsSinceEpoch())
        + ",\"model\":" + p.model + ",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":"
        + (finishReason ? "\"" + QByteArray(finishReason) + "\"" : QByteArray("null")) + "}]}\n\n";
}

void EngineServer::tokenEmitted(std::uint64_t ticket, int emitted)
{
    const auto it = m_pending.find(ticket);
    if (it == m_pending.end() || !it->second.exchange->open())
        return;
    Pending& p = it->second;
    // Headers go with the first token, so a request that fails before it still gets a plain 500.
    if (!p.exchange->streaming())
        p.exchange->startStream(200, "text/event-stream");
    for (; p.sentTokens < emitted; ++p.sentTokens) {
        const QByteArray text = jsonString(QString::fromLatin1(words(p.sentTokens, p.sentTokens + 1)));
        const QByteArray delta = p.sentTokens == 0 ? "{\"role\":\"assistant\",\"content\":" + text + "}" : "{\"content\":" + text + "}";
        p.exchange->writeChunk(chunk(ticket, p, delta, nullptr));
    }
}

void EngineServer::requestEnded(std::uint64_t ticket, int outcome, int tokens, double latencyMs)
{
    const auto it = m_pending.find(ticket);
    if (it == m_pending.end())
        return;
    Pending p = std::move(it->second);
    m_pending.erase(it);
    m_metrics.countOutcome(Outcome(outcome));
    switch (Outcome(outcome)) {
    case Outcome::Completed: ++m_stats.completed; break;
    case Outcome::Failed: ++m_stats.failed; break;
    case Outcome::Rejected: ++m_stats.rejected; break;
    case Outcome::InFlight: break;
    }
    if (!p.exchange->open()) {
        ++m_stats.goneBeforeAnswer;
        return;
    }
    if (Outcome(outcome) == Outcome::Rejected)
        return answer(p.exchange, 503, errorJson("the deployment queue is full (queue_limit)", "overloaded"), p.handler());
    if (Outcome(outcome) != Outcome::Completed) {
        if (p.exchange->streaming()) { // the status went out with the first token: say so in the stream, then stop short
            countStatus(p.handler(), 200);
            p.exchange->writeChunk("data: " + errorJson("predict failed", "server_error") + "\n\n");
            p.exchange->cut();
            return;
        }
        return answer(p.exchange, 500, errorJson("predict failed", "server_error"), p.handler());
    }
    const int n = m_continuous ? tokens : p.maxTokens; // only continuous batching models response lengths
    if (!p.openai)
        return answer(p.exchange, 200,
                      "{\"id\":" + QByteArray::number(qulonglong(ticket)) + ",\"output\":\"" + words(0, n) + "\",\"tokens\":"
                          + QByteArray::number(n) + ",\"latency_ms\":" + QByteArray::number(latencyMs, 'f', 3) + "}",
                      p.handler());
    const QByteArray usage = "{\"prompt_tokens\":" + QByteArray::number(p.promptTokens) + ",\"completion_tokens\":" + QByteArray::number(n)
        + ",\"total_tokens\":" + QByteArray::number(p.promptTokens + n) + "}";
    if (!p.stream)
        return answer(p.exchange, 200,
                      "{\"id\":\"chatcmpl-" + QByteArray::number(qulonglong(ticket)) + "\",\"object\":\"chat.completion\",\"created\":"
                          + QByteArray::number(QDateTime::currentSecsSinceEpoch()) + ",\"model\":" + p.model
                          + ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + words(0, n)
                          + "\"},\"finish_reason\":\"length\"}],\"usage\":" + usage + "}",
                      p.handler());
    countStatus(p.handler(), 200);
    if (!p.exchange->streaming())
        p.exchange->startStream(200, "text/event-stream");
    if (p.sentTokens < n) // a model without a decode loop: the whole content in one chunk
        p.exchange->writeChunk(chunk(ticket, p,
                                     (p.sentTokens == 0 ? "{\"role\":\"assistant\",\"content\":\"" : "{\"content\":\"")
                                         + words(p.sentTokens, n) + "\"}",
                                     nullptr));
    p.exchange->writeChunk(chunk(ticket, p, "{}", "length"));
    if (p.includeUsage)
        p.exchange->writeChunk("data: {\"id\":\"chatcmpl-" + QByteArray::number(qulonglong(ticket))
                               + "\",\"object\":\"chat.completion.chunk\",\"model\":" + p.model + ",\"choices\":[],\"usage\":" + usage + "}\n\n");
    p.exchange->writeChunk("data: [DONE]\n\n");
    p.exchange->endStream();
}

} // namespace knee::net
