// The sweep page's results: the chart's points and marks, the recommendation card with Apply, the
// table of levels, the evidence, and a compared session's curve.
#include "sweep_page.h"

#include "controls_panel.h"
#include "heat_map.h"
#include "plural.h"
#include "sweep_evidence.h"
#include "study/level_figures.h"

#include <QApplication>
#include <QCheckBox>
#include <QSpinBox>
#include <QChart>
#include <QChartView>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QShortcut>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace knee::ui {

namespace {
// Sorts by the number it holds, not by its text ("16" after "128" would be wrong).
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(double value, const QString& text)
        : QTableWidgetItem(text)
    {
        setData(Qt::UserRole, value);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override { return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble(); }
};

QString ms(double v) { return QString::number(v, 'f', v < 10 ? 2 : v < 100 ? 1 : 0); }
QString rps(double v) { return QString::number(v, 'f', v < 100 ? 1 : 0); }

const char* kColumns[] = {QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Users"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "p50 (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "p95 (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "p99 (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Throughput (req/s)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "TTFT p95 (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Inter-token p95 (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Completed"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Errors"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Stable"),
                          // With an SLO: the share of requests that met every SLO.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Goodput"),
                          // With repeats: 95 % intervals over them, and whether they agree.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "p95, 95 % interval (ms)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Throughput, 95 % interval (req/s)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Repeats"),
                          // An endpoint sweep that scraped the server's /metrics: its own view of the level (means).
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Server: running"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Server: waiting"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Server: KV cache"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Server: batch"),
                          // A live sweep's GPUs (NVML): mean utilisation over the level's measured windows.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "GPU utilisation"),
                          // Issue 18: an outside load generator's (Locust's workers) figures per level.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Load generator"),
                          // A rate sweep's: the rate the load generator achieved, Little's law, and why a level is not used.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Sent (req/s)"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "In flight"),
                          // Issue 13: a level measured from several starts (dynamic batching): whether they agree.
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Steady states"),
                          QT_TRANSLATE_NOOP("knee::ui::SweepPage", "Notes")};
enum OptionalColumn {
    kThroughputColumn = 4,
    kGoodputColumn = 10,
    kP95IntervalColumn,
    kThroughputIntervalColumn,
    kRepeatsColumn,
    kServerColumn,
    kGpuColumn = kServerColumn + 4,
    kGeneratorColumn,
    kSentColumn,
    kInFlightColumn,
    kStatesColumn,
    kNotesColumn
};
static_assert(std::size(kColumns) == kNotesColumn + 1, "a new column shifts the optional columns' indices");
// A rate sweep's columns first, in this order: the rate asked beside the rate sent and the rate served.
constexpr int kRateColumnsFirst[] = {0, kSentColumn, kThroughputColumn, 1, 2, 3, kInFlightColumn, kNotesColumn};

QString rate(double v) { return QString::fromStdString(formatRate(v)); }
QString sentence(const QString& text) { return text.left(1).toUpper() + text.mid(1); }

// Why an open-loop level is not used for the knee, the capacity's "served in full" or the recommendation.
QStringList openLevelNotes(const SweepLevel& l, double tolerance)
{
    QStringList notes;
    if (l.failed + l.rejected > 0)
        notes << SweepPage::tr("errors");
    if (l.completed > 0 && !l.keptUp(tolerance))
        notes << SweepPage::tr("not served in full");
    if (l.behind)
        notes << SweepPage::tr("load generator fell behind");
    if (!l.stable)
        notes << SweepPage::tr("did not stabilise");
    return notes;
}

// Why a level is not used, whatever its loop: an open loop's reasons, or an outside load generator
// (Locust's workers) that fell behind.
QStringList levelNotes(const SweepLevel& l, double tolerance)
{
    if (l.open())
        return openLevelNotes(l, tolerance);
    QStringList notes;
    if (l.generatorBehind())
        notes << (l.generator->why.empty() ? SweepPage::tr("load generator fell behind")
                                           : SweepPage::tr("load generator fell behind (%1)").arg(QString::fromStdString(l.generator->why)));
    return notes;
}

// An outside load generator's figures for a level, in words (the table's tooltip).
QString generatorFigures(const LoadGeneratorFigures& g)
{
    const QString name = g.name == "locust" ? QStringLiteral("Locust") : QString::fromStdString(g.name);
    QString text = SweepPage::tr("%1: %2 reported; users asked %3, run %4 on average (at least %5)")
                       .arg(name, counted(g.workers, SweepPage::tr("worker"), SweepPage::tr("workers")))
                       .arg(g.usersAsked)
                       .arg(g.usersMean, 0, 'f', 1)
                       .arg(g.usersMin);
    text += SweepPage::tr("\nBusiest worker's CPU %1 % (behind past 90 %)").arg(g.cpuMaxPct, 0, 'f', 0);
    text += SweepPage::tr("\nEvent loop late by %1 ms on average, %2 ms at most").arg(g.loopLagMeanMs, 0, 'f', 2).arg(g.loopLagMaxMs, 0, 'f', 1);
    text += g.recordsLost ? SweepPage::tr("\nRecords lost (a gap in a worker's batches)") : SweepPage::tr("\nNo records lost");
    if (g.behind)
        text += SweepPage::tr("\nFell behind: %1. The level is not used for the knee or the recommendation.")
                    .arg(g.why.empty() ? SweepPage::tr("see the figures above") : QString::fromStdString(g.why));
    return text;
}

// A series keeps its points in order of concurrency, whatever order the levels came in (an SLO search
// measures its bisected levels after the larger ones).
void insertByX(QLineSeries* series, double x, double y)
{
    int at = 0;
    while (at < series->count() && series->at(at).x() < x)
        ++at;
    series->insert(at, QPointF(x, y));
}
} // namespace

