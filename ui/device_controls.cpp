#include "device_controls.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>

namespace knee::ui {

namespace {
QString devicesText(int n)
{
    if (n == 0)
        return DeviceControls::tr("One per replica");
    if (n == 1)
        return DeviceControls::tr("1, shared by all");
    return DeviceControls::tr("%1, shared").arg(n);
}

QString sharingText(DeviceSharing::Kind kind)
{
    switch (kind) {
    case DeviceSharing::Kind::Independent: return DeviceControls::tr("Independent");
    case DeviceSharing::Kind::Serial: return DeviceControls::tr("Serial (no speed-up)");
    case DeviceSharing::Kind::Speedup: return DeviceControls::tr("Speed-up curve");
    case DeviceSharing::Kind::Table: return DeviceControls::tr("As calibrated");
    }
    return {};
}
} // namespace

DeviceControls::DeviceControls(QWidget* parent)
    : QWidget(parent)
    , m_devices(new QComboBox(this))
    , m_sharing(new QComboBox(this))
    , m_note(new QLabel(this))
{
    for (int n : {0, 1, 2, 4, 8})
        m_devices->addItem(devicesText(n), n);
    m_devices->setToolTip(tr("deployment.devices: a GPU of its own for each replica (as on Baseten, RunPod and Knative with "
                             "GPUs), or N GPUs the replicas share, each new replica going to the GPU that holds the fewest "
                             "(what a local run on N GPUs does). Changing it restarts the run."));
    m_sharing->setToolTip(tr("model.predict_sharing: what calls in flight on one GPU do to each other. Independent: nothing "
                             "(predict waits on I/O). Serial: k calls each go at 1/k speed. As calibrated: the table Model ▸ "
                             "Calibrate measured at 1, 2, 4, … calls. Changing it restarts the run."));
    auto* form = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("&GPUs"), m_devices);
    form->addRow(tr("S&haring"), m_sharing);
    m_note->setObjectName(QStringLiteral("sharingNote"));
    m_note->setWordWrap(true);
    m_note->setTextFormat(Qt::PlainText);
    m_note->setEnabled(false); // read as a remark, in the palette's disabled text colour
    m_note->hide();
    form->addRow(m_note);
    connect(m_devices, &QComboBox::activated, this, [this] { Q_EMIT changed(); });
    connect(m_sharing, &QComboBox::activated, this, [this] {
        m_sharingChosen = true;
        Q_EMIT changed();
    });
}

void DeviceControls::showScenario(const Scenario& s)
{
    m_sharingChosen = false;
    const int n = s.deployment.devices;
    if (m_devices->findData(n) < 0) { // a count from the scenario file: in order among the others
        int at = 0;
        while (at < m_devices->count() && m_devices->itemData(at).toInt() < n)
            ++at;
        m_devices->insertItem(at, devicesText(n), n);
    }
    m_devices->setCurrentIndex(m_devices->findData(n));

    // The kinds this scenario can take: a curve or a table only where it has one.
    const DeviceSharing effective = s.model.effectiveSharing();
    m_sharing->clear();
    for (auto kind : {DeviceSharing::Kind::Independent, DeviceSharing::Kind::Serial, DeviceSharing::Kind::Speedup, DeviceSharing::Kind::Table}) {
        if (kind == DeviceSharing::Kind::Speedup && s.model.sharing.speedup.empty())
            continue;
        if (kind == DeviceSharing::Kind::Table && !s.model.predictTable.hasConcurrency())
            continue;
        m_sharing->addItem(sharingText(kind), int(kind));
    }
    m_sharing->setCurrentIndex(m_sharing->findData(int(effective.kind)));

    // The real model runs on this machine's own GPUs (or CPU): placement and sharing are what they do.
    const bool real = !s.model.profile.empty();
    m_devices->setEnabled(!real);
    m_sharing->setEnabled(!real);
    showNote(s);
}

void DeviceControls::showNote(const Scenario& s)
{
    const int n = s.deployment.devices;
    const bool real = !s.model.profile.empty();
    const DeviceSharing effective = s.model.effectiveSharing();
    // Replicas share GPUs but how calls share one is only assumed: say so where the choice is made
    // (the engine's words name the command line; these name the window's own ways).
    QString note;
    const DeploymentConfig& d = s.deployment;
    const bool rows = effective.kind == DeviceSharing::Kind::Table || effective.kind == DeviceSharing::Kind::Speedup;
    if (real)
        note = tr("The real model runs on this machine: its GPUs (or CPU) decide.");
    else if (rows && !s.model.sharingAssumption(d, n).empty()) {
        // Measured rows that stop short of this placement: with any placement (a predict_concurrency above the
        // rows needs no shared GPU).
        const int last = effective.kind == DeviceSharing::Kind::Table ? s.model.predictTable.concurrency.back() : int(effective.speedup.size());
        note = tr("Assumed: the measurement stops at %1 calls on a GPU and this placement can put %2 there; beyond %1 the GPU "
                  "counts as saturated.")
                   .arg(last)
                   .arg(s.model.maxCallsOnDevice(d, n));
        // A twin's rows come from its endpoint's sweep (one replica, up to its limit): Calibrate measures
        // knee's own models, not the endpoint.
        note += QLatin1Char(' ')
            + (s.twin ? tr("A twin's rows end at its replica's limit in the sweep.") : tr("Model ▸ Calibrate measures more calls."));
    } else if (n > 0 && !s.model.sharingAssumption(d, n).empty())
        note = s.model.predictTable.empty()
            ? tr("Assumed: calls on one GPU do not slow each other. Choose a sharing, or measure it with Model ▸ Calibrate.")
            : tr("Assumed: the table was measured with one call on the GPU, so calls share it with no speed-up. "
                 "Model ▸ Calibrate measures it.");
    m_note->setText(note);
    m_note->setVisible(!note.isEmpty());
}

QString DeviceControls::note() const { return m_note->isHidden() ? QString() : m_note->text(); }

void DeviceControls::applyTo(Scenario& s) const
{
    s.deployment.devices = m_devices->currentData().toInt();
    if (!m_sharingChosen || m_sharing->currentIndex() < 0)
        return; // what the scenario said (or left to its table)
    const auto kind = DeviceSharing::Kind(m_sharing->currentData().toInt());
    if (kind == s.model.effectiveSharing().kind && !s.model.sharing.given)
        return; // the same as it is derived: left unstated, so a later table still decides
    if (!s.model.sharing.given)
        s.model.sharing.order = s.model.effectiveSharing().order; // the table's measured order stays with the device
    s.model.sharing.kind = kind;
    s.model.sharing.given = true;
}

} // namespace knee::ui
