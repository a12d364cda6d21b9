#include "http_connection.h"

#include <QMetaObject>
#include <QTcpSocket>

#include <algorithm>
#include <cctype>

namespace knee::net {

namespace {

bool isToken(const QByteArray& s)
{
    if (s.isEmpty())
        return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || QByteArrayView("!#$%&'*+-.^_`|~").contains(c)))
            return false;
    return true;
}

// Where a request head ends: at its first empty line. Lines end in LF, with or without a CR before it
// (RFC 9112 §2.2 lets a recipient take a bare LF as a line's end). Looks at the first `limit` bytes
// only; returns the position of the LF that ends the last header line and sets `bodyStart`, or -1.
qsizetype findHeadEnd(const QByteArray& bytes, qsizetype limit, qsizetype& bodyStart)
{
    const QByteArrayView b = QByteArrayView(bytes).first(std::min(bytes.size(), limit));
    for (qsizetype from = 0;;) {
        const qsizetype nl = b.indexOf('\n', from);
        if (nl < 0)
            return -1;
        if (nl + 1 < b.size() && b[nl + 1] == '\n') {
            bodyStart = nl + 2;
            return nl;
        }
        if (nl + 2 < b.size() && b[nl + 1] == '\r' && b[nl + 2] == '\n') {
            bodyStart = nl + 3;
            return nl;
        }
        from = nl + 1;
    }
}

} // namespace

HttpConnection::HttpConnection(HttpServer& server, QTcpSocket* socket)
    : QObject(socket)
    , m_server(server)
    , m_socket(socket)
{
    m_server.m_connections.insert(this);
    // Answers are small writes; Nagle's delay would add up to 40 ms to each.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    // With a full buffer Qt stops reading from the kernel: a client that sends faster than we take
    // waits in TCP's flow control instead of growing our memory.
    socket->setReadBufferSize(kSocketBufferBytes);
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &HttpConnection::timedOut);
    connect(socket, &QTcpSocket::readyRead, this, &HttpConnection::read);
    connect(socket, &QTcpSocket::bytesWritten, this, &HttpConnection::written);
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    waitFor(Wait::Head, m_server.m_limits.headerTimeoutMs); // a new connection owes its first head
    arm();
}

HttpConnection::~HttpConnection() { m_server.m_connections.erase(this); }

bool HttpConnection::alive() const { return !m_closing && m_socket->state() == QAbstractSocket::ConnectedState; }

qint64 HttpConnection::bufferedBytes() const { return m_buffer.size() + m_socket->bytesAvailable() + m_socket->bytesToWrite(); }

void HttpConnection::write(const QByteArray& bytes)
{
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    if (m_socket->bytesToWrite() == 0)
        m_writeDeadline.setRemainingTime(m_server.m_limits.idleTimeoutMs);
    m_socket->write(bytes);
    if (m_socket->bytesToWrite() > m_server.m_limits.maxUnsentBytes) {
        ++m_server.m_stats.cutUnread; // a stream nobody reads: it would grow without end
        return cut();
    }
    arm();
}

void HttpConnection::exchangeDone()
{
    m_current.reset();
    if (!keepAlive()) {
        close(); // after the pending bytes are written
        return;
    }
    // The next pipelined request, if one waits; queued so a handler answering at once cannot recurse.
    QMetaObject::invokeMethod(this, &HttpConnection::process, Qt::QueuedConnection);
}

void HttpConnection::close()
{
    m_current.reset();
    m_closing = true;
    m_buffer.clear();
    m_socket->disconnectFromHost(); // writes what is pending first; the write deadline still applies
    arm();
}

void HttpConnection::drain()
{
    if (!m_current)
        close();
}

void HttpConnection::cut()
{
    m_current.reset();
    m_closing = true;
    m_buffer.clear();
    m_timer.stop();
    m_socket->abort(); // emits disconnected: the socket, and this with it, go on the next pass
}

void HttpConnection::read()
{
    process();
}

void HttpConnection::written()
{
    m_writeDeadline.setRemainingTime(m_server.m_limits.idleTimeoutMs); // the client is reading
    if (m_blocked && m_socket->bytesToWrite() <= HttpServer::kMaxQueuedOutputBytes)
        process();
    else
        arm();
}

// Takes the socket's bytes while they may be needed: a head (a little more than the largest we take,
// to tell it is too large), or the whole request once its head says how long it is; only one head's
// worth while a request is in progress (pipelining's bound: later requests wait in the kernel).
void HttpConnection::pull()
{
    const qsizetype cap = m_current || m_blocked ? HttpServer::kMaxHeaderBytes : std::max(HttpServer::kMaxHeaderBytes + 4, m_need);
    while (!m_closing && m_buffer.size() < cap && m_socket->bytesAvailable() > 0)
        m_buffer += m_socket->read(std::min<qint64>(m_socket->bytesAvailable(), cap - m_buffer.size()));
}

