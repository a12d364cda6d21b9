// Issues requests to an HttpTarget and measures each: latency from the moment it was meant to be
// sent (like the engine), and for OpenAI streams the time to first token, inter-token latency and
// tokens; every failure gets one kind (failure_kind.h). Coroutines (QCoro) on the thread that owns
// the client.
//
// Two transports share the measuring and the classification (response_meter.h):
//  - plain http:// goes over knee's own HTTP/1.1 client on QTcpSocket, on this thread, one
//    keep-alive connection per request in flight (http1_transport.h says why it exists);
//  - https:// goes over QNetworkAccessManager (TLS). Qt 6.4's QNAM opens at most 6 HTTP/1.1
//    connections per host and has no setting for it (QHttp1Configuration came in 6.5), so the client
//    spreads users over ceil(maxConnections / 6) managers.
// Either way a gate keeps at most maxConnections requests in flight.
#pragma once
#include "failure_kind.h"
#include "http_target.h"
#include "response_meter.h"

#include "base/time.h"

#include <QElapsedTimer>
#include <QObject>
#include <QSet>
#include <QString>

#include <qcoro/qcorotask.h>

#include <array>
#include <coroutine>
#include <deque>
#include <optional>
#include <vector>

class QNetworkAccessManager;
class QNetworkReply;

namespace knee::net {

class Http1Pool;

// Totals since the client was made: sent = ok + sum(failures) + aborted, once nothing is in flight.
struct HttpCounters {
    std::int64_t sent = 0, ok = 0, aborted = 0;
    std::array<std::int64_t, kFailureKindCount> failures{};
    std::int64_t failed() const;
};

enum class HttpTransport {
    Auto,   // Socket for http://, Qnam for https://; the environment variable KNEE_HTTP_TRANSPORT=qnam
            // forces QNAM for http:// too (to compare the two, e.g. bench/http/run_http_bench.sh)
    Socket, // knee's HTTP/1.1 client (http:// only; an https:// target still gets Qnam)
    Qnam,   // QNetworkAccessManager
};

class HttpClient : public QObject {
    Q_OBJECT
public:
    // `apiKey` (may be empty) goes in an Authorization: Bearer header, to the configured host only.
    HttpClient(HttpTarget target, QByteArray apiKey, QObject* parent = nullptr);
    HttpClient(HttpTarget target, QByteArray apiKey, HttpTransport transport, QObject* parent = nullptr);
    ~HttpClient() override;

    // Monotonic time on the client's clock (ns since the client was made).
    Nanos now() const { return m_clock.nsecsElapsed(); }
    // Sends one request meant to go at `intended` (≤ now()); `user` spreads users over connections.
    QCoro::Task<HttpOutcome> send(Nanos intended, int user = 0);
    // Ends every request in flight or waiting for a connection: they come back `aborted`.
    void abortAll();
    int inFlight() const { return m_inFlight; }
    // The transport in use: Socket or Qnam, never Auto.
    HttpTransport transport() const { return m_pool ? HttpTransport::Socket : HttpTransport::Qnam; }
    // Socket transport: TCP connections opened so far (keep-alive reuse keeps this low); -1 on QNAM.
    int connectionsOpened() const;

    const HttpCounters& counters() const { return m_counters; }
    const HttpTarget& target() const { return m_target; }
    // Only the configured scheme, host and port may see the key (a redirect elsewhere never does).
    bool mayCarryKey(const QUrl& url) const;

private:
    struct Waiter {
        std::coroutine_handle<> handle;
        bool* granted;
    };
    struct GateAwaiter {
        HttpClient* client;
        bool granted = false;
        bool await_ready();
        void await_suspend(std::coroutine_handle<> h) { client->m_waiting.push_back({h, &granted}); }
        bool await_resume() const { return granted; }
    };
    struct TransportResult {
        ExchangeFacts facts;
        QString errorText, timeoutPhase;
    };
    void releaseSlot();
    void resumeLater(std::coroutine_handle<> h);
    QByteArray socketRequestHead() const;
    QCoro::Task<> viaQnam(QByteArray body, int user, ResponseMeter& meter, TransportResult& result);

    HttpTarget m_target;
    QByteArray m_apiKey;
    QElapsedTimer m_clock;
    Http1Pool* m_pool = nullptr;       // Socket transport
    QByteArray m_requestHead;          // Socket transport: the request head up to Content-Length's value
    std::vector<QNetworkAccessManager*> m_managers; // Qnam transport
    QSet<QNetworkReply*> m_replies;
    std::deque<Waiter> m_waiting;
    int m_slotsTaken = 0;
    int m_inFlight = 0;
    std::uint64_t m_nextId = 0;
    std::uint64_t m_generation = 0; // bumped by abortAll()
    std::uint32_t m_random = 0x9e3779b9u;
    HttpCounters m_counters;
};

} // namespace knee::net
