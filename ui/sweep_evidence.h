// The sweep page's evidence, as HTML: the recommendation with its rules first, then the p95 knee and
// the throughput curve's bend side by side, saturation (and the levels a virtual sweep added), the
// alternatives, and the levels left out of the analysis.
#pragma once
#include "study/sweep.h"

#include <QString>

namespace knee::ui {

QString sweepEvidenceHtml(const SweepResult& result, const SweepOptions& options);

} // namespace knee::ui
