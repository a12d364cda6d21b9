#include "backend_executor.h"

#include "base/tsan.h"
#include "sim/engine.h"

// The predict headers name a member `slots`: knee_live builds with QT_NO_KEYWORDS so Qt's macro of
// that name does not eat it.
#include "predict/backend.h"
#include "predict/factory.h"
#include "predict/model.h"

#include <QThreadPool>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <semaphore>
#include <thread>
#include <utility>
#include <vector>

namespace knee {

namespace {

// One model per profile for the whole process: a reset, a second run or the next level of a live sweep
// reuses the weights instead of generating gigabytes again. The newest one is kept even when no replica
// holds it (levels and resets come one after another); others go with their last replica.
std::shared_ptr<const predict::Model> sharedModel(const predict::ModelProfile& profile)
{
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<const predict::Model>> cache;
    static std::shared_ptr<const predict::Model> newest;
    std::lock_guard lock(mu);
    auto model = cache[profile.name].lock();
    if (!model) {
        model = predict::Model::generate(profile);
        cache[profile.name] = model;
    }
    newest = model;
    return model;
}

std::mutex g_timingsMu;
BackendExecutor::Timings g_timings; // guarded by g_timingsMu
// The per-call trace (startTrace), guarded by g_timingsMu; a bound, so that a forgotten trace stays small.
bool g_tracing = false;
std::size_t g_traceMax = 0;
std::int64_t g_traceDropped = 0;
std::chrono::steady_clock::time_point g_traceEpoch;
std::vector<BackendExecutor::TracedCall> g_trace;

Nanos nanosSince(std::chrono::steady_clock::time_point t)
{
    return Nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t).count());
}

} // namespace

void BackendExecutor::startTrace(std::size_t maxCalls)
{
    std::lock_guard lock(g_timingsMu);
    g_tracing = true;
    g_traceMax = maxCalls;
    g_traceDropped = 0;
    g_trace.clear();
    g_trace.reserve(maxCalls); // here, not while a window's completions wait on the lock
    g_traceEpoch = std::chrono::steady_clock::now();
}

std::vector<BackendExecutor::TracedCall> BackendExecutor::stopTrace(std::int64_t* dropped)
{
    std::lock_guard lock(g_timingsMu);
    g_tracing = false;
    const std::int64_t beyond = std::exchange(g_traceDropped, 0);
    if (dropped)
        *dropped = beyond;
    return std::exchange(g_trace, {});
}

BackendExecutor::Timings BackendExecutor::takeTimings()
{
    std::lock_guard lock(g_timingsMu);
    Timings t = g_timings;
    g_timings = Timings {};
    return t;
}

std::vector<ModelProfileInfo> modelProfiles()
{
    std::vector<ModelProfileInfo> out;
    for (const auto& p : predict::builtinProfiles())
        out.push_back({ p.name, p.hidden, p.layers, p.parameterBytes() });
    return out;
}

const PredictBackendInfo& sharedPredictBackend()
{
    static const PredictBackendInfo info = [] {
        predict::BackendChoice choice = predict::makeBackend();
        PredictBackendInfo i;
        i.backend = choice.backend.release(); // deliberately never freed (see the header)
        i.gpu = choice.gpu;
        i.fellBack = choice.fellBack;
        i.notice = choice.notice;
        i.shortName = choice.gpu ? i.backend->description() : choice.fellBack ? "the CPU (no usable GPU)" : "the CPU";
        return i;
    }();
    return info;
}

struct BackendExecutor::State : std::enable_shared_from_this<BackendExecutor::State> {
    predict::Backend* backend = nullptr; // the host keeps it alive beyond every executor and completion
    predict::ModelProfile profile;
    predict::ReplicaConfig config; // slots aside (oneSlotPerPredict): the same for every replica
    bool oneSlotPerPredict = false;
    Deliver deliver;

    // This executor's own calls: their host time (submit to completion), summed, and their count.
    std::atomic<std::int64_t> hostCallNs{0}, hostCalls{0};

    std::mutex mu;
    bool alive = true; // false once the executor is gone: nothing more is delivered or started
    std::condition_variable idle;
    // Replica starts and teardowns block for the device's time: they run on threads of their own, a
    // few at once (replicas of a real deployment start side by side), never on the engine thread; the
    // destructor joins them. Not a QThreadPool: its threads are detached and its bookkeeping ordered by
    // Qt's futex-based mutex, so ThreadSanitizer (whose strict stage must pass) sees the pool's own
    // destruction on another thread as a race; joined std::threads it sees.
    std::counting_semaphore<4> jobSlots{4};
    std::vector<std::thread> workers;            // guarded by mu
    std::vector<std::thread::id> finishedWorkers; // guarded by mu: done, to be joined

