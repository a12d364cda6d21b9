#include "endpoint_panel.h"

#include "io/user_file.h"
#include "net/http_sweep.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QSpinBox>
#include <QFormLayout>
#include <QHostInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QThread>

#include <algorithm>

namespace knee::ui {

EndpointPanel::EndpointPanel(QWidget* parent)
    : QWidget(parent)
    , m_choice(new QComboBox(this))
    , m_url(new QLineEdit(this))
    , m_kind(new QComboBox(this))
    , m_stream(new QCheckBox(tr("Stream"), this))
    , m_keyVariable(new QLineEdit(this))
    , m_maxTokens(new QSpinBox(this))
    , m_headers(new QLineEdit(this))
    , m_bodyTemplate(new QLineEdit(this))
    , m_scrape(new QCheckBox(tr("Scrape the server's /metrics"), this))
    , m_metricsUrl(new QLineEdit(this))
    , m_extraMetrics(new QLineEdit(this))
    , m_browse(new QPushButton(tr("Browse…"), this))
    , m_test(new QPushButton(tr("Test connection"), this))
    , m_result(new QLabel(this))
    , m_generator(new QComboBox(this))
    , m_workers(new QSpinBox(this))
    , m_locustWait(new QSpinBox(this))
    , m_locustSpool(new QLineEdit(this))
    , m_spoolBrowse(new QPushButton(tr("Browse…"), this))
    , m_locustSpoolRow(new QWidget(this))
    , m_locustNote(new QLabel(this))
    , m_masterHost(new QLineEdit(this))
    , m_masterPort(new QSpinBox(this))
    , m_masterRow(new QWidget(this))
{
    setObjectName(QStringLiteral("endpointPanel"));
    m_choice->addItem(tr("Built-in engine"), QStringLiteral("engine"));
    m_choice->addItem(tr("HTTP endpoint"), QStringLiteral("endpoint"));
    m_choice->setToolTip(tr("Sweep the built-in engine (the knobs on the left), or a deployed model over HTTP."));
    m_url->setPlaceholderText(QStringLiteral("http://127.0.0.1:8080/v1/chat/completions"));
    m_url->setToolTip(tr("The endpoint: generic JSON POST, or OpenAI-compatible chat/completions (knee serve offers both)."));
    m_kind->addItem(tr("Generic JSON"), int(net::HttpTarget::Kind::Generic));
    m_kind->addItem(tr("OpenAI-compatible"), int(net::HttpTarget::Kind::OpenAI));
    m_stream->setToolTip(tr("OpenAI: stream responses, measuring time to first token and inter-token latency."));
    m_keyVariable->setPlaceholderText(tr("e.g. OPENAI_API_KEY, or keychain:SERVICE/KEY (optional)"));
    m_keyVariable->setToolTip(tr("Where the API key is: the name of an environment variable, or keychain:SERVICE/KEY for the "
                                 "system keychain. Only this is kept; the key is sent to this endpoint's host only, never saved "
                                 "or shown."));
    m_maxTokens->setRange(1, 1'000'000);
    m_maxTokens->setValue(net::HttpTarget{}.maxTokens);
    m_maxTokens->setToolTip(tr("max_tokens of each request (OpenAI, and {{max_tokens}} in a body template)."));
    m_headers->setPlaceholderText(tr("e.g. X-Team: serving; Accept: application/json"));
    m_headers->setToolTip(tr("Extra headers sent with every request, 'Name: value' separated by ';'. Put the API key in the "
                             "key field, not here: headers are stored with the session."));
    m_bodyTemplate->setPlaceholderText(tr("the kind's default body"));
    m_bodyTemplate->setToolTip(tr("A file holding the request body, with placeholders {{id}}, {{random}}, {{prompt}}, "
                                  "{{max_tokens}}, {{stream}} and {{model}}."));
    m_test->setToolTip(tr("Send one request and show its latency, or why it failed."));
    m_scrape->setObjectName(QStringLiteral("scrapeMetrics"));
    m_scrape->setToolTip(tr("Read the server's Prometheus /metrics about once a second during the sweep and keep, per level, "
                            "requests running and waiting, KV-cache usage and batch size (vLLM, TGI, SGLang, Triton and knee serve "
                            "names), beside the latency."));
    m_metricsUrl->setPlaceholderText(tr("the /metrics beside the endpoint"));
    m_metricsUrl->setToolTip(tr("Where the metrics are, if not at the endpoint's host and port."));
    m_extraMetrics->setPlaceholderText(tr("more metric names, e.g. vllm:num_preemptions_total"));
    m_extraMetrics->setToolTip(tr("Metric names to keep as well, separated by commas."));
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Issue 18: who sends the endpoint's load: knee's client, Locust's master and workers on this machine,
    // or Locust's master here and workers elsewhere (knee sweep's --master-host).
    m_generator->setObjectName(QStringLiteral("loadGenerator"));
    m_generator->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon); // the longest item does not widen the form
    m_generator->setMinimumContentsLength(20);
    m_generator->addItem(tr("knee's client"), QStringLiteral("knee"));
    m_generator->addItem(tr("Locust (local master and workers)"), QStringLiteral("locust"));
    m_generator->addItem(tr("Locust (workers on other machines)"), QStringLiteral("locust-remote"));
    m_masterHost->setObjectName(QStringLiteral("locustMasterHost"));
    m_masterHost->setText(QHostInfo::localHostName());
    m_masterHost->setPlaceholderText(tr("this machine's name or IPv4 address, as the load machines reach it"));
    m_masterHost->setToolTip(tr("The master runs here, beside knee; the workers on your load machines (or your Kubernetes cluster) "
                                "connect to this name or address. Locust's worker port is not authenticated: let only your load "
                                "machines reach it."));
    m_masterPort->setObjectName(QStringLiteral("locustMasterPort"));
    m_masterPort->setRange(1, 65535);
    m_masterPort->setValue(net::LocustOptions{}.masterPort);
    m_masterPort->setPrefix(tr("port "));
    m_masterPort->setToolTip(tr("The port the workers connect to (Locust's default is 5557)."));
    m_generator->setToolTip(tr("Who sends an endpoint's requests: knee's own client, or Locust's master and workers on this machine "
                               "(Debian's python3-locust), whose every request knee times and measures the same way. The built-in "
                               "engine makes its own load."));
    m_workers->setObjectName(QStringLiteral("locustWorkers"));
    m_workers->setRange(1, 256);
    m_workers->setValue(std::clamp(QThread::idealThreadCount(), 1, 256));
    m_workers->setSuffix(tr(" workers"));
    m_workers->setToolTip(tr("Locust workers to start on this machine (processes; about one per core). A worker too busy to "
                             "keep its users' timing marks its levels as behind, and they are not used."));
    m_locustWait->setObjectName(QStringLiteral("locustWait"));
    m_locustWait->setRange(1, 3600);
    m_locustWait->setValue(net::LocustOptions{}.connectWaitS);
    m_locustWait->setPrefix(tr("connect within "));
    m_locustWait->setSuffix(tr(" s"));
    m_locustWait->setToolTip(tr("How long the workers have to connect to the master before the sweep gives up."));
    m_locustSpool->setObjectName(QStringLiteral("locustSpool"));
    m_locustSpool->setPlaceholderText(tr("a directory (optional): each worker's records, for knee import --locust"));
    m_locustSpool->setToolTip(tr("Each worker also appends every record it timed to DIR/worker-K.jsonl here, which knee import "
                                 "--locust replays into a session. Empty: not kept."));
    m_spoolBrowse->setToolTip(tr("Choose the directory the workers' records go to"));
    m_locustNote->setObjectName(QStringLiteral("locustNote"));
    m_locustNote->setWordWrap(true);
    m_locustNote->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_locustNote->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_locustNote->setStyleSheet(QStringLiteral("color: #d95f5f"));

