#include "predict/cpu_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
#include <unistd.h>

namespace knee::predict {

namespace {

using Clock = std::chrono::steady_clock;

std::string gigabytes(double bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
    return buf;
}

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// A fixed pool shared by every replica of one backend: the machine has so many cores however many
// replicas the user asks for, and oversubscribing them only adds switching.
class ThreadPool {
public:
    explicit ThreadPool(int threads)
    {
        for (int i = 0; i < threads; ++i)
            m_threads.emplace_back([this] { work(); });
    }
    ~ThreadPool()
    {
        {
            std::lock_guard lock(m_mu);
            m_stop = true;
        }
        m_cv.notify_all();
        for (auto& t : m_threads)
            t.join();
    }
    void post(std::function<void()> job)
    {
        {
            std::lock_guard lock(m_mu);
            m_jobs.push_back(std::move(job));
        }
        m_cv.notify_one();
    }
    int size() const { return int(m_threads.size()); }

private:
    void work()
    {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(m_mu);
                m_cv.wait(lock, [this] { return m_stop || !m_jobs.empty(); });
                if (m_jobs.empty())
                    return; // stopping, and nothing left to run
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            job();
        }
    }
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::deque<std::function<void()>> m_jobs;
    bool m_stop = false;
    std::vector<std::thread> m_threads;
};

// Dot products of one activation row with four weight rows at once: each x load feeds four rows, and
// eight independent partial sums per row let the compiler keep them in vector registers. The order of
// additions differs from cuBLAS's; both are fp32, which is what the tolerance allows for.
inline void dot4(const float* x, const float* w, std::size_t h, float out[4])
{
    float s0[8] = {}, s1[8] = {}, s2[8] = {}, s3[8] = {};
    const float *w0 = w, *w1 = w + h, *w2 = w + 2 * h, *w3 = w + 3 * h;
    for (std::size_t k = 0; k < h; k += 8) {
        for (std::size_t j = 0; j < 8; ++j) {
            const float xv = x[k + j];
            s0[j] += xv * w0[k + j];
            s1[j] += xv * w1[k + j];
            s2[j] += xv * w2[k + j];
            s3[j] += xv * w3[k + j];
        }
    }
    float t[4] = {};
    for (std::size_t j = 0; j < 8; ++j) {
        t[0] += s0[j];
        t[1] += s1[j];
        t[2] += s2[j];
        t[3] += s3[j];
    }
    std::copy(t, t + 4, out);
}

// One layer: y = bf16(relu(W·x + b)), kept as float holding bf16 values. H is a multiple of 8, so
// output rows come in whole groups of four.
void layer(const Model& model, int l, const float* x, float* y, int batch, float* wrows)
{
    const std::size_t h = std::size_t(model.hidden());
    const Bf16* w = model.weights(l);
    const Bf16* bias = model.bias(l);
    for (std::size_t o = 0; o < h; o += 4) {
        for (std::size_t i = 0; i < 4 * h; ++i) // converted once per call, reused by every batch row
            wrows[i] = toFloat(w[o * h + i]);
        for (int b = 0; b < batch; ++b) {
            float acc[4];
            dot4(x + std::size_t(b) * h, wrows, h, acc);
            for (std::size_t r = 0; r < 4; ++r) {
                const float v = acc[r] + toFloat(bias[o + r]);
                y[std::size_t(b) * h + o + r] = toFloat(toBf16(v > 0 ? v : 0.0f));
            }
        }
    }
}

class CpuReplica final : public Replica {
public:
    CpuReplica(std::shared_ptr<const Model> model, const ReplicaConfig& config, std::shared_ptr<ThreadPool> pool)
        : m_model(std::move(model))
        , m_pool(std::move(pool))
        , m_maxBatch(config.maxBatch)
        , m_slots(std::size_t(config.slots))
    {
        const auto t0 = Clock::now();
        const std::size_t h = std::size_t(m_model->hidden());
        const std::size_t act = std::size_t(m_maxBatch) * h;
        for (auto& s : m_slots) {
            s.a.resize(act); // std::bad_alloc propagates to createReplica, which reports it
            s.b.resize(act);
            s.wrows.resize(4 * h);
        }
        m_info.kind = BackendKind::Cpu;
        m_info.deviceName = "CPU (" + std::to_string(m_pool->size()) + " threads)";
        m_info.deviceBytes = m_slots.size() * (2 * act + 4 * h) * sizeof(float);
        m_info.coldStartMs = msSince(t0);
    }

    ~CpuReplica() override
    {
        std::unique_lock lock(m_mu);
        m_idle.wait(lock, [this] { return m_inFlight == 0; });
    }

    const ReplicaInfo& info() const override { return m_info; }
    int slots() const override { return int(m_slots.size()); }
    int maxBatch() const override { return m_maxBatch; }

