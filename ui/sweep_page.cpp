#include "sweep_page.h"

#include "chart_style.h"
#include "endpoint_panel.h"
#include "heat_map.h"
#include "plural.h"
#include "scroll_fit.h"

#include "live/backend_executor.h"
#include "live/live_sweep.h"
#include "net/http_sweep.h"
#include "telemetry/gpu_telemetry.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QScatterSeries>
#include <QSpinBox>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QValueAxis>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace knee::ui {

namespace {
// A cancelled grid's cells measured, and the cells it was to measure (predict_concurrency at most the target);
// {0, 0} without a grid or when it was not cancelled.
std::pair<std::size_t, std::size_t> gridCellsMeasured(const std::optional<SessionGrid>& grid)
{
    if (!grid || !grid->result.cancelled)
        return {0, 0};
    std::size_t measured = 0, planned = 0;
    for (const GridCell& c : grid->result.cells)
        measured += c.measured;
    for (int pc : grid->options.predictConcurrency)
        for (int target : grid->options.targets)
            planned += pc <= target;
    return {measured, planned};
}

QLineSeries* line(QChart* chart, const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine)
{
    auto* s = new QLineSeries(chart);
    s->setName(name);
    s->setPen(QPen(color, 2, style));
    s->setPointsVisible(true);
    chart->addSeries(s);
    return s;
}

QString duration(double s)
{
    if (s < 90)
        return SweepPage::tr("%1 s").arg(std::max(1, int(std::lround(s))));
    if (s < 5400)
        return SweepPage::tr("%1 min").arg(int(std::lround(s / 60)));
    return SweepPage::tr("%1 h").arg(s / 3600, 0, 'f', 1);
}
} // namespace