    // Runs `job` on a worker thread, after joining the workers that finished (memory stays flat).
    void launch(std::function<void()> job)
    {
        std::lock_guard lock(mu);
        for (std::thread::id id : finishedWorkers) {
            auto it = std::find_if(workers.begin(), workers.end(), [&](const std::thread& t) { return t.get_id() == id; });
            if (it != workers.end()) {
                it->join(); // it has released `mu` and is returning
                workers.erase(it);
            }
        }
        finishedWorkers.clear();
        workers.emplace_back([this, job = std::move(job)] {
            pthread_setname_np(pthread_self(), "knee-replica"); // a crash report names the thread
            jobSlots.acquire();
            job();
            jobSlots.release();
            std::lock_guard done(mu);
            finishedWorkers.push_back(std::this_thread::get_id());
        });
    }
    void joinWorkers()
    {
        std::vector<std::thread> all;
        {
            std::lock_guard lock(mu);
            all.swap(workers);
            finishedWorkers.clear();
        }
        for (std::thread& t : all)
            t.join();
    }

    struct Call {
        std::uint64_t id = 0;
        int batch = 0;
    };
    struct DeviceReplica {
        std::vector<std::vector<predict::Bf16>> inputs, outputs; // per device slot: maxBatch × H each
        std::vector<bool> busy;
        int inFlight = 0;
        std::deque<Call> waiting; // calls beyond the device's slots (predict_concurrency raised later)
        bool retired = false;
        // Last, so it is destroyed first: ~Replica waits for calls in flight, which write the buffers above.
        std::unique_ptr<predict::Replica> replica;
    };
    std::map<std::int32_t, std::shared_ptr<DeviceReplica>> replicas;
    std::map<std::int32_t, bool> starting; // replica id -> retired while starting

    // Results reach the engine thread in batches: while one hand-off is posted and not yet run, later
    // results join it instead of posting their own (each post is an event and a wake-up of the engine
    // thread; under load they were a large share of its time per request).
    std::vector<std::function<void(Engine&)>> pending; // guarded by mu
    bool posted = false;                                 // guarded by mu

    void report(std::function<void(Engine&)> fn)
    {
        std::lock_guard lock(mu);
        if (!alive)
            return;
        pending.push_back(std::move(fn));
        if (posted)
            return;
        posted = true;
        deliver([self = shared_from_this()](Engine& e) {
            std::vector<std::function<void(Engine&)>> batch;
            {
                std::lock_guard lock(self->mu);
                self->posted = false;
                if (!self->alive) { // stopped meanwhile: nothing more reaches the engine
                    self->pending.clear();
                    return;
                }
                batch.swap(self->pending);
            }
            for (auto& f : batch)
                f(e);
        });
    }

    // Starts `call` on a free device slot; the caller holds `mu`. Returns an error instead of starting.
    std::string start(std::int32_t replicaId, DeviceReplica* dev, const Call& call)
    {
        int slot = 0;
        while (slot < int(dev->busy.size()) && dev->busy[std::size_t(slot)])
            ++slot;
        if (slot == int(dev->busy.size())) {
            dev->waiting.push_back(call);
            return {};
        }
        const predict::Status s = dev->replica->submit(slot, call.batch, dev->inputs[std::size_t(slot)].data(),
                                                       dev->outputs[std::size_t(slot)].data(),
                                                       // Holds the state (it may report after the executor is
                                                       // gone) but not the replica: `done` must never destroy it.
                                                       [self = shared_from_this(), replicaId, dev, call](
                                                           const predict::Completion& c) { self->finished(replicaId, dev, call, c); });
        if (!s.ok())
            return s.error;
        dev->busy[std::size_t(slot)] = true;
        ++dev->inFlight;
        return {};
    }

