#include "prometheus_text.h"

#include <charconv>

namespace knee::net {

namespace {

bool nameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool nameChar(char c) { return nameStart(c) || (c >= '0' && c <= '9'); }
bool blank(char c) { return c == ' ' || c == '\t'; }

struct Cursor {
    const char* p;
    const char* end;
    bool done() const { return p >= end; }
    void skipBlanks()
    {
        while (p < end && blank(*p))
            ++p;
    }
    QByteArrayView name()
    {
        const char* start = p;
        if (p < end && nameStart(*p))
            while (p < end && nameChar(*p))
                ++p;
        return {start, p - start};
    }
};

// A sample value: a float as C writes it, or NaN, +Inf, -Inf (any case). Locale-free (std::from_chars):
// a QCoreApplication sets the C locale from the environment, where strtod may want a decimal comma.
bool parseValue(QByteArrayView token, double& out)
{
    const char* b = token.data();
    const char* e = b + token.size();
    if (b < e && *b == '+')
        ++b;
    const auto [ptr, ec] = std::from_chars(b, e, out);
    return ec == std::errc() && ptr == e;
}

// Reads {name="value",...} into `labels`; false (with `why`) when malformed.
bool parseLabels(Cursor& c, std::vector<std::pair<QByteArray, QByteArray>>& labels, const char*& why)
{
    ++c.p; // '{'
    for (;;) {
        c.skipBlanks();
        if (c.done()) {
            why = "unterminated label set";
            return false;
        }
        if (*c.p == '}') {
            ++c.p;
            return true;
        }
        const QByteArrayView key = c.name();
        if (key.isEmpty()) {
            why = "bad label name";
            return false;
        }
        c.skipBlanks();
        if (c.done() || *c.p != '=') {
            why = "label without '='";
            return false;
        }
        ++c.p;
        c.skipBlanks();
        if (c.done() || *c.p != '"') {
            why = "label value without quotes";
            return false;
        }
        ++c.p;
        QByteArray value;
        for (;;) {
            if (c.done()) {
                why = "unterminated label value";
                return false;
            }
            const char ch = *c.p++;
            if (ch == '"')
                break;
            if (ch != '\\') {
                value += ch;
                continue;
            }
            if (c.done()) {
                why = "unterminated label value";
                return false;
            }
            const char esc = *c.p++;
            value += esc == 'n' ? '\n' : esc; // \\ and \" stand for themselves
        }
        labels.emplace_back(key.toByteArray(), std::move(value));
        c.skipBlanks();
        if (!c.done() && *c.p == ',')
            ++c.p;
        else if (c.done() || *c.p != '}') {
            why = "labels not separated by ','";
            return false;
        }
    }
}

} // namespace

QByteArray PromSample::label(QByteArrayView key) const
{
    for (const auto& [k, v] : labels)
        if (k == key)
            return v;
    return {};
}

PromText parsePrometheusText(QByteArrayView text, const std::function<bool(QByteArrayView name)>& wanted)
{
    PromText out;
    const char* p = text.data();
    const char* const end = p + text.size();
    int lineNumber = 0;
    auto bad = [&](const char* why) {
        if (out.badLines++ == 0)
            out.firstError = QStringLiteral("line %1: %2").arg(lineNumber).arg(QLatin1String(why));
    };
    while (p < end) {
        ++lineNumber;
        const char* eol = p;
        while (eol < end && *eol != '\n')
            ++eol;
        Cursor c{p, eol > p && eol[-1] == '\r' ? eol - 1 : eol};
        p = eol + 1;
        c.skipBlanks();
        if (c.done())
            continue;
        if (*c.p == '#') { // # TYPE name type; HELP, EOF and other comments are skipped
            ++c.p;
            c.skipBlanks();
            if (QByteArrayView(c.p, c.end - c.p).startsWith("TYPE")) {
                c.p += 4;
                c.skipBlanks();
                const QByteArrayView name = c.name();
                c.skipBlanks();
                const QByteArrayView type(c.p, c.end - c.p);
                if (!name.isEmpty() && !type.trimmed().isEmpty())
                    out.types.emplace_back(name.toByteArray(), type.trimmed().toByteArray());
            }
            continue;
        }
        const QByteArrayView name = c.name();
        if (name.isEmpty()) {
            bad("a sample must start with a metric name");
            continue;
        }
        if (wanted && !wanted(name))
            continue;
        PromSample s;
        const char* why = nullptr;
        if (!c.done() && *c.p == '{' && !parseLabels(c, s.labels, why)) {
            bad(why);
            continue;
        }
        if (c.done() || !blank(*c.p)) {
            bad("no value after the name");
            continue;
        }
        c.skipBlanks();
        const char* valueStart = c.p;
        while (!c.done() && !blank(*c.p))
            ++c.p;
        if (!parseValue(QByteArrayView(valueStart, c.p - valueStart), s.value)) {
            bad("the value is not a number");
            continue;
        }
        c.skipBlanks();
        if (!c.done()) { // an optional timestamp (ms since the epoch), then nothing
            const char* tsStart = c.p;
            while (!c.done() && !blank(*c.p))
                ++c.p;
            const char* tsEnd = c.p;
            long long ts = 0;
            const auto [ptr, ec] = std::from_chars(tsStart, tsEnd, ts);
            c.skipBlanks();
            if (ec != std::errc() || ptr != tsEnd || !c.done()) {
                bad("unexpected text after the value");
                continue;
            }
        }
        s.name = name.toByteArray();
        out.samples.push_back(std::move(s));
    }
    return out;
}

} // namespace knee::net
