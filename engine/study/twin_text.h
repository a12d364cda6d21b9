// How the study's texts print numbers and lists of levels or targets (twin.cpp, twin_runs.cpp,
// grid.cpp).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace knee::twin_text {

inline std::string fixed(double v, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

inline std::string levelList(const std::vector<int>& levels)
{
    std::string out;
    for (std::size_t i = 0; i < levels.size(); ++i)
        out += (i ? ", " : "") + std::to_string(levels[i]);
    return out;
}

} // namespace knee::twin_text
