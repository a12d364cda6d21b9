// The sweep page's exports. Each button says which file gets which values; without a given path the
// user picks the file, sees what will be written (and that an existing file is replaced or edited)
// and confirms; afterwards the page says what was written where. A given path (tests, scripts) writes
// at once. Every write goes through the one writer of user files: whole or not at all.
#include "sweep_page.h"

#include "plural.h"

#include "twin_dialog.h"

#include "io/truss_config.h"
#include "session/output_file.h"
#include "session/twin_file.h"

#include <QBuffer>
#include <QChart>
#include <QChartView>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSvgGenerator>

namespace knee::ui {

namespace {
QString sentence(const QString& message) { return message.isEmpty() ? message : message.left(1).toUpper() + message.mid(1); }

QString replaces(const QString& path)
{
    const QFileInfo info(path);
    return info.exists() ? SweepPage::tr(" It replaces the existing file (%1).").arg(counted(info.size(), SweepPage::tr("byte"), SweepPage::tr("bytes")))
                         : QString();
}

bool knative(const QString& path) { return path.endsWith(QLatin1String(".yaml")) || path.endsWith(QLatin1String(".yml")); }

AutoscalingSettings settingsOf(const Recommendation& rec, const DeploymentConfig& deployment)
{
    return autoscalingSettings(deployment, rec.concurrencyTarget, rec.replicas ? std::optional(rec.replicas->minReplicas) : std::nullopt,
                               rec.replicas ? std::optional(rec.replicas->maxReplicas) : std::nullopt);
}
} // namespace

bool SweepPage::confirm(const QString& title, const QString& text) const
{
    if (m_confirm)
        return m_confirm(title, text);
    return QMessageBox::question(const_cast<SweepPage*>(this), title, text, QMessageBox::Save | QMessageBox::Cancel, QMessageBox::Save)
        == QMessageBox::Save;
}

QString SweepPage::choosePath(Export kind, const QString& suggested)
{
    if (m_choosePath)
        return m_choosePath(kind, suggested);
    // The preview after this asks before anything is replaced; the dialog need not ask too.
    switch (kind) {
    case Export::ConfigYaml:
        return QFileDialog::getSaveFileName(this, tr("Write predict_concurrency into a Truss config.yaml"), suggested,
                                            tr("Truss config (*.yaml *.yml)"), nullptr, QFileDialog::DontConfirmOverwrite);
    case Export::Autoscaling:
        return QFileDialog::getSaveFileName(this, tr("Export autoscaling settings"), suggested,
                                            tr("Baseten API body (*.json);;Knative Service (*.yaml)"), nullptr, QFileDialog::DontConfirmOverwrite);
    case Export::Csv:
        return QFileDialog::getSaveFileName(this, tr("Export the levels as CSV"), suggested, tr("CSV (*.csv)"), nullptr,
                                            QFileDialog::DontConfirmOverwrite);
    case Export::Chart:
        return QFileDialog::getSaveFileName(this, tr("Save chart"), suggested, tr("PNG image (*.png);;SVG drawing (*.svg)"), nullptr,
                                            QFileDialog::DontConfirmOverwrite);
    case Export::Twin:
        return QFileDialog::getSaveFileName(this, tr("Save twin"), suggested, tr("Scenarios (*.yaml *.yml)"), nullptr,
                                            QFileDialog::DontConfirmOverwrite);
    }
    return {};
}

QString SweepPage::finishExport(const QString& done, const QString& error)
{
    if (!error.isEmpty())
        return sentence(error);
    m_status->setText(done); // never silent: what went where
    return {};
}

QString SweepPage::exportLabel(Export kind) const
{
    const SessionSweep* s = current();
    const Recommendation* rec = s ? &s->result.recommendation : nullptr;
    switch (kind) {
    case Export::ConfigYaml:
        return rec && rec->predictConcurrency > 0 ? tr("config.yaml ← predict_concurrency %1…").arg(rec->predictConcurrency)
                                                  : tr("Export config.yaml…");
    case Export::Autoscaling:
        if (rec && rec->concurrencyTarget > 0)
            return rec->replicas ? tr("Autoscaling ← target %1, replicas %2–%3…").arg(rec->concurrencyTarget).arg(rec->replicas->minReplicas).arg(rec->replicas->maxReplicas)
                                 : tr("Autoscaling ← target %1…").arg(rec->concurrencyTarget);
        return tr("Export autoscaling…");
    case Export::Csv: return s ? tr("CSV ← %1…").arg(counted(qsizetype(s->result.levels.size()), tr("level"), tr("levels"))) : tr("Export CSV…");
    case Export::Chart: return tr("Save chart…");
    case Export::Twin: return tr("Save twin…");
    }
    return {};
}

void SweepPage::updateExportLabels()
{
    const SessionSweep* s = current();
    const Export kinds[] = {Export::ConfigYaml, Export::Autoscaling, Export::Csv, Export::Chart};
    const QString tips[] = {
        tr("Writes runtime.predict_concurrency into a Truss config.yaml (a new one, or yours: every other key, comment and line "
           "kept). Shows the change first."),
        tr("Writes the recommended concurrency target and min/max replicas, with the deployment's autoscaler settings, as "
           "Baseten's API body (.json) or a Knative Service (.yaml). Shows the values first."),
        s && s->options.rateSweep()
            ? tr("Writes one row per rate: p50/p95/p99 (ms), throughput served (req/s), completed, failed, rejected, stable, then the "
                 "rate asked, the rate sent (req/s), the requests in flight and whether the load generator fell behind.")
            : tr("Writes one row per level: users, p50/p95/p99 (ms), throughput (req/s), completed, failed, rejected, stable."),
        tr("Saves the chart as PNG or SVG.")};
    for (std::size_t i = 0; i < m_exportButtons.size(); ++i) {
        m_exportButtons[i]->setText(exportLabel(kinds[i]));
        m_exportButtons[i]->setToolTip(tips[i]);
        m_exportButtons[i]->setEnabled(s != nullptr);
    }
    updateTwinButton();
}

QString SweepPage::exportPreview(Export kind, const QString& path) const
{
    if (kind == Export::Twin) { // the last fit's, not the shown sweep's
        if (!m_twinFit || !m_twinFit->ok())
            return tr("Make a twin first: there is none to save yet.");
        return tr("Writes %1: %2 as a scenario (YAML) that File ▸ Open Scenario and knee simulate, plan and sweep run; comments at "
                  "its head say where each value came from and how well it replays the sweep.%3")
            .arg(path, QString::fromStdString(m_twinFit->twin->name), replaces(path));
    }
    const SessionSweep* s = current();
    if (!s)
        return tr("Run a sweep first: there is nothing to export yet.");
    const Recommendation& rec = s->result.recommendation;
    switch (kind) {
    case Export::ConfigYaml: {
        QFile f(path);
        QString old;
        if (f.open(QIODevice::ReadOnly)) {
            const auto match = QRegularExpression(QStringLiteral("predict_concurrency:\\s*(\\S+)")).match(QString::fromUtf8(f.read(1 << 20)));
            old = match.hasMatch() ? match.captured(1) : tr("(not set)");
        }
        if (!QFileInfo::exists(path))
            return tr("Creates %1: a new Truss config.yaml with runtime.predict_concurrency: %2.").arg(path).arg(rec.predictConcurrency);
        return tr("Edits %1: runtime.predict_concurrency %2 → %3. Every other key, comment and line stays as it is.")
            .arg(path, old)
            .arg(rec.predictConcurrency);
    }
    case Export::Autoscaling: {
        const AutoscalingSettings as = settingsOf(rec, scenario().deployment);
        return tr("Writes %1 (%2): concurrency target %3, min replicas %4, max replicas %5, target utilization %6 %, autoscaling "
                  "window %7 s, scale-down delay %8 s.%9")
            .arg(path, knative(path) ? tr("a Knative Service") : tr("Baseten's autoscaling API body"))
            .arg(as.concurrencyTarget)
            .arg(as.minReplicas)
            .arg(as.maxReplicas)
            .arg(as.targetUtilizationPercent)
            .arg(as.autoscalingWindowS)
            .arg(as.scaleDownDelayS)
            .arg(replaces(path));
    }
    case Export::Csv:
        if (s->options.rateSweep())
            return tr("Writes %1: %2, one per rate, with p50/p95/p99 (ms), throughput served (req/s), completed, failed, rejected and "
                      "stable, then the rate asked, the rate sent, the requests in flight and whether the load generator fell behind.")
                       .arg(path, counted(qsizetype(s->result.levels.size()), tr("row"), tr("rows")))
                + replaces(path);
        return tr("Writes %1: %2, one per level, with users, p50/p95/p99 (ms), throughput (req/s), completed, failed, "
                  "rejected and stable.")
                   .arg(path, counted(qsizetype(s->result.levels.size()), tr("row"), tr("rows")))
            + replaces(path);
    case Export::Chart:
        return tr("Writes %1: the chart as %2, %3 × %4 pixels.%5")
            .arg(path, path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive) ? tr("an SVG drawing") : tr("a PNG image"))
            .arg(m_view->width())
            .arg(m_view->height())
            .arg(replaces(path));
    case Export::Twin: break; // above
    }
    return {};
}

