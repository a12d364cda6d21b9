// The knobs of the running deployment: concurrency target, predict_concurrency, min/max replicas,
// the GPUs they run on, the load, and the model preset. Moves go straight to the live engine; a refused or self-defeating
// combination is flagged right under the knobs.
//
// What the knobs show is what the engine runs: the values in the engine's newest snapshot, except for
// a move the engine has not shown yet (pending until a snapshot carries it). So a scenario's timed
// `changes:` move the sliders as they apply, and nothing reads a copy of the knobs that could drift.
#pragma once
#include "sim/scenario.h"

#include <QElapsedTimer>
#include <QWidget>

#include <array>
#include <functional>
#include <optional>

class QComboBox;
class QLabel;

namespace knee {
class LiveEngineHost;
struct LiveSnapshot;
}

namespace knee::ui {

class DeviceControls;
class KnobControl;

struct Preset {
    QString name;
    QString resource; // ":/presets/…yaml"
};
QList<Preset> builtInPresets();
// A shaped arrival (step, spike, diurnal, trace) in words; empty for a fixed rate or a closed loop.
QString arrivalPatternText(const ArrivalConfig& arrival);

// The six knobs a slider moves (and a timed change may move).
struct KnobValues {
    int concurrencyTarget = 1, predictConcurrency = 1, minReplicas = 1, maxReplicas = 1;
    double rateRps = 0;
    int users = 0;
    void applyTo(Scenario& s) const; // the rate only where the arrival has one, the users only in a closed loop
};

class ControlsPanel : public QWidget {
    Q_OBJECT
public:
    // Replaces the whole scenario (preset, traffic kind, predict stage): empty = done, else why not.
    using Replacer = std::function<std::string(const Scenario& scenario, const QString& name)>;
    using Provider = std::function<Scenario()>;

    explicit ControlsPanel(LiveEngineHost& host, QWidget* parent = nullptr);

    // The window's one scenario: where a preset or a new traffic kind goes, and what it starts from.
    void setScenarioAccess(Provider current, Replacer replace);
    // A new scenario runs: its knobs are shown (pending until the new engine shows them), the old
    // refusal is gone.
    void showScenario(const Scenario& scenario);
    // The engine's newest snapshot: moves the knobs it changed by itself (timed changes).
    void showSnapshot(const LiveSnapshot& snapshot);
    KnobValues knobs() const; // what the engine runs, or is about to (a move not yet in a snapshot)
    // A knob set from elsewhere (restored settings, a sweep's Apply), through the same checks as a move.
    // Empty = accepted.
    std::string applyKnobs(const KnobValues& values);
    QString message() const; // the text under the knobs (warnings and refusals)
    QString loadPattern() const; // the arrival pattern in words, when it has no single rate

    KnobControl* concurrencyTarget() const { return m_target; }
    KnobControl* predictConcurrency() const { return m_predict; }
    KnobControl* minReplicas() const { return m_min; }
    KnobControl* maxReplicas() const { return m_max; }
    KnobControl* rate() const { return m_rate; }
    KnobControl* users() const { return m_users; }
    QComboBox* trafficKind() const { return m_kind; }
    QComboBox* preset() const { return m_preset; }
    QComboBox* predictStage() const { return m_stage; }
    DeviceControls* devices() const { return m_devices; }

signals:
    void scenarioReplaced(); // the run restarted with another scenario (preset or traffic kind)

private:
    enum Knob { Target, Predict, Min, Max, Rate, Users, KnobCount };
    void move(Knob knob, int value);
    void apply(const std::string& refusal);
    void showKnobs();
    void updateMessage();
    void replace(const Scenario& s, const QString& name);
    void changeTrafficKind(int index);
    void choosePreset(int index);
    void choosePredictStage(int index);
    void chooseDevices();
    KnobControl* control(Knob knob) const;
    Scenario current() const;

    LiveEngineHost& m_host;
    Provider m_current;
    Replacer m_replace;
    KnobControl *m_target, *m_predict, *m_min, *m_max, *m_rate, *m_users;
    QComboBox* m_kind;
    QComboBox* m_preset;
    QComboBox* m_stage; // modelled times, or a model profile the real predict stage runs
    DeviceControls* m_devices; // GPUs and how calls share one (a restart, like the preset)
    QLabel* m_pattern;  // a shaped arrival (step, spike, diurnal, trace) in words: it has no rate slider
    QLabel* m_message;
    QString m_refusal;
    std::array<int, 3> m_noteKnobs {-1, -1, -1}; // predict_concurrency, max replicas, target: the device note's last
    // The engine's values as last seen, and moves it has not shown yet (with when they were made: a
    // move a timed change overtook is given up after kPendingMs).
    std::array<double, KnobCount> m_engine{};
    struct Pending {
        double value = 0;
        QElapsedTimer since;
    };
    std::array<std::optional<Pending>, KnobCount> m_pending;
    static constexpr qint64 kPendingMs = 2000;
};

} // namespace knee::ui
