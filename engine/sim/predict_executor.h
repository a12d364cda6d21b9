// The seam between the engine and a real predict stage (live runs): with an executor, the engine does
// not time predict calls or cold starts from the scenario; it hands each call (one request, a dynamic
// batch, or one decode step) and each replica's start to the executor and learns of their end later.
//
// Contract: every method returns at once (no device waits on the engine thread). The executor reports
// back by calling Engine::predictCallDone / Engine::replicaProvisioned ON THE ENGINE'S THREAD (it posts
// to that thread's event loop), exactly once per submit() / provision(). Virtual-time runs never use an
// executor: their results stay deterministic.
#pragma once
#include <cstdint>

namespace knee {

class PredictExecutor {
public:
    virtual ~PredictExecutor() = default;
    // Start creating the device replica for engine replica `replicaId` (weights upload: its cold start),
    // with `predictSlots` predict slots (predict_concurrency as it is now; batching modes use one), on
    // device `device` (0 .. deviceCount() - 1: the engine places replicas, so its view and the
    // hardware agree).
    virtual void provision(std::int32_t replicaId, int predictSlots, int device) = 0;
    // How many devices replicas can be placed on (GPUs; 1 for the CPU).
    virtual int deviceCount() const = 0;
    // The engine no longer needs the replica (drained, or cancelled while cold starting): free it.
    virtual void retire(std::int32_t replicaId) = 0;
    // Run one forward pass over `batch` request vectors on the replica.
    virtual void submit(std::int32_t replicaId, std::uint64_t callId, int batch) = 0;
};

} // namespace knee