SweepPage::SweepPage(QWidget* parent)
    : QWidget(parent)
    , m_cancelFlag(std::make_shared<std::atomic<bool>>(false))
{
    setObjectName(QStringLiteral("sweepPage"));
    m_run = new QPushButton(tr("&Run sweep"), this);
    m_run->setToolTip(tr("Run the sweep on the current scenario and knobs (F5)"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_progress->setTextVisible(false);
    m_progress->setMaximumWidth(180);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("sweepStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* top = new QHBoxLayout();
    top->addWidget(m_run);
    top->addWidget(m_cancel);
    top->addWidget(m_progress);
    top->addWidget(m_status, 1);

    QWidget* form = buildForm();
    QWidget* chart = buildChart();
    QWidget* results = buildResults();
    auto* left = new QSplitter(Qt::Vertical, this);
    left->addWidget(chart);
    left->addWidget(m_heatMap);
    left->setStretchFactor(0, 3);
    left->setStretchFactor(1, 1);
    // The results column scrolls when the window is short: the card, the exports and the table keep their sizes.
    auto* resultsScroll = new QScrollArea(this);
    resultsScroll->setObjectName(QStringLiteral("sweepResults"));
    resultsScroll->setWidgetResizable(true);
    resultsScroll->setFrameShape(QFrame::NoFrame);
    resultsScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    resultsScroll->setWidget(results);
    fitWidthToContent(resultsScroll);
    auto* main = new QSplitter(Qt::Horizontal, this);
    main->setObjectName(QStringLiteral("sweepSplitter"));
    main->addWidget(left);
    main->addWidget(resultsScroll);
    main->setStretchFactor(0, 3);
    main->setStretchFactor(1, 2);
    main->setSizes({600, 400});
    main->setChildrenCollapsible(false);

    auto* exportBox = new QVBoxLayout();
    exportBox->setSpacing(2);
    const std::pair<Export, QString (SweepPage::*)(const QString&)> exports[] = {
        {Export::ConfigYaml, &SweepPage::exportConfigYaml},
        {Export::Autoscaling, &SweepPage::exportAutoscaling},
        {Export::Csv, &SweepPage::exportCsv},
        {Export::Chart, &SweepPage::exportChart}};
    for (auto [kind, fn] : exports) {
        auto* b = new QPushButton(this);
        connect(b, &QPushButton::clicked, this, [this, fn] {
            if (const QString e = (this->*fn)({}); !e.isEmpty())
                m_status->setText(e);
        });
        exportBox->addWidget(b);
        m_exportButtons.push_back(b);
    }
    exportBox->addWidget(buildTwinButton());
    // Under the recommendation: what to do with it.
    static_cast<QVBoxLayout*>(results->layout())->insertLayout(1, exportBox);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    auto* formHeader = new QHBoxLayout();
    formHeader->addWidget(m_formToggle);
    formHeader->addWidget(m_formSummary, 1);
    layout->addLayout(formHeader);
    layout->addWidget(form);
    layout->addWidget(main, 1);

    m_progressTimer = new QTimer(this);
    m_progressTimer->setInterval(1000);
    connect(m_progressTimer, &QTimer::timeout, this, &SweepPage::updateProgress);
    connect(m_endpoint, &EndpointPanel::targetChanged, this, [this] {
        // Virtual/live time and the predict_concurrency grid are the built-in engine's.
        m_mode->setEnabled(!m_endpoint->endpointChosen());
        m_grid->setEnabled(!m_endpoint->endpointChosen());
        updateLoad();
    });
    // Locust's rows come and go with the choice: the form's height follows.
    connect(m_endpoint, &EndpointPanel::loadGeneratorChanged, this, [this] {
        updateFormSummary();
        setFormOpen(m_formToggle->isChecked());
    });
    for (QLineEdit* e : {m_levels, m_rates, m_grid})
        connect(e, &QLineEdit::textChanged, this, &SweepPage::updateFormSummary);
    for (QComboBox* c : {m_mode, m_arrival, m_starts})
        connect(c, &QComboBox::currentIndexChanged, this, &SweepPage::updateFormSummary);
    connect(m_load, &QComboBox::currentIndexChanged, this, [this] {
        updateLoad();
        updateFormSummary();
        setFormOpen(m_formToggle->isChecked()); // the form's height follows its rows
    });
    connect(m_searchSlo, &QCheckBox::toggled, this, &SweepPage::updateFormSummary);
    connect(m_repeats, &QSpinBox::valueChanged, this, &SweepPage::updateFormSummary);
    connect(m_endpoint->scrape(), &QCheckBox::toggled, this, &SweepPage::updateFormSummary);
    connect(m_slo, &QDoubleSpinBox::valueChanged, this, [this] {
        updateFormSummary();
        updateSloLine();
    });
    connect(m_run, &QPushButton::clicked, this, &SweepPage::run);
    connect(m_cancel, &QPushButton::clicked, this, &SweepPage::cancel);
    connect(&m_watcher, &QFutureWatcher<SweepRun>::finished, this, [this] {
        m_progressTimer->stop();
        SweepRun run = m_watcher.result();
        const SweepResult& r = run.sweep.result;
        if (!run.error.isEmpty() && r.levels.empty()) { // failed before a level finished (Locust's processes): nothing to keep
            m_run->setEnabled(true);
            m_cancel->setEnabled(false);
            m_cancel->setText(tr("Cancel"));
            m_progress->setRange(0, 1);
            m_progress->setValue(0);
            if (const SessionSweep* shown = current()) // the last sweep that finished stays on show
                showResult(shown->result, shown->options);
            else
                clearResults();
            m_status->setText(tr("The sweep failed: %1. Nothing was measured.").arg(run.error));
            updateTwinButton();
            emit sweepFinished();
            return;
        }
        m_heatMap->clear();
        if (run.grid)
            showGrid(run.grid->result, run.sweep.options, run.sweep.result);
        m_sweeps.push_back(run.sweep);
        m_sessionFile.clear(); // in no file until the window saves it
        m_measuredAt = QDateTime::currentDateTimeUtc();
        if (run.grid) { // it sets the recommendation of the sweep it followed, in the session too
            m_grids.push_back(*run.grid);
            m_grids.back().sweep = int(m_sweeps.size()) - 1;
        }
        showResult(r, run.sweep.options);
        m_run->setEnabled(true);
        m_cancel->setEnabled(false);
        m_cancel->setText(tr("Cancel"));
        m_progress->setRange(0, 1);
        m_progress->setValue(1);
        if (!run.error.isEmpty()) // Locust's processes failed mid-sweep: the levels that finished are kept and analysed
            m_status->setText(tr("The sweep failed after %1: %2. The finished levels are kept.")
                                  .arg(counted(qsizetype(r.levels.size()), tr("level"), tr("levels")), run.error));
        else if (const auto [measured, planned] = gridCellsMeasured(run.grid); measured < planned)
            // The sweep ran whole; the grid was stopped: its recommendation compares the cells it measured.
            m_status->setText(r.recommendation.fromGrid
                                  ? tr("Grid cancelled: %1 of its %2 cells measured; the recommendation compares those only").arg(measured).arg(planned)
                                  : tr("Grid cancelled: %1 of its %2 cells measured; none gave a recommendation, so the sweep's own stands")
                                        .arg(measured)
                                        .arg(planned));
        else
            m_status->setText(r.cancelled ? tr("Cancelled: %1 kept").arg(counted(qsizetype(r.levels.size()), tr("level"), tr("levels")))
                                          : tr("%1 levels in %2 of wall time (%3 time)")
                                                .arg(r.levels.size())
                                                .arg(duration(r.wallS))
                                                .arg(QString::fromStdString(r.mode)));
        setFormOpen(false); // the answer gets the room
        emit sweepFinished();
    });
    clearResults();
    showComparison(); // none yet: its controls hide
    updateFormSummary();
    updateExportLabels();
}

SweepPage::~SweepPage()
{
    m_cancelFlag->store(true);
    m_watcher.waitForFinished();
    m_twinWatcher.waitForFinished(); // a fit cannot be stopped; it holds copies only, but ends before the page
    if (m_popOutWindow)
        popOutChart(false);
}

QWidget* SweepPage::buildForm()
{
    m_levels = new QLineEdit(QStringLiteral("1, 2, 4, 8, 16, 32, 64, 128"), this);
    m_levels->setToolTip(tr("Closed-loop concurrency levels to measure, one replica each (Baseten's benchmarking process)."));
    m_load = new QComboBox(this);
    m_load->setObjectName(QStringLiteral("sweepLoad"));
    m_load->addItem(tr("Closed loop: users"), QStringLiteral("users"));
    m_load->addItem(tr("Open loop: request rates"), QStringLiteral("rates"));
    m_load->setToolTip(tr("Closed loop: each level keeps that many users, each sending its next request when the last is answered. "
                          "Open loop: requests arrive at a set rate whatever the replica does, as real traffic does; latency counts "
                          "from each request's scheduled time, and past the replica's capacity its queue grows."));
    m_rates = new QLineEdit(QStringLiteral("10, 20, 40, 80, 160"), this);
    m_rates->setObjectName(QStringLiteral("sweepRates"));
    m_rates->setToolTip(tr("Request rates to offer one replica (req/s), one level each: the knee of p95 and the largest rate served "
                           "in full (the capacity) set the rate per replica, and Little's law its concurrency target."));
    m_arrival = new QComboBox(this);
    m_arrival->addItem(tr("Poisson (random)"), QStringLiteral("poisson"));
    m_arrival->addItem(tr("Evenly spaced"), QStringLiteral("constant"));
    m_arrival->setToolTip(tr("How a rate's requests arrive: at random (Poisson, as many independent clients send them) or evenly "
                             "spaced (no bursts: the least queueing a rate can cause)."));
    m_grid = new QLineEdit(this);
    m_grid->setToolTip(tr("predict_concurrency values to measure against each level as the concurrency target; each "
                          "predict_concurrency's own target (the sweep's rule on its row), and the best of those cells, "
                          "set the recommended concurrency target and predict_concurrency."));
    m_heatMap = new HeatMap(this);
    m_heatMap->hide(); // until a grid ran
    m_endpoint = new EndpointPanel(this);
    m_mode = new QComboBox(this);
    m_mode->addItem(tr("Virtual time (seconds)"), QStringLiteral("virtual"));
    m_mode->addItem(tr("Live time (real time: minutes)"), QStringLiteral("live"));
    m_mode->setToolTip(tr("Virtual time runs the engine as fast as it can; live time runs it in real time, as the live view "
                          "does: each level warms up for 10 s and is measured until two windows agree."));
    auto spin = [this](double max, const QString& suffix, const QString& tip) {
        auto* s = new QDoubleSpinBox(this);
        s->setRange(0, max);
        s->setDecimals(1);
        s->setSuffix(suffix);
        s->setSpecialValueText(tr("none"));
        s->setToolTip(tip);
        return s;
    };
    m_slo = spin(1e6, tr(" ms"), tr("Latency SLO on p95: drawn on the chart; the largest level that meets it is shown, and it caps the recommendation."));
    m_ttftSlo = spin(1e6, tr(" ms"), tr("Streaming models: SLO on p95 time to first token."));
    m_itlSlo = spin(1e6, tr(" ms"), tr("Streaming models: SLO on p95 time between tokens."));
    m_baseline = spin(1e6, tr(" req/s"), tr("Baseline traffic: min replicas = ceil(baseline / throughput at the target) + 1."));
    m_peak = spin(1e6, tr(" req/s"), tr("Peak traffic: max replicas = ceil(peak / throughput at the target) + 2."));
    auto seconds = [this](double value, double min, double max, const QString& tip) {
        auto* s = new QDoubleSpinBox(this);
        s->setRange(min, max);
        s->setDecimals(1);
        s->setValue(value);
        s->setSuffix(tr(" s"));
        s->setToolTip(tip);
        return s;
    };
    m_warmup = seconds(10, 0, 3600, tr("Each level runs this long before measuring starts; warm-up is never counted."));
    m_window = seconds(10, 0.1, 3600, tr("Shortest measurement window; a level ends when two consecutive windows agree within 5 %."));
    m_cap = seconds(300, 1, 86400, tr("Live and endpoint sweeps: a level that has not stabilised after this much measuring is reported as "
                                      "unstable. In virtual time a level stops after 30 windows of at least 200 responses."));
    m_repeats = new QSpinBox(this);
    m_repeats->setObjectName(QStringLiteral("sweepRepeats"));
    m_repeats->setRange(1, kMaxRepeats);
    m_repeats->setSuffix(tr(" ×"));
    m_repeats->setToolTip(tr("Measure each level this many times (in virtual time each with its own seed): the table shows a 95 % "
                             "interval over the repeats and whether they agree (stable) or not (noisy)."));
    m_starts = new QComboBox(this);
    m_starts->setObjectName(QStringLiteral("sweepStarts"));
    m_starts->addItem(tr("Automatic"), 0);
    m_starts->addItem(tr("1: all users at once"), 1);
    m_starts->addItem(tr("2: also two groups"), 2);
    m_starts->addItem(tr("3: also one by one"), 3);
    m_starts->setToolTip(tr("With dynamic batching a closed loop can settle in more than one steady state (the users' requests in one "
                            "batch, or in groups that take turns), set by how the users started. Each level of 2 users or more is "
                            "measured from this many starts (all at once; two groups half a round trip apart; one by one), and shows "
                            "the slowest when they disagree. Automatic: 3 in virtual time with dynamic batching, else 1; a live level "
                            "pays each start's time again. Endpoints start as their clients do."));
    m_searchSlo = new QCheckBox(this); // its words are the load's (updateLoad)
    m_searchSlo->setObjectName(QStringLiteral("sweepSearchSlo"));

    m_formToggle = new QToolButton(this);
    m_formToggle->setObjectName(QStringLiteral("sweepFormToggle"));
    m_formToggle->setCheckable(true);
    m_formToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_formToggle->setAutoRaise(true);
    m_formToggle->setText(tr("What to sweep"));
    connect(m_formToggle, &QToolButton::toggled, this, &SweepPage::setFormOpen);
    m_formSummary = new QLabel(this);
    m_formSummary->setObjectName(QStringLiteral("sweepFormSummary"));
    m_formSummary->setWordWrap(true);

    // The form scrolls inside its own area: the page never grows wider or taller than the window for it.
    auto* area = new QScrollArea(this);
    area->setObjectName(QStringLiteral("sweepForm"));
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    area->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    auto* body = new QWidget(area);
    auto* columns = new QHBoxLayout(body);
    columns->setContentsMargins(16, 0, 0, 0);
    auto* what = m_what = new QFormLayout();
    what->addRow(m_endpoint);
    what->addRow(tr("Load"), m_load);
    what->addRow(tr("Levels (users)"), m_levels);
    what->addRow(tr("Rates (req/s)"), m_rates);
    what->addRow(tr("Arrivals"), m_arrival);
    what->addRow(tr("Grid: predict_concurrency"), m_grid);
    what->addRow(tr("Run in"), m_mode);
    auto* goals = new QFormLayout();
    goals->addRow(tr("SLO, p95"), m_slo);
    goals->addRow(tr("SLO, TTFT p95"), m_ttftSlo);
    goals->addRow(tr("SLO, inter-token p95"), m_itlSlo);
    goals->addRow(m_searchSlo);
    goals->addRow(tr("Baseline traffic"), m_baseline);
    goals->addRow(tr("Peak traffic"), m_peak);
    auto* timing = new QFormLayout();
    timing->addRow(tr("Warm-up"), m_warmup);
    timing->addRow(tr("Window"), m_window);
    timing->addRow(tr("Cap per level"), m_cap);
    timing->addRow(tr("Repeats per level"), m_repeats);
    timing->addRow(tr("Starts per level"), m_starts);
    columns->addLayout(what, 3);
    auto* right = new QVBoxLayout();
    right->addLayout(goals);
    right->addLayout(timing);
    right->addStretch(1);
    columns->addLayout(right, 2);
    area->setWidget(body);
    m_formBody = area;
    updateLoad();
    setFormOpen(true);
    return m_formBody;
}

QWidget* SweepPage::buildChart()
{
    m_chart = new QChart();
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_x = new QLogValueAxis(m_chart);
    m_x->setBase(2);
    m_x->setLabelFormat(QStringLiteral("%g"));
    m_latencyAxis = new QValueAxis(m_chart);
    m_latencyAxis->setTitleText(tr("latency (ms)"));
    m_throughputAxis = new QValueAxis(m_chart);
    m_throughputAxis->setTitleText(tr("throughput (req/s)"));
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_latencyAxis, Qt::AlignLeft);
    m_chart->addAxis(m_throughputAxis, Qt::AlignRight);
    m_p50 = line(m_chart, tr("p50"), QColor(0x4a, 0x90, 0xd9));
    m_p95 = line(m_chart, tr("p95"), QColor(0xe0, 0xa3, 0x2e));
    m_p99 = line(m_chart, tr("p99"), QColor(0xd9, 0x5f, 0x5f));
    m_sent = line(m_chart, tr("sent (right)"), QColor(0x2a, 0x8f, 0xa8), Qt::DashDotDotLine); // under served, which hides it where they agree
    m_throughput = line(m_chart, tr("throughput (right)"), QColor(0x3f, 0xb3, 0x6b), Qt::DashLine);
    m_compare = line(m_chart, tr("compared"), QColor(0x90, 0x90, 0x90), Qt::DotLine);
    m_sloLine = new QLineSeries(m_chart);
    m_sloLine->setName(tr("SLO"));
    m_sloLine->setPen(QPen(QColor(0xd6, 0x45, 0x45), 1.5, Qt::DashDotLine));
    m_chart->addSeries(m_sloLine);
    m_knee = new QScatterSeries(m_chart);
    m_knee->setName(tr("p95 knee"));
    m_knee->setMarkerSize(16);
    m_knee->setColor(QColor(0x9b, 0x6b, 0xd6));
    m_chart->addSeries(m_knee);
    // On the throughput curve: where it saturates (the recommendation's rule) and where it bends.
    m_saturation = new QScatterSeries(m_chart);
    m_saturation->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    m_saturation->setMarkerSize(16);
    m_saturation->setColor(QColor(0x1f, 0x7a, 0x45));
    m_throughputKnee = new QScatterSeries(m_chart);
    m_throughputKnee->setName(tr("req/s bend"));
    m_throughputKnee->setMarkerSize(11);
    m_throughputKnee->setColor(QColor(0x8f, 0xd1, 0xa8));
    // Dynamic batching's other steady states: hollow marks above the throughput the curve shows (the slowest).
    m_otherStates = new QScatterSeries(m_chart);
    m_otherStates->setName(tr("other steady state"));
    m_otherStates->setMarkerSize(9);
    m_otherStates->setColor(QColor(0xfb, 0xe3, 0xbf));
    m_otherStates->setBorderColor(QColor(0xd9, 0x8c, 0x1f));
    m_otherStates->setPen(QPen(QColor(0xd9, 0x8c, 0x1f), 2));
    for (QScatterSeries* s : {m_saturation, m_throughputKnee, m_otherStates}) {
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_throughputAxis);
    }
    // The marks are named beside their points, not in the legend.
    m_throughputKnee->setPointLabelsFormat(tr("throughput bend @xPoint"));
    for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee}) {
        s->setPointLabelsVisible(true);
        s->setPointLabelsClipping(false);
        for (QLegendMarker* marker : m_chart->legend()->markers(s))
            marker->setVisible(false);
    }
    for (QLineSeries* s : {m_p50, m_p95, m_p99, m_sloLine}) {
        s->attachAxis(m_x);
        s->attachAxis(m_latencyAxis);
    }
    m_knee->attachAxis(m_x);
    m_knee->attachAxis(m_latencyAxis);
    for (QLineSeries* s : {m_throughput, m_sent}) {
        s->attachAxis(m_x);
        s->attachAxis(m_throughputAxis);
    }
    m_compare->attachAxis(m_x);
    m_compare->attachAxis(m_latencyAxis); // moved to the throughput axis when comparing throughput
    m_latencyAxis->setLabelFormat(QStringLiteral("%g"));
    m_throughputAxis->setLabelFormat(QStringLiteral("%g"));
    // The read-out: a level's figures under the mouse, on any of its points.
    for (QXYSeries* s : std::initializer_list<QXYSeries*>{m_p50, m_p95, m_p99, m_throughput, m_sent, m_knee, m_saturation, m_otherStates}) {
        connect(s, &QXYSeries::hovered, this, [this](const QPointF& point, bool state) {
            if (state)
                QToolTip::showText(QCursor::pos(), readoutAt(point.x()), m_view);
            else
                QToolTip::hideText();
        });
    }
    m_view = new QChartView(m_chart, this);
    m_view->setObjectName(QStringLiteral("sweepChart"));
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setMinimumSize(280, 200);

    m_popOut = new QPushButton(tr("Pop out"), this);
    m_popOut->setCheckable(true);
    m_popOut->setToolTip(tr("Show the chart in a window of its own (maximise it to enlarge); close it to bring it back"));
    connect(m_popOut, &QPushButton::toggled, this, &SweepPage::popOutChart);
    m_compareMetric = new QComboBox(this);
    m_compareMetric->addItem(tr("Compare p95"), QStringLiteral("p95"));
    m_compareMetric->addItem(tr("Compare p50"), QStringLiteral("p50"));
    m_compareMetric->addItem(tr("Compare p99"), QStringLiteral("p99"));
    m_compareMetric->addItem(tr("Compare throughput"), QStringLiteral("throughput"));
    m_compareMetric->setToolTip(tr("Which curve of the compared session (File ▸ Compare With Session) is drawn"));
    connect(m_compareMetric, &QComboBox::currentIndexChanged, this, &SweepPage::showComparison);
    m_clearCompare = new QPushButton(tr("Clear comparison"), this);
    connect(m_clearCompare, &QPushButton::clicked, this, &SweepPage::clearComparison);
    auto* tools = new QHBoxLayout();
    tools->addStretch(1);
    tools->addWidget(m_compareMetric);
    tools->addWidget(m_clearCompare);
    tools->addWidget(m_popOut);

    m_chartHolder = new QWidget(this);
    auto* layout = new QVBoxLayout(m_chartHolder);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(tools);
    layout->addWidget(m_view, 1);
    styleChart(m_chart, palette());
    for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee})
        s->setPointLabelsColor(palette().color(QPalette::Text));
    showAxisKind();
    return m_chartHolder;
}

