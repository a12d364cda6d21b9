#include "arrival_timer.h"

#include <algorithm>

namespace knee::net {

ArrivalTimer::ArrivalTimer(std::function<Nanos()> now, std::function<void()> fire, QObject* parent)
    : QObject(parent)
    , m_now(std::move(now))
    , m_fire(std::move(fire))
    , m_fine([this] { check(); })
{
    m_coarse.setSingleShot(true);
    m_coarse.setTimerType(Qt::PreciseTimer);
    connect(&m_coarse, &QTimer::timeout, this, [this] { check(); });
}

ArrivalTimer::~ArrivalTimer() = default;

void ArrivalTimer::armAt(Nanos due)
{
    m_due = due;
    m_armed = true;
    m_fine.disarm();
    const Nanos wait = due - m_now();
    if (wait >= kNanosPerMs) {
        // Whole milliseconds, rounded down (a QTimer is never early), capped as a timer can hold; check()
        // then waits out the rest.
        m_coarse.start(std::chrono::milliseconds(std::min<Nanos>(wait / kNanosPerMs, 60'000)));
        return;
    }
    m_coarse.stop();
    if (wait > 0 && m_fine.arm(wait))
        return;
    m_coarse.start(0); // due, or no timerfd: look again on the next turn of the loop
}

void ArrivalTimer::stop()
{
    m_armed = false;
    m_coarse.stop();
    m_fine.disarm();
}

void ArrivalTimer::check()
{
    if (!m_armed)
        return;
    if (m_now() < m_due) {
        armAt(m_due);
        return;
    }
    m_armed = false;
    m_fire(); // may arm again
}

} // namespace knee::net
