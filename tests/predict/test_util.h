// Helpers shared by the predict tests: a minimal check-and-report harness and fresh random data.
// Plain executables (no Qt Test) so they also run on GPU machines that have no Qt; CTest reads the exit code.
#pragma once
#include "predict/backend.h"
#include "predict/bf16.h"
#include "predict/model.h"
#include "predict/reference.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace knee::predict::test {

// CTest's SKIP_RETURN_CODE for these tests: a GPU test on a machine without a GPU reports SKIPPED.
inline constexpr int kSkipped = 77;

class Report {
public:
    explicit Report(const char* name)
        : m_name(name)
    {
        std::printf("== %s\n", name);
    }
    bool check(bool ok, const std::string& what)
    {
        std::printf("%s %s\n", ok ? "  ok  " : "  FAIL", what.c_str());
        std::fflush(stdout);
        if (!ok)
            ++m_failures;
        ++m_checks;
        return ok;
    }
    int finish() const
    {
        std::printf("== %s: %d checks, %d failed\n", m_name, m_checks, m_failures);
        return m_failures == 0 ? 0 : 1;
    }

private:
    const char* m_name;
    int m_checks = 0;
    int m_failures = 0;
};

// Fresh seeds every run, so the backends are checked on inputs nobody tuned them for. The first seed
// is printed; KNEE_TEST_SEED=<n> replays a run.
inline std::uint64_t nextSeed()
{
    static std::uint64_t state = [] {
        std::uint64_t s = 0;
        if (const char* env = std::getenv("KNEE_TEST_SEED"))
            s = std::strtoull(env, nullptr, 10);
        else
            s = (std::uint64_t(std::random_device {}()) << 32)
                ^ std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
        std::printf("   seed %llu (KNEE_TEST_SEED replays it)\n", static_cast<unsigned long long>(s));
        return s;
    }();
    return state++;
}

inline std::vector<Bf16> randomInput(int batch, int hidden)
{
    std::vector<Bf16> v(std::size_t(batch) * std::size_t(hidden));
    fillUniform(v.data(), v.size(), nextSeed());
    return v;
}

// NaN everywhere: whatever a backend fails to write makes the error NaN, and NaN fails every check.
inline std::vector<Bf16> poisoned(int batch, int hidden) { return std::vector<Bf16>(std::size_t(batch) * std::size_t(hidden), kBf16NaN); }

inline ModelProfile freshProfile(int hidden, int layers)
{
    return ModelProfile { "test-" + std::to_string(hidden) + "x" + std::to_string(layers), hidden, layers, nextSeed() };
}

inline std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

} // namespace knee::predict::test