    // A forward pass ended (backend thread): free its slot, start the next waiting call, report. `dev`
    // is not touched once `mu` is released: the executor may free it as soon as nothing is in flight.
    void finished(std::int32_t replicaId, DeviceReplica* dev, const Call& call, const predict::Completion& c)
    {
        const auto completedAt = std::chrono::steady_clock::now();
        if (c.status.ok()) {
            hostCallNs.fetch_add(std::int64_t(c.wallMs * 1e6), std::memory_order_relaxed);
            hostCalls.fetch_add(1, std::memory_order_relaxed);
            std::lock_guard lock(g_timingsMu);
            g_timings.hostCall.record(Nanos(c.wallMs * 1e6));
            if (c.notifyMs > 0)
                g_timings.notify.record(Nanos(c.notifyMs * 1e6));
            if (g_tracing) {
                if (g_trace.size() < g_traceMax) {
                    const std::int64_t end = std::chrono::duration_cast<std::chrono::nanoseconds>(completedAt - g_traceEpoch).count();
                    BackendExecutor::TracedCall t {end - std::llround(c.wallMs * 1e6), end, c.deviceMs, replicaId, dev->replica->info().device, call.batch};
                    if (c.deviceStartNs != 0 && c.deviceEndNs >= c.deviceStartNs) {
                        const std::int64_t epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(g_traceEpoch.time_since_epoch()).count();
                        t.deviceStartNs = c.deviceStartNs - epoch;
                        t.deviceEndNs = c.deviceEndNs - epoch;
                    }
                    g_trace.push_back(t);
                } else {
                    ++g_traceDropped;
                }
            }
        }
        std::vector<std::pair<std::uint64_t, std::string>> results;
        {
            std::lock_guard lock(mu);
            results.emplace_back(call.id, c.status.ok() ? std::string() : describe(replicaId, *dev, c.status.error));
            dev->busy[std::size_t(c.slot)] = false;
            --dev->inFlight;
            while (!dev->waiting.empty() && !dev->retired) {
                const Call next = dev->waiting.front();
                dev->waiting.pop_front();
                const std::string error = start(replicaId, dev, next);
                if (error.empty())
                    break;
                results.emplace_back(next.id, describe(replicaId, *dev, error));
            }
            idle.notify_all();
        }
        for (auto& [id, error] : results)
            report([id, error, completedAt](Engine& e) {
                {
                    std::lock_guard lock(g_timingsMu);
                    g_timings.handoff.record(nanosSince(completedAt));
                }
                e.predictCallDone(id, error);
            });
    }

    static std::string describe(std::int32_t replicaId, const DeviceReplica& dev, const std::string& error)
    {
        const predict::ReplicaInfo& info = dev.replica->info();
        return "predict failed on replica " + std::to_string(replicaId) + " ("
            + (info.kind == predict::BackendKind::Cuda ? "GPU " + std::to_string(info.device) + " " + info.deviceName : "CPU")
            + "): " + error;
    }
};

BackendExecutor::BackendExecutor(predict::Backend& backend, const Scenario& scenario, Deliver deliver)
    : m_state(std::make_shared<State>())
{
    State& s = *m_state;
    s.backend = &backend;
    s.deliver = std::move(deliver);
    if (auto profile = predict::findProfile(scenario.model.profile))
        s.profile = *profile;
    // One call at a time per replica when predict batches inside (the batcher or the decode loop makes
    // the calls), carrying up to its largest batch; otherwise one slot per predict_concurrency.
    const BatchingConfig& b = scenario.model.batching;
    switch (b.mode) {
    case BatchingConfig::Mode::None:
        s.oneSlotPerPredict = true; // slots: predict_concurrency when each replica starts
        s.config.maxBatch = 1;
        break;
    case BatchingConfig::Mode::Dynamic:
        s.config.slots = 1;
        s.config.maxBatch = std::max(1, b.maxBatch);
        break;
    case BatchingConfig::Mode::Continuous:
        s.config.slots = 1;
        s.config.maxBatch = std::max(1, b.maxSequences);
        break;
    }
    // Warm the batch sizes calls will use, so the first of each does not pay setup inside a request.
    for (int batch = 1; batch <= s.config.maxBatch; batch = batch < 64 ? batch + 1 : batch * 2)
        s.config.warmBatches.push_back(batch);
    if (s.config.warmBatches.back() != s.config.maxBatch)
        s.config.warmBatches.push_back(s.config.maxBatch);
}

void BackendExecutor::stopDelivering()
{
    std::lock_guard lock(m_state->mu);
    m_state->alive = false;
}

BackendExecutor::~BackendExecutor()
{
    State& s = *m_state;
    std::vector<std::shared_ptr<State::DeviceReplica>> devices;
    {
        std::unique_lock lock(s.mu);
        s.alive = false;
        for (auto& [id, dev] : s.replicas) {
            dev->retired = true;
            dev->waiting.clear();
        }
        // Calls in flight still write into the replicas' buffers: wait for them.
        s.idle.wait(lock, [&] {
            for (auto& [id, dev] : s.replicas)
                if (dev->inFlight > 0)
                    return false;
            return true;
        });
        for (auto& [id, dev] : s.replicas)
            devices.push_back(dev);
        s.replicas.clear();
    }
    devices.clear(); // frees device memory here
    s.joinWorkers(); // starts and teardowns under way (a start that finishes now delivers nothing)
}

void BackendExecutor::destroyElsewhere(std::unique_ptr<BackendExecutor> executor)
{
    if (!executor)
        return;
    executor->stopDelivering();
    // A plain pointer, so the destruction happens in the job whatever copies of the job Qt makes.
    // QCoreApplication waits for the global pool when the application ends.
    BackendExecutor* raw = executor.release();
    static char handoff; // the pool's hand-off, made visible to TSan (base/tsan.h)
    QRunnable* job = QRunnable::create([raw] {
        KNEE_TSAN_ACQUIRE(&handoff);
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        pthread_setname_np(pthread_self(), "knee-teardown"); // a crash report names the thread
        delete raw;
        pthread_setname_np(pthread_self(), name); // a pool thread: back to its own name
    });
    KNEE_TSAN_RELEASE(&handoff);
    QThreadPool::globalInstance()->start(job);
}