    auto* outer = new QFormLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addRow(tr("Target"), m_choice);
    // The endpoint's own fields show only when an endpoint is chosen: the built-in engine has none.
    m_fields = new QWidget(this);
    m_fields->setObjectName(QStringLiteral("endpointFields"));
    auto* form = new QFormLayout(m_fields);
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("URL"), m_url);
    auto* kindRow = new QHBoxLayout();
    kindRow->addWidget(m_kind, 1);
    kindRow->addWidget(m_stream);
    form->addRow(tr("Kind"), kindRow);
    form->addRow(tr("Max tokens"), m_maxTokens);
    form->addRow(tr("Headers"), m_headers);
    auto* bodyRow = new QHBoxLayout();
    bodyRow->addWidget(m_bodyTemplate, 1);
    bodyRow->addWidget(m_browse);
    form->addRow(tr("Body template"), bodyRow);
    form->addRow(tr("API key from"), m_keyVariable);
    auto* metricsRow = new QHBoxLayout();
    metricsRow->addWidget(m_scrape);
    metricsRow->addWidget(m_metricsUrl, 1);
    form->addRow(tr("Server metrics"), metricsRow);
    form->addRow(QString(), m_extraMetrics);
    form->addRow(tr("Load generator"), m_generator);
    m_locustRow = new QWidget(this);
    auto* locustRow = new QHBoxLayout(m_locustRow);
    locustRow->setContentsMargins(0, 0, 0, 0);
    locustRow->addWidget(m_workers);
    locustRow->addWidget(m_locustWait);
    locustRow->addStretch(1);
    form->addRow(tr("Locust"), m_locustRow);
    auto* spoolRow = new QHBoxLayout(m_locustSpoolRow);
    spoolRow->setContentsMargins(0, 0, 0, 0);
    spoolRow->addWidget(m_locustSpool, 1);
    spoolRow->addWidget(m_spoolBrowse);
    form->addRow(tr("Records to"), m_locustSpoolRow);
    auto* masterRow = new QHBoxLayout(m_masterRow);
    masterRow->setContentsMargins(0, 0, 0, 0);
    masterRow->addWidget(m_masterHost, 1);
    masterRow->addWidget(m_masterPort);
    form->addRow(tr("Master here at"), m_masterRow);
    form->addRow(QString(), m_locustNote);
    auto* testRow = new QHBoxLayout();
    testRow->addWidget(m_test);
    testRow->addWidget(m_result, 1);
    form->addRow(QString(), testRow);
    outer->addRow(m_fields);

    connect(m_choice, &QComboBox::currentIndexChanged, this, [this] {
        updateEnabled();
        Q_EMIT targetChanged();
    });
    connect(m_kind, &QComboBox::currentIndexChanged, this, &EndpointPanel::updateEnabled);
    connect(m_scrape, &QCheckBox::toggled, this, &EndpointPanel::updateEnabled);
    connect(m_test, &QPushButton::clicked, this, &EndpointPanel::testConnection);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Body template"), QString(), tr("All files (*)"));
        if (!path.isEmpty())
            m_bodyTemplate->setText(path);
    });
    connect(m_spoolBrowse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Locust's records to"), m_locustSpool->text().trimmed());
        if (!dir.isEmpty())
            m_locustSpool->setText(dir);
    });
    restoreLocustSettings();
    const auto changed = [this] {
        updateLocust();
        saveLocustSettings();
        Q_EMIT loadGeneratorChanged();
    };
    connect(m_generator, &QComboBox::currentIndexChanged, this, changed);
    connect(m_workers, &QSpinBox::valueChanged, this, changed);
    connect(m_locustWait, &QSpinBox::valueChanged, this, changed);
    connect(m_locustSpool, &QLineEdit::textChanged, this, changed);
    connect(m_masterHost, &QLineEdit::textChanged, this, changed);
    connect(m_masterPort, &QSpinBox::valueChanged, this, changed);
    updateEnabled();
}

