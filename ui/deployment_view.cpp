#include "deployment_view.h"

#include "plural.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QStringList>
#include <QToolTip>

namespace knee::ui {

namespace {
constexpr int kMargin = 8;
constexpr int kQueueWidth = 150;
constexpr int kCardWidth = 230;
constexpr int kCardHeight = 150;
constexpr int kTileWidth = 62;
constexpr int kTileHeight = 40;
constexpr int kDeviceRow = 24;
constexpr int kChip = 9;           // side of one request chip, device-independent pixels
constexpr int kMaxChipsShown = 40; // beyond this a row says "+N"

QString stateName(ReplicaState s)
{
    switch (s) {
    case ReplicaState::ColdStarting: return DeploymentView::tr("cold starting");
    case ReplicaState::Draining: return DeploymentView::tr("draining");
    default: return DeploymentView::tr("ready");
    }
}
} // namespace

// A replica's outline, as a tile or a card: dashed while it cold-starts, in the drain colour while it drains.
QPen DeploymentView::replicaOutline(const ReplicaSnapshot& rep, const QColor& normal)
{
    QPen pen(normal, 1.5, rep.state == ReplicaState::ColdStarting ? Qt::DashLine : Qt::SolidLine);
    if (rep.state == ReplicaState::Draining)
        pen.setColor(stageColor(2));
    return pen;
}

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
    setMouseTracking(false);
}

QString DeploymentView::summaryText(const EngineSnapshot& s)
{
    int ready = 0, cold = 0, draining = 0;
    for (const ReplicaSnapshot& r : s.replicas) {
        if (r.state == ReplicaState::ColdStarting)
            ++cold;
        else if (r.state == ReplicaState::Draining)
            ++draining;
        else
            ++ready;
    }
    QString text = counted(qsizetype(s.replicas.size()), tr("replica"), tr("replicas")) + QStringLiteral(": ") + tr("%1 ready · %2 cold starting · %3 draining").arg(ready).arg(cold).arg(draining);
    int calls = 0;
    QStringList shared;
    for (const DeviceSnapshot& d : s.devices) {
        calls += d.callsInFlight;
        if (d.replicas.size() > 1)
            shared << deviceText(d);
    }
    if (!s.devices.empty())
        text += QStringLiteral("   ·   ") + counted(qsizetype(s.devices.size()), tr("GPU"), tr("GPUs")) + QStringLiteral(", ") + counted(calls, tr("predict call in flight"), tr("predict calls in flight"));
    if (!shared.isEmpty())
        text += tr(" · replicas share a GPU: %1").arg(shared.join(QStringLiteral("; ")));
    return text;
}

QString DeploymentView::deviceText(const DeviceSnapshot& d)
{
    QStringList ids;
    for (std::int32_t id : d.replicas)
        ids << QString::number(id);
    return tr("GPU %1 (replicas %2, %3)").arg(d.index).arg(ids.join(QStringLiteral(", ")), counted(d.callsInFlight, tr("call in flight"), tr("calls in flight")));
}

void DeploymentView::setSnapshot(const EngineSnapshot& snapshot)
{
    const bool relayout = snapshot.replicas.size() != m_snapshot.replicas.size() || snapshot.devices.size() != m_snapshot.devices.size();
    m_snapshot = snapshot;
    if (m_selected) { // a replica that went away leaves no detail behind
        const bool there = std::any_of(m_snapshot.replicas.begin(), m_snapshot.replicas.end(),
                                       [this](const ReplicaSnapshot& r) { return r.id == *m_selected; });
        if (!there)
            m_selected.reset();
    }
    if (relayout)
        updateGeometry();
    update();
}

void DeploymentView::selectReplica(std::optional<std::int32_t> id)
{
    m_selected = id;
    update();
}