void SweepPage::showAxisKind()
{
    const bool rates = m_shown.rateSweep();
    m_chart->setTitle(rates ? tr("Latency and throughput against the request rate") : tr("Latency and throughput against concurrency"));
    m_x->setTitleText(rates ? tr("request rate offered to one replica (req/s, log 2)") : tr("concurrent requests (log 2)"));
    m_throughput->setName(rates ? tr("served (right)") : tr("throughput (right)"));
    m_knee->setPointLabelsFormat(rates ? tr("p95 knee @xPoint req/s") : tr("p95 knee @xPoint"));
    // An open loop does not saturate: past its capacity the replica's queue grows.
    m_saturation->setName(rates ? tr("capacity") : tr("saturation"));
    m_saturation->setPointLabelsFormat(rates ? tr("capacity @xPoint req/s") : tr("saturation @xPoint"));
    m_sent->setVisible(rates);
    for (QLegendMarker* marker : m_chart->legend()->markers(m_sent))
        marker->setVisible(rates);
    if (m_popOutWindow)
        m_popOutWindow->setWindowTitle(m_chart->title());
}

void SweepPage::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange) {
        styleChart(m_chart, palette()); // the dark theme's chart is dark too
        for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee})
            s->setPointLabelsColor(palette().color(QPalette::Text));
    }
    QWidget::changeEvent(event);
}

