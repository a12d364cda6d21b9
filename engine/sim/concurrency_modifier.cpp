#include "concurrency_modifier.h"

#include <cmath>

namespace knee {

// A gradient limiter (the idea of Netflix's concurrency-limits "Gradient2"): while the replica's
// recent latency stays within `tolerance` of the best it has shown, the limit grows by about its
// square root per update (probing for room); when latency grows beyond that, the limit shrinks in
// proportion. Smoothing keeps one slow request from swinging it.
bool learnReplicaLimit(const DeploymentConfig& d, int maxSequences, Replica& r, Nanos replicaLatency)
{
    const ConcurrencyModifierConfig& m = d.modifier;
    const double sample = std::max(1.0, double(replicaLatency));
    r.bestLatency = r.bestLatency > 0 ? std::min(r.bestLatency, sample) : sample;
    r.recentLatency = r.recentLatency > 0 ? 0.9 * r.recentLatency + 0.1 * sample : sample;
    const double gradient = std::clamp(m.tolerance * r.bestLatency / r.recentLatency, 0.5, 1.0);
    const double proposed = r.adaptiveLimit * gradient + std::sqrt(r.adaptiveLimit);
    const int before = replicaLimit(d, maxSequences, r);
    r.adaptiveLimit = std::clamp((1 - m.smoothing) * r.adaptiveLimit + m.smoothing * proposed, double(m.minLimit), double(m.maxLimit));
    return replicaLimit(d, maxSequences, r) != before;
}

} // namespace knee