// The device strip: when replicas share devices (a local run on one GPU), or when there are few enough
// to read; one device per replica is said in the count line, and each tile shows its calls in predict.
bool DeploymentView::showsDevices() const
{
    if (m_snapshot.devices.empty())
        return false;
    const bool shared = std::any_of(m_snapshot.devices.begin(), m_snapshot.devices.end(), [](const DeviceSnapshot& d) { return d.replicas.size() > 1; });
    return shared || m_snapshot.devices.size() <= 4;
}

int DeploymentView::devicesHeight() const { return showsDevices() ? kDeviceRow + kMargin / 2 : 0; }

int DeploymentView::itemsWidth(int width) const
{
    const int w = width - kQueueWidth - 3 * kMargin;
    return compact() ? std::max(kTileWidth, w - kCardWidth - kMargin) : w;
}

int DeploymentView::columns(int width) const
{
    const int item = compact() ? kTileWidth : kCardWidth;
    return std::max(1, (itemsWidth(width) + kMargin) / (item + kMargin));
}

int DeploymentView::heightForWidth(int width) const
{
    const int n = std::max<int>(1, int(m_snapshot.replicas.size()));
    const int rows = (n + columns(width) - 1) / columns(width);
    const int item = compact() ? kTileHeight : kCardHeight;
    const int items = kMargin + devicesHeight() + rows * (item + kMargin);
    return std::max(items, compact() ? kCardHeight + devicesHeight() + 2 * kMargin : 0);
}

QSize DeploymentView::sizeHint() const { return {kQueueWidth + 3 * (kCardWidth + kMargin) + 3 * kMargin, heightForWidth(800)}; }
QSize DeploymentView::minimumSizeHint() const { return {kQueueWidth + kCardWidth + 3 * kMargin, 90}; }

QRect DeploymentView::queueRect() const { return {kMargin, kMargin, kQueueWidth, std::max(60, height() - 2 * kMargin)}; }

QRect DeploymentView::itemRect(int index, int width) const
{
    const int cols = columns(width);
    const int x0 = kQueueWidth + 2 * kMargin;
    const int y0 = kMargin + devicesHeight();
    if (compact())
        return {x0 + (index % cols) * (kTileWidth + kMargin), y0 + (index / cols) * (kTileHeight + kMargin), kTileWidth, kTileHeight};
    return {x0 + (index % cols) * (kCardWidth + kMargin), y0 + (index / cols) * (kCardHeight + kMargin), kCardWidth, kCardHeight};
}

std::optional<std::int32_t> DeploymentView::replicaAt(const QPoint& pos) const
{
    for (int i = 0; i < int(m_snapshot.replicas.size()); ++i)
        if (itemRect(i, width()).contains(pos))
            return m_snapshot.replicas[std::size_t(i)].id;
    return std::nullopt;
}

void DeploymentView::mousePressEvent(QMouseEvent* event)
{
    if (const auto id = replicaAt(event->position().toPoint()))
        selectReplica(m_selected == id ? std::nullopt : id);
    QWidget::mousePressEvent(event);
}

bool DeploymentView::event(QEvent* e)
{
    if (e->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(e);
        if (const auto id = replicaAt(help->pos())) {
            for (const ReplicaSnapshot& r : m_snapshot.replicas)
                if (r.id == *id)
                    QToolTip::showText(help->globalPos(), replicaDetail(r), this);
        } else {
            QToolTip::hideText();
        }
        return true;
    }
    return QWidget::event(e);
}

QString DeploymentView::replicaDetail(const ReplicaSnapshot& r) const
{
    QString text = tr("Replica %1, %2: holds %3 of %4 (preprocess %5, waiting for a slot %6, predict %7, postprocess %8); "
                      "%9 served; GPU busy %10 %")
                       .arg(r.id)
                       .arg(stateName(r.state))
                       .arg(r.held)
                       .arg(r.limit > 0 ? r.limit : m_snapshot.concurrencyTarget)
                       .arg(r.preprocessing)
                       .arg(r.waitingForPredict)
                       .arg(r.inPredict)
                       .arg(r.postprocessing)
                       .arg(r.served)
                       .arg(int(std::lround(r.predictBusyShare * 100)));
    if (r.device >= 0)
        text += tr("; on GPU %1").arg(r.device);
    return text;
}

