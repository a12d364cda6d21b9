#include "http1_transport.h"

#include <QMetaObject>
#include <QNetworkReply>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>

namespace knee::net {

namespace {

constexpr qsizetype kMaxHeadBytes = 64 * 1024;   // a longer response head is not HTTP we can use
constexpr qsizetype kMaxChunkLineBytes = 1024;   // a chunk-size line (with extensions)

bool hasToken(const QByteArray& list, const char* token)
{
    for (const QByteArray& part : list.split(','))
        if (part.trimmed().compare(token, Qt::CaseInsensitive) == 0)
            return true;
    return false;
}

QNetworkReply::NetworkError networkErrorOf(QAbstractSocket::SocketError e)
{
    switch (e) {
    case QAbstractSocket::ConnectionRefusedError: return QNetworkReply::ConnectionRefusedError;
    case QAbstractSocket::RemoteHostClosedError: return QNetworkReply::RemoteHostClosedError;
    case QAbstractSocket::HostNotFoundError: return QNetworkReply::HostNotFoundError;
    case QAbstractSocket::SocketTimeoutError: return QNetworkReply::TimeoutError;
    case QAbstractSocket::NetworkError: return QNetworkReply::UnknownNetworkError;
    default: return QNetworkReply::UnknownNetworkError;
    }
}

} // namespace

void Http1Job::finish(QObject* deferTo)
{
    done = true;
    if (starting || !handle)
        return; // await_suspend sees `done` and does not suspend
    if (deferTo)
        QMetaObject::invokeMethod(deferTo, [h = handle] { h.resume(); }, Qt::QueuedConnection);
    else
        handle.resume(); // the awaiting coroutine's continuation runs now; callers touch nothing after
}

// One keep-alive connection. Owned by the pool; carries one job at a time.
class Http1Connection : public QObject {
public:
    explicit Http1Connection(Http1Pool& pool)
        : m_pool(pool)
    {
        m_timer.setSingleShot(true);
        connect(&m_timer, &QTimer::timeout, this, &Http1Connection::timedOut);
        m_deadline.setSingleShot(true);
        connect(&m_deadline, &QTimer::timeout, this, [this] {
            if (!m_job)
                return;
            m_job->facts.timedOut = true;
            m_job->timeoutPhase = QStringLiteral("the response did not end within %1 ms (the request timeout)").arg(m_pool.m_target.requestTimeoutMs);
            fail(QNetworkReply::OperationCanceledError, QStringLiteral("timed out"), Resume::Now);
        });
        connect(&m_socket, &QTcpSocket::connected, this, &Http1Connection::connected);
        connect(&m_socket, &QTcpSocket::readyRead, this, &Http1Connection::readable);
        connect(&m_socket, &QTcpSocket::errorOccurred, this, &Http1Connection::socketError);
        connect(&m_socket, &QTcpSocket::disconnected, this, [this] { socketError(QAbstractSocket::RemoteHostClosedError); });
    }
    ~Http1Connection() override
    {
        m_closing = true; // no signals into a half-destroyed object
        m_socket.abort();
    }

    void start(Http1Job* job)
    {
        m_job = job;
        m_phase = Phase::Head;
        m_buffer.clear();
        m_keepAlive = true;
        m_sentOnWire = false;
        m_retried = false;
        ++m_serial;
        m_deadline.start(m_pool.m_target.requestTimeoutMs); // the whole exchange, whatever the server sends
        m_reused = !m_dead && m_socket.state() == QAbstractSocket::ConnectedState && m_socket.bytesAvailable() == 0;
        if (m_reused)
            sendRequest();
        else
            connectAnew();
    }

    // Ends the job in flight (abortAll): its coroutine resumes at once, as QNetworkReply::abort() does.
    void abort() { fail(QNetworkReply::OperationCanceledError, QStringLiteral("Operation canceled"), Resume::Now); }
    std::uint64_t serial() const { return m_serial; }

private:
    enum class Phase { Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose };
    // Whether the job's coroutine resumes inside this call, or on the next pass of the event loop. Later
    // whenever the socket was closed from inside one of its own signals: the continuation may send
    // again on this very connection, and Qt may still be emitting (errorOccurred, then disconnected).
    enum class Resume { Now, Later };

    void closeSocket()
    {
        m_closing = true; // our own abort() emits disconnected: not news
        m_socket.abort();
        m_closing = false;
    }