    Status submit(int slot, int batch, const Bf16* input, Bf16* output, CompletionFn done) override
    {
        const auto t0 = Clock::now();
        if (slot < 0 || slot >= slots())
            return Status::failure("slot " + std::to_string(slot) + " does not exist (replica has " + std::to_string(slots()) + ")");
        if (batch < 1 || batch > m_maxBatch)
            return Status::failure("batch " + std::to_string(batch) + " is outside this replica's 1.." + std::to_string(m_maxBatch));
        if (!input || !output || !done)
            return Status::failure("submit needs an input, an output and a completion callback");
        {
            std::lock_guard lock(m_mu);
            if (m_slots[std::size_t(slot)].busy)
                return Status::failure("slot " + std::to_string(slot) + " is busy with another call");
            m_slots[std::size_t(slot)].busy = true;
            ++m_inFlight;
        }
        m_pool->post([this, slot, batch, input, output, done = std::move(done), t0] {
            Completion c;
            c.slot = slot;
            c.batch = batch;
            c.path = "cpu";
            const auto start = Clock::now();
            forward(m_slots[std::size_t(slot)], batch, input, output);
            const auto end = Clock::now();
            c.forwardMs = c.deviceMs = std::chrono::duration<double, std::milli>(end - start).count();
            c.deviceStartNs = std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
            c.deviceEndNs = std::chrono::duration_cast<std::chrono::nanoseconds>(end.time_since_epoch()).count();
            {
                std::lock_guard lock(m_mu);
                m_slots[std::size_t(slot)].busy = false; // the completion may submit the slot's next call
            }
            c.wallMs = msSince(t0);
            done(c);
            // Counted out only after its completion ran: a replica being destroyed returns once every call's
            // completion has (the destructor's promise), and stays alive meanwhile.
            std::lock_guard lock(m_mu);
            --m_inFlight;
            m_idle.notify_all(); // under the lock: the destructor cannot free m_idle before this returns
        });
        return {};
    }

private:
    struct Slot {
        bool busy = false; // guarded by m_mu
        std::vector<float> a, b, wrows;
    };

    void forward(Slot& s, int batch, const Bf16* input, Bf16* output)
    {
        const std::size_t n = std::size_t(batch) * std::size_t(m_model->hidden());
        for (std::size_t i = 0; i < n; ++i)
            s.a[i] = toFloat(input[i]);
        float* x = s.a.data();
        float* y = s.b.data();
        for (int l = 0; l < m_model->layers(); ++l) {
            layer(*m_model, l, x, y, batch, s.wrows.data());
            std::swap(x, y);
        }
        for (std::size_t i = 0; i < n; ++i)
            output[i] = toBf16(x[i]); // exact: x already holds bf16 values
    }

    std::shared_ptr<const Model> m_model;
    std::shared_ptr<ThreadPool> m_pool;
    int m_maxBatch;
    std::vector<Slot> m_slots;
    ReplicaInfo m_info;
    std::mutex m_mu;
    std::condition_variable m_idle;
    int m_inFlight = 0;
};

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(int threads)
        : m_pool(std::make_shared<ThreadPool>(threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()))))
    {
    }
    BackendKind kind() const override { return BackendKind::Cpu; }
    std::string description() const override
    {
        return "CPU backend, " + std::to_string(m_pool->size()) + " threads (bf16 weights, fp32 accumulation)";
    }
    int deviceCount() const override { return 0; }

    CreatedReplica createReplica(std::shared_ptr<const Model> model, const ReplicaConfig& config) override
    {
        CreatedReplica result;
        if (!model) {
            result.status = Status::failure("no model");
            return result;
        }
        if (auto problem = validateConfig(*model, config); !problem.empty()) {
            result.status = Status::failure(problem);
            return result;
        }
        // Refuse what the machine cannot hold before asking for it: where the kernel overcommits memory,
        // a huge allocation "succeeds" and the first touch brings the OOM killer instead of an error.
        const double need = double(config.slots) * (2.0 * double(config.maxBatch) + 4.0) * double(model->hidden()) * sizeof(float);
        const double have = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
        if (have > 0 && need > have) {
            result.status = Status::failure("out of host memory: " + std::to_string(config.slots) + " slot(s) of batch "
                + std::to_string(config.maxBatch) + " need " + gigabytes(need) + ", the machine has " + gigabytes(have));
            return result;
        }
        try {
            result.replica = std::make_unique<CpuReplica>(std::move(model), config, m_pool);
        } catch (const std::bad_alloc&) {
            result.status = Status::failure("out of host memory for " + std::to_string(config.slots) + " slot(s) of batch "
                + std::to_string(config.maxBatch));
        }
        return result;
    }

private:
    std::shared_ptr<ThreadPool> m_pool;
};

} // namespace

std::unique_ptr<Backend> makeCpuBackend(int threads) { return std::make_unique<CpuBackend>(threads); }

} // namespace knee::predict
