#include "yaml_text.h"

#include <algorithm>
#include <cstdio>

namespace knee::io {

namespace {

std::string hexByte(unsigned char b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", unsigned(b));
    return buf;
}

std::string codePoint(char32_t c)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", unsigned(c));
    return buf;
}

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 when it is not valid UTF-8
// (truncated, overlong, a surrogate, above U+10FFFF).
std::size_t decode(std::string_view text, std::size_t i, char32_t& out)
{
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
        out = b0;
        return 1;
    }
    std::size_t len = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2, out = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, out = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, out = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > text.size())
        return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0) != 0x80)
            return 0;
        out = (out << 6) | (b & 0x3F);
    }
    if (out < min || out > 0x10FFFF || (out >= 0xD800 && out <= 0xDFFF))
        return 0;
    return len;
}

bool allowedInYaml(char32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r' || c == 0x85)
        return true;
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
        return false;
    return c != 0xFFFE && c != 0xFFFF;
}

} // namespace

std::optional<TextProblem> checkYamlText(std::string_view text)
{
    YamlMark at;
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        const std::size_t len = decode(text, i, c);
        if (len == 0)
            return TextProblem { at,
                "byte " + hexByte(static_cast<unsigned char>(text[i]))
                    + " is not valid UTF-8; a scenario file must be UTF-8 text" };
        if (!allowedInYaml(c))
            return TextProblem { at,
                "control character " + codePoint(c) + " is not allowed in YAML text (is this a binary file?)" };
        if (c == '\n') {
            ++at.line;
            at.column = 0;
        } else {
            at.column += int(len);
        }
        i += len;
    }
    return std::nullopt;
}

std::optional<YamlMark> findIndentationTab(std::string_view text, int lastLine)
{
    int line = 0;
    bool inIndentation = true;
    int column = 0;
    for (char c : text) {
        if (line > lastLine)
            break;
        if (c == '\n') {
            ++line;
            inIndentation = true;
            column = 0;
            continue;
        }
        if (inIndentation && c == '\t')
            return YamlMark { line, column };
        if (c != ' ')
            inIndentation = false;
        ++column;
    }
    return std::nullopt;
}

int characterColumn(std::string_view text, YamlMark mark)
{
    // Find the line's start, then count the characters (not UTF-8 continuation bytes) before the mark.
    std::size_t start = 0;
    for (int line = 0; line < mark.line; ++line) {
        const std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos)
            return mark.column;
        start = nl + 1;
    }
    const std::size_t end = std::min(text.size(), start + std::size_t(std::max(mark.column, 0)));
    int column = 0;
    for (std::size_t i = start; i < end; ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
            ++column;
    return column + int(start + std::size_t(std::max(mark.column, 0)) - end); // past the end: keep the excess
}

} // namespace knee::io