int BackendExecutor::deviceCount() const
{
    return std::max(1, m_state->backend->deviceCount());
}

void BackendExecutor::provision(std::int32_t replicaId, int predictSlots, int device)
{
    std::shared_ptr<State> state = m_state;
    {
        std::lock_guard lock(state->mu);
        state->starting[replicaId] = false;
    }
    // The job holds a plain pointer: the destructor joins the workers, so the state outlives it.
    predict::ReplicaConfig config = state->config;
    if (state->oneSlotPerPredict)
        config.slots = std::clamp(predictSlots, 1, kMaxDeviceSlots);
    if (state->backend->kind() == predict::BackendKind::Cuda)
        config.device = device; // the engine placed it (fewest replicas first, as the backend would)
    state->launch([st = state.get(), replicaId, config] {
        State& s = *st;
        std::string error;
        auto dev = std::make_shared<State::DeviceReplica>();
        try {
            if (s.profile.name.empty())
                throw std::invalid_argument("the scenario names no model profile");
            auto created = s.backend->createReplica(sharedModel(s.profile), config);
            if (!created.replica) {
                error = created.status.error;
            } else {
                dev->replica = std::move(created.replica);
                const std::size_t values = std::size_t(config.maxBatch) * std::size_t(s.profile.hidden);
                for (int slot = 0; slot < dev->replica->slots(); ++slot) {
                    dev->inputs.emplace_back(values);
                    dev->outputs.emplace_back(values);
                    predict::fillUniform(dev->inputs.back().data(), values, std::uint64_t(replicaId) * 1000 + std::uint64_t(slot));
                }
                dev->busy.assign(std::size_t(dev->replica->slots()), false);
            }
        } catch (const std::bad_alloc&) {
            error = "out of host memory for model '" + s.profile.name + "'";
        } catch (const std::exception& e) {
            error = e.what();
        }
        bool retiredMeanwhile = false;
        {
            std::lock_guard lock(s.mu);
            retiredMeanwhile = s.starting[replicaId];
            s.starting.erase(replicaId);
            if (error.empty() && !retiredMeanwhile && s.alive)
                s.replicas[replicaId] = dev;
        }
        if (!error.empty())
            error = "model '" + s.profile.name + "' on " + s.backend->description() + ": " + error;
        if (!retiredMeanwhile)
            s.report([replicaId, error](Engine& e) { e.replicaProvisioned(replicaId, error); });
        // Otherwise (or if the run ended) `dev` is freed here, on this thread.
    });
}

void BackendExecutor::retire(std::int32_t replicaId)
{
    std::shared_ptr<State> state = m_state;
    std::shared_ptr<State::DeviceReplica> dev;
    {
        std::lock_guard lock(state->mu);
        if (auto it = state->starting.find(replicaId); it != state->starting.end()) {
            it->second = true; // the start job frees it when it finishes
            return;
        }
        auto it = state->replicas.find(replicaId);
        if (it == state->replicas.end())
            return;
        dev = it->second;
        dev->retired = true;
        state->replicas.erase(it);
    }
    // The engine retires a replica only once it holds nothing, so no call is in flight: the teardown
    // (freeing device memory can take a while) still runs off the engine thread.
    state->launch([dev]() mutable { dev.reset(); });
}

void BackendExecutor::submit(std::int32_t replicaId, std::uint64_t callId, int batch)
{
    State& s = *m_state;
    std::string error;
    {
        std::lock_guard lock(s.mu);
        auto it = s.replicas.find(replicaId);
        if (it == s.replicas.end())
            error = "predict failed: replica " + std::to_string(replicaId) + " has no device replica";
        else if (batch > s.config.maxBatch)
            error = "predict failed: batch " + std::to_string(batch) + " exceeds the replica's " + std::to_string(s.config.maxBatch);
        else if (auto e = s.start(replicaId, it->second.get(), State::Call { callId, batch }); !e.empty())
            error = State::describe(replicaId, *it->second, e);
    }
    if (!error.empty()) // never synchronously: the engine is in the middle of starting this call
        s.report([callId, error](Engine& e) { e.predictCallDone(callId, error); });
}

BackendExecutor::HostCalls BackendExecutor::hostCalls() const
{
    return {double(m_state->hostCallNs.load(std::memory_order_relaxed)) / 1e6, m_state->hostCalls.load(std::memory_order_relaxed)};
}

} // namespace knee
