#include "response_meter.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>

#include <algorithm>
#include <cmath>

namespace knee::net {

namespace {
// A token count the endpoint reported, or -1 when it is not a whole number from 0 to 1e12: the value comes
// from the network, and converting an out-of-range double to an integer is undefined.
std::int64_t reportedTokens(const QJsonValue& v)
{
    const double d = v.toDouble(-1);
    return v.isDouble() && d >= 0 && d <= 1e12 && std::floor(d) == d ? std::int64_t(d) : -1;
}
} // namespace

std::optional<FailureKind> classifyTransport(const ExchangeFacts& f)
{
    if (f.timedOut)
        return FailureKind::Timeout;
    if (f.status >= 500)
        return FailureKind::Http5xx;
    if (f.status >= 400)
        return FailureKind::Http4xx;
    if (f.status >= 300)
        return FailureKind::Other; // redirects are not followed: the key must not travel
    switch (QNetworkReply::NetworkError(f.networkError)) {
    case QNetworkReply::NoError: return std::nullopt;
    case QNetworkReply::ConnectionRefusedError: return FailureKind::Refused;
    case QNetworkReply::TimeoutError: return FailureKind::Timeout;
    case QNetworkReply::SslHandshakeFailedError: return FailureKind::Tls;
    case QNetworkReply::ProtocolFailure: return FailureKind::Malformed; // what came back is not HTTP
    default: break;
    }
    if (f.tlsErrors)
        return FailureKind::Tls;
    return f.responseStarted ? FailureKind::StreamCut : FailureKind::Other;
}

void ResponseMeter::head(int, const QByteArray& contentType)
{
    m_sse = m_target.stream && contentType.trimmed().toLower().startsWith("text/event-stream");
}

void ResponseMeter::body(const QByteArray& bytes, Nanos at)
{
    if (bytes.isEmpty() || tooLarge())
        return;
    m_received += bytes.size();
    if (m_sse && m_received > kMaxStreamBytes) {
        m_bodyTooLong = true;
    } else if (m_sse) {
        for (const QByteArray& event : m_parser.feed(bytes))
            onEvent(event, at);
    } else if (m_body.size() + bytes.size() > kMaxBodyBytes) {
        m_bodyTooLong = true;
    } else {
        m_body += bytes;
    }
}

void ResponseMeter::onEvent(const QByteArray& payload, Nanos at)
{
    if (m_done || m_malformed)
        return;
    if (payload.trimmed() == "[DONE]") {
        m_done = true;
        return;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(payload, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        m_malformed = true;
        m_why = QStringLiteral("a stream event is not a JSON object (%1)").arg(pe.errorString());
        return;
    }
    const QJsonObject o = doc.object();
    if (o.contains(QLatin1String("error"))) {
        m_errorEvent = true;
        m_why = QStringLiteral("the stream carried an error event: %1").arg(o.value("error").toObject().value("message").toString().left(200));
        return;
    }
    const QJsonValue usage = o.value("usage").toObject().value("completion_tokens");
    if (usage.isDouble())
        m_usageTokens = reportedTokens(usage);
    const QJsonArray choices = o.value("choices").toArray();
    if (!o.value("choices").isArray() || (choices.isEmpty() && !usage.isDouble())) {
        m_malformed = true;
        m_why = QStringLiteral("a stream event has no choices");
        return;
    }
    if (!choices.isEmpty() && !choices.first().toObject().value("delta").toObject().value("content").toString().isEmpty()) {
        ++m_chunks;
        if (m_first < 0)
            m_first = at;
        m_last = at;
    }
}

void ResponseMeter::conclude(const ExchangeFacts& facts, const QString& transportError, const QString& timeoutPhase, Nanos intended,
                             HttpOutcome& out)
{
    out.status = facts.status;
    out.failure = classifyTransport(facts);
    if (tooLarge() && !facts.timedOut && facts.status < 300) { // the transport ended it at the limit
        out.failure = FailureKind::Malformed;
        out.detail = m_parser.overflowed() ? QStringLiteral("a stream event is larger than 4 MiB")
            : m_sse                        ? QStringLiteral("the stream is larger than 64 MiB")
                                           : QStringLiteral("the response is larger than 16 MiB");
    } else if (out.failure) {
        out.detail = facts.timedOut ? timeoutPhase
            : facts.status >= 300    ? QStringLiteral("HTTP %1").arg(facts.status)
                                     : transportError;
    } else if (m_sse) {
        if (m_malformed) {
            out.failure = FailureKind::Malformed;
            out.detail = m_why;
        } else if (m_errorEvent || !m_done) {
            out.failure = FailureKind::StreamCut;
            out.detail = m_errorEvent ? m_why : QStringLiteral("the stream ended without data: [DONE]");
        } else {
            out.tokens = m_usageTokens >= 0 ? m_usageTokens : m_chunks;
            if (m_first >= 0)
                out.ttft = m_first - intended;
            if (m_chunks > 1)
                out.itl = (m_last - m_first) / (m_chunks - 1);
        }
    } else {
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(m_body, &pe);
        if (pe.error != QJsonParseError::NoError) {
            out.failure = FailureKind::Malformed;
            out.detail = QStringLiteral("the response is not JSON (%1 at byte %2)").arg(pe.errorString()).arg(pe.offset);
        } else if (m_target.kind == HttpTarget::Kind::OpenAI
                   && (!doc.isObject() || doc.object().value("choices").toArray().isEmpty())) {
            out.failure = FailureKind::Malformed;
            out.detail = QStringLiteral("an OpenAI response without choices");
        } else if (m_target.kind == HttpTarget::Kind::OpenAI) {
            out.tokens = std::max<std::int64_t>(0, reportedTokens(doc.object().value("usage").toObject().value("completion_tokens")));
        }
    }
}

} // namespace knee::net
