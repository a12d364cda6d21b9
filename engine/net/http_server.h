// A minimal HTTP/1.1 server on QTcpServer, for `knee serve` and for tests' fault-injecting servers.
//
// Why not QHttpServer: Qt 6.4's QHttpServer answers each request with one whole QHttpServerResponse;
// it cannot send a chunked body piece by piece, so it cannot stream server-sent events (OpenAI's
// `stream: true`) as tokens are produced. This server does only what knee needs: keep-alive,
// Content-Length request bodies (no chunked uploads), Content-Length or chunked responses, limits on
// request size, 400 for anything malformed, and one request at a time per connection (pipelined
// requests wait their turn, in order).
#pragma once
#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPair>
#include <QPointer>

#include <functional>
#include <memory>

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
};

class HttpServer : public QObject {
    Q_OBJECT
public:
    using Handler = std::function<void(const HttpRequest&, const std::shared_ptr<HttpExchange>&)>;
    static constexpr qsizetype kMaxHeaderBytes = 16 * 1024;
    static constexpr qsizetype kMaxBodyBytes = 1024 * 1024;

    explicit HttpServer(Handler handler, QObject* parent = nullptr);
    ~HttpServer() override;
    // Empty when listening, else why not (e.g. the port is in use).
    QString listen(const QHostAddress& address, quint16 port);
    quint16 port() const;
    QHostAddress address() const;
    const HttpServerStats& stats() const { return m_stats; }

private:
    friend class HttpConnection;
    void accept();

    Handler m_handler;
    QTcpServer* m_server;
    HttpServerStats m_stats;
};

QByteArray httpStatusText(int status);

} // namespace knee::net