void SweepPage::setFormOpen(bool open)
{
    if (m_formToggle->isChecked() != open)
        m_formToggle->setChecked(open); // comes back here through toggled
    m_formToggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
    m_formBody->setVisible(open);
    if (auto* area = qobject_cast<QScrollArea*>(m_formBody); area && area->widget())
        area->setMaximumHeight(std::min(220, area->widget()->sizeHint().height() + area->horizontalScrollBar()->sizeHint().height() + 2));
}

void SweepPage::updateLoad()
{
    const bool rates = m_load->currentData().toString() == QLatin1String("rates");
    m_what->setRowVisible(m_levels, !rates);
    m_what->setRowVisible(m_rates, rates);
    m_what->setRowVisible(m_arrival, rates);
    m_searchSlo->setText(rates ? tr("Find the largest rate meeting the SLOs") : tr("Find the largest concurrency meeting the SLOs"));
    m_searchSlo->setToolTip(rates ? tr("The rates stop at the first that misses an SLO (or fails requests, or is not served in full); then "
                                       "bisection between it and the last that met them, to within 5 % of the rate.")
                                  : tr("The levels stop at the first that misses an SLO (or fails requests, or falls past saturation); then "
                                       "bisection between it and the last that met them, down to one user."));
    m_grid->setPlaceholderText(rates ? tr("closed loop only: leave empty for a rate sweep") : tr("e.g. 1, 2, 4, 8 (empty: no grid)"));
    m_starts->setEnabled(!rates && !m_endpoint->endpointChosen()); // the built-in engine's closed loops only
    updateFormSummary();
}

