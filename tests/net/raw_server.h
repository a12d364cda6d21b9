// A loopback TCP server that answers each request with bytes scripted per path, for what the
// fault server (a well-behaved HTTP/1.1 server misbehaving on purpose) cannot send: odd framing,
// closes at chosen bytes, and a response dribbled out a few bytes per TCP write.
//   /chunked         200 JSON, chunked: chunk extensions, several chunks, a trailer; keep-alive
//   /continue        100 Continue, then 200 JSON
//   /http10          HTTP/1.0 200 JSON without Content-Length: the body ends at the close
//   /close-after     200 JSON with Connection: close, then the server closes
//   /sse-close       an OpenAI stream (3 tokens, [DONE]) without length or chunks: ends at the close
//   /sse-close-nodone  the same without [DONE]
//   /tiny            a chunked OpenAI stream (3 tokens, [DONE]) written 3 bytes per write, 1 ms apart
//   /cut-body        Content-Length 100, 10 bytes, then the server closes
//   /cut-chunked     a chunked body cut inside its first chunk
//   /close-early     the request is read, then the server closes without a byte of answer
//   /once            200 JSON on a connection's first request; on a later one, a close without answer
//   /not-http        bytes that are not HTTP
//   /bad-chunk       a chunk size that is not hex
//   /redirect        302 to `redirectTo` (another server: the API key must not follow)
//   /endless         200 JSON with Content-Length 10^12: a body that never ends, sent as fast as the client takes it
//   /endless-sse     an OpenAI stream that never ends (chunked): one token every 10 ms, never [DONE]
//   /endless-sse-flood  one that never ends (to the close), 16 KiB tokens as fast as the client takes them
//   /trickle         200 JSON with Content-Length 1000, then one byte every 50 ms
#pragma once
#include <QHash>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

class RawServer : public QObject {
public:
    int connections = 0, requests = 0;
    QByteArray redirectTo;

    bool start()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = m_server.nextPendingConnection()) {
                ++connections;
                s->setParent(this);
                s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                connect(s, &QTcpSocket::readyRead, this, [this, s] { read(s); });
                connect(s, &QTcpSocket::disconnected, this, [this, s] {
                    m_buffers.remove(s);
                    m_requestsOn.remove(s);
                    s->deleteLater();
                });
            }
        });
        return m_server.listen(QHostAddress::LocalHost, 0);
    }
    QString url(const char* path) const { return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.serverPort()).arg(QLatin1String(path)); }

    static QByteArray event(const QByteArray& content)
    {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}\n\n";
    }
    static QByteArray stream(bool done)
    {
        return event("a") + event(" b") + event(" c") + (done ? QByteArray("data: [DONE]\n\n") : QByteArray());
    }
    static QByteArray chunked(const QByteArray& body, int piece)
    {
        QByteArray out;
        for (qsizetype i = 0; i < body.size(); i += piece) {
            const QByteArray part = body.mid(i, piece);
            out += QByteArray::number(part.size(), 16) + "\r\n" + part + "\r\n";
        }
        return out + "0\r\n\r\n";
    }

