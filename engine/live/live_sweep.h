// Sweeps in live time: each level's engine is paced to the wall by a LiveClock on the calling
// thread (a local event loop runs while a window passes), so a sweep shows what the engine does in
// real time, with the real predict stage once it drives one. Slow by nature: warm-up + windows per level.
#pragma once
#include "study/sweep.h"

namespace knee {

// Each level first waits for its replica's cold start (the weights' upload), at most `maxColdStartS`:
// then its load starts anyway. A sweep gives it a level's own budget (warm-up and time cap). `backend`
// runs predict (needed with a model profile, else null); it must outlive the driver.
// `gpus`, when given (running, and outliving the driver), gives each level the GPUs' figures over its
// measured windows (SweepLevel::gpus).
struct PredictBackendInfo;
namespace telemetry {
class GpuSampler;
}
std::unique_ptr<LevelDriver> makeLiveDriver(double maxColdStartS, const PredictBackendInfo* backend, telemetry::GpuSampler* gpus = nullptr);
double liveColdStartBudgetS(const SweepOptions& options);
SweepResult runLiveSweep(const Scenario& scenario, const SweepOptions& options, const PredictBackendInfo* backend,
                         const std::function<bool(const SweepLevel&)>& progress = {}, telemetry::GpuSampler* gpus = nullptr);
// A sampler's summary as a level keeps it.
std::vector<GpuLevelFigures> gpuLevelFigures(const telemetry::GpuSampler& gpus);

} // namespace knee
