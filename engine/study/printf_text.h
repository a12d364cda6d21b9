// printf-style text for the messages and summaries the study layer writes. (std::format is not in
// Debian 12's GCC 12; Qt's QString::asprintf would pull Qt into code that has none.)
#pragma once
#include <cstdarg>
#include <cstdio>
#include <string>

namespace knee {

__attribute__((format(printf, 1, 2))) inline std::string printfText(const char* format, ...)
{
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return buf;
}

} // namespace knee
