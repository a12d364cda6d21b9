#include "twin_dialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QTextBrowser>
#include <QTextDocument>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace knee::ui {

namespace {
QString html(const std::string& text) { return QString::fromStdString(text).toHtmlEscaped(); }

QTableWidgetItem* errorItem(double pct, const QString& tip, double limit)
{
    auto* item = new QTableWidgetItem(QString::asprintf("%+.1f %%", pct));
    item->setData(Qt::UserRole, pct);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    item->setToolTip(tip);
    if (std::abs(pct) > limit) { // beyond what the fit accepts for its own levels: the eye goes there
        QFont bold = item->font();
        bold.setBold(true);
        item->setFont(bold);
    }
    return item;
}

QString valueTip(double measured, double twin, const QString& unit, int decimals = 1)
{
    return TwinDialog::tr("measured %1 %3, twin %2 %3").arg(measured, 0, 'f', decimals).arg(twin, 0, 'f', decimals).arg(unit);
}

// One row per level; the table is as tall as its rows (they are few), so the dialog never scrolls inside it.
QTableWidget* checksTable(const std::vector<TwinLevelCheck>& checks, QWidget* parent)
{
    auto* table = new QTableWidget(int(checks.size()), TwinDialog::ColumnCount, parent);
    const bool rates = !checks.empty() && checks.front().open(); // open-loop levels: a rate, not users
    table->setHorizontalHeaderLabels({rates ? TwinDialog::tr("Rate (req/s)") : TwinDialog::tr("Users"), TwinDialog::tr("Throughput"), TwinDialog::tr("p50"), TwinDialog::tr("p95"),
                                      TwinDialog::tr("TTFT p50"), TwinDialog::tr("TTFT p95"), TwinDialog::tr("Inter-token p50"),
                                      TwinDialog::tr("Worst")});
    table->horizontalHeaderItem(TwinDialog::Worst)->setToolTip(TwinDialog::tr("The largest of the level's errors, in absolute value"));
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table->horizontalHeader()->setSectionResizeMode(TwinDialog::Users, QHeaderView::ResizeToContents);
    table->setAlternatingRowColors(true);
    const bool streams = !checks.empty() && checks.front().streaming;
    for (int c : {TwinDialog::TtftP50, TwinDialog::TtftP95, TwinDialog::ItlP50})
        table->setColumnHidden(c, !streams);
    const double limit = kTwinMaxReplayErrorPct;
    for (int row = 0; row < int(checks.size()); ++row) {
        const TwinLevelCheck& c = checks[std::size_t(row)];
        auto* users = new QTableWidgetItem(rates ? QString::number(c.rateRps, 'f', 1) : QString::number(c.concurrency));
        users->setData(Qt::UserRole, rates ? QVariant(c.rateRps) : QVariant(c.concurrency));
        users->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        table->setItem(row, TwinDialog::Users, users);
        table->setItem(row, TwinDialog::Throughput, errorItem(c.throughputErrorPct(), valueTip(c.measuredRps, c.twinRps, TwinDialog::tr("req/s")), limit));
        table->setItem(row, TwinDialog::P50, errorItem(c.p50ErrorPct(), valueTip(c.measuredP50, c.twinP50, TwinDialog::tr("ms")), limit));
        table->setItem(row, TwinDialog::P95, errorItem(c.p95ErrorPct(), valueTip(c.measuredP95, c.twinP95, TwinDialog::tr("ms")), limit));
        if (c.streaming) {
            table->setItem(row, TwinDialog::TtftP50, errorItem(c.ttftP50ErrorPct(), valueTip(c.measuredTtftP50, c.twinTtftP50, TwinDialog::tr("ms")), limit));
            table->setItem(row, TwinDialog::TtftP95, errorItem(c.ttftP95ErrorPct(), valueTip(c.measuredTtftP95, c.twinTtftP95, TwinDialog::tr("ms")), limit));
            table->setItem(row, TwinDialog::ItlP50, errorItem(c.itlP50ErrorPct(), valueTip(c.measuredItlP50, c.twinItlP50, TwinDialog::tr("ms"), 2), limit));
        }
        auto* worst = errorItem(c.worstErrorPct(), QString(), limit);
        worst->setText(QString::asprintf("%.1f %%", c.worstErrorPct()));
        table->setItem(row, TwinDialog::Worst, worst);
    }
    table->setWordWrap(false); // one line a row: the height below is the rows' own
    int height = table->horizontalHeader()->sizeHint().height() + 2 * table->frameWidth();
    for (int row = 0; row < table->rowCount(); ++row)
        height += table->rowHeight(row);
    table->setFixedHeight(std::min(height, 360)); // more levels than that scroll
    table->setVisible(!checks.empty());
    return table;
}

QLabel* title(const QString& text, QWidget* parent, bool shown)
{
    auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(text.toHtmlEscaped()), parent);
    label->setWordWrap(true);
    label->setVisible(shown);
    return label;
}
} // namespace