QString SweepPage::exportConfigYaml(const QString& given)
{
    const SessionSweep* s = current();
    if (!s || s->result.recommendation.predictConcurrency < 1)
        return tr("Run a sweep first: there is nothing to export yet.");
    const QString path = given.isEmpty() ? choosePath(Export::ConfigYaml, QStringLiteral("config.yaml")) : given;
    if (path.isEmpty())
        return {};
    const int pc = s->result.recommendation.predictConcurrency;
    const std::string name = scenario().name;
    if (given.isEmpty()) {
        // Checked (read, edited, parsed back) before the preview: a file that cannot take it says so now.
        if (const TrussFileExport dry = exportIntoTrussConfig(path, pc, name, true); !dry.error.isEmpty())
            return sentence(dry.error);
        if (!confirm(tr("Write config.yaml"), exportPreview(Export::ConfigYaml, path)))
            return {};
    }
    // The same read, edit, check and write as `knee sweep --export`.
    const TrussFileExport e = exportIntoTrussConfig(path, pc, name);
    QString done = tr("Wrote runtime.predict_concurrency: %1 into %2").arg(pc).arg(path);
    if (!e.notes.empty())
        done = e.notes.front();
    return finishExport(done, e.error);
}

QString SweepPage::exportAutoscaling(const QString& given)
{
    const SessionSweep* s = current();
    if (!s || s->result.recommendation.concurrencyTarget < 1)
        return tr("Run a sweep with a usable level first: there is no concurrency target to export.");
    const QString path = given.isEmpty() ? choosePath(Export::Autoscaling, QStringLiteral("autoscaling.json")) : given;
    if (path.isEmpty())
        return {};
    if (given.isEmpty() && !confirm(tr("Export autoscaling settings"), exportPreview(Export::Autoscaling, path)))
        return {};
    const Scenario sc = scenario();
    const AutoscalingSettings as = settingsOf(s->result.recommendation, sc.deployment);
    const QByteArray bytes = QByteArray::fromStdString(knative(path) ? knativeServiceYaml(as, sc.name) : basetenAutoscalingJson(as));
    return finishExport(tr("Wrote concurrency target %1, replicas %2–%3 to %4").arg(as.concurrencyTarget).arg(as.minReplicas).arg(as.maxReplicas).arg(path),
                        writeOutputFile(path, bytes));
}

