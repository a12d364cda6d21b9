// `knee report SESSION.json --out REPORT.html [--sweep N] [--json]`: a saved session as one
// self-contained HTML report (engine/report: charts as inline SVG, the table of levels, the knee, the
// alternatives, the recommendation with its evidence, the scenario or target, knee's version and the
// machine), readable offline in any browser. Exit 0 written; 2 bad input (no such session, a damaged
// one, one without a sweep, a bad --sweep or --out), nothing written; 1 the report could not be written.
#pragma once
#include <QStringList>

namespace knee::cli {
int runReport(const QStringList& args); // args[0] is "report"
}
