// Model ▸ Calibrate: measures the chosen model profile on this machine (the GPU, or the CPU with a
// notice that a CPU is not what a GPU deployment does), with progress and Cancel, on a worker thread
// (knee::calibrateProfile needs an event loop on its thread, which a QThread gives). The result, a
// predict_table T(b, k), goes into the window's one scenario, so virtual runs and sweeps use it. *Check the
// table in use* asks whether the scenario's table still holds here (knee::checkTable, `knee calibrate --check`).
// Uses Q_SIGNALS/Q_SLOTS: its source includes the Qt-free predict headers (whose ReplicaConfig has a
// member named `slots`) and is compiled without Qt's keyword macros.
#pragma once
#include "sim/scenario.h"

#include <QDialog>

#include <atomic>
#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QCheckBox;
class QThread;

namespace knee {
struct PredictBackendInfo;
struct CalibrationResult;
struct TableCheck;
}

namespace knee::ui {

class CalibrationDialog : public QDialog {
    Q_OBJECT
public:
    // Measures on `backend` (the window's; it outlives the dialog).
    explicit CalibrationDialog(const PredictBackendInfo& backend, QWidget* parent = nullptr);
    ~CalibrationDialog() override;

    // Before showing: the profile the scenario names (else "small").
    void setProfile(const QString& profile);
    // Before showing: the scenario's own table and profile, which *Check* measures against (the button is
    // off without a table or a profile).
    void setTableInUse(const ServiceTable& table, const QString& profile);
    bool isRunning() const;
    QString statusText() const;
    const ServiceTable& table() const { return m_table; }
    QString profile() const; // the profile measured (or chosen)

    QComboBox* profileBox() const { return m_profile; }
    QLineEdit* batches() const { return m_batches; }
    QLineEdit* concurrency() const { return m_concurrency; }
    QCheckBox* overhead() const { return m_overhead; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* cancelButton() const { return m_cancel; }
    QPushButton* useButton() const { return m_use; }
    QPushButton* checkButton() const { return m_check; }
    int repeats = 20; // timed calls per caller and point (tests use fewer)

    // What a finished calibration says to the user: the device, the table's solo times, the live engine's
    // own cost, and a warning when the host disturbed every attempt of a live run (its cost is then doubtful).
    static QString describe(const CalibrationResult& r);
    // What the dialog shows when a calibration ends (the worker's result; tests pass their own).
    void showResult(const CalibrationResult& r, bool cancelled);
    // What a finished check says: holds or not, live ÷ virtual − 1 at each k, a busy host's warning.
    static QString describeCheck(const TableCheck& c, const QString& profile);
    void showCheck(const TableCheck& c);

public Q_SLOTS:
    void start();
    void cancel();
    void check();

Q_SIGNALS:
    void finished(bool ok);
    // A check (check()) ended: true where the table in use holds (a failed check is false).
    void checkFinished(bool holds);
    // Use the result: put this table (measured for this profile) into the scenario.
    void useTable(const knee::ServiceTable& table, const QString& profile);

private:
    void done();

    QComboBox* m_profile;
    QLineEdit* m_batches;
    QLineEdit* m_concurrency;
    QCheckBox* m_overhead;
    QLabel* m_device;
    QLabel* m_status;
    QProgressBar* m_progress;
    QPushButton *m_start, *m_cancel, *m_use, *m_check;
    QThread* m_thread = nullptr;
    const PredictBackendInfo& m_backend;
    std::shared_ptr<std::atomic<bool>> m_cancelFlag;
    ServiceTable m_table;
    QString m_measured;
    ServiceTable m_inUse; // the scenario's, for check()
    QString m_inUseProfile;
    bool m_useBeforeCheck = false; // Use's state when a check began, given back when it ends
    struct Outcome;
    std::shared_ptr<Outcome> m_outcome;
};

} // namespace knee::ui