void SweepPage::updateFormSummary()
{
    QString target = !m_endpoint->endpointChosen() ? tr("built-in engine, %1").arg(m_mode->currentText())
        : m_endpoint->locustChosen()
        ? tr("HTTP endpoint, load from Locust (%1%2)")
              .arg(counted(m_endpoint->workers()->value(), tr("worker"), tr("workers")),
                   m_endpoint->loadGenerator()->currentData().toString() == QLatin1String("locust-remote")
                       ? tr(" elsewhere, master here at %1:%2").arg(m_endpoint->masterHost()->text().trimmed()).arg(m_endpoint->masterPort()->value())
                       : QString())
        : tr("HTTP endpoint");
    QString text = m_load->currentData().toString() == QLatin1String("rates")
        ? tr("%1 · rates %2 req/s, %3 arrivals").arg(target, m_rates->text(), m_arrival->currentData().toString() == QLatin1String("constant")
                                                                                    ? tr("evenly spaced") : tr("Poisson"))
        : tr("%1 · levels %2").arg(target, m_levels->text());
    if (!m_grid->text().trimmed().isEmpty() && !m_endpoint->endpointChosen())
        text += tr(" · grid %1").arg(m_grid->text());
    text += m_slo->value() > 0 ? tr(" · SLO p95 %1 ms").arg(m_slo->value()) : tr(" · no SLO");
    if (m_searchSlo->isChecked())
        text += tr(" · SLO search");
    if (m_repeats->value() > 1)
        text += tr(" · %1 repeats").arg(m_repeats->value());
    if (m_starts->currentData().toInt() > 0 && m_load->currentData().toString() != QLatin1String("rates") && !m_endpoint->endpointChosen())
        text += tr(" · %1 per level").arg(counted(m_starts->currentData().toInt(), tr("start"), tr("starts")));
    m_formSummary->setText(text);
}