void DeploymentView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    paintQueue(p, queueRect());
    const int x0 = kQueueWidth + 2 * kMargin;
    if (showsDevices())
        paintDevices(p, QRect(x0, kMargin, width() - x0 - kMargin, kDeviceRow));
    for (int i = 0; i < int(m_snapshot.replicas.size()); ++i) {
        const ReplicaSnapshot& r = m_snapshot.replicas[std::size_t(i)];
        if (compact())
            paintTile(p, itemRect(i, width()), r);
        else
            paintReplica(p, itemRect(i, width()), r);
    }
    if (compact()) { // the clicked tile's card, beside the tiles
        const QRect detail(x0 + itemsWidth(width()) + kMargin, kMargin + devicesHeight(), kCardWidth, kCardHeight);
        const ReplicaSnapshot* chosen = nullptr;
        for (const ReplicaSnapshot& r : m_snapshot.replicas)
            if (m_selected && r.id == *m_selected)
                chosen = &r;
        if (chosen) {
            paintReplica(p, detail, *chosen);
        } else {
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(detail.adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, tr("Click a replica for its detail"));
        }
    }
    if (m_snapshot.replicas.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(itemRect(0, width()).adjusted(0, 0, kCardWidth - itemRect(0, width()).width(), 0), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("No replica: requests wait in the queue"));
    }
}

void DeploymentView::paintDevices(QPainter& p, const QRect& r) const
{
    // One chip per device: its calls in flight, and the replicas placed on it when they share it.
    int x = r.left();
    const QFontMetrics fm(font());
    for (const DeviceSnapshot& d : m_snapshot.devices) {
        // Short, so that two or three fit beside the queue at 1024 px; the count line has the long form.
        QString text = tr("GPU %1 · %2").arg(d.index).arg(counted(d.callsInFlight, tr("call"), tr("calls")));
        if (d.replicas.size() > 1)
            text += QStringLiteral(" · ") + counted(qsizetype(d.replicas.size()), tr("replica"), tr("replicas"));
        const int w = fm.horizontalAdvance(text) + 16;
        if (x + w > r.right()) {
            p.setPen(palette().color(QPalette::Text));
            p.drawText(QRect(x, r.top(), r.right() - x, r.height()), Qt::AlignVCenter | Qt::AlignLeft,
                       tr("+%1 more").arg(int(m_snapshot.devices.size()) - int(&d - m_snapshot.devices.data())));
            break;
        }
        const QRect chip(x, r.top() + 2, w, r.height() - 4);
        p.setPen(QPen(d.replicas.size() > 1 ? stageColor(2) : palette().color(QPalette::Mid), 1.2));
        p.setBrush(d.callsInFlight > 0 ? stageColor(3).lighter(d.callsInFlight > 1 ? 110 : 150) : palette().color(QPalette::Base));
        p.drawRoundedRect(chip, 4, 4);
        p.setPen(d.callsInFlight > 0 ? QColor(Qt::black) : palette().color(QPalette::Text));
        p.drawText(chip, Qt::AlignCenter, text);
        x += w + 6;
    }
}

void DeploymentView::paintCard(QPainter& p, const QRect& r, const QPen& outline, const QRect& titleArea, const QString& title) const
{
    p.setPen(outline);
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 6, 6);
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(titleArea, Qt::AlignTop | Qt::AlignLeft, title);
    p.setFont(font());
}

