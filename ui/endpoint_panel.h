// What a sweep measures: the built-in engine, or an HTTP endpoint (URL, generic JSON or
// OpenAI-compatible, streaming, max tokens, extra headers, a body template file, and where its API key
// comes from: an environment variable or the system keychain), with a connection test that sends one
// request and shows its latency or the classified error before a sweep. For an endpoint, who sends the
// load (issue 18): knee's own client, or Locust's master and local workers (workers, where their records
// are spooled, how long they have to connect), as `knee sweep --load-generator locust` runs them; the
// choice and its settings are remembered (QSettings, group "sweep").
#pragma once
#include "net/http_client.h"
#include "net/locust_sweep.h"
#include "net/metrics_scraper.h"

#include <QFileInfo>
#include <QWidget>

#include <memory>
#include <optional>

class QCheckBox;
class QSpinBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace knee::ui {

class EndpointPanel : public QWidget {
    Q_OBJECT
public:
    explicit EndpointPanel(QWidget* parent = nullptr);
    ~EndpointPanel() override;

    bool endpointChosen() const;
    // The endpoint as set, or nothing with `error` set (empty error: the built-in engine is chosen).
    std::optional<net::HttpTarget> target(QString& error) const;
    // The scraper of the target's /metrics when asked for (issue 17), or nothing; `error` says what is wrong.
    std::optional<net::ScraperOptions> scraper(const net::HttpTarget& target, QString& error) const;

    // Locust sends the load (an endpoint is chosen, and "Locust" as its load generator).
    bool locustChosen() const;
    // The Locust binary knee runs: KNEE_LOCUST_BIN when set, else Debian's /usr/bin/locust (as knee sweep).
    static QString locustBinary();
    static bool locustInstalled() { return QFileInfo(locustBinary()).isExecutable(); }
    // Locust's options as set (workers, binary, connect wait, spool directory, which it creates as knee
    // sweep --locust-spool does), or nothing: knee's client is chosen (`error` empty), or `error` says why
    // Locust cannot run (not installed, a spool directory that cannot be made).
    std::optional<net::LocustOptions> locust(QString& error) const;

    QComboBox* targetChoice() const { return m_choice; }
    QLineEdit* url() const { return m_url; }
    QComboBox* kind() const { return m_kind; }
    QCheckBox* stream() const { return m_stream; }
    QLineEdit* keyVariable() const { return m_keyVariable; }
    QSpinBox* maxTokens() const { return m_maxTokens; }
    QLineEdit* headers() const { return m_headers; }
    QLineEdit* bodyTemplate() const { return m_bodyTemplate; }
    QCheckBox* scrape() const { return m_scrape; }
    QLineEdit* metricsUrl() const { return m_metricsUrl; }
    QLineEdit* extraMetrics() const { return m_extraMetrics; }
    QPushButton* testButton() const { return m_test; }
    QLabel* testResult() const { return m_result; }
    // "knee" (its own client), "locust" (local master and workers) or "locust-remote" (workers elsewhere)
    QComboBox* loadGenerator() const { return m_generator; }
    QLineEdit* masterHost() const { return m_masterHost; }
    QSpinBox* masterPort() const { return m_masterPort; }
    // Where knee writes what to run on the load machines (workers elsewhere): ~/knee-locust.
    static QString locustFilesDir();
    QSpinBox* workers() const { return m_workers; }
    QSpinBox* locustWait() const { return m_locustWait; }
    QLineEdit* locustSpool() const { return m_locustSpool; }
    QLabel* locustNote() const { return m_locustNote; } // Locust missing, or a setting it cannot run with

public Q_SLOTS:
    void testConnection();

Q_SIGNALS:
    void targetChanged();
    void connectionTested(bool ok, const QString& text);
    void loadGeneratorChanged(); // the generator or one of its settings

private:
    void updateEnabled();
    void updateLocust(); // Locust's fields and note, by the choice and whether it is installed
    void restoreLocustSettings();
    void saveLocustSettings() const;

    QComboBox* m_choice;
    QWidget* m_fields; // every field below the choice: shown for an endpoint only
    QLineEdit* m_url;
    QComboBox* m_kind;
    QCheckBox* m_stream;
    QLineEdit* m_keyVariable; // NAME (environment) or keychain:SERVICE/KEY
    QSpinBox* m_maxTokens;
    QLineEdit* m_headers;      // "Name: value; Name: value"
    QLineEdit* m_bodyTemplate; // a file with placeholders; empty: the kind's default body
    QCheckBox* m_scrape;       // scrape the server's /metrics per level
    QLineEdit* m_metricsUrl;   // empty: the /metrics beside the endpoint
    QLineEdit* m_extraMetrics; // more metric names to keep, separated by commas
    QPushButton* m_browse;
    QPushButton* m_test;
    QLabel* m_result;
    QComboBox* m_generator;    // knee's client or Locust
    QSpinBox* m_workers;       // Locust's local workers
    QSpinBox* m_locustWait;    // seconds the workers have to connect
    QLineEdit* m_locustSpool;  // empty: no spool
    QPushButton* m_spoolBrowse;
    QWidget* m_locustRow;      // workers and connect wait
    QWidget* m_locustSpoolRow;
    QLabel* m_locustNote;
    QLineEdit* m_masterHost;   // workers elsewhere: this machine as they reach it
    QSpinBox* m_masterPort;
    QWidget* m_masterRow;
    std::unique_ptr<net::HttpClient> m_client; // the connection test's, while it runs
};

} // namespace knee::ui
