#include "emulated_backend.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace fidelity {

namespace {

using namespace knee::predict;
using Clock = std::chrono::steady_clock;

// One thread for all the backend's replicas, as one GPU's completions come through one callback thread.
class Completer {
public:
    Completer()
        : m_thread([this] { run(); })
    {
    }
    ~Completer()
    {
        {
            std::lock_guard lock(m_mu);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    void add(Clock::time_point due, std::function<void()> fn)
    {
        {
            std::lock_guard lock(m_mu);
            m_due.push(Item { due, m_seq++, std::move(fn) });
        }
        m_cv.notify_one();
    }

private:
    struct Item {
        Clock::time_point due;
        std::uint64_t seq; // first in, first out among calls due at the same time
        std::function<void()> fn;
        bool operator>(const Item& o) const { return due != o.due ? due > o.due : seq > o.seq; }
    };
    void run()
    {
        pthread_setname_np(pthread_self(), "knee-emulated");
        std::unique_lock lock(m_mu);
        for (;;) {
            if (m_due.empty()) {
                if (m_stop)
                    return;
                m_cv.wait(lock);
                continue;
            }
            if (m_due.top().due > Clock::now()) {
                m_cv.wait_until(lock, m_due.top().due);
                continue;
            }
            std::function<void()> fn = std::move(const_cast<Item&>(m_due.top()).fn);
            m_due.pop();
            lock.unlock();
            fn();
            lock.lock();
        }
    }
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> m_due;
    std::uint64_t m_seq = 0;
    bool m_stop = false;
    std::thread m_thread; // last: starts once the members above exist
};

class EmulatedReplica final : public Replica {
public:
    EmulatedReplica(std::shared_ptr<Completer> completer, const ReplicaConfig& config, double callMs)
        : m_completer(std::move(completer))
        , m_slots(config.slots)
        , m_maxBatch(config.maxBatch)
        , m_call(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(callMs)))
        , m_busy(std::size_t(config.slots), false)
    {
        m_info.kind = BackendKind::Cpu;
        m_info.deviceName = "emulated";
    }
    ~EmulatedReplica() override
    {
        std::unique_lock lock(m_mu);
        m_idle.wait(lock, [this] { return m_inFlight == 0; });
    }
    const ReplicaInfo& info() const override { return m_info; }
    int slots() const override { return m_slots; }
    int maxBatch() const override { return m_maxBatch; }
    Status submit(int slot, int batch, const Bf16*, Bf16*, CompletionFn done) override
    {
        const auto t0 = Clock::now();
        if (slot < 0 || slot >= m_slots || batch < 1 || batch > m_maxBatch || !done)
            return Status::failure("emulated: bad call");
        {
            std::lock_guard lock(m_mu);
            if (m_busy[std::size_t(slot)])
                return Status::failure("emulated: slot busy");
            m_busy[std::size_t(slot)] = true;
            ++m_inFlight;
        }
        m_completer->add(t0 + m_call, [this, slot, batch, t0, done = std::move(done)] {
            Completion c;
            c.slot = slot;
            c.batch = batch;
            c.path = "emulated";
            const auto end = Clock::now();
            c.wallMs = std::chrono::duration<double, std::milli>(end - t0).count();
            c.forwardMs = c.deviceMs = c.wallMs;
            c.deviceStartNs = std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count();
            c.deviceEndNs = std::chrono::duration_cast<std::chrono::nanoseconds>(end.time_since_epoch()).count();
            {
                std::lock_guard lock(m_mu);
                m_busy[std::size_t(slot)] = false; // free before `done`, as the interface promises
            }
            done(c);
            std::lock_guard lock(m_mu);
            --m_inFlight;
            m_idle.notify_all();
        });
        return {};
    }

private:
    std::shared_ptr<Completer> m_completer;
    int m_slots, m_maxBatch;
    Clock::duration m_call;
    ReplicaInfo m_info;
    std::mutex m_mu;
    std::condition_variable m_idle;
    std::vector<bool> m_busy; // guarded by m_mu
    int m_inFlight = 0;       // guarded by m_mu
};

class EmulatedBackend final : public Backend {
public:
    explicit EmulatedBackend(double callMs)
        : m_callMs(callMs)
    {
    }
    BackendKind kind() const override { return BackendKind::Cpu; }
    std::string description() const override { return "emulated device (" + std::to_string(m_callMs) + " ms a call, no computation)"; }
    int deviceCount() const override { return 1; }
    CreatedReplica createReplica(std::shared_ptr<const Model> model, const ReplicaConfig& config) override
    {
        if (!model)
            return { nullptr, Status::failure("no model") };
        if (auto problem = validateConfig(*model, config); !problem.empty())
            return { nullptr, Status::failure(problem) };
        return { std::make_unique<EmulatedReplica>(m_completer, config, m_callMs), {} };
    }

private:
    double m_callMs;
    std::shared_ptr<Completer> m_completer = std::make_shared<Completer>();
};

} // namespace

std::unique_ptr<Backend> makeEmulatedBackend(double callMs) { return std::make_unique<EmulatedBackend>(callMs); }

} // namespace fidelity
