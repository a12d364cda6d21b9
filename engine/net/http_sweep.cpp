#include "http_sweep.h"

#include <QJsonDocument>

#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <chrono>

namespace knee::net {

namespace {

// One level's users and its current window, alive until every user coroutine has ended.
class LevelRun {
public:
    LevelRun(HttpClient& client, int users)
        : m_client(client)
        , m_users(users)
    {
    }

    void start()
    {
        for (int u = 0; u < m_users; ++u)
            user(u); // detached: each ends after stop()
    }

    // Lets `seconds` of wall time pass on this thread's event loop.
    static void wait(double seconds)
    {
        QEventLoop loop;
        QTimer::singleShot(std::chrono::milliseconds(std::max<qint64>(1, qint64(seconds * 1000))), Qt::PreciseTimer, &loop,
                           &QEventLoop::quit);
        loop.exec();
    }

    // Ends the users: requests in flight are aborted (not counted); returns when all have ended.
    void stop()
    {
        m_stopping = true;
        m_client.abortAll();
        if (m_running > 0) {
            QEventLoop loop;
            m_allEnded = &loop;
            loop.exec();
            m_allEnded = nullptr;
        }
    }

    LevelWindow takeWindow(std::int64_t& tokens)
    {
        LevelWindow w = std::move(m_window);
        m_window = LevelWindow();
        tokens = m_tokens;
        m_tokens = 0;
        return w;
    }
    const QString& lastError() const { return m_lastError; }

private:
    QCoro::Task<> user(int index)
    {
        ++m_running;
        while (!m_stopping) {
            // Closed loop, no think time: the next request is meant to go the moment the last ended.
            const HttpOutcome r = co_await m_client.send(m_client.now(), index);
            if (r.aborted)
                break;
            record(r);
        }
        if (--m_running == 0 && m_allEnded)
            m_allEnded->quit();
    }

    void record(const HttpOutcome& r)
    {
        if (r.failure) {
            ++m_window.failed;
            ++m_window.failuresByKind[std::string(failureKindName(*r.failure))];
            m_lastError = QString::fromLatin1(failureKindName(*r.failure)) + QStringLiteral(": ") + r.detail;
            return;
        }
        ++m_window.completed;
        m_window.latency.record(r.latency);
        if (r.ttft >= 0)
            m_window.ttft.record(r.ttft);
        if (r.itl >= 0)
            m_window.itl.record(r.itl);
        m_tokens += r.tokens;
    }

    HttpClient& m_client;
    int m_users;
    int m_running = 0;
    bool m_stopping = false;
    QEventLoop* m_allEnded = nullptr;
    LevelWindow m_window;
    std::int64_t m_tokens = 0;
    QString m_lastError;
};

} // namespace

HttpLevel measureHttpLevel(HttpClient& client, int concurrency, const SweepOptions& o)
{
    LevelRun run(client, concurrency);
    std::int64_t tokens = 0;
    run.start();
    if (o.warmupS > 0)
        LevelRun::wait(o.warmupS); // warm-up: never counted
    const double windowS = LevelRecorder::windowLength(o, run.takeWindow(tokens).completed);

    HttpLevel out;
    LevelRecorder recorder(concurrency, o);
    QElapsedTimer measured;
    measured.start();
    double elapsedS = 0;
    while (elapsedS < o.capS) {
        LevelRun::wait(std::min(windowS, o.capS - elapsedS));
        const double now = double(measured.nsecsElapsed()) / 1e9;
        const double width = now - elapsedS; // the real width: a timer may fire late on a busy machine
        elapsedS = now;
        LevelWindow w = run.takeWindow(tokens);
        out.extras.sent += w.completed + w.failed;
        out.extras.outputTokens += tokens;
        if (recorder.add(w, width))
            break;
    }
    const std::int64_t abortedBefore = client.counters().aborted;
    run.stop();
    out.extras.unfinished = client.counters().aborted - abortedBefore;
    out.level = recorder.finish(elapsedS);
    out.extras.tokensPerS = elapsedS > 0 ? double(out.extras.outputTokens) / elapsedS : 0;
    out.extras.lastError = run.lastError();
    return out;
}

HttpSweep runHttpSweep(HttpClient& client, const Scenario& scenario, const SweepOptions& o,
                       const std::function<bool(const SweepLevel&)>& progress)
{
    const auto start = std::chrono::steady_clock::now();
    HttpSweep sweep;
    SweepResult& r = sweep.result;
    r.mode = "http";
    r.target = QJsonDocument(client.target().toJson()).toJson(QJsonDocument::Compact).toStdString();
    r.scenarioName = client.target().url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery).toStdString();
    std::vector<int> levels = o.levels;
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    for (int level : levels) {
        HttpLevel measured = measureHttpLevel(client, level, o);
        r.levels.push_back(std::move(measured.level));
        sweep.extras.push_back(std::move(measured.extras));
        if (progress && !progress(r.levels.back())) {
            r.cancelled = true;
            break;
        }
    }
    analyzeSweep(r, scenario, o);
    r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sweep;
}

QString nothingMeasured(const SweepResult& r, const std::vector<HttpLevelExtras>& extras)
{
    if (r.levels.empty() || std::any_of(r.levels.begin(), r.levels.end(), [](const SweepLevel& l) { return l.completed > 0; }))
        return {};
    std::int64_t failed = 0, unfinished = 0;
    for (const SweepLevel& l : r.levels)
        failed += l.failed;
    QString lastError;
    for (const HttpLevelExtras& e : extras) {
        unfinished += e.unfinished;
        if (!e.lastError.isEmpty())
            lastError = e.lastError;
    }
    QString why = QStringLiteral("nothing measured: no level completed a request (%1 failed").arg(failed);
    if (!extras.empty())
        why += QStringLiteral(", %1 still unanswered when their level ended").arg(unfinished);
    why += QStringLiteral("), so nothing is recommended");
    if (unfinished > 0)
        why += QStringLiteral("; a response that outlasts its level is never measured (--request-timeout-ms bounds one)");
    if (!lastError.isEmpty())
        why += QStringLiteral("; last error: ") + lastError;
    return why;
}

Scenario endpointScenario(const QString& name)
{
    Scenario s;
    s.name = name.toStdString();
    s.workload.arrival = ArrivalConfig::closed(1, Distribution::constant(0)); // the default open-loop rate of 0 would not validate
    s.workload.requests = 1;
    return s;
}

HttpOutcome testConnection(HttpClient& client)
{
    HttpOutcome result;
    QEventLoop loop;
    bool done = false;
    client.send(client.now()).then([&](HttpOutcome o) {
        result = std::move(o);
        done = true;
        loop.quit();
    });
    if (!done)
        loop.exec();
    return result;
}

} // namespace knee::net
