#include "device_model.h"

#include <algorithm>
#include <cmath>

namespace knee {

SharingCurve::SharingCurve(const ModelConfig& model)
    : m_sharing(model.effectiveSharing())
    , m_table(model.predictTable)
    , m_tailMs(m_sharing.kind == DeviceSharing::Kind::Table ? std::max(0.0, model.predictTable.tailMs) : 0.0)
    , m_tailNs(m_tailMs * 1e6)
    , m_deviceTimes(m_sharing.kind == DeviceSharing::Kind::Table && model.predictTable.hasDeviceTimes())
{
}

double SharingCurve::tailNs(double soloNs, int batch) const
{
    soloNs = std::max(0.0, soloNs);
    if (m_deviceTimes) {
        const double host = m_table.msAt(double(batch), 1.0), device = m_table.deviceMsAt(double(batch), 1.0);
        // A device time above the host's (noise of two medians) leaves no tail rather than a negative one.
        const double offDevice = host > 0 && device > 0 ? std::clamp(1.0 - device / host, 0.0, 1.0) : 0.0;
        return soloNs * offDevice;
    }
    return std::min(m_tailNs, soloNs);
}

double SharingCurve::rate(int batch, int k) const
{
    if (k <= 1)
        return 1.0;
    const double r = shared(batch, k);
    // A table whose times reach 0 ms (extrapolated downwards) gives no rate: such a call goes at its solo speed
    // rather than an infinite or undefined one, which would stall the device's schedule.
    return std::isfinite(r) && r > 0 ? r : 1.0;
}

double SharingCurve::shared(int batch, int k) const
{
    switch (m_sharing.kind) {
    case DeviceSharing::Kind::Independent: return 1.0;
    case DeviceSharing::Kind::Serial: return 1.0 / double(k);
    case DeviceSharing::Kind::Speedup: {
        const auto& s = m_sharing.speedup;
        const double sk = s.empty() ? 1.0 : s[std::min<std::size_t>(std::size_t(k), s.size()) - 1];
        return sk / double(k);
    }
    case DeviceSharing::Kind::Table: {
        if (m_deviceTimes) // only the device work shares, at the device's own pace
            return m_table.deviceMsAt(double(batch), 1.0) / m_table.deviceMsAt(double(batch), double(k));
        const double solo = m_table.msAt(double(batch), 1.0), together = m_table.msAt(double(batch), double(k));
        // With a tail, only the device work is shared: started together, k calls still take T(b, k).
        if (m_tailMs > 0 && solo > m_tailMs && together > m_tailMs)
            return (solo - m_tailMs) / (together - m_tailMs);
        return solo / together;
    }
    }
    return 1.0;
}

void SharedDevice::progressTo(Nanos now)
{
    const double elapsed = double(now - m_last);
    if (elapsed > 0)
        for (Call& c : m_calls)
            c.remaining -= elapsed * c.rate;
    m_last = now;
}

void SharedDevice::reschedule(Nanos now, const SharingCurve& curve)
{
    ++m_generation;
    m_next = kNever;
    const int k = int(m_calls.size());
    for (Call& c : m_calls)
        c.rate = curve.rate(c.batch, k);
    if (const double order = curve.order(); order > 0 && k > 1) {
        // The device's total speed (in solo calls) is what processor sharing gives; oldest first hands it
        // out in start order, each call at most its solo speed, or its shared rate where a measured table
        // makes that faster (T(b, k) < T(b, 1): then every cap is above its share, and the total is still
        // handed out). The blend keeps the total, so throughput is the same for every order.
        double total = 0;
        for (const Call& c : m_calls)
            total += c.rate;
        for (Call& c : m_calls) {
            const double first = std::clamp(total, 0.0, std::max(1.0, c.rate));
            total -= first;
            c.rate = (1 - order) * c.rate + order * first;
        }
    }
    double soonest = -1;
    for (const Call& c : m_calls) {
        if (c.rate <= 0 && c.remaining > 0)
            continue; // oldest first: waits for the calls before it
        const double left = c.rate > 0 ? std::max(0.0, c.remaining) / c.rate : 0;
        if (soonest < 0 || left < soonest)
            soonest = left;
    }
    if (soonest >= 0)
        m_next = now + Nanos(std::ceil(soonest)); // never early: the call's work is done by then
}

void SharedDevice::start(Nanos now, std::uint32_t token, double soloNs, int batch, const SharingCurve& curve, double afterNs)
{
    progressTo(now);
    m_calls.push_back(Call{token, batch, soloNs, 1.0, afterNs});
    reschedule(now, curve);
}

void SharedDevice::finishDue(Nanos now, const SharingCurve& curve, std::vector<std::uint32_t>& finished)
{
    progressTo(now);
    // Half a nanosecond of slack: the completion was scheduled at the ceiling of its exact time, so a
    // call due now may show a rounding residue of work left.
    constexpr double kDone = 0.5;
    auto done = [](const Call& c) { return c.remaining <= kDone * c.rate; };
    double after = 0;
    for (const Call& c : m_calls)
        if (done(c)) {
            finished.push_back(c.token);
            after = std::max(after, c.afterNs);
        }
    m_calls.erase(std::remove_if(m_calls.begin(), m_calls.end(), done), m_calls.end());
    if (m_calls.empty())
        m_idleSince = std::max(m_idleSince, now + Nanos(std::ceil(after))); // idle once the last call is off the host too
    reschedule(now, curve);
}

} // namespace knee
