#include "load_generator.h"

#include <algorithm>
#include <limits>

namespace knee {

namespace stream {
inline constexpr std::uint64_t kArrivals = 1, kThink = 2;
}

LoadGenerator::LoadGenerator(const WorkloadConfig& w, EventQueue& events)
    : m_events(events)
    , m_arrival(w.arrival)
    , m_closed(w.arrival.kind == ArrivalConfig::Kind::Closed)
    , m_poisson(w.arrival.kind == ArrivalConfig::Kind::Poisson)
    , m_rateRps(w.arrival.rateRps)
    , m_limitRequests(w.requests)
    // Every run ends within a year of simulated time: a vanishing rate with a request count would
    // otherwise run (or draw candidate arrivals) forever.
    , m_limitTime(secondsToNanos(w.durationS > 0 ? std::min(w.durationS, limits::kMaxDurationS) : limits::kMaxDurationS))
    , m_durationBinds(w.durationS > 0 && w.durationS <= limits::kMaxDurationS)
    , m_arrivalRng(streamSeed(w.seed, stream::kArrivals))
    , m_thinkRng(streamSeed(w.seed, stream::kThink))
    , m_think(w.arrival.think)
    , m_activeUsers(m_closed ? w.arrival.users : 0)
{
}

bool LoadGenerator::mayIssue(Nanos t) const
{
    return !m_stopped && (m_limitRequests == 0 || m_sent < m_limitRequests) && t < m_limitTime;
}

bool LoadGenerator::cutByTimeLimit() const
{
    return m_started && !m_durationBinds && !m_stopped && m_limitRequests > 0 && m_sent < m_limitRequests;
}

Nanos LoadGenerator::interArrival()
{
    const double meanS = 1.0 / m_rateRps;
    // Between 1 ns (a rate beyond 1e9/s is not one this engine can mean) and the longest run
    // (a vanishing rate must not overflow the clock).
    const double gapS = std::min(m_poisson ? m_arrivalRng.exponential(meanS) : meanS, limits::kMaxDurationS);
    const Nanos gap = secondsToNanos(gapS);
    return gap > 0 ? gap : 1;
}

void LoadGenerator::scheduleOpen(Nanos at)
{
    if (at != kNever)
        m_events.push(at, EventType::Arrival, kOpenLoopSource, m_openGeneration);
}

// The next send after `now`: a fixed-rate gap; for shaped rates, Poisson thinning (Lewis and
// Shedler): candidates at the peak rate, each kept with probability rate(t) / peak rate; for a
// trace, its next record.
Nanos LoadGenerator::nextOpenArrival(Nanos now)
{
    using K = ArrivalConfig::Kind;
    if (m_arrival.kind == K::Trace)
        return m_traceNext < m_arrival.trace.size() ? std::max(now, m_origin + secondsToNanos(m_arrival.trace[m_traceNext].atS)) : kNever;
    if (m_arrival.hasFixedRate())
        return now + interArrival();
    if (m_arrival.kind == K::Step || m_arrival.kind == K::Spike) {
        // Piecewise-constant rate: exact, and bounded by the number of rate changes. Thinning at the
        // peak rate would draw ~peak/rate candidates per arrival: endless for a step down to 1e-320.
        // In the workload's own seconds (from its start), as the scenario gives the rate changes.
        double t = nanosToSeconds(now - m_origin);
        const double limitS = nanosToSeconds(m_limitTime - m_origin);
        while (t < limitS) {
            const double rate = m_arrival.rateAt(t);
            const double change = std::min(m_arrival.nextRateChange(t), limitS);
            const double gap = rate > 0 ? m_arrivalRng.exponential(1.0 / rate) : std::numeric_limits<double>::infinity();
            if (t + gap < change)
                return std::max(now + 1, m_origin + secondsToNanos(t + gap));
            t = change; // memoryless: draw afresh at the new rate
        }
        return kNever;
    }
    const double peak = m_arrival.maxRate();
    Nanos t = now;
    while (t < m_limitTime) {
        const Nanos gap = secondsToNanos(std::min(m_arrivalRng.exponential(1.0 / peak), limits::kMaxDurationS));
        t += std::max<Nanos>(gap, 1);
        if (m_arrivalRng.uniform01() * peak <= m_arrival.rateAt(nanosToSeconds(t - m_origin)))
            return t;
    }
    return kNever;
}

void LoadGenerator::wakeUser(std::uint32_t index, Nanos at, Nanos now)
{
    User& u = m_users[index];
    u.state = UserState::Thinking;
    u.wokenAt = now;
    m_events.push(at, EventType::Arrival, index, u.generation);
}

void LoadGenerator::start(Nanos now)
{
    if (m_started)
        return;
    m_started = true;
    // The workload's times (duration, trace, rate shape) count from here.
    m_origin = now;
    m_limitTime += now;
    if (m_closed) {
        setUsers(m_activeUsers, now);
        return;
    }
    // Constant rate: the first send is at once; every other kind draws its first send time.
    scheduleOpen(m_arrival.kind == ArrivalConfig::Kind::Constant ? now : nextOpenArrival(now));
}

bool LoadGenerator::onArrival(const Event& e, Nanos now, std::int32_t& user, double& size)
{
    user = -1;
    size = -1;
    if (e.arg == kOpenLoopSource) {
        if (e.generation != m_openGeneration || !mayIssue(now))
            return false;
        ++m_sent;
        m_lastSendTimed = true;
        if (m_arrival.kind == ArrivalConfig::Kind::Trace)
            size = m_arrival.trace[m_traceNext++].size;
        scheduleOpen(nextOpenArrival(now));
        return true;
    }
    if (e.arg >= m_users.size())
        return false;
    User& u = m_users[e.arg];
    if (e.generation != u.generation || u.state != UserState::Thinking)
        return false; // cancelled when the user count was lowered
    if (!mayIssue(now)) {
        u.state = UserState::Stopped;
        return false;
    }
    ++m_sent;
    m_lastSendTimed = now > u.wokenAt;
    u.state = UserState::Busy;
    user = std::int32_t(e.arg);
    return true;
}

void LoadGenerator::onResponse(std::int32_t user, Nanos now, bool rejected)
{
    if (user < 0 || std::size_t(user) >= m_users.size())
        return;
    User& u = m_users[std::size_t(user)];
    if (user >= m_activeUsers || !mayIssue(now)) {
        u.state = UserState::Stopped;
        return;
    }
    Nanos think = m_think.sampleAt(m_thinkRng, now);
    if (rejected && think < kMinRetryDelay)
        think = kMinRetryDelay;
    wakeUser(std::uint32_t(user), now + think, now);
}

void LoadGenerator::setRate(double rps, Nanos now)
{
    if (m_closed || !m_arrival.hasFixedRate() || !(rps > 0))
        return;
    m_rateRps = rps;
    m_arrival.rateRps = rps;
    // Cancel the pending arrival drawn at the old rate and draw the next one at the new rate.
    // For Poisson this is exact (memoryless); for a constant rate the next send is one new gap away.
    ++m_openGeneration;
    scheduleOpen(now + interArrival());
}

void LoadGenerator::setUsers(int users, Nanos now)
{
    if (!m_closed || users < 0)
        return;
    if (std::size_t(users) > m_users.size())
        m_users.resize(std::size_t(users));
    m_activeUsers = users;
    for (std::size_t i = 0; i < m_users.size(); ++i) {
        User& u = m_users[i];
        if (int(i) < users) {
            if (u.state == UserState::Stopped && mayIssue(now))
                wakeUser(std::uint32_t(i), now, now);
        } else if (u.state == UserState::Thinking) {
            ++u.generation; // cancel its pending send; a busy user stops after its response
            u.state = UserState::Stopped;
        }
    }
}

} // namespace knee
