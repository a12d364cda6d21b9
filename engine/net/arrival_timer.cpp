#include "arrival_timer.h"

#include <QSocketNotifier>

#include <algorithm>
#include <cstdint>

#ifdef __linux__
#include <sys/timerfd.h>
#include <unistd.h>
#endif

namespace knee::net {

ArrivalTimer::ArrivalTimer(std::function<Nanos()> now, std::function<void()> fire, QObject* parent)
    : QObject(parent)
    , m_now(std::move(now))
    , m_fire(std::move(fire))
{
    m_coarse.setSingleShot(true);
    m_coarse.setTimerType(Qt::PreciseTimer);
    connect(&m_coarse, &QTimer::timeout, this, [this] { check(); });
#ifdef __linux__
    m_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m_fd >= 0) {
        m_fine = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
        connect(m_fine.get(), &QSocketNotifier::activated, this, [this] {
            std::uint64_t expirations = 0;
            if (::read(m_fd, &expirations, sizeof expirations) < 0)
                return; // re-armed or disarmed since it expired
            check();
        });
    }
#endif
}

ArrivalTimer::~ArrivalTimer()
{
    m_fine.reset();
#ifdef __linux__
    if (m_fd >= 0)
        ::close(m_fd);
#endif
}

void ArrivalTimer::armAt(Nanos due)
{
    m_due = due;
    m_armed = true;
    disarmFine();
    const Nanos wait = due - m_now();
    if (wait >= kNanosPerMs) {
        // Whole milliseconds, rounded down (a QTimer is never early), capped as a timer can hold; check()
        // then waits out the rest.
        m_coarse.start(std::chrono::milliseconds(std::min<Nanos>(wait / kNanosPerMs, 60'000)));
        return;
    }
    m_coarse.stop();
#ifdef __linux__
    if (wait > 0 && m_fd >= 0) {
        itimerspec spec {};
        spec.it_value.tv_nsec = long(wait); // under 1 ms, and > 0 (0 would disarm it)
        if (timerfd_settime(m_fd, 0, &spec, nullptr) == 0)
            return;
    }
#endif
    m_coarse.start(0); // due, or no timerfd: look again on the next turn of the loop
}

void ArrivalTimer::stop()
{
    m_armed = false;
    m_coarse.stop();
    disarmFine();
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

void ArrivalTimer::disarmFine()
{
#ifdef __linux__
    if (m_fd >= 0) {
        const itimerspec off {};
        timerfd_settime(m_fd, 0, &off, nullptr);
    }
#endif
}

} // namespace knee::net