EndpointPanel::~EndpointPanel() = default;

bool EndpointPanel::endpointChosen() const { return m_choice->currentData().toString() == QLatin1String("endpoint"); }

void EndpointPanel::updateEnabled()
{
    const bool endpoint = endpointChosen();
    const bool openai = m_kind->currentData().toInt() == int(net::HttpTarget::Kind::OpenAI);
    for (QWidget* w : std::initializer_list<QWidget*>{m_url, m_kind, m_keyVariable, m_maxTokens, m_headers, m_bodyTemplate, m_browse, m_test, m_scrape})
        w->setEnabled(endpoint && !(w == m_test && m_client));
    m_metricsUrl->setEnabled(endpoint && m_scrape->isChecked());
    m_extraMetrics->setEnabled(endpoint && m_scrape->isChecked());
    m_stream->setEnabled(endpoint && openai);
    m_fields->setVisible(endpoint);
    if (!openai)
        m_stream->setChecked(false);
    updateLocust();
}

QString EndpointPanel::locustBinary()
{
    if (const QString bin = qEnvironmentVariable("KNEE_LOCUST_BIN"); !bin.isEmpty()) // tests, or another install
        return bin;
    return net::LocustOptions{}.locust;
}

bool EndpointPanel::locustChosen() const
{
    return endpointChosen() && m_generator->currentData().toString().startsWith(QLatin1String("locust"));
}

