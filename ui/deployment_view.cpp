#include "deployment_view.h"

#include <QPainter>
#include <QPainterPath>

namespace knee::ui {

namespace {
constexpr int kMargin = 8;
constexpr int kQueueWidth = 150;
constexpr int kCardWidth = 230;
constexpr int kCardHeight = 150;
constexpr int kChip = 9;        // side of one request chip, device-independent pixels
constexpr int kMaxChipsShown = 40; // beyond this a row says "+N"
} // namespace

QColor DeploymentView::stageColor(int part)
{
    // Mid-saturation hues that read on light and dark backgrounds alike.
    static const QColor colors[] = {QColor(0xd9, 0x5f, 0x5f), QColor(0x4a, 0x90, 0xd9), QColor(0xe0, 0xa3, 0x2e),
                                    QColor(0x3f, 0xb3, 0x6b), QColor(0x9b, 0x6b, 0xd6)};
    return colors[std::clamp(part, 0, 4)];
}

DeploymentView::DeploymentView(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("deploymentView"));
    setAccessibleName(tr("Deployment: queue and replicas"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void DeploymentView::setSnapshot(const EngineSnapshot& snapshot)
{
    const bool relayout = snapshot.replicas.size() != m_snapshot.replicas.size();
    m_snapshot = snapshot;
    if (relayout)
        updateGeometry();
    update();
}

int DeploymentView::columns(int width) const
{
    return std::max(1, (width - kQueueWidth - 3 * kMargin) / (kCardWidth + kMargin));
}

int DeploymentView::heightForWidth(int width) const
{
    const int n = std::max<int>(1, int(m_snapshot.replicas.size()));
    const int rows = (n + columns(width) - 1) / columns(width);
    return kMargin + rows * (kCardHeight + kMargin);
}

QSize DeploymentView::sizeHint() const { return {kQueueWidth + 3 * (kCardWidth + kMargin) + 3 * kMargin, heightForWidth(800)}; }
QSize DeploymentView::minimumSizeHint() const { return {kQueueWidth + kCardWidth + 3 * kMargin, kCardHeight + 2 * kMargin}; }

QRect DeploymentView::queueRect() const { return {kMargin, kMargin, kQueueWidth, std::max(kCardHeight, height() - 2 * kMargin)}; }

QRect DeploymentView::cardRect(int index, int width) const
{
    const int cols = columns(width);
    const int x0 = kQueueWidth + 2 * kMargin;
    return {x0 + (index % cols) * (kCardWidth + kMargin), kMargin + (index / cols) * (kCardHeight + kMargin), kCardWidth, kCardHeight};
}

void DeploymentView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    paintQueue(p, queueRect());
    for (int i = 0; i < int(m_snapshot.replicas.size()); ++i)
        paintReplica(p, cardRect(i, width()), m_snapshot.replicas[std::size_t(i)]);
    if (m_snapshot.replicas.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(cardRect(0, width()), Qt::AlignCenter | Qt::TextWordWrap, tr("No replica: requests wait in the queue"));
    }
}

void DeploymentView::paintQueue(QPainter& p, const QRect& r) const
{
    p.setPen(palette().color(QPalette::Mid));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 6, 6);
    QFont title = font();
    title.setBold(true);
    p.setFont(title);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(r.adjusted(8, 6, -8, 0), Qt::AlignTop | Qt::AlignLeft, tr("Deployment queue"));
    QFont big = font();
    big.setPointSizeF(font().pointSizeF() * 2.2);
    big.setBold(true);
    p.setFont(big);
    p.setPen(m_snapshot.queued > 0 ? stageColor(0) : palette().color(QPalette::Text));
    p.drawText(r.adjusted(8, 26, -8, 0), Qt::AlignTop | Qt::AlignLeft, QString::number(m_snapshot.queued));
    p.setFont(font());
    // The queue as a column of chips, oldest at the bottom, like a stack of waiting requests.
    const int perRow = (r.width() - 16) / (kChip + 2);
    const int rows = std::max(0, (r.height() - 80) / (kChip + 2) - 1); // the last row's room is for "+N"
    const int shown = int(std::min<std::int64_t>(m_snapshot.queued, std::int64_t(perRow) * rows));
    p.setPen(Qt::NoPen);
    p.setBrush(stageColor(0));
    for (int i = 0; i < shown; ++i)
        p.drawRect(r.left() + 8 + (i % perRow) * (kChip + 2), r.bottom() - 8 - (i / perRow + 2) * (kChip + 2), kChip, kChip);
    if (shown < m_snapshot.queued) {
        p.setPen(palette().color(QPalette::Text));
        p.drawText(r.adjusted(8, 0, -8, -4), Qt::AlignBottom | Qt::AlignRight, tr("+%1").arg(m_snapshot.queued - shown));
    }
}

void DeploymentView::paintChips(QPainter& p, QRect r, const QString& label, int count, const QColor& color, int slotCount) const
{
    p.setPen(palette().color(QPalette::Text));
    const int labelWidth = 92;
    p.drawText(QRect(r.left(), r.top(), labelWidth, r.height()), Qt::AlignVCenter | Qt::AlignLeft, label);
    int x = r.left() + labelWidth;
    const int y = r.center().y() - kChip / 2;
    const int cells = slotCount >= 0 ? std::min(slotCount, kMaxChipsShown) : std::min(count, kMaxChipsShown);
    const int room = (r.right() - x - 28) / (kChip + 2);
    const int drawn = std::min(cells, room);
    for (int i = 0; i < drawn; ++i) {
        const bool filled = slotCount < 0 || i < count;
        p.setPen(filled ? Qt::NoPen : QPen(color, 1));
        p.setBrush(filled ? color : Qt::transparent);
        p.drawRect(x + i * (kChip + 2), y, kChip, kChip);
    }
    const int total = slotCount >= 0 ? slotCount : count;
    if (drawn < total || slotCount >= 0) {
        p.setPen(palette().color(QPalette::Text));
        const QString text = slotCount >= 0 ? QStringLiteral("%1/%2").arg(count).arg(slotCount) : QStringLiteral("+%1").arg(total - drawn);
        p.drawText(QRect(x + drawn * (kChip + 2) + 2, r.top(), r.right() - x, r.height()), Qt::AlignVCenter | Qt::AlignLeft, text);
    }
}

void DeploymentView::paintReplica(QPainter& p, const QRect& r, const ReplicaSnapshot& rep) const
{
    QColor border = palette().color(QPalette::Mid);
    QString state = tr("ready");
    Qt::PenStyle style = Qt::SolidLine;
    if (rep.state == ReplicaState::ColdStarting) {
        state = tr("cold starting");
        style = Qt::DashLine;
    } else if (rep.state == ReplicaState::Draining) {
        state = tr("draining");
        border = stageColor(2);
    }
    p.setPen(QPen(border, 1.5, style));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 6, 6);

