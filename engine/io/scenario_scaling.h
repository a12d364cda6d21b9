// The scenario sections added with autoscaling: deployment.autoscaling,
// deployment.concurrency_modifier, and the shaped open-loop arrivals (step, spike, diurnal, trace)
// with their trace files. Same checks and messages as the other sections (scenario_sections.cpp).
#pragma once
#include "sim/scenario.h"
#include "yaml_fields.h"
#include "user_file.h"

#include <functional>

namespace knee::io {

inline constexpr std::size_t kMaxTraceBytes = kTraceFile.maxBytes; // read through readUserFile
inline constexpr std::size_t kMaxTraceRecords = 50'000'000;

void readAutoscaling(FieldReader& r, const Entry& e, AutoscalerConfig& out);
void readConcurrencyModifier(FieldReader& r, const Entry& e, ConcurrencyModifierConfig& out);
void readPredictTable(FieldReader& r, const Entry& e, ServiceTable& out);
void readDeviceSharing(FieldReader& r, const Entry& e, DeviceSharing& out); // model.predict_sharing
// `readDistribution` reads output_tokens (a unitless distribution) with the section reader's rules.
void readBatching(FieldReader& r, const Entry& e, BatchingConfig& out,
                  const std::function<void(const Entry&, const std::string&, Distribution&)>& readDistribution);
// The fields of a step, spike, diurnal or trace arrival (the kind is already read). `scenarioFile`
// locates a trace file given by a relative path.
void readArrivalPattern(FieldReader& r, const MapFields& f, ArrivalConfig& a, const std::string& scenarioFile);

// A trace CSV: one send time in seconds per line, optionally a request size after a comma; a
// header line and '#' comments are allowed. Empty string = read; else what is wrong, with its line
// number (never the line's content). Read through readUserFile: a directory, a pipe or a file over
// kMaxTraceBytes is refused as such.
std::string readTraceCsv(const std::string& path, std::vector<TraceRecord>& out);

} // namespace knee::io
