// Simulated time (shared by every engine layer): integer nanoseconds, so event ordering is exact and a run is bit-for-bit
// deterministic for a seed (floating-point timestamps would drift with the sum order).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

namespace knee {

using Nanos = std::int64_t;

inline constexpr Nanos kNanosPerMs = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;
inline constexpr Nanos kNever = std::numeric_limits<Nanos>::max();

inline Nanos msToNanos(double ms) { return static_cast<Nanos>(std::llround(ms * double(kNanosPerMs))); }
inline Nanos secondsToNanos(double s) { return static_cast<Nanos>(std::llround(s * double(kNanosPerSecond))); }
inline double nanosToMs(Nanos t) { return double(t) / double(kNanosPerMs); }
inline double nanosToSeconds(Nanos t) { return double(t) / double(kNanosPerSecond); }

} // namespace knee
