// The live clock: drives an Engine in wall time on the current thread's Qt event loop. One
// coroutine awaits ONE precise QTimer armed for the engine's next event, never a timer per
// sleeping request (Qt keeps a thread's timers in a sorted list: 10,000 of them cost 25x, docs/DESIGN.md §3).
// Events run with the engine's own timestamps, so lateness never accumulates into stage times;
// how late each event actually ran is measured (lag) as the clock's error.
#pragma once
#include "metrics/latency_histogram.h"
#include "sim/engine.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <qcoro/qcorotask.h>

namespace knee {

class LiveClock : public QObject {
    Q_OBJECT
public:
    explicit LiveClock(Engine& engine, QObject* parent = nullptr);

    // Starts the pacing coroutine (on this object's thread). The engine's time 0 is now.
    void start();
    void stop();  // the coroutine ends at its next wake-up and emits stopped()
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

    Engine& m_engine;
    QTimer m_timer;
    QElapsedTimer m_wall;
    Nanos m_pausedTotal = 0;
    Nanos m_pausedSince = 0;
    bool m_paused = false;
    bool m_running = false;
    bool m_stopRequested = false;
    LatencyHistogram m_lag;
    LatencyHistogram m_windowLag;
};

} // namespace knee
