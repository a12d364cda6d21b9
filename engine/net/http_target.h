// An HTTP endpoint to measure: where it is, what to send, how long to wait, and where its API key
// comes from. The key itself is never part of the target: sessions, exports and logs see only its
// source (env:NAME or keychain:SERVICE/KEY), and the client sends it to the configured host only.
#pragma once
#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrl>

#include <cstdint>
#include <memory>

namespace knee::net {

struct Dataset;

struct HttpTarget {
    enum class Kind { Generic, OpenAI };
    Kind kind = Kind::Generic;
    QUrl url;                                     // e.g. http://127.0.0.1:8080/predict
    QList<QPair<QByteArray, QByteArray>> headers; // sent with every request (Content-Type is JSON unless set)
    // Request body with placeholders: {{id}} (request number), {{random}} (a random 32-bit number),
    // {{prompt}} (JSON-escaped, without quotes), {{max_tokens}}, {{stream}} (true/false), {{model}},
    // {{messages}} (a JSON list of chat messages: the dataset's, or one user message with the prompt).
    // Substituted in one pass: text a placeholder brings in is never expanded again. Empty: the kind's
    // default body.
    QByteArray bodyTemplate;
    bool stream = false; // OpenAI only: stream the response (SSE): time to first token, inter-token latency
    int maxTokens = 16;
    QString prompt = QStringLiteral("Write one sentence about concurrency.");
    QString model = QStringLiteral("knee");
    int connectTimeoutMs = 10'000;  // until the request is on the wire
    int responseTimeoutMs = 60'000; // longest silence after that: for the headers, and between stream chunks
    int requestTimeoutMs = 300'000; // the whole exchange, connecting included: a response that never ends (an endless
                                    // body, a stream without [DONE], a trickle) fails `timeout` after this
    int maxConnections = 64;        // requests (and connections) in flight at once
    QString apiKeySource;           // empty, env:NAME or keychain:SERVICE/KEY
    // Optional prompts (dataset.h): request N sends entry N mod size, its prompt or messages and its
    // max_tokens (the target's maxTokens when it asks none). Shared, never changed once set.
    std::shared_ptr<const Dataset> dataset;

    // Empty when usable, else what is wrong (one line per problem).
    QString validate() const;
    // For sessions and the command line's JSON: never the key, only where it comes from.
    QJsonObject toJson() const;
    QByteArray effectiveBodyTemplate() const;
    QByteArray renderBody(std::uint64_t requestId, std::uint32_t random) const;
    static const char* kindName(Kind kind) { return kind == Kind::OpenAI ? "openai" : "generic"; }
};

// Parses "Name: value" (a --header flag); empty name on error.
QPair<QByteArray, QByteArray> parseHeader(const QString& text, QString& error);

struct ApiKey {
    QByteArray key;
    QString error; // set when the source names a key that cannot be read
};
// Reads the key from its source: env:NAME (an environment variable) or keychain:SERVICE/KEY (the
// system keychain, through QtKeychain; waits on a local event loop). An empty source gives no key.
ApiKey resolveApiKey(const QString& source);
bool keychainAvailable();

} // namespace knee::net
