#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace knee {

int LatencyHistogram::bucketIndex(Nanos value)
{
    if (value < kSubBuckets)
        return int(std::max<Nanos>(value, 0));
    const int exponent = 63 - std::countl_zero(std::uint64_t(value)); // at most kMaxExponent: value is positive
    const int shift = exponent - kSubBucketBits;
    const std::int64_t sub = (value >> shift) - kSubBuckets;
    return int(kSubBuckets + std::int64_t(shift) * kSubBuckets + sub);
}

Nanos LatencyHistogram::bucketLow(int index)
{
    if (index < kSubBuckets)
        return index;
    const int shift = int((index - kSubBuckets) / kSubBuckets);
    const std::int64_t sub = (index - kSubBuckets) % kSubBuckets;
    return (kSubBuckets + sub) << shift;
}

Nanos LatencyHistogram::bucketWidth(int index)
{
    if (index < kSubBuckets)
        return 1;
    return Nanos(1) << int((index - kSubBuckets) / kSubBuckets);
}

void LatencyHistogram::record(Nanos value)
{
    value = std::max<Nanos>(value, 0);
    ++m_buckets[std::size_t(bucketIndex(value))];
    if (m_count == 0 || value < m_min)
        m_min = value;
    if (m_count == 0 || value > m_max)
        m_max = value;
    ++m_count;
    m_sum += value;
}

void LatencyHistogram::merge(const LatencyHistogram& other)
{
    if (other.m_count == 0)
        return;
    for (std::size_t i = 0; i < m_buckets.size(); ++i)
        m_buckets[i] += other.m_buckets[i];
    m_min = m_count ? std::min(m_min, other.m_min) : other.m_min;
    m_max = m_count ? std::max(m_max, other.m_max) : other.m_max;
    m_count += other.m_count;
    m_sum += other.m_sum;
}

void LatencyHistogram::clear() { *this = LatencyHistogram(); }

Nanos LatencyHistogram::quantile(double q) const
{
    if (m_count == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = std::max<std::int64_t>(1, std::int64_t(std::ceil(q * double(m_count))));
    if (rank >= m_count)
        return m_max; // exact
    std::int64_t seen = 0;
    for (int i = 0; i < kBucketCount; ++i) {
        seen += std::int64_t(m_buckets[std::size_t(i)]);
        if (seen >= rank) {
            const Nanos mid = bucketLow(i) + bucketWidth(i) / 2;
            return std::clamp(mid, m_min, m_max);
        }
    }
    return m_max;
}

std::int64_t LatencyHistogram::countAbove(Nanos threshold) const
{
    if (m_count == 0 || threshold >= m_max)
        return 0;
    if (threshold < m_min)
        return m_count;
    std::int64_t above = 0;
    for (int i = bucketIndex(threshold); i < kBucketCount; ++i)
        if (bucketLow(i) + bucketWidth(i) / 2 > threshold)
            above += std::int64_t(m_buckets[std::size_t(i)]);
    return above;
}

LatencyHistogram::Sparse LatencyHistogram::toSparse() const
{
    Sparse s;
    for (int i = 0; i < kBucketCount; ++i)
        if (m_buckets[std::size_t(i)])
            s.buckets.emplace_back(i, m_buckets[std::size_t(i)]);
    s.count = m_count;
    s.min = min();
    s.max = max();
    s.sum = m_sum;
    return s;
}

bool LatencyHistogram::fromSparse(const Sparse& s)
{
    clear();
    std::int64_t total = 0;
    for (const auto& [index, n] : s.buckets) {
        if (index < 0 || index >= kBucketCount || n == 0 || n > std::uint64_t(INT64_MAX - total)) {
            clear();
            return false;
        }
        m_buckets[std::size_t(index)] += n;
        total += std::int64_t(n);
    }
    const bool consistent = total == s.count && s.min >= 0 && s.min <= s.max && s.sum >= 0
        && (total == 0 || (bucketIndex(s.min) <= bucketIndex(s.max)));
    if (!consistent) {
        clear();
        return false;
    }
    m_count = total;
    m_min = s.min;
    m_max = s.max;
    m_sum = s.sum;
    return true;
}

} // namespace knee
