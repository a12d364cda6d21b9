#include "record_replay.h"

#include "failure_kind.h"
#include "http_sweep.h"

#include <QJsonDocument>

#include <algorithm>

namespace knee::net {

namespace {

// A recorded level replayed through measureLevel: its time is the records' end times.
class ReplayProbe : public LevelProbe {
public:
    ReplayProbe(std::vector<ReplayRecord> records, bool open)
        : m_records(std::move(records))
        , m_open(open)
    {
        std::stable_sort(m_records.begin(), m_records.end(), [](const ReplayRecord& a, const ReplayRecord& b) { return a.end < b.end; });
        if (m_open)
            for (const ReplayRecord& r : m_records)
                m_sends.push_back(r.sent);
        std::sort(m_sends.begin(), m_sends.end());
    }
    std::int64_t sent() const override
    {
        return std::lower_bound(m_sends.begin(), m_sends.end(), nanosToSeconds(m_now)) - m_sends.begin();
    }
    bool generatorMayLag() const override { return m_open; }
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
    SweepResult r;
    SweepOptions o = options;
    o.levels.clear();
    o.rates.clear();
    const bool rates = !levels.empty() && levels.front().rateRps > 0;
    for (RecordedLevel& level : levels) {
        if ((level.rateRps > 0) != rates) {
            error = QStringLiteral("%1 is %2 while %3 is %4: one sweep is either").arg(level.name, level.rateRps > 0 ? QStringLiteral("a rate level") : QStringLiteral("a level of users"), levels.front().name, rates ? QStringLiteral("a rate level") : QStringLiteral("a level of users"));
            return {};
        }
        // The level ends where its records end: never an empty tail counted as measured time.
        SweepOptions lo = options;
        lo.capS = level.lastEnd - options.warmupS;
        if (lo.capS <= 0) {
            error = QStringLiteral("%1 (%2 users) has no record past the %3 s warm-up: give a shorter --warmup-s")
                        .arg(level.name)
                        .arg(level.users)
                        .arg(options.warmupS);
            return {};
        }
        ReplayProbe probe(std::move(level.records), rates);
        r.levels.push_back(measureLevel(probe, rates ? LevelLoad{0, level.rateRps} : LevelLoad{level.users}, lo));
        if (rates)
            o.rates.push_back(level.rateRps);
        else
            o.levels.push_back(level.users);
    }
    r.mode = "http";
    r.scenarioName = scenario.name;
    r.target = QJsonDocument(QJsonObject{{"load_generator", loadGenerator}}).toJson(QJsonDocument::Compact).toStdString();
    analyzeSweep(r, scenario, o);
    return r;
}

} // namespace knee::net
