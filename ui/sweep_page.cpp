#include "sweep_page.h"

#include "endpoint_panel.h"
#include "heat_map.h"
#include "sweep_evidence.h"

#include "io/truss_config.h"
#include "session/output_file.h"
#include "live/live_sweep.h"
#include "net/http_sweep.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QBuffer>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QPainter>
#include <QSvgGenerator>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QSplitter>
#include <QTextBrowser>
#include <QValueAxis>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace knee::ui {

namespace {
QString sentence(const QString& message) { return message.isEmpty() ? message : message.left(1).toUpper() + message.mid(1); }
// Every export goes through the one writer of user files: whole or not at all, the old file kept.
QString writeFile(const QString& path, const QByteArray& bytes) { return sentence(writeOutputFile(path, bytes)); }
QLineSeries* line(QChart* chart, const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine)
{
    auto* s = new QLineSeries(chart);
    s->setName(name);
    s->setPen(QPen(color, 2, style));
    s->setPointsVisible(true);
    chart->addSeries(s);
    return s;
}
} // namespace

SweepPage::SweepPage(QWidget* parent)
    : QWidget(parent)
    , m_cancelFlag(std::make_shared<std::atomic<bool>>(false))
{
    setObjectName(QStringLiteral("sweepPage"));
    m_levels = new QLineEdit(QStringLiteral("1, 2, 4, 8, 16, 32, 64, 128"), this);
    m_levels->setToolTip(tr("Closed-loop concurrency levels to measure, one replica each (seed 000's benchmarking process)."));
    m_grid = new QLineEdit(this);
    m_grid->setPlaceholderText(tr("e.g. 1, 2, 4, 8 (empty: no grid)"));
    m_grid->setToolTip(tr("predict_concurrency values to measure against each level as the concurrency target; the best "
                          "cell at the recommended target sets the recommended predict_concurrency."));
    m_heatMap = new HeatMap(this);
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
    m_slo = spin(1e6, tr(" ms"), tr("Latency SLO on p95: the largest level that meets it is shown, and it caps the recommendation."));
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
    m_run = new QPushButton(tr("&Run sweep"), this);
    m_run->setToolTip(tr("Run the sweep in virtual time on the current scenario and knobs"));
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_status = new QLabel(this);
    auto* form = new QFormLayout();
    form->addRow(tr("Levels"), m_levels);
    form->addRow(tr("Grid: predict_concurrency"), m_grid);
    form->addRow(tr("Run in"), m_mode);
    form->addRow(tr("SLO (p95)"), m_slo);
    auto* streaming = new QHBoxLayout();
    streaming->addWidget(m_ttftSlo);
    streaming->addWidget(m_itlSlo);
    form->addRow(tr("Streaming: TTFT, inter-token"), streaming);
    form->addRow(tr("Baseline"), m_baseline);
    form->addRow(tr("Peak"), m_peak);
    auto* timing = new QHBoxLayout();
    timing->addWidget(m_warmup);
    timing->addWidget(m_window);
    timing->addWidget(m_cap);
    form->addRow(tr("Warm-up, window, cap"), timing);
    auto* buttons = new QHBoxLayout();
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_progress, 1);
    auto* exportRow = new QHBoxLayout();
    for (auto [label, fn] : {std::pair{tr("Export config.yaml…"), &SweepPage::exportConfigYaml},
                             std::pair{tr("Export autoscaling…"), &SweepPage::exportAutoscaling},
                             std::pair{tr("Export CSV…"), &SweepPage::exportCsv}, std::pair{tr("Save chart…"), &SweepPage::exportChart}}) {
        auto* b = new QPushButton(label, this);
        connect(b, &QPushButton::clicked, this, [this, fn] {
            if (const QString e = (this->*fn)({}); !e.isEmpty())
                m_status->setText(e);
        });
        exportRow->addWidget(b);
    }
    exportRow->addStretch(1);

    m_chart = new QChart();
    m_chart->setTitle(tr("Latency and throughput against concurrency"));
    m_x = new QLogValueAxis(m_chart);
    m_x->setBase(2);
    m_x->setLabelFormat(QStringLiteral("%g"));
    m_x->setTitleText(tr("concurrent requests (log 2)"));
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
    m_throughput = line(m_chart, tr("throughput (right)"), QColor(0x3f, 0xb3, 0x6b), Qt::DashLine);
    m_compareP95 = line(m_chart, tr("p95, compared session"), QColor(0x90, 0x90, 0x90), Qt::DotLine);
    m_knee = new QScatterSeries(m_chart);
    m_knee->setName(tr("p95 knee"));
    m_knee->setMarkerSize(16);
    m_knee->setColor(QColor(0x9b, 0x6b, 0xd6));
    m_chart->addSeries(m_knee);
    // On the throughput curve: where it saturates (the recommendation's rule) and where it bends.
    m_saturation = new QScatterSeries(m_chart);
    m_saturation->setName(tr("saturation"));
    m_saturation->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    m_saturation->setMarkerSize(16);
    m_saturation->setColor(QColor(0x1f, 0x7a, 0x45));
    m_throughputKnee = new QScatterSeries(m_chart);
    m_throughputKnee->setName(tr("req/s bend"));
    m_throughputKnee->setMarkerSize(11);
    m_throughputKnee->setColor(QColor(0x8f, 0xd1, 0xa8));
    for (QScatterSeries* s : {m_saturation, m_throughputKnee}) {
        m_chart->addSeries(s);
        s->attachAxis(m_x);
        s->attachAxis(m_throughputAxis);
    }
    // The marks are named beside their points, not in the legend (which has no room for seven names).
    m_knee->setPointLabelsFormat(tr("p95 knee @xPoint"));
    m_saturation->setPointLabelsFormat(tr("saturation @xPoint"));
    m_throughputKnee->setPointLabelsFormat(tr("throughput bend @xPoint"));
    for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee}) {
        s->setPointLabelsVisible(true);
        s->setPointLabelsClipping(false);
        for (QLegendMarker* marker : m_chart->legend()->markers(s))
            marker->setVisible(false);
    }
    for (QLineSeries* s : {m_p50, m_p95, m_p99, m_compareP95}) {
        s->attachAxis(m_x);
        s->attachAxis(m_latencyAxis);
    }
    m_knee->attachAxis(m_x);
    m_knee->attachAxis(m_latencyAxis);
    m_throughput->attachAxis(m_x);
    m_throughput->attachAxis(m_throughputAxis);
    m_latencyAxis->setLabelFormat(QStringLiteral("%g"));
    m_throughputAxis->setLabelFormat(QStringLiteral("%g"));
    m_compareP95->setVisible(false); // until a session is compared
    for (QLegendMarker* marker : m_chart->legend()->markers(m_compareP95))
        marker->setVisible(false);
    m_view = new QChartView(m_chart, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setMinimumHeight(260);
    m_evidence = new QTextBrowser(this);
    m_evidence->setObjectName(QStringLiteral("sweepEvidence"));

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addWidget(m_endpoint);
    leftLayout->addLayout(form);
    leftLayout->addLayout(buttons);
    leftLayout->addWidget(m_status);
    leftLayout->addWidget(m_evidence, 1);
    auto* right = new QSplitter(Qt::Vertical, this);
    right->addWidget(m_view);
    right->addWidget(m_heatMap);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    right->setSizes({420, 260}); // the curve first; the grid below it
    auto* splitter = new QSplitter(this);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter, 1);
    layout->addLayout(exportRow);

    connect(m_endpoint, &EndpointPanel::targetChanged, this, [this] {
        // Virtual/live time and the predict_concurrency grid are the built-in engine's.
        m_mode->setEnabled(!m_endpoint->endpointChosen());
        m_grid->setEnabled(!m_endpoint->endpointChosen());
    });
    connect(m_run, &QPushButton::clicked, this, &SweepPage::run);
    connect(m_cancel, &QPushButton::clicked, this, &SweepPage::cancel);
    connect(&m_watcher, &QFutureWatcher<PageRun>::finished, this, [this] {
        PageRun run = m_watcher.result();
        SweepResult& r = run.sweep;
        m_heatMap->clear();
        if (run.grid)
            showGrid(*run.grid, run.options, r); // may set the recommended predict_concurrency
        m_sweeps.push_back({run.options, r});
        if (run.grid)
            m_grids.push_back({*run.gridOptions, *run.grid});
        showResult(r, run.options);
        m_run->setEnabled(true);
        m_cancel->setEnabled(false);
        m_status->setText(r.cancelled ? tr("Cancelled: %1 levels kept").arg(r.levels.size())
                                      : tr("%1 levels in %2 s of wall time (%3 time)")
                                            .arg(r.levels.size())
                                            .arg(r.wallS, 0, 'f', 2)
                                            .arg(QString::fromStdString(r.mode)));
        emit sweepFinished();
    });
    clearChart();
}

