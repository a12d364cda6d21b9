// Seed 000's benchmarking process on an endpoint: at each level, `concurrency` closed-loop users
// (each sends its next request when the previous one ends), a warm-up, then windows until two agree
// or the cap (LevelRecorder: the same rules as the engine's levels), in wall time on this thread's
// event loop. The levels are SweepLevels, so analyzeSweep gives the knee and the recommendation.
#pragma once
#include "http_client.h"
#include "metrics_scraper.h"

#include "study/sweep.h"

#include <functional>

namespace knee::net {

// One level against the client's target; its `endpoint` counts are set.
SweepLevel measureHttpLevel(HttpClient& client, int concurrency, const SweepOptions& options);

// An endpoint's response into the window, as every endpoint measurer counts it (the sweep's closed-loop
// users, an open-loop load): failures by kind, latency from the intended send time, TTFT, ITL, tokens.
void recordOutcome(LevelWindow& window, const HttpOutcome& outcome);

// Runs the levels of `options` against the client's target (mode "http"). `scenario` only feeds the
// analysis (its predict_concurrency, as for an engine sweep); `progress` may return false to cancel.
// With `scrape`, the target's /metrics is scraped throughout and each level keeps what its measured
// windows saw (SweepLevel::server).
SweepResult runHttpSweep(HttpClient& client, const Scenario& scenario, const SweepOptions& options,
                         const std::function<bool(const SweepLevel&)>& progress = {},
                         const std::optional<ScraperOptions>& scrape = std::nullopt);
// The scraper of an endpoint sweep: `metricsUrl` (empty: the /metrics beside the target), the user's extra
// metric names, and the target's headers when the metrics live on the target's own host (never elsewhere).
ScraperOptions scraperFor(const HttpTarget& target, const QUrl& metricsUrl, const QStringList& extraNames);
// A scraper's window as a level keeps it.
ServerScrape serverScrape(const ScrapeWindow& window);

// Empty when some level completed a request; else, for people, that nothing was measured and what
// happened instead (failed and, for an endpoint, unfinished requests, the last error). `knee sweep`
// then exits 3.
QString nothingMeasured(const SweepResult& result);

// The scenario an endpoint sweep is analysed (and saved) with when the user gives none: a valid one
// whose knobs are the defaults (predict_concurrency 1), named after the endpoint.
Scenario endpointScenario(const QString& name);

// One request, for a connection test: its outcome (latency, or the classified failure).
HttpOutcome testConnection(HttpClient& client);

} // namespace knee::net
