// One request's life: the time of every transition (docs/DESIGN.md §1) and its sampled stage times.
#pragma once
#include "base/time.h"

#include <cstdint>

namespace knee {

// Stage durations of one request. Drawn when the request is created, from per-stage random
// streams, so request #i costs the same under any knob setting (common random numbers).
struct StageTimes {
    Nanos preprocess = 0;
    Nanos predict = 0;
    Nanos postprocess = 0;
    bool predictFails = false;
};

enum class Outcome : std::uint8_t { InFlight, Completed, Failed, Rejected };

struct Request {
    std::uint64_t id = 0;        // 0-based arrival order
    Nanos intended = 0;          // when it was meant to be sent: latency counts from here
    Nanos arrived = 0;           // reached the deployment
    Nanos routed = -1;           // left the deployment queue for a replica
    Nanos preprocessDone = -1;
    Nanos predictStart = -1;     // got a predict slot
    Nanos predictDone = -1;
    Nanos firstToken = -1;       // continuous batching: when the first token streamed out
    std::int32_t tokensLeft = 0; // continuous batching: tokens still to generate
    std::int32_t tokens = 0;     // continuous batching: tokens in the whole response
    Nanos done = -1;             // response (completed or failed) or rejection
    StageTimes times;
    std::int32_t replica = -1;   // replica id (stable, not its index in the table)
    std::int32_t replicaIndex = -1; // index in the engine's replica table while held
    std::int32_t user = -1;      // closed-loop user, -1 for open loop or injected
    Outcome outcome = Outcome::InFlight;
    bool measured = false;       // sent after warm-up: counts in the statistics

    Nanos latency() const { return done - intended; }
};

} // namespace knee