SweepPage::~SweepPage()
{
    m_cancelFlag->store(true);
    m_watcher.waitForFinished();
}

void SweepPage::setScenario(const Scenario& scenario) { m_scenario = scenario; }

std::optional<SweepOptions> SweepPage::readOptions(QString& error) const
{
    SweepOptions o;
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
    o.sloMs = m_slo->value();
    o.ttftSloMs = m_ttftSlo->value();
    o.itlSloMs = m_itlSlo->value();
    o.warmupS = m_warmup->value();
    o.windowS = m_window->value();
    o.capS = m_cap->value();
    o.baselineRps = m_baseline->value();
    o.peakRps = m_peak->value();
    return o;
}

void SweepPage::run()
{
    if (m_watcher.isRunning())
        return;
    QString error;
    const auto options = readOptions(error);
    if (!options) {
        m_status->setText(error);
        return;
    }
    m_running = *options;
    std::optional<GridOptions> grid;
    if (!m_grid->text().trimmed().isEmpty()) {
        grid.emplace();
        grid->predictConcurrency.clear();
        for (const QString& part : m_grid->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int v = part.trimmed().toInt(&ok);
            if (!ok || v < 1 || v > 4096) {
                m_status->setText(tr("Grid values must be whole numbers from 1 to 4096: '%1' is not").arg(part.trimmed()));
                return;
            }
            grid->predictConcurrency.push_back(v);
        }
        grid->targets = options->levels;
        grid->level = *options;
    }
    QString targetError;
    const std::optional<net::HttpTarget> endpoint = m_endpoint->target(targetError);
    if (!targetError.isEmpty()) {
        m_status->setText(targetError);
        return;
    }
    QByteArray apiKey; // read here, on the UI thread; it lives only in the sweep's client
    if (endpoint) {
        if (grid) {
            m_status->setText(tr("The grid varies the built-in engine's predict_concurrency: clear it to sweep an endpoint"));
            return;
        }
        const net::ApiKey key = net::resolveApiKey(endpoint->apiKeySource);
        if (!key.error.isEmpty()) {
            m_status->setText(key.error);
            return;
        }
        apiKey = key.key;
    }
    if (m_provider)
        m_scenario = m_provider();
    clearChart();
    m_progress->setRange(0, int(options->levels.size()));
    m_heatMap->clear();
    m_progress->setValue(0);
    m_run->setEnabled(false);
    m_cancel->setEnabled(true);
    const bool live = m_mode->currentData().toString() == QLatin1String("live");
    m_status->setText(endpoint ? tr("Sweeping the endpoint (real time)…") : live ? tr("Sweeping in live time…") : tr("Sweeping in virtual time…"));
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    const auto flag = m_cancelFlag;
    QPointer<SweepPage> self(this);
    m_watcher.setFuture(QtConcurrent::run([scenario = m_scenario, o = *options, grid, flag, self, live, endpoint, apiKey] {
        PageRun run;
        run.options = o;
        run.gridOptions = grid;
        const auto progress = [flag, self](const SweepLevel& level) {
            // Levels reach the chart as they finish; the sweep never waits for the UI.
            QMetaObject::invokeMethod(self, [self, level] {
                if (self) {
                    self->addLevel(level);
                    emit self->levelFinished(level.concurrency);
                }
            });
            return !flag->load();
        };
        if (endpoint) { // the client lives on this pool thread, whose local event loops run its requests
            net::HttpClient client(*endpoint, apiKey);
            run.sweep = net::runHttpSweep(client, scenario, o, progress);
            return run;
        }
        auto sweep = live ? &runLiveSweep : &runVirtualSweep;
        run.sweep = sweep(scenario, o, progress);
        if (grid && !run.sweep.cancelled) {
            GridOptions g = *grid;
            if (const int t = run.sweep.recommendation.concurrencyTarget; t > 0 && std::find(g.targets.begin(), g.targets.end(), t) == g.targets.end())
                g.targets.push_back(t); // a level the sweep added: the grid's choice is made in its column
            run.gridOptions = g;
            run.grid = runGrid(scenario, g, live ? LevelDriverFactory(makeLiveDriver) : LevelDriverFactory(makeVirtualDriver),
                               [flag](const GridCell&) { return !flag->load(); });
        }
        return run;
    }));
}

