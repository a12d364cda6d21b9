// Sends requests: open loop (Poisson or constant rate, or Poisson at a rate shaped over time: step,
// spike, diurnal; or a replayed trace; the intended send time is the schedule, whatever happens
// downstream) or closed loop (N users, each waits for its response, thinks, then sends again).
// Stops at the workload's request count or duration.
#pragma once
#include "distribution.h"
#include "event_queue.h"
#include "random.h"
#include "scenario.h"

#include <cstdint>
#include <vector>

namespace knee {

inline constexpr std::uint32_t kOpenLoopSource = 0xFFFFFFFFu;

class LoadGenerator {
public:
    LoadGenerator(const WorkloadConfig& workload, EventQueue& events);

    void start(Nanos now);
    // An Arrival event fired at `now`. True when a request is to be sent now; `user` is then the
    // closed-loop user who sends it (−1 in open loop) and `size` its size from a trace (< 0: draw one).
    bool onArrival(const Event& e, Nanos now, std::int32_t& user, double& size);
    // The send onArrival last allowed came from a timer of its own (open loop, or a user's think time),
    // not from a response at the same instant: the live engine's thread had to wake for it.
    bool lastSendTimed() const { return m_lastSendTimed; }
    // A closed-loop user's request ended (completed, failed or rejected). A rejected user retries
    // after its think time or kMinRetryDelay, whichever is longer: with a full queue and zero think
    // time it would otherwise resend forever at one instant and virtual time would never advance.
    void onResponse(std::int32_t user, Nanos now, bool rejected);
    static constexpr Nanos kMinRetryDelay = kNanosPerMs;

    void setRate(double rps, Nanos now); // open loop; takes effect from now
    void setUsers(int users, Nanos now); // closed loop; extra users stop after their current request

    bool closedLoop() const { return m_closed; }
    bool fixedRate() const { return m_arrival.hasFixedRate(); }
    double rate() const { return m_rateRps; }
    int users() const { return m_activeUsers; }
    std::int64_t sent() const { return m_sent; }
    // True while the generator may still send: started, not stopped, and below its count and time limits.
    bool sending(Nanos now) const { return m_started && mayIssue(now); }
    // Sends nothing more (the engine's memory budget for queued requests was reached).
    void stop() { m_stopped = true; }
    // The workload asked for more requests than were sent, and the one-year limit of simulated time
    // (limits::kMaxDurationS), not the workload's own duration, is what ended the sending.
    bool cutByTimeLimit() const;

private:
    enum class UserState : std::uint8_t { Stopped, Thinking, Busy };
    struct User {
        std::uint32_t generation = 0;
        UserState state = UserState::Stopped;
        Nanos wokenAt = 0; // when its send was scheduled (for a later time: a think time)
    };

    bool mayIssue(Nanos t) const;
    Nanos interArrival();
    Nanos nextOpenArrival(Nanos now); // kNever when the pattern has no more sends
    void scheduleOpen(Nanos at);
    void wakeUser(std::uint32_t index, Nanos at, Nanos now);

    EventQueue& m_events;
    ArrivalConfig m_arrival;
    std::size_t m_traceNext = 0;
    bool m_closed;
    bool m_poisson;
    double m_rateRps;
    std::int64_t m_limitRequests;
    Nanos m_limitTime; // the workload's end: its start plus its duration, capped at the one-year limit of simulated time
    Nanos m_origin = 0; // when the workload started (start())
    bool m_durationBinds; // the workload's own duration is the time limit (not the one-year cap)
    bool m_stopped = false;
    Rng m_arrivalRng;
    Rng m_thinkRng;
    Sampler m_think;
    std::uint32_t m_openGeneration = 0;
    std::vector<User> m_users;
    int m_activeUsers = 0;
    std::int64_t m_sent = 0;
    bool m_started = false;
    bool m_lastSendTimed = false;
};

} // namespace knee
