#include "sse_parser.h"

namespace knee::net {

QList<QByteArray> SseParser::feed(const QByteArray& bytes)
{
    QList<QByteArray> events;
    m_buffer += bytes;
    qsizetype start = 0;
    for (;;) {
        const qsizetype nl = m_buffer.indexOf('\n', start);
        if (nl < 0)
            break;
        QByteArray line = m_buffer.mid(start, nl - start);
        start = nl + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty()) { // blank line: the event is complete
            if (m_hasData)
                events.append(m_data);
            m_data.clear();
            m_hasData = false;
            continue;
        }
        if (line.startsWith(':'))
            continue; // a comment (keep-alive)
        if (line.startsWith("data:")) {
            QByteArray value = line.mid(5);
            if (value.startsWith(' '))
                value.remove(0, 1);
            if (m_hasData)
                m_data += '\n';
            m_data += value;
            m_hasData = true;
        } // event:, id:, retry: carry nothing we measure
    }
    m_buffer.remove(0, start);
    if (m_buffer.size() + m_data.size() > kMaxEventBytes) {
        m_overflowed = true;
        m_buffer.clear();
        m_data.clear();
    }
    return events;
}

} // namespace knee::net