private:
    void read(QTcpSocket* s)
    {
        QByteArray& buffer = m_buffers[s];
        buffer += s->readAll();
        for (;;) {
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            qsizetype length = 0;
            for (const QByteArray& line : buffer.left(end).split('\n'))
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            if (buffer.size() < end + 4 + length)
                return;
            const QByteArray path = buffer.left(buffer.indexOf(' ', 5)).mid(buffer.indexOf(' ') + 1);
            buffer.remove(0, end + 4 + length);
            ++requests;
            const int onThisConnection = ++m_requestsOn[s];
            answer(s, path, onThisConnection);
        }
    }

    void answer(QTcpSocket* s, const QByteArray& path, int onThisConnection)
    {
        const QByteArray json = R"({"ok": true})";
        const QByteArray jsonHead = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
        if (path == "/chunked") {
            s->write(jsonHead + "Transfer-Encoding: chunked\r\n\r\n" + "5;name=value\r\n{\"ok\"\r\n" + "2\r\n: \r\n" + "5\r\ntrue}\r\n"
                     + "0\r\nX-Trailer: yes\r\n\r\n");
        } else if (path == "/continue") {
            s->write("HTTP/1.1 100 Continue\r\n\r\n" + jsonHead + "Content-Length: " + QByteArray::number(json.size()) + "\r\n\r\n" + json);
        } else if (path == "/http10") {
            s->write("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + json);
            s->disconnectFromHost();
        } else if (path == "/close-after") {
            s->write(jsonHead + "Content-Length: " + QByteArray::number(json.size()) + "\r\nConnection: close\r\n\r\n" + json);
            s->disconnectFromHost();
        } else if (path == "/sse-close" || path == "/sse-close-nodone") {
            s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            s->write(stream(path == "/sse-close"));
            s->disconnectFromHost();
        } else if (path == "/tiny") {
            dribble(s, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(stream(true), 40));
        } else if (path == "/cut-body") {
            s->write(jsonHead + "Content-Length: 100\r\n\r\n" + "{\"ok\": tru");
            s->disconnectFromHost();
        } else if (path == "/cut-chunked") {
            s->write(jsonHead + "Transfer-Encoding: chunked\r\n\r\n" + "20\r\n{\"ok\"");
            s->disconnectFromHost();
        } else if (path == "/close-early") {
            s->disconnectFromHost();
        } else if (path == "/once") {
            if (onThisConnection > 1)
                return s->disconnectFromHost();
            s->write(jsonHead + "Content-Length: " + QByteArray::number(json.size()) + "\r\n\r\n" + json);
        } else if (path == "/not-http") {
            s->write("SSH-2.0-OpenSSH_9.0\r\n\r\n");
        } else if (path == "/bad-chunk") {
            s->write(jsonHead + "Transfer-Encoding: chunked\r\n\r\n" + "zz\r\n{}\r\n0\r\n\r\n");
        } else if (path == "/endless") {
            s->write(jsonHead + "Content-Length: 1000000000000\r\n\r\n[");
            flood(s, QByteArray(64 * 1024, ' '));
        } else if (path == "/endless-sse") {
            s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            every(s, 10, chunked(event("x"), 1 << 20).chopped(5));
        } else if (path == "/endless-sse-flood") { // framed by the close, which never comes
            s->write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            flood(s, event(QByteArray(16 * 1024, 'x')).repeated(4));
        } else if (path == "/trickle") {
            s->write(jsonHead + "Content-Length: 1000\r\n\r\n");
            every(s, 50, " ");
        } else if (path == "/redirect") {
            s->write("HTTP/1.1 302 Found\r\nLocation: " + redirectTo + "\r\nContent-Length: 0\r\n\r\n");
        } else {
            s->write("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}");
        }
    }

    // Writes `piece` again and again while the client takes it, until the connection closes.
    static void flood(QTcpSocket* s, const QByteArray& piece)
    {
        auto more = [s, piece] {
            while (s->state() == QAbstractSocket::ConnectedState && s->bytesToWrite() < 4 * piece.size())
                if (s->write(piece) != piece.size())
                    return; // the client has gone (a write fails before the state says so)
        };
        connect(s, &QTcpSocket::bytesWritten, s, more);
        more();
    }

    // Writes `piece` every `ms` until the connection closes (the timer goes with the socket).
    static void every(QTcpSocket* s, int ms, const QByteArray& piece)
    {
        auto* timer = new QTimer(s);
        connect(timer, &QTimer::timeout, s, [s, piece] {
            s->write(piece);
            s->flush();
        });
        timer->start(ms);
    }

    // Writes `bytes` a few at a time, each write flushed on its own, a millisecond apart.
    void dribble(QTcpSocket* s, const QByteArray& bytes)
    {
        QPointer<QTcpSocket> socket(s);
        auto* timer = new QTimer(this);
        auto offset = std::make_shared<qsizetype>(0);
        connect(timer, &QTimer::timeout, this, [socket, timer, offset, bytes] {
            if (!socket || *offset >= bytes.size()) {
                timer->deleteLater();
                timer->stop();
                return;
            }
            socket->write(bytes.mid(*offset, 3));
            socket->flush();
            *offset += 3;
        });
        timer->start(1);
    }

    QTcpServer m_server;
    QHash<QTcpSocket*, QByteArray> m_buffers;
    QHash<QTcpSocket*, int> m_requestsOn;
};
