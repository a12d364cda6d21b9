// The scenario's optional twin: section (a fitted twin's provenance; scenario_twin.cpp has the format).
#pragma once
#include "sim/scenario.h"
#include "yaml_fields.h"

namespace knee::io {

void readTwin(FieldReader& r, const Entry& e, TwinSource& out);

} // namespace knee::io
