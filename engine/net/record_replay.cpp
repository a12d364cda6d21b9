#include "record_replay.h"

#include "failure_kind.h"
#include "http_sweep.h"

#include "study/confidence.h"

#include <QJsonDocument>

#include <algorithm>

namespace knee::net {

namespace {

// A recorded level replayed through measureLevel: its time is the records' end times.
class ReplayProbe : public LevelProbe {
public:
    ReplayProbe(std::vector<ReplayRecord> records, bool open, double lastEnd, std::vector<double> sends)
        : m_records(std::move(records))
        , m_open(open)
        , m_limit(secondsToNanos(lastEnd))
        , m_sends(std::move(sends))
    {
        std::stable_sort(m_records.begin(), m_records.end(), [](const ReplayRecord& a, const ReplayRecord& b) { return a.end < b.end; });
        if (m_open && m_sends.empty())
            for (const ReplayRecord& r : m_records)
                m_sends.push_back(r.sent);
        if (!m_open)
            m_sends.clear();
        std::sort(m_sends.begin(), m_sends.end());
    }
    std::int64_t sent() const override
    {
        return std::lower_bound(m_sends.begin(), m_sends.end(), nanosToSeconds(m_now)) - m_sends.begin();
    }
    bool generatorMayLag() const override { return m_open; }
    Nanos timeLimit() const override { return m_limit; } // never an empty tail counted as measured time
    void begin(const LevelLoad&) override {}
    Nanos now() const override { return m_now; }
    void advanceTo(Nanos t) override
    {
        const double cut = nanosToSeconds(t);
        for (; m_next < m_records.size() && m_records[m_next].end < cut; ++m_next) {
            recordOutcome(m_window, m_records[m_next].outcome);
            if (m_records[m_next].outcome.failure)
                m_lastError = std::string(failureKindName(*m_records[m_next].outcome.failure)) + ": " + m_records[m_next].outcome.detail.toStdString();
        }
        m_now = std::max(m_now, t);
    }
    LevelWindow& window() override { return m_window; }
    void end() override {}
    bool virtualTime() const override { return false; }
    const char* mode() const override { return "http"; }
    void annotate(SweepLevel& level) const override
    {
        level.endpoint = EndpointCounts{level.completed + level.failed, 0, m_lastError};
        for (FailureKind k : kFailureKinds)
            level.failuresByKind.try_emplace(std::string(failureKindName(k)), 0);
    }

private:
    std::vector<ReplayRecord> m_records;
    bool m_open;
    Nanos m_limit;
    std::vector<double> m_sends; // a rate level's send times, in order
    std::size_t m_next = 0;
    Nanos m_now = 0;
    LevelWindow m_window;
    std::string m_lastError;
};

} // namespace

SweepResult replayRecordedLevels(std::vector<RecordedLevel> levels, const Scenario& scenario, const SweepOptions& options,
                                 const QJsonObject& loadGenerator, QString& error)
{
    auto loadText = [](const RecordedLevel& l) {
        return l.rateRps > 0 ? QStringLiteral("%1 req/s").arg(l.rateRps) : QStringLiteral("%1 users").arg(l.users);
    };
    const bool rates = !levels.empty() && levels.front().rateRps > 0;
    // Each level with its repeats, in the order run.
    std::vector<std::vector<RecordedLevel*>> groups;
    for (RecordedLevel& level : levels) {
        if ((level.rateRps > 0) != rates) {
            error = QStringLiteral("%1 is %2 while %3 is %4: one sweep is either")
                        .arg(level.name, level.rateRps > 0 ? QStringLiteral("a rate level") : QStringLiteral("a level of users"), levels.front().name,
                             rates ? QStringLiteral("a rate level") : QStringLiteral("a level of users"));
            return {};
        }
        if (level.lastEnd - options.warmupS <= 0) {
            error = QStringLiteral("%1 (%2) has no record past the %3 s warm-up: give a shorter --warmup-s").arg(level.name, loadText(level)).arg(options.warmupS);
            return {};
        }
        if (level.repeat < 0 || level.repeat >= kMaxRepeats) {
            error = QStringLiteral("%1 is repeat %2: repeats run from 0 to %3").arg(level.name).arg(level.repeat).arg(kMaxRepeats - 1);
            return {};
        }
        if (level.repeat == 0) {
            groups.push_back({&level});
            continue;
        }
        const RecordedLevel* first = groups.empty() ? nullptr : groups.back().front();
        if (!first || first->users != level.users || first->rateRps != level.rateRps || level.repeat != int(groups.back().size())) {
            error = QStringLiteral("%1 (%2) is repeat %3, but not right after repeats 0 to %4 of the same load").arg(level.name, loadText(level)).arg(level.repeat).arg(level.repeat - 1);
            return {};
        }
        groups.back().push_back(&level);
    }
    SweepResult r;
    SweepOptions o = options;
    o.levels.clear();
    o.rates.clear();
    o.repeats = groups.empty() ? 1 : int(groups.front().size());
    for (const std::vector<RecordedLevel*>& group : groups) { // the axis first: a level's measure reads it (rateSweep)
        if (rates)
            o.rates.push_back(group.front()->rateRps);
        else
            o.levels.push_back(group.front()->users);
    }
    for (const std::vector<RecordedLevel*>& group : groups) {
        if (int(group.size()) != o.repeats) {
            error = QStringLiteral("%1 (%2) was measured %3 times and %4 (%5) %6 times: every level of a sweep has as many repeats")
                        .arg(group.front()->name, loadText(*group.front()))
                        .arg(group.size())
                        .arg(groups.front().front()->name, loadText(*groups.front().front()))
                        .arg(o.repeats);
            return {};
        }
        // The level's cap is its records' span (a window's length fits it, as the live sweep's fit its cap);
        // each repeat ends where its own records end (ReplayProbe::timeLimit): never an empty tail measured.
        SweepOptions lo = o;
        lo.capS = 0;
        for (const RecordedLevel* l : group)
            lo.capS = std::max(lo.capS, l->lastEnd - options.warmupS);
        const double level = rates ? group.front()->rateRps : group.front()->users;
        r.levels.push_back(measureRepeatedLevel(level, lo, [&](int, int repeat) {
            RecordedLevel& l = *group[std::size_t(repeat)];
            return std::make_unique<ReplayProbe>(std::move(l.records), rates, l.lastEnd, std::move(l.sends));
        }));
    }
    r.mode = "http";
    r.scenarioName = scenario.name;
    r.target = QJsonDocument(QJsonObject{{"load_generator", loadGenerator}}).toJson(QJsonDocument::Compact).toStdString();
    analyzeSweep(r, scenario, o);
    return r;
}

} // namespace knee::net
