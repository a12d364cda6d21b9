// parallelFor (base/parallel.h), what a fit's replays run on: every index once, the results those of one
// thread, the lowest index's exception rethrown after all ended, and nested loops within the process's
// budget of threads (the cores), which comes back whole.
#include "base/parallel.h"

#include <QTest>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace knee;

class TstParallelFor : public QObject {
    Q_OBJECT
private slots:
    void everyIndexOnce_data()
    {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("maxThreads");
        QTest::newRow("none") << 0 << 0;
        QTest::newRow("one") << 1 << 0;
        QTest::newRow("many, every core") << 1000 << 0;
        QTest::newRow("many, one thread") << 1000 << 1;
        QTest::newRow("many, two threads") << 1000 << 2;
    }
    void everyIndexOnce()
    {
        QFETCH(int, n);
        QFETCH(int, maxThreads);
        std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
        std::mutex m;
        std::set<std::thread::id> threads;
        parallelFor(std::size_t(n), [&](std::size_t i) {
            ++runs[i];
            const std::lock_guard lock(m);
            threads.insert(std::this_thread::get_id());
        }, maxThreads);
        for (int i = 0; i < n; ++i)
            QCOMPARE(runs[std::size_t(i)].load(), 1);
        if (maxThreads == 1) // the caller's thread alone
            QVERIFY(threads.size() <= 1 && (threads.empty() || *threads.begin() == std::this_thread::get_id()));
        QVERIFY(int(threads.size()) <= std::max(1, maxThreads > 0 ? maxThreads : int(std::thread::hardware_concurrency())));
    }

    // Work that takes a while, so that helpers really start: each index writes only its own slot, and the
    // sums equal those of a plain loop.
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
        QCOMPARE(parallel, serial);
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

    // A loop inside a loop takes only the threads left: at no time do more run than the cores (the callers'
    // own threads and the budget's), and the budget is whole again after.
    void nestedLoopsStayWithinTheCores()
    {
        const int spareBefore = detail::spareThreads().load();
        std::atomic<int> running{0}, most{0};
        parallelFor(8, [&](std::size_t) {
            parallelFor(8, [&](std::size_t) {
                const int now = ++running;
                int seen = most.load();
                while (now > seen && !most.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                --running;
            });
        });
        QVERIFY2(most.load() <= std::max(1, int(std::thread::hardware_concurrency())), qPrintable(QString::number(most.load())));
        QCOMPARE(detail::spareThreads().load(), spareBefore);
    }
};

QTEST_GUILESS_MAIN(TstParallelFor)
#include "tst_parallel_for.moc"
