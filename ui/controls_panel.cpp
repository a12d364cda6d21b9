#include "controls_panel.h"

#include "knob_control.h"

#include "io/scenario_reader.h"
#include "live/backend_executor.h"
#include "live/live_engine_host.h"

#include <QComboBox>
#include <QFile>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QVBoxLayout>

namespace knee::ui {

namespace {
// Slider ranges: what a desk experiment needs; the spin boxes accept the same range.
constexpr int kMaxKnob = 256;
constexpr int kMaxReplicasUi = 32;
constexpr int kMaxRateUi = 20'000;
constexpr int kMaxUsersUi = 2048;
} // namespace

QList<Preset> builtInPresets()
{
    // The starting points of seed 000's table, one scenario each.
    return {
        {QObject::tr("Standard Truss model (target 1)"), QStringLiteral(":/presets/standard_truss.yaml")},
        {QObject::tr("vLLM / LLM inference (target 64)"), QStringLiteral(":/presets/vllm.yaml")},
        {QObject::tr("SGLang (target 32)"), QStringLiteral(":/presets/sglang.yaml")},
        {QObject::tr("Text embeddings, TEI (target 32)"), QStringLiteral(":/presets/tei.yaml")},
        {QObject::tr("BEI embeddings (target 96)"), QStringLiteral(":/presets/bei.yaml")},
        {QObject::tr("Whisper, async batch (target 256)"), QStringLiteral(":/presets/whisper.yaml")},
        {QObject::tr("Image generation, SDXL (target 1)"), QStringLiteral(":/presets/sdxl.yaml")},
    };
}

ControlsPanel::ControlsPanel(LiveEngineHost& host, QWidget* parent)
    : QWidget(parent)
    , m_host(host)
{
    auto* layout = new QVBoxLayout(this);

    m_preset = new QComboBox(this);
    m_preset->addItem(tr("(current scenario)"));
    for (const Preset& p : builtInPresets())
        m_preset->addItem(p.name, p.resource);
    m_preset->setToolTip(tr("Starting points from Baseten's table of model types. Choosing one restarts the run."));
    m_stage = new QComboBox(this);
    m_stage->addItem(tr("Predict: modelled times"), QString());
    for (const ModelProfileInfo& p : modelProfiles())
        m_stage->addItem(tr("Predict: real model %1 (%2 × %3, %4 MB)")
                             .arg(QString::fromStdString(p.name))
                             .arg(p.layers)
                             .arg(p.hidden)
                             .arg(double(p.bytes) / 1e6, 0, 'f', p.bytes < 10'000'000 ? 1 : 0),
                         QString::fromStdString(p.name));
    m_stage->setToolTip(tr("Modelled: predict takes the scenario's sampled times (or its calibrated table). Real model: "
                           "every predict call is a forward pass of a bf16 MLP of that size on the GPU (or the CPU when "
                           "there is none), and a replica's cold start is its weight upload. Changing it restarts the run."));
    auto* model = new QGroupBox(tr("Model"), this);
    auto* modelLayout = new QVBoxLayout(model);
    modelLayout->addWidget(m_preset);
    modelLayout->addWidget(m_stage);
    layout->addWidget(model);

    auto* deployment = new QGroupBox(tr("Deployment"), this);
    auto* d = new QVBoxLayout(deployment);
    m_target = new KnobControl(tr("Concurrency &target"), 1, kMaxKnob,
                               tr("The most requests one replica holds at once, from routing to response. When every "
                                  "replica holds this many, new requests wait in the deployment queue and the autoscaler "
                                  "adds a replica (up to max replicas)."),
                               deployment);
    m_predict = new KnobControl(tr("&Predict concurrency"), 1, kMaxKnob,
                                tr("predict_concurrency in the Truss config.yaml: how many requests may be inside the "
                                   "GPU-bound predict at once in one replica. Preprocess and postprocess run for every "
                                   "request the replica holds. Default 1."),
                                deployment);
    m_min = new KnobControl(tr("M&in replicas"), 0, kMaxReplicasUi,
                            tr("The autoscaler never goes below this many replicas. 0 means scale to zero: the next "
                               "request waits for a cold start."),
                            deployment);
    m_max = new KnobControl(tr("Ma&x replicas"), 1, kMaxReplicasUi,
                            tr("The autoscaler never goes above this many replicas, however long the queue."), deployment);
    for (auto* k : {m_target, m_predict, m_min, m_max})
        d->addWidget(k);
    layout->addWidget(deployment);

    auto* load = new QGroupBox(tr("Load"), this);
    auto* l = new QVBoxLayout(load);
    m_kind = new QComboBox(load);
    m_kind->addItem(tr("Open loop: Poisson arrivals"), int(ArrivalConfig::Kind::Poisson));
    m_kind->addItem(tr("Open loop: constant rate"), int(ArrivalConfig::Kind::Constant));
    m_kind->addItem(tr("Closed loop: N users"), int(ArrivalConfig::Kind::Closed));
    m_kind->setToolTip(tr("Open loop sends at a rate whatever the latency (like public traffic); closed loop keeps N "
                          "users who each wait for their response before sending again (like a benchmark client). "
                          "Changing the kind restarts the run."));
    l->addWidget(m_kind);
    m_rate = new KnobControl(tr("Arrival &rate (req/s)"), 1, kMaxRateUi,
                             tr("Requests sent per second (open loop). Latency counts from when a request was meant to "
                                "be sent, so a late client does not hide queueing."),
                             load);
    m_users = new KnobControl(tr("&Users"), 1, kMaxUsersUi,
                              tr("Concurrent users (closed loop): each sends, waits for the response, thinks, sends again."),
                              load);
    l->addWidget(m_rate);
    l->addWidget(m_users);
    layout->addWidget(load);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("knobMessage"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setAccessibleName(tr("Warnings"));
    layout->addWidget(m_message);

    connect(m_target, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setConcurrencyTarget(v)); });
    connect(m_predict, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setPredictConcurrency(v)); });
    connect(m_min, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setReplicaBounds(v, m_max->value())); });
    connect(m_max, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setReplicaBounds(m_min->value(), v)); });
    connect(m_rate, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setArrivalRate(v)); });
    connect(m_users, &KnobControl::valueChanged, this, [this](int v) { apply(m_host.setUsers(v)); });
    connect(m_kind, &QComboBox::activated, this, &ControlsPanel::changeTrafficKind);
    connect(m_preset, &QComboBox::activated, this, &ControlsPanel::choosePreset);
    connect(m_stage, &QComboBox::activated, this, &ControlsPanel::choosePredictStage);
    syncFromHost();
}

