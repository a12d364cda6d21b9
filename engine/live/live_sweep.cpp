#include "live_sweep.h"

#include "telemetry/gpu_telemetry.h"

#include "live_clock.h"
#include "live_run.h"

#include <QEventLoop>
#include <QTimer>

#include <algorithm>

namespace knee {

namespace {

class LiveDriver : public LevelDriver {
public:
    // A level waits for its replica's cold start at most `maxColdStartS`, then sends its load anyway.
    LiveDriver(double maxColdStartS, const PredictBackendInfo* backend, telemetry::GpuSampler* gpus)
        : m_maxColdStartS(maxColdStartS)
        , m_backend(backend)
        , m_gpus(gpus && gpus->available() ? gpus : nullptr)
    {
    }
    // With a model profile, every predict call of the level is a forward pass on the real backend; its
    // replica cold-starts (uploads its weights) at the level's start, before its load and warm-up.
    Engine& begin(const Scenario& s) override
    {
        m_run.reset(); // a level that ended early (an exception) left its run: it goes first
        m_run = std::make_unique<LiveRun>(s, m_backend);
        return m_run->engine();
    }
    void start(Engine&) override { m_run->startLoadWhenReady(m_maxColdStartS); }
    // Lets wall time pass on this thread's event loop (the clock runs the engine meanwhile), then
    // runs what is due up to t. The timer that ends the wait can fire up to about a millisecond late,
    // and events the clock ran in that millisecond count in this window: a bias of ~1 ms per window.
    void advanceTo(Engine& e, Nanos t) override
    {
        const Nanos wait = t - m_run->clock().wallNow();
        if (wait > 0) {
            QEventLoop loop;
            QTimer::singleShot(int(wait / kNanosPerMs) + 1, Qt::PreciseTimer, &loop, &QEventLoop::quit);
            loop.exec();
        }
        e.runUntil(std::max(e.now(), t));
    }
    void act(Engine&, const std::function<void(Engine&)>& change) override { m_run->act(change); }
    void measuring(Engine&) override
    {
        if (m_gpus)
            m_gpus->resetSummary(); // the level's GPU figures leave out its cold start and warm-up
    }
    void stop(Engine&) override
    {
        if (m_gpus)
            m_levelGpus = gpuLevelFigures(*m_gpus);
        m_run->stopAndWait(); // the clock, then the device's calls in flight; results not yet delivered are dropped
        m_run.reset();
    }
    void annotate(SweepLevel& level) const override { level.gpus = m_levelGpus; }
    LatencyHistogram takeClockLag() override { return m_run ? m_run->clock().takeWindowLag() : LatencyHistogram{}; }
    const char* mode() const override { return "live"; }

private:
    std::unique_ptr<LiveRun> m_run;
    double m_maxColdStartS;
    const PredictBackendInfo* m_backend;
    telemetry::GpuSampler* m_gpus;
    std::vector<GpuLevelFigures> m_levelGpus;
};

std::optional<double> meanOf(const telemetry::FieldStats& f, double scale = 1)
{
    return f.count ? std::optional<double>(f.mean() * scale) : std::nullopt;
}
std::optional<double> maxOf(const telemetry::FieldStats& f) { return f.count ? std::optional<double>(f.max) : std::nullopt; }

} // namespace

std::vector<GpuLevelFigures> gpuLevelFigures(const telemetry::GpuSampler& gpus)
{
    std::vector<GpuLevelFigures> out;
    for (const telemetry::GpuSummary& g : gpus.summary())
        out.push_back({g.index, g.name, g.samples, meanOf(g.utilizationPct), maxOf(g.utilizationPct), maxOf(g.memoryUsedBytes),
                       meanOf(g.powerW), maxOf(g.powerW), meanOf(g.smClockMHz), g.memoryTotalBytes});
    return out;
}

std::unique_ptr<LevelDriver> makeLiveDriver(double maxColdStartS, const PredictBackendInfo* backend, telemetry::GpuSampler* gpus)
{
    return std::make_unique<LiveDriver>(maxColdStartS, backend, gpus);
}

double liveColdStartBudgetS(const SweepOptions& options) { return std::max(1.0, options.warmupS + options.capS); }

SweepResult runLiveSweep(const Scenario& scenario, const SweepOptions& options, const PredictBackendInfo* backend,
                         const std::function<bool(const SweepLevel&)>& progress, telemetry::GpuSampler* gpus)
{
    const double budget = liveColdStartBudgetS(options);
    return runSweep(scenario, options, [budget, backend, gpus] { return makeLiveDriver(budget, backend, gpus); }, progress);
}

} // namespace knee
