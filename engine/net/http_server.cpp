#include "http_server.h"

#include <QMetaObject>
#include <QTcpServer>
#include <QTcpSocket>

#include <cctype>

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

// One client connection: parses requests from its bytes, hands each to the server's handler, and
// writes the answers in order. Lives until the socket closes.
class HttpConnection : public QObject {
public:
    HttpConnection(HttpServer& server, QTcpSocket* socket)
        : QObject(socket)
        , m_server(server)
        , m_socket(socket)
    {
        // Answers are small writes; Nagle's delay would add up to 40 ms to each.
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        connect(socket, &QTcpSocket::readyRead, this, &HttpConnection::read);
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    }

    void write(const QByteArray& bytes)
    {
        if (m_socket->state() == QAbstractSocket::ConnectedState)
            m_socket->write(bytes);
    }
    bool http10() const { return m_http10; }
    bool keepAlive() const { return m_keepAlive; }

    void exchangeDone()
    {
        m_current.reset();
        if (!m_keepAlive) {
            m_socket->disconnectFromHost(); // after the pending bytes are written
            return;
        }
        // The next pipelined request, if one waits; queued so a handler answering at once cannot recurse.
        QMetaObject::invokeMethod(this, &HttpConnection::process, Qt::QueuedConnection);
    }

    // Closes after what was written so far: an unfinished chunked body stays unfinished.
    void close()
    {
        m_current.reset();
        m_closing = true;
        m_socket->disconnectFromHost();
    }

private:
    void read()
    {
        m_buffer += m_socket->readAll();
        process();
    }

    void reject(int status, const QByteArray& why)
    {
        ++m_server.m_stats.badRequests;
        const QByteArray body = R"({"error": {"message": ")" + why + R"(", "type": "invalid_request_error"}})";
        write("HTTP/1.1 " + QByteArray::number(status) + ' ' + httpStatusText(status) + "\r\nContent-Type: application/json\r\n"
              "Content-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        m_closing = true;
        m_buffer.clear();
        m_socket->disconnectFromHost();
    }

    static bool isToken(const QByteArray& s)
    {
        if (s.isEmpty())
            return false;
        for (char c : s)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || QByteArrayView("!#$%&'*+-.^_`|~").contains(c)))
                return false;
        return true;
    }

    void process()
    {
        while (!m_current && !m_closing && !m_buffer.isEmpty()) {
            const qsizetype headerEnd = m_buffer.indexOf("\r\n\r\n");
            if (headerEnd < 0) {
                if (m_buffer.size() > HttpServer::kMaxHeaderBytes)
                    reject(431, "the request head is larger than 16 KiB");
                return;
            }
            if (headerEnd > HttpServer::kMaxHeaderBytes)
                return reject(431, "the request head is larger than 16 KiB");
            HttpRequest request;
            const QList<QByteArray> lines = m_buffer.left(headerEnd).split('\n');
            const QList<QByteArray> start = lines.first().trimmed().split(' ');
            if (start.size() != 3 || !isToken(start[0]) || !start[1].startsWith('/'))
                return reject(400, "malformed request line");
            request.method = start[0];
            request.target = start[1];
            request.version = start[2];
            if (request.version != "HTTP/1.1" && request.version != "HTTP/1.0")
                return reject(request.version.startsWith("HTTP/") ? 505 : 400, "HTTP/1.1 or HTTP/1.0 only");
            qsizetype contentLength = 0;
            bool haveLength = false;
            for (qsizetype i = 1; i < lines.size(); ++i) {
                QByteArray line = lines[i];
                if (line.endsWith('\r'))
                    line.chop(1);
                const qsizetype colon = line.indexOf(':');
                const QByteArray name = line.left(colon).toLower();
                if (colon <= 0 || !isToken(name))
                    return reject(400, "malformed header line");
                const QByteArray value = line.mid(colon + 1).trimmed();
                if (name == "content-length") {
                    bool ok = value.size() <= 12 && !value.isEmpty();
                    for (char c : value)
                        ok = ok && c >= '0' && c <= '9';
                    const qsizetype length = ok ? value.toLongLong() : -1;
                    if (!ok || (haveLength && length != contentLength))
                        return reject(400, "bad Content-Length");
                    contentLength = length;
                    haveLength = true;
                } else if (name == "transfer-encoding") {
                    return reject(501, "chunked request bodies are not supported; send Content-Length");
                }
                request.headers.append({name, value});
            }
            if (contentLength > HttpServer::kMaxBodyBytes)
                return reject(413, "the request body is larger than 1 MiB");
            const qsizetype total = headerEnd + 4 + contentLength;
            if (m_buffer.size() < total) {
                if (!m_continued && request.header("expect").compare("100-continue", Qt::CaseInsensitive) == 0) {
                    write("HTTP/1.1 100 Continue\r\n\r\n");
                    m_continued = true;
                }
                return;
            }
            m_continued = false;
            request.body = m_buffer.mid(headerEnd + 4, contentLength);
            m_buffer.remove(0, total);
            const QByteArray connection = request.header("connection").toLower();
            m_http10 = request.version == "HTTP/1.0";
            m_keepAlive = m_http10 ? connection.contains("keep-alive") : !connection.contains("close");
            ++m_server.m_stats.requests;
            m_current = std::make_shared<HttpExchange>(this);
            const std::shared_ptr<HttpExchange> exchange = m_current;
            m_server.m_handler(request, exchange);
        }
    }

    HttpServer& m_server;
    QTcpSocket* m_socket;
    QByteArray m_buffer;
    std::shared_ptr<HttpExchange> m_current;
    bool m_closing = false, m_continued = false, m_http10 = false, m_keepAlive = true;
};

HttpExchange::HttpExchange(HttpConnection* connection)
    : m_connection(connection)
{
}

bool HttpExchange::open() const { return m_connection && m_state != State::Done; }

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
    : QObject(parent)
    , m_handler(std::move(handler))
    , m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::newConnection, this, &HttpServer::accept);
}

HttpServer::~HttpServer() = default;

QString HttpServer::listen(const QHostAddress& address, quint16 port)
{
    m_server->setMaxPendingConnections(1024);
    if (!m_server->listen(address, port))
        return QStringLiteral("cannot listen on %1:%2: %3").arg(address.toString()).arg(port).arg(m_server->errorString());
    return {};
}

quint16 HttpServer::port() const { return m_server->serverPort(); }
QHostAddress HttpServer::address() const { return m_server->serverAddress(); }

void HttpServer::accept()
{
    while (QTcpSocket* socket = m_server->nextPendingConnection()) {
        ++m_stats.connections;
        new HttpConnection(*this, socket); // a child of its socket: both go when the client does
    }
}

} // namespace knee::net