void HttpConnection::reject(int status, const QByteArray& why)
{
    if (status != 408)
        ++m_server.m_stats.badRequests;
    const QByteArray body = R"({"error": {"message": ")" + why + R"(", "type": "invalid_request_error"}})";
    write("HTTP/1.1 " + QByteArray::number(status) + ' ' + httpStatusText(status) + "\r\nContent-Type: application/json\r\n"
          "Content-Length: " + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    if (m_socket->state() == QAbstractSocket::ConnectedState)
        close();
}

void HttpConnection::waitFor(Wait wait, int timeoutMs)
{
    if (m_wait == wait)
        return; // the deadline runs from when the wait began, not from the latest byte (slowloris)
    m_wait = wait;
    m_deadline.setRemainingTime(timeoutMs);
}

void HttpConnection::process()
{
    for (;;) {
        pull();
        if (m_closing)
            return;
        if (m_current)
            break; // the handler has it; the next request waits its turn
        if (m_server.draining())
            return close(); // no new request once the server is shutting down
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        qsizetype skip = 0;
        while (skip < m_buffer.size() && (m_buffer[skip] == '\n' || (m_buffer[skip] == '\r' && skip + 1 < m_buffer.size() && m_buffer[skip + 1] == '\n')))
            skip += m_buffer[skip] == '\n' ? 1 : 2;
        m_buffer.remove(0, skip);
        if (m_buffer.isEmpty()) {
            if (m_wait != Wait::Head)
                waitFor(Wait::Idle, m_server.m_limits.idleTimeoutMs);
            break;
        }
        waitFor(Wait::Head, m_server.m_limits.headerTimeoutMs);
        qsizetype bodyStart = 0;
        const qsizetype headerEnd = findHeadEnd(m_buffer, HttpServer::kMaxHeaderBytes + 3, bodyStart);
        if (headerEnd < 0) {
            if (m_buffer.size() > HttpServer::kMaxHeaderBytes)
                return reject(431, "the request head is larger than 16 KiB");
            break;
        }
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
        const qsizetype total = bodyStart + contentLength;
        if (m_buffer.size() < total) {
            waitFor(Wait::Body, m_server.m_limits.bodyTimeoutMs);
            if (m_need < total) { // now that its length is known, read the rest of it
                m_need = total;
                continue;
            }
            if (!m_continued && request.header("expect").compare("100-continue", Qt::CaseInsensitive) == 0) {
                write("HTTP/1.1 100 Continue\r\n\r\n");
                m_continued = true;
            }
            break;
        }
        // A whole request. It waits while the client leaves earlier answers unread (written() resumes).
        m_blocked = m_socket->bytesToWrite() > HttpServer::kMaxQueuedOutputBytes;
        if (m_blocked)
            break;
        m_continued = false;
        m_need = 0;
        request.body = m_buffer.mid(bodyStart, contentLength);
        m_buffer.remove(0, total);
        const QByteArray connection = request.header("connection").toLower();
        m_http10 = request.version == "HTTP/1.0";
        m_keepAlive = m_http10 ? connection.contains("keep-alive") : !connection.contains("close");
        ++m_server.m_stats.requests;
        m_wait = Wait::Handler;
        m_current = std::make_shared<HttpExchange>(this);
        const std::shared_ptr<HttpExchange> exchange = m_current;
        m_server.m_handler(request, exchange);
        if (m_closing)
            return;
    }
    arm();
}

// One timer per connection, set to whichever deadline applies now.
void HttpConnection::arm()
{
    QDeadlineTimer due(QDeadlineTimer::Forever);
    if (m_socket->bytesToWrite() > 0)
        due = m_writeDeadline;
    if (!m_closing && !m_current && !m_blocked && m_deadline < due)
        due = m_deadline;
    if (due.isForever())
        m_timer.stop();
    else
        m_timer.start(std::max<qint64>(0, due.remainingTime()));
}

void HttpConnection::timedOut()
{
    if (m_socket->bytesToWrite() > 0 && m_writeDeadline.hasExpired()) {
        ++m_server.m_stats.cutUnread; // the client took none of its answers' bytes for the idle timeout
        return cut();
    }
    if (!m_closing && !m_current && !m_blocked && m_deadline.hasExpired()) {
        const int s = m_wait == Wait::Body ? m_server.m_limits.bodyTimeoutMs : m_server.m_limits.headerTimeoutMs;
        if (m_wait == Wait::Idle || (m_wait == Wait::Head && m_buffer.isEmpty())) {
            ++m_server.m_stats.closedIdle; // nothing was asked: no answer owed
            return close();
        }
        ++m_server.m_stats.timedOut;
        return reject(408, QByteArray(m_wait == Wait::Body ? "the request body" : "the request head") + " did not arrive within "
                               + QByteArray::number(s) + " ms");
    }
    arm();
}

} // namespace knee::net
