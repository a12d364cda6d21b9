#include "live_clock.h"

#include <qcoro/qcorotimer.h>

#include <algorithm>
#include <cstdint>

namespace knee {

namespace {
// Longest single sleep: an idle engine still notices stop/pause requests promptly.
constexpr int kMaxSleepMs = 100;
// A timerfd wake-up comes tens of microseconds late (the kernel's timer slack, the scheduler; ~0.1 ms on
// a 2-core VM): a dynamic batcher's 0.2 ms delay then lasted ~0.3 ms live against 0.2 virtual, and the
// live engine batched 20 % slower than virtual time said (`knee-bench-fidelity live --backend emulated:0.2`,
// dynamic batching). So the timerfd is armed that much early and the rest is spun out: at most
// kSpinMaxNs of a core per timed event, never the whole wait.
constexpr Nanos kSpinMinNs = 10'000, kSpinMaxNs = 150'000, kSpinStartNs = 60'000;
} // namespace

LiveClock::LiveClock(Engine& engine, QObject* parent)
    : QObject(parent)
    , m_engine(engine)
{
    // Precise: Qt's default coarse timers may fire 5 % late, which would round stage times.
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setSingleShot(true);
    // Spinning through 0 ms timers until a sub-millisecond event was due kept a core busy: on 2 cores the
    // CPU backend's calls took 1.8x as long under Poisson load as in a closed loop (the host time per call,
    // 0.280 against 0.156 ms, `knee-bench-fidelity live` with profile tiny). So a timerfd (FineTimer) waits.
    // KNEE_LIVE_CLOCK=spin: the old way, for A/B runs of the benchmarks (bench/fidelity) in one call.
    static const bool spin = qEnvironmentVariable("KNEE_LIVE_CLOCK") == QLatin1String("spin");
    if (!spin)
        m_fine = std::make_unique<FineTimer>([this] { fineExpired(); });
    // KNEE_LIVE_CLOCK=margin: the timerfd armed early and the margin spun out (kSpinMinNs above). Opt-in
    // for now: it costs the engine thread up to kSpinMaxNs of a core per timed event, and the
    // sanitizer stages of CI (2 cores, GUI tests with a live engine each) have not run with it yet.
    static const bool margin = qEnvironmentVariable("KNEE_LIVE_CLOCK") == QLatin1String("margin");
    m_spinMargin = margin ? kSpinStartNs : 0;
}

LiveClock::~LiveClock() = default;

void LiveClock::spinUntil(Nanos due)
{
    ++m_spunWaits;
    while (wallNow() < due) {
    }
}

bool LiveClock::armFine(Nanos wait)
{
    if (!m_fine || !m_fine->available())
        return false;
    m_fineDue = wallNow() + wait;
    m_catchUpsAtArm = m_catchUps;
    return m_fine->arm(wait);
}

void LiveClock::fineExpired()
{
    if (m_fineDue >= 0 && m_spinMargin > 0) {
        // Follow the wake-ups' lateness (an average over ~8 of them, times 1.5 for their spread).
        const Nanos late = std::max<Nanos>(0, wallNow() - m_fineDue);
        m_spinMargin = std::clamp<Nanos>(m_spinMargin + (late * 3 / 2 - m_spinMargin) / 8, kSpinMinNs, kSpinMaxNs);
    }
    m_fineDue = -1;
    // A stopped clock runs nothing more: its run may already have handed its executor away (LiveRun::stop).
    if (m_stopRequested || !m_running)
        return;
    // Run what is due here, at the wake-up, not one more loop turn later; then let the loop re-arm. The thread
    // slept until now only if nothing (a completion, a knob) made it run events since the timerfd was armed.
    m_woken = m_catchUps == m_catchUpsAtArm;
    catchUp();
    m_woken = false;
    m_timer.start(0);
}

void LiveClock::disarmFine()
{
    m_fineDue = -1;
    if (m_fine)
        m_fine->disarm();
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
    disarmFine();
    m_timer.start(0);
}

void LiveClock::pause()
{
    if (m_paused)
        return;
    catchUp();
    m_paused = true;
    m_pausedSince = m_wall.nsecsElapsed();
    disarmFine(); // a wake-up during the pause would read a frozen clock as "on time"
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
    bool first = m_woken;
    while (m_engine.nextEventTime() <= now) {
        const Nanos late = wallNow() - m_engine.nextEventTime();
        m_lag.record(late);
        m_windowLag.record(late);
        if (first && m_engine.nextEventIsSend())
            m_sendWakeLag.record(late);
        first = false;
        m_engine.step();
    }
    m_engine.runUntil(now);
}

void LiveClock::catchUp()
{
    ++m_catchUps;
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
            if (m_stopRequested) // stop() from inside an event (an observer): no spin, no re-arm
                break;
            const Nanos next = m_engine.nextEventTime();
            if (next != kNever) {
                const Nanos wait = next - wallNow();
                sleepMs = int(std::clamp<Nanos>(wait / kNanosPerMs, 0, kMaxSleepMs));
                // Under 1 ms to go: the timerfd wakes the loop a margin before the event (fineExpired),
                // the QTimer only bounds the sleep; within the margin the wait is spun out, then the
                // loop turns once (results posted from other threads come in) before the event runs.
                // Without a timerfd, a 0 ms timer turns the loop once and looks again.
                if (sleepMs == 0 && wait > 0 && m_fine && m_fine->available() && wait <= m_spinMargin) {
                    spinUntil(next);
                    sleepMs = 0;
                } else if (sleepMs == 0 && wait > 0 && armFine(wait - m_spinMargin)) {
                    sleepMs = kMaxSleepMs;
                }
            }
        }
        m_timer.start(sleepMs);
        co_await m_timer;
        ++m_wakeUps;
    }
    m_running = false;
    Q_EMIT stopped();
}

} // namespace knee
