// The device a replica's predict calls run on (a GPU; for the CPU backend, the cores), in virtual time.
// Calls in flight on one device are not independent servers: they share its memory bandwidth and SMs.
// Each call of batch b progresses at T(b, 1) / T(b, k) of its solo speed while k calls are in flight
// (processor sharing with a measured speed-up curve, docs/DESIGN.md "The device"), or where the table has
// the device's own times D(b, k) only its device work shares, at D(b, 1) / D(b, k); with an order above 0
// the same total speed goes first to the earlier calls (DeviceSharing::order). Rates change only when a
// call starts or ends, so the device reschedules its one pending completion at those instants: the
// engine stays event-driven, with one event per device in the heap, whatever k is.
#pragma once
#include "scenario.h"

#include "base/time.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace knee {

// How fast a call goes with k calls in flight, relative to alone: from the scenario's sharing rule.
class SharingCurve {
public:
    explicit SharingCurve(const ModelConfig& model);
    DeviceSharing::Kind kind() const { return m_sharing.kind; }
    // The rate of a call of `batch` while `k` >= 1 calls are in flight (1 = its solo speed), under
    // processor sharing.
    double rate(int batch, int k) const;
    // DeviceSharing::order: 0 processor sharing, 1 oldest first.
    double order() const { return m_sharing.order; }
    // The part of a call of `batch` and `soloNs` that does not load the device, with the table's sharing:
    // ServiceTable::tailMs, or where the table has device times the share of T(b, 1) that D(b, 1) leaves;
    // never more than the call.
    double tailNs(double soloNs, int batch) const;

private:
    double shared(int batch, int k) const; // rate() before its guard
    DeviceSharing m_sharing;
    ServiceTable m_table;
    double m_tailMs = 0, m_tailNs = 0;
    bool m_deviceTimes = false; // ServiceTable::deviceMs, with the table's sharing
};

class SharedDevice {
public:
    // A call starts on the device at `now` with `soloNs` of work (its time alone on the device). `token`
    // names it to the caller when it ends. `afterNs`: what the call does off the device once its work is
    // done (SharingCurve::tailNs): the device counts as idle only after it.
    void start(Nanos now, std::uint32_t token, double soloNs, int batch, const SharingCurve& curve, double afterNs = 0);
    // Ends the calls whose work is done at `now` (in the order they started) into `finished`; the rest
    // go on at the rates of the calls left.
    void finishDue(Nanos now, const SharingCurve& curve, std::vector<std::uint32_t>& finished);
    // When the next call ends at the current rates (kNever when none is in flight).
    Nanos nextFinish() const { return m_next; }
    int inFlight() const { return int(m_calls.size()); }
    template <typename F>
    void forEachToken(F f) const // the calls in flight, in start order
    {
        for (const Call& c : m_calls)
            f(c.token);
    }
    // Bumped at every change: a pending completion event with an older generation is stale.
    std::uint32_t generation() const { return m_generation; }
    // How long the device has been without a call at `now` (kNever when it never had one); 0 while busy.
    Nanos idleFor(Nanos now) const
    {
        return !m_calls.empty() ? 0 : m_idleSince < 0 ? kNever : std::max<Nanos>(0, now - m_idleSince);
    }

private:
    struct Call {
        std::uint32_t token = 0;
        int batch = 1;
        double remaining = 0; // solo-speed nanoseconds of work left
        double rate = 1;
        double afterNs = 0;   // off the device once done
    };
    void progressTo(Nanos now);
    void reschedule(Nanos now, const SharingCurve& curve);

    std::vector<Call> m_calls; // in start order
    Nanos m_last = 0;          // work is accounted up to here
    Nanos m_next = kNever;
    Nanos m_idleSince = -1;    // when the last call ended; -1: never used
    std::uint32_t m_generation = 0;
};

} // namespace knee
