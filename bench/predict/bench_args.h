// What the predict benchmarks' command lines, backends and tables share (sharing_bench.cpp, order_bench.cpp).
#pragma once
#include "predict/factory.h"
#include "predict/model.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
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

// The backend asked for ("gpu" or "cpu"), its notice printed; empty (after saying why on stderr) when the
// GPU was asked for and there is none: a predict benchmark's figures would then be the CPU's.
inline std::optional<predict::BackendChoice> openBackend(const char* tool, const std::string& backendName)
{
    predict::FactoryOptions fo;
    fo.prefer = backendName == "cpu" ? predict::Preference::Cpu : predict::Preference::Cuda;
    predict::BackendChoice choice = predict::makeBackend(fo);
    std::printf("backend: %s\n\n", choice.notice.c_str());
    if (backendName != "cpu" && !choice.gpu) {
        std::fprintf(stderr, "%s: no GPU (%s)\n", tool, choice.notice.c_str());
        return std::nullopt;
    }
    return choice;
}

// The built-in profile's model, or empty after naming the unknown profile on stderr.
inline std::shared_ptr<const predict::Model> profileModel(const char* tool, const std::string& name)
{
    const auto profile = predict::findProfile(name);
    if (!profile) {
        std::fprintf(stderr, "%s: no profile %s\n", tool, name.c_str());
        return nullptr;
    }
    return predict::Model::generate(*profile);
}

} // namespace knee::bench
