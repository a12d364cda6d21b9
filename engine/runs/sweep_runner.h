// The one way a sweep is chosen and started, for `knee sweep` and the window's sweep page: on the
// built-in engine in virtual or live time, or on an endpoint; then, when asked, the predict_concurrency
// grid on the same engine, whose best cell in the recommended target's column sets the recommended
// predict_concurrency. The result is what a session keeps and `knee sweep --json` prints.
#pragma once
#include "net/http_target.h"
#include "net/locust_sweep.h"
#include "net/metrics_scraper.h"
#include "session/sweep_record.h"

#include <QByteArray>
#include <QString>

#include <functional>
#include <optional>

namespace knee {

struct PredictBackendInfo;
namespace telemetry {
class GpuSampler;
}

struct SweepRequest {
    Scenario scenario;
    SweepOptions options;
    bool live = false;                       // the engine in live time, the real predict stage; else virtual time
    std::optional<net::HttpTarget> endpoint; // an endpoint instead of the engine
    QByteArray apiKey;                       // the endpoint's key, already resolved; never saved
    std::optional<GridOptions> grid;         // the engine only (checkSweepRequest says so)
    // Live time with a model profile: what runs predict (the caller's), asked on the thread the sweep runs
    // on (a device's first set-up takes a moment); never null.
    std::function<const PredictBackendInfo*()> backend;
    std::optional<net::ScraperOptions> scrape; // an endpoint's /metrics, scraped per level
    // Live time: the caller's running GPU sampler (NVML), whose figures each level keeps; null: none.
    telemetry::GpuSampler* gpus = nullptr;
    // An endpoint's load from Locust's master and workers instead of knee's own client (issue 18).
    std::optional<net::LocustOptions> locust;
};

struct SweepRun {
    SessionSweep sweep;
    std::optional<SessionGrid> grid;
    QString error; // the sweep could not finish (Locust's processes failed); what finished is in `sweep`
};

// Empty when the request can run; else why not, for people.
QString checkSweepRequest(const SweepRequest& request);

// Runs a request that checkSweepRequest accepted, on this thread (an endpoint's client runs on its
// event loop). `progress` hears of each finished level, `cellProgress` of each grid cell; either may
// return false to cancel (what finished is kept and analysed; a cancelled sweep runs no grid).
SweepRun runSweepRequest(const SweepRequest& request, const std::function<bool(const SweepLevel&)>& progress = {},
                         const std::function<bool(const GridCell&)>& cellProgress = {});

} // namespace knee
