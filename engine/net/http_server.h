// A minimal HTTP/1.1 server on QTcpServer, for `knee serve` and for tests' fault-injecting servers.
//
// Why not QHttpServer: Qt 6.4's QHttpServer answers each request with one whole QHttpServerResponse;
// it cannot send a chunked body piece by piece, so it cannot stream server-sent events (OpenAI's
// `stream: true`) as tokens are produced. This server does only what knee needs: keep-alive,
// Content-Length request bodies (no chunked uploads), Content-Length or chunked responses, limits on
// request size, 400 for anything malformed, and one request at a time per connection (pipelined
// requests wait their turn, in order).
//
// Every connection is bounded, whatever its client does (http_connection.h says how): at most one
// whole request is buffered beyond the one in progress, no request starts while more than
// kMaxQueuedOutputBytes of answers wait unsent, and a client that leaves more than maxUnsentBytes
// unread is cut. Timeouts (HttpServerLimits) close connections whose head or body does not arrive,
// that sit idle, or whose client stops reading. When accept() fails (descriptors exhausted: EMFILE),
// the server pauses accepting briefly and tries again, answering its open connections meanwhile.
// (It accepts by itself, on QTcpServer's listening socket: Qt 6.4's own loop takes EMFILE for a
// temporary error and retries at once, spinning a core while no client gets in.)
#pragma once
#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPair>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <memory>
#include <set>

class QSocketNotifier;
class QTcpServer;
class QTcpSocket;

namespace knee::net {

struct HttpRequest {
    QByteArray method, target, version;           // "POST", "/v1/chat/completions", "HTTP/1.1"
    QList<QPair<QByteArray, QByteArray>> headers; // names in lower case
    QByteArray body;
    QByteArray header(const QByteArray& lowerName) const;
    QByteArray path() const { return target.contains('?') ? target.left(target.indexOf('?')) : target; }
};

class HttpConnection;

// The answer to one request. Handlers may answer at once or later (after the engine finishes), and
// stream. Once the client has gone, writes are dropped; open() says whether anyone is listening.
class HttpExchange {
public:
    explicit HttpExchange(HttpConnection* connection);
    bool open() const;
    bool answered() const { return m_state == State::Done; }
    bool streaming() const { return m_state == State::Streaming; }
    void respond(int status, const QByteArray& contentType, const QByteArray& body,
                 const QList<QPair<QByteArray, QByteArray>>& extraHeaders = {});
    void respondJson(int status, const QByteArray& json) { respond(status, "application/json", json); }
    void startStream(int status, const QByteArray& contentType); // chunked
    void writeChunk(const QByteArray& data);
    void endStream();
    // Drops the connection at once, mid-answer if need be (a cut-off stream, for tests; or a failure
    // after a stream began, which cannot change its status any more).
    void cut();

private:
    enum class State { Pending, Streaming, Done };
    QPointer<HttpConnection> m_connection;
    State m_state = State::Pending;
};

struct HttpServerStats {
    std::int64_t connections = 0, requests = 0, badRequests = 0;
    std::int64_t timedOut = 0;     // 408: a request's head or body did not arrive in time
    std::int64_t closedIdle = 0;   // keep-alive connections closed after the idle timeout (or silent ones after the header timeout)
    std::int64_t cutUnread = 0;    // clients that stopped reading their answers (too many bytes unsent, or none taken in time)
    std::int64_t acceptErrors = 0; // accept() failures (descriptors exhausted), each followed by a pause
};

// How long a connection may take, and how much it may leave unread (`knee serve` flags set them).
struct HttpServerLimits {
    int headerTimeoutMs = 10'000; // a request's head, from its first byte (a new connection's: from the accept)
    int bodyTimeoutMs = 30'000;   // a request's body, from the end of its head
    int idleTimeoutMs = 30'000;   // a keep-alive connection with nothing to do; also a client that takes none of its answers' bytes
    qsizetype maxUnsentBytes = 8 * 1024 * 1024; // answers left unread beyond this: the client is cut
};

class HttpServer : public QObject {
    Q_OBJECT
public:
    using Handler = std::function<void(const HttpRequest&, const std::shared_ptr<HttpExchange>&)>;
    static constexpr qsizetype kMaxHeaderBytes = 16 * 1024;
    static constexpr qsizetype kMaxBodyBytes = 1024 * 1024;
    // While more than this waits unsent on a connection, its next request waits (pipelining's bound).
    static constexpr qsizetype kMaxQueuedOutputBytes = 256 * 1024;
    static constexpr int kAcceptRetryMs = 100; // after accept() failed: long enough not to spin, short for clients

    explicit HttpServer(Handler handler, QObject* parent = nullptr);
    HttpServer(Handler handler, HttpServerLimits limits, QObject* parent = nullptr);
    ~HttpServer() override;
    // Empty when listening, else why not (e.g. the port is in use).
    QString listen(const QHostAddress& address, quint16 port);
    quint16 port() const;
    QHostAddress address() const;
    const HttpServerStats& stats() const { return m_stats; }
    const HttpServerLimits& limits() const { return m_limits; }
    int openConnections() const { return int(m_connections.size()); }
    // Bytes held for clients now: requests read but not yet handled, and answers not yet sent.
    qint64 bufferedBytes() const;

    // Shutting down: stop accepting; connections close once their answer in progress is sent (now,
    // for those with none), and answers say Connection: close.
    void drain();
    bool draining() const { return m_draining; }

private:
    friend class HttpConnection;
    void accept();

    Handler m_handler;
    HttpServerLimits m_limits;
    QTcpServer* m_server; // binds and listens; the sockets are its children
    QSocketNotifier* m_acceptNotifier = nullptr;
    QTimer m_resumeAccepting;
    HttpServerStats m_stats;
    std::set<HttpConnection*> m_connections;
    bool m_draining = false;
};

QByteArray httpStatusText(int status);

} // namespace knee::net