QWidget* SweepPage::buildResults()
{
    auto* results = new QWidget(this);
    auto* layout = new QVBoxLayout(results);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* card = new QFrame(results);
    card->setObjectName(QStringLiteral("recommendationCard"));
    card->setFrameShape(QFrame::StyledPanel);
    auto* cardLayout = new QVBoxLayout(card);
    m_card = new QLabel(card);
    m_card->setObjectName(QStringLiteral("recommendation"));
    m_card->setWordWrap(true);
    m_card->setTextFormat(Qt::RichText);
    m_card->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_card->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_apply = new QPushButton(tr("&Apply to the knobs"), card);
    m_apply->setToolTip(tr("Set the live deployment's concurrency target, predict_concurrency and (when planned) min/max "
                           "replicas to the recommendation"));
    connect(m_apply, &QPushButton::clicked, this, [this] {
        if (const QString e = applyRecommendation(); !e.isEmpty())
            m_status->setText(e);
    });
    cardLayout->addWidget(m_card);
    auto* applyRow = new QHBoxLayout();
    applyRow->addStretch(1);
    applyRow->addWidget(m_apply);
    cardLayout->addLayout(applyRow);

    m_table = new QTableWidget(0, int(std::size(kColumns)), results);
    m_table->setObjectName(QStringLiteral("sweepLevels"));
    QStringList headers;
    for (const char* c : kColumns)
        headers << tr(c);
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setSortingEnabled(true);
    m_table->setAlternatingRowColors(true);
    m_table->setMinimumHeight(120);
    m_table->setToolTip(tr("Click a heading to sort; Ctrl+C copies the selected rows (tab-separated, with the heading)"));
    auto* copy = new QShortcut(QKeySequence::Copy, m_table, nullptr, nullptr, Qt::WidgetShortcut);
    connect(copy, &QShortcut::activated, this, [this] { QApplication::clipboard()->setText(levelsTsv(true)); });
    m_copy = new QPushButton(tr("&Copy table"), results);
    m_copy->setObjectName(QStringLiteral("copyLevels"));
    m_copy->setToolTip(tr("Copy every level, tab-separated with the heading (pastes into a spreadsheet)"));
    connect(m_copy, &QPushButton::clicked, this, [this] {
        QApplication::clipboard()->setText(levelsTsv(false));
        m_status->setText(tr("Copied %1 to the clipboard").arg(counted(m_table->rowCount(), tr("level"), tr("levels"))));
    });
    auto* tableHeader = new QHBoxLayout();
    auto* tableTitle = new QLabel(tr("<b>Levels</b>"), results);
    tableHeader->addWidget(tableTitle);
    tableHeader->addStretch(1);
    tableHeader->addWidget(m_copy);

    m_evidence = new QTextBrowser(results);
    m_evidence->setObjectName(QStringLiteral("sweepEvidence"));
    auto* split = new QSplitter(Qt::Vertical, results);
    auto* tableBox = new QWidget(split);
    auto* tableLayout = new QVBoxLayout(tableBox);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addLayout(tableHeader);
    tableLayout->addWidget(m_table, 1);
    split->addWidget(tableBox);
    split->addWidget(m_evidence);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(card);
    layout->addWidget(split, 1);
    return results;
}

void SweepPage::showOtherStates()
{
    // The other steady states' marks and their legend entry: only when some level has them.
    const bool any = m_otherStates->count() > 0;
    m_otherStates->setVisible(any);
    for (QLegendMarker* marker : m_chart->legend()->markers(m_otherStates))
        marker->setVisible(any);
}

void SweepPage::clearChart()
{
    for (QLineSeries* s : {m_p50, m_p95, m_p99, m_throughput, m_sent})
        s->clear();
    for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee, m_otherStates})
        s->clear();
    showOtherStates();
    m_shownLevels.clear();
    m_markedKnee.reset();
    m_markedSaturation.reset();
    m_markedRateKnee.reset();
    m_markedCapacity.reset();
    showAxisKind();
    m_evidence->clear();
    m_table->setRowCount(0);
    m_card->setText(tr("<h3>Recommendation</h3><p>Run a sweep (F5): the recommendation appears here, each value with the rule "
                       "behind it.</p>"));
    m_apply->setEnabled(false);
    showComparison(); // on the axis now shown; it rescales the axes
    updateExportLabels();
}

void SweepPage::clearResults()
{
    m_shown = SweepOptions(); // nothing shown: the chart's axis is users again
    clearChart();
    m_heatMap->clear();
    m_heatMap->hide();
}

