#include "confidence.h"

#include "sim/random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace knee {

double studentT975(int df)
{
    // t(0.975, df) for df = 1 … 30 (any statistics table); beyond, the Cornish–Fisher expansion's first terms.
    static constexpr std::array<double, 30> table{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                                  2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                                  2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1)
        return table[0];
    if (df <= int(table.size()))
        return table[std::size_t(df - 1)];
    const double z = 1.959964, n = df;
    return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

Interval meanInterval95(const std::vector<double>& values, std::uint64_t seed)
{
    const std::size_t n = values.size();
    if (n == 0)
        return {};
    if (n == 1)
        return {values[0], values[0]};
    // The expanded tail: α' / 2 = Φ(−√(n / (n − 1)) · t(0.975, n − 1)).
    const double t = std::sqrt(double(n) / double(n - 1)) * studentT975(int(n) - 1);
    const double tail = 0.5 * std::erfc(t / std::sqrt(2.0));
    Rng rng(seed);
    std::vector<double> means(kBootstrapResamples);
    for (double& m : means) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i)
            sum += values[std::size_t(rng.uniform01() * double(n)) % n];
        m = sum / double(n);
    }
    std::sort(means.begin(), means.end());
    auto at = [&](double q) { // nearest rank in the sorted resampled means
        const double rank = std::clamp(q * double(means.size()), 0.0, double(means.size() - 1));
        return means[std::size_t(rank)];
    };
    return {at(tail), at(1 - tail)};
}

} // namespace knee