    void connectAnew()
    {
        closeSocket();
        m_dead = false;
        m_buffer.clear();
        ++m_pool.m_opened;
        m_timer.start(m_pool.m_target.connectTimeoutMs);
        const QUrl& url = m_pool.m_target.url;
        m_socket.connectToHost(url.host(), quint16(url.port(80)));
    }

    void connected()
    {
        // Requests and answers are small writes; Nagle's delay would add up to 40 ms to each.
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
        if (m_job)
            sendRequest();
    }

    void sendRequest()
    {
        m_socket.write(m_job->request);
        m_socket.flush(); // now, not on the next pass of the event loop
        m_sentOnWire = true;
        m_timer.start(m_pool.m_target.responseTimeoutMs);
    }

    void timedOut()
    {
        if (!m_job)
            return;
        m_job->facts.timedOut = true;
        m_job->timeoutPhase = m_sentOnWire ? QStringLiteral("no response byte for %1 ms").arg(m_pool.m_target.responseTimeoutMs)
                                           : QStringLiteral("not connected within %1 ms").arg(m_pool.m_target.connectTimeoutMs);
        fail(QNetworkReply::OperationCanceledError, QStringLiteral("timed out"), Resume::Now);
    }

    void readable()
    {
        const QByteArray bytes = m_socket.readAll();
        if (!m_job || bytes.isEmpty()) {
            if (!m_job && !bytes.isEmpty())
                closeSocket(); // bytes nobody asked for: this connection is not in a state we know
            return;
        }
        m_job->facts.responseStarted = true;
        m_buffer += bytes;
        m_timer.start(m_pool.m_target.responseTimeoutMs);
        parse(m_pool.m_clock());
    }

    // errorOccurred and disconnected: one close may bring both; the first is handled, the rest ignored.
    void socketError(QAbstractSocket::SocketError error)
    {
        if (m_closing || m_dead)
            return;
        if (m_job && m_socket.bytesAvailable() > 0) {
            readable(); // what came with the close
            if (!m_job || m_dead)
                return;
        }
        m_dead = true;
        if (!m_job)
            return; // an idle connection closed: the next job connects again
        if (error == QAbstractSocket::RemoteHostClosedError) {
            if (m_phase == Phase::UntilClose)
                return succeed();
            if (m_reused && !m_retried && !m_job->facts.responseStarted) {
                // Closed between our keep-alive reuse and the server seeing the request: try once on a new
                // connection (outside this signal: Qt may still be emitting for the old one).
                m_retried = true;
                m_reused = false;
                m_sentOnWire = false;
                const std::uint64_t serial = m_serial;
                QMetaObject::invokeMethod(this, [this, serial] {
                    if (m_job && m_serial == serial)
                        connectAnew();
                }, Qt::QueuedConnection);
                return;
            }
        }
        const QString text = m_socket.errorString();
        fail(networkErrorOf(error), text, Resume::Later);
    }

