#include "controls_panel.h"

#include "device_controls.h"
#include "knob_control.h"

#include "io/scenario_reader.h"
#include "live/backend_executor.h"
#include "live/live_engine_host.h"

#include <QStringList>

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
    m_devices = new DeviceControls(deployment);
    d->addWidget(m_devices);
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
    m_pattern = new QLabel(load);
    m_pattern->setObjectName(QStringLiteral("loadPattern"));
    m_pattern->setWordWrap(true);
    m_pattern->setTextFormat(Qt::PlainText);
    l->addWidget(m_pattern);
    layout->addWidget(load);

    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("knobMessage"));
    m_message->setWordWrap(true);
    m_message->setTextFormat(Qt::PlainText);
    m_message->setAccessibleName(tr("Warnings"));
    layout->addWidget(m_message);

    connect(m_target, &KnobControl::valueChanged, this, [this](int v) { move(Target, v); });
    connect(m_predict, &KnobControl::valueChanged, this, [this](int v) { move(Predict, v); });
    connect(m_min, &KnobControl::valueChanged, this, [this](int v) { move(Min, v); });
    connect(m_max, &KnobControl::valueChanged, this, [this](int v) { move(Max, v); });
    connect(m_rate, &KnobControl::valueChanged, this, [this](int v) { move(Rate, v); });
    connect(m_users, &KnobControl::valueChanged, this, [this](int v) { move(Users, v); });
    connect(m_kind, &QComboBox::activated, this, &ControlsPanel::changeTrafficKind);
    connect(m_preset, &QComboBox::activated, this, &ControlsPanel::choosePreset);
    connect(m_stage, &QComboBox::activated, this, &ControlsPanel::choosePredictStage);
    connect(m_devices, &DeviceControls::changed, this, &ControlsPanel::chooseDevices);
    showScenario(m_host.scenario());
}

void KnobValues::applyTo(Scenario& s) const
{
    s.deployment.concurrencyTarget = concurrencyTarget;
    s.deployment.predictConcurrency = predictConcurrency;
    s.deployment.minReplicas = minReplicas;
    s.deployment.maxReplicas = maxReplicas;
    if (s.workload.arrival.hasFixedRate())
        s.workload.arrival.rateRps = rateRps;
    if (s.workload.arrival.kind == ArrivalConfig::Kind::Closed)
        s.workload.arrival.users = users;
}

void ControlsPanel::setScenarioAccess(Provider current, Replacer replace)
{
    m_current = std::move(current);
    m_replace = std::move(replace);
}

Scenario ControlsPanel::current() const
{
    if (m_current)
        return m_current();
    Scenario s = m_host.scenario();
    knobs().applyTo(s);
    return s;
}

KnobControl* ControlsPanel::control(Knob knob) const
{
    switch (knob) {
    case Target: return m_target;
    case Predict: return m_predict;
    case Min: return m_min;
    case Max: return m_max;
    case Rate: return m_rate;
    case Users: return m_users;
    case KnobCount: break;
    }
    return nullptr;
}

KnobValues ControlsPanel::knobs() const
{
    auto value = [this](Knob k) { return m_pending[k] ? m_pending[k]->value : m_engine[k]; };
    KnobValues v;
    v.concurrencyTarget = int(value(Target));
    v.predictConcurrency = int(value(Predict));
    v.minReplicas = int(value(Min));
    v.maxReplicas = int(value(Max));
    v.rateRps = value(Rate);
    v.users = int(value(Users));
    return v;
}

void ControlsPanel::move(Knob knob, int v)
{
    std::string refusal;
    switch (knob) {
    case Target: refusal = m_host.setConcurrencyTarget(v); break;
    case Predict: refusal = m_host.setPredictConcurrency(v); break;
    case Min: refusal = m_host.setReplicaBounds(v, knobs().maxReplicas); break;
    case Max: refusal = m_host.setReplicaBounds(knobs().minReplicas, v); break;
    case Rate: refusal = m_host.setArrivalRate(v); break;
    case Users: refusal = m_host.setUsers(v); break;
    case KnobCount: break;
    }
    if (refusal.empty()) {
        m_pending[knob] = Pending{double(v), {}};
        m_pending[knob]->since.start();
    }
    apply(refusal);
}

