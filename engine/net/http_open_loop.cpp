#include "http_open_loop.h"

#include "arrival_timer.h"
#include "http_sweep.h"

#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace knee::net {

namespace {

class PoissonRun {
public:
    PoissonRun(HttpClient& client, OpenLoopRun& out, Nanos measureFrom, Nanos origin, bool keepRecords)
        : m_client(client)
        , m_out(out)
        , m_measureFrom(measureFrom)
        , m_origin(origin)
        , m_keepRecords(keepRecords)
    {
    }

    QCoro::Task<> request(Nanos intended)
    {
        ++m_running;
        ++m_out.sent;
        m_out.sentMeasured += intended >= m_measureFrom;
        const Nanos sent = m_client.now();
        const HttpOutcome r = co_await m_client.send(intended, int(m_out.sent));
        if (!r.aborted && intended >= m_measureFrom)
            recordOutcome(m_out.measured, r);
        if (m_keepRecords && !r.aborted)
            m_out.records.push_back({intended - m_origin, sent - m_origin, intended + r.latency - m_origin, r.ok(), intended >= m_measureFrom});
        if (--m_running == 0 && m_drained)
            m_drained->quit();
    }

    // Returns when every request has ended, or after `seconds` (then the rest are aborted and counted).
    void drain(double seconds)
    {
        if (m_running > 0) {
            QEventLoop loop;
            m_drained = &loop;
            QTimer::singleShot(std::chrono::milliseconds(qint64(seconds * 1000)), &loop, &QEventLoop::quit);
            loop.exec();
        }
        m_out.unfinished = m_running;
        if (m_running > 0) {
            QEventLoop loop;
            m_drained = &loop;
            m_client.abortAll();
            if (m_running > 0)
                loop.exec();
        }
        m_drained = nullptr;
    }

private:
    HttpClient& m_client;
    OpenLoopRun& m_out;
    Nanos m_measureFrom;
    Nanos m_origin;
    bool m_keepRecords;
    int m_running = 0;
    QEventLoop* m_drained = nullptr;
};

} // namespace

double servedAtRate(const OpenLoopRun& run, double rps)
{
    return run.sentMeasured > 0 ? rps * double(run.measured.completed) / double(run.sentMeasured) : 0;
}

SweepLevel openLoopLevel(const OpenLoopRun& run, double rps)
{
    SweepLevel l = levelOf(run.measured, 0, run.measuredS); // open loop: no users
    // What the endpoint served of the offered rate (responses per request sent in the window).
    l.throughputRps = servedAtRate(run, rps);
    return l;
}

OpenLoopRun runPoissonLoad(HttpClient& client, double rps, double warmupS, double durationS, double drainS, std::uint64_t seed,
                           bool keepRecords)
{
    OpenLoopRun out;
    const Nanos start = client.now();
    const Nanos measureFrom = start + Nanos(warmupS * 1e9), end = measureFrom + Nanos(durationS * 1e9);
    if (keepRecords)
        out.records.reserve(std::size_t(std::max(0.0, rps * (warmupS + durationS) * 1.1)));
    PoissonRun run(client, out, measureFrom, start, keepRecords);
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> gap(rps);
    Nanos next = start + Nanos(gap(rng) * 1e9);
    QEventLoop loop;
    // One timer for the next arrival: every arrival already due is sent (with its own intended time) when
    // it fires; it wakes within tens of microseconds of the time (arrival_timer.h).
    ArrivalTimer timer([&] { return client.now(); }, [&] {
        const Nanos now = client.now();
        for (; next <= now && next < end; next += Nanos(gap(rng) * 1e9))
            run.request(next);
        if (next >= end)
            loop.quit();
        else
            timer.armAt(next);
    });
    timer.armAt(next);
    loop.exec();
    out.measuredS = durationS;
    run.drain(drainS);
    return out;
}

} // namespace knee::net
