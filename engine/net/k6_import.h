// `knee import --k6` (issue 18): a sweep that k6 ran elsewhere (`k6 run --out json=FILE`), read from k6's
// JSON lines and replayed into levels through record_replay (the same procedure as `knee import --locust`).
// The format, the rule for levels and the mapping of each request are described at the top of
// k6_import.cpp; README.md's `knee import` says how to run k6 so that its output fits.
#pragma once
#include "study/sweep.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>

namespace knee::net {

// An RFC 3339 time as Go writes it (time.RFC3339Nano: up to nine fraction digits, "Z" or ±hh:mm), in
// nanoseconds since the Unix epoch; nullopt for anything else or a time outside 1970–2200.
std::optional<std::int64_t> parseK6Time(const QString& text);

// The files' levels (one per k6 scenario; see k6_import.cpp), each replayed through measureLevel and
// then analysed against `scenario`. `error` says what does not fit (file:line for a line, the file and
// scenario for a level); the result is then empty.
SweepResult importK6Json(const QStringList& files, const Scenario& scenario, const SweepOptions& options, QString& error);

} // namespace knee::net
