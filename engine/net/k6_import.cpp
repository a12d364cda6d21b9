// k6's JSON output, as documented (https://grafana.com/docs/k6/latest/results-output/real-time/json/)
// and as grafana/k6 writes it (internal/output/json/wrapper.go): one JSON object per line, either
//   {"type":"Metric","data":{"type":"trend","contains":"time","thresholds":[...],"submetrics":null},"metric":"http_req_duration"}
//   {"type":"Point","data":{"time":"2017-05-09T14:34:45.239531499+02:00","value":459.865729,"tags":{...}},"metric":"http_req_duration"}
// "Metric means the line is declaring a metric, and Point is an actual data point (sample) for a
// metric"; a Point's data holds "time" (when the sample was collected), "value" ("time values are in
// milliseconds") and "tags". Newer k6 also writes data.metadata (vu, iter when enabled): ignored here.
// From k6's source:
// - Every sample of one HTTP request (http_reqs, http_req_duration, _blocked, _connecting,
//   _tls_handshaking, _sending, _waiting, _receiving, and http_req_failed when a responseCallback is
//   set) has the request's END time and the same tags: lib/netext/httpext/tracer.go, Trail.SaveSamples
//   (`Time: tr.EndTime`), Tracer.Done (`trail.EndTime = done`, `Duration = Sending + Waiting +
//   Receiving`: http_req_duration leaves out blocked, DNS, connecting and the TLS handshake). The JSON
//   output writes a request's samples one after another, in that order.
// - http_req_waiting is the wait for the first response byte after the request was written.
// - Default tags: proto, subproto, status, method, url, name, group, check, error, error_code,
//   tls_version, scenario, service, expected_response (metrics/system_tag.go). With no response,
//   `status` is "0" and `error`/`error_code` say why; a status ≥ 400 gets error_code 1000 + status;
//   `expected_response` is "false" when the responseCallback (by default statuses 200–399) did not
//   expect it (lib/netext/httpext/transport.go; codes in error_codes.go).
// - `vus` is a gauge of the VUs active in the whole test, sampled once a second, tagged with the run's
//   tags only, never a scenario (internal/execution/scheduler.go, emitVUsAndVUsMax).
// - setup() and teardown() requests carry group "::setup" / "::teardown" and no scenario.
// - Times are Go's RFC3339Nano: up to nine fraction digits (trailing zeros dropped, none when zero)
//   and "Z" or ±hh:mm. QDateTime keeps milliseconds only, so parseK6Time reads the fraction itself.
//
// knee's reading (README.md, `knee import --k6`):
// - A request is an http_req_duration Point. It ended at `time`; its latency is the value (a closed
//   loop sends when its VU is ready: intended = sent = end − duration; time to get a connection, outside
//   k6's duration, is left out). Its TTFT is http_req_sending + http_req_waiting of the same request
//   (the Points with the same time and tags that follow it, within kPairWindow lines): the time to the
//   first byte, i.e. the headers, not to a first token. Without a waiting Point, TTFT stays unset.
// - Failure kind, from the tags: status ≥ 500 http_5xx, ≥ 400 http_4xx; no response: error_code 1050
//   (request timeout) and 1211 (dial timeout) timeout, 1212 (connection refused) refused, 13xx tls,
//   any other code other; a status below 400 that the responseCallback did not expect: other.
//   http_req_failed says the same as expected_response and is not read.
// - Levels: one per k6 scenario (the `scenario` tag) of each file, in the order they started. A level
//   starts at its first request's start (end − duration) and ends at its last request's end. Its users
//   are the median of the file's `vus` samples within that span less one second at each end (VUs
//   starting and stopping); every one of those samples must be within 10 % (rounded down) of the
//   median, so a ramping scenario, or scenarios running at once, is refused rather than guessed at.
//   Levels must not overlap in time and must not share a number of users.
#include "k6_import.h"

#include "failure_kind.h"
#include "record_replay.h"
#include "response_meter.h"

#include "sim/scenario.h"

#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <vector>