void SweepPage::cancel() { m_cancelFlag->store(true); }

void SweepPage::clearChart()
{
    for (QLineSeries* s : {m_p50, m_p95, m_p99, m_throughput})
        s->clear();
    for (QScatterSeries* s : {m_knee, m_saturation, m_throughputKnee})
        s->clear();
    m_markedKnee.reset();
    m_markedSaturation.reset();
    m_evidence->clear();
    m_x->setRange(1, 128);
    m_latencyAxis->setRange(0, 1);
    m_throughputAxis->setRange(0, 1);
}

void SweepPage::addLevel(const SweepLevel& l)
{
    const double x = l.concurrency;
    m_p50->append(x, l.latency.p50);
    m_p95->append(x, l.latency.p95);
    m_p99->append(x, l.latency.p99);
    m_throughput->append(x, l.throughputRps);
    double maxLatency = 1, maxThroughput = 1, maxX = 2;
    for (const QPointF& p : m_p99->points())
        maxLatency = std::max(maxLatency, p.y());
    for (const QPointF& p : m_compareP95->points())
        maxLatency = std::max(maxLatency, p.y());
    for (const QPointF& p : m_throughput->points()) {
        maxThroughput = std::max(maxThroughput, p.y());
        maxX = std::max(maxX, p.x());
    }
    m_x->setRange(1, std::pow(2.0, std::ceil(std::log2(maxX))));
    m_latencyAxis->setRange(0, maxLatency * 1.1);
    m_latencyAxis->applyNiceNumbers();
    m_throughputAxis->setRange(0, maxThroughput * 1.1);
    m_throughputAxis->applyNiceNumbers();
    m_progress->setMaximum(std::max(m_progress->maximum(), m_progress->value() + 1)); // levels a virtual sweep added
    m_progress->setValue(m_progress->value() + 1);
}

