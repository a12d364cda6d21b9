#include "sweep_runner.h"

#include "live/live_run.h"
#include "live/live_sweep.h"
#include "net/http_client.h"
#include "net/http_sweep.h"

#include <algorithm>

namespace knee {

QString checkSweepRequest(const SweepRequest& request)
{
    if (request.endpoint && request.grid)
        return QStringLiteral("the grid varies the built-in engine's predict_concurrency; an endpoint's is set where it is deployed");
    if (request.grid && (request.grid->predictConcurrency.empty() || request.grid->targets.empty()))
        return QStringLiteral("the grid needs at least one predict_concurrency and one concurrency target");
    if (request.grid && request.options.rateSweep())
        return QStringLiteral("the grid measures closed-loop levels (its concurrency targets); run the rate sweep without it");
    if (request.options.rateSweep()
        && std::any_of(request.options.rates.begin(), request.options.rates.end(), [](double r) { return !(r >= kMinSweepRateRps && r <= limits::kMaxRateRps); }))
        return QStringLiteral("rates are from 0.001 to 10000000 req/s");
    if (request.options.levels.empty() && !request.options.rateSweep())
        return QStringLiteral("a sweep needs at least one level");
    if (request.locust && !request.endpoint)
        return QStringLiteral("Locust generates load for an endpoint sweep (--target)");
    if (request.scrape && !request.endpoint)
        return QStringLiteral("scraping /metrics is for an endpoint sweep (the built-in engine's figures are its own)");
    if (request.scrape)
        if (const QString e = request.scrape->validate(); !e.isEmpty())
            return QStringLiteral("metrics: ") + e;
    if (request.live && !request.endpoint)
        if (const std::string e = LiveRun::missingBackend(request.scenario, bool(request.backend)); !e.empty())
            return QString::fromStdString(e);
    return {};
}

SweepRun runSweepRequest(const SweepRequest& request, const std::function<bool(const SweepLevel&)>& progress,
                         const std::function<bool(const GridCell&)>& cellProgress)
{
    SweepRun run;
    run.sweep.options = request.options;
    run.sweep.options.levelStarting = nullptr; // the run's hooks, not the session's
    run.sweep.options.gridStarting = nullptr;
    SweepResult& r = run.sweep.result;
    if (request.endpoint && request.locust) {
        net::LocustSweepRun locust = net::runLocustSweep(*request.endpoint, request.apiKey, request.scenario, request.options, *request.locust, progress,
                                                           request.scrape);
        r = std::move(locust.result);
        run.error = locust.error;
        return run;
    }
    if (request.endpoint) {
        net::HttpClient client(*request.endpoint, request.apiKey);
        r = net::runHttpSweep(client, request.scenario, request.options, progress, request.scrape);
        return run;
    }
    const PredictBackendInfo* backend = request.live && !request.scenario.model.profile.empty() ? request.backend() : nullptr;
    r = request.live ? runLiveSweep(request.scenario, request.options, backend, progress, request.gpus)
                     : runVirtualSweep(request.scenario, request.options, progress);
    if (!request.grid || r.cancelled)
        return run;
    if (request.options.gridStarting)
        request.options.gridStarting();
    GridOptions g = *request.grid;
    if (const int t = r.recommendation.concurrencyTarget; t > 0 && std::find(g.targets.begin(), g.targets.end(), t) == g.targets.end())
        g.targets.push_back(t); // a level the sweep added: the grid's choice is made in its column
    const double coldStartBudget = liveColdStartBudgetS(g.level);
    const LevelDriverFactory driver = request.live ? LevelDriverFactory([coldStartBudget, backend] { return makeLiveDriver(coldStartBudget, backend); })
                                                   : LevelDriverFactory(makeVirtualDriver);
    run.grid = SessionGrid{g, runGrid(request.scenario, g, driver, cellProgress)};
    applyGridChoice(r, run.grid->result, request.scenario, request.options); // the grid, not the scenario, sets predict_concurrency and the target
    return run;
}

} // namespace knee
