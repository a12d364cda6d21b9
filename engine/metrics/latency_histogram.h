// Latency histogram with bounded relative error and constant memory (log-linear buckets, as in
// HdrHistogram): 128 sub-buckets per power of two, so a reported quantile is within 0.4 % of the
// true sample value (half a bucket over its lower edge), however many values are recorded. The
// buckets cover every value a Nanos holds (up to 2^63 ns, 292 years), 57 KiB in all: no value is
// clamped (they stopped at 2^48 ns, 78 h, until issue 12 item 9).
//
// Written here rather than taken from a library because Debian 12 packages no HdrHistogram for
// C/C++; this is the 100 lines of it we need.
#pragma once
#include "base/time.h"

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace knee {

class LatencyHistogram {
public:
    static constexpr int kSubBucketBits = 7;
    static constexpr std::int64_t kSubBuckets = std::int64_t(1) << kSubBucketBits; // 128
    static constexpr int kMaxExponent = 62; // the highest power of two below INT64_MAX: every Nanos has a bucket
    static constexpr int kBucketCount = int(kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets);
    // Worst-case relative error of quantile(): half a bucket width over the bucket's lower edge.
    static constexpr double kMaxRelativeError = 0.5 / double(kSubBuckets);

    void record(Nanos value);
    void merge(const LatencyHistogram& other);
    void clear();

    std::int64_t count() const { return m_count; }
    Nanos min() const { return m_count ? m_min : 0; }
    Nanos max() const { return m_count ? m_max : 0; }
    double mean() const { return m_count ? double(m_sum) / double(m_count) : 0.0; } // exact, in ns
    // Nearest-rank quantile, q in [0, 1]: a value v with at least ceil(q·n) samples ≤ v (within the
    // bucket's error), clamped to [min, max] so the extremes are exact. 0 when empty.
    Nanos quantile(double q) const;
    // How many values exceed `threshold`; a value in the bucket that holds the threshold counts as
    // above when the bucket's midpoint is (so the answer is exact to within one bucket, 0.8 %).
    std::int64_t countAbove(Nanos threshold) const;

    // Sparse form for saving: (bucket index, count) of non-empty buckets, plus the exact extras.
    struct Sparse {
        std::vector<std::pair<int, std::uint64_t>> buckets;
        std::int64_t count = 0;
        Nanos min = 0, max = 0;
        long double sum = 0;
    };
    Sparse toSparse() const;
    // False (and the histogram left empty) if the data is inconsistent: bad index, counts that
    // do not add up, min > max.
    bool fromSparse(const Sparse& sparse);

    static int bucketIndex(Nanos value);
    static Nanos bucketLow(int index);
    static Nanos bucketWidth(int index);

private:
    std::array<std::uint64_t, kBucketCount> m_buckets{};
    std::int64_t m_count = 0;
    Nanos m_min = 0, m_max = 0;
    long double m_sum = 0; // exact for any realistic run: 64-bit mantissa
};

} // namespace knee