QString EndpointPanel::locustFilesDir() { return QDir::home().filePath(QStringLiteral("knee-locust")); }

void EndpointPanel::updateLocust()
{
    const bool installed = locustInstalled();
    const int item = m_generator->findData(QStringLiteral("locust"));
    m_generator->setItemText(item, installed ? tr("Locust (local master and workers)") : tr("Locust (local master and workers): not installed"));
    m_generator->setItemData(item, installed ? tr("Locust's master and workers on this machine send the load; knee measures every request they time")
                                             : tr("%1 is missing: install python3-locust (or set KNEE_LOCUST_BIN)").arg(locustBinary()),
                             Qt::ToolTipRole);
    const int remoteItem = m_generator->findData(QStringLiteral("locust-remote"));
    m_generator->setItemText(remoteItem, installed ? tr("Locust (workers on other machines)") : tr("Locust (workers on other machines): not installed"));
    m_generator->setItemData(remoteItem,
                             tr("Locust's master runs here; knee writes run-worker.sh and a Kubernetes manifest to %1 and waits for the "
                                "workers you start on your load machines")
                                 .arg(locustFilesDir()),
                             Qt::ToolTipRole);
    const QString generator = m_generator->currentData().toString();
    const bool locust = generator.startsWith(QLatin1String("locust")), remote = generator == QLatin1String("locust-remote");
    m_generator->setEnabled(endpointChosen());
    m_workers->setToolTip(remote ? tr("How many workers the master waits for (started by you on your load machines) before the first level")
                                 : tr("Locust workers to start on this machine (processes; about one per core). A worker too busy to "
                                      "keep its users' timing marks its levels as behind, and they are not used."));
    auto* form = static_cast<QFormLayout*>(m_fields->layout());
    form->setRowVisible(m_locustRow, locust);
    form->setRowVisible(m_locustSpoolRow, locust && !remote); // workers elsewhere keep their own (KNEE_LOCUST_SPOOL)
    form->setRowVisible(m_masterRow, remote);
    QString note;
    if (locust && !installed)
        note = tr("Locust is not installed (%1 is missing): install python3-locust, or set KNEE_LOCUST_BIN to its locust. "
                  "Until then a sweep with Locust does not start.").arg(locustBinary());
    m_locustNote->setText(note);
    form->setRowVisible(m_locustNote, !note.isEmpty());
}

