// A replica of the deployment: what it holds, by stage, and its own predict-slot queue.
#pragma once
#include "ring_queue.h"

#include "base/time.h"

#include <cstdint>
#include <vector>

namespace knee {

enum class ReplicaState : std::uint8_t {
    ColdStarting, // provisioned, loading weights: takes no requests yet
    Ready,        // takes requests up to its concurrency limit
    Draining,     // being removed: takes nothing new, finishes what it holds
    Removed,      // gone; its place in the table may be reused by a new replica
};
const char* toString(ReplicaState s);

struct Replica {
    std::int32_t id = 0; // stable, unique for the run (places in the replica table are reused)
    ReplicaState state = ReplicaState::Removed;
    int device = -1; // the device its predict calls run on when replicas share devices; -1: one of its own
    Nanos provisionedAt = 0;
    Nanos readyAt = 0;
    int held = 0;           // routed, not yet responded
    int preprocessing = 0;
    int inPredict = 0;
    int postprocessing = 0;
    RingQueue<std::uint32_t> predictWait; // request indices that finished preprocess, waiting for a predict slot
    std::int64_t served = 0;
    // Integral of "predict busy" (inPredict > 0) over time: the replica's GPU busy share.
    Nanos predictBusyNs = 0;
    Nanos predictBusySince = 0;
    // Dynamic batching: requests in predict waiting for the next call, whether a call runs, and the
    // generation of the pending max-delay timer (a newer one cancels it).
    RingQueue<std::uint32_t> batchQueue;
    bool callRunning = false;
    std::vector<std::uint32_t> activeSequences; // continuous batching: in the decode loop now
    Nanos stepStart = 0;
    bool stepPending = false; // continuous batching: an idle loop's DecodeStart is queued
    std::uint32_t batchTimerGeneration = 0;
    // Adaptive concurrency modifier state: the limit it allows now, the best and the recent
    // replica-side latency (routed → response) it compares.
    double adaptiveLimit = 0;
    double bestLatency = 0;
    double recentLatency = 0;

    bool takesRequests() const { return state == ReplicaState::Ready; }
    bool provisioned() const { return state != ReplicaState::Removed; }
};

} // namespace knee