void SweepPage::scenarioChanged(const QString& name)
{
    if (m_watcher.isRunning())
        cancel(); // it measures the old scenario
    const bool had = !m_sweeps.empty();
    m_sweeps.clear();
    m_grids.clear();
    clearResults();
    if (had)
        m_status->setText(tr("The last sweep measured the previous scenario and was cleared; run one for %1 (F5).").arg(name));
}

void SweepPage::rescaleAxes()
{
    // Users start at 1; rates anywhere above 0, so a rate axis starts at the power of two below the smallest.
    const bool rates = m_shown.rateSweep();
    double maxLatency = 1, maxThroughput = 1, maxX = rates ? 0 : 2, minX = rates ? HUGE_VAL : 1;
    // Past its capacity an open loop's latency grows for as long as the level runs (seconds, minutes): the
    // latency axis is the rates served in full, and the rest run off its top.
    const bool anyServed = std::any_of(m_shownLevels.begin(), m_shownLevels.end(), [this](const SweepLevel& l) {
        return l.open() && l.keptUp(m_shown.tolerance);
    });
    for (const SweepLevel& l : m_shownLevels) {
        if (!anyServed || !l.open() || l.keptUp(m_shown.tolerance))
            maxLatency = std::max(maxLatency, l.latency.p99);
        maxThroughput = std::max({maxThroughput, l.throughputRps, l.sentRps});
        if (l.states)
            maxThroughput = std::max(maxThroughput, l.states->fastestRps());
        maxX = std::max(maxX, l.axis());
        minX = std::min(minX, l.axis());
    }
    const bool compareThroughput = m_compareMetric->currentData().toString() == QLatin1String("throughput");
    for (const QPointF& p : m_compare->points()) {
        (compareThroughput ? maxThroughput : maxLatency) = std::max(compareThroughput ? maxThroughput : maxLatency, p.y());
        maxX = std::max(maxX, p.x());
        minX = std::min(minX, p.x());
    }
    if (m_slo->value() > 0)
        maxLatency = std::max(maxLatency, m_slo->value());
    if (!(maxX > 0)) // no rate shown yet
        minX = 1, maxX = 2;
    const double lo = std::pow(2.0, std::floor(std::log2(minX)));
    m_x->setRange(lo, std::max(2 * lo, std::pow(2.0, std::ceil(std::log2(maxX)))));
    m_latencyAxis->setRange(0, maxLatency * 1.1);
    m_latencyAxis->applyNiceNumbers();
    m_throughputAxis->setRange(0, maxThroughput * 1.1);
    m_throughputAxis->applyNiceNumbers();
}

void SweepPage::updateSloLine()
{
    m_sloLine->clear();
    const double slo = m_slo->value();
    if (slo > 0) {
        m_sloLine->append(m_x->min(), slo);
        m_sloLine->append(m_x->max(), slo);
        m_sloLine->setName(tr("SLO p95 %1 ms").arg(slo));
    }
    m_sloLine->setVisible(slo > 0);
    for (QLegendMarker* marker : m_chart->legend()->markers(m_sloLine))
        marker->setVisible(slo > 0);
}

double SweepPage::sloLineMs() const { return m_sloLine->isVisible() && m_sloLine->count() > 0 ? m_sloLine->at(0).y() : 0; }

void SweepPage::addLevel(const SweepLevel& l)
{
    const double x = l.axis();
    m_shownLevels.push_back(l);
    insertByX(m_p50, x, l.latency.p50);
    insertByX(m_p95, x, l.latency.p95);
    insertByX(m_p99, x, l.latency.p99);
    insertByX(m_throughput, x, l.throughputRps);
    for (const LevelStart* st : otherSteadyStates(l, m_shown.tolerance))
        m_otherStates->append(x, st->throughputRps);
    showOtherStates();
    if (l.open())
        insertByX(m_sent, x, l.sentRps);
    rescaleAxes();
    updateSloLine();
    m_levelClock.restart();
    if (m_watcher.isRunning())
        updateProgress(); // the bar and the words
    // The table grows with the chart: a row per finished level.
    SweepResult partial;
    partial.levels = m_shownLevels;
    fillTable(partial);
}