std::optional<net::LocustOptions> EndpointPanel::locust(QString& error) const
{
    error.clear();
    if (!locustChosen())
        return std::nullopt;
    net::LocustOptions o;
    o.locust = locustBinary();
    o.workers = m_workers->value();
    o.connectWaitS = m_locustWait->value();
    if (!QFileInfo(o.locust).isExecutable()) {
        error = tr("Locust is not installed: %1 is missing (install python3-locust, or choose knee's client as the load generator)")
                    .arg(o.locust);
        return std::nullopt;
    }
    if (m_generator->currentData().toString() == QLatin1String("locust-remote")) { // as knee sweep --master-host
        o.masterHost = m_masterHost->text().trimmed();
        if (o.masterHost.isEmpty()) {
            error = tr("Master here at: give this machine's name or address as the load machines reach it");
            return std::nullopt;
        }
        QString why;
        o.masterBind = net::masterBindAddress(o.masterHost, why);
        if (o.masterBind.isEmpty()) {
            error = tr("Master here at: %1").arg(why);
            return std::nullopt;
        }
        o.masterPort = quint16(m_masterPort->value());
        o.filesDir = locustFilesDir();
        return o; // the workers keep their own records where they run
    }
    o.spoolDir = m_locustSpool->text().trimmed();
    if (const QString why = o.spoolDir.isEmpty() ? QString() : net::checkLocustSpool(o.spoolDir); !why.isEmpty()) {
        error = tr("Records to: %1").arg(why);
        return std::nullopt;
    }
    if (!o.spoolDir.isEmpty() && !QDir().mkpath(o.spoolDir)) {
        error = tr("Records to: cannot create the directory %1").arg(o.spoolDir);
        return std::nullopt;
    }
    return o;
}

// The generator and Locust's settings, as the last window left them; each through its field's own range
// (a hand-edited settings file cannot set what the form would refuse).
void EndpointPanel::restoreLocustSettings()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("sweep"));
    if (const int i = m_generator->findData(settings.value(QStringLiteral("load_generator")).toString()); i >= 0)
        m_generator->setCurrentIndex(i);
    bool ok = false;
    if (const int v = settings.value(QStringLiteral("locust_workers")).toInt(&ok); ok && v >= m_workers->minimum() && v <= m_workers->maximum())
        m_workers->setValue(v);
    if (const int v = settings.value(QStringLiteral("locust_wait_s")).toInt(&ok); ok && v >= m_locustWait->minimum() && v <= m_locustWait->maximum())
        m_locustWait->setValue(v);
    m_locustSpool->setText(settings.value(QStringLiteral("locust_spool")).toString());
    if (const QString host = settings.value(QStringLiteral("locust_master_host")).toString().trimmed(); !host.isEmpty())
        m_masterHost->setText(host.left(255));
    if (const int v = settings.value(QStringLiteral("locust_master_port")).toInt(&ok); ok && v >= 1 && v <= 65535)
        m_masterPort->setValue(v);
}

void EndpointPanel::saveLocustSettings() const
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("sweep"));
    settings.setValue(QStringLiteral("load_generator"), m_generator->currentData().toString());
    settings.setValue(QStringLiteral("locust_workers"), m_workers->value());
    settings.setValue(QStringLiteral("locust_wait_s"), m_locustWait->value());
    settings.setValue(QStringLiteral("locust_spool"), m_locustSpool->text().trimmed());
    settings.setValue(QStringLiteral("locust_master_host"), m_masterHost->text().trimmed());
    settings.setValue(QStringLiteral("locust_master_port"), m_masterPort->value());
}

