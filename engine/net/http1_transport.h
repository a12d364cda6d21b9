// The fast path for plain http:// targets: a small HTTP/1.1 client on QTcpSocket that lives on the
// thread of the HttpClient that owns it, with one keep-alive connection per request in flight (at
// most maxConnections, since HttpClient's gate never lets more requests go at once).
//
// Why a hand-written client and not QNetworkAccessManager (measured, bench/http/run_http_bench.sh,
// `knee serve` with a fixed 10 ms service at 16 connections): over QNAM knee read p50 +17-29 % and
// p90 +28-40 % above wrk, and topped out at ~5.5k req/s where wrk reached 23-32k. QNAM does HTTP/1.1
// on a thread of its own and Qt 6.4 caps a manager at 6 connections per host, so HttpClient needed
// several managers: 70 % of the client's CPU went to those 6 threads, with ~3.5 context switches per
// request, as every request and every response crossed threads. On this transport knee reads within
// ~2 % of wrk at p50 and reaches ~21k req/s (the server's limit, pinned on its own core). TLS stays
// with QNAM: https:// targets are remote, where a thread hop is small next to the network.
//
// It does what measuring a model endpoint needs and nothing more: POST with a Content-Length body;
// responses with Content-Length, chunked or close-delimited bodies (SSE streams included); 1xx
// responses skipped; Connection: close honoured; one silent retry when a reused keep-alive connection
// turns out closed before any response byte (the server's idle close racing our request). No
// pipelining, redirects, compression, proxies or cookies. Every failure is reported as a
// QNetworkReply::NetworkError code in ExchangeFacts, so classifyTransport() gives both transports the
// same failure kinds.
#pragma once
#include "response_meter.h"

#include <QByteArray>
#include <QObject>
#include <QString>

#include <coroutine>
#include <functional>
#include <memory>
#include <vector>

namespace knee::net {

class Http1Connection;

// One request on the socket transport: the bytes to send, the meter that takes the response, and,
// once done, how it ended.
struct Http1Job {
    QByteArray request; // the whole request: head and body
    ResponseMeter* meter = nullptr;
    ExchangeFacts facts;
    QString errorText, timeoutPhase;
    // Completion: resumes `handle` unless it ended before the awaiting coroutine suspended.
    bool done = false, starting = false;
    std::coroutine_handle<> handle;
    void finish(QObject* deferTo); // deferTo: resume on the next pass of its thread's event loop
};

class Http1Pool : public QObject {
public:
    Http1Pool(const HttpTarget& target, std::function<Nanos()> clock, QObject* parent = nullptr);
    ~Http1Pool() override;

    // co_await pool->exchange(job): sends job.request on an idle connection (or a new one) and
    // resumes when the response is whole or the exchange failed.
    struct Awaiter {
        Http1Pool* pool;
        Http1Job* job;
        bool await_ready() const { return false; }
        bool await_suspend(std::coroutine_handle<> h);
        void await_resume() const {}
    };
    Awaiter exchange(Http1Job& job) { return {this, &job}; }

    // Ends every exchange in flight: they finish with OperationCanceledError.
    void abortAll();
    int connectionsOpened() const { return m_opened; } // connections made so far (reconnects included)

private:
    friend class Http1Connection;
    void release(Http1Connection* connection); // back to the idle list

    const HttpTarget& m_target;
    std::function<Nanos()> m_clock;
    std::vector<std::unique_ptr<Http1Connection>> m_connections;
    std::vector<Http1Connection*> m_idle, m_busy;
    int m_opened = 0;
};

} // namespace knee::net
