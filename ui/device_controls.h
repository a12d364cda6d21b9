// Where the replicas run and how calls share a GPU: a GPU per replica or N GPUs they share
// (deployment.devices), and what calls in flight on one GPU do to each other (model.predict_sharing).
// Neither is a knob the engine moves while it runs: a choice restarts the run, like a preset.
#pragma once
#include "sim/scenario.h"

#include <QWidget>

class QComboBox;
class QLabel;

namespace knee::ui {

class DeviceControls : public QWidget {
    Q_OBJECT
public:
    explicit DeviceControls(QWidget* parent = nullptr);

    // The boxes show what `s` says (a GPU count or a sharing the lists lack is added to them).
    void showScenario(const Scenario& s);
    // Only the note, for knob moves (predict_concurrency, replica bounds) that change what the placement can
    // put on a device.
    void showNote(const Scenario& s);
    // The boxes' values into `s`: devices, and the sharing (stated) if the user chose one.
    void applyTo(Scenario& s) const;

    QComboBox* devices() const { return m_devices; }
    QComboBox* sharing() const { return m_sharing; }
    QString note() const; // what the run assumes about sharing, or why the boxes are off; empty if nothing

signals:
    void changed(); // the user chose another placement or sharing

private:
    QComboBox* m_devices;
    QComboBox* m_sharing;
    QLabel* m_note;
    bool m_sharingChosen = false; // the user picked a sharing since the scenario was shown
};

} // namespace knee::ui
