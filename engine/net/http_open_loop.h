// An open-loop load on an endpoint: Poisson arrivals at a fixed rate, each request's latency counted from the
// moment it was meant to be sent (no coordinated omission), for as long as asked; what a twin's open-loop
// prediction is checked against (issue 15). Wall time on this thread's event loop, like the sweep's levels.
#pragma once
#include "http_client.h"

#include "study/sweep.h"

#include <cstdint>
#include <vector>

namespace knee::net {

// One request of an open-loop run, on the client's clock (ns since the run started): what a trace of the run
// holds (knee-bench-twin --trace), so that a tail can be taken apart: the client late to send (sent -
// intended), arrivals that bunch, slow stretches in time.
struct OpenLoopRecord {
    Nanos intended = 0; // when the arrival was due
    Nanos sent = 0;     // when the client's loop dispatched it (its timer late, or the loop busy); a wait for
                        // one of the client's max_connections comes after this, in the latency only
    Nanos ended = 0;    // when its answer (or failure) was in: intended + its latency
    bool ok = false;
    bool measured = false; // after the warm-up
};

struct OpenLoopRun {
    LevelWindow measured;         // responses to requests meant to be sent after the warm-up
    double measuredS = 0;         // the send window they came from
    std::int64_t sent = 0;        // every request sent, warm-up included
    std::int64_t sentMeasured = 0; // those meant to be sent after the warm-up (a Poisson count: its noise is the load's, not the server's)
    std::int64_t unfinished = 0;  // still unanswered when the drain ended (aborted, counted in neither)
    std::vector<OpenLoopRecord> records; // every request that ended, in the order they ended, when asked for
};

// The throughput of the measured requests at the nominal rate: `rps` x the share of them answered. The count
// of a few seconds of Poisson arrivals is itself a few percent off `rps`; this leaves that noise out.
double servedAtRate(const OpenLoopRun& run, double rps);
// The run's measured responses as a level (concurrency 0, throughput servedAtRate), to set against a twin's.
SweepLevel openLoopLevel(const OpenLoopRun& run, double rps);

// Sends Poisson arrivals at `rps` for `warmupS + durationS` seconds (seeded: the same gaps every run), then
// waits up to `drainS` for the responses still due. Requests above the client's max_connections wait in
// the client from their intended time on, so that waiting counts. `keepRecords`: OpenLoopRun::records too.
OpenLoopRun runPoissonLoad(HttpClient& client, double rps, double warmupS, double durationS, double drainS = 30,
                           std::uint64_t seed = 1, bool keepRecords = false);

} // namespace knee::net
