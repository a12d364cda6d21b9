// ArrivalTimer (engine/net/arrival_timer.h): an open-loop client's arrivals fire at their time, never
// before it, in order, once per arming; stop() ends them. No bound on lateness is asserted here (timed
// assertions are flaky on shared machines): how late it fires is measured by bench/http/run_rate_ceiling.sh.
#include "net/arrival_timer.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QTest>

#include <vector>

using namespace knee;
using namespace knee::net;

namespace {

// Runs the event loop until `ms` of wall time have passed.
void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

class TstArrivalTimer : public QObject {
    Q_OBJECT
private slots:
    void linuxHasTheFineTimer()
    {
#ifdef __linux__
        QElapsedTimer clock;
        clock.start();
        ArrivalTimer t([&] { return Nanos(clock.nsecsElapsed()); }, [] {});
        QVERIFY2(t.precise(), "no timerfd: the last millisecond would be waited with 0 ms timers");
#else
        QSKIP("the timerfd is Linux's");
#endif
    }

    // A chain of arrivals, each armed from the one before (as the open-loop client does): gaps under a
    // millisecond, whole milliseconds, and times already past.
    void firesEachInOrderNeverEarly()
    {
        QElapsedTimer clock;
        clock.start();
        const auto now = [&] { return Nanos(clock.nsecsElapsed()); };
        const std::vector<Nanos> gaps{50'000, 300'000, 999'999, 1'000'000, 2'500'000, 0, -400'000, 120'000, 7'000'000, 1};
        std::vector<Nanos> due, firedAt;
        std::size_t next = 0;
        QEventLoop done;
        std::unique_ptr<ArrivalTimer> t;
        const auto armNext = [&] {
            if (next == gaps.size()) {
                done.quit();
                return;
            }
            due.push_back((due.empty() ? now() : due.back()) + gaps[next++]);
            t->armAt(due.back());
        };
        t = std::make_unique<ArrivalTimer>(now, [&] {
            firedAt.push_back(now());
            armNext();
        });
        armNext();
        QTimer::singleShot(10'000, &done, &QEventLoop::quit); // a bound on the test, not on the timer
        done.exec();
        QCOMPARE(firedAt.size(), gaps.size());
        for (std::size_t i = 0; i < gaps.size(); ++i)
            QVERIFY2(firedAt[i] >= due[i], qPrintable(QStringLiteral("arrival %1 fired %2 ns early").arg(i).arg(due[i] - firedAt[i])));
    }

    // Arming again replaces the earlier time: one firing, at or after the new time.
    void armingAgainReplaces()
    {
        QElapsedTimer clock;
        clock.start();
        const auto now = [&] { return Nanos(clock.nsecsElapsed()); };
        std::vector<Nanos> firedAt;
        ArrivalTimer t(now, [&] { firedAt.push_back(now()); });
        t.armAt(now() + 40'000'000);
        const Nanos due = now() + 600'000;
        t.armAt(due);
        spin(80);
        QCOMPARE(firedAt.size(), std::size_t(1));
        QVERIFY(firedAt[0] >= due);
        // And a sub-millisecond time replaced by a later whole-millisecond one.
        firedAt.clear();
        t.armAt(now() + 200'000);
        const Nanos later = now() + 5'000'000;
        t.armAt(later);
        spin(40);
        QCOMPARE(firedAt.size(), std::size_t(1));
        QVERIFY(firedAt[0] >= later);
    }

    void stopEndsIt()
    {
        QElapsedTimer clock;
        clock.start();
        const auto now = [&] { return Nanos(clock.nsecsElapsed()); };
        int fired = 0;
        ArrivalTimer t(now, [&] { ++fired; });
        t.armAt(now() + 300'000); // the timerfd's
        t.stop();
        t.armAt(now() + 3'000'000); // the QTimer's
        t.stop();
        spin(30);
        QCOMPARE(fired, 0);
    }
};

QTEST_GUILESS_MAIN(TstArrivalTimer)
#include "tst_arrival_timer.moc"
