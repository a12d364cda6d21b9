// Why a request to an endpoint failed. Every failure has exactly one kind, so a level's counts add
// up: sent = ok + the sum over kinds (+ requests aborted at the end of a level, never counted).
#pragma once
#include <array>
#include <string_view>

namespace knee::net {

enum class FailureKind {
    Refused,   // nothing listens there (connection refused)
    Timeout,   // no connection, or no response byte, within the configured time
    Tls,       // handshake or certificate errors
    Http4xx,   // the server answered 4xx (429 included)
    Http5xx,   // the server answered 5xx
    StreamCut, // the response began, then ended before it was whole (no [DONE], short body)
    Malformed, // the body is not what the kind promises (not JSON, no choices, bad SSE payload)
    Other,     // anything else: DNS, a redirect not followed, a connection closed before answering
};
inline constexpr int kFailureKindCount = 8;
inline constexpr std::array<FailureKind, kFailureKindCount> kFailureKinds{
    FailureKind::Refused, FailureKind::Timeout, FailureKind::Tls, FailureKind::Http4xx,
    FailureKind::Http5xx, FailureKind::StreamCut, FailureKind::Malformed, FailureKind::Other};

// The stable names used in JSON, CSV and sessions: refused, timeout, tls, http_4xx, http_5xx, stream_cut, malformed, other.
std::string_view failureKindName(FailureKind kind);

} // namespace knee::net
