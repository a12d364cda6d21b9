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
#include <QHostInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkInterface>
#include <QProcess>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <deque>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

namespace knee::net {

namespace {

constexpr qint64 kMaxLineBytes = 4 << 20; // one control line (a batch of 250 ms of records)
constexpr double kCpuBehindPct = 90;      // Locust's own warning threshold (runners.py)
constexpr const char* kBatchNumbers[] = {"seq", "level", "now", "users", "cpu", "loop_lag_ms"}; // a batch's figures
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
    LocustCluster(const HttpTarget& target, const QByteArray& apiKey, const LocustOptions& options, bool openLoop)
        : m_target(target)
        , m_apiKey(apiKey)
        , m_options(options)
        , m_openLoop(openLoop)
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
        m_locustfile = locustfileText(m_target, keyEnv, installedLocustVersion(), m_openLoop);
        if (!f.open(QIODevice::WriteOnly) || f.write(m_locustfile) < 0 || !f.flush())
            throw LocustError(QStringLiteral("cannot write %1: %2").arg(file, f.errorString()).toStdString());
        f.close();

        if (!m_control.listen(QHostAddress::LocalHost, 0))
            throw LocustError(QStringLiteral("cannot listen on loopback: %1").arg(m_control.errorString()).toStdString());
        QObject::connect(&m_control, &QTcpServer::newConnection, [this] { accept(); });
        m_token = QString::number(QRandomGenerator::system()->generate64(), 16);
        const bool remote = m_options.remoteWorkers();
        const quint16 masterPort = remote ? m_options.masterPort : freePort();

        // The master sends no request: the key stays out of its environment (and so out of its crash output).
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        if (!keyEnv.isEmpty())
            env.remove(keyEnv);
        QProcessEnvironment workerEnv = env;
        env.insert(QStringLiteral("KNEE_LOCUST_CONTROL"), QStringLiteral("127.0.0.1:%1").arg(m_control.serverPort()));
        env.insert(QStringLiteral("KNEE_LOCUST_TOKEN"), m_token);
        env.insert(QStringLiteral("PYTHONUNBUFFERED"), QStringLiteral("1"));
        workerEnv.insert(QStringLiteral("PYTHONUNBUFFERED"), QStringLiteral("1"));
        if (keyEnv == QLatin1String("KNEE_LOCUST_API_KEY"))
            workerEnv.insert(keyEnv, QString::fromUtf8(m_apiKey));
        else if (!keyEnv.isEmpty() && qEnvironmentVariableIsSet(keyEnv.toUtf8().constData()))
            workerEnv.insert(keyEnv, qEnvironmentVariable(keyEnv.toUtf8().constData()));
        const QString port = QString::number(masterPort);
        startProcess(QStringLiteral("the locust master"), env,
                     {QStringLiteral("-f"), file, QStringLiteral("--master"), QStringLiteral("--master-bind-host"),
                      remote ? m_options.masterBind : QStringLiteral("127.0.0.1"), QStringLiteral("--master-bind-port"), port,
                      QStringLiteral("--expect-workers"), QString::number(m_options.workers), QStringLiteral("--expect-workers-max-wait"),
                      QString::number(m_options.connectWaitS), QStringLiteral("--headless"), QStringLiteral("--only-summary"),
                      QStringLiteral("--loglevel"), QStringLiteral("WARNING"), QStringLiteral("--exit-code-on-error"), QStringLiteral("0")});
        if (remote) {
            writeRemoteFiles(keyEnv);
        } else {
            for (int w = 0; w < m_options.workers; ++w) {
                QProcessEnvironment we = workerEnv;
                if (!m_options.spoolDir.isEmpty())
                    we.insert(QStringLiteral("KNEE_LOCUST_SPOOL"), QDir(m_options.spoolDir).absoluteFilePath(QStringLiteral("worker-%1.jsonl").arg(w)));
                startProcess(QStringLiteral("locust worker %1").arg(w), we,
                             {QStringLiteral("-f"), file, QStringLiteral("--worker"), QStringLiteral("--master-host"), QStringLiteral("127.0.0.1"),
                              QStringLiteral("--master-port"), port, QStringLiteral("--loglevel"), QStringLiteral("WARNING")});
            }
        }
        // Ready: the master said its expected workers connected (its shape started).
        QElapsedTimer waited;
        waited.start();
        while (!m_ready) {
            check();
            if (m_options.cancelled && m_options.cancelled())
                throw LocustError("cancelled while waiting for the locust workers to connect");
            if (waited.elapsed() > 1000LL * (m_options.connectWaitS + 15))
                throw LocustError(QStringLiteral("the %1 locust worker(s) did not connect to the master within %2 s%3")
                                      .arg(m_options.workers)
                                      .arg(m_options.connectWaitS + 15)
                                      .arg(m_processes.front().said())
                                      .toStdString());
            step(100);
        }
    }

