// A loopback server that misbehaves on purpose, one way per path, for the client's tests:
//   /ok            200 JSON                      /slow        200 JSON after `slowMs`
//   /fail          500                           /missing     404
//   /malformed     200, a body that is not JSON  /sse         a whole OpenAI stream (3 tokens, [DONE])
//   /sse-cut       a stream cut after one token  /sse-nodone  a stream that ends without [DONE]
//   /sse-garbage   a stream event that is not JSON
//   /mixed         by request number: every 3rd a 500, every 5th malformed, the rest 200
// Every request's target and Authorization header are kept, to check where the API key went.
#pragma once
#include "net/http_server.h"

#include <QTimer>

class FaultServer {
public:
    int slowMs = 300;
    QList<QPair<QByteArray, QByteArray>> seen; // (target, Authorization) per request; empty when none was sent
    QList<QByteArray> authorizationsFor(const QByteArray& target) const
    {
        QList<QByteArray> out;
        for (const auto& [t, authorization] : seen)
            if (t == target)
                out.append(authorization);
        return out;
    }
    int requests = 0;

    FaultServer()
        : m_server([this](const knee::net::HttpRequest& r, const std::shared_ptr<knee::net::HttpExchange>& e) { handle(r, e); })
    {
    }
    bool start() { return m_server.listen(QHostAddress::LocalHost, 0).isEmpty(); }
    std::int64_t connections() const { return m_server.stats().connections; } // accepted so far
    QString url(const char* path) const { return QStringLiteral("http://127.0.0.1:%1%2").arg(m_server.port()).arg(QLatin1String(path)); }

private:
    static QByteArray event(const QByteArray& content)
    {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}\n\n";
    }

    void handle(const knee::net::HttpRequest& r, const std::shared_ptr<knee::net::HttpExchange>& e)
    {
        ++requests;
        seen.append({r.target, r.header("authorization")});
        const QByteArray path = r.path();
        if (path == "/ok") {
            e->respondJson(200, R"({"ok": true})");
        } else if (path == "/slow") {
            QTimer::singleShot(slowMs, [e] { e->respondJson(200, R"({"ok": true})"); });
        } else if (path == "/fail") {
            e->respondJson(500, R"({"error": "boom"})");
        } else if (path == "/missing") {
            e->respondJson(404, R"({"error": "no"})");
        } else if (path == "/malformed") {
            e->respondJson(200, "this is {not json");
        } else if (path.startsWith("/sse")) {
            e->startStream(200, "text/event-stream");
            e->writeChunk(event("a"));
            if (path == "/sse-cut") {
                QTimer::singleShot(20, [e] { e->cut(); });
                return;
            }
            if (path == "/sse-garbage") {
                e->writeChunk("data: {\"choices\": [oops\n\n");
                e->endStream();
                return;
            }
            e->writeChunk(event(" b") + event(" c"));
            if (path != "/sse-nodone")
                e->writeChunk("data: [DONE]\n\n");
            e->endStream();
        } else if (path == "/mixed") {
            if (requests % 3 == 0)
                e->respondJson(500, R"({"error": "boom"})");
            else if (requests % 5 == 0)
                e->respondJson(200, "{{{");
            else
                e->respondJson(200, R"({"ok": true})");
        } else {
            e->respondJson(404, "{}");
        }
    }

    knee::net::HttpServer m_server;
};
