#include "calibration_dialog.h"

#include "live/backend_executor.h"
#include "live/calibration_run.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QPointer>
#include <QThread>
#include <QVBoxLayout>

#include <cmath>
#include <optional>

namespace knee::ui {

struct CalibrationDialog::Outcome {
    CalibrationResult result;
    std::optional<TableCheck> check; // set: the thread ran check(), not start()
};

namespace {
std::vector<int> numbers(const QString& text, bool& ok)
{
    std::vector<int> out;
    ok = true;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool one = false;
        const int v = part.trimmed().toInt(&one);
        if (!one || v < 1 || v > 4096 || (!out.empty() && v <= out.back())) {
            ok = false;
            return {};
        }
        out.push_back(v);
    }
    ok = !out.empty() && out.front() == 1;
    return out;
}
} // namespace

CalibrationDialog::CalibrationDialog(const PredictBackendInfo& backend, QWidget* parent)
    : QDialog(parent)
    , m_backend(backend)
    , m_cancelFlag(std::make_shared<std::atomic<bool>>(false))
{
    setObjectName(QStringLiteral("calibrationDialog"));
    setWindowTitle(tr("Calibrate the model on this machine"));
    m_profile = new QComboBox(this);
    for (const ModelProfileInfo& p : modelProfiles())
        m_profile->addItem(QStringLiteral("%1 (%2 × %3)").arg(QString::fromStdString(p.name)).arg(p.layers).arg(p.hidden),
                           QString::fromStdString(p.name));
    m_batches = new QLineEdit(QStringLiteral("1, 2, 4, 8, 16, 32"), this);
    m_batches->setToolTip(tr("Batch sizes to time, from 1, increasing"));
    m_concurrency = new QLineEdit(QStringLiteral("1, 2, 4"), this);
    m_concurrency->setToolTip(tr("Calls in flight on one device to time, from 1, increasing: how calls share the device"));
    m_overhead = new QCheckBox(tr("Also measure the live engine's own cost per call, after the device idled and, on a GPU, by calls in flight (11 to 23 s)"), this);
    m_overhead->setChecked(true);
    m_device = new QLabel(this);
    m_device->setWordWrap(true);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("calibrationStatus"));
    m_status->setWordWrap(true);
    m_progress = new QProgressBar(this);
    m_start = new QPushButton(tr("&Measure"), this);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_use = new QPushButton(tr("&Use in the scenario"), this);
    m_use->setEnabled(false);
    m_use->setToolTip(tr("Put the measured table into the scenario (model.predict_table) with this profile: virtual runs and "
                         "sweeps then time predict from it"));
    m_check = new QPushButton(tr("C&heck the table in use"), this);
    m_check->setEnabled(false); // setTableInUse says why, in its tooltip
    auto* form = new QFormLayout();
    form->addRow(tr("Profile"), m_profile);
    form->addRow(tr("Batch sizes"), m_batches);
    form->addRow(tr("Calls in flight"), m_concurrency);
    auto* buttons = new QDialogButtonBox(this);
    buttons->addButton(m_start, QDialogButtonBox::ActionRole);
    buttons->addButton(m_cancel, QDialogButtonBox::ActionRole);
    buttons->addButton(m_check, QDialogButtonBox::ActionRole);
    buttons->addButton(m_use, QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Close);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_device);
    layout->addLayout(form);
    layout->addWidget(m_overhead);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    connect(m_start, &QPushButton::clicked, this, &CalibrationDialog::start);
    connect(m_cancel, &QPushButton::clicked, this, &CalibrationDialog::cancel);
    connect(m_check, &QPushButton::clicked, this, &CalibrationDialog::check);
    connect(m_use, &QPushButton::clicked, this, [this] {
        Q_EMIT useTable(m_table, m_measured);
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

CalibrationDialog::~CalibrationDialog()
{
    if (m_thread) {
        m_cancelFlag->store(true);
        m_thread->wait();
    }
}

void CalibrationDialog::setProfile(const QString& profile)
{
    const int i = m_profile->findData(profile.isEmpty() ? QStringLiteral("small") : profile);
    m_profile->setCurrentIndex(std::max(0, i));
    const PredictBackendInfo& backend = m_backend;
    m_device->setText(backend.gpu ? tr("Measures on %1.").arg(QString::fromStdString(backend.shortName))
                                  : tr("No usable GPU: this measures %1. A CPU is not what a GPU deployment does; use the table "
                                       "to compare settings on this machine, or calibrate on the GPU you deploy to.")
                                        .arg(QString::fromStdString(backend.shortName)));
}

void CalibrationDialog::setTableInUse(const ServiceTable& table, const QString& profile)
{
    m_inUse = table;
    m_inUseProfile = profile;
    m_check->setEnabled(!m_thread && !table.empty() && !profile.isEmpty());
    if (table.empty())
        m_check->setToolTip(tr("The scenario has no predict_table to check: measure one, or open a scenario that has one"));
    else if (profile.isEmpty())
        m_check->setToolTip(tr("The scenario's table names no model profile (its predict stage is modelled): choose the "
                               "model it was measured for, then check"));
    else
        m_check->setToolTip(tr("Measure nothing new: run the live engine as the calibration's queue runs did (about 3 s at each "
                               "number of calls in flight the '%1' table has) and compare each with virtual time on that table")
                                .arg(profile));
}

bool CalibrationDialog::isRunning() const { return m_thread != nullptr; }
QString CalibrationDialog::statusText() const { return m_status->text(); }

QString CalibrationDialog::describe(const CalibrationResult& r)
{
    QStringList row;
    for (std::size_t i = 0; i < r.table.batch.size(); ++i)
        row << tr("batch %1: %2 ms").arg(r.table.batch[i]).arg(r.table.ms[i], 0, 'f', 3);
    QString cost;
    if (r.table.overheadMs > 0)
        cost = tr("; the live engine's own cost %1 ms per call").arg(r.table.overheadMs, 0, 'f', 3);
    if (r.table.engineThreadMs > 0) // charged where replicas share this machine's devices, as a live run's do
        cost += (cost.isEmpty() ? tr("; the live engine's thread busy %1 ms per call") : tr(", its one thread busy %1 ms per call"))
                    .arg(r.table.engineThreadMs, 0, 'f', 3);
    // The same costs with more calls in flight (ServiceTable::overheadSharedMs), when they were measured.
    if (!r.table.overheadSharedMs.empty() && r.table.overheadSharedMs.size() == r.table.concurrency.size()) {
        QStringList k, overhead, thread;
        for (std::size_t j = 0; j < r.table.concurrency.size(); ++j) {
            k << QString::number(r.table.concurrency[j]);
            overhead << QString::number(r.table.overheadSharedMs[j], 'f', 3);
            if (j < r.table.engineThreadSharedMs.size())
                thread << QString::number(r.table.engineThreadSharedMs[j], 'f', 3);
        }
        cost += tr("; with %1 calls in flight, cost %2 ms").arg(k.join(QStringLiteral(" / ")), overhead.join(QStringLiteral(" / ")));
        if (thread.size() == k.size())
            cost += tr(" and thread %1 ms").arg(thread.join(QStringLiteral(" / ")));
        cost += tr(" per call");
    }
    // The idle wake-up's spread (ServiceTable::idleJitterMs): what a batch after the batcher's delay, or a lone
    // request, pays beyond the idle curve's mean.
    constexpr std::size_t p95 = knee::ServiceTable::kP95;
    if (r.table.idleJitterMs.size() == std::size(knee::ServiceTable::kVariationQuantiles) && r.table.idleJitterMs[p95] > 0)
        cost += tr("; after an idle gap of %1 ms or more a call ends up to %2 ms later than its mean (p95)")
                    .arg(r.table.idleJitterFromMs, 0, 'g', 3)
                    .arg(r.table.idleJitterMs[p95], 0, 'f', 3);
    // How late the asleep engine thread takes a send of its own timer (ServiceTable::engineThreadWakeMs):
    // what an open-loop request waits before it enters.
    if (r.table.engineThreadWakeMs.size() == std::size(knee::ServiceTable::kVariationQuantiles))
        cost += tr("; an open-loop request waits %1 ms (median) to %2 ms (p95) for the engine's thread to wake")
                    .arg(r.table.engineThreadWakeMs[knee::ServiceTable::kP50], 0, 'f', 3)
                    .arg(r.table.engineThreadWakeMs[p95], 0, 'f', 3);
    QString text = tr("Measured on %1: %2%3. Use it to time predict from this table.")
                       .arg(QString::fromStdString(r.deviceName.empty() ? r.backendKind : r.deviceName), row.join(QStringLiteral(", ")), cost);
    if (!r.hostNotice.empty()) // the command line says it on stderr; here it must not hide behind a success
        text += QStringLiteral("\n") + tr("Warning: %1").arg(QString::fromStdString(r.hostNotice));
    return text;
}
QString CalibrationDialog::describeCheck(const TableCheck& c, const QString& profile)
{
    if (c.error == "cancelled")
        return tr("Check cancelled.");
    if (!c.error.empty())
        return tr("Check failed: %1").arg(QString::fromStdString(c.error));
    const TableCheckPoint* worst = c.worst();
    if (!worst)
        return tr("Check failed: nothing was measured");
    const auto signedPct = [](double x) { // to a tenth of a point; what rounds to 0 has no sign
        const double pct = std::round(1000 * x) / 10 + 0.0;
        return QStringLiteral("%1%2 %").arg(pct > 0 ? QStringLiteral("+") : QString()).arg(pct == 0 ? 0.0 : pct, 0, 'f', 1);
    };
    QStringList k, errors, device;
    for (const TableCheckPoint& p : c.points) {
        k << QString::number(p.concurrency);
        errors << signedPct(p.error());
        device << signedPct(p.deviceSlowness);
    }
    QString byK = tr("live against virtual time at %1 calls in flight: %2").arg(k.join(QStringLiteral(" / ")), errors.join(QStringLiteral(" / ")));
    if (c.deviceChecked) // on a GPU: did the device move, or the rest of the chain?
        byK += tr(" (the device's own time per call against the table's: %1)").arg(device.join(QStringLiteral(" / ")));
    QString text = c.holds(kTableCheckTolerancePct)
        ? tr("The '%1' table in use holds here: %2 (within %3 %).").arg(profile, byK).arg(kTableCheckTolerancePct)
        : tr("The '%1' table in use no longer holds here: %2; at %3 in flight %4, beyond %5 %. Measure again and use the new table.")
              .arg(profile, byK)
              .arg(worst->concurrency)
              .arg(signedPct(worst->error()))
              .arg(kTableCheckTolerancePct);
    if (!c.hostNotice.empty())
        text += QStringLiteral("\n") + tr("Warning: %1").arg(QString::fromStdString(c.hostNotice));
    return text;
}

void CalibrationDialog::check()
{
    if (m_thread || m_inUse.empty() || m_inUseProfile.isEmpty())
        return;
    auto outcome = std::make_shared<Outcome>();
    m_outcome = outcome;
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    m_start->setEnabled(false);
    m_check->setEnabled(false);
    m_useBeforeCheck = m_use->isEnabled();
    m_use->setEnabled(false); // the scenario's table must not change under its own check
    m_cancel->setEnabled(true); // stops before the next live run (each takes seconds)
    m_progress->setRange(0, 0);
    m_status->setText(tr("Checking the '%1' table in use: the live engine at each number of calls in flight…").arg(m_inUseProfile));
    m_thread = QThread::create([table = m_inUse, profile = m_inUseProfile.toStdString(), outcome, flag = m_cancelFlag, backend = &m_backend] {
        outcome->check = checkTable(profile, table, *backend, flag.get());
    });
    m_thread->setObjectName(QStringLiteral("knee-calibrate-check"));
    connect(m_thread, &QThread::finished, this, &CalibrationDialog::done);
    m_thread->start();
}

void CalibrationDialog::showCheck(const TableCheck& c)
{
    const bool ok = c.error.empty() && c.worst();
    m_progress->setRange(0, 1);
    m_progress->setValue(ok ? 1 : 0);
    m_status->setText(describeCheck(c, m_inUseProfile));
    if (const int h = hasHeightForWidth() ? heightForWidth(width()) : sizeHint().height(); h > height())
        resize(width(), h);
    Q_EMIT checkFinished(ok && c.holds(kTableCheckTolerancePct));
}

QString CalibrationDialog::profile() const { return m_measured.isEmpty() ? m_profile->currentData().toString() : m_measured; }

void CalibrationDialog::start()
{
    if (m_thread)
        return;
    bool okBatches = false, okConcurrency = false;
    CalibrationRequest request;
    request.profile = m_profile->currentData().toString().toStdString();
    request.sharing.batches = numbers(m_batches->text(), okBatches);
    request.sharing.concurrency = numbers(m_concurrency->text(), okConcurrency);
    if (!okBatches || !okConcurrency) {
        m_status->setText(tr("Batch sizes and calls in flight are whole numbers from 1 to 4096, increasing, starting at 1."));
        return;
    }
    request.sharing.repeats = repeats;
    request.measureOverhead = m_overhead->isChecked();
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    const auto flag = m_cancelFlag;
    QPointer<CalibrationDialog> self(this);
    request.sharing.progress = [flag, self](int done, int total) {
        QMetaObject::invokeMethod(self, [self, done, total] {
            if (!self)
                return;
            self->m_progress->setRange(0, total);
            self->m_progress->setValue(done);
            if (!self->m_cancelFlag->load())
                self->m_status->setText(tr("%1 of %2 measurements (each point until two agree)…").arg(done).arg(total));
        });
        return !flag->load();
    };
    auto outcome = std::make_shared<Outcome>();
    m_outcome = outcome;
    m_use->setEnabled(false);
    m_start->setEnabled(false);
    m_check->setEnabled(false);
    m_cancel->setEnabled(true);
    m_progress->setRange(0, 0); // busy until the first point
    m_status->setText(tr("Building the %1 model and its replica…").arg(m_profile->currentData().toString()));
    // A QThread of its own: calibrateProfile runs a short live engine, which needs an event loop here.
    m_thread = QThread::create([request, outcome, backend = &m_backend] { outcome->result = calibrateProfile(request, *backend); });
    m_thread->setObjectName(QStringLiteral("knee-calibrate"));
    connect(m_thread, &QThread::finished, this, &CalibrationDialog::done);
    m_thread->start();
}

void CalibrationDialog::cancel()
{
    if (!m_thread)
        return;
    m_cancelFlag->store(true);
    m_cancel->setEnabled(false);
    m_status->setText(tr("Cancelling… (after the measurement under way)"));
}

void CalibrationDialog::done()
{
    m_thread->deleteLater();
    m_thread = nullptr;
    m_start->setEnabled(true);
    m_cancel->setEnabled(false);
    m_check->setEnabled(!m_inUse.empty() && !m_inUseProfile.isEmpty());
    if (m_outcome->check) {
        m_use->setEnabled(m_useBeforeCheck); // as before the check: a calibration's table may still be there to use
        showCheck(*m_outcome->check);
    } else {
        showResult(m_outcome->result, m_cancelFlag->load());
    }
}

void CalibrationDialog::showResult(const CalibrationResult& r, bool cancelled)
{
    const bool ok = r.error.empty() && !cancelled;
    m_progress->setRange(0, 1);
    m_progress->setValue(ok ? 1 : 0);
    if (!ok) {
        m_status->setText(cancelled ? tr("Cancelled: nothing measured is used.")
                                    : tr("Calibration failed: %1").arg(QString::fromStdString(r.error)));
    } else {
        m_table = r.table;
        m_measured = QString::fromStdString(r.profile);
        m_status->setText(describe(r));
    }
    m_use->setEnabled(ok);
    // The result's line wraps over several lines: grow the dialog to show it whole (a layout does not
    // grow a shown window by itself).
    if (const int h = hasHeightForWidth() ? heightForWidth(width()) : sizeHint().height(); h > height())
        resize(width(), h);
    Q_EMIT finished(ok);
}

} // namespace knee::ui
