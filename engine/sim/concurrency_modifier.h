// RunPod's concurrency_modifier (seed 001): the function a worker calls before taking more work, which
// says how many requests it may hold now — a fixed number, the engine's own maximum (a KV-cache budget),
// or an adaptive limit learnt from latency — never more than the deployment's concurrency target.
#pragma once
#include "replica.h"
#include "scenario.h"

#include <algorithm>

namespace knee {

// How many requests replica `r` may hold now. `maxSequences` is continuous batching's budget (what
// engine_max reports when no value is given).
inline int replicaLimit(const DeploymentConfig& d, int maxSequences, const Replica& r)
{
    const int target = d.concurrencyTarget;
    const ConcurrencyModifierConfig& m = d.modifier;
    switch (m.kind) {
    case ConcurrencyModifierConfig::Kind::None: return target;
    case ConcurrencyModifierConfig::Kind::Fixed: return std::min(target, m.fixed);
    case ConcurrencyModifierConfig::Kind::EngineMax:
        // RunPod: concurrency_modifier = lambda x: engine.max_concurrency. Given, or the decode loop's budget.
        return std::min(target, m.engineMax > 0 ? m.engineMax : maxSequences);
    case ConcurrencyModifierConfig::Kind::Adaptive: return std::min(target, std::max(m.minLimit, int(r.adaptiveLimit)));
    }
    return target;
}

// The adaptive kind learns from one response's replica-side latency (routed → response). True when
// the replica's limit changed.
bool learnReplicaLimit(const DeploymentConfig& d, int maxSequences, Replica& r, Nanos replicaLatency);

} // namespace knee
