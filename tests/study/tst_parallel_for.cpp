// parallelFor (base/parallel.h), what a fit's replays run on: every index once, helpers that really run
// beside the caller, the results those of one thread, the lowest index's exception rethrown after all
// ended (from a nested loop too), and nested loops within the process's budget (the usable cores) and a
// caller's own cap (a fit's --threads), both of which come back whole.
#include "base/parallel.h"

#include <QTest>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace knee;

namespace {
// The most loop bodies running at once.
struct Concurrency {
    std::atomic<int> running{0}, most{0};
    void enter()
    {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
    }
    void leave() { --running; }
};
} // namespace

class TstParallelFor : public QObject {
    Q_OBJECT
private slots:
    void init() { QCOMPARE(ThreadBudget::process().spare(), usableCores() - 1); } // whole before each test ...
    void cleanup() { QCOMPARE(ThreadBudget::process().spare(), usableCores() - 1); } // ... and after

    void everyIndexOnce_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("cap"); // threads at most (0: no cap of its own)
        QTest::newRow("none") << 0 << 0;
        QTest::newRow("one") << 1 << 0;
        QTest::newRow("many, every core") << 1000 << 0;
        QTest::newRow("many, one thread") << 1000 << 1;
        QTest::newRow("many, two threads") << 1000 << 2;
    }
    void everyIndexOnce()
    {
        QFETCH(int, n);
        QFETCH(int, cap);
        const std::unique_ptr<ThreadBudget> own = cap > 0 ? std::make_unique<ThreadBudget>(cap - 1) : nullptr;
        std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
        std::mutex m;
        std::set<std::thread::id> threads;
        parallelFor(std::size_t(n), [&](std::size_t i) {
            ++runs[i];
            const std::lock_guard lock(m);
            threads.insert(std::this_thread::get_id());
        }, own.get());
        for (int i = 0; i < n; ++i)
            QCOMPARE(runs[std::size_t(i)].load(), 1);
        if (cap == 1) // the caller's thread alone
            QVERIFY(threads.size() <= 1 && (threads.empty() || *threads.begin() == std::this_thread::get_id()));
        QVERIFY(int(threads.size()) <= (cap > 0 ? cap : usableCores()));
        if (own)
            QCOMPARE(own->spare(), cap - 1);
    }

    // Two bodies wait for each other: they can meet only if a helper runs beside the caller. (A bound, not a
    // timing: 60 s is there only so that a parallelFor that never starts a helper fails instead of hanging.)
    void helpersRunBesideTheCaller()
    {
        if (usableCores() < 2)
            QSKIP("one usable core: no helper to start");
        std::mutex m;
        std::condition_variable cv;
        int arrived = 0;
        bool met = true;
        parallelFor(2, [&](std::size_t) {
            std::unique_lock lock(m);
            ++arrived;
            cv.notify_all();
            if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return arrived == 2; }))
                met = false;
        });
        QVERIFY2(met, "the two bodies never ran at once");
    }

    // Work that takes a while, so that helpers really take part: each index writes only its own slot, and
    // the results equal those of a plain loop.
    void sameAsOneThread()
    {
        const auto work = [](std::size_t i) {
            double x = double(i);
            for (int k = 0; k < 20000; ++k)
                x = x * 0.999 + double(k % 7);
            return x;
        };
        std::vector<double> serial(256), parallel(256);
        for (std::size_t i = 0; i < serial.size(); ++i)
            serial[i] = work(i);
        parallelFor(parallel.size(), [&](std::size_t i) { parallel[i] = work(i); });
        QVERIFY(parallel == serial);
    }

    void lowestIndexExceptionAfterAllEnded()
    {
        std::atomic<int> ran{0};
        try {
            parallelFor(64, [&](std::size_t i) {
                ++ran;
                if (i == 40 || i == 7 || i == 63)
                    throw std::runtime_error("index " + std::to_string(i));
            });
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QCOMPARE(QString(e.what()), QString("index 7"));
        }
        QCOMPARE(ran.load(), 64); // the others still ran
    }

    // An exception in a nested loop reaches the outer caller; both budgets come back whole (cleanup()).
    void nestedExceptionReachesTheCaller()
    {
        ThreadBudget own(1);
        try {
            parallelFor(4, [&](std::size_t i) {
                parallelFor(4, [&](std::size_t j) {
                    if (i == 2 && j == 3)
                        throw std::invalid_argument("inner 2.3");
                }, &own);
            }, &own);
            QFAIL("no exception");
        } catch (const std::invalid_argument& e) {
            QCOMPARE(QString(e.what()), QString("inner 2.3"));
        }
        QCOMPARE(own.spare(), 1);
    }

    // A loop inside a loop takes only the threads left: at no time do more run than the usable cores (the
    // process's budget) or a caller's own cap over all its loops together.
    void nestedLoopsStayWithinTheBudgets_data()
    {
        QTest::addColumn<int>("cap");
        QTest::newRow("every core") << 0;
        QTest::newRow("two threads, nested") << 2;
        QTest::newRow("one thread, nested") << 1;
    }
    void nestedLoopsStayWithinTheBudgets()
    {
        QFETCH(int, cap);
        const std::unique_ptr<ThreadBudget> own = cap > 0 ? std::make_unique<ThreadBudget>(cap - 1) : nullptr;
        Concurrency c;
        parallelFor(8, [&](std::size_t) {
            parallelFor(8, [&](std::size_t) {
                c.enter();
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                c.leave();
            }, own.get());
        }, own.get());
        const int bound = cap > 0 ? std::min(cap, usableCores()) : usableCores();
        QVERIFY2(c.most.load() <= bound, qPrintable(QString("%1 at once, at most %2").arg(c.most.load()).arg(bound)));
        if (own)
            QCOMPARE(own->spare(), cap - 1);
    }
};

QTEST_GUILESS_MAIN(TstParallelFor)
#include "tst_parallel_for.moc"
