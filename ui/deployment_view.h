// Draws the deployment as it is now: the deployment queue, the devices (GPUs) with their predict
// calls in flight and the replicas placed on each, then each replica (cold starting, ready, draining)
// with its held requests by stage (preprocessing, waiting for a predict slot, in predict with its
// slots shown, postprocessing) and its GPU busy share. So a user sees at a glance where requests wait.
// Up to kCardLimit replicas each get a card; more (autoscaling to 24, 64, …) get one small tile each,
// coloured by state and filled by how much of its limit it holds, with the full card of the tile
// clicked shown beside them. Paints from a snapshot only; never touches the engine.
#pragma once
#include "sim/engine.h"

#include <QPen>
#include <QWidget>

#include <optional>

namespace knee::ui {

class DeploymentView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kCardLimit = 8;

    explicit DeploymentView(QWidget* parent = nullptr);
    void setSnapshot(const EngineSnapshot& snapshot);
    const EngineSnapshot& snapshot() const { return m_snapshot; }
    bool compact() const { return int(m_snapshot.replicas.size()) > kCardLimit; }
    std::optional<std::int32_t> selectedReplica() const { return m_selected; }
    // The replica whose tile (compact) or card is at `pos`, if any.
    std::optional<std::int32_t> replicaAt(const QPoint& pos) const;
    void selectReplica(std::optional<std::int32_t> id);

    // "24 replicas: 18 ready · 6 cold starting · 0 draining", and the devices when replicas share them.
    static QString summaryText(const EngineSnapshot& snapshot);
    static QString deviceText(const DeviceSnapshot& device);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;

    // The colours of the stages, shared with the charts' legend so both read alike.
    static QColor stageColor(int part); // Part index: 0 queue … 4 postprocess
    static QPen replicaOutline(const ReplicaSnapshot& rep, const QColor& normal);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override; // tooltips on tiles

private:
    QRect queueRect() const;
    bool showsDevices() const;
    int devicesHeight() const;
    QRect itemRect(int index, int width) const; // a card, or a tile when compact
    int columns(int width) const;
    int itemsWidth(int width) const; // room for cards or tiles (compact: less the detail card)
    // A box's frame on the base colour, outlined by `outline`, and its title in bold at the top left of
    // `titleArea`; the painter is left with the plain font and the text colour.
    void paintCard(QPainter& p, const QRect& r, const QPen& outline, const QRect& titleArea, const QString& title) const;
    void paintQueue(QPainter& p, const QRect& r) const;
    void paintDevices(QPainter& p, const QRect& r) const;
    void paintReplica(QPainter& p, const QRect& r, const ReplicaSnapshot& replica) const;
    void paintTile(QPainter& p, const QRect& r, const ReplicaSnapshot& replica) const;
    void paintChips(QPainter& p, QRect r, const QString& label, int count, const QColor& color, int slotCount = -1) const;
    QString replicaDetail(const ReplicaSnapshot& replica) const;

    EngineSnapshot m_snapshot;
    std::optional<std::int32_t> m_selected;
};

} // namespace knee::ui
