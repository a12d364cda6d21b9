// A scenario run once in live (wall-clock) time, headless: the same engine as `simulate`'s virtual
// run, on a live clock, with the real predict stage when the scenario names a model profile. This is
// what `knee simulate --live` prints, and it says which backend ran predict.
#pragma once
#include "study/run_summary.h"

#include <string>

namespace knee {

struct LiveRunResult {
    RunSummary summary;
    std::string predictStage; // what ran predict, and after a fall back to the CPU, why
    bool realPredict = false;
    std::int64_t predictErrors = 0, replicaStartFailures = 0;
    std::string lastPredictError;
};

struct PredictBackendInfo;

// Runs until the workload has sent everything and nothing is left to happen, or `maxWallS` passed.
// Needs a Qt event loop on this thread (a QCoreApplication); throws std::invalid_argument for an
// invalid scenario. `backend` runs predict when the scenario names a model (null: the process's shared
// backend, sharedPredictBackend()).
LiveRunResult runLive(const Scenario& scenario, double maxWallS, const PredictBackendInfo* backend = nullptr);

} // namespace knee
