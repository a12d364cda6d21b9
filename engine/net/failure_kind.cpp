#include "failure_kind.h"

namespace knee::net {

std::string_view failureKindName(FailureKind kind)
{
    switch (kind) {
    case FailureKind::Refused: return "refused";
    case FailureKind::Timeout: return "timeout";
    case FailureKind::Tls: return "tls";
    case FailureKind::Http4xx: return "http_4xx";
    case FailureKind::Http5xx: return "http_5xx";
    case FailureKind::StreamCut: return "stream_cut";
    case FailureKind::Malformed: return "malformed";
    case FailureKind::Other: return "other";
    }
    return "other";
}

} // namespace knee::net
