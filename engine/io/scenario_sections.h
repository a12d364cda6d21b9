// Reads a parsed scenario document section by section (deployment, model, workload, changes),
// checking every field against the bounds in sim/scenario.h and collecting every problem.
#pragma once
#include "sim/scenario.h"
#include "yaml_fields.h"

#include <optional>

namespace knee::io {

inline constexpr std::size_t kMaxChanges = 100'000; // timed knob changes in one scenario
inline constexpr std::size_t kMaxBadItemsShown = 5; // per list, before "and N more"

// Reads `root` (a document whose top level is already known to be a map) into a Scenario; the
// errors and warnings go to `diag`. The Scenario is complete only when diag has no errors.
Scenario readScenarioDocument(const YamlTree& tree, Diagnostics& diag);

} // namespace knee::io
