// The hand-off every live suite leans on: a worker thread posts calls to the main thread with
// QMetaObject::invokeMethod(context, functor, Qt::QueuedConnection), as LiveEngineHost::publish and
// LiveRun::post do, and nothing else orders the two threads.
//
// Plain builds check what knee relies on: every posted call arrives, once, in order, with what it
// captured. Under ThreadSanitizer (scripts/run-sanitizers thread, a strict test) it is the reproducer for
// the report CI saw twice in tst_live_clock_margin (RELIABILITY.md): the main thread freeing the event Qt
// allocated on the worker thread. Without scripts/sanitizer_qt_handoff.cpp telling TSan about the event,
// this suite reports that race within its first posts; in tst_live_clock other locks usually hid it.
#include <QCoreApplication>
#include <QObject>
#include <QTest>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

// Busy-waits (no sleep, no lock): neither thread may give TSan an ordering of its own here.
void spinFor(std::chrono::microseconds d)
{
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
}

} // namespace

class TestThreadHandoff : public QObject {
    Q_OBJECT

private slots:
    void postedCallsArriveOnceInOrder()
    {
        constexpr int kPosts = 50000;
        QObject receiver; // the main thread's
        std::vector<int> seen;
        seen.reserve(kPosts);
        std::atomic<bool> wrong{false};
        // Joined however the test leaves (a failed QTRY returns early): declared after what it posts to.
        std::jthread worker([&] {
            for (int i = 0; i < kPosts; ++i) {
                std::string label = "call " + std::to_string(i); // a copy inside the functor, read by the call
                QMetaObject::invokeMethod(
                    &receiver,
                    [&seen, &wrong, i, label = std::move(label)] {
                        if (label != "call " + std::to_string(i))
                            wrong = true;
                        seen.push_back(i);
                        spinFor(std::chrono::microseconds(5)); // still handling when the next one comes
                    },
                    Qt::QueuedConnection);
                spinFor(std::chrono::microseconds(5)); // post while the main thread handles the last
            }
        });
        QTRY_COMPARE_WITH_TIMEOUT(int(seen.size()), kPosts, 120'000);
        worker.join();
        QVERIFY(!wrong);
        for (int i = 0; i < kPosts; ++i)
            QCOMPARE(seen[std::size_t(i)], i);
    }
};

QTEST_GUILESS_MAIN(TestThreadHandoff)
#include "tst_thread_handoff.moc"
