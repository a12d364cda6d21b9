// What the predict benchmarks' command lines and tables share (sharing_bench.cpp, order_bench.cpp).
#pragma once
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace knee::bench {

inline std::vector<std::string> split(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string part; std::getline(in, part, ',');)
        if (!part.empty())
            out.push_back(part);
    return out;
}

inline std::vector<int> ints(const std::string& s)
{
    std::vector<int> out;
    for (const std::string& p : split(s))
        out.push_back(std::max(1, std::atoi(p.c_str())));
    return out;
}

inline double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
}

} // namespace knee::bench
