#include "predict/cuda_replica.h"

#include "predict/cuda_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cuda_runtime_api.h>

namespace knee::predict::cuda {

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
std::size_t roundUp(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Out-of-memory messages carry what the device had left: it tells the user how far off the request was.
Status checkAlloc(cudaError_t e, const std::string& what, std::size_t bytes)
{
    if (e == cudaSuccess)
        return {};
    (void)cudaGetLastError();
    std::size_t freeB = 0, totalB = 0;
    std::string room;
    if (cudaMemGetInfo(&freeB, &totalB) == cudaSuccess)
        room = "; " + bytesText(freeB) + " of " + bytesText(totalB) + " free";
    (void)cudaGetLastError();
    return Status::failure("cannot allocate " + bytesText(bytes) + " for " + what + room + ": " + errorText(e));
}

template <class T>
Status setAttr(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& value)
{
    return check(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof value), "cublasLtMatmulDescSetAttribute");
}

} // namespace

CudaReplica::CudaReplica(std::shared_ptr<Shared> shared, std::shared_ptr<const Model> model, const ReplicaConfig& config, int device)
    : m_shared(std::move(shared))
    , m_model(std::move(model))
    , m_config(config)
    , m_device(device)
    , m_hidden(m_model->hidden())
    , m_layers(m_model->layers())
{
    std::lock_guard lock(m_shared->mu);
    ++m_shared->replicasOnDevice[std::size_t(device)];
}

CreatedReplica CudaReplica::create(std::shared_ptr<Shared> shared, std::shared_ptr<const Model> model, const ReplicaConfig& config,
                                   int device)
{
    const auto t0 = Clock::now();
    CreatedReplica out;
    std::mutex& setup = *shared->setup.at(std::size_t(device));
    std::unique_ptr<CudaReplica> r(new CudaReplica(std::move(shared), std::move(model), config, device));
    {
        std::lock_guard lock(setup);
        out.status = r->init();
    } // unlocked before a failed replica's destructor, which takes the lock itself
    if (!out.status.ok()) {
        out.status.error = r->where() + ": " + out.status.error;
        return out; // r's destructor frees whatever init() got before failing
    }
    r->m_info.coldStartMs = msSince(t0);
    out.replica = std::move(r);
    return out;
}

std::string CudaReplica::where() const
{
    return "GPU " + std::to_string(m_device) + " (" + m_shared->devices[std::size_t(m_device)].name + ")";
}

bool CudaReplica::smallKernelFits(int batch) const
{
    return batch <= kSmallBatchMax && m_config.fuseEpilogue
        && smallBatchSharedBytes(m_hidden, batch) <= m_shared->devices[std::size_t(m_device)].sharedOptIn;
}

