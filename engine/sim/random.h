// A small, fast, portable RNG (xoshiro256**, seeded through splitmix64). We do not use
// std::*_distribution because their output differs between standard libraries, and runs must
// replay identically for a seed wherever they are built.
#pragma once
#include <cmath>
#include <cstdint>

namespace knee {

class Rng {
public:
    explicit Rng(std::uint64_t seed = 1) { reseed(seed); }

    void reseed(std::uint64_t seed)
    {
        for (auto& word : m_s) {
            seed += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            word = z ^ (z >> 31);
        }
    }

    std::uint64_t next()
    {
        const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
        const std::uint64_t t = m_s[1] << 17;
        m_s[2] ^= m_s[0];
        m_s[3] ^= m_s[1];
        m_s[1] ^= m_s[2];
        m_s[0] ^= m_s[3];
        m_s[2] ^= t;
        m_s[3] = rotl(m_s[3], 45);
        return result;
    }

    // Uniform in (0, 1): never exactly 0, so log(u) is always finite.
    double uniform01() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }

    double exponential(double mean) { return -mean * std::log(uniform01()); }

    // Standard normal by Box–Muller (one of the pair is discarded: simplicity over speed here).
    double normal()
    {
        const double u1 = uniform01(), u2 = uniform01();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t m_s[4]{};
};

// Independent streams for independent purposes: a request's stage times come from their own
// streams, so changing a knob does not change what the model does to request #i (common random
// numbers make configurations directly comparable).
inline std::uint64_t streamSeed(std::uint64_t seed, std::uint64_t stream)
{
    return seed * 0x2545F4914F6CDD1Dull + stream * 0x9E3779B97F4A7C15ull + 1;
}

} // namespace knee
