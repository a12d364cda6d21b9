// A one-shot wait of nanosecond precision on this thread's Qt event loop: a Linux timerfd watched by a
// QSocketNotifier, so the thread sleeps and wakes tens of microseconds after the time. Why: Qt's timers
// count whole milliseconds, and both the live clock's sub-millisecond events (live_clock.h) and an
// open-loop client's arrivals (net/arrival_timer.h) need less. Where there is no timerfd (not Linux, or
// its creation failed) available() is false and arm() returns false: callers turn the loop with 0 ms
// timers instead.
#pragma once
#include "base/time.h"

#include <functional>
#include <memory>

class QSocketNotifier;

namespace knee {

class FineTimer {
public:
    // `expired` runs on this thread's event loop when an armed wait has passed (never for a wait that
    // was re-armed or disarmed before it was noticed).
    explicit FineTimer(std::function<void()> expired);
    ~FineTimer();
    FineTimer(const FineTimer&) = delete;
    FineTimer& operator=(const FineTimer&) = delete;

    bool available() const { return m_fd >= 0; }
    bool arm(Nanos wait); // from now (at least 1 ns); replaces an armed wait; false where unavailable
    void disarm();

private:
    int m_fd = -1;
    std::unique_ptr<QSocketNotifier> m_notifier;
    std::function<void()> m_expired;
};

} // namespace knee
