#include "live_clock.h"

#include <qcoro/qcorotimer.h>

#include <algorithm>

namespace knee {

namespace {
// Longest single sleep: an idle engine still notices stop/pause requests promptly.
constexpr int kMaxSleepMs = 100;
} // namespace

LiveClock::LiveClock(Engine& engine, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
{
    // Precise: Qt's default coarse timers may fire 5 % late, which would round stage times.
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setSingleShot(true);
}

void LiveClock::start()
{
    if (m_running)
        return;
    m_running = true;
    m_stopRequested = false;
    m_wall.start();
    m_pausedTotal = 0;
    run(); // detached: the coroutine ends itself after stop()
}

void LiveClock::stop()
{
    m_stopRequested = true;
    m_timer.start(0);
}

void LiveClock::pause()
{
    if (m_paused)
        return;
    catchUp();
    m_paused = true;
    m_pausedSince = m_wall.nsecsElapsed();
}

void LiveClock::resume()
{
    if (!m_paused)
        return;
    m_pausedTotal += m_wall.nsecsElapsed() - m_pausedSince;
    m_paused = false;
    wake();
}

Nanos LiveClock::wallNow() const
{
    if (!m_wall.isValid())
        return 0;
    const Nanos now = m_paused ? m_pausedSince : m_wall.nsecsElapsed();
    return now - m_pausedTotal;
}

void LiveClock::runDue()
{
    const Nanos now = wallNow();
    while (m_engine.nextEventTime() <= now) {
        const Nanos late = wallNow() - m_engine.nextEventTime();
        m_lag.record(late);
        m_windowLag.record(late);
        m_engine.step();
    }
    m_engine.runUntil(now);
}

void LiveClock::catchUp()
{
    if (m_running && !m_paused)
        runDue();
}

void LiveClock::wake()
{
    // What the change made due now (a completion's next request, its zero-time stages, the next predict
    // call) runs here rather than one event-loop turn later: on a sub-millisecond predict call that turn
    // is a measurable share of the live engine's own cost per call.
    catchUp();
    if (m_running)
        m_timer.start(0);
}

QCoro::Task<> LiveClock::run()
{
    while (!m_stopRequested) {
        int sleepMs = kMaxSleepMs;
        if (!m_paused) {
            runDue();
            const Nanos next = m_engine.nextEventTime();
            if (next != kNever)
                sleepMs = int(std::clamp<Nanos>((next - wallNow()) / kNanosPerMs, 0, kMaxSleepMs));
            // Under 1 ms to go: a 0 ms timer just turns the event loop once, so sub-millisecond
            // stage times are honoured instead of being rounded up to a whole millisecond.
        }
        m_timer.start(sleepMs);
        co_await m_timer;
    }
    m_running = false;
    Q_EMIT stopped();
}

} // namespace knee