Scenario SweepPage::scenario() const { return m_provider ? m_provider() : Scenario(); }

std::optional<SweepOptions> SweepPage::readOptions(QString& error) const
{
    SweepOptions o;
    const bool rates = m_load->currentData().toString() == QLatin1String("rates");
    if (rates) { // the levels keep their defaults: a rate sweep does not read them
        for (const QString& part : m_rates->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const double v = part.trimmed().toDouble(&ok);
            if (!ok || !(v >= kMinSweepRateRps && v <= limits::kMaxRateRps)) {
                error = tr("Rates are requests per second from 0.001 to 10,000,000, separated by commas: '%1' is not")
                            .arg(part.trimmed());
                return std::nullopt;
            }
            o.rates.push_back(v);
        }
        if (o.rates.empty() || o.rates.size() > 32) {
            error = tr("Give between 1 and 32 rates");
            return std::nullopt;
        }
        o.constantArrivals = m_arrival->currentData().toString() == QLatin1String("constant");
    } else {
        o.levels.clear();
        for (const QString& part : m_levels->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int v = part.trimmed().toInt(&ok);
            if (!ok || v < 1 || v > 4096) {
                error = tr("Levels must be whole numbers from 1 to 4096, separated by commas: '%1' is not").arg(part.trimmed());
                return std::nullopt;
            }
            o.levels.push_back(v);
        }
        if (o.levels.empty() || o.levels.size() > 32) {
            error = tr("Give between 1 and 32 levels");
            return std::nullopt;
        }
    }
    o.sloMs = m_slo->value();
    o.ttftSloMs = m_ttftSlo->value();
    o.itlSloMs = m_itlSlo->value();
    o.warmupS = m_warmup->value();
    o.windowS = m_window->value();
    o.capS = m_cap->value();
    o.baselineRps = m_baseline->value();
    o.peakRps = m_peak->value();
    o.repeats = m_repeats->value();
    if (!m_endpoint->endpointChosen() && !rates) { // an endpoint's clients start as they do; a rate sweep has no users to start
        o.starts = m_starts->currentData().toInt();
        if (o.starts > 1 && o.repeats > 1) { // as knee sweep refuses it
            error = tr("Starts per level measures a level once from each start: set Repeats to 1, or Starts to Automatic");
            return std::nullopt;
        }
    }
    o.searchSlo = m_searchSlo->isChecked();
    if (o.searchSlo && o.sloMs <= 0 && o.ttftSloMs <= 0 && o.itlSloMs <= 0) {
        error = rates ? tr("Finding the largest rate that meets the SLOs needs an SLO: set p95, TTFT or inter-token")
                      : tr("Finding the largest concurrency that meets the SLOs needs an SLO: set p95, TTFT or inter-token");
        return std::nullopt;
    }
    return o;
}

