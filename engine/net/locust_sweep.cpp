#include "locust_sweep.h"

#include "dataset.h"
#include "failure_kind.h"
#include "http_sweep.h"
#include "response_meter.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

namespace knee::net {

namespace {

constexpr qint64 kMaxLineBytes = 4 << 20; // one control line (a batch of 250 ms of records)
constexpr double kCpuBehindPct = 90;      // Locust's own warning threshold (runners.py)
constexpr double kLoopLagFloorMs = 1;     // a worker's timers later than this on average (and than 5 % of p50): its timing is not honest
constexpr int kMaxBodies = 1024;          // bodies knee renders into CONFIG (a dataset's first ones in turn)

struct LocustError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A failure kind's name back to the kind (the workers use knee's names).
std::optional<FailureKind> kindNamed(const QString& name)
{
    for (FailureKind k : kFailureKinds)
        if (name == QLatin1String(failureKindName(k).data(), qsizetype(failureKindName(k).size())))
            return k;
    return std::nullopt;
}

// One started locust process: its output's tail kept for error messages.
struct LocustProcess {
    QString name;
    QByteArray tail; // before the process: destroyed after it (a process killed in ~QProcess still reports output)
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    void keepOutput()
    {
        process->setProcessChannelMode(QProcess::MergedChannels);
        QObject::connect(process.get(), &QProcess::readyRead, [this] {
            tail += process->readAll();
            if (tail.size() > 4096)
                tail = tail.right(4096);
        });
    }
    QString said() const
    {
        const QString t = QString::fromUtf8(tail).trimmed();
        return t.isEmpty() ? QString() : QStringLiteral("; %1 said: %2").arg(name, t.right(1500));
    }
};

// What knee knows of one worker from its batches.
struct WorkerState {
    int level = -1;
    double now = 0; // its clock for `level`, s
    int users = 0;
    double cpu = 0;
    qint64 seq = 0;
};

// A record kept until its window's edge is known.
struct PendingRecord {
    double end = 0;
    HttpOutcome outcome;
};

// The master, its workers and the control socket, for the whole sweep.
class LocustCluster {
public:
    LocustCluster(const HttpTarget& target, const QByteArray& apiKey, const LocustOptions& options)
        : m_target(target)
        , m_apiKey(apiKey)
        , m_options(options)
    {
    }
    ~LocustCluster() { stop(); }

    void start()
    {
        if (!QFileInfo(m_options.locust).isExecutable())
            throw LocustError(QStringLiteral("%1 is not there (install python3-locust)").arg(m_options.locust).toStdString());
        if (!m_dir.isValid())
            throw LocustError("cannot create a temporary directory for the locustfile");
        // The key never reaches the file: the workers read it from the environment variable it names.
        QString keyEnv;
        if (m_target.apiKeySource.startsWith(QLatin1String("env:")))
            keyEnv = m_target.apiKeySource.mid(4);
        else if (!m_apiKey.isEmpty())
            keyEnv = QStringLiteral("KNEE_LOCUST_API_KEY");
        const QString file = m_dir.filePath(QStringLiteral("knee_locustfile.py"));
        QFile f(file);
        if (!f.open(QIODevice::WriteOnly) || f.write(locustfileText(m_target, keyEnv, installedLocustVersion())) < 0 || !f.flush())
            throw LocustError(QStringLiteral("cannot write %1: %2").arg(file, f.errorString()).toStdString());
        f.close();

        if (!m_control.listen(QHostAddress::LocalHost, 0))
            throw LocustError(QStringLiteral("cannot listen on loopback: %1").arg(m_control.errorString()).toStdString());
        QObject::connect(&m_control, &QTcpServer::newConnection, [this] { accept(); });
        m_token = QString::number(QRandomGenerator::system()->generate64(), 16);
        const quint16 masterPort = freePort();

        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("KNEE_LOCUST_CONTROL"), QStringLiteral("127.0.0.1:%1").arg(m_control.serverPort()));
        env.insert(QStringLiteral("KNEE_LOCUST_TOKEN"), m_token);
        env.insert(QStringLiteral("PYTHONUNBUFFERED"), QStringLiteral("1"));
        if (keyEnv == QLatin1String("KNEE_LOCUST_API_KEY"))
            env.insert(keyEnv, QString::fromUtf8(m_apiKey));
        const QString port = QString::number(masterPort);
        startProcess(QStringLiteral("the locust master"), env,
                     {QStringLiteral("-f"), file, QStringLiteral("--master"), QStringLiteral("--master-bind-host"), QStringLiteral("127.0.0.1"),
                      QStringLiteral("--master-bind-port"), port, QStringLiteral("--expect-workers"), QString::number(m_options.workers),
                      QStringLiteral("--expect-workers-max-wait"), QString::number(m_options.connectWaitS), QStringLiteral("--headless"),
                      QStringLiteral("--only-summary"), QStringLiteral("--loglevel"), QStringLiteral("WARNING"),
                      QStringLiteral("--exit-code-on-error"), QStringLiteral("0")});
        for (int w = 0; w < m_options.workers; ++w) {
            QProcessEnvironment we = env;
            we.remove(QStringLiteral("KNEE_LOCUST_CONTROL"));
            we.remove(QStringLiteral("KNEE_LOCUST_TOKEN"));
            if (!m_options.spoolDir.isEmpty())
                we.insert(QStringLiteral("KNEE_LOCUST_SPOOL"), QDir(m_options.spoolDir).absoluteFilePath(QStringLiteral("worker-%1.jsonl").arg(w)));
            startProcess(QStringLiteral("locust worker %1").arg(w), we,
                         {QStringLiteral("-f"), file, QStringLiteral("--worker"), QStringLiteral("--master-host"), QStringLiteral("127.0.0.1"),
                          QStringLiteral("--master-port"), port, QStringLiteral("--loglevel"), QStringLiteral("WARNING")});
        }
        // Ready: the master said its expected workers connected (its shape started).
        QElapsedTimer waited;
        waited.start();
        while (!m_ready) {
            check();
            if (waited.elapsed() > 1000LL * (m_options.connectWaitS + 15))
                throw LocustError(QStringLiteral("the %1 locust worker(s) did not connect to the master within %2 s%3")
                                      .arg(m_options.workers)
                                      .arg(m_options.connectWaitS + 15)
                                      .arg(m_processes.front().said())
                                      .toStdString());
            step(100);
        }
    }

