// Fires at a nanosecond-precise time on this thread's Qt event loop, for an open-loop client's arrivals.
//
// Why not a QTimer alone: Qt's timers count whole milliseconds, so an arrival less than 1 ms ahead was
// sent at the next millisecond or later, and every open-loop latency (counted from the arrival's intended
// time, as it must be) carried that wait: against `knee serve` with no service time on loopback, p50 was
// 0.9-1.0 ms where the request took ~0.1 ms (bench/http/run_rate_ceiling.sh, BENCHMARKS.md "Open-loop rate
// sweeps"). As the live clock does (live_clock.h), the last millisecond is waited with a Linux timerfd
// (live/fine_timer.h) watched by the same event loop: the thread sleeps, and wakes tens of microseconds
// after the time. Elsewhere (no timerfd) it falls back to 0 ms timers for the last millisecond, which spin
// the loop.
#pragma once
#include "base/time.h"
#include "live/fine_timer.h"

#include <QObject>
#include <QTimer>

#include <functional>

namespace knee::net {

class ArrivalTimer : public QObject {
    Q_OBJECT
public:
    // `now`: the caller's clock (ns); `fire`: runs once now() >= the armed time, never before.
    ArrivalTimer(std::function<Nanos()> now, std::function<void()> fire, QObject* parent = nullptr);
    ~ArrivalTimer() override;

    void armAt(Nanos due); // replaces any earlier time
    void stop();
    bool precise() const { return m_fine.available(); } // a timerfd is there for the last millisecond

private:
    void check(); // fires if due, else waits again

    std::function<Nanos()> m_now;
    std::function<void()> m_fire;
    QTimer m_coarse;
    FineTimer m_fine;
    Nanos m_due = 0;
    bool m_armed = false;
};

} // namespace knee::net
