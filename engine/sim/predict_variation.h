// A predict table's per-call variation (ServiceTable::variation, scenario.h): what its draws average.
// Apart from scenario.h so that what uses it (calibration, the twin's fit) does not rebuild every file.
#pragma once
#include <vector>

namespace knee {

// The mean of the variation's draws (linear between the quantiles ServiceTable::kVariationQuantiles,
// clamped outside, as PredictStage draws them): a call's mean time is its median time times this.
// 1 without a variation.
double variationMean(const std::vector<double>& variation);

} // namespace knee