    // Tells the master to run `users` users as level `index`; the workers' clocks restart when they hear it.
    void level(int index, int users)
    {
        m_level = index;
        m_users = users;
        m_pending.clear();
        m_measuring = false;
        m_userSamples = 0;
        m_userSum = 0;
        m_usersMin = users;
        m_cpuMax = 0;
        m_lagMax = 0;
        m_lagSum = 0;
        m_lagSamples = 0;
        m_lost = false;
        m_reporting.clear();
        m_window = nullptr; // the level before's window went with its probe
        send(QJsonObject{{"cmd", "level"}, {"index", index}, {"users", users}});
    }

    // Returns once every worker's clock for this level passed `t` (s), the records that ended before it in
    // `window`, later ones kept for the next.
    void advanceTo(double t, LevelWindow& window)
    {
        m_window = &window;
        m_cut = t;
        flushPending();
        QElapsedTimer stalled;
        stalled.start();
        double slowest = slowestClock();
        while (slowest < t) {
            check();
            step(50);
            const double now = slowestClock();
            if (now > slowest)
                stalled.restart();
            slowest = now;
            // Waiting for a worker's clock to reach t is expected (t − its clock); silence beyond that is not.
            const double behindS = t - std::max(0.0, slowest);
            if (stalled.elapsed() > 1000 * (m_options.stallS + behindS))
                throw LocustError(QStringLiteral("a locust worker stopped reporting at level %1 (%2 of %3 workers reported)%4")
                                      .arg(m_users)
                                      .arg(m_reporting.size())
                                      .arg(m_options.workers)
                                      .arg(allSaid())
                                      .toStdString());
        }
    }
    void measuring() { m_measuring = true; }
    // The level's probe is going: no record may reach its window after this.
    void detach() { m_window = nullptr; }

