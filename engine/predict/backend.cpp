#include "predict/backend.h"

#include <future>

namespace knee::predict {

const char* toString(BackendKind kind)
{
    switch (kind) {
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
    }
    return "?";
}

std::string validateConfig(const Model& model, const ReplicaConfig& config)
{
    if (config.slots < 1 || config.slots > 1024)
        return "slots " + std::to_string(config.slots) + " must be between 1 and 1024";
    if (config.maxBatch < 1)
        return "max batch " + std::to_string(config.maxBatch) + " must be at least 1";
    for (int b : config.warmBatches)
        if (b < 1 || b > config.maxBatch)
            return "warm batch " + std::to_string(b) + " is outside 1.." + std::to_string(config.maxBatch);
    if (auto problem = model.profile().validate(); !problem.empty())
        return problem;
    return {};
}

Completion runAndWait(Replica& replica, int slot, int batch, const Bf16* input, Bf16* output)
{
    std::promise<Completion> promise;
    auto future = promise.get_future();
    const Status accepted = replica.submit(slot, batch, input, output, [&promise](const Completion& c) { promise.set_value(c); });
    if (!accepted.ok()) {
        Completion refused;
        refused.status = accepted;
        refused.slot = slot;
        refused.batch = batch;
        return refused;
    }
    return future.get();
}

} // namespace knee::predict