void DeploymentView::paintQueue(QPainter& p, const QRect& r) const
{
    paintCard(p, r, QPen(palette().color(QPalette::Mid)), r.adjusted(8, 6, -8, 0), tr("Deployment queue"));
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

void DeploymentView::paintTile(QPainter& p, const QRect& r, const ReplicaSnapshot& rep) const
{
    const bool selected = m_selected && *m_selected == rep.id;
    QPen pen = replicaOutline(rep, palette().color(QPalette::Mid));
    if (selected) {
        pen.setColor(palette().color(QPalette::Highlight));
        pen.setWidthF(2.5);
    }
    p.setPen(pen);
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 4, 4);
    // Filled from the bottom by how much of its limit it holds; the predict share of it darker.
    const int limit = std::max(1, rep.limit > 0 ? rep.limit : m_snapshot.concurrencyTarget);
    const QRect inner = r.adjusted(3, 3, -3, -3);
    const int held = int(inner.height() * std::min(1.0, double(rep.held) / limit));
    const int predict = int(inner.height() * std::min(1.0, double(rep.inPredict) / limit));
    p.setPen(Qt::NoPen);
    p.setBrush(stageColor(1).lighter(130));
    p.drawRect(QRect(inner.left(), inner.bottom() - held + 1, inner.width(), held));
    p.setBrush(stageColor(3));
    p.drawRect(QRect(inner.left(), inner.bottom() - predict + 1, inner.width(), predict));
    p.setPen(palette().color(QPalette::Text));
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.85);
    p.setFont(small);
    p.drawText(inner, Qt::AlignTop | Qt::AlignHCenter, tr("#%1").arg(rep.id));
    p.drawText(inner, Qt::AlignBottom | Qt::AlignHCenter,
               rep.state == ReplicaState::ColdStarting ? tr("cold") : rep.state == ReplicaState::Draining ? tr("drain") : QStringLiteral("%1/%2").arg(rep.held).arg(limit));
    p.setFont(font());
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
    const QRect inner = r.adjusted(8, 4, -8, -4);
    paintCard(p, r, replicaOutline(rep, palette().color(QPalette::Mid)), inner, tr("Replica %1").arg(rep.id));
    p.drawText(inner, Qt::AlignTop | Qt::AlignRight,
               tr("%1 · holds %2/%3").arg(stateName(rep.state)).arg(rep.held).arg(m_snapshot.concurrencyTarget));

    const int rowH = 20;
    QRect row(inner.left(), inner.top() + 22, inner.width(), rowH);
    paintChips(p, row, tr("Preprocess"), rep.preprocessing, stageColor(1));
    row.translate(0, rowH);
    paintChips(p, row, tr("Wait for slot"), rep.waitingForPredict, stageColor(2));
    row.translate(0, rowH);
    paintChips(p, row, tr("Predict"), rep.inPredict, stageColor(3), std::max(m_snapshot.predictConcurrency, rep.inPredict));
    row.translate(0, rowH);
    paintChips(p, row, tr("Postprocess"), rep.postprocessing, stageColor(4));

    // GPU busy share: the share of the replica's life with at least one request in predict; and the
    // device it runs on when it shares one.
    const QRect bar(inner.left(), inner.bottom() - 12, inner.width() - 70, 10);
    p.setPen(palette().color(QPalette::Mid));
    p.setBrush(Qt::NoBrush);
    p.drawRect(bar);
    p.setPen(Qt::NoPen);
    p.setBrush(stageColor(3));
    p.drawRect(QRect(bar.left() + 1, bar.top() + 1, int((bar.width() - 1) * std::clamp(rep.predictBusyShare, 0.0, 1.0)), bar.height() - 1));
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(bar.right() + 6, bar.top() - 4, 70, bar.height() + 8), Qt::AlignVCenter | Qt::AlignLeft,
               rep.device >= 0 ? tr("GPU%1 %2%").arg(rep.device).arg(int(std::lround(rep.predictBusyShare * 100)))
                               : tr("GPU %1%").arg(int(std::lround(rep.predictBusyShare * 100))));
}

} // namespace knee::ui
