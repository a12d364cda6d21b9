// Internal to the CUDA module (libknee_predict_cuda.so): one model replica on one GPU, and the state
// it shares with its backend. The app sees only the Replica interface of backend.h.
//
// A replica owns the weights on its GPU, one cuBLASLt handle and, per predict slot, a CUDA stream, a
// workspace, two activation buffers (layers ping-pong between them), pinned staging for input and
// output, six timing events and one instantiated CUDA graph per batch size seen. Everything is sized at
// creation for `maxBatch`, so a call never allocates: out-of-memory surfaces at creation, where the
// caller can choose fewer slots or a smaller batch, and a running replica cannot fail for lack of memory.
#pragma once
#include "predict/backend.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace knee::predict::cuda {

std::string errorText(cudaError_t e);
std::string errorText(cublasStatus_t s);
std::string bytesText(std::size_t bytes);

// Every failure message says what was being done and the runtime's own words. A failed call's error
// is also cleared from the runtime, so a non-sticky one (an out-of-memory) cannot resurface as the
// error of the next, unrelated call.
Status check(cudaError_t e, const std::string& what);
Status check(cublasStatus_t s, const std::string& what);

// Something whose GPU work has finished and which now completes on the dispatcher thread.
struct Pending {
    virtual void finish() = 0;

protected:
    ~Pending() = default;
};

// Runs completions on one thread per replica. CUDA stream callbacks may not call CUDA and block
// their stream while they run, so they only hand the slot over; copying the output, reading the
// timing events and calling the user's callback happen here. One thread per replica, not per backend:
// on a platform each replica is its own server process with its own completion thread, and with one
// thread for the backend two replicas' completions queued behind each other (the CUDA callback's hop
// to this thread grew to 0.03-0.06 ms with 8 calls in flight on 2 replicas, issue 13, run 16).
class Dispatcher {
public:
    Dispatcher();
    ~Dispatcher();
    void push(Pending* p);

private:
    void run();
    std::mutex m_mu;
    std::condition_variable m_cv;
    std::deque<Pending*> m_queue;
    bool m_stop = false;
    std::thread m_thread; // last: starts once the members above exist
};

struct DeviceInfo {
    std::string name;
    int multiprocessors = 0;
    std::size_t sharedOptIn = 0; // largest dynamic shared memory one block may opt into
    std::size_t totalBytes = 0;
};

// Shared by a backend and its replicas; lives as long as the last of them.
struct Shared {
    std::vector<DeviceInfo> devices;
    std::mutex mu;
    std::vector<int> replicasOnDevice; // guarded by mu; placement spreads replicas by this count
    // Per device: held while a replica sets itself up (uploads, cuBLASLt handle, tuning, the warm batch
    // sizes' graph captures) or frees what it set up; a replica's cold start includes any wait for it. A
    // batch size first seen in service (above 64, not a power of two) is captured outside it. Two set-ups side by side on one GPU crashed inside libcuda (2 in 618
    // engines of two replicas; 0 in 600 with this lock: bench/fidelity/results/h200_2026-12-02_churn),
    // and gain nothing (they share its copy engines); replicas on other devices still start together.
    std::vector<std::unique_ptr<std::mutex>> setup;
};

class CudaReplica final : public Replica {
public:
    static CreatedReplica create(std::shared_ptr<Shared> shared, std::shared_ptr<const Model> model, const ReplicaConfig& config,
                                 int device);
    ~CudaReplica() override;
    const ReplicaInfo& info() const override { return m_info; }
    int slots() const override { return int(m_slots.size()); }
    int maxBatch() const override { return m_config.maxBatch; }
    Status submit(int slot, int batch, const Bf16* input, Bf16* output, CompletionFn done) override;

private:
    using Clock = std::chrono::steady_clock;
    enum Event { kStart, kInputReady, kForward0, kForward1, kLayersDone, kEnd, kEvents };

    struct Plan {
        bool smallKernel = false;
        bool overlap = false; // small kernel only: programmatic dependent launch between layers
        cublasLtMatmulAlgo_t algo {};
        cublasLtMatrixLayout_t act = nullptr; // H × batch, column-major: the batch's vectors side by side
        const char* path = "";
    };

