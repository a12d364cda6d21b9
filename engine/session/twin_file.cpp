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
