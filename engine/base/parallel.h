// Independent virtual runs on the machine's cores: a fit's replays, a grid's cells.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace knee {

namespace detail {
// Threads the process may still start for parallelFor, beside those that call it: the cores less one. Shared
// by every call, nested ones included, so that a loop inside a loop takes only the cores left free and the
// machine is never oversubscribed.
inline std::atomic<int>& spareThreads()
{
    static std::atomic<int> spare{std::max(0, int(std::thread::hardware_concurrency()) - 1)};
    return spare;
}
} // namespace detail

// Runs fn(0) ... fn(n - 1), each once, on the calling thread and on up to maxThreads - 1 more (0: as many as
// the machine has cores free), and returns when every one has returned. Each fn(i) must touch only what is
// its own (say out[i]), so the results do not depend on the threads: a parallel fit equals a serial one. If
// any throws, the lowest index's exception is rethrown once all have ended.
//
// Written here rather than taken from a library: std::execution::par needs TBB under libstdc++ (a dependency
// for one loop), and the engine's layers are Qt-free (no QtConcurrent).
inline void parallelFor(std::size_t n, const std::function<void(std::size_t)>& fn, int maxThreads = 0)
{
    if (n == 0)
        return;
    int helpers = 0;
    if (n > 1 && maxThreads != 1) {
        const int wanted = int(std::min<std::size_t>(n - 1, maxThreads > 1 ? std::size_t(maxThreads - 1) : n - 1));
        std::atomic<int>& spare = detail::spareThreads();
        int free = spare.load();
        while (free > 0 && !spare.compare_exchange_weak(free, free - std::min(free, wanted))) {
        }
        helpers = std::max(0, std::min(free, wanted));
    }
    std::vector<std::exception_ptr> errors(n);
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        for (std::size_t i = next++; i < n; i = next++) {
            try {
                fn(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
    };
    {
        std::vector<std::jthread> threads;
        threads.reserve(std::size_t(helpers));
        for (int t = 0; t < helpers; ++t)
            threads.emplace_back(work);
        work();
    } // joined
    detail::spareThreads() += helpers;
    for (const std::exception_ptr& e : errors)
        if (e)
            std::rethrow_exception(e);
}

} // namespace knee
