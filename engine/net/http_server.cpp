#include "http_server.h"

#include "http_connection.h"

#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

namespace knee::net {

QByteArray httpStatusText(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : "Error";
    }
}

QByteArray HttpRequest::header(const QByteArray& lowerName) const
{
    for (const auto& [name, value] : headers)
        if (name == lowerName)
            return value;
    return {};
}

HttpExchange::HttpExchange(HttpConnection* connection)
    : m_connection(connection)
{
}

bool HttpExchange::open() const { return m_connection && m_connection->alive() && m_state != State::Done; }

void HttpExchange::respond(int status, const QByteArray& contentType, const QByteArray& body,
                           const QList<QPair<QByteArray, QByteArray>>& extraHeaders)
{
    if (m_state != State::Pending)
        return;
    m_state = State::Done;
    if (!m_connection)
        return;
    QByteArray head = (m_connection->http10() ? "HTTP/1.0 " : "HTTP/1.1 ") + QByteArray::number(status) + ' ' + httpStatusText(status)
        + "\r\nServer: knee\r\nContent-Type: " + contentType + "\r\nContent-Length: " + QByteArray::number(body.size())
        + (m_connection->keepAlive() ? (m_connection->http10() ? "\r\nConnection: keep-alive" : "") : "\r\nConnection: close");
    for (const auto& [name, value] : extraHeaders)
        head += "\r\n" + name + ": " + value;
    m_connection->write(head + "\r\n\r\n" + body);
    m_connection->exchangeDone();
}

void HttpExchange::startStream(int status, const QByteArray& contentType)
{
    if (m_state != State::Pending)
        return;
    m_state = State::Streaming;
    if (!m_connection)
        return;
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    const bool http10 = m_connection->http10();
    m_connection->write((http10 ? "HTTP/1.0 " : "HTTP/1.1 ") + QByteArray::number(status) + ' ' + httpStatusText(status)
                        + "\r\nServer: knee\r\nContent-Type: " + contentType + "\r\nCache-Control: no-cache"
                        + (http10 ? "\r\nConnection: close" : "\r\nTransfer-Encoding: chunked")
                        + (m_connection->keepAlive() || http10 ? "" : "\r\nConnection: close") + "\r\n\r\n");
}

void HttpExchange::writeChunk(const QByteArray& data)
{
    if (m_state != State::Streaming || !m_connection || data.isEmpty())
        return;
    if (m_connection->http10())
        m_connection->write(data);
    else
        m_connection->write(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
}

void HttpExchange::endStream()
{
    if (m_state != State::Streaming)
        return;
    m_state = State::Done;
    if (!m_connection)
        return;
    if (m_connection->http10()) {
        m_connection->close();
        return;
    }
    m_connection->write("0\r\n\r\n");
    m_connection->exchangeDone();
}

void HttpExchange::cut()
{
    m_state = State::Done;
    if (m_connection)
        m_connection->close();
}

HttpServer::HttpServer(Handler handler, QObject* parent)
    : HttpServer(std::move(handler), HttpServerLimits(), parent)
{
}

HttpServer::HttpServer(Handler handler, HttpServerLimits limits, QObject* parent)
    : QObject(parent)
    , m_handler(std::move(handler))
    , m_limits(limits)
    , m_server(new QTcpServer(this))
{
    m_resumeAccepting.setSingleShot(true);
    connect(&m_resumeAccepting, &QTimer::timeout, this, [this] {
        if (!m_draining && m_acceptNotifier)
            m_acceptNotifier->setEnabled(true);
    });
}

// The connections (children of their sockets, children of m_server) unregister themselves from
// m_connections as they go: they must go while it is still there. The notifier goes before the
// descriptor it watches.
HttpServer::~HttpServer()
{
    delete m_acceptNotifier;
    delete m_server;
}

QString HttpServer::listen(const QHostAddress& address, quint16 port)
{
    if (!m_server->listen(address, port))
        return QStringLiteral("cannot listen on %1:%2: %3").arg(address.toString()).arg(port).arg(m_server->errorString());
    m_server->pauseAccepting(); // accept() below takes the connections
    m_acceptNotifier = new QSocketNotifier(m_server->socketDescriptor(), QSocketNotifier::Read, this);
    connect(m_acceptNotifier, &QSocketNotifier::activated, this, &HttpServer::accept);
    return {};
}

quint16 HttpServer::port() const { return m_server->serverPort(); }
QHostAddress HttpServer::address() const { return m_server->serverAddress(); }

qint64 HttpServer::bufferedBytes() const
{
    qint64 bytes = 0;
    for (const HttpConnection* c : m_connections)
        bytes += c->bufferedBytes();
    return bytes;
}

void HttpServer::accept()
{
    for (int batch = 0; batch < 64; ++batch) { // a flood of connections must not starve the open ones
        const int fd = ::accept4(int(m_server->socketDescriptor()), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            // EMFILE, ENFILE, ENOBUFS, ENOMEM: no room for one more connection now. Pause (the listening
            // socket stays readable, so retrying at once would spin); meanwhile new clients wait in the
            // listen backlog, open connections are still served, and the timeouts free descriptors.
            ++m_stats.acceptErrors;
            m_acceptNotifier->setEnabled(false);
            m_resumeAccepting.start(kAcceptRetryMs);
            return;
        }
        auto* socket = new QTcpSocket(m_server);
        if (!socket->setSocketDescriptor(fd)) {
            ::close(fd);
            delete socket;
            continue;
        }
        ++m_stats.connections;
        new HttpConnection(*this, socket); // a child of its socket: both go when the client does
    }
}

void HttpServer::drain()
{
    if (m_draining)
        return;
    m_draining = true;
    m_resumeAccepting.stop();
    delete m_acceptNotifier; // before its descriptor closes
    m_acceptNotifier = nullptr;
    m_server->close(); // no new connections; those waiting in the backlog are refused
    const std::vector<HttpConnection*> open(m_connections.begin(), m_connections.end());
    for (HttpConnection* c : open)
        c->drain();
}

} // namespace knee::net
