// The live clock: drives an Engine in wall time on the current thread's Qt event loop. One
// coroutine awaits ONE precise QTimer armed for the engine's next event, never a timer per
// sleeping request (Qt keeps a thread's timers in a sorted list: 10,000 of them cost 25x, docs/DESIGN.md §3).
// Qt's timers count whole milliseconds: an event less than 1 ms ahead is waited for with a Linux
// timerfd (nanoseconds) watched by the same event loop, so the thread sleeps instead of spinning. With
// KNEE_LIVE_CLOCK=margin the timerfd is armed a margin early (how late its wake-ups come, 10 to 150 µs)
// and that margin is spun out, so a timed event (a batcher's delay, an arrival) runs on time rather
// than a wake-up late (BENCHMARKS.md, "Fidelity", fifth session).
// Events run with the engine's own timestamps, so lateness never accumulates into stage times;
// how late each event actually ran is measured (lag) as the clock's error.
#pragma once
#include "live/fine_timer.h"
#include "metrics/latency_histogram.h"
#include "sim/engine.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <cstdint>
#include <memory>

#include <qcoro/qcorotask.h>

namespace knee {

class LiveClock : public QObject {
    Q_OBJECT
public:
    explicit LiveClock(Engine& engine, QObject* parent = nullptr);
    ~LiveClock() override;

    // Starts the pacing coroutine (on this object's thread). The engine's time 0 is now.
    void start();
    void stop();  // nothing runs after it; the coroutine ends at its next wake-up and emits stopped()
    void pause(); // wall time spent paused does not advance the engine
    void resume();
    bool paused() const { return m_paused; }

    // Engine time that corresponds to this instant of wall time.
    Nanos wallNow() const;
    // Runs every event already due, so an outside action (a knob move) happens at the right time.
    void catchUp();
    // The engine gained an earlier event (e.g. after a knob move or a completion): runs what is due now,
    // then re-arms the timer.
    void wake();

    // How late events ran relative to their due time (the live clock's error): since the start,
    // and since the last takeWindowLag().
    const LatencyHistogram& lag() const { return m_lag; }
    // How late a send of the load's own timer (an Arrival) ran where the clock's timerfd woke the thread
    // for it, and nothing had run events since the timerfd was armed: the asleep thread's wake-up, which
    // `knee calibrate` writes as engine_thread_wake_ms. (KNEE_LIVE_CLOCK=margin wakes the thread early and
    // spins the rest, =spin never sleeps: neither records here.)
    const LatencyHistogram& sendWakeLag() const { return m_sendWakeLag; }
    // How often the pacing loop woke (its timer or the timerfd): about once per sub-millisecond event,
    // twice with KNEE_LIVE_CLOCK=margin (the early timerfd wake-up, then the turn after the spun margin);
    // far more with 0 ms timers (no timerfd, or KNEE_LIVE_CLOCK=spin).
    std::uint64_t wakeUps() const { return m_wakeUps; }
    // How early the timerfd is armed now, to be spun out (0 unless KNEE_LIVE_CLOCK=margin), and how many
    // waits ended spinning.
    Nanos spinMargin() const { return m_spinMargin; }
    std::uint64_t spunWaits() const { return m_spunWaits; }
    LatencyHistogram takeWindowLag()
    {
        LatencyHistogram w = m_windowLag;
        m_windowLag.clear();
        return w;
    }

Q_SIGNALS:
    void stopped();

private:
    QCoro::Task<> run();
    void runDue();
    bool armFine(Nanos wait); // the timerfd, `wait` from now; false where there is none
    void fineExpired();
    void disarmFine();
    void spinUntil(Nanos due); // the last stretch before an event the timerfd woke us early for


    Engine& m_engine;
    QTimer m_timer;
    std::unique_ptr<FineTimer> m_fine; // sub-millisecond waits (none, or unavailable: the clock turns the loop instead)
    QElapsedTimer m_wall;
    Nanos m_pausedTotal = 0;
    Nanos m_pausedSince = 0;
    bool m_paused = false;
    bool m_running = false;
    bool m_stopRequested = false;
    std::uint64_t m_wakeUps = 0;
    std::uint64_t m_spunWaits = 0;
    // How early the timerfd is armed before an event, to be spun out (see run()): follows how late its
    // wake-ups came, between kSpinMinNs and kSpinMaxNs, with KNEE_LIVE_CLOCK=margin; 0 otherwise.
    Nanos m_spinMargin = 0;
    Nanos m_fineDue = -1; // the wall time the armed timerfd was meant to wake at (its lateness is measured)
    LatencyHistogram m_lag;
    LatencyHistogram m_windowLag;
    LatencyHistogram m_sendWakeLag;
    bool m_woken = false; // the timerfd woke the thread: runDue's first event is the one it slept for
    std::uint64_t m_catchUps = 0, m_catchUpsAtArm = 0; // catchUp() calls, and their count when the timerfd was armed
};

} // namespace knee
