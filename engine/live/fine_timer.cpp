#include "fine_timer.h"

#include <QSocketNotifier>

#include <algorithm>
#include <cstdint>

#ifdef __linux__
#include <sys/timerfd.h>
#include <unistd.h>
#endif

namespace knee {

FineTimer::FineTimer(std::function<void()> expired)
    : m_expired(std::move(expired))
{
#ifdef __linux__
    m_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m_fd < 0)
        return;
    m_notifier = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
    QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(), [this] {
        std::uint64_t expirations = 0;
        if (::read(m_fd, &expirations, sizeof expirations) < 0)
            return; // re-armed or disarmed since it expired
        m_expired();
    });
#endif
}

FineTimer::~FineTimer()
{
    m_notifier.reset();
#ifdef __linux__
    if (m_fd >= 0)
        ::close(m_fd);
#endif
}

bool FineTimer::arm(Nanos wait)
{
#ifdef __linux__
    if (m_fd < 0)
        return false;
    wait = std::max<Nanos>(wait, 1); // 0 would disarm it
    itimerspec spec {};
    spec.it_value.tv_sec = time_t(wait / 1'000'000'000);
    spec.it_value.tv_nsec = long(wait % 1'000'000'000);
    return timerfd_settime(m_fd, 0, &spec, nullptr) == 0;
#else
    (void)wait;
    return false;
#endif
}

void FineTimer::disarm()
{
#ifdef __linux__
    if (m_fd >= 0) {
        const itimerspec off {};
        timerfd_settime(m_fd, 0, &off, nullptr);
    }
#endif
}

} // namespace knee
