// The CUDA backend: device discovery, replica placement, the completion dispatchers, the module's two C
// entry points (cuda_module.h), and how a replica runs its layers: the kernel chosen for each batch size
// (cuBLASLt's heuristic, or measured candidates), the layer sequence, and its capture as a CUDA graph.
// A replica's life (allocation, submit, completion, teardown) is in cuda_replica.cpp.
#include "predict/cuda_kernels.h"
#include "predict/cuda_module.h"
#include "predict/cuda_replica.h"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>
#include <thread>

namespace knee::predict::cuda {

std::string errorText(cudaError_t e) { return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")"; }

std::string errorText(cublasStatus_t s)
{
    return std::string(cublasLtGetStatusName(s)) + " (" + cublasLtGetStatusString(s) + ")";
}

std::string bytesText(std::size_t bytes)
{
    char buf[64];
    const double b = double(bytes);
    if (b >= 1024.0 * 1024 * 1024)
        std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else
        std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
    return buf;
}

Status check(cudaError_t e, const std::string& what)
{
    if (e == cudaSuccess)
        return {};
    (void)cudaGetLastError();
    return Status::failure(what + ": " + errorText(e));
}
Status check(cublasStatus_t s, const std::string& what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return {};
    return Status::failure(what + ": " + errorText(s));
}

Dispatcher::Dispatcher()
    : m_thread([this] { run(); })
{
}

Dispatcher::~Dispatcher()
{
    // A replica destroyed from its own completion (backend.h forbids it) would join this thread from itself.
    assert(std::this_thread::get_id() != m_thread.get_id());
    {
        std::lock_guard lock(m_mu);
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

void Dispatcher::push(Pending* p)
{
    {
        std::lock_guard lock(m_mu);
        m_queue.push_back(p);
    }
    m_cv.notify_one();
}

void Dispatcher::run()
{
    // Named, so that a crash report (the kernel's log, a debugger, bench/fidelity's handler) says which
    // thread it was: this one, CUDA's own callback thread, or the engine's.
    pthread_setname_np(pthread_self(), "knee-cuda-done");
    for (;;) {
        Pending* p = nullptr;
        {
            std::unique_lock lock(m_mu);
            m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_queue.empty())
                return;
            p = m_queue.front();
            m_queue.pop_front();
        }
        p->finish();
    }
}

Status CudaReplica::planFor(int batch, const Plan*& out)
{
    std::lock_guard lock(m_planMu);
    if (auto it = m_plans.find(batch); it != m_plans.end()) {
        out = &it->second;
        return {};
    }
    Plan plan;
    if (auto s = check(cublasLtMatrixLayoutCreate(&plan.act, CUDA_R_16BF, std::uint64_t(m_hidden), std::uint64_t(batch), m_hidden),
                       "activation layout");
        !s.ok())
        return s;
    if (auto s = choosePlan(batch, plan); !s.ok()) {
        cublasLtMatrixLayoutDestroy(plan.act);
        return s;
    }
    out = &m_plans.emplace(batch, plan).first->second;
    return {};
}

Status CudaReplica::choosePlan(int batch, Plan& plan)
{
    if (m_config.gemmPath == GemmPath::SmallBatchKernel && smallKernelFits(batch)) {
        plan.smallKernel = true;
        plan.overlap = true;
        plan.path = "small-batch+pdl";
        return {};
    }
    if (m_config.autotune && std::find(m_config.warmBatches.begin(), m_config.warmBatches.end(), batch) != m_config.warmBatches.end())
        return autotune(batch, plan);
    cublasLtMatmulHeuristicResult_t result {};
    int found = 0;
    const auto desc = m_config.fuseEpilogue ? m_fused[0] : m_plain;
    if (auto s = check(cublasLtMatmulAlgoGetHeuristic(m_lt, desc, m_weightLayout, plan.act, plan.act, plan.act, m_preference, 1, &result, &found),
                       "cuBLASLt heuristic for batch " + std::to_string(batch));
        !s.ok())
        return s;
    if (found == 0)
        return Status::failure("cuBLASLt has no kernel for batch " + std::to_string(batch) + " at hidden size " + std::to_string(m_hidden));
    plan.algo = result.algo;
    plan.path = m_config.fuseEpilogue ? "cublasLt" : "cublasLt+bias-relu";
    return {};
}

// Times whole forward passes (every layer, so a model larger than L2 is read from memory as in service)
// for up to 32 of cuBLASLt's candidates (at small N its first choice is often not its fastest: the
// split-K variants differ most) and, for batch <= 8, the small-batch kernel with and without
// programmatic dependent launch; keeps the fastest. Blocking: it runs during createReplica, the cold start.
Status CudaReplica::autotune(int batch, Plan& plan)
{
    std::vector<Plan> candidates;
    if (m_config.gemmPath != GemmPath::CublasLt && smallKernelFits(batch))
        for (bool overlap : { false, true }) {
            Plan p = plan;
            p.smallKernel = true;
            p.overlap = overlap;
            p.path = overlap ? "small-batch+pdl" : "small-batch";
            candidates.push_back(p);
        }
    std::vector<cublasLtMatmulHeuristicResult_t> results(32);
    int found = 0;
    const auto desc = m_config.fuseEpilogue ? m_fused[0] : m_plain;
    (void)cublasLtMatmulAlgoGetHeuristic(m_lt, desc, m_weightLayout, plan.act, plan.act, plan.act, m_preference, int(results.size()),
                                         results.data(), &found);
    for (int i = 0; i < found; ++i) {
        Plan p = plan;
        p.algo = results[i].algo;
        p.path = m_config.fuseEpilogue ? "cublasLt" : "cublasLt+bias-relu";
        candidates.push_back(p);
    }
    if (candidates.empty())
        return Status::failure("no kernel to tune for batch " + std::to_string(batch));

    Slot& s = *m_slots.at(0);
    const std::size_t n = std::size_t(batch) * std::size_t(m_hidden);
    // The slot's stream may still run the previous batch size's warm-up: the input goes after it, on it.
    if (auto st = check(cudaStreamSynchronize(s.stream), "autotune input"); !st.ok())
        return st;
    fillUniform(s.hostIn, n, 0x7u + std::uint64_t(batch)); // never time on zeros or NaN poison
    if (auto st = check(cudaMemcpyAsync(s.act[0], s.hostIn, n * sizeof(Bf16), cudaMemcpyHostToDevice, s.stream), "autotune input"); !st.ok())
        return st;
    double bestMs = 1e300;
    int best = -1;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        std::vector<float> times;
        bool failed = false;
        for (int rep = 0; rep < 7 && !failed; ++rep) { // 2 warm-ups, then 5 timed
            failed = !check(cudaEventRecord(s.events[kForward0], s.stream), "event").ok() || !enqueueLayers(s, batch, candidates[c]).ok()
                || !check(cudaEventRecord(s.events[kForward1], s.stream), "event").ok()
                || !check(cudaEventSynchronize(s.events[kForward1]), "tuning run").ok();
            float ms = 0;
            if (!failed && rep >= 2 && cudaEventElapsedTime(&ms, s.events[kForward0], s.events[kForward1]) == cudaSuccess)
                times.push_back(ms);
        }
        (void)cudaStreamSynchronize(s.stream);
        (void)cudaGetLastError(); // a candidate that cannot run is skipped, not fatal
        if (failed || times.empty())
            continue;
        std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
        if (times[times.size() / 2] < bestMs) {
            bestMs = times[times.size() / 2];
            best = int(c);
        }
    }
    if (best < 0)
        return Status::failure("every kernel candidate failed while tuning batch " + std::to_string(batch));
    plan = candidates[std::size_t(best)];
    const std::size_t actBytes = std::size_t(m_config.maxBatch) * std::size_t(m_hidden) * sizeof(Bf16);
    for (auto* a : s.act) // back to NaN, as initSlot left them (on the slot's stream, ordered with what follows)
        if (auto st = check(cudaMemsetAsync(a, 0xFF, actBytes, s.stream), "cudaMemsetAsync"); !st.ok())
            return st;
    return {};
}

Status CudaReplica::enqueueLayers(Slot& s, int batch, const Plan& plan, bool allowOverlap)
{
    const float alpha = 1.0f, beta = 0.0f;
    for (int l = 0; l < m_layers; ++l) {
        const void* w = m_weights + std::size_t(l) * m_weightStride;
        const void* bias = m_bias + std::size_t(l) * m_biasStride;
        const Bf16* in = s.act[l & 1];
        Bf16* out = s.act[(l + 1) & 1];
        if (plan.smallKernel) {
            const int blocks = m_shared->devices[std::size_t(m_device)].multiprocessors;
            // Layer 0 follows the input copy, not a kernel: only later layers overlap their predecessor.
            const bool overlap = plan.overlap && allowOverlap && l > 0;
            if (auto st = check(launchSmallBatchLayer(w, bias, in, out, m_hidden, batch, blocks, overlap, s.stream), "small-batch kernel"); !st.ok())
                return st;
            continue;
        }
        const auto desc = m_config.fuseEpilogue ? m_fused[std::size_t(l)] : m_plain;
        if (auto st = check(cublasLtMatmul(m_lt, desc, &alpha, w, m_weightLayout, in, plan.act, &beta, out, plan.act, out, plan.act, &plan.algo,
                                           s.workspace, m_config.workspaceBytes, s.stream),
                            "cublasLtMatmul, layer " + std::to_string(l) + ", batch " + std::to_string(batch));
            !st.ok())
            return st;
        if (!m_config.fuseEpilogue)
            if (auto st = check(launchBiasRelu(out, bias, m_hidden, batch, s.stream), "bias-relu kernel"); !st.ok())
                return st;
    }
    return {};
}

// One graph per (slot, batch): its own buffers and events are baked in. The forward events are
// recorded as external event nodes, so they time the layers as the GPU ran them, not the host's launch.
Status CudaReplica::graphFor(Slot& s, int batch, const Plan& plan, cudaGraphExec_t& out)
{
    if (auto it = s.graphs.find(batch); it != s.graphs.end()) {
        out = it->second;
        return {};
    }
    // Run the sequence once directly first: the first launch of a kernel may load its module (CUDA loads
    // lazily) and cuBLASLt may set itself up, neither of which is allowed inside a capture.
    if (auto st = enqueueLayers(s, batch, plan); !st.ok())
        return st;
    Status st = capture(s, batch, plan, true, out);
    if (!st.ok() && plan.overlap) { // a driver that cannot capture programmatic launches: capture them plainly
        std::fprintf(stderr, "knee predict: %s; capturing without programmatic dependent launch\n", st.error.c_str());
        st = capture(s, batch, plan, false, out);
    }
    if (!st.ok())
        return Status::failure("capturing batch " + std::to_string(batch) + " as a CUDA graph: " + st.error);
    s.graphs.emplace(batch, out);
    return {};
}

Status CudaReplica::capture(Slot& s, int batch, const Plan& plan, bool allowOverlap, cudaGraphExec_t& out)
{
    if (auto st = check(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture"); !st.ok())
        return st;
    Status st = check(cudaEventRecordWithFlags(s.events[kForward0], s.stream, cudaEventRecordExternal), "event in graph");
    if (st.ok())
        st = enqueueLayers(s, batch, plan, allowOverlap);
    if (st.ok())
        st = check(cudaEventRecordWithFlags(s.events[kForward1], s.stream, cudaEventRecordExternal), "event in graph");
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(s.stream, &graph); // always: the stream must leave capture mode
    if (st.ok())
        st = check(ended, "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    if (st.ok())
        st = check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    if (graph)
        cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    if (st.ok())
        out = exec;
    return st;
}

namespace {

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(std::shared_ptr<Shared> shared)
        : m_shared(std::move(shared))
    {
    }

    BackendKind kind() const override { return BackendKind::Cuda; }
    int deviceCount() const override { return int(m_shared->devices.size()); }

    std::string description() const override
    {
        std::string out = "CUDA backend on " + std::to_string(m_shared->devices.size()) + " GPU" + (m_shared->devices.size() == 1 ? "" : "s");
        for (std::size_t i = 0; i < m_shared->devices.size(); ++i) {
            const auto& d = m_shared->devices[i];
            out += (i ? "; " : ": ") + std::to_string(i) + " " + d.name + " (" + std::to_string(d.multiprocessors) + " SMs, "
                + bytesText(d.totalBytes) + ")";
        }
        return out;
    }

    CreatedReplica createReplica(std::shared_ptr<const Model> model, const ReplicaConfig& config) override
    {
        CreatedReplica out;
        if (!model) {
            out.status = Status::failure("no model");
            return out;
        }
        if (auto problem = validateConfig(*model, config); !problem.empty()) {
            out.status = Status::failure(problem);
            return out;
        }
        int device = config.device;
        if (device >= deviceCount()) {
            out.status = Status::failure("GPU " + std::to_string(device) + " does not exist (" + std::to_string(deviceCount()) + " present)");
            return out;
        }
        if (device < 0) { // spread: the GPU holding the fewest replicas, lowest index on a tie
            std::lock_guard lock(m_shared->mu);
            device = int(std::min_element(m_shared->replicasOnDevice.begin(), m_shared->replicasOnDevice.end())
                         - m_shared->replicasOnDevice.begin());
        }
        try {
            return CudaReplica::create(m_shared, std::move(model), config, device);
        } catch (const std::bad_alloc&) {
            out.status = Status::failure("out of host memory while creating a replica on GPU " + std::to_string(device));
        } catch (const std::system_error& e) { // its completion thread could not start
            out.status = Status::failure("cannot start a replica's completion thread on GPU " + std::to_string(device) + ": " + e.what());
        }
        return out;
    }

private:
    std::shared_ptr<Shared> m_shared;
};

// Finds the GPUs this build can run on. A device is skipped, with the reason kept for the message,
// when this module has no kernels for its architecture (it is built for sm_90 by default).
std::shared_ptr<Shared> discover(std::string& error)
{
    // The driver gives a context CUDA_DEVICE_MAX_CONNECTIONS work queues (8 unless set), shared by the compute and
    // the copy work of all its streams. Each call here uses both (its copies in and out around its layers), so with
    // the default no more than about four calls were ever on a device at once, however many slots: on an H100,
    // 8 and 16 callers had 3.88 calls of `medium` and 3.97 of `large` on the device, the rest waiting off it for a
    // queue; with 32 queues 7.1 / 14.9 and 7.8 / 15.8, `medium` 7-9 % faster at 8-16 calls in flight, and the
    // host's part of a call no longer grew with k (bench/predict/results/h100_2026-12-07_connections). A
    // predict_concurrency is the calls the engine lets share the device, so: the driver's most, 32, unless the user
    // set it. Read when the driver starts a context: before the first CUDA call. knee's main() has set it already
    // (predict::askForDeviceWorkQueues, before any thread starts); this covers the programs that do not.
    setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
    int count = 0;
    if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
        if (e == cudaErrorNoDevice)
            error = "no CUDA-capable GPU found";
        else if (e == cudaErrorInsufficientDriver)
            error = "no NVIDIA driver found, or it is older than this build's CUDA runtime";
        else
            error = "CUDA could not start";
        error += " (cudaGetDeviceCount: " + errorText(e) + ")";
        return nullptr;
    }
    if (count == 0) {
        error = "no CUDA device present";
        return nullptr;
    }
    std::vector<DeviceInfo> devices;
    std::string skipped;
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p {};
        if (cudaError_t e = cudaGetDeviceProperties(&p, i); e != cudaSuccess) {
            skipped += "GPU " + std::to_string(i) + ": " + errorText(e) + "; ";
            continue;
        }
        (void)cudaSetDevice(i);
        if (cudaError_t e = kernelsAvailable(); e != cudaSuccess) {
            (void)cudaGetLastError();
            skipped += "GPU " + std::to_string(i) + " (" + p.name + ", compute capability " + std::to_string(p.major) + "."
                + std::to_string(p.minor) + ") has no kernels in this build: " + errorText(e) + "; ";
            continue;
        }
        devices.push_back(DeviceInfo { p.name, p.multiProcessorCount, std::size_t(p.sharedMemPerBlockOptin), std::size_t(p.totalGlobalMem) });
    }
    if (devices.size() != std::size_t(count)) {
        // GPU indices are used directly with cudaSetDevice, so a partial set would misnumber them.
        error = skipped.empty() ? "some GPUs are unusable" : skipped.substr(0, skipped.size() - 2);
        return nullptr;
    }
    auto shared = std::make_shared<Shared>();
    shared->devices = std::move(devices);
    shared->replicasOnDevice.assign(shared->devices.size(), 0);
    for (std::size_t i = 0; i < shared->devices.size(); ++i)
        shared->setup.push_back(std::make_unique<std::mutex>());
    return shared;
}

} // namespace
} // namespace knee::predict::cuda

extern "C" __attribute__((visibility("default"))) int knee_predict_cuda_abi() { return knee::predict::kCudaModuleAbi; }

extern "C" __attribute__((visibility("default"))) knee::predict::Backend* knee_predict_cuda_create(char* error, std::size_t errorSize)
{
    std::string why;
    try {
        if (auto shared = knee::predict::cuda::discover(why))
            return new knee::predict::cuda::CudaBackend(std::move(shared));
    } catch (const std::exception& e) {
        why = e.what();
    }
    if (error && errorSize > 0)
        std::snprintf(error, errorSize, "%s", why.c_str());
    return nullptr;
}
