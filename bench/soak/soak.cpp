// knee-soak: a headless live run at sustained load, for as long as asked, with a random knob move
// every few seconds (concurrency target, predict concurrency, replica bounds, arrival rate, cold
// start, autoscaler, and now and then a pause/resume or a reset). Every snapshot the engine thread
// publishes (~30 Hz) is checked:
//   - conservation: arrived = completed + failed + rejected + queued + held;
//   - the replicas' held requests add up to the deployment's, and each replica's held requests are
//     the sum of its stages; a cold-starting or removed replica holds none; no count is negative;
//   - the counters never go backwards within one run (a reset starts a new run);
// and the process's resident memory (/proc/self/statm) is sampled every --sample-s seconds.
// Engine::checkInvariants itself runs on the engine thread and is not reachable from outside the
// live host; the snapshot checks above are the conservation identity it checks, seen from outside.
//
//   knee-soak [--minutes M | --seconds S] [--warmup-s W] [--change-every-s C] [--sample-s P]
//             [--rate RPS] [--seed N] [--samples FILE.csv]
// Exit 0 when no check failed, 1 when one did (the JSON says which), 2 on bad arguments.
// The JSON: duration_s, snapshots_checked, requests_checked (requests that arrived in all runs, each
// covered by the conservation identity while it lived), knob_changes, resets, violations (count and the
// first few), rss_mib {after_warmup, end, max, growth, growth_percent, slope_mib_per_hour}.
#include "live/live_engine_host.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QTimer>

#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace knee;

namespace {

double rssMiB()
{
    // statm: size resident shared text lib data dt, in pages.
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0) : 0;
}

Scenario soakScenario(double rateRps, std::uint64_t seed)
{
    Scenario s;
    s.name = "soak";
    s.deployment.minReplicas = 2;
    s.deployment.maxReplicas = 6;
    s.deployment.initialReplicas = 4;
    s.deployment.concurrencyTarget = 16;
    s.deployment.predictConcurrency = 4;
    s.deployment.coldStartS = 2;
    // Random knobs can leave the deployment short of capacity for a while; a bounded queue rejects the
    // excess (counted) instead of letting it grow without end, so memory measures the engine, not the load.
    s.deployment.queueLimit = 5000;
    s.deployment.autoscaler.policy = AutoscalerConfig::Policy::Baseten;
    s.deployment.autoscaler.windowS = 10;
    s.deployment.autoscaler.scaleDownDelayS = 20;
    s.model.preprocess = Distribution::exponential(1);
    s.model.predict = Distribution::of(Distribution::Kind::Lognormal, 8);
    s.model.predict.sigma = 0.4;
    s.model.postprocess = Distribution::exponential(0.5);
    s.model.predictFailureRate = 0.001;
    s.workload.arrival = ArrivalConfig::poisson(rateRps);
    s.workload.requests = 1; // the live host lifts stop limits: the run goes on until it is stopped
    s.workload.seed = seed;
    return s;
}

struct Violation {
    double atS;
    std::string what;
};

class Soak : public QObject {
public:
    Soak(double seconds, double warmupS, double changeEveryS, double sampleS, double rateRps, std::uint64_t seed, QString samplesPath)
        : m_seconds(seconds)
        , m_warmupS(warmupS)
        , m_changeEveryS(changeEveryS)
        , m_sampleS(sampleS)
        , m_rate(rateRps)
        , m_rng(seed)
        , m_scenario(soakScenario(rateRps, seed))
        , m_host(m_scenario, {}) // its scenario names no model: no predict backend
        , m_samplesPath(std::move(samplesPath))
    {
        connect(&m_host, &LiveEngineHost::published, this, [this] { check(); }, Qt::QueuedConnection);
        m_clock.start();
        m_changeTimer.setInterval(int(m_changeEveryS * 1000));
        connect(&m_changeTimer, &QTimer::timeout, this, [this] { changeKnob(); });
        m_changeTimer.start();
        m_sampleTimer.setInterval(int(m_sampleS * 1000));
        connect(&m_sampleTimer, &QTimer::timeout, this, [this] { sample(); });
        m_sampleTimer.start();
        QTimer::singleShot(std::chrono::milliseconds(qint64(m_seconds * 1000)), Qt::PreciseTimer, this, [this] { finish(); });
        sample();
    }

    int exitCode() const { return m_violationCount == 0 ? 0 : 1; }

private:
    double nowS() const { return double(m_clock.nsecsElapsed()) / 1e9; }

    void fail(const std::string& what)
    {
        ++m_violationCount;
        if (m_violations.size() < 10)
            m_violations.push_back({nowS(), what});
    }