void SweepPage::fillTable(const SweepResult& r)
{
    m_table->setSortingEnabled(false);
    m_table->setRowCount(int(r.levels.size()));
    const bool streaming = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.ttft.count > 0; });
    const bool rates = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.open(); });
    bool noted = false;
    for (int row = 0; row < int(r.levels.size()); ++row) {
        const SweepLevel& l = r.levels[std::size_t(row)];
        const std::int64_t errors = l.failed + l.rejected;
        const QStringList notes = levelNotes(l, m_shown.tolerance);
        noted = noted || !notes.isEmpty();
        const std::pair<double, QString> cells[] = {
            {l.axis(), l.open() ? QString::number(l.rateRps, 'g', 6) : QString::number(l.concurrency)},
            {l.latency.p50, ms(l.latency.p50)},
            {l.latency.p95, ms(l.latency.p95)},
            {l.latency.p99, ms(l.latency.p99)},
            {l.throughputRps, rps(l.throughputRps)},
            {l.ttft.p95, l.ttft.count > 0 ? ms(l.ttft.p95) : tr("—")},
            {l.itl.p95, l.itl.count > 0 ? ms(l.itl.p95) : tr("—")},
            {double(l.completed), QString::number(l.completed)},
            {double(errors), QString::number(errors)},
            {l.stable ? 1.0 : 0.0, l.stable ? tr("yes") : tr("no")},
            {l.goodShare(), l.goodCounted ? QStringLiteral("%1 %").arg(100 * l.goodShare(), 0, 'f', 1) : tr("—")},
            {l.repeats ? l.repeats->p95.lo : 0, l.repeats ? tr("%1 – %2").arg(ms(l.repeats->p95.lo), ms(l.repeats->p95.hi)) : tr("—")},
            {l.repeats ? l.repeats->throughput.lo : 0,
             l.repeats ? tr("%1 – %2").arg(rps(l.repeats->throughput.lo), rps(l.repeats->throughput.hi)) : tr("—")},
            {l.repeats ? double(l.repeats->runs.size()) : 1,
             l.repeats ? tr("%1, %2").arg(l.repeats->runs.size()).arg(QString::fromStdString(l.repeats->verdict)) : QStringLiteral("1")},
        };
        if (l.open()) {
            const std::pair<double, QString> open[] = {{l.sentRps, rps(l.sentRps)},
                                                       {l.inFlightMean, QString::number(l.inFlightMean, 'f', 2)}};
            for (int k = 0; k < int(std::size(open)); ++k) {
                auto* item = new NumberItem(open[k].first, open[k].second);
                if (k == 1)
                    item->setToolTip(tr("Requests in flight on average, by Little's law: %1 req/s served × mean %2 ms")
                                         .arg(rps(l.throughputRps), ms(l.latency.mean)));
                m_table->setItem(row, kSentColumn + k, item);
            }
        }
        {
            auto* item = new NumberItem(double(notes.size()), notes.join(QStringLiteral(", ")));
            item->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
            if (!notes.isEmpty())
                item->setToolTip(tr("%1: not used for the knee or the recommendation").arg(sentence(notes.join(QStringLiteral(", ")))));
            m_table->setItem(row, kNotesColumn, item);
        }
        if (l.states) { // issue 13: the starts' range of throughput, and what each start measured
            const double lo = l.states->slowestRps(), hi = l.states->fastestRps();
            auto* item = new NumberItem(l.states->several ? hi / std::max(lo, 1e-9) : 1,
                                        l.states->several ? tr("several: %1 – %2 req/s").arg(rps(lo), rps(hi))
                                                          : tr("one (%1 starts agree)").arg(l.states->starts.size()));
            item->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
            item->setToolTip(sentence(QString::fromStdString(l.states->rule)));
            if (l.states->several)
                item->setForeground(QColor(0xd9, 0x8c, 0x1f));
            m_table->setItem(row, kStatesColumn, item);
        } else {
            auto* item = new NumberItem(-1, tr("—"));
            item->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
            m_table->setItem(row, kStatesColumn, item);
        }
        if (l.generator) { // issue 18: what Locust's workers achieved; a level where they fell behind says so
            const LoadGeneratorFigures& g = *l.generator;
            const QString text = tr("%1, CPU %2 %").arg(counted(g.workers, tr("worker"), tr("workers"))).arg(g.cpuMaxPct, 0, 'f', 0);
            auto* item = new NumberItem(g.cpuMaxPct, g.behind ? text + tr(" · behind") : text);
            item->setToolTip(generatorFigures(g));
            if (g.behind)
                item->setForeground(QColor(0xd9, 0x5f, 0x5f));
            m_table->setItem(row, kGeneratorColumn, item);
        } else {
            m_table->setItem(row, kGeneratorColumn, new NumberItem(-1, tr("—")));
        }
        for (int q = 0; q < int(std::size(kServerQuantities)); ++q) { // what the server said, when it said it
            const knee::ServerMetricSummary* m = nullptr;
            if (l.server)
                if (auto it = l.server->metrics.find(kServerQuantities[q]); it != l.server->metrics.end())
                    m = &it->second;
            const bool share = q == 2; // KV-cache usage is a share
            auto* item = new NumberItem(m ? m->mean : -1, !m ? tr("—") : share ? QStringLiteral("%1 %").arg(100 * m->mean, 0, 'f', 1)
                                                                              : QString::number(m->mean, 'f', 1));
            if (m)
                item->setToolTip(tr("%1: mean of %2 scrapes (min %3, max %4)")
                                     .arg(QString::fromStdString(m->source))
                                     .arg(m->samples)
                                     .arg(m->min, 0, 'g', 4)
                                     .arg(m->max, 0, 'g', 4));
            else if (l.server && l.server->failures > 0)
                item->setToolTip(tr("%1 scrapes failed: %2").arg(l.server->failures).arg(QString::fromStdString(l.server->lastError)));
            m_table->setItem(row, kServerColumn + q, item);
        }
        { // the GPUs' mean utilisation (over the GPUs that reported one), each GPU in the tooltip
            QStringList each;
            for (const knee::GpuLevelFigures& g : l.gpus)
                each << tr("GPU %1 (%2): %3 % mean, %4 W").arg(g.index).arg(QString::fromStdString(g.name))
                            .arg(g.utilizationMeanPct ? QString::number(*g.utilizationMeanPct, 'f', 0) : tr("n/a"))
                            .arg(g.powerMeanW ? QString::number(*g.powerMeanW, 'f', 0) : tr("n/a"));
            const std::optional<double> mean = knee::meanGpuUtilizationPct(l.gpus);
            auto* item = new NumberItem(mean.value_or(-1), mean ? QStringLiteral("%1 %").arg(*mean, 0, 'f', 0) : tr("—"));
            item->setToolTip(each.join(QLatin1Char('\n')));
            m_table->setItem(row, kGpuColumn, item);
        }
        for (int c = 0; c < int(std::size(cells)); ++c) {
            auto* item = new NumberItem(cells[c].first, cells[c].second);
            if (!notes.isEmpty())
                item->setToolTip(tr("%1: not used for the knee or the recommendation").arg(sentence(notes.join(QStringLiteral(", ")))));
            else if (!l.stable || errors > 0)
                item->setToolTip(errors > 0 ? tr("Errors at this level: not used for the knee or the recommendation")
                                            : tr("Did not stabilise: not used for the knee or the recommendation"));
            else if (c == kRepeatsColumn && l.repeats)
                item->setToolTip(QString::fromStdString(l.repeats->verdictRule));
            else if (l.states && l.states->several && c >= 1 && c <= kThroughputColumn)
                item->setToolTip(sentence(QString::fromStdString(l.states->rule)));
            else if (c == kGoodputColumn && l.goodCounted)
                item->setToolTip(tr("%1 of %2 requests met every SLO: %3 req/s of goodput")
                                     .arg(l.good)
                                     .arg(l.completed + l.failed + l.rejected)
                                     .arg(rps(l.goodputRps)));
            m_table->setItem(row, c, item);
        }
    }
    m_table->setColumnHidden(5, !streaming);
    m_table->setColumnHidden(6, !streaming);
    m_table->setColumnHidden(kSentColumn, !rates);
    m_table->setColumnHidden(kInFlightColumn, !rates);
    m_table->setColumnHidden(kNotesColumn, !noted);
    m_table->setColumnHidden(kStatesColumn, std::none_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.states.has_value(); }));
    m_table->horizontalHeaderItem(0)->setText(rates ? tr("Rate (req/s)") : tr(kColumns[0]));
    m_table->horizontalHeaderItem(kThroughputColumn)->setText(rates ? tr("Served (req/s)") : tr(kColumns[kThroughputColumn]));
    // A rate sweep's own columns first; a closed loop's in their own order.
    std::vector<int> order;
    if (rates)
        order.assign(std::begin(kRateColumnsFirst), std::end(kRateColumnsFirst));
    for (int c = 0; c < m_table->columnCount(); ++c)
        if (std::find(order.begin(), order.end(), c) == order.end())
            order.push_back(c);
    QHeaderView* header = m_table->horizontalHeader();
    for (int v = 0; v < int(order.size()); ++v)
        header->moveSection(header->visualIndex(order[std::size_t(v)]), v);
    const bool good = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.goodCounted; });
    const bool repeated = std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.repeats.has_value(); });
    m_table->setColumnHidden(kGoodputColumn, !good);
    for (int c : {kP95IntervalColumn, kThroughputIntervalColumn, kRepeatsColumn})
        m_table->setColumnHidden(c, !repeated);
    m_table->setColumnHidden(kGeneratorColumn, std::none_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.generator.has_value(); }));
    m_table->setColumnHidden(kGpuColumn, std::none_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return !l.gpus.empty(); }));
    for (int q = 0; q < int(std::size(kServerQuantities)); ++q)
        m_table->setColumnHidden(kServerColumn + q, std::none_of(r.levels.begin(), r.levels.end(), [&](const SweepLevel& l) {
                                     return l.server && l.server->metrics.count(kServerQuantities[q]) > 0;
                                 }));
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(0, Qt::AscendingOrder); // by level, as the sweep ran them
}