std::string ControlsPanel::applyKnobs(const KnobValues& v)
{
    const Scenario s = current();
    std::string refusal = m_host.setReplicaBounds(v.minReplicas, v.maxReplicas);
    if (refusal.empty()) {
        for (auto [k, value] : {std::pair{Min, v.minReplicas}, std::pair{Max, v.maxReplicas}}) {
            m_pending[k] = Pending{double(value), {}};
            m_pending[k]->since.start();
        }
    }
    auto one = [&](Knob k, double value, const std::string& e) {
        if (!e.empty()) {
            if (refusal.empty())
                refusal = e;
            return;
        }
        m_pending[k] = Pending{value, {}};
        m_pending[k]->since.start();
    };
    one(Predict, v.predictConcurrency, m_host.setPredictConcurrency(v.predictConcurrency));
    one(Target, v.concurrencyTarget, m_host.setConcurrencyTarget(v.concurrencyTarget));
    if (s.workload.arrival.kind == ArrivalConfig::Kind::Closed)
        one(Users, v.users, m_host.setUsers(v.users));
    else if (s.workload.arrival.hasFixedRate())
        one(Rate, v.rateRps, m_host.setArrivalRate(v.rateRps));
    apply(refusal);
    showKnobs();
    return refusal;
}

void ControlsPanel::apply(const std::string& refusal)
{
    m_refusal = QString::fromStdString(refusal);
    if (!refusal.empty())
        showKnobs(); // the refused value springs back to what the engine runs
    updateMessage();
}

void ControlsPanel::showScenario(const Scenario& s)
{
    const std::array<double, KnobCount> values = {double(s.deployment.concurrencyTarget), double(s.deployment.predictConcurrency),
                                                  double(s.deployment.minReplicas),       double(s.deployment.maxReplicas),
                                                  s.workload.arrival.rateRps,             double(std::max(1, s.workload.arrival.users))};
    // Until the new engine publishes, snapshots still come from the old one: its knobs must not show.
    for (int k = 0; k < KnobCount; ++k) {
        m_engine[std::size_t(k)] = values[std::size_t(k)];
        m_pending[std::size_t(k)] = Pending{values[std::size_t(k)], {}};
        m_pending[std::size_t(k)]->since.start();
    }
    m_refusal.clear();
    const bool closed = s.workload.arrival.kind == ArrivalConfig::Kind::Closed;
    m_rate->setEnabled(s.workload.arrival.hasFixedRate()); // a shaped pattern has no single rate
    m_users->setEnabled(closed);
    m_rate->setVisible(!closed);
    m_users->setVisible(closed);
    const int kind = m_kind->findData(int(s.workload.arrival.kind));
    if (kind < 0) { // step, spike, diurnal, trace: not one of the three the box offers
        m_kind->setCurrentIndex(-1);
        m_kind->setPlaceholderText(tr("Pattern from the scenario file: %1").arg(QString::fromLatin1(toString(s.workload.arrival.kind))));
    } else {
        m_kind->setCurrentIndex(kind);
    }
    m_pattern->setText(arrivalPatternText(s.workload.arrival));
    m_pattern->setVisible(!m_pattern->text().isEmpty());
    m_stage->setCurrentIndex(std::max(0, m_stage->findData(QString::fromStdString(s.model.profile))));
    m_devices->showScenario(s);
    showKnobs();
    updateMessage();
}

void ControlsPanel::showSnapshot(const LiveSnapshot& snap)
{
    const EngineSnapshot& e = snap.engine;
    const std::array<double, KnobCount> values = {double(e.concurrencyTarget), double(e.predictConcurrency), double(e.minReplicas),
                                                  double(e.maxReplicas),       e.rateRps,                    double(e.users)};
    bool changed = false;
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (m_pending[k] && (m_pending[k]->value == values[k] || m_pending[k]->since.elapsed() > kPendingMs))
            m_pending[k].reset(); // the engine shows it (or a timed change overtook it)
        if (m_engine[k] != values[k]) {
            m_engine[k] = values[k];
            changed = true;
        }
    }
    if (changed)
        showKnobs();
}

void ControlsPanel::showKnobs()
{
    const KnobValues v = knobs();
    // A knob the user is dragging right now keeps still under the mouse.
    auto show = [](KnobControl* k, int value) {
        if (!k->isDragging())
            k->setValue(value);
    };
    show(m_target, v.concurrencyTarget);
    show(m_predict, v.predictConcurrency);
    show(m_min, v.minReplicas);
    show(m_max, v.maxReplicas);
    show(m_rate, int(std::lround(v.rateRps)));
    show(m_users, std::max(1, v.users));
    updateMessage();
}

QString ControlsPanel::message() const { return m_message->text(); }
QString ControlsPanel::loadPattern() const { return m_pattern->text(); }