    void check()
    {
        const auto snap = m_host.snapshot();
        if (!snap || snap->sequence == m_lastSequence)
            return;
        m_lastSequence = snap->sequence;
        ++m_snapshots;
        const EngineSnapshot& e = snap->engine;
        const std::int64_t accounted = e.completed + e.failed + e.rejected + e.queued + e.held;
        if (e.arrived != accounted)
            fail("conservation: arrived " + std::to_string(e.arrived) + " != completed + failed + rejected + queued + held = "
                 + std::to_string(accounted));
        if (e.arrived < 0 || e.completed < 0 || e.failed < 0 || e.rejected < 0 || e.queued < 0 || e.held < 0)
            fail("a negative counter");
        if (m_scenario.deployment.queueLimit > 0 && e.queued > m_scenario.deployment.queueLimit)
            fail("queue " + std::to_string(e.queued) + " beyond its limit");
        std::int64_t held = 0;
        for (const ReplicaSnapshot& r : e.replicas) {
            const int stages = r.preprocessing + r.waitingForPredict + r.inPredict + r.postprocessing;
            if (r.held != stages)
                fail("replica " + std::to_string(r.id) + " holds " + std::to_string(r.held) + " but has " + std::to_string(stages)
                     + " in its stages");
            if (r.held < 0 || r.inPredict < 0 || r.preprocessing < 0 || r.waitingForPredict < 0 || r.postprocessing < 0)
                fail("replica " + std::to_string(r.id) + " has a negative count");
            if ((r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Removed) && r.held != 0)
                fail("replica " + std::to_string(r.id) + " holds requests while not ready");
            held += r.held;
        }
        if (held != e.held)
            fail("replicas hold " + std::to_string(held) + " but the deployment counts " + std::to_string(e.held));
        // Within one run nothing counted goes backwards. After a reset the old engine may still publish
        // once or twice before the new one starts: the first drop after a reset is the new run.
        const bool back = e.arrived < m_last.arrived || e.completed < m_last.completed || e.failed < m_last.failed
            || e.rejected < m_last.rejected;
        if (back && m_resetPending) {
            m_arrivedBefore += m_last.arrived;
            m_resetPending = false;
        } else if (back) {
            fail("a counter went backwards");
        }
        m_last = e;
    }

    void changeKnob()
    {
        std::uniform_int_distribution<int> pick(0, 99);
        const int p = pick(m_rng);
        std::string refused;
        if (p < 2) { // a reset: a fresh engine, counters from 0 (a new run for the monotonic check)
            m_scenario = soakScenario(m_rate, m_rng());
            refused = m_host.reset(m_scenario);
            m_resetPending = refused.empty();
            ++m_resets;
        } else if (p < 5) {
            m_host.pause();
            QTimer::singleShot(500, this, [this] { m_host.resume(); });
        } else if (p < 25) {
            refused = m_host.setConcurrencyTarget(std::uniform_int_distribution<int>(1, 48)(m_rng));
        } else if (p < 45) {
            refused = m_host.setPredictConcurrency(std::uniform_int_distribution<int>(1, 12)(m_rng));
        } else if (p < 60) {
            const int lo = std::uniform_int_distribution<int>(0, 4)(m_rng);
            refused = m_host.setReplicaBounds(lo, lo + std::uniform_int_distribution<int>(1, 6)(m_rng) - (lo == 0 ? 0 : 1));
        } else if (p < 80) {
            // Around the configured rate: sometimes far above what the replicas can serve.
            refused = m_host.setArrivalRate(m_rate * std::uniform_real_distribution<double>(0.2, 2.5)(m_rng));
        } else if (p < 88) {
            refused = m_host.setColdStart(std::uniform_real_distribution<double>(0, 5)(m_rng));
        } else {
            AutoscalerConfig a = m_scenario.deployment.autoscaler;
            a.policy = AutoscalerConfig::Policy(std::uniform_int_distribution<int>(0, 2)(m_rng));
            a.windowS = std::uniform_real_distribution<double>(10, 30)(m_rng);
            a.scaleDownDelayS = std::uniform_real_distribution<double>(0, 30)(m_rng);
            refused = m_host.setAutoscaler(a);
        }
        ++m_changes;
        if (!refused.empty())
            ++m_refused;
        if (const auto snap = m_host.snapshot())
            m_scenario.deployment = m_host.scenario().deployment; // what was accepted, for the queue-limit check
    }

    void sample()
    {
        const double t = nowS();
        const double rss = rssMiB();
        m_samples.push_back({t, rss});
        if (m_rssMax < rss)
            m_rssMax = rss;
    }

