// The autoscaler's settings (policy, utilization, window, scale-down delay, cold start; Knative's
// panic window and threshold, scale-to-zero grace) acting on the live engine, and its newest
// decisions with their reasons, so a user sees why the replica count moved.
#pragma once
#include "sim/scenario.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QListWidget;

namespace knee {
class LiveEngineHost;
struct LiveSnapshot;
}

namespace knee::ui {

class AutoscalerPanel : public QWidget {
    Q_OBJECT
public:
    explicit AutoscalerPanel(LiveEngineHost& host, QWidget* parent = nullptr);
    void syncFromHost();
    void showSnapshot(const LiveSnapshot& snapshot);

    QComboBox* policy() const { return m_policy; }
    QDoubleSpinBox* window() const { return m_window; }
    QDoubleSpinBox* scaleDownDelay() const { return m_delay; }
    QDoubleSpinBox* coldStart() const { return m_coldStart; }
    QDoubleSpinBox* panicWindow() const { return m_panicWindow; }
    QListWidget* decisions() const { return m_decisions; }
    QString status() const;

private:
    void apply();
    struct SpinRange {
        double min, max, step;
    };
    // A whole-number spin box added to `form` as a row under `label`; it reports only finished edits.
    QDoubleSpinBox* spinRow(QFormLayout* form, const QString& label, SpinRange range, const QString& suffix, const QString& tip);

    LiveEngineHost& m_host;
    QComboBox* m_policy;
    QDoubleSpinBox *m_utilization, *m_window, *m_delay, *m_coldStart, *m_panicWindow, *m_panicThreshold, *m_grace;
    QWidget* m_basetenOnly;
    QWidget* m_knativeOnly;
    QLabel* m_status;
    QListWidget* m_decisions;
    std::size_t m_shownTotal = ~std::size_t(0);
    bool m_syncing = false;
};

} // namespace knee::ui