    LoadGeneratorFigures figures() const
    {
        LoadGeneratorFigures g;
        g.name = "locust";
        g.workers = int(m_reporting.size());
        g.usersAsked = m_users;
        g.usersMean = m_userSamples > 0 ? m_userSum / double(m_userSamples) : 0;
        g.usersMin = m_userSamples > 0 ? m_usersMin : 0;
        g.cpuMaxPct = m_cpuMax;
        g.loopLagMaxMs = m_lagMax;
        g.loopLagMeanMs = m_lagSamples > 0 ? m_lagSum / double(m_lagSamples) : 0;
        g.recordsLost = m_lost;
        std::vector<std::string> why;
        if (m_userSamples == 0 || g.usersMin < m_users)
            why.push_back("users " + std::to_string(g.usersMin) + " of " + std::to_string(m_users) + " asked");
        if (m_cpuMax > kCpuBehindPct)
            why.push_back("a worker's CPU at " + std::to_string(int(std::lround(m_cpuMax))) + " %");
        if (m_lost)
            why.push_back("records lost (a gap in a worker's batches)");
        g.behind = !why.empty();
        for (std::size_t i = 0; i < why.size(); ++i)
            g.why += (i ? "; " : "") + why[i];
        return g;
    }

    // Asks the master to quit (it quits its workers), then reaps every process: terminate, then kill.
    void stop(bool failed = false)
    {
        if (m_stopped)
            return;
        m_stopped = true;
        if (m_socket && m_socket->state() == QAbstractSocket::ConnectedState) {
            m_socket->write(QJsonDocument(QJsonObject{{"cmd", "quit"}}).toJson(QJsonDocument::Compact) + '\n');
            m_socket->flush();
        }
        auto wait = [this](int ms, bool masterOnly) {
            QElapsedTimer t;
            t.start();
            while (t.elapsed() < ms && std::any_of(m_processes.begin(), masterOnly ? m_processes.begin() + 1 : m_processes.end(),
                                                   [](const LocustProcess& p) { return p.process->state() != QProcess::NotRunning; }))
                step(50);
        };
        if (m_processes.empty())
            return;
        // The master quits its workers as it ends; workers whose master is gone have nothing left to send.
        // After a failure the master may be the one misbehaving: less patience.
        wait(failed ? 2'000 : 10'000, true);
        wait(failed ? 1'000 : 3'000, false);
        for (LocustProcess& p : m_processes)
            if (p.process->state() != QProcess::NotRunning)
                p.process->terminate(); // SIGTERM: Locust shuts down
        wait(5'000, false);
        for (LocustProcess& p : m_processes)
            if (p.process->state() != QProcess::NotRunning) {
                p.process->kill();
                p.process->waitForFinished(5'000);
            }
        if (m_socket)
            m_socket->abort();
        m_control.close();
    }

private:
    // What every process said (its output's tail), for an error that names none of them.
    QString allSaid() const
    {
        QString all;
        for (const LocustProcess& p : m_processes)
            all += p.said();
        return all;
    }

    static quint16 freePort()
    {
        // A port free now; the master binds it a moment later. Below Linux's ephemeral range (32768 on), so
        // that no outgoing connection (another test's, this sweep's own) takes it in between.
        QTcpServer probe;
        for (int attempt = 0; attempt < 64; ++attempt) {
            const auto port = quint16(20000 + QRandomGenerator::global()->bounded(12000));
            if (probe.listen(QHostAddress::LocalHost, port))
                return port;
        }
        if (!probe.listen(QHostAddress::LocalHost, 0))
            throw LocustError("no free loopback port for the locust master");
        return probe.serverPort();
    }

    void startProcess(const QString& name, const QProcessEnvironment& env, const QStringList& args)
    {
        LocustProcess& p = m_processes.emplace_back();
        p.name = name;
        p.keepOutput();
        p.process->setProcessEnvironment(env);
        p.process->setWorkingDirectory(m_dir.path());
        p.process->setProgram(m_options.locust);
        p.process->setArguments(args);
        p.process->start();
        if (!p.process->waitForStarted(10'000))
            throw LocustError(QStringLiteral("cannot start %1 (%2): %3").arg(name, m_options.locust, p.process->errorString()).toStdString());
        p.process->closeWriteChannel();
    }

    // Lets the event loop run up to `ms` (less when a control line comes).
    void step(int ms)
    {
        QEventLoop loop;
        m_loop = &loop;
        QTimer::singleShot(ms, &loop, &QEventLoop::quit);
        loop.exec();
        m_loop = nullptr;
    }

    // Any process that ended before stop() fails the sweep, with what it said; so does a broken control line.
    void check()
    {
        // A closed control connection is most often the master ending: its exit and output say why.
        if (!m_error.isEmpty() && m_disconnected) {
            QProcess& master = *m_processes.front().process; // (waitForFinished is false for one already finished)
            if (master.state() != QProcess::NotRunning && !master.waitForFinished(10'000))
                throw LocustError(m_error.toStdString());
        } else if (!m_error.isEmpty()) {
            throw LocustError(m_error.toStdString());
        }
        for (LocustProcess& p : m_processes)
            if (p.process->state() == QProcess::NotRunning) {
                p.tail += p.process->readAll();
                throw LocustError(QStringLiteral("%1 ended (exit %2)%3").arg(p.name).arg(p.process->exitCode()).arg(p.said()).toStdString());
            }
    }

    void accept()
    {
        while (QTcpSocket* s = m_control.nextPendingConnection()) {
            if (m_socket) { // one master only
                s->abort();
                s->deleteLater();
                continue;
            }
            m_socket.reset(s);
            s->setParent(nullptr);
            QObject::connect(s, &QTcpSocket::readyRead, [this] { read(); });
            QObject::connect(s, &QTcpSocket::disconnected, [this] {
                if (!m_stopped && m_error.isEmpty()) {
                    m_error = QStringLiteral("the locust master closed knee's control connection");
                    m_disconnected = true;
                }
                if (m_loop)
                    m_loop->quit();
            });
            read();
        }
    }

    void send(const QJsonObject& o)
    {
        if (!m_socket)
            throw LocustError("the locust master is not connected");
        m_socket->write(QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n');
        m_socket->flush();
    }

    void read()
    {
        m_buffer += m_socket->readAll();
        qsizetype nl;
        while (m_error.isEmpty() && (nl = m_buffer.indexOf('\n')) >= 0) {
            const QByteArray line = m_buffer.left(nl);
            m_buffer.remove(0, nl + 1);
            handle(line);
        }
        if (m_buffer.size() > kMaxLineBytes && m_error.isEmpty())
            m_error = QStringLiteral("a control line from the locust master is longer than 4 MiB");
        if (m_loop)
            m_loop->quit();
    }

    void handle(const QByteArray& line)
    {
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &pe);
        if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
            m_error = QStringLiteral("the locust master sent a line that is not a JSON object (%1)").arg(pe.errorString());
            return;
        }
        const QJsonObject o = doc.object();
        const QString type = o.value("type").toString();
        if (!m_authenticated) { // the first line proves it is the master knee started
            if (type != QLatin1String("hello") || o.value("token").toString() != m_token)
                m_error = QStringLiteral("a process on the control port did not give knee's token");
            m_authenticated = true;
            return;
        }
        if (type == QLatin1String("ready"))
            m_ready = true;
        else if (type == QLatin1String("batch"))
            batch(o);
    }

    void batch(const QJsonObject& o)
    {
        const QString worker = o.value("worker").toString();
        const QJsonValue records = o.value("records");
        if (worker.isEmpty() || !o.value("seq").isDouble() || !o.value("level").isDouble() || !o.value("now").isDouble() || !records.isArray()) {
            m_error = QStringLiteral("a batch from the locust master lacks worker, seq, level, now or records");
            return;
        }
        WorkerState& w = m_workers[worker];
        const qint64 seq = qint64(o.value("seq").toDouble());
        if (w.seq > 0 && seq != w.seq + 1)
            m_lost = true;
        w.seq = seq;
        w.level = o.value("level").toInt(-1);
        w.now = o.value("now").toDouble();
        w.users = o.value("users").toInt();
        w.cpu = o.value("cpu").toDouble();
        if (w.level != m_level)
            return; // a level before (what ended as the level changed) or none yet
        m_reporting[worker] = true;
        for (const QJsonValue& v : records.toArray()) {
            const QJsonObject r = v.toObject();
            PendingRecord p;
            if (!readLocustRecord(r, p.end, p.outcome)) {
                m_error = QStringLiteral("a record from a locust worker lacks its times");
                return;
            }
            if (p.end < 0)
                continue; // sent and ended before this level (its workers heard of it mid-request)
            m_pending.push_back(std::move(p));
        }
        // The achieved users, as every worker last reported them (the measured windows only).
        if (m_measuring && int(m_reporting.size()) >= m_options.workers) {
            int users = 0;
            for (const auto& [id, s] : m_workers)
                if (s.level == m_level)
                    users += s.users;
            m_userSum += users;
            ++m_userSamples;
            m_usersMin = std::min(m_usersMin, users);
        }
        if (m_measuring) {
            m_cpuMax = std::max(m_cpuMax, w.cpu);
            m_lagMax = std::max(m_lagMax, o.value("loop_lag_ms").toDouble());
            m_lagSum += o.value("loop_lag_ms").toDouble();
            ++m_lagSamples;
        }
        flushPending();
    }

    // Records that ended before the current cut go into the window; later ones wait.
    void flushPending()
    {
        if (!m_window)
            return;
        auto keep = std::stable_partition(m_pending.begin(), m_pending.end(), [this](const PendingRecord& p) { return p.end >= m_cut; });
        for (auto it = keep; it != m_pending.end(); ++it) {
            recordOutcome(*m_window, it->outcome);
            if (it->outcome.failure)
                m_lastError = QString::fromLatin1(failureKindName(*it->outcome.failure).data()) + QStringLiteral(": ") + it->outcome.detail;
        }
        m_pending.erase(keep, m_pending.end());
    }

    // The slowest worker's clock for this level; −1 until every worker has reported it.
    double slowestClock() const
    {
        if (int(m_reporting.size()) < m_options.workers)
            return -1;
        double slowest = 1e300;
        for (const auto& [id, w] : m_workers)
            if (w.level == m_level)
                slowest = std::min(slowest, w.now);
        return slowest;
    }

public:
    QString lastError() const { return m_lastError; }

private:
    HttpTarget m_target;
    QByteArray m_apiKey;
    LocustOptions m_options;
    QTemporaryDir m_dir;
    QTcpServer m_control;
    std::unique_ptr<QTcpSocket> m_socket;
    QByteArray m_buffer;
    QString m_token, m_error, m_lastError;
    bool m_authenticated = false, m_ready = false, m_stopped = false, m_disconnected = false;
    std::deque<LocustProcess> m_processes; // a deque: each one's output slot holds its address
    QEventLoop* m_loop = nullptr;
    std::map<QString, WorkerState> m_workers;
    std::map<QString, bool> m_reporting; // workers that reported the current level
    int m_level = -1, m_users = 0;
    LevelWindow* m_window = nullptr;
    double m_cut = 0;
    std::vector<PendingRecord> m_pending;
    bool m_measuring = false, m_lost = false;
    qint64 m_userSamples = 0;
    double m_userSum = 0, m_cpuMax = 0, m_lagMax = 0, m_lagSum = 0;
    qint64 m_lagSamples = 0;
    int m_usersMin = 0;
};

// One level on the cluster, as a LevelProbe: the level's time is the slowest worker's clock, cut at the
// window edges measureLevel asks for, so a window holds exactly what ended in it on the workers.
class LocustProbe : public LevelProbe {
public:
    LocustProbe(LocustCluster& cluster, int index, double tolerance)
        : m_cluster(cluster)
        , m_index(index)
        , m_tolerance(tolerance)
    {
    }
    void begin(const LevelLoad& load) override { m_cluster.level(m_index, load.users); }
    Nanos now() const override { return m_now; }
    void advanceTo(Nanos t) override
    {
        m_cluster.advanceTo(nanosToSeconds(t), m_window);
        m_now = std::max(m_now, t);
    }
    void measuring() override { m_cluster.measuring(); }
    LevelWindow& window() override { return m_window; }
    void end() override // the users stay until the next level sets its own
    {
        m_figures = m_cluster.figures();
        m_cluster.detach();
    }
    ~LocustProbe() override { m_cluster.detach(); }
    bool virtualTime() const override { return false; }
    const char* mode() const override { return "http"; }
    void annotate(SweepLevel& level) const override
    {
        level.endpoint = EndpointCounts{level.completed + level.failed, 0, m_cluster.lastError().toStdString()};
        for (FailureKind k : kFailureKinds)
            level.failuresByKind.try_emplace(std::string(failureKindName(k)), 0);
        level.generator = m_figures;
        // Late greenlets time late requests: a worker whose timers wake, on average, later than 1 ms and than
        // the tolerance's share of the level's p50 adds more than that to what it measures (one worker against
        // a 1 ms server at 64 users: 7 ms late on average, p50 28 ms; at 1 user 0.5 ms, p50 2 ms).
        const double lagLimit = std::max(kLoopLagFloorMs, m_tolerance * level.latency.p50);
        if (m_figures.loopLagMeanMs > lagLimit) {
            LoadGeneratorFigures& g = *level.generator;
            g.why += (g.why.empty() ? "" : "; ") + QStringLiteral("a worker's event loop %1 ms late on average (limit %2 ms)")
                                                       .arg(g.loopLagMeanMs, 0, 'f', 1)
                                                       .arg(lagLimit, 0, 'f', 1)
                                                       .toStdString();
            g.behind = true;
        }
    }

private:
    LocustCluster& m_cluster;
    int m_index;
    double m_tolerance;
    Nanos m_now = 0;
    LevelWindow m_window;
    LoadGeneratorFigures m_figures;
};

} // namespace

bool readLocustRecord(const QJsonObject& r, double& end, HttpOutcome& out)
{
    if (!r.value("end").isDouble() || !r.value("intended").isDouble())
        return false;
    end = r.value("end").toDouble();
    // Seconds on a worker's level clock: a year bounds every level (and keeps nanoseconds in range).
    const double intended = r.value("intended").toDouble();
    if (!std::isfinite(end) || !std::isfinite(intended) || std::abs(end) > limits::kMaxDurationS || std::abs(intended) > limits::kMaxDurationS)
        return false;
    out = HttpOutcome{};
    out.status = r.value("status").toInt();
    out.latency = Nanos(std::max(0.0, end - r.value("intended").toDouble()) * 1e9);
    if (r.value("kind").isString()) {
        out.failure = kindNamed(r.value("kind").toString()).value_or(FailureKind::Other);
        out.detail = r.value("detail").toString().left(500);
    } else {
        const double ttft = r.value("ttft_ms").toDouble(-1), itl = r.value("itl_ms").toDouble(-1);
        out.ttft = ttft >= 0 ? Nanos(ttft * 1e6) : -1;
        out.itl = itl >= 0 ? Nanos(itl * 1e6) : -1;
        out.tokens = std::max<qint64>(0, qint64(r.value("tokens").toDouble()));
    }
    return true;
}

QString installedLocustVersion()
{
    QProcess q;
    q.start(QStringLiteral("dpkg-query"), {QStringLiteral("-W"), QStringLiteral("-f=${Version}"), QStringLiteral("python3-locust")});
    if (!q.waitForFinished(5000) || q.exitCode() != 0) {
        q.kill();
        q.waitForFinished(1000);
        return {};
    }
    QString v = QString::fromUtf8(q.readAllStandardOutput()).trimmed(); // "2.12.1-1": the upstream part
    if (const qsizetype colon = v.indexOf(QLatin1Char(':')); colon >= 0)
        v = v.mid(colon + 1);
    if (const qsizetype dash = v.lastIndexOf(QLatin1Char('-')); dash > 0)
        v = v.left(dash);
    return v;
}

QByteArray locustfileText(const HttpTarget& t, const QString& apiKeyEnv, const QString& locustVersion)
{
    QFile script(QStringLiteral(":/locust/knee_locustfile.py"));
    if (!script.open(QIODevice::ReadOnly))
        return {};
    QJsonArray headers;
    bool contentType = false;
    for (const auto& [name, value] : t.headers) {
        headers.append(QJsonArray{QString::fromUtf8(name), QString::fromUtf8(value)});
        contentType = contentType || name.compare("content-type", Qt::CaseInsensitive) == 0;
    }
    if (!contentType)
        headers.append(QJsonArray{QStringLiteral("Content-Type"), QStringLiteral("application/json")});
    // knee renders the bodies (its own template rules); the users take them in turn.
    QJsonArray bodies;
    const int n = t.dataset ? int(std::min<std::size_t>(t.dataset->entries.size(), kMaxBodies)) : 64;
    QRandomGenerator random(1);
    for (int i = 0; i < std::max(1, n); ++i)
        bodies.append(QString::fromUtf8(t.renderBody(std::uint64_t(i), random.generate())));
    const QJsonObject config{{"url", t.url.toString()},
                             {"kind", QString::fromLatin1(HttpTarget::kindName(t.kind))},
                             {"stream", t.stream},
                             {"headers", headers},
                             {"bodies", bodies},
                             {"connect_timeout_s", t.connectTimeoutMs / 1000.0},
                             {"response_timeout_s", t.responseTimeoutMs / 1000.0},
                             {"request_timeout_s", t.requestTimeoutMs / 1000.0},
                             {"api_key_env", apiKeyEnv},
                             {"locust_version", locustVersion}};
    // A Python string literal of the JSON text: JSON's string escapes are Python's.
    QByteArray literal = QJsonDocument(QJsonArray{QString::fromUtf8(QJsonDocument(config).toJson(QJsonDocument::Compact))})
                             .toJson(QJsonDocument::Compact);
    literal = literal.mid(1, literal.size() - 2);
    return "CONFIG_JSON = " + literal + "\n" + script.readAll();
}

LocustSweepRun runLocustSweep(const HttpTarget& target, const QByteArray& apiKey, const Scenario& scenario, const SweepOptions& options,
                              const LocustOptions& locust, const std::function<bool(const SweepLevel&)>& progress)
{
    LocustSweepRun run;
    if (options.rateSweep()) {
        run.error = QStringLiteral("rate sweeps with locust are not supported yet");
        return run;
    }
    if (options.repeats > 1) {
        run.error = QStringLiteral("--repeats with locust is not supported yet");
        return run;
    }
    if (locust.workers < 1) {
        run.error = QStringLiteral("--workers must be at least 1");
        return run;
    }
    LocustCluster cluster(target, apiKey, locust);
    try {
        cluster.start();
        int index = 0;
        run.result = runLevels(scenario, options, [&](int, int) { return std::make_unique<LocustProbe>(cluster, index++, options.tolerance); }, progress);
    } catch (const std::exception& e) {
        run.error = QString::fromStdString(e.what());
    }
    cluster.stop(!run.error.isEmpty());
    run.result.mode = "http";
    QJsonObject t = target.toJson();
    t.insert("load_generator", QJsonObject{{"name", "locust"}, {"workers", locust.workers}, {"version", installedLocustVersion()}});
    run.result.target = QJsonDocument(t).toJson(QJsonDocument::Compact).toStdString();
    run.result.scenarioName = target.url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery).toStdString();
    return run;
}

} // namespace knee::net

// The replay is shared with `knee import --k6` (record_replay.h).
#include "record_replay.h"

namespace knee::net {

SweepResult importLocustSpool(const QStringList& files, const Scenario& scenario, const SweepOptions& options, QString& error)
{
    constexpr qint64 kMaxLine = 1 << 20;
    std::map<int, RecordedLevel> levels; // by the sweep's level index, in the order run
    for (const QString& name : files) {
        QFile f(name);
        if (!QFileInfo(name).isFile() || !f.open(QIODevice::ReadOnly)) {
            error = QStringLiteral("%1: cannot read it (%2)").arg(name, QFileInfo(name).exists() ? f.errorString() : QStringLiteral("no such file"));
            return {};
        }
        for (qint64 lineNo = 1; !f.atEnd(); ++lineNo) {
            const QByteArray line = f.readLine(kMaxLine).trimmed();
            if (line.isEmpty())
                continue;
            QJsonParseError pe;
            const QJsonDocument doc = QJsonDocument::fromJson(line, &pe);
            const QJsonObject o = doc.object();
            ReplayRecord p;
            if (pe.error != QJsonParseError::NoError || !doc.isObject() || !o.value("level").isDouble() || !o.value("users").isDouble()
                || !readLocustRecord(o, p.end, p.outcome)) {
                error = QStringLiteral("%1:%2: not a record of knee's locust spool (a JSON object with level, users, intended and end)")
                            .arg(name)
                            .arg(lineNo);
                return {};
            }
            const int index = o.value("level").toInt(-1), users = o.value("users").toInt(0);
            if (index < 0 || users < 1 || users > 1'000'000) {
                error = QStringLiteral("%1:%2: a record needs a level from 0 and users from 1").arg(name).arg(lineNo);
                return {};
            }
            RecordedLevel& l = levels[index];
            if (!l.records.empty() && l.users != users) {
                error = QStringLiteral("%1:%2: level %3 has %4 users here and %5 before").arg(name).arg(lineNo).arg(index).arg(users).arg(l.users);
                return {};
            }
            l.users = users;
            if (p.end < 0)
                continue; // ended before the workers heard of the level (as the live sweep leaves it out)
            l.lastEnd = std::max(l.lastEnd, p.end);
            l.records.push_back(std::move(p));
        }
    }
    if (levels.empty()) {
        error = QStringLiteral("no record in %1").arg(files.join(QStringLiteral(", ")));
        return {};
    }
    std::vector<RecordedLevel> ordered;
    for (auto& [index, level] : levels) {
        level.name = QStringLiteral("level %1").arg(index);
        ordered.push_back(std::move(level));
    }
    return replayRecordedLevels(std::move(ordered), scenario, options, QJsonObject{{"name", "locust"}, {"imported", true}}, error);
}

} // namespace knee::net
