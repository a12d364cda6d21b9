// Recorded levels replayed through the sweep's own level procedure (issue 18): `knee import --locust`
// and `knee import --k6` turn a load generator's per-request records into levels here, so an imported
// sweep gets the same warm-up, windows until two agree and analysis as a live one.
#pragma once
#include "response_meter.h"

#include "study/sweep.h"

#include <QJsonObject>
#include <QString>

#include <vector>

namespace knee::net {

// One request as the load generator timed it: `end` in seconds since its level started.
struct ReplayRecord {
    double end = 0;
    HttpOutcome outcome;
    double sent = -1; // when it was sent, on the same clock (a rate level counts the requests sent by these)
};

// One level's records, and the users that sent them.
struct RecordedLevel {
    QString name; // for messages: "level 3", "scenario \"vus_8\" of run.json"
    int users = 0;
    double rateRps = 0; // a rate sweep's level: the rate asked (then `users` is the generator's, not the load)
    int repeat = 0;     // the sweep's --repeats: the level's repeat (1… follow their repeat 0 with the same load)
    // A rate level's send times (s since it started), its requests' that ended in the next level included;
    // empty: its records' own send times.
    std::vector<double> sends;
    std::vector<ReplayRecord> records;
    double lastEnd = 0; // the latest record's end: the level ends there
};

// Each level, in the order given, replayed through measureLevel (warm-up, windows by end time until
// two agree, the level ending where its records end: never an empty tail counted as measured time),
// then analysed against `scenario`. The result's target says {"load_generator": loadGenerator}.
// A level's repeats (repeat 1… right after its repeat 0, the same load) are measured and merged as the
// live sweep's (measureRepeatedLevel). `error` says which level could not be replayed (none past the
// warm-up, rate and closed-loop levels mixed, repeats out of order or of unequal counts); the result is
// then empty. Rate levels count as sent the records sent before each window's edge
// (a request still unanswered when the recording stopped was never recorded).
SweepResult replayRecordedLevels(std::vector<RecordedLevel> levels, const Scenario& scenario, const SweepOptions& options,
                                 const QJsonObject& loadGenerator, QString& error);

} // namespace knee::net