std::optional<SweepRequest> SweepPage::request(QString& error) const
{
    error.clear();
    const auto options = readOptions(error);
    if (!options)
        return std::nullopt;
    std::optional<GridOptions> grid;
    if (options->rateSweep() && !m_grid->text().trimmed().isEmpty()) { // as knee sweep refuses it
        error = tr("The grid measures closed-loop levels of users (its concurrency targets): clear it to run a rate sweep, "
                   "or choose Load ▸ Closed loop: users");
        return std::nullopt;
    }
    if (!m_grid->text().trimmed().isEmpty()) {
        grid.emplace();
        grid->predictConcurrency.clear();
        for (const QString& part : m_grid->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int v = part.trimmed().toInt(&ok);
            if (!ok || v < 1 || v > 4096) {
                error = tr("Grid values must be whole numbers from 1 to 4096: '%1' is not").arg(part.trimmed());
                return std::nullopt;
            }
            grid->predictConcurrency.push_back(v);
        }
        if (options->repeats > 1 || options->searchSlo) { // as knee sweep refuses it
            error = tr("The grid measures each cell once at the listed levels: set Repeats to 1 and leave the SLO search off "
                       "to run a grid");
            return std::nullopt;
        }
        grid->targets = options->levels;
        grid->level = *options;
    }
    const std::optional<net::HttpTarget> endpoint = m_endpoint->target(error);
    if (!error.isEmpty())
        return std::nullopt;
    const bool live = m_mode->currentData().toString() == QLatin1String("live");
    // The one sweep starter of the CLI and the window (engine/runs).
    // The process's predict backend, set up on first use, on the sweep's thread.
    SweepRequest request{scenario(), *options, live, endpoint, {}, grid, [] { return &sharedPredictBackend(); }, {}, nullptr, {}};
    if (endpoint && m_endpoint->locustChosen()) { // issue 18: Locust's master and workers send the load
        request.locust = m_endpoint->locust(error);
        if (!request.locust)
            return std::nullopt;
    }
    if (endpoint) {
        request.scrape = m_endpoint->scraper(*endpoint, error);
        if (!error.isEmpty())
            return std::nullopt;
    }
    if (const QString why = checkSweepRequest(request); !why.isEmpty()) {
        error = why.left(1).toUpper() + why.mid(1);
        return std::nullopt;
    }
    if (endpoint) { // the key is read here, on the UI thread; it lives only in the sweep's client (or Locust's workers' environment)
        const net::ApiKey key = net::resolveApiKey(endpoint->apiKeySource);
        if (!key.error.isEmpty()) {
            error = key.error;
            return std::nullopt;
        }
        request.apiKey = key.key;
    }
    return request;
}

void SweepPage::run()
{
    if (m_watcher.isRunning())
        return;
    QString error;
    std::optional<SweepRequest> made = request(error);
    if (!made) {
        m_status->setText(error);
        setFormOpen(true);
        return;
    }
    SweepRequest& request = *made;
    const SweepOptions& options = request.options;
    const bool live = request.live;
    const bool endpoint = request.endpoint.has_value();
    m_running = request.options;
    m_runningLocustWorkers = request.locust ? request.locust->workers : 0;
    m_runningLocustMaster.clear();
    m_locustListening = std::make_shared<std::atomic<bool>>(false);
    if (request.locust && request.locust->remoteWorkers()) {
        m_runningLocustMaster = QStringLiteral("%1:%2").arg(request.locust->masterHost).arg(request.locust->masterPort);
        request.locust->announce = [listening = m_locustListening](const QString&) { listening->store(true); };
    }
    if (live && !endpoint) { // the GPUs as NVML sees them, per level (nothing where there is no driver)
        if (!m_gpus) {
            m_gpus = std::make_unique<telemetry::GpuSampler>(telemetry::GpuSampler::kDefaultPeriodMs);
            m_gpus->start();
        }
        request.gpus = m_gpus.get();
    }
    m_shown = options;
    clearChart();
    m_heatMap->clear();
    m_heatMap->setVisible(request.grid.has_value());
    m_progress->setRange(0, int(options.rateSweep() ? options.rates.size() : options.levels.size()));
    m_progress->setValue(0);
    m_run->setEnabled(false);
    m_cancel->setEnabled(true);
    m_runningLive = live || endpoint;
    m_levelNow = std::make_shared<std::atomic<double>>(0.0);
    request.options.levelStarting = [now = m_levelNow](double level) { now->store(level); };
    m_gridNow = std::make_shared<std::atomic<bool>>(false);
    request.options.gridStarting = [grid = m_gridNow] { grid->store(true); };
    m_runClock.start();
    m_levelClock.start();
    m_progressTimer->start();
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false); // before the first progress text: a new sweep is not cancelling
    updateProgress();
    const auto flag = m_cancelFlag;
    if (request.locust) // Cancel also ends the wait for Locust's workers (up to the connect wait)
        request.locust->cancelled = [flag] { return flag->load(); };
    QPointer<SweepPage> self(this);
    m_watcher.setFuture(QtConcurrent::run([request, flag, self] {
        const auto progress = [flag, self](const SweepLevel& level) {
            // Levels reach the chart as they finish; the sweep never waits for the UI.
            QMetaObject::invokeMethod(self, [self, level] {
                if (self) {
                    self->addLevel(level);
                    emit self->levelFinished(level.open() ? QString::fromStdString(formatRate(level.rateRps)) : QString::number(level.concurrency));
                }
            });
            return !flag->load();
        };
        // An endpoint's client lives on this pool thread, whose local event loops run its requests.
        return runSweepRequest(request, progress, [flag](const GridCell&) { return !flag->load(); });
    }));
    updateTwinButton(); // no twin of a sweep being measured
}