    QFont title = font();
    title.setBold(true);
    p.setFont(title);
    p.setPen(palette().color(QPalette::Text));
    const QRect inner = r.adjusted(8, 4, -8, -4);
    p.drawText(inner, Qt::AlignTop | Qt::AlignLeft, tr("Replica %1").arg(rep.id));
    p.setFont(font());
    p.drawText(inner, Qt::AlignTop | Qt::AlignRight,
               tr("%1 · holds %2/%3").arg(state).arg(rep.held).arg(m_snapshot.concurrencyTarget));

    const int rowH = 20;
    QRect row(inner.left(), inner.top() + 22, inner.width(), rowH);
    paintChips(p, row, tr("Preprocess"), rep.preprocessing, stageColor(1));
    row.translate(0, rowH);
    paintChips(p, row, tr("Wait for slot"), rep.waitingForPredict, stageColor(2));
    row.translate(0, rowH);
    paintChips(p, row, tr("Predict"), rep.inPredict, stageColor(3), std::max(m_snapshot.predictConcurrency, rep.inPredict));
    row.translate(0, rowH);
    paintChips(p, row, tr("Postprocess"), rep.postprocessing, stageColor(4));

    // GPU busy share: the share of the replica's life with at least one request in predict.
    const QRect bar(inner.left(), inner.bottom() - 12, inner.width() - 70, 10);
    p.setPen(palette().color(QPalette::Mid));
    p.setBrush(Qt::NoBrush);
    p.drawRect(bar);
    p.setPen(Qt::NoPen);
    p.setBrush(stageColor(3));
    p.drawRect(QRect(bar.left() + 1, bar.top() + 1, int((bar.width() - 1) * std::clamp(rep.predictBusyShare, 0.0, 1.0)), bar.height() - 1));
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(bar.right() + 6, bar.top() - 4, 70, bar.height() + 8), Qt::AlignVCenter | Qt::AlignLeft,
               tr("GPU %1%").arg(int(std::lround(rep.predictBusyShare * 100))));
}

} // namespace knee::ui
