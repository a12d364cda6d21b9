// A session as one self-contained HTML report, readable offline in any browser and fit to share: the
// scenario (or the endpoint that was measured), the recommendation with the rule and evidence behind
// each value, the charts as inline SVG, the table of levels with units, the knee and the alternatives (a
// rate sweep: against the request rate asked, with the rate sent and served, its knee and capacity),
// the grid when one ran, and which knee and which machine produced it. Qt Core only: `knee report`
// and the window's File ▸ Export Report write the same bytes for the same session.
#pragma once
#include "session/session.h"

#include <QByteArray>
#include <QString>

namespace knee::report {

struct ReportContext {
    QString version;     // knee's version
    QString machine;     // the machine the report was made on, in words
    QString sessionName; // the session file's name, if any
    QString generatedAt; // UTC, ISO 8601
    // The running knee and this machine (OS, kernel, CPU, cores), now.
    static ReportContext thisMachine(const QString& sessionName = {});
};

// The report of sweep `sweepIndex` (0-based; -1: the last) of `session`, which must hold at least one
// sweep. UTF-8 HTML with no external resource and no script.
QByteArray sessionReportHtml(const Session& session, const ReportContext& context, int sweepIndex = -1);

} // namespace knee::report
