// The knobs of the running deployment: concurrency target, predict_concurrency, min/max replicas,
// the load, and the model preset. Moves go straight to the live engine; a refused or self-defeating
// combination is flagged right under the knobs.
#pragma once
#include "sim/scenario.h"

#include <QWidget>

class QComboBox;
class QLabel;

namespace knee {
class LiveEngineHost;
}

namespace knee::ui {

class KnobControl;

struct Preset {
    QString name;
    QString resource; // ":/presets/…yaml"
};
QList<Preset> builtInPresets();

class ControlsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ControlsPanel(LiveEngineHost& host, QWidget* parent = nullptr);

    // Shows the host's current knobs (after a reset or a preset).
    void syncFromHost();
    QString message() const; // the text under the knobs (warnings and refusals)

    KnobControl* concurrencyTarget() const { return m_target; }
    KnobControl* predictConcurrency() const { return m_predict; }
    KnobControl* minReplicas() const { return m_min; }
    KnobControl* maxReplicas() const { return m_max; }
    KnobControl* rate() const { return m_rate; }
    KnobControl* users() const { return m_users; }
    QComboBox* trafficKind() const { return m_kind; }
    QComboBox* preset() const { return m_preset; }
    QComboBox* predictStage() const { return m_stage; }

signals:
    void scenarioReplaced(); // the run restarted with another scenario (preset or traffic kind)

private:
    void apply(const std::string& refusal);
    void updateMessage();
    void changeTrafficKind(int index);
    void choosePreset(int index);
    void choosePredictStage(int index);

    LiveEngineHost& m_host;
    KnobControl *m_target, *m_predict, *m_min, *m_max, *m_rate, *m_users;
    QComboBox* m_kind;
    QComboBox* m_preset;
    QComboBox* m_stage; // modelled times, or a model profile the real predict stage runs
    QLabel* m_message;
    QString m_refusal;
};

} // namespace knee::ui
