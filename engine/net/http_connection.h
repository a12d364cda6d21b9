// One client connection of HttpServer (private to engine/net): parses requests from its bytes, hands
// each to the server's handler, and writes the answers in order. Lives until the socket closes.
//
// What a client can make it hold is bounded, so that a hostile or broken client costs the server a
// fixed amount and everyone else is still answered:
//  - input: the socket's own buffer is capped (Qt then stops reading from the kernel, and TCP makes
//    the client wait); we take bytes only up to one whole request, and only up to one request head
//    (16 KiB) while a request is in progress — pipelined requests wait in the kernel, not here;
//  - output: no request starts while more than HttpServer::kMaxQueuedOutputBytes of answers wait
//    unsent; a client that leaves more than maxUnsentBytes unread (a stream it does not read) is cut;
//  - time: a request's head and body each have a deadline (408, then close), a keep-alive
//    connection with nothing to do is closed after the idle timeout, and one whose client takes no
//    byte of its answers for that long is cut.
#pragma once
#include "http_server.h"

#include <QDeadlineTimer>
#include <QTimer>

namespace knee::net {

class HttpConnection : public QObject {
public:
    HttpConnection(HttpServer& server, QTcpSocket* socket);
    ~HttpConnection() override;

    void write(const QByteArray& bytes);
    bool http10() const { return m_http10; }
    bool keepAlive() const { return m_keepAlive && !m_server.draining(); }
    bool alive() const; // the client is still there to be written to
    qint64 bufferedBytes() const;
    void exchangeDone();
    // Closes after what was written so far: an unfinished chunked body stays unfinished.
    void close();
    // The server is shutting down: close now unless an answer is in progress (then after it).
    void drain();

private:
    // What the connection waits for, which decides the deadline that applies.
    enum class Wait { None, Head, Body, Handler, Idle };
    static constexpr qint64 kSocketBufferBytes = 64 * 1024;

    void read();
    void written();
    void process();
    void pull();
    void reject(int status, const QByteArray& why);
    void waitFor(Wait wait, int timeoutMs);
    void arm();
    void timedOut();
    void cut();

    HttpServer& m_server;
    QTcpSocket* m_socket;
    QByteArray m_buffer;
    std::shared_ptr<HttpExchange> m_current;
    QTimer m_timer;
    Wait m_wait = Wait::None;
    qsizetype m_need = 0;           // the size of the request being read, once its head is in
    QDeadlineTimer m_deadline;      // of m_wait (Head, Body, Idle)
    QDeadlineTimer m_writeDeadline; // for the client to take some of the bytes waiting unsent
    bool m_closing = false, m_continued = false, m_http10 = false, m_keepAlive = true;
    bool m_blocked = false; // a whole request waits until the client reads its earlier answers
};

} // namespace knee::net