QString SweepPage::exportCsv(const QString& given)
{
    const SessionSweep* s = current();
    if (!s)
        return tr("Run a sweep first: there is nothing to export yet.");
    const QString path = given.isEmpty() ? choosePath(Export::Csv, QStringLiteral("sweep.csv")) : given;
    if (path.isEmpty())
        return {};
    if (given.isEmpty() && !confirm(tr("Export CSV"), exportPreview(Export::Csv, path)))
        return {};
    return finishExport(tr("Wrote %1 to %2").arg(counted(qsizetype(s->result.levels.size()), tr("level"), tr("levels")), path),
                        writeOutputFile(path, QByteArray::fromStdString(sweepPointsCsv(s->result))));
}

QString SweepPage::exportChart(const QString& given)
{
    const QString path = given.isEmpty() ? choosePath(Export::Chart, QStringLiteral("knee.png")) : given;
    if (path.isEmpty())
        return {};
    if (given.isEmpty() && !confirm(tr("Save chart"), exportPreview(Export::Chart, path)))
        return {};
    // Drawn into memory, then written like every other export.
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator svg; // vector output: the chart scales in documents and slides
        svg.setOutputDevice(&buffer);
        svg.setSize(m_view->size());
        svg.setViewBox(QRect(QPoint(0, 0), m_view->size()));
        svg.setTitle(m_chart->title());
        QPainter painter;
        if (!painter.begin(&svg))
            return tr("Cannot draw the chart");
        m_view->render(&painter);
        painter.end();
    } else if (!m_view->grab().save(&buffer, "PNG")) {
        return tr("Cannot draw the chart");
    }
    return finishExport(tr("Saved the chart to %1").arg(path), writeOutputFile(path, bytes));
}

QString SweepPage::saveTwin(const QString& given)
{
    if (!m_twinFit || !m_twinFit->ok())
        return tr("Make a twin first: there is none to save yet.");
    // Written as `knee fit` writes it, and checked to read back as the same scenario before anything is asked.
    const TwinFileText file = twinFileText(*m_twinFit);
    if (!file.error.isEmpty())
        return sentence(file.error);
    // The dialogs below run event loops: another fit may replace m_twinFit meanwhile. What is written,
    // and said, is the fit the user asked to save.
    const QString name = QString::fromStdString(m_twinFit->twin->name);
    const int fitsBefore = m_twinFits;
    const QString path = given.isEmpty() ? choosePath(Export::Twin, QStringLiteral("twin.yaml")) : given;
    if (path.isEmpty())
        return {};
    if (given.isEmpty() && !confirm(tr("Save twin"), exportPreview(Export::Twin, path)))
        return {};
    const QString done = tr("Saved %1 to %2").arg(name, path);
    const QString error = finishExport(done, writeOutputFile(path, file.text));
    if (error.isEmpty() && fitsBefore == m_twinFits)
        m_twinSavedTo = path;
    if (m_twinDialog)
        m_twinDialog->setStatus(error.isEmpty() ? done : error);
    return error;
}

} // namespace knee::ui