Status CudaReplica::init()
{
    if (auto s = check(cudaSetDevice(m_device), "cudaSetDevice"); !s.ok())
        return s;
    const std::size_t h = std::size_t(m_hidden), l = std::size_t(m_layers);
    m_info.kind = BackendKind::Cuda;
    m_info.device = m_device;
    m_info.deviceName = m_shared->devices[std::size_t(m_device)].name;

    // Weights: one allocation per kind, layers 256-byte aligned (cuBLASLt's heuristics assume that much).
    m_weightStride = roundUp(h * h * sizeof(Bf16), 256);
    m_biasStride = roundUp(h * sizeof(Bf16), 256);
    const auto upload0 = Clock::now();
    if (auto s = checkAlloc(cudaMalloc(reinterpret_cast<void**>(&m_weights), l * m_weightStride), "the weights", l * m_weightStride); !s.ok())
        return s;
    if (auto s = checkAlloc(cudaMalloc(reinterpret_cast<void**>(&m_bias), l * m_biasStride), "the biases", l * m_biasStride); !s.ok())
        return s;
    for (std::size_t i = 0; i < l; ++i) {
        if (auto s = check(cudaMemcpy(m_weights + i * m_weightStride, m_model->weights(int(i)), h * h * sizeof(Bf16), cudaMemcpyHostToDevice),
                           "uploading the weights");
            !s.ok())
            return s;
        if (auto s = check(cudaMemcpy(m_bias + i * m_biasStride, m_model->bias(int(i)), h * sizeof(Bf16), cudaMemcpyHostToDevice),
                           "uploading the biases");
            !s.ok())
            return s;
    }
    // A copy from pageable memory may return once its data is staged, before it lands: wait for it.
    if (auto s = check(cudaStreamSynchronize(nullptr), "uploading the weights"); !s.ok())
        return s;
    m_info.weightUploadMs = msSince(upload0);
    m_info.deviceBytes = l * (m_weightStride + m_biasStride);

    // cuBLASLt computes D (H × B) = op(A) · X with A = the stored weights read transposed (row-major
    // [out][in] is column-major [in][out]) and X the batch's vectors as columns: the "TN" layout.
    if (auto s = check(cublasLtCreate(&m_lt), "cublasLtCreate"); !s.ok())
        return s;
    if (auto s = check(cublasLtMatrixLayoutCreate(&m_weightLayout, CUDA_R_16BF, h, h, int64_t(h)), "weight layout"); !s.ok())
        return s;
    auto makeDesc = [&](cublasLtMatmulDesc_t& desc, cublasLtEpilogue_t epilogue, const void* bias) -> Status {
        if (auto s = check(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate"); !s.ok())
            return s;
        if (auto s = setAttr(desc, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T); !s.ok())
            return s;
        if (auto s = setAttr(desc, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N); !s.ok())
            return s;
        if (auto s = setAttr(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue); !s.ok())
            return s;
        return bias ? setAttr(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias) : Status {};
    };
    m_fused.assign(l, nullptr);
    for (std::size_t i = 0; i < l; ++i)
        if (auto s = makeDesc(m_fused[i], CUBLASLT_EPILOGUE_RELU_BIAS, m_bias + i * m_biasStride); !s.ok())
            return s;
    if (auto s = makeDesc(m_plain, CUBLASLT_EPILOGUE_DEFAULT, nullptr); !s.ok())
        return s;
    if (auto s = check(cublasLtMatmulPreferenceCreate(&m_preference), "cublasLtMatmulPreferenceCreate"); !s.ok())
        return s;
    const std::uint64_t workspace = m_config.workspaceBytes;
    if (auto s = check(cublasLtMatmulPreferenceSetAttribute(m_preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace),
                       "workspace preference");
        !s.ok())
        return s;
    if (smallKernelFits(1)) {
        const std::size_t most = smallBatchSharedBytes(m_hidden, kSmallBatchMax);
        const std::size_t optIn = std::min(most, m_shared->devices[std::size_t(m_device)].sharedOptIn);
        if (auto s = check(prepareSmallBatchKernels(optIn), "small-batch kernel shared-memory opt-in"); !s.ok())
            return s;
    }

    if (auto s = check(cudaEventCreate(&m_epoch), "cudaEventCreate (the replica's epoch)"); !s.ok())
        return s;
    m_slots.resize(std::size_t(m_config.slots));
    for (std::size_t i = 0; i < m_slots.size(); ++i) {
        m_slots[i] = std::make_unique<Slot>();
        m_slots[i]->owner = this;
        m_slots[i]->index = int(i);
        if (auto s = initSlot(*m_slots[i]); !s.ok())
            return s;
    }

    // Prepare the batch sizes the caller will use, so that their first call costs what every call costs.
    for (int b : m_config.warmBatches) {
        const Plan* plan = nullptr;
        if (auto s = planFor(b, plan); !s.ok())
            return s;
        if (m_config.useGraphs && !m_noGraphs)
            for (auto& slot : m_slots) {
                cudaGraphExec_t g = nullptr;
                if (auto s = graphFor(*slot, b, *plan, g); !s.ok()) {
                    m_noGraphs = true; // as in launch(): serve without graphs rather than not at all
                    std::fprintf(stderr, "knee predict: %s: %s; launching layer by layer\n", where().c_str(), s.error.c_str());
                    break;
                }
            }
    }
    // The replica's own work only (its streams, and the default stream its uploads and clears used):
    // cudaDeviceSynchronize here crashed inside libcuda (cuCtxSynchronize, a read at 0x298) while
    // another replica was setting up on the same GPU (bench/fidelity/results/h200_2026-12-02_churn),
    // and it would wait for every other replica's calls in flight besides.
    for (auto& slot : m_slots)
        if (auto s = check(cudaStreamSynchronize(slot->stream), "finishing the replica's set-up"); !s.ok())
            return s;
    return check(cudaStreamSynchronize(nullptr), "finishing the replica's set-up");
}

Status CudaReplica::initSlot(Slot& s)
{
    const std::string which = "slot " + std::to_string(s.index);
    const std::size_t actBytes = std::size_t(m_config.maxBatch) * std::size_t(m_hidden) * sizeof(Bf16);
    if (auto st = check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), which + ": cudaStreamCreate"); !st.ok())
        return st;
    for (auto& e : s.events)
        if (auto st = check(cudaEventCreate(&e), which + ": cudaEventCreate"); !st.ok())
            return st;
    if (auto st = checkAlloc(cudaMalloc(&s.workspace, m_config.workspaceBytes), which + "'s cuBLASLt workspace", m_config.workspaceBytes); !st.ok())
        return st;
    for (auto& a : s.act)
        if (auto st = checkAlloc(cudaMalloc(reinterpret_cast<void**>(&a), actBytes),
                                 which + "'s activations (batch " + std::to_string(m_config.maxBatch) + ")", actBytes);
            !st.ok())
            return st;
    // Start as NaN (0xFFFF): an element a kernel forgets to write can never pass for a result.
    // On the slot's stream (not the default one, which its non-blocking stream does not wait for): the
    // warm-up runs and graph captures that follow on that stream see the buffers cleared.
    for (auto* a : s.act)
        if (auto st = check(cudaMemsetAsync(a, 0xFF, actBytes, s.stream), which + ": cudaMemsetAsync"); !st.ok())
            return st;
    if (auto st = checkAlloc(cudaMallocHost(reinterpret_cast<void**>(&s.hostIn), actBytes), which + "'s pinned input staging", actBytes); !st.ok())
        return st;
    if (auto st = checkAlloc(cudaMallocHost(reinterpret_cast<void**>(&s.hostOut), actBytes), which + "'s pinned output staging", actBytes); !st.ok())
        return st;
    m_info.deviceBytes += m_config.workspaceBytes + 2 * actBytes;
    return {};
}

