// Draws the deployment as it is now: the deployment queue, then each replica (cold starting,
// ready, draining) with its held requests by stage (preprocessing, waiting for a predict slot,
// in predict with its slotCount shown, postprocessing) and its GPU busy share. So a user sees at a
// glance where requests wait. Paints from a snapshot only; never touches the engine.
#pragma once
#include "sim/engine.h"

#include <QWidget>

namespace knee::ui {

class DeploymentView : public QWidget {
    Q_OBJECT
public:
    explicit DeploymentView(QWidget* parent = nullptr);
    void setSnapshot(const EngineSnapshot& snapshot);
    const EngineSnapshot& snapshot() const { return m_snapshot; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;

    // The colours of the stages, shared with the charts' legend so both read alike.
    static QColor stageColor(int part); // Part index: 0 queue … 4 postprocess

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QRect queueRect() const;
    QRect cardRect(int index, int width) const;
    int columns(int width) const;
    void paintQueue(QPainter& p, const QRect& r) const;
    void paintReplica(QPainter& p, const QRect& r, const ReplicaSnapshot& replica) const;
    void paintChips(QPainter& p, QRect r, const QString& label, int count, const QColor& color, int slotCount = -1) const;

    EngineSnapshot m_snapshot;
};

} // namespace knee::ui