void ControlsPanel::updateMessage()
{
    const KnobValues v = knobs();
    // A knob's move can take the placement past the device's measured rows. Only when those knobs moved:
    // current() copies the whole scenario (a trace's arrivals too).
    if (const std::array<int, 3> placement {v.predictConcurrency, v.maxReplicas, v.concurrencyTarget}; placement != m_noteKnobs) {
        m_noteKnobs = placement;
        m_devices->showNote(current());
    }
    QStringList lines;
    if (!m_refusal.isEmpty())
        lines << tr("Refused: %1.").arg(m_refusal);
    if (auto w = targetBelowPredictWarning(v.concurrencyTarget, v.predictConcurrency); !w.empty())
        lines << tr("Flagged: %1.").arg(QString::fromStdString(w));
    if (v.minReplicas == 0 && m_host.scenario().deployment.autoscaler.policy == AutoscalerConfig::Policy::None)
        lines << tr("Note: min replicas 0 scales to zero only with an autoscaler (choose one below); the run keeps its replicas.");
    m_message->setText(lines.join(QLatin1Char('\n')));
    m_message->setVisible(!lines.isEmpty());
    // Colour from the palette's own "negative" role is not in Qt 6.4: a fixed amber reads on light and dark.
    m_message->setStyleSheet(m_refusal.isEmpty() ? QStringLiteral("color: #c77c02;") : QStringLiteral("color: #d64545;"));
}

void ControlsPanel::replace(const Scenario& s, const QString& name)
{
    const std::string refusal = m_replace ? m_replace(s, name) : m_host.reset(s);
    if (!refusal.empty()) {
        m_refusal = QString::fromStdString(refusal);
        showScenario(current()); // the boxes go back to what runs
        m_refusal = QString::fromStdString(refusal);
        updateMessage();
        return;
    }
    if (!m_replace)
        showScenario(s);
    emit scenarioReplaced();
}

void ControlsPanel::changeTrafficKind(int index)
{
    Scenario s = current();
    const auto kind = ArrivalConfig::Kind(m_kind->itemData(index).toInt());
    if (kind == s.workload.arrival.kind)
        return;
    s.workload.arrival.kind = kind;
    if (kind == ArrivalConfig::Kind::Closed && s.workload.arrival.users < 1)
        s.workload.arrival.users = std::max(1, s.deployment.concurrencyTarget);
    if (kind != ArrivalConfig::Kind::Closed && !(s.workload.arrival.rateRps > 0))
        s.workload.arrival.rateRps = 10;
    replace(s, {});
}

void ControlsPanel::choosePredictStage(int index)
{
    Scenario s = current();
    s.model.profile = m_stage->itemData(index).toString().toStdString();
    replace(s, {});
}

void ControlsPanel::chooseDevices()
{
    Scenario s = current();
    m_devices->applyTo(s);
    replace(s, {});
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
    replace(*read.scenario, tr("preset: %1").arg(m_preset->itemText(index)));
}

QString arrivalPatternText(const ArrivalConfig& a)
{
    // Rates to 4 significant digits, times to 6 (a step at 3600 s stays 3600, not 3.6e+03).
    auto rps = [](double v) { return QString::number(v, 'g', 4); };
    auto seconds = [](double v) { return QString::number(v, 'g', 6); };
    switch (a.kind) {
    case ArrivalConfig::Kind::Step: {
        QStringList steps;
        for (const RateStep& s : a.steps)
            steps << QObject::tr("%1 req/s from %2 s").arg(rps(s.rateRps), seconds(s.atS));
        return QObject::tr("Arrivals step (set in the scenario file): %1 req/s, then %2.").arg(rps(a.rateRps), steps.join(QStringLiteral(", ")));
    }
    case ArrivalConfig::Kind::Spike:
        return QObject::tr("Arrivals %1 req/s with a spike to %2 req/s at %3 s for %4 s (set in the scenario file).")
            .arg(rps(a.rateRps), rps(a.spikeRps), seconds(a.spikeAtS), seconds(a.spikeDurationS));
    case ArrivalConfig::Kind::Diurnal:
        return QObject::tr("Arrivals follow a day: %1 to %2 req/s, peak at %3 s of a %4 s period (set in the scenario file).")
            .arg(rps(a.baselineRps), rps(a.peakRps), seconds(a.peakAtS), seconds(a.periodS));
    case ArrivalConfig::Kind::Trace:
        return QObject::tr("Arrivals replay %1 recorded send times from %2.")
            .arg(a.trace.size())
            .arg(QString::fromStdString(a.traceFile));
    case ArrivalConfig::Kind::Poisson:
    case ArrivalConfig::Kind::Constant:
    case ArrivalConfig::Kind::Closed: break;
    }
    return {};
}

} // namespace knee::ui