namespace knee::net {

namespace {

constexpr qint64 kMaxLine = 1 << 20;    // k6's lines are a few hundred bytes; a longer one is not k6's
constexpr std::size_t kPairWindow = 4096; // requests whose sending/waiting Points may still follow
constexpr double kMaxVus = 10'000'000;
constexpr double kEdgeS = 1;            // the vus samples this close to a level's ends are left out
constexpr double kVusTolerance = 0.10;  // every other sample within this share of the median (rounded down)
constexpr std::int64_t kNsPerS = 1'000'000'000;
constexpr std::int64_t kMaxLevelNs = 86'400 * kNsPerS; // a level's span: a longer one is not a sweep's (and would replay for hours)

struct K6Request {
    std::int64_t endNs = 0;
    std::int64_t durationNs = 0;
    double sendingMs = -1, waitingMs = -1; // −1: no Point paired with it
    HttpOutcome outcome;
};

struct K6Scenario {
    QString file, name;
    std::vector<K6Request> requests;
    std::int64_t firstStartNs = std::numeric_limits<std::int64_t>::max();
    std::int64_t lastEndNs = std::numeric_limits<std::int64_t>::min();
    int users = 0;
    QString label() const { return QStringLiteral("%1: scenario \"%2\"").arg(file, name); }
};

struct LineError {
    QString why;
};

std::optional<FailureKind> failureOf(const QJsonObject& tags, int& status, QString& detail)
{
    const auto number = [&](const char* name, int& into) {
        const QJsonValue v = tags.value(QLatin1String(name));
        if (v.isUndefined() || v.isNull())
            return false;
        bool ok = false;
        into = v.toString().toInt(&ok);
        if (!v.isString() || !ok || into < 0 || into > 99'999)
            throw LineError{QStringLiteral("the %1 tag is not a whole number in a string").arg(QLatin1String(name))};
        return true;
    };
    int code = 0;
    const bool hasStatus = number("status", status);
    const bool hasCode = number("error_code", code);
    const QString error = tags.value(QLatin1String("error")).toString();
    if (!hasStatus)
        status = 0;
    if (status >= 400) {
        detail = QStringLiteral("HTTP %1").arg(status);
        return status >= 500 ? FailureKind::Http5xx : FailureKind::Http4xx;
    }
    if ((hasStatus && status == 0) || (hasCode && code > 0)) {
        detail = !error.isEmpty() ? error : hasCode ? QStringLiteral("k6 error_code %1").arg(code) : QStringLiteral("no response (status 0)");
        if (code == 1050 || code == 1211)
            return FailureKind::Timeout;
        if (code == 1212)
            return FailureKind::Refused;
        if (code >= 1300 && code < 1400)
            return FailureKind::Tls;
        return FailureKind::Other;
    }
    if (tags.value(QLatin1String("expected_response")).toString() == QLatin1String("false")) {
        detail = QStringLiteral("k6's responseCallback did not expect HTTP %1").arg(status);
        return FailureKind::Other;
    }
    return std::nullopt;
}

// A Point's value: a finite number within [0, hi].
double valueOf(const QJsonObject& data, const QString& metric, double hi)
{
    const QJsonValue v = data.value(QLatin1String("value"));
    const double x = v.toDouble(-1);
    if (!v.isDouble() || !std::isfinite(x) || x < 0 || x > hi)
        throw LineError{QStringLiteral("the %1 Point's value is not a number from 0 to %2").arg(metric).arg(hi, 0, 'g', 12)};
    return x;
}

// One file's lines: its scenarios' requests into `scenarios`, its vus samples into `vus`.
void readFile(QFile& f, const QString& name, std::vector<K6Scenario>& scenarios, std::vector<std::pair<std::int64_t, double>>& vus)
{
    std::map<QString, std::size_t> byName; // this file's scenarios, into `scenarios`
    struct Ref {
        std::size_t scenario, request;
    };
    QHash<QByteArray, std::deque<Ref>> pairing; // (time, tags) → the requests that may still pair
    std::deque<QByteArray> pairingOrder;        // their keys, oldest first (bounded by kPairWindow)
    qint64 lineNo = 0;
    try {
        while (!f.atEnd()) {
            ++lineNo;
            QByteArray line = f.readLine(kMaxLine + 1);
            if (line.size() > kMaxLine || (!line.endsWith('\n') && !f.atEnd()))
                throw LineError{QStringLiteral("a line longer than %1 MiB (not k6's JSON output)").arg(kMaxLine >> 20)};
            line = line.trimmed();
            if (line.isEmpty())
                continue;
            QJsonParseError pe;
            const QJsonDocument doc = QJsonDocument::fromJson(line, &pe);
            if (pe.error != QJsonParseError::NoError || !doc.isObject())
                throw LineError{QStringLiteral("not a JSON object (%1; k6 --out json writes one per line)")
                                    .arg(pe.error != QJsonParseError::NoError ? pe.errorString() : QStringLiteral("valid JSON of another shape"))};
            const QJsonObject o = doc.object();
            const QString type = o.value(QLatin1String("type")).toString();
            const QJsonValue metricValue = o.value(QLatin1String("metric"));
            if ((type != QLatin1String("Metric") && type != QLatin1String("Point")) || !metricValue.isString() || !o.value(QLatin1String("data")).isObject())
                throw LineError{QStringLiteral("not a line of k6's JSON output (a \"type\" of Metric or Point, a \"metric\" and its \"data\")")};
            const QString metric = metricValue.toString();
            const bool duration = metric == QLatin1String("http_req_duration"), waiting = metric == QLatin1String("http_req_waiting"),
                       sending = metric == QLatin1String("http_req_sending"), users = metric == QLatin1String("vus");
            if (type == QLatin1String("Metric") || !(duration || waiting || sending || users))
                continue; // declarations, and the metrics knee does not read
            const QJsonObject data = o.value(QLatin1String("data")).toObject();
            const QJsonValue timeValue = data.value(QLatin1String("time"));
            const auto time = parseK6Time(timeValue.toString());
            if (!timeValue.isString() || !time)
                throw LineError{QStringLiteral("the %1 Point's time is not an RFC 3339 time between 1970 and 2200").arg(metric)};
            const QJsonValue tagsValue = data.value(QLatin1String("tags"));
            if (!tagsValue.isObject() && !tagsValue.isNull() && !tagsValue.isUndefined())
                throw LineError{QStringLiteral("the %1 Point's tags are not an object").arg(metric)};
            const QJsonObject tags = tagsValue.toObject();
            if (users) {
                vus.emplace_back(*time, valueOf(data, metric, kMaxVus));
                continue;
            }
            const double ms = valueOf(data, metric, limits::kMaxDurationS * 1000);
            const QByteArray key = timeValue.toString().toUtf8() + '\n' + QJsonDocument(tags).toJson(QJsonDocument::Compact);
            if (!duration) { // sending or waiting: the request with the same time and tags
                const auto it = pairing.find(key);
                if (it == pairing.end())
                    continue;
                for (const Ref& r : *it) {
                    double& into = sending ? scenarios[r.scenario].requests[r.request].sendingMs : scenarios[r.scenario].requests[r.request].waitingMs;
                    if (into < 0) {
                        into = ms;
                        break;
                    }
                }
                continue;
            }
            const QJsonValue scenarioTag = tags.value(QLatin1String("scenario"));
            if (!scenarioTag.isString() || scenarioTag.toString().isEmpty()) {
                const QString group = tags.value(QLatin1String("group")).toString();
                if (group == QLatin1String("::setup") || group == QLatin1String("::teardown"))
                    continue; // setup() and teardown() are no level's
                throw LineError{QStringLiteral("an http_req_duration Point without a scenario tag (keep \"scenario\" in k6's systemTags)")};
            }
            K6Request q;
            q.endNs = *time;
            q.durationNs = std::llround(ms * 1e6);
            q.outcome.failure = failureOf(tags, q.outcome.status, q.outcome.detail);
            q.outcome.latency = q.durationNs;
            auto [at, added] = byName.try_emplace(scenarioTag.toString(), scenarios.size());
            if (added)
                scenarios.push_back(K6Scenario{name, scenarioTag.toString(), {}});
            K6Scenario& s = scenarios[at->second];
            s.firstStartNs = std::min(s.firstStartNs, q.endNs - q.durationNs);
            s.lastEndNs = std::max(s.lastEndNs, q.endNs);
            s.requests.push_back(std::move(q));
            pairing[key].push_back(Ref{at->second, s.requests.size() - 1});
            pairingOrder.push_back(key);
            if (pairingOrder.size() > kPairWindow) {
                const auto oldest = pairing.find(pairingOrder.front());
                oldest->pop_front();
                if (oldest->empty())
                    pairing.erase(oldest);
                pairingOrder.pop_front();
            }
        }
    } catch (const LineError& e) {
        throw LineError{QStringLiteral("%1:%2: %3").arg(name).arg(lineNo).arg(e.why)};
    }
}

// The users of each scenario of one file, from that file's vus samples (the rule at the top).
void usersOf(std::vector<K6Scenario>& scenarios, std::size_t from, std::vector<std::pair<std::int64_t, double>> vus)
{
    for (std::size_t i = from; i < scenarios.size(); ++i) {
        K6Scenario& s = scenarios[i];
        const std::int64_t lo = s.firstStartNs + std::int64_t(kEdgeS * kNsPerS), hi = s.lastEndNs - std::int64_t(kEdgeS * kNsPerS);
        std::vector<double> inside;
        for (const auto& [t, v] : vus)
            if (t >= lo && t <= hi)
                inside.push_back(v);
        if (inside.empty())
            throw LineError{QStringLiteral("%1: no vus sample while its requests ran, a second from either end (k6 samples vus once a second: run "
                                           "each scenario for a few seconds at least)")
                                .arg(s.label())};
        std::sort(inside.begin(), inside.end());
        const double median = inside[(inside.size() - 1) / 2];
        s.users = int(std::llround(median));
        const double allowed = std::floor(kVusTolerance * s.users);
        if (std::abs(inside.front() - s.users) > allowed || std::abs(inside.back() - s.users) > allowed)
            throw LineError{QStringLiteral("%1: k6's vus went from %2 to %3 while its requests ran; knee takes one level per scenario with a "
                                           "constant number of VUs (constant-vus scenarios one after another, see README.md)")
                                .arg(s.label())
                                .arg(inside.front())
                                .arg(inside.back())};
        if (s.users < 1)
            throw LineError{QStringLiteral("%1: k6's vus was 0 while its requests ran").arg(s.label())};
    }
}

} // namespace

std::optional<std::int64_t> parseK6Time(const QString& text)
{
    static const QRegularExpression re(QStringLiteral("^(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2})(?:\\.(\\d{1,9}))?(Z|[+-]\\d{2}:\\d{2})$"));
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch())
        return std::nullopt;
    // Seconds and zone through QDateTime; the fraction (up to nanoseconds) here.
    const QDateTime dt = QDateTime::fromString(m.captured(1) + m.captured(3), Qt::ISODate);
    if (!dt.isValid())
        return std::nullopt;
    const qint64 s = dt.toSecsSinceEpoch();
    if (s < 0 || s > 7'258'118'400) // 2200-01-01: nanoseconds stay far inside 64 bits
        return std::nullopt;
    const QString fraction = m.captured(2).leftJustified(9, QLatin1Char('0'));
    return std::int64_t(s) * kNsPerS + fraction.toLongLong();
}

SweepResult importK6Json(const QStringList& files, const Scenario& scenario, const SweepOptions& options, QString& error)
{
    std::vector<K6Scenario> scenarios;
    try {
        for (const QString& name : files) {
            QFile f(name);
            if (!QFileInfo(name).isFile() || !f.open(QIODevice::ReadOnly))
                throw LineError{QStringLiteral("%1: cannot read it (%2)").arg(name, QFileInfo(name).exists() ? f.errorString() : QStringLiteral("no such file"))};
            if (f.peek(2) == QByteArray("\x1f\x8b", 2))
                throw LineError{QStringLiteral("%1: gzipped (k6 --out json=….gz); give it to knee unzipped: gunzip -k %1").arg(name)};
            const std::size_t from = scenarios.size();
            std::vector<std::pair<std::int64_t, double>> vus;
            readFile(f, name, scenarios, vus);
            if (scenarios.size() == from)
                throw LineError{QStringLiteral("%1: no http_req_duration Point (k6 run --out json=%1 writes one per request)").arg(name)};
            usersOf(scenarios, from, std::move(vus));
        }
        std::sort(scenarios.begin(), scenarios.end(), [](const K6Scenario& a, const K6Scenario& b) { return a.firstStartNs < b.firstStartNs; });
        std::map<int, const K6Scenario*> byUsers;
        for (std::size_t i = 0; i < scenarios.size(); ++i) {
            const K6Scenario& s = scenarios[i];
            if (s.lastEndNs - s.firstStartNs > kMaxLevelNs)
                throw LineError{QStringLiteral("%1: its requests span %2 h; a level lasts a day at most")
                                    .arg(s.label())
                                    .arg(double(s.lastEndNs - s.firstStartNs) / kNsPerS / 3600, 0, 'f', 1)};
            if (i > 0 && s.firstStartNs < scenarios[i - 1].lastEndNs)
                throw LineError{QStringLiteral("%1 and %2 overlap in time (its first request started %3 s before the other's last one ended): give "
                                               "each level its own time (startTime after the previous scenario's duration)")
                                    .arg(scenarios[i - 1].label(), s.label())
                                    .arg(double(scenarios[i - 1].lastEndNs - s.firstStartNs) / kNsPerS, 0, 'f', 3)};
            if (const auto [at, added] = byUsers.try_emplace(s.users, &s); !added)
                throw LineError{QStringLiteral("%1 and %2 both ran %3 VUs: one scenario per level").arg(at->second->label(), s.label()).arg(s.users)};
        }
    } catch (const LineError& e) {
        error = e.why;
        return {};
    }
    std::vector<RecordedLevel> levels;
    for (K6Scenario& s : scenarios) {
        RecordedLevel l;
        l.name = s.label();
        l.users = s.users;
        l.lastEnd = double(s.lastEndNs - s.firstStartNs) / kNsPerS;
        l.records.reserve(s.requests.size());
        for (K6Request& q : s.requests) {
            if (q.waitingMs >= 0)
                q.outcome.ttft = std::llround((std::max(0.0, q.sendingMs) + q.waitingMs) * 1e6);
            l.records.push_back(ReplayRecord{double(q.endNs - s.firstStartNs) / kNsPerS, std::move(q.outcome)});
        }
        s.requests = {};
        levels.push_back(std::move(l));
    }
    return replayRecordedLevels(std::move(levels), scenario, options, QJsonObject{{"name", "k6"}, {"imported", true}}, error);
}

} // namespace knee::net