    void finish()
    {
        sample();
        check();
        m_changeTimer.stop();
        m_sampleTimer.stop();
        const auto snap = m_host.snapshot();
        const std::int64_t requests = m_arrivedBefore + (snap ? snap->engine.arrived : 0);
        // Memory after warm-up: the first sample at or after --warmup-s; growth to the last sample,
        // and the least-squares slope over every sample after warm-up.
        double afterWarmup = m_samples.back().second;
        for (const auto& [t, rss] : m_samples)
            if (t >= m_warmupS) {
                afterWarmup = rss;
                break;
            }
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (const auto& [t, rss] : m_samples)
            if (t >= m_warmupS) {
                sx += t, sy += rss, sxx += t * t, sxy += t * rss;
                ++n;
            }
        const double slope = n >= 2 && (n * sxx - sx * sx) > 0 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) * 3600.0 : 0.0;
        const double end = m_samples.back().second;
        const double duration = nowS();
        std::string violations = "[";
        for (std::size_t i = 0; i < m_violations.size(); ++i) {
            std::string what;
            for (char c : m_violations[i].what)
                what += (c == '"' || c == '\\') ? '\'' : c;
            violations += (i ? ", " : "") + std::string("{\"at_s\": ") + std::to_string(m_violations[i].atS) + ", \"what\": \"" + what + "\"}";
        }
        violations += "]";
        std::printf("{\n"
                    "  \"duration_s\": %.1f,\n"
                    "  \"warmup_s\": %.1f,\n"
                    "  \"snapshots_checked\": %" PRIu64 ",\n"
                    "  \"requests_checked\": %" PRId64 ",\n"
                    "  \"last_run\": {\"arrived\": %" PRId64 ", \"completed\": %" PRId64 ", \"failed\": %" PRId64 ", \"rejected\": %" PRId64 "},\n"
                    "  \"knob_changes\": %d,\n"
                    "  \"knob_changes_refused\": %d,\n"
                    "  \"resets\": %d,\n"
                    "  \"violations\": %" PRIu64 ",\n"
                    "  \"first_violations\": %s,\n"
                    "  \"rss_samples\": %zu,\n"
                    "  \"rss_mib\": {\"start\": %.1f, \"after_warmup\": %.1f, \"end\": %.1f, \"max\": %.1f, \"growth\": %.1f, "
                    "\"growth_percent\": %.1f, \"slope_mib_per_hour\": %.2f}\n"
                    "}\n",
                    duration, m_warmupS, m_snapshots, requests, snap ? snap->engine.arrived : 0, snap ? snap->engine.completed : 0,
                    snap ? snap->engine.failed : 0, snap ? snap->engine.rejected : 0, m_changes, m_refused, m_resets, m_violationCount,
                    violations.c_str(), m_samples.size(), m_samples.front().second, afterWarmup, end, m_rssMax, end - afterWarmup,
                    afterWarmup > 0 ? (end - afterWarmup) / afterWarmup * 100.0 : 0.0, slope);
        std::fflush(stdout);
        if (!m_samplesPath.isEmpty()) {
            QFile f(m_samplesPath);
            if (f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
                f.write("t_s,rss_mib\n");
                for (const auto& [t, rss] : m_samples)
                    f.write(QByteArray::number(t, 'f', 1) + ',' + QByteArray::number(rss, 'f', 2) + '\n');
            }
        }
        QCoreApplication::exit(exitCode());
    }

    double m_seconds, m_warmupS, m_changeEveryS, m_sampleS, m_rate;
    std::mt19937_64 m_rng;
    Scenario m_scenario;
    LiveEngineHost m_host;
    QString m_samplesPath;
    QElapsedTimer m_clock;
    QTimer m_changeTimer, m_sampleTimer;
    std::uint64_t m_lastSequence = 0, m_snapshots = 0, m_violationCount = 0;
    EngineSnapshot m_last;
    std::int64_t m_arrivedBefore = 0; // requests of the runs before the last reset
    bool m_resetPending = false;
    int m_changes = 0, m_refused = 0, m_resets = 0;
    std::vector<Violation> m_violations;
    std::vector<std::pair<double, double>> m_samples;
    double m_rssMax = 0;
};

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: knee-soak [--minutes M | --seconds S] [--warmup-s W] [--change-every-s C] [--sample-s P] [--rate RPS] "
                         "[--seed N] [--samples FILE.csv]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    double seconds = 30 * 60, warmupS = -1, changeEveryS = 3, sampleS = 5, rate = 1500;
    std::uint64_t seed = 1;
    QString samples;
    for (int i = 1; i < argc; ++i) {
        auto value = [&]() -> double {
            if (i + 1 >= argc)
                usage();
            char* end = nullptr;
            const double v = std::strtod(argv[++i], &end);
            if (!end || *end || !std::isfinite(v) || v < 0)
                usage();
            return v;
        };
        if (!std::strcmp(argv[i], "--minutes"))
            seconds = value() * 60;
        else if (!std::strcmp(argv[i], "--seconds"))
            seconds = value();
        else if (!std::strcmp(argv[i], "--warmup-s"))
            warmupS = value();
        else if (!std::strcmp(argv[i], "--change-every-s"))
            changeEveryS = value();
        else if (!std::strcmp(argv[i], "--sample-s"))
            sampleS = value();
        else if (!std::strcmp(argv[i], "--rate"))
            rate = value();
        else if (!std::strcmp(argv[i], "--seed"))
            seed = std::uint64_t(value());
        else if (!std::strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = QString::fromLocal8Bit(argv[++i]);
        else
            usage();
    }
    if (seconds <= 0 || changeEveryS < 0.05 || sampleS < 0.05 || rate <= 0)
        usage();
    if (warmupS < 0)
        warmupS = std::min(300.0, seconds / 6); // 5 minutes of a 30-minute run
    Soak soak(seconds, warmupS, changeEveryS, std::min(sampleS, seconds), rate, seed, samples);
    return app.exec();
}
