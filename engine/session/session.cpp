#include "session.h"

#include "io/scenario_reader.h"
#include "io/user_file.h"
#include "output_file.h"
#include "sweep_record.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace knee {

QByteArray serializeSession(const Session& s)
{
    QJsonArray sweeps, grids;
    for (const SessionSweep& sw : s.sweeps)
        sweeps.append(sweepRecord(sw));
    for (const SessionGrid& g : s.grids)
        grids.append(gridRecord(g));
    QJsonObject root{{"format", "knee-session"},
                     {"version", Session::kFormatVersion},
                     {"scenario_yaml", s.scenarioYaml},
                     {"scenario_source", s.scenarioSource},
                     {"notes", s.notes},
                     {"sweeps", sweeps}};
    if (!grids.isEmpty())
        root.insert("grids", grids);
    return QJsonDocument(root).toJson(QJsonDocument::Indented); // keys sorted: the same session gives the same bytes
}

SessionLoad parseSession(const QByteArray& bytes, const QString& source)
{
    SessionLoad out;
    if (bytes.size() > kMaxSessionBytes) {
        out.error = QStringLiteral("%1 is larger than 64 MiB: not a knee session").arg(source);
        return out;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        out.error = QStringLiteral("%1 is damaged or not a knee session (%2 at byte %3); nothing was loaded")
                        .arg(source, pe.error != QJsonParseError::NoError ? pe.errorString() : QStringLiteral("not a JSON object"))
                        .arg(pe.offset);
        return out;
    }
    const QJsonObject root = doc.object();
    if (root.value("format").toString() != QLatin1String("knee-session")) {
        out.error = QStringLiteral("%1 is not a knee session (no \"format\": \"knee-session\"); nothing was loaded").arg(source);
        return out;
    }
    const int version = root.value("version").toInt(-1);
    if (version > Session::kFormatVersion) {
        out.error = QStringLiteral("%1 was saved by a newer knee (session format %2; this knee reads up to %3): update knee to open it")
                        .arg(source)
                        .arg(version)
                        .arg(Session::kFormatVersion);
        return out;
    }
    if (version < 1) {
        out.error = QStringLiteral("%1 has no valid session format version; nothing was loaded").arg(source);
        return out;
    }
    JsonReader r;
    Session s;
    s.scenarioYaml = r.text(root, "scenario_yaml", "session");
    s.scenarioSource = r.text(root, "scenario_source", "session");
    s.notes = r.text(root, "notes", "session");
    // The scenario must still read: a session is only as good as what it was run on.
    const ScenarioReadResult scenario = r.ok() ? readScenarioText(s.scenarioYaml.toStdString(), "session scenario") : ScenarioReadResult{};
    if (r.ok() && !scenario.ok())
        r.fail("session.scenario_yaml", "a valid scenario ("
                   + (scenario.errors.empty() ? QStringLiteral("it does not read") : QString::fromStdString(scenario.errors.front().toString())) + ")");
    // The grids first: each sets the recommendation of the sweep it followed (readSweepRecord).
    if (r.ok() && root.contains("grids")) {
        const QJsonArray grids = r.array(root, "grids", "session", 1000);
        for (qsizetype i = 0; r.ok() && i < grids.size(); ++i)
            if (auto g = readGridRecord(r, grids[i].toObject(), QStringLiteral("session.grids[%1]").arg(i), version))
                s.grids.push_back(std::move(*g));
    }
    const QJsonArray sweeps = r.array(root, "sweeps", "session", 1000);
    for (std::size_t i = 0; r.ok() && i < s.grids.size(); ++i) {
        if (s.grids[i].sweep >= sweeps.size())
            r.fail(QStringLiteral("session.grids[%1].sweep").arg(i), "the index of one of the session's sweeps");
        else if (s.grids[i].sweep < 0 && !sweeps.isEmpty()) // a file before grids named theirs: the last sweep's,
            s.grids[i].sweep = int(sweeps.size()) - 1;       // named from now on (a sweep added later must not take it)
    }
    for (qsizetype i = 0; r.ok() && i < sweeps.size(); ++i) {
        const SessionGrid* g = gridOfSweep(s.grids, std::size_t(sweeps.size()), std::size_t(i));
        const GridResult* grid = g ? &g->result : nullptr;
        if (auto sw = readSweepRecord(r, sweeps[i].toObject(), QStringLiteral("session.sweeps[%1]").arg(i), *scenario.scenario, version, grid))
            s.sweeps.push_back(std::move(*sw));
    }
    if (!r.ok()) {
        out.error = QStringLiteral("%1 is damaged: %2; nothing was loaded").arg(source, r.error);
        return out;
    }
    out.session = std::move(s);
    return out;
}

QString saveSession(const Session& session, const QString& path)
{
    return writeOutputFile(path, serializeSession(session)); // whole or not at all; the old file kept on failure
}

SessionLoad loadSession(const QString& path)
{
    io::UserFileRead read = io::readUserFile(QFile::encodeName(path).toStdString(), io::kSessionFile);
    if (!read.ok())
        return {std::nullopt, QStringLiteral("cannot open %1: %2").arg(path, QString::fromStdString(read.error))};
    return parseSession(QByteArray::fromStdString(read.bytes), path);
}

} // namespace knee
