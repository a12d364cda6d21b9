#include "autoscaler_panel.h"

#include "live/live_engine_host.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

namespace knee::ui {

AutoscalerPanel::AutoscalerPanel(LiveEngineHost& host, QWidget* parent)
    : QWidget(parent)
    , m_host(host)
{
    setObjectName(QStringLiteral("autoscalerPanel"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* common = new QFormLayout();
    m_policy = new QComboBox(this);
    m_policy->addItem(tr("None (fixed replicas)"), int(AutoscalerConfig::Policy::None));
    m_policy->addItem(tr("Baseten"), int(AutoscalerConfig::Policy::Baseten));
    m_policy->addItem(tr("Knative (KPA)"), int(AutoscalerConfig::Policy::Knative));
    m_policy->setToolTip(tr("Baseten: when the average requests per active replica over the autoscaling window exceed "
                            "concurrency target × target utilization, replicas are added (up to max); excess replicas go "
                            "only after the scale-down delay.\nKnative: the same from a stable window, plus a panic window "
                            "that scales fast on a burst and never down while panicking."));
    common->addRow(tr("Poli&cy"), m_policy);
    m_utilization = spinRow(common, tr("Target &utilization"), {1, 100, 5}, tr(" %"),
                            tr("Target utilization: the share of the concurrency target the autoscaler aims for per replica (1–100 %)."));
    m_window = spinRow(common, tr("&Window"), {10, 3600, 10}, tr(" s"),
                       tr("Autoscaling window: how long the concurrency is averaged before deciding (10–3600 s)."));
    m_coldStart = spinRow(common, tr("C&old start"), {0, 3600, 5}, tr(" s"), tr("Cold start: how long a new replica loads its weights before it serves."));
    layout->addLayout(common);

    m_basetenOnly = new QWidget(this);
    auto* baseten = new QFormLayout(m_basetenOnly);
    baseten->setContentsMargins(0, 0, 0, 0);
    m_delay = spinRow(baseten, tr("Scale-down &delay"), {0, 3600, 30}, tr(" s"),
                      tr("Scale-down delay: excess replicas are removed only after traffic has stayed low this long, and kept "
                         "if it returns first (0–3600 s)."));
    layout->addWidget(m_basetenOnly);

    m_knativeOnly = new QWidget(this);
    auto* knative = new QFormLayout(m_knativeOnly);
    knative->setContentsMargins(0, 0, 0, 0);
    m_panicWindow = spinRow(knative, tr("Panic window"), {1, 100, 1}, tr(" %"), tr("Panic window, as a share of the stable window."));
    m_panicThreshold = spinRow(knative, tr("Panic threshold"), {110, 1000, 10}, tr(" %"),
                               tr("Panic when the panic window asks for this share of the ready replicas' capacity."));
    m_grace = spinRow(knative, tr("Scale-to-zero grace"), {0, 3600, 5}, tr(" s"),
                      tr("With min replicas 0: the last replica goes after this long without traffic."));
    layout->addWidget(m_knativeOnly);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setObjectName(QStringLiteral("autoscalerStatus"));
    layout->addWidget(m_status);
    m_decisions = new QListWidget(this);
    m_decisions->setObjectName(QStringLiteral("scalingDecisions"));
    m_decisions->setAccessibleName(tr("Scaling decisions"));
    m_decisions->setToolTip(tr("The autoscaler's newest decisions, with the reason for each"));
    m_decisions->setWordWrap(true);
    m_decisions->setMinimumHeight(110);
    layout->addWidget(m_decisions);

    connect(m_policy, &QComboBox::activated, this, &AutoscalerPanel::apply);
    for (QDoubleSpinBox* s : {m_utilization, m_window, m_delay, m_panicWindow, m_panicThreshold, m_grace})
        connect(s, &QDoubleSpinBox::valueChanged, this, &AutoscalerPanel::apply);
    connect(m_coldStart, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        if (!m_syncing)
            m_host.setColdStart(v);
    });
    syncFromHost();
}

QDoubleSpinBox* AutoscalerPanel::spinRow(QFormLayout* form, const QString& label, SpinRange range, const QString& suffix, const QString& tip)
{
    auto* s = new QDoubleSpinBox(this);
    s->setRange(range.min, range.max);
    s->setSingleStep(range.step);
    s->setDecimals(0);
    s->setSuffix(suffix);
    s->setToolTip(tip);
    s->setKeyboardTracking(false);
    form->addRow(label, s);
    return s;
}

void AutoscalerPanel::syncFromHost()
{
    m_syncing = true;
    const DeploymentConfig& d = m_host.scenario().deployment;
    const AutoscalerConfig& a = d.autoscaler;
    m_policy->setCurrentIndex(m_policy->findData(int(a.policy)));
    m_utilization->setValue(a.targetUtilization * 100);
    m_window->setValue(a.windowS);
    m_delay->setValue(a.scaleDownDelayS);
    m_coldStart->setValue(d.coldStartS);
    m_panicWindow->setValue(a.panicWindowPercent);
    m_panicThreshold->setValue(a.panicThresholdPercent);
    m_grace->setValue(a.scaleToZeroGraceS);
    const bool on = a.policy != AutoscalerConfig::Policy::None;
    for (QWidget* w : {static_cast<QWidget*>(m_utilization), static_cast<QWidget*>(m_window)})
        w->setEnabled(on);
    m_basetenOnly->setVisible(a.policy == AutoscalerConfig::Policy::Baseten);
    m_knativeOnly->setVisible(a.policy == AutoscalerConfig::Policy::Knative);
    m_syncing = false;
}

void AutoscalerPanel::apply()
{
    if (m_syncing)
        return;
    AutoscalerConfig a = m_host.scenario().deployment.autoscaler;
    a.policy = AutoscalerConfig::Policy(m_policy->currentData().toInt());
    a.targetUtilization = m_utilization->value() / 100;
    a.windowS = m_window->value();
    a.scaleDownDelayS = m_delay->value();
    a.panicWindowPercent = m_panicWindow->value();
    a.panicThresholdPercent = m_panicThreshold->value();
    a.scaleToZeroGraceS = m_grace->value();
    const std::string refusal = m_host.setAutoscaler(a);
    syncFromHost();
    if (!refusal.empty())
        m_status->setText(tr("Refused: %1").arg(QString::fromStdString(refusal)));
}

QString AutoscalerPanel::status() const { return m_status->text(); }

void AutoscalerPanel::showSnapshot(const LiveSnapshot& s)
{
    const AutoscalerConfig& a = m_host.scenario().deployment.autoscaler;
    if (a.policy == AutoscalerConfig::Policy::None)
        m_status->setText(tr("Replicas stay as set: min and max move them only to stay inside the bounds."));
    else
        m_status->setText(tr("Window average %1 requests in the deployment (%2 per replica aimed for)%3")
                              .arg(s.windowAverage, 0, 'f', 2)
                              .arg(s.engine.concurrencyTarget * a.targetUtilization, 0, 'f', 2)
                              .arg(s.panicking ? tr(" · PANIC mode") : QString()));
    if (s.scalingTotal == m_shownTotal)
        return;
    m_shownTotal = s.scalingTotal;
    m_decisions->clear();
    for (auto it = s.recentScaling.rbegin(); it != s.recentScaling.rend(); ++it) // newest first
        m_decisions->addItem(QStringLiteral("%1 s  %2  %3 → %4\n%5")
                                 .arg(nanosToSeconds(it->at), 0, 'f', 0)
                                 .arg(QString::fromLatin1(toString(it->action)))
                                 .arg(it->from)
                                 .arg(it->to)
                                 .arg(QString::fromStdString(it->reason)));
}

} // namespace knee::ui
