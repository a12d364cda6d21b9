// Server-sent events, incrementally: bytes in as they arrive, each complete event's `data:` payload
// out (multi-line data joined with '\n', as the spec says). Only what OpenAI-style streams use.
#pragma once
#include <QByteArray>
#include <QList>

namespace knee::net {

class SseParser {
public:
    // Appends bytes; returns the data payloads of events completed by them.
    QList<QByteArray> feed(const QByteArray& bytes);
    bool pendingBytes() const { return !m_buffer.isEmpty() || m_hasData; } // an event was left unfinished
    static constexpr qsizetype kMaxEventBytes = 4 * 1024 * 1024; // beyond this the stream is malformed
    bool overflowed() const { return m_overflowed; }

private:
    QByteArray m_buffer; // an incomplete line
    QByteArray m_data;   // data lines of the event being read
    bool m_hasData = false;
    bool m_overflowed = false;
};

} // namespace knee::net
