// A RunSummary as JSON (for --json and scripts) and as the plain-text report people read.
#pragma once
#include "study/run_summary.h"

#include <QJsonObject>
#include <QString>

namespace knee::cli {

QJsonObject toJson(const RunSummary& summary);
QString toText(const RunSummary& summary);

} // namespace knee::cli
