// What both transports share once bytes arrive: the response's measuring (body, or an OpenAI SSE
// stream's tokens and their times) and the classification of how the exchange ended into one
// failure kind (failure_kind.h). The transports (QNetworkAccessManager for https://, the
// hand-written HTTP/1.1 client in http1_transport.h for http://) only report facts: the status, the
// content type, the body bytes as they come, and how the exchange ended (ExchangeFacts).
#pragma once
#include "failure_kind.h"
#include "http_target.h"
#include "sse_parser.h"

#include "base/time.h"

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <optional>

namespace knee::net {

struct HttpOutcome {
    bool ok() const { return !failure && !aborted; }
    std::optional<FailureKind> failure;
    bool aborted = false;    // ended by abortAll() (a level's end): counted as neither ok nor failed
    int status = 0;          // HTTP status, 0 when none came
    Nanos latency = 0;       // intended send time → last byte (or the failure)
    Nanos ttft = -1;         // streaming: intended send time → first content chunk
    Nanos itl = -1;          // streaming: mean gap between content chunks (two or more)
    std::int64_t tokens = 0; // usage.completion_tokens when the server says, else content chunks
    QString detail;          // what happened, for people (never the key)
};

// How an exchange ended, in QNetworkAccessManager's terms (the socket transport maps its errors to
// the same QNetworkReply::NetworkError codes, so one classification serves both).
struct ExchangeFacts {
    int networkError = 0;         // QNetworkReply::NetworkError
    int status = 0;               // HTTP status (0: none)
    bool timedOut = false;        // our connect/response timer fired
    bool tlsErrors = false;       // sslErrors was emitted
    bool responseStarted = false; // headers or body bytes arrived
};
// Classification of a finished exchange, kept apart so tests can check every branch.
std::optional<FailureKind> classifyTransport(const ExchangeFacts& facts);

// One response as it arrives: call head() once the status line and headers are in, body() for each
// piece of the (de-chunked) body, then conclude().
class ResponseMeter {
public:
    static constexpr qsizetype kMaxBodyBytes = 16 * 1024 * 1024;   // a longer non-streamed body is not what we measure
    static constexpr qsizetype kMaxStreamBytes = 64 * 1024 * 1024; // nor a longer stream (its events are not kept)

    explicit ResponseMeter(const HttpTarget& target)
        : m_target(target)
    {
    }
    void head(int status, const QByteArray& contentType);
    void body(const QByteArray& bytes, Nanos at);
    bool sse() const { return m_sse; }
    // The response passed a size limit: the transport ends it there (it fails `malformed`).
    bool tooLarge() const { return m_bodyTooLong || m_parser.overflowed(); }
    // Fills out.failure/detail/tokens/ttft/itl from the transport's facts and what the body said.
    // `transportError` is the transport's own words for a failure; `timeoutPhase` what timed out.
    void conclude(const ExchangeFacts& facts, const QString& transportError, const QString& timeoutPhase, Nanos intended,
                  HttpOutcome& out);

private:
    void onEvent(const QByteArray& payload, Nanos at);

    const HttpTarget& m_target;
    bool m_sse = false;
    QByteArray m_body;
    qint64 m_received = 0; // body bytes so far
    bool m_bodyTooLong = false;
    // An OpenAI-style stream, so far.
    SseParser m_parser;
    bool m_done = false, m_malformed = false, m_errorEvent = false;
    QString m_why;
    Nanos m_first = -1, m_last = -1;
    std::int64_t m_chunks = 0, m_usageTokens = -1;
};

} // namespace knee::net