    // Consumes m_buffer as far as it goes; finishes the job when the response is whole.
    void parse(Nanos at)
    {
        qsizetype pos = 0;
        const qsizetype size = m_buffer.size();
        while (m_job) {
            switch (m_phase) {
            case Phase::Head: {
                if (size - pos >= 5 && !m_buffer.sliced(pos, 5).startsWith("HTTP/"))
                    return fail(QNetworkReply::ProtocolFailure, QStringLiteral("the response is not HTTP"), Resume::Later);
                qsizetype end = m_buffer.indexOf("\r\n\r\n", pos);
                qsizetype bodyStart = end + 4;
                const qsizetype bare = m_buffer.indexOf("\n\n", pos);
                if (bare >= 0 && (end < 0 || bare < end)) {
                    end = bare;
                    bodyStart = bare + 2;
                }
                if (end < 0) {
                    if (size - pos > kMaxHeadBytes)
                        return fail(QNetworkReply::ProtocolFailure, QStringLiteral("the response head is larger than 64 KiB"), Resume::Later);
                    return keep(pos);
                }
                if (!parseHead(m_buffer.sliced(pos, end - pos)))
                    return;
                pos = bodyStart;
                if (m_status >= 100 && m_status < 200)
                    continue; // 100 Continue and friends: the real answer follows
                m_job->facts.status = m_status;
                m_job->meter->head(m_status, m_contentType);
                if ((m_phase == Phase::Length && m_remaining == 0) || m_phase == Phase::Head) { // an empty body, or none (204, 304)
                    keep(pos);
                    return succeed();
                }
                break;
            }
            case Phase::Length:
            case Phase::ChunkData: {
                const qsizetype n = std::min<qint64>(m_remaining, size - pos);
                if (n <= 0)
                    return keep(pos);
                m_job->meter->body(m_buffer.sliced(pos, n), at);
                if (m_job->meter->tooLarge())
                    return fail(QNetworkReply::OperationCanceledError, QStringLiteral("the response is too large"), Resume::Later);
                pos += n;
                m_remaining -= n;
                if (m_remaining > 0)
                    return keep(pos);
                if (m_phase == Phase::Length) {
                    keep(pos);
                    return succeed();
                }
                m_phase = Phase::ChunkEnd;
                break;
            }
            case Phase::ChunkEnd: {
                if (size - pos < 1 || (m_buffer[pos] == '\r' && size - pos < 2))
                    return keep(pos);
                if (m_buffer[pos] == '\r')
                    ++pos;
                if (m_buffer[pos] != '\n')
                    return fail(QNetworkReply::ProtocolFailure, QStringLiteral("a chunk does not end with CRLF"), Resume::Later);
                ++pos;
                m_phase = Phase::ChunkSize;
                break;
            }
            case Phase::ChunkSize: {
                const qsizetype nl = m_buffer.indexOf('\n', pos);
                if (nl < 0) {
                    if (size - pos > kMaxChunkLineBytes)
                        return fail(QNetworkReply::ProtocolFailure, QStringLiteral("a chunk-size line is too long"), Resume::Later);
                    return keep(pos);
                }
                QByteArray line = m_buffer.sliced(pos, nl - pos);
                pos = nl + 1;
                const qsizetype semicolon = line.indexOf(';'); // chunk extensions carry nothing we use
                if (semicolon >= 0)
                    line.truncate(semicolon);
                line = line.trimmed();
                bool ok = !line.isEmpty() && line.size() <= 15;
                const qint64 chunk = ok ? line.toLongLong(&ok, 16) : -1;
                if (!ok || chunk < 0)
                    return fail(QNetworkReply::ProtocolFailure, QStringLiteral("a chunk size is not a hex number"), Resume::Later);
                if (chunk == 0) {
                    m_phase = Phase::Trailers;
                } else {
                    m_phase = Phase::ChunkData;
                    m_remaining = chunk;
                }
                break;
            }
            case Phase::Trailers: {
                const qsizetype nl = m_buffer.indexOf('\n', pos);
                if (nl < 0) {
                    if (size - pos > kMaxHeadBytes)
                        return fail(QNetworkReply::ProtocolFailure, QStringLiteral("the trailers are larger than 64 KiB"), Resume::Later);
                    return keep(pos);
                }
                const bool blank = nl == pos || (nl == pos + 1 && m_buffer[pos] == '\r');
                pos = nl + 1;
                if (blank) {
                    m_buffer.remove(0, pos);
                    return succeed();
                }
                break;
            }
            case Phase::UntilClose: {
                if (pos < size)
                    m_job->meter->body(m_buffer.sliced(pos), at);
                m_buffer.clear();
                if (m_job->meter->tooLarge())
                    return fail(QNetworkReply::OperationCanceledError, QStringLiteral("the response is too large"), Resume::Later);
                return;
            }
            }
        }
    }

    void keep(qsizetype consumed) { m_buffer.remove(0, consumed); }

