// Issue 18: a sweep whose load comes from Locust (master + workers, Debian's python3-locust 2.12) while
// knee measures and decides. knee writes its locustfile (resources/locust/knee_locustfile.py, headed by
// a CONFIG_JSON line: the target, bodies knee rendered, timeouts, the NAME of the API key's environment
// variable, never the key) into a private temporary directory, starts a master on loopback and N local
// workers (QProcess), and listens on a loopback control socket. Per level it tells the master the users
// to run; the workers time every request themselves and the master relays their batches as JSON lines:
//   {"type":"hello","token":T}   {"type":"ready","workers":N}   {"type":"level_started","level":i,"users":n}
//   {"type":"batch","worker":ID,"seq":k,"level":i,"now":s,"users":u,"cpu":pct,"final":false,
//    "records":[{"user","intended","sent","end","status","ttft_ms","itl_ms","tokens","kind","detail","wall"}]}
// Times are seconds on the worker's monotonic clock since it heard of the level (never wall time).
// The records go through the same LevelProbe / measureLevel / analysis as knee's own client
// (LocustProbe below): windows by each record's end time, a window closed once every worker's clock
// passed its right edge.
#pragma once
#include "http_target.h"
#include "metrics_scraper.h"
#include "response_meter.h"

#include "study/sweep.h"

#include <QByteArray>
#include <QJsonObject>
#include <QStringList>
#include <QString>

#include <functional>
#include <utility>
#include <vector>

namespace knee::net {

struct LocustOptions {
    int workers = 1;
    QString locust = QStringLiteral("/usr/bin/locust"); // Debian's console script (its interpreter has Locust)
    int connectWaitS = 60;     // the workers must connect to the master within this
    int stallS = 15;           // a worker silent this long past a window's edge fails the sweep
    QString spoolDir;          // non-empty: each worker appends its records here (worker-K.jsonl), for `knee import --locust`
    // Workers elsewhere (--master-host): the master still runs here, beside knee (it relays every record to
    // knee over loopback, so the relay's token and timing never leave this machine), bound to `masterBind`,
    // an address of this machine that the workers reach as `masterHost`. knee starts no worker: it writes
    // what to run on the load machines (filesDir: the locustfile, run-worker.sh, locust-workers.yaml for
    // Kubernetes), tells `announce`, and waits connectWaitS for `workers` workers to connect.
    QString masterHost;
    QString masterBind;
    quint16 masterPort = 5557; // Locust's own default
    QString filesDir;
    std::function<void(const QString&)> announce;
    // Asked while knee waits for the workers to connect: true gives up (the sweep fails, "cancelled").
    std::function<bool()> cancelled;
    bool remoteWorkers() const { return !masterHost.isEmpty(); }
};

// Why `dir` cannot take a sweep's spool (empty: it can; it is created when the sweep starts): not a
// directory, or already holding a sweep's worker-*.jsonl (the workers append: an import would mix sweeps).
QString checkLocustSpool(const QString& dir);

// `--master-host H`: the address of this machine that H names, for the master to bind (an IP address as
// given; a name resolved to one of this machine's addresses). Empty, with `error` set, when H is not here.
QString masterBindAddress(const QString& host, QString& error);

// What knee writes for workers elsewhere, each a file's name and its text: the locustfile (`locustfile`,
// as locustfileText made it), run-worker.sh, and locust-workers.yaml (a ConfigMap with the locustfile and a
// Deployment of `options.workers` workers, Locust's image of `locustVersion`, the key from a Secret).
std::vector<std::pair<QString, QByteArray>> remoteWorkerFiles(const QByteArray& locustfile, const LocustOptions& options,
                                                            const QString& apiKeyEnv, const QString& locustVersion);

// The locustfile knee writes: the CONFIG_JSON line, then the shipped script. `apiKeyEnv` is the name
// of the environment variable the workers read the key from (empty: no key); `locustVersion` is put
// where Debian's package left it empty.
QByteArray locustfileText(const HttpTarget& target, const QString& apiKeyEnv, const QString& locustVersion, bool openLoop = false);
// One record of a worker (its batch, or its spool line) as knee's client would have measured it: `end`
// on the worker's level clock; latency from its intended send time. False when it lacks its times.
bool readLocustRecord(const QJsonObject& record, double& end, HttpOutcome& outcome);

// The installed python3-locust's upstream version ("2.12.1"), from dpkg-query; empty if unknown.
QString installedLocustVersion();

struct LocustSweepRun {
    SweepResult result;
    QString error; // non-empty: the sweep could not run or finish (the processes are stopped and reaped)
};

// Runs the levels of `options` with Locust generating the load against `target`. `apiKey`
// reaches the workers only through their environment. A rate sweep runs one arrivals user per worker,
// each sending its share of the level's rate on schedule (an open loop). Every process
// started is stopped and reaped before this returns, on every path.
// `scrape`: the server's /metrics, scraped by knee during each level's measured windows (as with its own client).
LocustSweepRun runLocustSweep(const HttpTarget& target, const QByteArray& apiKey, const Scenario& scenario, const SweepOptions& options,
                              const LocustOptions& locust, const std::function<bool(const SweepLevel&)>& progress = {},
                              const std::optional<ScraperOptions>& scrape = std::nullopt);

// `knee import --locust`: the workers' spool lines (records with "level" and "users"), each level replayed
// through the same procedure as a live one (measureLevel: warm-up, windows by end time until two agree,
// the level ending where its records end), then analysed against `scenario`. `error` says what was wrong
// with the input (a line, a record), with the file and line number.
SweepResult importLocustSpool(const QStringList& files, const Scenario& scenario, const SweepOptions& options, QString& error);

} // namespace knee::net
