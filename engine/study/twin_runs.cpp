// The twin's own runs (closed loop, Poisson) and the words around a twin: its banner and its file's comments.
#include "twin.h"
#include "twin_text.h"

#include "run_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace knee {

namespace {

// The twin on `replicas` fixed replicas (no autoscaler, no scripted changes) with `arrival`.
Scenario onReplicas(const Scenario& twin, int replicas, int target, const ArrivalConfig& arrival)
{
    Scenario s = twin;
    s.deployment.minReplicas = s.deployment.maxReplicas = s.deployment.initialReplicas = std::max(1, replicas);
    s.deployment.autoscaler.policy = AutoscalerConfig::Policy::None;
    s.deployment.coldStartS = 0;
    if (target > 0)
        s.deployment.concurrencyTarget = target;
    s.changes.clear();
    s.workload.arrival = arrival;
    return s;
}

} // namespace

SweepLevel twinClosedLoop(const Scenario& twin, int replicas, int users, int target, std::int64_t responses)
{
    Scenario s = onReplicas(twin, replicas, target, ArrivalConfig::closed(std::max(1, users)));
    s.workload.requests = 0;
    s.workload.durationS = limits::kMaxDurationS;
    s.workload.warmupS = 0;
    Engine engine(s);
    // Warm-up: the first round of a closed loop is a burst; a few rounds of every user first.
    const std::int64_t warmup = std::max<std::int64_t>(500, 5 * std::int64_t(users));
    std::int64_t seen = 0;
    Nanos start = -1, end = -1;
    LevelWindow w;
    const auto ended = [&w] { return w.completed + w.failed + w.rejected; };
    engine.setObserver([&](const Request& r) {
        if (r.outcome == Outcome::InFlight)
            return;
        if (++seen == warmup)
            start = r.done;
        else if (seen > warmup && ended() < responses) {
            recordResponse(w, r);
            end = r.done;
        }
    });
    engine.startLoad();
    while (ended() < responses && engine.step()) {
    }
    return levelOf(w, users, start >= 0 && end > start ? nanosToSeconds(end - start) : 0);
}

SweepLevel twinOpenLoop(const Scenario& twin, int replicas, double rps, double durationS, int target, bool constant)
{
    Scenario s = onReplicas(twin, replicas, target, constant ? ArrivalConfig::constantRate(rps) : ArrivalConfig::poisson(rps));
    s.workload.requests = 0;
    s.workload.durationS = durationS;
    s.workload.warmupS = durationS / 10;
    Engine engine(s);
    LevelWindow w;
    engine.setObserver([&](const Request& r) {
        if (r.measured)
            recordResponse(w, r);
    });
    engine.startLoad();
    engine.runToCompletion();
    return levelOf(w, 0, durationS - s.workload.warmupS);
}

double TwinLevelCheck::worstErrorPct() const
{
    double worst = std::max({std::abs(throughputErrorPct()), std::abs(p50ErrorPct()), std::abs(p95ErrorPct())});
    if (streaming)
        worst = std::max({worst, std::abs(ttftP50ErrorPct()), std::abs(ttftP95ErrorPct()), std::abs(itlP50ErrorPct())});
    return worst;
}

namespace {

using twin_text::fixed;
using twin_text::levelList;

void checkTable(std::string& out, const char* title, const std::vector<TwinLevelCheck>& rows)
{
    if (rows.empty())
        return;
    const bool stream = rows.front().streaming;
    out += std::string("# ") + title + "\n";
    out += stream ? "#   users   req/s meas/twin     p50 ms meas/twin     p95 ms meas/twin    ttft p50 meas/twin     itl p50 meas/twin\n"
                  : "#   users   req/s meas/twin     p50 ms meas/twin     p95 ms meas/twin\n";
    auto pair = [](double m, double t, double err) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%8.1f/%-8.1f(%+.1f%%)", m, t, err);
        return std::string(buf);
    };
    for (const TwinLevelCheck& c : rows) {
        char head[32];
        std::snprintf(head, sizeof head, "#   %5d ", c.concurrency);
        out += head + pair(c.measuredRps, c.twinRps, c.throughputErrorPct()) + " " + pair(c.measuredP50, c.twinP50, c.p50ErrorPct()) + " "
            + pair(c.measuredP95, c.twinP95, c.p95ErrorPct());
        if (stream)
            out += " " + pair(c.measuredTtftP50, c.twinTtftP50, c.ttftP50ErrorPct()) + " " + pair(c.measuredItlP50, c.twinItlP50, c.itlP50ErrorPct());
        out += "\n";
    }
}

} // namespace

double twinWorstErrorPct(const TwinErrors& e)
{
    double worst = 0;
    for (const auto* column : {&e.throughputPct, &e.p50Pct, &e.p95Pct, &e.ttftP50Pct, &e.ttftP95Pct, &e.itlP50Pct})
        for (double v : *column)
            worst = std::max(worst, std::abs(v));
    return worst;
}

std::string twinBanner(const TwinSource& t)
{
    std::string out = "Twin of " + (t.endpoint.empty() ? std::string("an endpoint") : t.endpoint);
    if (!t.measuredAt.empty())
        out += ", measured " + t.measuredAt;
    if (!t.fittedAt.empty())
        out += ", fitted " + t.fittedAt;
    if (!t.levels.empty())
        out += " on levels " + levelList(t.levels);
    out += "; replays them within " + fixed(twinWorstErrorPct(t.replay), 1) + " %";
    if (!t.crossValidation.concurrency.empty())
        out += ", predicts left-out levels within " + fixed(twinWorstErrorPct(t.crossValidation), 1) + " %";
    return out;
}

std::string twinWhatIf(const DeploymentConfig& opened, const DeploymentConfig& now)
{
    std::string out;
    for (const auto& [name, was, is] : {std::tuple{"concurrency target", opened.concurrencyTarget, now.concurrencyTarget},
                                        std::tuple{"predict_concurrency", opened.predictConcurrency, now.predictConcurrency},
                                        std::tuple{"min replicas", opened.minReplicas, now.minReplicas},
                                        std::tuple{"max replicas", opened.maxReplicas, now.maxReplicas}})
        if (was != is)
            out += std::string(out.empty() ? "" : ", ") + name + " " + std::to_string(is) + " (as opened: " + std::to_string(was) + ")";
    return out;
}

std::string twinComments(const TwinFit& fit)
{
    std::string out;
    if (!fit.twin || !fit.twin->twin)
        return out;
    const TwinSource& t = *fit.twin->twin;
    out += "# " + twinBanner(t) + ".\n";
    out += "# An ordinary knee scenario: simulate, plan, sweep, the grid and the window run it. The twin: section at the\n"
           "# end records where it came from and how well it replays what was measured.\n";
    out += "# Where each value came from:\n";
    for (const std::string& n : fit.notes)
        out += "#   - " + n + "\n";
    for (const TwinLeftOut& l : fit.leftOut)
        out += "#   - level " + std::to_string(l.concurrency) + " left out: " + l.why + "\n";
    checkTable(out, "The twin replaying the sweep (measured/twin, error):", fit.replay);
    checkTable(out, "Cross-validation (each level predicted by a twin fitted without it):", fit.crossValidation);
    return out;
}

} // namespace knee