Status CudaReplica::submit(int slot, int batch, const Bf16* input, Bf16* output, CompletionFn done)
{
    const auto t0 = Clock::now();
    if (slot < 0 || slot >= slots())
        return Status::failure("slot " + std::to_string(slot) + " does not exist (replica has " + std::to_string(slots()) + ")");
    if (batch < 1 || batch > m_config.maxBatch)
        return Status::failure("batch " + std::to_string(batch) + " is outside this replica's 1.." + std::to_string(m_config.maxBatch));
    if (!input || !output || !done)
        return Status::failure("submit needs an input, an output and a completion callback");
    Slot& s = *m_slots[std::size_t(slot)];
    {
        std::lock_guard lock(m_mu);
        if (s.busy)
            return Status::failure("slot " + std::to_string(slot) + " is busy with another call");
        s.busy = true;
        if (m_inFlight++ == 0) { // idle until now: this call's stream carries the busy period's epoch
            m_epochNs = 0;
            if (cudaSetDevice(m_device) == cudaSuccess && cudaEventRecord(m_epoch, s.stream) == cudaSuccess)
                m_epochNs = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
            (void)cudaGetLastError(); // a failure here only leaves the call's device times unknown
        }
        s.epochNs = m_epochNs;
    }
    Status st = launch(s, batch, input, output, done, t0);
    if (!st.ok()) {
        s.done = nullptr; // the refused call never completes
        release(s);
        callEnded();
        st.error = where() + ": " + st.error;
    }
    return st;
}

