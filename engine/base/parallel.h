// Independent virtual runs on the machine's cores: a fit's replays.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <exception>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

namespace knee {

// The cores this process may run on: its affinity mask where the system has one (a container's or taskset's
// cpuset), else what the hardware reports; at least 1.
inline int usableCores()
{
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return std::max(1, CPU_COUNT(&set));
#endif
    return std::max(1, int(std::thread::hardware_concurrency()));
}

// Threads a caller may start beside its own, taken while a loop runs and given back when it ends.
class ThreadBudget {
public:
    explicit ThreadBudget(int spare) : m_spare(std::max(0, spare)) {}
    ThreadBudget(const ThreadBudget&) = delete;
    ThreadBudget& operator=(const ThreadBudget&) = delete;
    // Up to `wanted`, as many as are free; the count taken.
    int take(int wanted)
    {
        int free = m_spare.load();
        while (free > 0 && wanted > 0 && !m_spare.compare_exchange_weak(free, free - std::min(free, wanted))) {
        }
        return std::max(0, std::min(free, wanted));
    }
    void giveBack(int n) { m_spare += n; }
    int spare() const { return m_spare.load(); }

    // The process's: the usable cores less one (the caller's). Every loop takes from it, nested ones
    // included, so a loop inside a loop gets only the cores left free and the machine is never
    // oversubscribed.
    static ThreadBudget& process()
    {
        static ThreadBudget budget(usableCores() - 1);
        return budget;
    }

private:
    std::atomic<int> m_spare;
};

// Runs fn(0) ... fn(n - 1), each once, on the calling thread and on as many more as both the process's
// budget and `own` (a caller's cap on all its loops together, nested ones included: a fit's --threads; null:
// none) have free, and returns when every one has returned. Each fn(i) must touch only what is its own (say
// out[i]), so the results do not depend on the threads: a parallel fit equals a serial one. If any throws,
// the lowest index's exception is rethrown once all have ended. A helper thread the system refuses to start
// leaves its share to the threads running.
//
// Written here rather than taken from a library: std::execution::par needs TBB under libstdc++ (a dependency
// for one loop), and the engine's layers are Qt-free (no QtConcurrent).
inline void parallelFor(std::size_t n, const std::function<void(std::size_t)>& fn, ThreadBudget* own = nullptr)
{
    if (n == 0)
        return;
    const int wanted = int(std::min<std::size_t>(n - 1, INT_MAX));
    const int allowed = own ? own->take(wanted) : wanted;
    const int helpers = ThreadBudget::process().take(allowed);
    if (own)
        own->giveBack(allowed - helpers);
    int started = 0;
    // Whatever happens below, the helpers go back to both budgets once they have been joined.
    struct Return {
        ThreadBudget* own;
        int helpers;
        ~Return()
        {
            ThreadBudget::process().giveBack(helpers);
            if (own)
                own->giveBack(helpers);
        }
    } giveBack{own, helpers};
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
        for (; started < helpers; ++started) {
            try {
                threads.emplace_back(work);
            } catch (const std::system_error&) {
                break; // no more threads now: the ones running share the rest
            }
        }
        work();
    } // joined
    for (const std::exception_ptr& e : errors)
        if (e)
            std::rethrow_exception(e);
}

} // namespace knee