    struct Slot final : Pending {
        CudaReplica* owner = nullptr;
        int index = 0;
        cudaStream_t stream = nullptr;
        cudaEvent_t events[kEvents] = {};
        void* workspace = nullptr;
        Bf16* act[2] = {};
        Bf16* hostIn = nullptr;
        Bf16* hostOut = nullptr;
        std::unordered_map<int, cudaGraphExec_t> graphs; // batch size -> its whole layer sequence
        bool busy = false;                                // guarded by owner->m_mu
        // The call in flight: written by submit() while busy, read by finish().
        int batch = 0;
        Bf16* userOut = nullptr;
        CompletionFn done;
        Clock::time_point submitted;
        Clock::time_point notified; // the stream's host callback ran
        const char* path = "";
        bool graph = false;
        std::int64_t epochNs = 0; // the replica's m_epochNs for this call's busy period (0: none recorded)
        cudaError_t asyncStatus = cudaSuccess;
        void finish() override { owner->finish(*this); }
    };

    CudaReplica(std::shared_ptr<Shared> shared, std::shared_ptr<const Model> model, const ReplicaConfig& config, int device);
    Status init();
    Status initSlot(Slot& s);
    Status planFor(int batch, const Plan*& out);
    Status choosePlan(int batch, Plan& plan);
    Status autotune(int batch, Plan& plan);
    Status enqueueLayers(Slot& s, int batch, const Plan& plan, bool allowOverlap = true);
    Status capture(Slot& s, int batch, const Plan& plan, bool allowOverlap, cudaGraphExec_t& out);
    Status graphFor(Slot& s, int batch, const Plan& plan, cudaGraphExec_t& out);
    Status launch(Slot& s, int batch, const Bf16* input, Bf16* output, CompletionFn& done, Clock::time_point t0);
    void release(Slot& s);  // the slot is free for its next call
    void callEnded();        // a call's completion has run (or it was refused): no longer in flight
    void finish(Slot& s);
    bool smallKernelFits(int batch) const;
    std::string where() const; // "GPU 0 (NVIDIA H100 80GB HBM3)"
    static void onStreamDone(cudaStream_t stream, cudaError_t status, void* user);

    std::shared_ptr<Shared> m_shared;
    std::shared_ptr<const Model> m_model;
    ReplicaConfig m_config;
    int m_device;
    int m_hidden, m_layers;
    ReplicaInfo m_info;

    char* m_weights = nullptr; // layer l at l·m_weightStride (256-byte aligned, as cuBLASLt assumes)
    char* m_bias = nullptr;    // layer l at l·m_biasStride
    std::size_t m_weightStride = 0, m_biasStride = 0;
    cublasLtHandle_t m_lt = nullptr;
    cublasLtMatrixLayout_t m_weightLayout = nullptr;
    std::vector<cublasLtMatmulDesc_t> m_fused; // per layer: RELU_BIAS epilogue pointing at that layer's bias
    cublasLtMatmulDesc_t m_plain = nullptr;    // no epilogue: the plain loop's GEMM
    cublasLtMatmulPreference_t m_preference = nullptr;

    std::mutex m_planMu;
    std::unordered_map<int, Plan> m_plans; // node-based: a Plan's address is stable once inserted

    std::atomic<bool> m_noGraphs { false }; // set if a capture ever fails: later calls launch layer by layer
    std::vector<std::unique_ptr<Slot>> m_slots;
    std::mutex m_mu;
    std::condition_variable m_idle;
    int m_inFlight = 0; // guarded by m_mu
    // Anchors the calls' CUDA events on the host's clock (Completion::deviceStartNs): recorded on the first call's
    // stream each time the replica goes from idle to busy, so that every call of that busy period is timed from
    // it (the device is idle then: the event completes at once, at about the host time kept beside it). Guarded
    // by m_mu; never re-recorded while a call is in flight, so finish() reads it safely. Limits: a busy period that
    // never idles keeps one epoch (float milliseconds from it: 1 µs steps after 16 s, 8 µs after two minutes, and
    // the GPU's clock and the host's drift apart meanwhile), and an epoch recorded while other processes or
    // replicas keep the device's work queues busy completes late. calibrate's points each start from idle.
    cudaEvent_t m_epoch = nullptr;
    std::int64_t m_epochNs = 0; // the host's steady clock, in ns, when m_epoch was recorded; 0 if that failed
    // Last, so destroyed first: its thread is joined once the destructor's body has seen every
    // completion run, and before the members those completions used go.
    Dispatcher m_dispatcher;
};

} // namespace knee::predict::cuda
