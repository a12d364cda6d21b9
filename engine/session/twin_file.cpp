#include "twin_file.h"

#include "io/scenario_reader.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace knee {

TwinFitOptions twinFitOptions(const SweepResult& sweep, const QString& sessionPath, const QDateTime& measuredAt)
{
    TwinFitOptions o;
    o.mode = sweep.mode;
    o.endpoint = sweep.scenarioName;
    const QJsonObject target = QJsonDocument::fromJson(QByteArray::fromStdString(sweep.target)).object();
    if (const QString url = target.value(QLatin1String("url")).toString(); !url.isEmpty())
        o.endpoint = url.toStdString();
    o.maxConnections = target.value(QLatin1String("max_connections")).toInt(0);
    if (target.value(QLatin1String("stream")).toBool())
        o.maxTokens = target.value(QLatin1String("max_tokens")).toInt(0);
    if (measuredAt.isValid())
        o.measuredAt = measuredAt.toUTC().toString(Qt::ISODate).toStdString();
    o.session = sessionPath.toStdString();
    return o;
}

void addRateLevels(TwinFitOptions& o, const SweepResult& fitted, const std::vector<SessionSweep>& sweeps)
{
    // The same endpoint: its URL, the kind of request, the dataset and whether it streams (the client's own
    // settings, such as its connections, may differ between the two sweeps); the engine's sweeps: the same
    // scenario name (a session holds one scenario).
    const auto what = [](const SweepResult& r) {
        if (r.target.empty())
            return QString::fromStdString(r.scenarioName);
        QJsonObject t = QJsonDocument::fromJson(QByteArray::fromStdString(r.target)).object();
        QJsonObject same;
        for (const char* key : {"url", "kind", "dataset", "stream"})
            if (t.contains(QLatin1String(key)))
                same.insert(QLatin1String(key), t.value(QLatin1String(key)));
        return QString::fromUtf8(QJsonDocument(same).toJson(QJsonDocument::Compact));
    };
    const QString fittedWhat = what(fitted);
    for (const SessionSweep& s : sweeps) {
        const SweepResult& r = s.result;
        if (!s.options.rateSweep() || r.mode != fitted.mode || what(r) != fittedWhat)
            continue;
        for (const SweepLevel& l : r.levels)
            if (l.open())
                o.rateLevels.push_back({l, s.options.constantArrivals});
    }
}

TwinFileText twinFileText(const TwinFit& fit)
{
    TwinFileText out;
    if (!fit.twin) {
        out.error = QString::fromStdString(fit.refusal.empty() ? std::string("no twin was fitted") : fit.refusal);
        return out;
    }
    const std::string yaml = twinComments(fit) + writeScenarioYaml(*fit.twin);
    // What the file will say must open again as this scenario: checked here, not discovered by the user.
    const ScenarioReadResult back = readScenarioText(yaml, "twin");
    if (!back.ok()) {
        out.error = QStringLiteral("the twin's text does not read back: %1")
                        .arg(QString::fromStdString(back.errors.empty() ? std::string("unknown") : back.errors.front().toString()));
        return out;
    }
    out.text = QByteArray::fromStdString(yaml);
    return out;
}

} // namespace knee