void SweepPage::showResult(const SweepResult& r, const SweepOptions& o)
{
    clearChart();
    m_progress->setRange(0, int(r.levels.size()));
    m_progress->setValue(0);
    for (const SweepLevel& l : r.levels)
        addLevel(l);
    const KneeAnalysis& a = r.analysis;
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
}

void SweepPage::showGrid(const GridResult& grid, const SweepOptions& options, SweepResult& sweep)
{
    // The grid's choice in the recommended target's column: a predict_concurrency above the target
    // would never be reached.
    m_heatMap->setGrid(grid, applyGridChoice(sweep, grid, options.sloMs));
}

void SweepPage::setSweeps(std::vector<SessionSweep> sweeps, std::vector<SessionGrid> grids)
{
    m_sweeps = std::move(sweeps);
    m_grids = std::move(grids);
    m_heatMap->clear();
    if (!m_grids.empty() && !m_sweeps.empty())
        showGrid(m_grids.back().result, m_sweeps.back().options, m_sweeps.back().result);
    clearChart();
    if (const SessionSweep* s = current()) {
        QStringList levels;
        for (int l : s->options.levels)
            levels << QString::number(l);
        m_levels->setText(levels.join(QStringLiteral(", ")));
        m_slo->setValue(s->options.sloMs);
        m_ttftSlo->setValue(s->options.ttftSloMs);
        m_itlSlo->setValue(s->options.itlSloMs);
        m_warmup->setValue(s->options.warmupS);
        m_window->setValue(s->options.windowS);
        m_cap->setValue(s->options.capS);
        m_mode->setCurrentIndex(m_mode->findData(QString::fromStdString(s->result.mode)));
        m_baseline->setValue(s->options.baselineRps);
        m_peak->setValue(s->options.peakRps);
        showResult(s->result, s->options);
    }
}

