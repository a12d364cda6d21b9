// The predict stage's interface: a Backend (CPU or CUDA) creates Replicas of a Model; a Replica runs
// forward passes on its predict slots and reports each one's completion without blocking the caller.
//
// Threading contract, the same for both backends:
// - submit() never waits for the device or for other calls: it validates, enqueues and returns. A call
//   it accepts (Status ok) completes exactly once, through `done`; a call it refuses never calls `done`.
// - `done` runs on a thread the backend owns, never inside submit(). It may submit again (the slot is
//   free again before `done` runs) but must not destroy the Replica it came from (nor be, or capture, its
//   last owner: on the GPU it runs on the replica's own completion thread, which cannot join itself), and should be short:
//   post to your own event loop and return.
// - Different slots may be used from different threads at once; one slot carries one call at a time.
// - createReplica() and ~Replica() block (weight upload, draining calls in flight): call them off the
//   engine thread. Both are the real costs of a replica's cold start and shutdown.
#pragma once
#include "predict/bf16.h"
#include "predict/model.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace knee::predict {

struct Status {
    std::string error; // empty when the operation succeeded
    bool ok() const { return error.empty(); }
    static Status failure(std::string message) { return Status { std::move(message) }; }
};

enum class BackendKind { Cpu, Cuda };
const char* toString(BackendKind kind);

// Which kernel a GPU replica multiplies with. Auto is what the app uses; the others exist so tests can
// check each kernel against the CPU and benchmarks can compare them.
enum class GemmPath {
    Auto,             // cuBLASLt's heuristic, or the fastest measured candidate for autotuned batch sizes
    CublasLt,         // always cuBLASLt
    SmallBatchKernel, // the hand-written memory-bound kernel for batch <= kSmallBatchMax (cuBLASLt above it)
};
inline constexpr int kSmallBatchMax = 8;

struct ReplicaConfig {
    int slots = 1;                  // predict_concurrency: calls in flight at once, one CUDA stream each
    int maxBatch = 64;              // largest batch one call may carry; buffers are reserved for it up front
    int device = -1;                // -1: the GPU holding the fewest replicas (spreads replicas); else that GPU
    std::vector<int> warmBatches;   // batch sizes prepared during creation, so their first call pays no setup
    bool autotune = false;          // GPU: time the candidate kernels for each warm batch, keep the fastest
    bool fuseEpilogue = true;       // GPU: bias + ReLU in the GEMM epilogue; false = separate kernel per layer
    bool useGraphs = true;          // GPU: replay a batch size's whole layer sequence as one CUDA graph
    GemmPath gemmPath = GemmPath::Auto;
    std::size_t workspaceBytes = std::size_t(32) << 20; // GPU: cuBLASLt workspace per slot (32 MiB on Hopper)
};

struct ReplicaInfo {
    BackendKind kind = BackendKind::Cpu;
    int device = -1;              // GPU index, -1 for the CPU
    std::string deviceName;
    double coldStartMs = 0;       // all of createReplica(): allocation, weight upload, warm-up of warmBatches
    double weightUploadMs = 0;    // the weight upload alone (GPU: host to device copy; CPU: 0, weights shared)
    std::size_t deviceBytes = 0;  // memory the replica holds: weights (GPU), buffers, workspaces
};

struct Completion {
    Status status;
    int slot = 0;
    int batch = 0;
    double forwardMs = 0; // the layers alone (GPU: CUDA events inside the replayed graph)
    double deviceMs = 0;  // the layers plus the input and output copies
    double wallMs = 0;    // submit() to just before `done`, on the host's steady clock
    double notifyMs = 0;  // GPU: the stream's host callback to just before `done` (the hop to the replica's dispatcher thread)
    // When the call's device work began and ended (GPU: its first and last CUDA events; CPU: its compute), on the
    // host's steady clock (nanoseconds since its epoch); 0 where unknown. What overlapped on the device, and how
    // many calls were on it at once, comes from these (calibrate's device_in_flight, the fidelity trace).
    std::int64_t deviceStartNs = 0, deviceEndNs = 0;
    const char* path = ""; // which kernel ran: "cublasLt", "cublasLt+bias-relu", "small-batch", "cpu"; static storage
    bool graph = false;    // GPU: the layers ran as one replayed CUDA graph
};
using CompletionFn = std::function<void(const Completion&)>;

class Replica {
public:
    virtual ~Replica() = default; // waits for its calls in flight, then frees what it holds
    virtual const ReplicaInfo& info() const = 0;
    virtual int slots() const = 0;
    virtual int maxBatch() const = 0;
    // Runs one forward pass over `batch` request vectors (row-major batch × H) on `slot`. `input` and
    // `output` must stay valid until `done` runs. Refuses (without calling `done`) a bad slot, a busy
    // slot, a batch outside 1..maxBatch(), or a device error while enqueuing; the slot stays usable.
    virtual Status submit(int slot, int batch, const Bf16* input, Bf16* output, CompletionFn done) = 0;
};

struct CreatedReplica {
    std::unique_ptr<Replica> replica; // null when creation failed
    Status status;                    // why it failed: out of memory, bad config, device error
};

class Backend {
public:
    virtual ~Backend() = default; // destroy its replicas first
    virtual BackendKind kind() const = 0;
    virtual std::string description() const = 0; // human-readable: the devices it drives
    virtual int deviceCount() const = 0;
    virtual CreatedReplica createReplica(std::shared_ptr<const Model> model, const ReplicaConfig& config) = 0;
};

// Checks the parts of a config both backends share; empty when fine.
std::string validateConfig(const Model& model, const ReplicaConfig& config);

// Blocking convenience for tests, tools and benchmarks (never the engine thread): submit and wait.
Completion runAndWait(Replica& replica, int slot, int batch, const Bf16* input, Bf16* output);

} // namespace knee::predict
