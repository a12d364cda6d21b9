// Seed 000's benchmarking process on an endpoint: at each level, `concurrency` closed-loop users
// (each sends its next request when the previous one ends), a warm-up, then windows until two agree
// or the cap (LevelRecorder: the same rules as the engine's levels), in wall time on this thread's
// event loop. The levels are SweepLevels, so analyzeSweep gives the knee and the recommendation.
#pragma once
#include "http_client.h"

#include "study/sweep.h"

#include <functional>

namespace knee::net {

// What a level adds for an endpoint, beyond its SweepLevel.
struct HttpLevelExtras {
    std::int64_t sent = 0;         // requests that ended in the measured windows: completed + failed
    std::int64_t unfinished = 0;   // requests still in flight when the level ended (aborted, counted in neither)
    std::int64_t outputTokens = 0; // OpenAI: tokens in the measured responses
    double tokensPerS = 0;         // outputTokens / measured seconds
    QString lastError;             // the newest failure's detail, for people
};

struct HttpLevel {
    SweepLevel level;
    HttpLevelExtras extras;
};

// An endpoint's response into the window, as every endpoint measurer counts it (the sweep's closed-loop
// users, an open-loop load): failures by kind, latency from the intended send time, TTFT, ITL, tokens.
void recordOutcome(LevelWindow& window, const HttpOutcome& outcome);

HttpLevel measureHttpLevel(HttpClient& client, int concurrency, const SweepOptions& options);

struct HttpSweep {
    SweepResult result; // mode "http"
    std::vector<HttpLevelExtras> extras; // one per level
};

// Runs the levels of `options` against the client's target. `scenario` only feeds the analysis
// (its predict_concurrency, as for an engine sweep); `progress` may return false to cancel.
HttpSweep runHttpSweep(HttpClient& client, const Scenario& scenario, const SweepOptions& options,
                       const std::function<bool(const SweepLevel&)>& progress = {});

// Empty when some level completed a request; else, for people, that nothing was measured and what
// happened instead (failed and unfinished requests, the last error). `knee sweep` then exits 3.
// `extras` may be empty (an engine sweep).
QString nothingMeasured(const SweepResult& result, const std::vector<HttpLevelExtras>& extras);

// The scenario an endpoint sweep is analysed (and saved) with when the user gives none: a valid one
// whose knobs are the defaults (predict_concurrency 1), named after the endpoint.
Scenario endpointScenario(const QString& name);

// One request, for a connection test: its outcome (latency, or the classified failure).
HttpOutcome testConnection(HttpClient& client);

} // namespace knee::net
