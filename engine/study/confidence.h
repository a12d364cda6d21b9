// Confidence intervals over repeated measurements of one level (issue 17: `--repeats N`).
// The interval of a figure is the expanded percentile bootstrap of the mean of its per-repeat values
// (Hesterberg, "What teachers should know about the bootstrap", 2015, §5.2): the plain percentile
// bootstrap is too narrow for the handful of repeats a sweep affords (its 95 % interval covers the mean
// ~ 85 % of the time at n = 5), so the tails it reads are widened to α' / 2 = Φ(−√(n / (n − 1)) · t(n − 1))
// instead of α / 2, which brings its coverage to the nominal rate for near-normal figures. Resampling is
// seeded: the same values give the same interval.
// Written here because Debian packages no bootstrap library for C++; it is 60 lines.
#pragma once
#include <cstdint>
#include <vector>

namespace knee {

struct Interval {
    double lo = 0, hi = 0;
    bool contains(double v) const { return lo <= v && v <= hi; }
    double halfWidth() const { return (hi - lo) / 2; }
};

inline constexpr int kMaxRepeats = 20; // the t table below goes this far; more repeats buy little
inline constexpr int kBootstrapResamples = 4000;

// The 95 % interval of the mean of `values` (one value: that value; none: {0, 0}).
Interval meanInterval95(const std::vector<double>& values, std::uint64_t seed = 1);

// Student's t quantile at 0.975 for `df` degrees of freedom, 1 <= df (beyond the table: the normal's 1.96 plus its correction).
double studentT975(int df);

} // namespace knee