// Enqueues copy-in, the layers, copy-out and the completion callback; returns without waiting. Work
// already enqueued when a later step fails stays in the slot's stream, harmlessly: it touches only the
// slot's own buffers, and the next call on the slot is ordered after it.
Status CudaReplica::launch(Slot& s, int batch, const Bf16* input, Bf16* output, CompletionFn& done, Clock::time_point t0)
{
    if (auto st = check(cudaSetDevice(m_device), "cudaSetDevice"); !st.ok())
        return st;
    const Plan* plan = nullptr;
    if (auto st = planFor(batch, plan); !st.ok())
        return st;
    cudaGraphExec_t graph = nullptr;
    if (m_config.useGraphs && !m_noGraphs.load(std::memory_order_relaxed))
        if (auto st = graphFor(s, batch, *plan, graph); !st.ok()) {
            // Graphs only save launch time: keep serving, layer by layer, and say so once.
            if (!m_noGraphs.exchange(true))
                std::fprintf(stderr, "knee predict: %s: %s; launching layer by layer from now on\n", where().c_str(), st.error.c_str());
        }
    const std::size_t bytes = std::size_t(batch) * std::size_t(m_hidden) * sizeof(Bf16);
    std::memcpy(s.hostIn, input, bytes); // pinned staging: the copy below is truly asynchronous
    s.batch = batch;
    s.userOut = output;
    s.done = std::move(done);
    s.submitted = t0;
    s.path = plan->path;
    s.graph = graph != nullptr;
    s.asyncStatus = cudaSuccess;

    cudaStream_t st = s.stream;
    Status r = check(cudaEventRecord(s.events[kStart], st), "cudaEventRecord");
    if (r.ok())
        r = check(cudaMemcpyAsync(s.act[0], s.hostIn, bytes, cudaMemcpyHostToDevice, st), "input copy");
    if (r.ok())
        r = check(cudaEventRecord(s.events[kInputReady], st), "cudaEventRecord");
    if (r.ok())
        r = graph ? check(cudaGraphLaunch(graph, st), "cudaGraphLaunch") : enqueueLayers(s, batch, *plan);
    if (r.ok())
        r = check(cudaEventRecord(s.events[kLayersDone], st), "cudaEventRecord");
    if (r.ok())
        r = check(cudaMemcpyAsync(s.hostOut, s.act[m_layers & 1], bytes, cudaMemcpyDeviceToHost, st), "output copy");
    if (r.ok())
        r = check(cudaEventRecord(s.events[kEnd], st), "cudaEventRecord");
    if (r.ok())
        r = check(cudaStreamAddCallback(st, &CudaReplica::onStreamDone, &s, 0), "cudaStreamAddCallback");
    return r;
}

// On CUDA's callback thread: no CUDA calls allowed, and the stream waits while this runs. Hand over.
void CudaReplica::onStreamDone(cudaStream_t, cudaError_t status, void* user)
{
    auto* s = static_cast<Slot*>(user);
    s->notified = Clock::now();
    s->asyncStatus = status;
    s->owner->m_dispatcher.push(s);
}

void CudaReplica::release(Slot& s)
{
    std::lock_guard lock(m_mu);
    s.busy = false;
}

// After the call's completion ran: a replica being destroyed returns once every completion has.
void CudaReplica::callEnded()
{
    std::lock_guard lock(m_mu);
    --m_inFlight;
    m_idle.notify_all(); // under the lock: the destructor cannot free m_idle before this returns
}