std::optional<net::HttpTarget> EndpointPanel::target(QString& error) const
{
    error.clear();
    if (!endpointChosen())
        return std::nullopt;
    net::HttpTarget t;
    t.url = QUrl(m_url->text().trimmed());
    t.kind = net::HttpTarget::Kind(m_kind->currentData().toInt());
    t.stream = m_stream->isChecked();
    t.maxTokens = m_maxTokens->value();
    const QString key = m_keyVariable->text().trimmed();
    if (!key.isEmpty())
        t.apiKeySource = key.startsWith(QLatin1String("keychain:")) ? key : QStringLiteral("env:") + key;
    for (const QString& part : m_headers->text().split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
        if (part.trimmed().isEmpty())
            continue;
        QString headerError;
        const auto header = net::parseHeader(part.trimmed(), headerError);
        if (!headerError.isEmpty()) {
            error = tr("Headers: %1").arg(headerError);
            return std::nullopt;
        }
        t.headers.append(header);
    }
    if (const QString path = m_bodyTemplate->text().trimmed(); !path.isEmpty()) {
        // The same bounded read as `knee sweep --body-template` (a request body, not a data set).
        const io::UserFileRead read = io::readUserFile(QFile::encodeName(path).toStdString(), io::kBodyTemplateFile);
        if (!read.ok()) {
            error = tr("Body template: %1: %2").arg(path, QString::fromStdString(read.error));
            return std::nullopt;
        }
        t.bodyTemplate = QByteArray::fromStdString(read.bytes);
    }
    error = t.validate();
    if (!error.isEmpty())
        return std::nullopt;
    return t;
}

std::optional<net::ScraperOptions> EndpointPanel::scraper(const net::HttpTarget& t, QString& error) const
{
    error.clear();
    if (!endpointChosen() || !m_scrape->isChecked())
        return std::nullopt;
    QStringList names;
    for (const QString& n : m_extraMetrics->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (!n.trimmed().isEmpty())
            names << n.trimmed();
    const QString url = m_metricsUrl->text().trimmed();
    net::ScraperOptions o = net::scraperFor(t, url.isEmpty() ? QUrl() : QUrl(url), names);
    if (const QString e = o.validate(); !e.isEmpty()) {
        error = tr("Server metrics: %1").arg(e);
        return std::nullopt;
    }
    return o;
}

void EndpointPanel::testConnection()
{
    if (m_client)
        return; // one test at a time
    QString error;
    const std::optional<net::HttpTarget> t = target(error);
    auto report = [this](bool ok, const QString& text) {
        m_result->setText(text);
        m_result->setStyleSheet(ok ? QString() : QStringLiteral("color: #d95f5f"));
        Q_EMIT connectionTested(ok, text);
    };
    if (!t) {
        report(false, error.isEmpty() ? tr("Choose HTTP endpoint first") : error);
        return;
    }
    const net::ApiKey key = net::resolveApiKey(t->apiKeySource);
    if (!key.error.isEmpty()) {
        report(false, key.error);
        return;
    }
    m_client = std::make_unique<net::HttpClient>(*t, key.key);
    m_result->setText(tr("Sending one request…"));
    updateEnabled();
    QPointer<EndpointPanel> self(this);
    m_client->send(m_client->now()).then([self, report](net::HttpOutcome o) {
        if (!self)
            return;
        QString text;
        if (o.aborted) {
            text = tr("Cancelled");
        } else if (o.ok()) {
            text = tr("OK: %1 ms (HTTP %2)").arg(double(o.latency) / 1e6, 0, 'f', 1).arg(o.status);
            if (o.ttft >= 0)
                text += tr(", first token after %1 ms, %2 tokens").arg(double(o.ttft) / 1e6, 0, 'f', 1).arg(o.tokens);
        } else {
            text = tr("Failed (%1): %2").arg(QString::fromLatin1(net::failureKindName(*o.failure)), o.detail);
        }
        // The client goes after this continuation returns (its reply is still being cleaned up); then
        // the button is usable again and the result is told.
        QMetaObject::invokeMethod(self, [self, report, ok = o.ok(), text] {
            if (!self)
                return;
            self->m_client.reset();
            self->updateEnabled();
            report(ok, text);
        }, Qt::QueuedConnection);
    });
}

} // namespace knee::ui