TwinDialog::TwinDialog(const TwinFit& fit, QWidget* parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("twinDialog"));
    setWindowTitle(fit.ok() ? QString::fromStdString(fit.twin->name) : tr("No twin"));
    m_headline = new QLabel(this);
    m_headline->setObjectName(QStringLiteral("twinHeadline"));
    m_headline->setWordWrap(true);
    m_headline->setTextInteractionFlags(Qt::TextSelectableByMouse);
    if (fit.ok() && fit.twin->twin)
        m_headline->setText(QStringLiteral("<b>%1.</b>").arg(html(twinBanner(*fit.twin->twin))));
    else
        m_headline->setText(tr("<b>No twin:</b> %1.").arg(html(fit.refusal)));

    m_measureNext = new QLabel(this);
    m_measureNext->setObjectName(QStringLiteral("twinMeasureNext"));
    m_measureNext->setWordWrap(true);
    m_measureNext->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QString next;
    for (const std::string& m : fit.measureNext)
        next += QStringLiteral("<li>%1</li>").arg(html(m));
    m_measureNext->setText(tr("What to measure next:") + QStringLiteral("<ul style='margin:0'>%1</ul>").arg(next));
    m_measureNext->setVisible(!fit.measureNext.empty());

    m_replay = checksTable(fit.replay, this);
    m_replay->setObjectName(QStringLiteral("twinReplay"));
    m_replay->setToolTip(tr("(twin − measured) / measured for each level of the sweep, run again on the twin in virtual time; hover "
                            "a cell for both values"));
    m_rateChecks = checksTable(fit.rateChecks, this);
    m_rateChecks->setObjectName(QStringLiteral("twinRateChecks"));
    m_rateChecks->setToolTip(tr("(twin − measured) / measured for each rate of the rate sweep of the same endpoint, run again on the "
                                "twin with the same arrivals: these chose how the replica divides itself among the requests in "
                                "flight (its order), which closed-loop levels cannot tell"));
    m_crossValidation = checksTable(fit.crossValidation, this);
    m_crossValidation->setObjectName(QStringLiteral("twinCrossValidation"));
    m_crossValidation->setToolTip(tr("Each level predicted by a twin fitted without it: how far the twin can be trusted between "
                                     "and beyond the levels it saw"));

    m_notes = new QTextBrowser(this);
    m_notes->setObjectName(QStringLiteral("twinNotes"));
    m_notes->setMinimumHeight(90);
    QString notes;
    for (const std::string& n : fit.notes)
        notes += QStringLiteral("<li>%1</li>").arg(html(n));
    for (const TwinLeftOut& l : fit.leftOut)
        notes += tr("<li>Level %1 left out: %2</li>").arg(l.concurrency).arg(html(l.why));
    m_notes->setHtml(QStringLiteral("<ul style='margin-left:-20px'>%1</ul>").arg(notes));
    const bool hasNotes = !notes.isEmpty();
    m_notes->setVisible(hasNotes);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("twinStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_save = buttons->addButton(tr("&Save twin…"), QDialogButtonBox::ActionRole);
    m_open = buttons->addButton(tr("&Open in the workbench"), QDialogButtonBox::ActionRole);
    const QString none = tr("No twin was fitted: see why above, and what to measure next");
    m_save->setEnabled(fit.ok());
    m_save->setToolTip(fit.ok() ? tr("Write the twin as a scenario (YAML), headed by comments saying where each value came from") : none);
    m_open->setEnabled(fit.ok());
    m_open->setToolTip(fit.ok() ? tr("Serve the twin in the workbench as the current scenario: the knobs, simulate, plan and sweeps "
                                     "then ask what-ifs of the deployment that was measured")
                                : none);
    m_serial = buttons->addButton(tr("Fit as se&rial"), QDialogButtonBox::ActionRole);
    m_serial->setObjectName(QStringLiteral("twinFitSerial"));
    m_serial->setToolTip(tr("Fit the same sweep again as a replica that serves one request at a time (predict_concurrency 1). "
                            "Only you know whether it does: a queue in front of the replica (a proxy, the platform's own "
                            "concurrency target) looks the same in a sweep."));
    connect(m_serial, &QPushButton::clicked, this, &TwinDialog::serialFitRequested);
    m_skip = buttons->addButton(tr("Fit &without level %1").arg(fit.skipMayFit), QDialogButtonBox::ActionRole);
    m_skip->setObjectName(QStringLiteral("twinFitWithout"));
    m_skip->setToolTip(tr("Fit the same sweep again without level %1. The twin still replays it, and its notes say how far it "
                          "misses it: a what-if at that many users per replica rests on the levels around it.")
                           .arg(fit.skipMayFit));
    connect(m_skip, &QPushButton::clicked, this, [this, level = fit.skipMayFit] { emit skipFitRequested(level); });
    // Hidden once every button is in: adding a button to the box shows the ones already there.
    m_serial->setVisible(fit.serialMayFit);
    m_skip->setVisible(fit.skipMayFit > 0);
    connect(m_save, &QPushButton::clicked, this, &TwinDialog::saveRequested);
    connect(m_open, &QPushButton::clicked, this, &TwinDialog::openRequested);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_headline);
    layout->addWidget(m_measureNext);
    layout->addWidget(title(fit.ok() ? tr("The twin replaying the sweep (error per level)")
                                     : tr("The best twin found, replaying the sweep (error per level)"),
                            this, !fit.replay.empty()));
    layout->addWidget(m_replay);
    layout->addWidget(title(tr("Cross-validation: each level predicted by a twin fitted without it"), this, !fit.crossValidation.empty()));
    layout->addWidget(m_crossValidation);
    layout->addWidget(title(tr("The rate sweep of the same endpoint, replayed with its own arrivals (open loop)"), this, !fit.rateChecks.empty()));
    layout->addWidget(m_rateChecks);
    layout->addWidget(title(tr("How it was fitted"), this, hasNotes));
    layout->addWidget(m_notes, 1);
    if (!hasNotes)
        layout->addStretch(1);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
    (fit.ok() ? m_save : buttons->button(QDialogButtonBox::Close))->setFocus(); // not a table cell that looks chosen
    resize(760, fit.ok() ? 720 : std::max(200, sizeHint().height())); // a refusal is a few lines
}

QString TwinDialog::headline() const
{
    QTextDocument doc;
    doc.setHtml(m_headline->text());
    return doc.toPlainText();
}

QString TwinDialog::measureNextText() const
{
    if (m_measureNext->isHidden())
        return {};
    QTextDocument doc;
    doc.setHtml(m_measureNext->text());
    return doc.toPlainText();
}

QString TwinDialog::notesText() const { return m_notes->toPlainText(); }

void TwinDialog::setStatus(const QString& text) { m_status->setText(text); }

QString TwinDialog::statusText() const { return m_status->text(); }

} // namespace knee::ui