    // The status line and header lines; sets the body's framing. False when it failed the job.
    bool parseHead(const QByteArray& head)
    {
        const QList<QByteArray> lines = head.split('\n');
        const QByteArray statusLine = lines.first().trimmed();
        // HTTP/1.x SSS[ reason]
        const bool http10 = statusLine.startsWith("HTTP/1.0 ");
        bool ok = (http10 || statusLine.startsWith("HTTP/1.1 ")) && statusLine.size() >= 12
            && (statusLine.size() == 12 || statusLine[12] == ' ');
        m_status = ok ? statusLine.mid(9, 3).toInt(&ok) : 0;
        if (!ok || m_status < 100 || m_status > 999) {
            fail(QNetworkReply::ProtocolFailure, QStringLiteral("the response's status line is not HTTP/1.x"), Resume::Later);
            return false;
        }
        m_contentType.clear();
        qint64 length = -1;
        bool chunked = false, close = false, keepAlive = false;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray& line = lines[i];
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0) {
                if (line.trimmed().isEmpty())
                    continue;
                fail(QNetworkReply::ProtocolFailure, QStringLiteral("a response header line has no name"), Resume::Later);
                return false;
            }
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "content-length") {
                bool valid = !value.isEmpty() && value.size() <= 15;
                for (char c : value)
                    valid = valid && c >= '0' && c <= '9';
                const qint64 v = valid ? value.toLongLong() : -1;
                if (!valid || (length >= 0 && v != length)) {
                    fail(QNetworkReply::ProtocolFailure, QStringLiteral("a bad Content-Length"), Resume::Later);
                    return false;
                }
                length = v;
            } else if (name == "transfer-encoding") {
                chunked = value.toLower().trimmed().endsWith("chunked");
            } else if (name == "connection") {
                close = close || hasToken(value, "close");
                keepAlive = keepAlive || hasToken(value, "keep-alive");
            } else if (name == "content-type") {
                m_contentType = value;
            }
        }
        m_keepAlive = http10 ? keepAlive && !close : !close;
        if (m_status < 200 || m_status == 204 || m_status == 304) {
            m_phase = Phase::Head; // no body
        } else if (chunked) {
            m_phase = Phase::ChunkSize;
        } else if (length >= 0) {
            m_phase = Phase::Length;
            m_remaining = length;
        } else {
            m_phase = Phase::UntilClose;
            m_keepAlive = false;
        }
        return true;
    }

    void succeed()
    {
        m_timer.stop();
        // Bytes past the response (nothing was pipelined) or a close asked for: this connection is done.
        const bool reusable = m_keepAlive && m_buffer.isEmpty() && m_phase != Phase::UntilClose && !m_dead
            && m_socket.state() == QAbstractSocket::ConnectedState;
        if (!reusable)
            closeSocket();
        m_buffer.clear();
        m_phase = Phase::Head;
        m_job->facts.networkError = QNetworkReply::NoError;
        complete(reusable ? Resume::Now : Resume::Later);
    }

    void fail(QNetworkReply::NetworkError error, const QString& text, Resume resume)
    {
        if (!m_job)
            return;
        m_timer.stop();
        closeSocket();
        m_buffer.clear();
        m_phase = Phase::Head;
        m_job->facts.networkError = error;
        m_job->errorText = text;
        complete(resume);
    }

    void complete(Resume resume)
    {
        m_deadline.stop();
        Http1Job* job = m_job;
        m_job = nullptr;
        m_pool.release(this); // idle before the continuation runs: its next request may take this connection
        job->finish(resume == Resume::Later ? &m_pool : nullptr); // nothing of `this` is used after
    }

    Http1Pool& m_pool;
    QTcpSocket m_socket{this};
    QTimer m_timer{this};    // the connect timeout, then the response's longest silence
    QTimer m_deadline{this}; // the whole exchange (the request timeout)
    Http1Job* m_job = nullptr;
    QByteArray m_buffer;
    Phase m_phase = Phase::Head;
    qint64 m_remaining = 0;
    int m_status = 0;
    QByteArray m_contentType;
    std::uint64_t m_serial = 0; // jobs started on this connection
    bool m_keepAlive = true, m_sentOnWire = false, m_reused = false, m_retried = false;
    bool m_closing = false; // inside our own abort()
    bool m_dead = false;    // the socket closed (or failed) and was handled; connectAnew() revives it
};

bool Http1Pool::Awaiter::await_suspend(std::coroutine_handle<> h)
{
    job->handle = h;
    job->starting = true;
    Http1Connection* c;
    if (!pool->m_idle.empty()) {
        c = pool->m_idle.back(); // the most recently used: the likeliest to be warm and still open
        pool->m_idle.pop_back();
    } else {
        pool->m_connections.push_back(std::make_unique<Http1Connection>(*pool));
        c = pool->m_connections.back().get();
    }
    pool->m_busy.push_back(c);
    c->start(job);
    job->starting = false;
    return !job->done; // ended already (it cannot on a socket, but then: do not suspend)
}

Http1Pool::Http1Pool(const HttpTarget& target, std::function<Nanos()> clock, QObject* parent)
    : QObject(parent)
    , m_target(target)
    , m_clock(std::move(clock))
{
}

Http1Pool::~Http1Pool() = default;

void Http1Pool::release(Http1Connection* connection)
{
    m_busy.erase(std::find(m_busy.begin(), m_busy.end(), connection));
    m_idle.push_back(connection);
}

void Http1Pool::abortAll()
{
    // Only the jobs in flight now: an aborted job's continuation may start another on the same connection.
    std::vector<std::pair<Http1Connection*, std::uint64_t>> busy;
    for (Http1Connection* c : m_busy)
        busy.emplace_back(c, c->serial());
    for (const auto& [c, serial] : busy)
        if (c->serial() == serial && std::find(m_busy.begin(), m_busy.end(), c) != m_busy.end())
            c->abort();
}

} // namespace knee::net