// The running sweep in words: the level it measures, how many are done, and for live and endpoint
// sweeps (minutes long) an estimate of the time left from the levels so far.
void SweepPage::updateProgress()
{
    if (!m_watcher.isRunning() && !m_progressTimer->isActive())
        return;
    // The listed levels (users, or rates) in the order the sweep measures them; past them, a level it
    // added: twice the largest so far, as it doubles to reach saturation (or the capacity).
    const bool rates = m_running.rateSweep();
    std::vector<double> listed = rates ? m_running.rates : std::vector<double>(m_running.levels.begin(), m_running.levels.end());
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    const int done = int(m_shownLevels.size());
    const int total = std::max(int(listed.size()), done + 1);
    // The level the sweep said it started; before it says, the first listed. Once that level has finished
    // and the next has not said so yet: the next listed, or (searching, or past the list) not known yet.
    double next = m_levelNow ? m_levelNow->load() : 0;
    const bool grid = m_gridNow && m_gridNow->load(); // the sweep's levels are done: the predict_concurrency grid runs
    if (next <= 0)
        next = listed.empty() ? 1 : listed.front();
    else if (!m_shownLevels.empty() && m_shownLevels.back().axis() == next)
        next = !m_running.searchSlo && done < int(listed.size()) ? listed[std::size_t(done)] : 0;
    const bool added = next > 0 && std::find(listed.begin(), listed.end(), next) == listed.end();
    const QString level = next <= 0 ? tr("the next level")
        : rates                     ? tr("rate %1").arg(QString::fromStdString(formatRate(next)))
                                    : tr("level %1").arg(next);
    // The bar counts the listed levels; how many the SLO search, a doubling or the grid still adds is not
    // known, so it is busy while they run instead of sitting full.
    const bool lengthKnown = !grid && !added && (next > 0 || (!m_running.searchSlo && done < int(listed.size())));
    if (!lengthKnown)
        m_progress->setRange(0, 0);
    else {
        m_progress->setRange(0, total);
        m_progress->setValue(done);
    }
    QString text;
    const QString locust = m_runningLocustWorkers > 0
        ? tr("Locust's master and %1").arg(counted(m_runningLocustWorkers, tr("worker"), tr("workers")))
        : QString();
    const bool locustStarting = !locust.isEmpty() && !m_cancelFlag->load() && done == 0 && m_levelNow && m_levelNow->load() <= 0;
    if (locustStarting && !m_runningLocustMaster.isEmpty())
        text = m_locustListening && m_locustListening->load()
            ? tr("Waiting for %1 to connect to %2 (Cancel stops waiting): on each load machine run run-worker.sh from %3, or "
                 "kubectl apply -f %3/locust-workers.yaml")
                  .arg(counted(m_runningLocustWorkers, tr("worker"), tr("workers")), m_runningLocustMaster, EndpointPanel::locustFilesDir())
            : tr("Starting Locust's master here for %1 elsewhere").arg(counted(m_runningLocustWorkers, tr("worker"), tr("workers")));
    else if (locustStarting)
        text = tr("Starting %1 on this machine (they send the load; knee measures)").arg(locust);
    else if (grid)
        text = m_cancelFlag->load() ? tr("Cancelling… the grid's cell finishes first")
                                    : tr("Measuring the predict_concurrency grid (%1 levels measured)").arg(done);
    else if (m_cancelFlag->load())
        text = tr("Cancelling… %1 finishes first").arg(level);
    else if (next <= 0)
        text = tr("Starting %1 (%2 measured)").arg(level).arg(done);
    else if (added) // a level the sweep chose: the SLO search's bisection, or a doubling towards saturation
        text = tr("Measuring %1, added by the %2 (%3 measured)")
                   .arg(level, m_running.searchSlo ? tr("SLO search") : rates ? tr("search for the capacity") : tr("search for saturation"))
                   .arg(done);
    else
        text = tr("Measuring %1 (%2 of %3)").arg(level).arg(done + 1).arg(total);
    if (!locust.isEmpty() && !locustStarting)
        text += tr(" · load from %1").arg(locust);
    if (m_runningLive && !m_cancelFlag->load() && lengthKnown) {
        // Before a level has finished: its warm-up plus the minimum number of windows.
        const double perLevel = done > 0 ? double(m_runClock.elapsed()) / 1000 / done
                                         : m_running.warmupS + m_running.minWindows * m_running.windowS;
        const double left = std::max(0.0, perLevel * (total - done) - double(m_levelClock.elapsed()) / 1000);
        text += tr(" · about %1 left").arg(duration(left));
    } else if (!m_cancelFlag->load() && !m_runningLive) {
        text += tr(" · virtual time");
    }
    m_status->setText(text);
}

void SweepPage::cancel()
{
    if (!m_watcher.isRunning())
        return;
    m_cancelFlag->store(true);
    m_cancel->setEnabled(false);
    m_cancel->setText(tr("Cancelling…"));
    updateProgress();
}

void SweepPage::popOutChart(bool out)
{
    if (out == chartPoppedOut())
        return;
    if (out) {
        m_popOutWindow = new QWidget(nullptr, Qt::Window);
        m_popOutWindow->setWindowTitle(m_chart->title());
        auto* layout = new QVBoxLayout(m_popOutWindow);
        layout->setContentsMargins(0, 0, 0, 0);
        layout->addWidget(m_view); // the chart moves; closing the window brings it back
        m_popOutWindow->resize(1000, 700);
        m_popOutWindow->installEventFilter(this);
        m_popOutWindow->show();
    } else {
        QWidget* window = m_popOutWindow;
        m_popOutWindow = nullptr;
        m_chartHolder->layout()->addWidget(m_view);
        m_view->show();
        if (window)
            window->deleteLater();
    }
    if (m_popOut->isChecked() != out)
        m_popOut->setChecked(out);
}

bool SweepPage::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_popOutWindow && event->type() == QEvent::Close)
        popOutChart(false); // the chart comes home before its window goes
    return QWidget::eventFilter(watched, event);
}

bool SweepPage::chartPoppedOut() const { return m_popOutWindow != nullptr; }

} // namespace knee::ui
