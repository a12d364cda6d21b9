// Correctness yardsticks for the predict backends: a float64 reference forward pass, the relative
// Frobenius error, and the tolerance both backends are held to (tests use them; so can a self-check).
//
// Tolerance: kTolerance = 1e-2 relative Frobenius error, ‖out − ref‖ / ‖ref‖.
// Why: weights and inputs are bf16 on both sides, so the reference sees exactly the same parameters;
// what differs is rounding. bf16 keeps 8 significant bits, unit roundoff u = 2⁻⁹ ≈ 1.95e-3. Each layer
// stores its output in bf16 (relative rms error ≈ u/√3 ≈ 1.1e-3 per element), and the errors of L
// layers add roughly in quadrature, ≈ 1.1e-3·√L: 2.3e-3 for the 4-layer test models, 3.2e-3 at L = 8.
// fp32 accumulation adds ~1e-6·√H, negligible. Comparing two backends doubles the variance (×√2).
// 1e-2 leaves a 3× margin over the deepest tested case, while any real defect (a wrong index, a missed
// bias or ReLU, an unwritten element, a race) gives errors of order 1. NaN never passes.
#pragma once
#include "predict/bf16.h"
#include "predict/model.h"

#include <vector>

namespace knee::predict {

inline constexpr double kTolerance = 1e-2;

// The exact function of the bf16 parameters, evaluated in float64 with no intermediate rounding:
// batch × H outputs, row-major. O(batch·H²·L): for test-sized models only.
std::vector<double> referenceForward(const Model& model, int batch, const Bf16* input);

// ‖out − ref‖_F / ‖ref‖_F; NaN if any output is NaN (or the reference is all zeros).
double relativeError(const Bf16* out, const double* ref, std::size_t count);
double relativeError(const Bf16* out, const Bf16* ref, std::size_t count);

// True when `error` is a number no larger than kTolerance (so NaN fails).
inline bool withinTolerance(double error) { return error <= kTolerance; }

} // namespace knee::predict
