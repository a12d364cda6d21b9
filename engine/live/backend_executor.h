// The live engine's real predict stage: runs each predict call the engine hands over as a forward pass
// of the scenario's model profile on a predict::Backend (CUDA, or the CPU twin where there is no GPU),
// and each replica start as a real device replica (its cold start is the weight upload).
//
// Nothing here blocks the engine thread while it runs: replica creation and teardown happen on the
// executor's own pool, forward passes on the backend's streams/threads, and every result reaches the
// engine through `deliver`, which the host implements as a post to the engine thread.
#pragma once
#include "metrics/latency_histogram.h"
#include "sim/predict_executor.h"
#include "sim/scenario.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace knee::predict {
class Backend;
}

namespace knee {

class Engine;

// A replica's device slots (streams, buffers, cuBLASLt workspaces) are reserved when it starts. Calls
// beyond them (predict_concurrency raised later, or above this) wait for a slot in the executor: the
// device runs them one after another, as a real GPU would.
inline constexpr int kMaxDeviceSlots = 64;

// The model profiles a scenario's `model.profile` may name, for pickers that must not include the
// Qt-free predict headers (their `slots` member collides with Qt's keyword macro).
struct ModelProfileInfo {
    std::string name;
    int hidden = 0, layers = 0;
    std::size_t bytes = 0; // weights + biases
};
std::vector<ModelProfileInfo> modelProfiles();

// The process's predict backend, chosen on first use (CUDA when usable, else the CPU; KNEE_PREDICT_BACKEND
// overrides) and shared by every live run, sweep and host. Only the app's top (app/cli, ui) asks for it;
// the engine is handed it (LiveRun, LiveEngineHost, EngineServer, SweepRequest). Never destroyed: at exit
// the CUDA runtime may already be gone, and its threads simply end with the process.
struct PredictBackendInfo {
    predict::Backend* backend = nullptr;
    bool gpu = false;
    bool fellBack = false; // a GPU was wanted but could not be used
    std::string notice;    // the factory's whole notice: what runs predict and, after a fall back, why
    std::string shortName; // "the CPU (no usable GPU)", or the GPUs it drives
};
const PredictBackendInfo& sharedPredictBackend();

class BackendExecutor final : public PredictExecutor {
public:
    // Runs `fn` on the engine's thread later, against the engine (dropped if the run has ended).
    using Deliver = std::function<void(std::function<void(Engine&)> fn)>;

    // `scenario.model.profile` names the model (it must be a built-in profile). The model's weights are
    // generated on the executor's pool, so the first replica's cold start includes that. `backend` must
    // outlive the executor and every completion it has in flight (the host owns it for its lifetime).
    BackendExecutor(predict::Backend& backend, const Scenario& scenario, Deliver deliver);
    // Stops delivering, then waits for calls in flight and replica starts/teardowns to finish: the
    // device's own time, on the calling thread (the engine thread, when a run ends).
    ~BackendExecutor() override;
    // Nothing more reaches `deliver` from now on (the destructor does this first too). Lets a host hand
    // the blocking destruction to another thread after its run has ended.
    void stopDelivering();
    // Destroys `executor` on Qt's global thread pool, after stopping its deliveries here: the engine
    // thread never waits for the device's calls in flight or a replica still starting.
    static void destroyElsewhere(std::unique_ptr<BackendExecutor> executor);

    // Where a live call's time goes beyond the device, over every executor of the process since the last
    // take (benchmarks: the fidelity matrix): the backend's host time per call (submit to completion),
    // its GPU notification hop (stream callback to the dispatcher), and the hand-off from the backend's
    // thread to the engine thread (completion to the engine applying it).
    struct Timings {
        LatencyHistogram hostCall, notify, handoff;
    };
    static Timings takeTimings();
    // One successful live call, for a per-call trace (benchmarks: how calls overlapped on a device, and what
    // each then took: knee-bench-fidelity live --trace, bench/fidelity/trace_overlap.py).
    struct TracedCall {
        std::int64_t startNs = 0, endNs = 0; // submit and completion, on the steady clock since startTrace
        double deviceMs = 0;                 // the backend's device time (GPU: CUDA events; 0 on the CPU)
        std::int32_t replicaId = 0;
        int device = -1;                     // GPU index, -1 for the CPU
        int batch = 0;
        std::int64_t deviceStartNs = -1, deviceEndNs = -1; // its device work (Completion::deviceStartNs), since startTrace; -1 unknown
    };
    // Records every successful call of every executor of the process from now on, up to `maxCalls` (those
    // beyond are counted, not kept; the room for them is reserved here), dropping what an earlier trace left.
    // Off unless started: a long run keeps no record of its calls.
    static void startTrace(std::size_t maxCalls);
    // Ends the trace: what it recorded, and how many calls it dropped beyond its bound (then 0 until the next).
    static std::vector<TracedCall> stopTrace(std::int64_t* dropped = nullptr);
    // This executor's successful calls so far: their host time (submit to completion) summed, and their count.
    struct HostCalls {
        double ms = 0;
        std::int64_t count = 0;
    };
    HostCalls hostCalls() const;

    void provision(std::int32_t replicaId, int predictSlots, int device) override;
    int deviceCount() const override;
    void retire(std::int32_t replicaId) override;
    void submit(std::int32_t replicaId, std::uint64_t callId, int batch) override;

    struct State; // shared with the jobs and completions in flight

private:
    std::shared_ptr<State> m_state;
};

} // namespace knee