    // Tells the master to run level `index`: `load.users` closed-loop users, or (a rate sweep) one arrivals
    // user per worker sending `load.rateRps` in all; the workers' clocks restart when they hear it.
    void level(int index, int repeat, const LevelLoad& load)
    {
        m_level = index;
        m_users = load.open() ? m_options.workers : load.users;
        m_sent = 0;
        m_sends.clear();
        m_pending.clear();
        m_measuring = false;
        m_userSamples = 0;
        m_userSum = 0;
        m_usersMin = m_users;
        m_cpuMax = 0;
        m_lagMax = 0;
        m_lagSum = 0;
        m_lagSamples = 0;
        m_lost = false;
        m_reporting.clear();
        m_window = nullptr; // the level before's window went with its probe
        send(QJsonObject{{"cmd", "level"},
                         {"index", index},
                         {"users", load.users},
                         {"rate", load.rateRps},
                         {"constant", load.constant},
                         {"seed", qint64(load.seed)},
                         {"repeat", repeat}});
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
        // Every worker's clock passed t, and each batch carries every send before its clock: the sends
        // before t are all here.
        const auto later = std::partition(m_sends.begin(), m_sends.end(), [t](double sent) { return sent >= t; });
        m_sent += std::distance(later, m_sends.end());
        m_sends.erase(later, m_sends.end());
    }
    // A rate level: the requests the workers sent on it before the last advanceTo's t.
    std::int64_t sent() const { return m_sent; }
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
    // Workers elsewhere: what to run there, written where the user asked, and said (their master is listening).
    void writeRemoteFiles(const QString& keyEnv)
    {
        const QDir dir(m_options.filesDir);
        const bool made = !dir.exists();
        if (!QDir().mkpath(dir.absolutePath())
            || (made && !QFile::setPermissions(dir.absolutePath(), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner)))
            throw LocustError(QStringLiteral("cannot create %1").arg(dir.absolutePath()).toStdString());
        QStringList written;
        for (const auto& [name, text] : remoteWorkerFiles(m_locustfile, m_options, keyEnv, installedLocustVersion())) {
            QFile out(dir.absoluteFilePath(name));
            // The locustfile can hold the --header values: readable by the owner only from its creation, as the
            // other files; an old file (or a link planted in its place) is removed first, never written through.
            QFile::remove(out.fileName());
            const QFileDevice::Permissions mode = QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                                  | (name.endsWith(QLatin1String(".sh")) ? QFileDevice::ExeOwner : QFileDevice::Permissions());
            if (!out.open(QIODevice::WriteOnly | QIODevice::NewOnly, mode) || out.write(text) != text.size() || !out.flush())
                throw LocustError(QStringLiteral("cannot write %1: %2").arg(out.fileName(), out.errorString()).toStdString());
            written << out.fileName();
        }
        if (!m_options.announce)
            return;
        const QString at = QStringLiteral("%1:%2").arg(m_options.masterHost).arg(m_options.masterPort);
        QString text = QStringLiteral("knee: the locust master listens on %1 (bound to %2) for %3 worker(s); it waits %4 s for them.\n")
                           .arg(at, m_options.masterBind)
                           .arg(m_options.workers)
                           .arg(m_options.connectWaitS);
        text += QStringLiteral("  Written: %1\n").arg(written.join(QStringLiteral(", ")));
        text += QStringLiteral("  On each load machine (python3-locust %1, a copy of %2): sh run-worker.sh\n")
                    .arg(installedLocustVersion().isEmpty() ? QStringLiteral("as here") : installedLocustVersion(), dir.absolutePath());
        text += QStringLiteral("  On Kubernetes: kubectl apply -f %1\n").arg(dir.absoluteFilePath(QStringLiteral("locust-workers.yaml")));
        if (!keyEnv.isEmpty())
            text += QStringLiteral("  The API key is read from %1 on each worker (on Kubernetes, the Secret knee-locust-api-key, key api-key); "
                                   "knee writes it nowhere.\n")
                        .arg(keyEnv);
        text += QStringLiteral("  Locust's worker port is not authenticated: let only your load machines reach %1.\n").arg(at);
        m_options.announce(text);
    }

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
            if (nl > kMaxLineBytes) { // a long line that came whole in one read is as wrong as one still coming
                m_error = QStringLiteral("a control line from the locust master is longer than 4 MiB");
                break;
            }
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
        // Every figure the locustfile sends is required: a missing CPU or loop lag read as 0 would hide a worker
        // that fell behind.
        if (worker.isEmpty() || !records.isArray()
            || !std::all_of(std::begin(kBatchNumbers), std::end(kBatchNumbers), [&o](const char* k) { return o.value(QLatin1String(k)).isDouble(); })) {
            m_error = QStringLiteral("a batch from the locust master lacks worker, seq, level, now, users, cpu, loop_lag_ms or records");
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
        // A rate level's send times (the locustfile sends them with every batch; an older one sends none).
        if (const QJsonValue sends = o.value("sends"); !sends.isUndefined()) {
            if (!sends.isArray()) {
                m_error = QStringLiteral("a batch from the locust master has sends that are not a list");
                return;
            }
            for (const QJsonValue& v : sends.toArray()) {
                const double t = v.toDouble(std::numeric_limits<double>::quiet_NaN());
                if (!std::isfinite(t) || std::abs(t) > limits::kMaxDurationS) {
                    m_error = QStringLiteral("a batch from the locust master has a send time that is not a number of seconds");
                    return;
                }
                m_sends.push_back(t);
            }
        }
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
    QByteArray m_locustfile; // as written for the master (and, with workers elsewhere, for them)
    QByteArray m_apiKey;
    LocustOptions m_options;
    bool m_openLoop = false; // a rate sweep: one arrivals user per worker
    std::vector<double> m_sends; // a rate level's send times not yet before a cut
    std::int64_t m_sent = 0;     // and those before the last cut
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
    LocustProbe(LocustCluster& cluster, int index, int repeat, double tolerance, bool open, MetricsScraper* scraper)
        : m_cluster(cluster)
        , m_index(index)
        , m_repeat(repeat)
        , m_tolerance(tolerance)
        , m_open(open)
        , m_scraper(scraper)
    {
    }
    void begin(const LevelLoad& load) override { m_cluster.level(m_index, m_repeat, load); }
    std::int64_t sent() const override { return m_open ? m_cluster.sent() : 0; }
    bool generatorMayLag() const override { return m_open; } // a worker can fall behind its schedule
    Nanos now() const override { return m_now; }
    void advanceTo(Nanos t) override
    {
        m_cluster.advanceTo(nanosToSeconds(t), m_window);
        m_now = std::max(m_now, t);
    }
    void measuring() override
    {
        m_cluster.measuring();
        if (m_scraper)
            m_scraper->takeWindow(); // the warm-up's scrapes are left out, as its responses are
    }
    LevelWindow& window() override { return m_window; }
    void end() override // the users stay until the next level sets its own
    {
        m_figures = m_cluster.figures();
        m_cluster.detach();
        if (m_scraper) // knee's wall clock, which the workers' level clocks follow within their start's few ms
            m_scrape = m_scraper->takeWindow();
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
        if (m_scrape)
            level.server = serverScrape(*m_scrape);
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
    int m_repeat;
    double m_tolerance;
    bool m_open;
    MetricsScraper* m_scraper;
    std::optional<ScrapeWindow> m_scrape;
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
        // Each figure within a year (ms) or a trillion tokens: a hostile spool's 1e300 is no figure.
        constexpr double kMaxMs = limits::kMaxDurationS * 1e3;
        const double ttft = r.value("ttft_ms").toDouble(-1), itl = r.value("itl_ms").toDouble(-1), tokens = r.value("tokens").toDouble(0);
        if (!(ttft <= kMaxMs) || !(itl <= kMaxMs) || !(tokens >= 0 && tokens <= 1e12))
            return false;
        out.ttft = ttft >= 0 ? Nanos(ttft * 1e6) : -1;
        out.itl = itl >= 0 ? Nanos(itl * 1e6) : -1;
        out.tokens = qint64(tokens);
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

QByteArray locustfileText(const HttpTarget& t, const QString& apiKeyEnv, const QString& locustVersion, bool openLoop)
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
                             {"open_loop", openLoop},
                             {"locust_version", locustVersion}};
    // A Python string literal of the JSON text: JSON's string escapes are Python's.
    QByteArray literal = QJsonDocument(QJsonArray{QString::fromUtf8(QJsonDocument(config).toJson(QJsonDocument::Compact))})
                             .toJson(QJsonDocument::Compact);
    literal = literal.mid(1, literal.size() - 2);
    return "CONFIG_JSON = " + literal + "\n" + script.readAll();
}

QString checkLocustSpool(const QString& dir)
{
    const QFileInfo spool(dir);
    if (spool.exists() && !spool.isDir())
        return QStringLiteral("%1 is not a directory").arg(dir);
    if (spool.isDir() && !QDir(dir).entryList({QStringLiteral("worker-*.jsonl")}, QDir::Files).isEmpty())
        return QStringLiteral("%1 already holds a sweep's records (worker-*.jsonl): give an empty directory").arg(dir);
    return {};
}

QString masterBindAddress(const QString& host, QString& error)
{
    QList<QHostAddress> candidates;
    if (QHostAddress given; given.setAddress(host))
        candidates = {given};
    else
        candidates = QHostInfo::fromName(host).addresses();
    const QList<QHostAddress> mine = QNetworkInterface::allAddresses();
    QStringList named;
    for (const QHostAddress& a : candidates) {
        named << a.toString();
        // IPv4 only: Locust 2.12 binds "tcp://HOST:PORT" without IPv6's brackets.
        if (a.protocol() == QAbstractSocket::IPv4Protocol && (a.isLoopback() || mine.contains(a)))
            return a.toString();
    }
    if (candidates.isEmpty())
        error = QStringLiteral("--master-host %1 does not resolve").arg(host);
    else
        error = QStringLiteral("--master-host %1 (%2) is not an IPv4 address of this machine: the master runs here, beside knee, and the "
                               "workers connect to it")
                    .arg(host, named.join(QStringLiteral(", ")));
    return {};
}

std::vector<std::pair<QString, QByteArray>> remoteWorkerFiles(const QByteArray& locustfile, const LocustOptions& o, const QString& apiKeyEnv,
                                                            const QString& locustVersion)
{
    const QString version = locustVersion.isEmpty() ? QStringLiteral("2.12.1") : locustVersion;
    const QString port = QString::number(o.masterPort);
    std::vector<std::pair<QString, QByteArray>> files;
    files.emplace_back(QStringLiteral("knee_locustfile.py"), locustfile);

    QByteArray sh = "#!/bin/sh\n"
                    "# A Locust worker for knee's sweep: run it on each load machine (" + QByteArray::number(o.workers)
                    + " in all), beside this directory's\n"
                      "# knee_locustfile.py, with Locust " + version.toUtf8()
                    + " installed (Debian 12: apt install python3-locust).\n"
                      "# LOCUST=/path/to/locust runs another Locust of that version; KNEE_LOCUST_SPOOL=FILE.jsonl also keeps\n"
                      "# this worker's records in FILE.jsonl (knee import --locust reads them).\n"
                      "set -eu\n";
    if (!apiKeyEnv.isEmpty())
        sh += ": \"${" + apiKeyEnv.toUtf8() + ":?the API key: export " + apiKeyEnv.toUtf8() + " first (knee writes it nowhere)}\"\n";
    // Single-quoted: the host is a name or address knee resolved, but a script run elsewhere takes nothing as code.
    QByteArray host = o.masterHost.toUtf8();
    host.replace("'", "'\\''");
    sh += "cd \"$(dirname \"$0\")\"\n"
          "exec \"${LOCUST:-locust}\" -f knee_locustfile.py --worker --master-host '" + host + "' --master-port " + port.toUtf8()
          + " --loglevel WARNING\n";
    files.emplace_back(QStringLiteral("run-worker.sh"), sh);

    // The manifest through yaml-cpp (the locustfile as a literal block, every string quoted where YAML needs it).
    YAML::Emitter y;
    y << YAML::Comment("knee's Locust workers: " + std::to_string(o.workers) + " worker(s) that connect to knee's master at "
                       + o.masterHost.toStdString() + ":" + port.toStdString()
                       + ".\nkubectl apply -f locust-workers.yaml"
                       + (apiKeyEnv.isEmpty() ? std::string()
                                              : "; the key first: kubectl create secret generic knee-locust-api-key --from-literal=api-key=..."));
    y << YAML::BeginDoc << YAML::BeginMap;
    y << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key << "kind" << YAML::Value << "ConfigMap";
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "knee-locustfile" << YAML::EndMap;
    y << YAML::Key << "data" << YAML::Value << YAML::BeginMap << YAML::Key << "knee_locustfile.py" << YAML::Value << YAML::Literal
      << locustfile.toStdString() << YAML::EndMap;
    y << YAML::EndMap << YAML::BeginDoc << YAML::BeginMap;
    y << YAML::Key << "apiVersion" << YAML::Value << "apps/v1" << YAML::Key << "kind" << YAML::Value << "Deployment";
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "knee-locust-worker" << YAML::EndMap;
    y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "replicas" << YAML::Value << o.workers;
    y << YAML::Key << "selector" << YAML::Value << YAML::BeginMap << YAML::Key << "matchLabels" << YAML::Value << YAML::BeginMap << YAML::Key
      << "app" << YAML::Value << "knee-locust-worker" << YAML::EndMap << YAML::EndMap;
    y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "app"
      << YAML::Value << "knee-locust-worker" << YAML::EndMap << YAML::EndMap;
    y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap << YAML::Key << "containers" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    y << YAML::Key << "name" << YAML::Value << "worker";
    y << YAML::Key << "image" << YAML::Value << ("locustio/locust:" + version.toStdString()); // Locust's own image: its entrypoint is locust
    y << YAML::Key << "args" << YAML::Value << YAML::Flow << YAML::BeginSeq << "-f" << "/mnt/knee/knee_locustfile.py" << "--worker"
      << "--master-host" << o.masterHost.toStdString() << "--master-port" << YAML::DoubleQuoted << port.toStdString() << "--loglevel"
      << "WARNING" << YAML::EndSeq;
    y << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "PYTHONUNBUFFERED" << YAML::Key << "value" << YAML::Value << YAML::DoubleQuoted
      << "1" << YAML::EndMap;
    if (!apiKeyEnv.isEmpty())
        y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << apiKeyEnv.toStdString() << YAML::Key << "valueFrom" << YAML::Value
          << YAML::BeginMap << YAML::Key << "secretKeyRef" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value
          << "knee-locust-api-key" << YAML::Key << "key" << YAML::Value << "api-key" << YAML::EndMap << YAML::EndMap << YAML::EndMap;
    y << YAML::EndSeq;
    y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "requests" << YAML::Value << YAML::BeginMap << YAML::Key
      << "cpu" << YAML::Value << YAML::DoubleQuoted << "1" << YAML::EndMap << YAML::EndMap; // a worker is one Python process: one core
    y << YAML::Key << "volumeMounts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "locustfile"
      << YAML::Key << "mountPath" << YAML::Value << "/mnt/knee" << YAML::EndMap << YAML::EndSeq;
    y << YAML::EndMap << YAML::EndSeq; // the container, the containers
    y << YAML::Key << "volumes" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "locustfile"
      << YAML::Key << "configMap" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "knee-locustfile" << YAML::EndMap
      << YAML::EndMap << YAML::EndSeq;
    y << YAML::EndMap << YAML::EndMap << YAML::EndMap << YAML::EndMap; // pod spec, template, spec, the Deployment
    files.emplace_back(QStringLiteral("locust-workers.yaml"), QByteArray(y.c_str()) + "\n");
    return files;
}

LocustSweepRun runLocustSweep(const HttpTarget& target, const QByteArray& apiKey, const Scenario& scenario, const SweepOptions& options,
                              const LocustOptions& locust, const std::function<bool(const SweepLevel&)>& progress,
                              const std::optional<ScraperOptions>& scrape)
{
    LocustSweepRun run;
    if (locust.workers < 1) {
        run.error = QStringLiteral("--workers must be at least 1");
        return run;
    }
    if (locust.remoteWorkers() && (locust.masterBind.isEmpty() || locust.filesDir.isEmpty())) {
        run.error = QStringLiteral("workers elsewhere need the master's bind address and a directory for their files");
        return run;
    }
    LocustCluster cluster(target, apiKey, locust, options.rateSweep());
    try {
        cluster.start();
        // Scraped on this thread's event loop, which the cluster's waits run.
        std::unique_ptr<MetricsScraper> scraper;
        if (scrape) {
            scraper = std::make_unique<MetricsScraper>(*scrape);
            scraper->start();
        }
        int index = 0;
        run.result = runLevels(
            scenario, options,
            [&](int, int repeat) {
                return std::make_unique<LocustProbe>(cluster, index++, repeat, options.tolerance, options.rateSweep(), scraper.get());
            },
            progress);
        if (scraper)
            scraper->stop();
    } catch (const std::exception& e) {
        run.error = QString::fromStdString(e.what());
    }
    cluster.stop(!run.error.isEmpty());
    run.result.mode = "http";
    QJsonObject t = target.toJson();
    QJsonObject generator{{"name", "locust"}, {"workers", locust.workers}, {"version", installedLocustVersion()}};
    if (locust.remoteWorkers()) { // where the workers were told to connect (they ran elsewhere)
        generator.insert("master_host", locust.masterHost);
        generator.insert("master_port", int(locust.masterPort));
    }
    t.insert("load_generator", generator);
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
            // A rate sweep's record: its level's rate, and when it was sent (the level's sent count).
            const double rate = o.contains("rate") ? o.value("rate").toDouble(-1) : 0;
            p.sent = o.value("sent").toDouble(std::numeric_limits<double>::quiet_NaN());
            if (o.contains("rate") && (!(rate >= kMinSweepRateRps && rate <= limits::kMaxRateRps) || !std::isfinite(p.sent)
                                       || std::abs(p.sent) > limits::kMaxDurationS)) {
                error = QStringLiteral("%1:%2: a rate sweep's record needs a rate from 0.001 to 10000000 req/s and its send time")
                            .arg(name)
                            .arg(lineNo);
                return {};
            }
            const int repeat = o.value("repeat").toInt(0); // a sweep with --repeats (absent: 0)
            RecordedLevel& l = levels[index];
            if (!l.records.empty() && (l.users != users || l.rateRps != rate || l.repeat != repeat)) {
                error = QStringLiteral("%1:%2: level %3 is %4 here and %5 before")
                            .arg(name)
                            .arg(lineNo)
                            .arg(index)
                            .arg(QStringLiteral("%1 users at %2 req/s, repeat %3").arg(users).arg(rate).arg(repeat),
                                 QStringLiteral("%1 users at %2 req/s, repeat %3").arg(l.users).arg(l.rateRps).arg(l.repeat));
                return {};
            }
            l.users = users;
            l.rateRps = rate;
            l.repeat = repeat;
            // A rate level's request is a send of the level it was sent in, wherever it ended.
            const double sentAt = o.value("sent_at").toDouble(std::numeric_limits<double>::quiet_NaN());
            const int sentLevel = o.value("sent_level").toInt(-1);
            if (rate > 0 && sentLevel >= 0 && sentLevel <= index && std::isfinite(sentAt) && std::abs(sentAt) <= limits::kMaxDurationS)
                levels[sentLevel].sends.push_back(sentAt);
            else if (rate > 0)
                l.sends.push_back(p.sent);
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