QString SweepPage::levelsTsv(bool selectedOnly) const
{
    // The columns in the order shown (a rate sweep's are rearranged).
    std::vector<int> shown;
    for (int v = 0; v < m_table->columnCount(); ++v)
        if (const int c = m_table->horizontalHeader()->logicalIndex(v); !m_table->isColumnHidden(c))
            shown.push_back(c);
    QStringList lines;
    QStringList header;
    for (int c : shown)
        header << m_table->horizontalHeaderItem(c)->text();
    lines << header.join(QLatin1Char('\t'));
    for (int row = 0; row < m_table->rowCount(); ++row) {
        if (selectedOnly && !m_table->selectionModel()->isRowSelected(row, {}))
            continue;
        QStringList cells;
        for (int c : shown)
            cells << (m_table->item(row, c) ? m_table->item(row, c)->text() : QString());
        lines << cells.join(QLatin1Char('\t'));
    }
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

QString SweepPage::readoutAt(double level) const
{
    for (const SweepLevel& l : m_shownLevels)
        if (l.open() ? std::abs(l.rateRps - level) <= 1e-9 * l.rateRps : l.concurrency == std::lround(level)) {
            QString text = l.open() ? tr("%1 asked: %2 req/s sent, %3 served · p50 %4 ms · p95 %5 ms · p99 %6 ms · %7 in flight")
                                          .arg(rate(l.rateRps), rps(l.sentRps), rps(l.throughputRps))
                                          .arg(ms(l.latency.p50), ms(l.latency.p95), ms(l.latency.p99))
                                          .arg(l.inFlightMean, 0, 'f', 2)
                                    : tr("%1 users: p50 %2 ms · p95 %3 ms · p99 %4 ms · %5 req/s")
                                          .arg(l.concurrency)
                                          .arg(ms(l.latency.p50), ms(l.latency.p95), ms(l.latency.p99), rps(l.throughputRps));
            if (l.ttft.count > 0)
                text += tr(" · TTFT p95 %1 ms · inter-token p95 %2 ms").arg(ms(l.ttft.p95), ms(l.itl.p95));
            if (l.failed + l.rejected > 0)
                text += QStringLiteral(" · ") + counted(l.failed + l.rejected, tr("error"), tr("errors"));
            if (l.open() && l.completed > 0 && !l.keptUp(m_shown.tolerance))
                text += tr(" · not served in full");
            if (l.behind)
                text += tr(" · load generator fell behind");
            if (l.generator) // issue 18: who sent the load, and whether it kept up
                text += l.generator->behind ? tr(" · Locust's %1 fell behind (%2)")
                                                  .arg(counted(l.generator->workers, tr("worker"), tr("workers")),
                                                       QString::fromStdString(l.generator->why))
                                            : tr(" · load from Locust's %1, CPU %2 %")
                                                  .arg(counted(l.generator->workers, tr("worker"), tr("workers")))
                                                  .arg(l.generator->cpuMaxPct, 0, 'f', 0);
            if (l.states && l.states->several) { // issue 13: the figures are the slowest of its steady states
                QStringList each;
                for (const LevelStart& st : l.states->starts)
                    each << tr("%1 %2 req/s").arg(QString::fromStdString(startText(st.start)), rps(st.throughputRps));
                text += tr(" · several steady states (%1); the slowest is shown").arg(each.join(QStringLiteral(", ")));
            }
            if (!l.stable)
                text += tr(" · did not stabilise");
            return text;
        }
    return {};
}

void SweepPage::showResult(const SweepResult& r, const SweepOptions& o)
{
    m_shown = o;
    clearChart();
    for (const SweepLevel& l : r.levels)
        addLevel(l);
    fillTable(r);
    const KneeAnalysis& a = r.analysis;
    if (r.rateAnalysis) { // the p95 knee on the rate axis, and the capacity (the largest rate served in full) on the served curve
        for (const SweepLevel& l : r.levels) {
            if (l.rateRps == r.rateAnalysis->knee) {
                m_knee->append(l.rateRps, l.latency.p95);
                m_markedRateKnee = l.rateRps;
            }
            if (l.rateRps == r.rateAnalysis->capacity) {
                m_saturation->append(l.rateRps, l.throughputRps);
                m_markedCapacity = l.rateRps;
            }
        }
    }
    for (const SweepLevel& l : r.levels) {
        if (l.concurrency == a.knee) {
            m_knee->append(l.concurrency, l.latency.p95);
            m_markedKnee = l.concurrency;
        }
        if (l.concurrency == a.saturation) {
            m_saturation->append(l.concurrency, l.throughputRps);
            m_markedSaturation = l.concurrency;
        }
        if (l.concurrency == a.throughputKnee)
            m_throughputKnee->append(l.concurrency, l.throughputRps);
    }
    m_throughputKnee->setPointLabelsVisible(a.throughputKnee != a.saturation); // one label where they coincide
    m_evidence->setHtml(sweepEvidenceHtml(r, o));
    showRecommendation(r, o);
    updateExportLabels();
}

void SweepPage::showRecommendation(const SweepResult& r, const SweepOptions& o)
{
    const Recommendation& rec = r.recommendation;
    // Each value on its own line, the rule behind it under it (a narrow column still reads).
    auto row = [](const QString& name, const QString& value, const std::string& rule) {
        return QStringLiteral("<p style='margin:6px 0 0 0'>%1: <b>%2</b><br><small>%3</small></p>")
            .arg(name, value, QString::fromStdString(rule).toHtmlEscaped());
    };
    QString html = tr("<h3>Recommendation</h3>");
    const SweepLevel* atRate = nullptr; // a rate sweep's level at the rate recommended
    for (const SweepLevel& l : r.levels)
        if (l.open() && rec.ratePerReplicaRps > 0 && l.rateRps == rec.ratePerReplicaRps)
            atRate = &l;
    // A rate sweep: the rate and why (the engine's rule), then the target that follows from it by Little's law.
    // The engine's one rule says both (the rate, and the requests in flight there): it is shown once.
    if (r.rateAnalysis)
        html += row(tr("rate per replica"), rec.ratePerReplicaRps > 0 ? rate(rec.ratePerReplicaRps) : tr("none"), rec.concurrencyTargetRule);
    const QString target = rec.concurrencyTarget > 0 ? counted(rec.concurrencyTarget, tr("request per replica"), tr("requests per replica")) : tr("none");
    html += row(tr("concurrency_target"), target,
                !r.rateAnalysis ? rec.concurrencyTargetRule
                : atRate ? tr("Little's law at that rate: %1 requests in flight, rounded up").arg(atRate->inFlightMean, 0, 'f', 2).toStdString()
                         : tr("follows from the rate per replica (Little's law)").toStdString());
    html += row(tr("predict_concurrency"), counted(rec.predictConcurrency, tr("call at once"), tr("calls at once")), rec.predictConcurrencyRule);
    if (rec.replicas) {
        html += row(tr("min replicas"), QString::number(rec.replicas->minReplicas), rec.replicas->minRule);
        html += row(tr("max replicas"), QString::number(rec.replicas->maxReplicas), rec.replicas->maxRule);
    }
    if (atRate)
        html += row(tr("at that rate"), tr("%1 req/s served, p95 %2 ms").arg(rps(atRate->throughputRps), ms(atRate->latency.p95)),
                    tr("measured at %1 on one replica").arg(rate(atRate->rateRps)).toStdString());
    else if (rec.concurrencyTarget > 0 && !r.rateAnalysis && rec.throughputAtTargetRps > 0)
        html += row(tr("at the target"), tr("%1 req/s, p95 %2 ms").arg(rps(rec.throughputAtTargetRps), ms(rec.p95AtTargetMs)),
                    (rec.fromGrid ? tr("measured at %1 on one replica at predict_concurrency %2 (the grid's cell)")
                                        .arg(counted(rec.concurrencyTarget, tr("user"), tr("users")))
                                        .arg(rec.predictConcurrency)
                                  : tr("measured at %1 on one replica").arg(counted(rec.concurrencyTarget, tr("user"), tr("users"))))
                        .toStdString());
    if (!rec.replicas)
        html += tr("<p><small>Set baseline and peak traffic (above) to plan min and max replicas.</small></p>");
    if (o.sloMs > 0 && r.rateAnalysis)
        html += tr("<p><small>SLO p95 %1 ms: largest rate meeting it %2.</small></p>")
                    .arg(o.sloMs)
                    .arg(r.rateAnalysis->sloRate ? rate(*r.rateAnalysis->sloRate) : tr("none"));
    else if (o.sloMs > 0 && rec.fromGrid)
        // The sweep's levels ran at the scenario's predict_concurrency; the target above is the grid's cell.
        html += tr("<p><small>SLO p95 %1 ms: met by the grid's cell (target %2, predict_concurrency %3) at p95 %4 ms; %5.</small></p>")
                    .arg(o.sloMs)
                    .arg(rec.concurrencyTarget)
                    .arg(rec.predictConcurrency)
                    .arg(ms(rec.p95AtTargetMs))
                    .arg(r.analysis.sloLevel ? tr("the sweep's own levels, at the predict_concurrency it ran with, meet it up to %1").arg(*r.analysis.sloLevel)
                                             : tr("none of the sweep's own levels, at the predict_concurrency it ran with, meets it"));
    else if (o.sloMs > 0)
        html += tr("<p><small>SLO p95 %1 ms: largest level meeting it %2.</small></p>")
                    .arg(o.sloMs)
                    .arg(r.analysis.sloLevel ? QString::number(*r.analysis.sloLevel) : tr("none"));
    m_card->setText(html);
    m_apply->setEnabled(rec.concurrencyTarget > 0 && rec.predictConcurrency > 0 && m_applier != nullptr && r.mode != "http");
}

QString SweepPage::recommendationText() const
{
    QTextDocument doc;
    doc.setHtml(m_card->text());
    return doc.toPlainText();
}

QString SweepPage::applyRecommendation()
{
    const SessionSweep* s = current();
    if (!s || s->result.recommendation.concurrencyTarget < 1)
        return tr("Run a sweep with a usable level first: there is no recommendation to apply.");
    if (!m_applier)
        return tr("There are no knobs to apply it to.");
    const Recommendation& rec = s->result.recommendation;
    const Scenario now = scenario();
    KnobValues v;
    v.concurrencyTarget = rec.concurrencyTarget;
    v.predictConcurrency = rec.predictConcurrency;
    v.minReplicas = rec.replicas ? rec.replicas->minReplicas : now.deployment.minReplicas;
    v.maxReplicas = rec.replicas ? rec.replicas->maxReplicas : now.deployment.maxReplicas;
    v.rateRps = now.workload.arrival.rateRps;
    v.users = now.workload.arrival.users;
    if (const std::string e = m_applier(v); !e.empty())
        return tr("Not applied: %1").arg(QString::fromStdString(e));
    m_status->setText(rec.replicas ? tr("Applied: concurrency target %1, predict_concurrency %2, replicas %3–%4")
                                         .arg(v.concurrencyTarget)
                                         .arg(v.predictConcurrency)
                                         .arg(v.minReplicas)
                                         .arg(v.maxReplicas)
                                   : tr("Applied: concurrency target %1, predict_concurrency %2").arg(v.concurrencyTarget).arg(v.predictConcurrency));
    emit knobsApplied();
    return {};
}

void SweepPage::showGrid(const GridResult& grid, const SweepOptions& options, SweepResult& sweep)
{
    // The grid's choice: each predict_concurrency's own target, the best of those cells (grid.h).
    m_heatMap->setGrid(grid, applyGridChoice(sweep, grid, scenario(), options));
    m_heatMap->show();
}

void SweepPage::setSweeps(std::vector<SessionSweep> sweeps, std::vector<SessionGrid> grids)
{
    m_sweeps = std::move(sweeps);
    m_grids = std::move(grids);
    m_sessionFile.clear(); // until the window says which file they came from
    m_measuredAt = QDateTime();
    clearResults();
    if (const SessionGrid* g = m_sweeps.empty() ? nullptr : gridOfSweep(m_grids, m_sweeps.size(), m_sweeps.size() - 1))
        showGrid(g->result, m_sweeps.back().options, m_sweeps.back().result);
    if (const SessionSweep* s = current()) {
        const bool rates = s->options.rateSweep();
        m_load->setCurrentIndex(m_load->findData(rates ? QStringLiteral("rates") : QStringLiteral("users")));
        QStringList levels;
        if (rates) { // the levels field keeps what it had: a rate sweep does not read it
            for (double r : s->options.rates)
                levels << QString::number(r, 'g', 6);
            m_rates->setText(levels.join(QStringLiteral(", ")));
            m_arrival->setCurrentIndex(m_arrival->findData(s->options.constantArrivals ? QStringLiteral("constant") : QStringLiteral("poisson")));
        } else {
            for (int l : s->options.levels)
                levels << QString::number(l);
            m_levels->setText(levels.join(QStringLiteral(", ")));
        }
        m_slo->setValue(s->options.sloMs);
        m_ttftSlo->setValue(s->options.ttftSloMs);
        m_itlSlo->setValue(s->options.itlSloMs);
        m_warmup->setValue(s->options.warmupS);
        m_window->setValue(s->options.windowS);
        m_cap->setValue(s->options.capS);
        m_repeats->setValue(s->options.repeats);
        m_starts->setCurrentIndex(std::max(0, m_starts->findData(s->options.starts)));
        m_searchSlo->setChecked(s->options.searchSlo);
        m_mode->setCurrentIndex(std::max(0, m_mode->findData(QString::fromStdString(s->result.mode))));
        m_baseline->setValue(s->options.baselineRps);
        m_peak->setValue(s->options.peakRps);
        showResult(s->result, s->options);
        setFormOpen(false);
    }
}

void SweepPage::setComparison(const QString& label, const std::vector<SessionSweep>& other)
{
    m_compared = other;
    m_comparedLabel = label;
    showComparison();
}

void SweepPage::clearComparison()
{
    m_compared.clear();
    m_comparedLabel.clear();
    showComparison();
}

void SweepPage::showComparison()
{
    const QString metric = m_compareMetric->currentData().toString();
    m_compare->clear();
    // Throughput goes on the right-hand axis, latencies on the left.
    const bool throughput = metric == QLatin1String("throughput");
    for (QAbstractAxis* a : m_compare->attachedAxes())
        if (a != m_x)
            m_compare->detachAxis(a);
    m_compare->attachAxis(throughput ? m_throughputAxis : m_latencyAxis);
    // Only a curve on the shown sweep's axis: users beside users, rates beside rates.
    const bool otherAxis = !m_compared.empty() && m_compared.back().options.rateSweep() != m_shown.rateSweep();
    if (!m_compared.empty() && !otherAxis) {
        for (const SweepLevel& l : m_compared.back().result.levels) {
            const double y = throughput ? l.throughputRps
                : metric == QLatin1String("p50") ? l.latency.p50
                : metric == QLatin1String("p99") ? l.latency.p99
                                                 : l.latency.p95;
            m_compare->append(l.axis(), y);
        }
        m_compare->setName(tr("%1, %2").arg(m_compareMetric->currentText().section(QLatin1Char(' '), 1), m_comparedLabel));
    }
    if (otherAxis)
        m_status->setText(m_shown.rateSweep() ? tr("%1 swept users, this sweep request rates: its curve is not drawn on this axis").arg(m_comparedLabel)
                                              : tr("%1 swept request rates, this sweep users: its curve is not drawn on this axis").arg(m_comparedLabel));
    const bool shown = m_compare->count() > 0;
    m_compare->setVisible(shown);
    for (QLegendMarker* marker : m_chart->legend()->markers(m_compare))
        marker->setVisible(shown);
    m_compareMetric->setVisible(!m_compared.empty());
    m_clearCompare->setVisible(!m_compared.empty());
    rescaleAxes();
    updateSloLine();
}

bool SweepPage::comparisonShown() const { return m_compare->isVisible() && m_compare->count() > 0; }
int SweepPage::comparisonPoints() const { return int(m_compare->count()); }
QString SweepPage::evidenceText() const { return m_evidence->toPlainText(); }
int SweepPage::plottedLevels() const { return int(m_p95->count()); }
QString SweepPage::statusText() const { return m_status->text(); }
QString SweepPage::formSummary() const { return m_formSummary->text(); }

} // namespace knee::ui