void ControlsPanel::apply(const std::string& refusal)
{
    m_refusal = QString::fromStdString(refusal);
    if (!refusal.empty())
        syncFromHost(); // the refused value springs back to what the engine runs
    updateMessage();
}

void ControlsPanel::syncFromHost()
{
    const Scenario& s = m_host.scenario();
    m_target->setValue(s.deployment.concurrencyTarget);
    m_predict->setValue(s.deployment.predictConcurrency);
    m_min->setValue(s.deployment.minReplicas);
    m_max->setValue(s.deployment.maxReplicas);
    const bool closed = s.workload.arrival.kind == ArrivalConfig::Kind::Closed;
    m_rate->setValue(int(std::lround(s.workload.arrival.rateRps)));
    m_users->setValue(std::max(1, s.workload.arrival.users));
    m_rate->setEnabled(s.workload.arrival.hasFixedRate()); // a shaped pattern has no single rate
    m_users->setEnabled(closed);
    m_kind->setCurrentIndex(m_kind->findData(int(s.workload.arrival.kind)));
    m_stage->setCurrentIndex(std::max(0, m_stage->findData(QString::fromStdString(s.model.profile))));
    updateMessage();
}

QString ControlsPanel::message() const { return m_message->text(); }

void ControlsPanel::updateMessage()
{
    const Scenario& s = m_host.scenario();
    QStringList lines;
    if (!m_refusal.isEmpty())
        lines << tr("Refused: %1.").arg(m_refusal);
    if (auto w = targetBelowPredictWarning(s.deployment.concurrencyTarget, s.deployment.predictConcurrency); !w.empty())
        lines << tr("Flagged: %1.").arg(QString::fromStdString(w));
    if (s.deployment.minReplicas == 0 && s.deployment.autoscaler.policy == AutoscalerConfig::Policy::None)
        lines << tr("Note: min replicas 0 scales to zero only with an autoscaler (choose one below); the run keeps its replicas.");
    m_message->setText(lines.join(QLatin1Char('\n')));
    m_message->setVisible(!lines.isEmpty());
    // Colour from the palette's own "negative" role is not in Qt 6.4: a fixed amber reads on light and dark.
    m_message->setStyleSheet(m_refusal.isEmpty() ? QStringLiteral("color: #c77c02;") : QStringLiteral("color: #d64545;"));
}

void ControlsPanel::changeTrafficKind(int index)
{
    Scenario s = m_host.scenario();
    const auto kind = ArrivalConfig::Kind(m_kind->itemData(index).toInt());
    if (kind == s.workload.arrival.kind)
        return;
    s.workload.arrival.kind = kind;
    if (kind == ArrivalConfig::Kind::Closed && s.workload.arrival.users < 1)
        s.workload.arrival.users = std::max(1, s.deployment.concurrencyTarget);
    if (kind != ArrivalConfig::Kind::Closed && !(s.workload.arrival.rateRps > 0))
        s.workload.arrival.rateRps = 10;
    m_refusal = QString::fromStdString(m_host.reset(s));
    syncFromHost();
    if (m_refusal.isEmpty())
        emit scenarioReplaced();
}

void ControlsPanel::choosePredictStage(int index)
{
    Scenario s = m_host.scenario();
    s.model.profile = m_stage->itemData(index).toString().toStdString();
    m_refusal = QString::fromStdString(m_host.reset(s));
    syncFromHost();
    if (m_refusal.isEmpty())
        Q_EMIT scenarioReplaced();
}

void ControlsPanel::choosePreset(int index)
{
    const QString resource = m_preset->itemData(index).toString();
    if (resource.isEmpty())
        return;
    QFile f(resource);
    if (!f.open(QIODevice::ReadOnly))
        return;
    const ScenarioReadResult read = readScenarioText(f.readAll().toStdString(), resource.toStdString());
    if (!read.ok()) { // a built-in preset that does not read is a bug; say so rather than crash
        m_refusal = QString::fromStdString(read.errors.front().toString());
        updateMessage();
        return;
    }
    m_refusal = QString::fromStdString(m_host.reset(*read.scenario));
    syncFromHost();
    if (m_refusal.isEmpty())
        emit scenarioReplaced();
}

} // namespace knee::ui