// On the dispatcher thread, after the slot's stream passed the callback.
void CudaReplica::finish(Slot& s)
{
    (void)cudaSetDevice(m_device);
    Completion c;
    c.slot = s.index;
    c.batch = s.batch;
    c.path = s.path;
    c.graph = s.graph;
    if (s.asyncStatus != cudaSuccess) {
        c.status = Status::failure(where() + ": the GPU failed while running the call: " + errorText(s.asyncStatus));
    } else {
        std::memcpy(s.userOut, s.hostOut, std::size_t(s.batch) * std::size_t(m_hidden) * sizeof(Bf16));
        float ms = 0;
        const bool inGraph = s.graph && cudaEventElapsedTime(&ms, s.events[kForward0], s.events[kForward1]) == cudaSuccess;
        if (!inGraph) { // direct launches, or a driver that cannot time graph event nodes: bracket from outside
            static std::atomic<bool> told { false };
            if (s.graph && !told.exchange(true))
                std::fprintf(stderr, "knee predict: events inside CUDA graphs cannot be timed here; forward time includes the launch\n");
            (void)cudaGetLastError();
            (void)cudaEventElapsedTime(&ms, s.events[kInputReady], s.events[kLayersDone]);
        }
        c.forwardMs = ms;
        if (cudaEventElapsedTime(&ms, s.events[kStart], s.events[kEnd]) == cudaSuccess)
            c.deviceMs = ms;
        // Float milliseconds since the epoch: 0.1 µs steps within a second of busy time, 8 µs after a minute.
        float fromEpoch = 0, toEnd = 0;
        if (s.epochNs != 0 && cudaEventElapsedTime(&fromEpoch, m_epoch, s.events[kStart]) == cudaSuccess
            && cudaEventElapsedTime(&toEnd, m_epoch, s.events[kEnd]) == cudaSuccess) {
            c.deviceStartNs = s.epochNs + std::llround(double(fromEpoch) * 1e6);
            c.deviceEndNs = s.epochNs + std::llround(double(toEnd) * 1e6);
        }
        (void)cudaGetLastError();
    }
    CompletionFn done = std::move(s.done);
    s.done = nullptr;
    c.wallMs = msSince(s.submitted);
    c.notifyMs = msSince(s.notified);
    release(s); // from here the slot may carry the next call: read nothing more from it
    done(c);
    callEnded();
}

CudaReplica::~CudaReplica()
{
    (void)cudaSetDevice(m_device);
    for (auto& s : m_slots)
        if (s && s->stream)
            (void)cudaStreamSynchronize(s->stream); // every callback enqueued will now run (with an error, if any)
    {
        std::unique_lock lock(m_mu);
        m_idle.wait(lock, [this] { return m_inFlight == 0; });
    }
    std::unique_lock setup(*m_shared->setup[std::size_t(m_device)]);
    for (auto& s : m_slots) {
        if (!s)
            continue;
        for (auto& [batch, g] : s->graphs)
            cudaGraphExecDestroy(g);
        for (auto e : s->events)
            if (e)
                cudaEventDestroy(e);
        if (s->stream)
            cudaStreamDestroy(s->stream);
        cudaFree(s->workspace);
        cudaFree(s->act[0]);
        cudaFree(s->act[1]);
        cudaFreeHost(s->hostIn);
        cudaFreeHost(s->hostOut);
    }
    if (m_epoch)
        cudaEventDestroy(m_epoch);
    for (auto& [batch, plan] : m_plans)
        cublasLtMatrixLayoutDestroy(plan.act);
    if (m_preference)
        cublasLtMatmulPreferenceDestroy(m_preference);
    for (auto d : m_fused)
        if (d)
            cublasLtMatmulDescDestroy(d);
    if (m_plain)
        cublasLtMatmulDescDestroy(m_plain);
    if (m_weightLayout)
        cublasLtMatrixLayoutDestroy(m_weightLayout);
    if (m_lt)
        cublasLtDestroy(m_lt);
    cudaFree(m_weights);
    cudaFree(m_bias);
    (void)cudaGetLastError();
    setup.unlock();
    std::lock_guard lock(m_shared->mu);
    --m_shared->replicasOnDevice[std::size_t(m_device)];
}

} // namespace knee::predict::cuda