void SweepPage::setComparison(const QString& label, const std::vector<SessionSweep>& other)
{
    m_compareP95->clear();
    m_compareP95->setName(tr("p95, %1").arg(label));
    if (!other.empty())
        for (const SweepLevel& l : other.back().result.levels)
            m_compareP95->append(l.concurrency, l.latency.p95);
    const bool shown = m_compareP95->count() > 0;
    m_compareP95->setVisible(shown);
    for (QLegendMarker* marker : m_chart->legend()->markers(m_compareP95))
        marker->setVisible(shown);
}

QString SweepPage::evidenceText() const { return m_evidence->toPlainText(); }
int SweepPage::plottedLevels() const { return int(m_p95->count()); }

QString SweepPage::exportConfigYaml(const QString& given)
{
    const SessionSweep* s = current();
    if (!s || s->result.recommendation.predictConcurrency < 1)
        return tr("Run a sweep first: there is nothing to export yet.");
    const QString path = given.isEmpty() ? QFileDialog::getSaveFileName(this, tr("Export into Truss config.yaml"), QStringLiteral("config.yaml"),
                                                                         tr("Truss config (*.yaml *.yml)"), nullptr, QFileDialog::DontConfirmOverwrite)
                                         : given;
    if (path.isEmpty())
        return {};
    // The same read, edit, check and write as `knee sweep --export`.
    const TrussFileExport e = exportIntoTrussConfig(path, s->result.recommendation.predictConcurrency, m_scenario.name);
    if (!e.notes.empty())
        m_status->setText(e.notes.front());
    return sentence(e.error);
}

QString SweepPage::exportAutoscaling(const QString& given)
{
    const SessionSweep* s = current();
    if (!s || s->result.recommendation.concurrencyTarget < 1)
        return tr("Run a sweep with a usable level first: there is no concurrency target to export.");
    QString filter;
    const QString path = given.isEmpty() ? QFileDialog::getSaveFileName(this, tr("Export autoscaling settings"), QStringLiteral("autoscaling.json"),
                                                                         tr("Baseten API body (*.json);;Knative Service (*.yaml)"), &filter)
                                         : given;
    if (path.isEmpty())
        return {};
    const Recommendation& rec = s->result.recommendation;
    const AutoscalingSettings as = autoscalingSettings(m_scenario.deployment, rec.concurrencyTarget,
                                                       rec.replicas ? std::optional(rec.replicas->minReplicas) : std::nullopt,
                                                       rec.replicas ? std::optional(rec.replicas->maxReplicas) : std::nullopt);
    const bool knative = path.endsWith(QLatin1String(".yaml")) || path.endsWith(QLatin1String(".yml"));
    return writeFile(path, QByteArray::fromStdString(knative ? knativeServiceYaml(as, m_scenario.name) : basetenAutoscalingJson(as)));
}

QString SweepPage::exportCsv(const QString& given)
{
    const SessionSweep* s = current();
    if (!s)
        return tr("Run a sweep first: there is nothing to export yet.");
    const QString path = given.isEmpty() ? QFileDialog::getSaveFileName(this, tr("Export sweep points"), QStringLiteral("sweep.csv"), tr("CSV (*.csv)"))
                                         : given;
    if (path.isEmpty())
        return {};
    const QByteArray text = QByteArray::fromStdString(sweepPointsCsv(s->result));
    return writeFile(path, text);
}

QString SweepPage::exportChart(const QString& given)
{
    const QString path = given.isEmpty() ? QFileDialog::getSaveFileName(this, tr("Save chart"), QStringLiteral("knee.png"),
                                                                         tr("PNG image (*.png);;SVG drawing (*.svg)"))
                                         : given;
    if (path.isEmpty())
        return {};
    // Drawn into memory, then written like every other export.
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator svg; // vector output: the chart scales in documents and slides
        svg.setOutputDevice(&buffer);
        svg.setSize(m_view->size());
        svg.setViewBox(QRect(QPoint(0, 0), m_view->size()));
        svg.setTitle(m_chart->title());
        QPainter painter;
        if (!painter.begin(&svg))
            return tr("Cannot draw the chart");
        m_view->render(&painter);
        painter.end();
    } else if (!m_view->grab().save(&buffer, "PNG")) {
        return tr("Cannot draw the chart");
    }
    return writeFile(path, bytes);
}

} // namespace knee::ui
