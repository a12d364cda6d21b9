// knee-bench-live: the live clock's figures for BENCHMARKS.md, measured in one run.
//   1. live engine throughput with zero-cost stages (requests/s the live clock sustains);
//   2. the live clock's timer error (how late events run) at 1k and 10k req/s with a 10 ms predict;
//   3. engine throughput with the workbench window drawing vs headless (goal >= 90 %);
//   4. the window's refresh interval while the engine runs flat out (goal p99 <= 33 ms).
// Runs offscreen (no display needed). Usage: knee-bench-live [--seconds S]
#include "live/live_engine_host.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTest>

#include <cstdio>
#include <cstring>

using namespace knee;

namespace {

Scenario zeroCost(double rateRps)
{
    Scenario s;
    s.name = "zero-cost stages";
    s.deployment.concurrencyTarget = limits::kMaxConcurrency;
    s.deployment.predictConcurrency = limits::kMaxConcurrency;
    s.workload.arrival = ArrivalConfig::poisson(rateRps);
    s.workload.requests = 1;
    return s;
}

Scenario tenMsPredict(double rateRps)
{
    Scenario s = zeroCost(rateRps);
    s.name = "10 ms predict";
    s.model.predict = Distribution::constant(10);
    return s;
}

// Completed requests per wall second over `seconds`, after a short warm-up.
double throughput(LiveEngineHost& host, double seconds)
{
    QTest::qWait(300);
    const auto before = host.snapshot();
    QElapsedTimer t;
    t.start();
    QTest::qWait(int(seconds * 1000));
    const auto after = host.snapshot();
    return double(after->engine.completed - before->engine.completed) / (double(t.nsecsElapsed()) / 1e9);
}

} // namespace

int main(int argc, char** argv)
{
    double seconds = 5;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: knee-bench-live [--seconds S]\n");
            return 2;
        }
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("knee-bench"));

    // 1. Flat out: arrivals far faster than the engine can follow, so it runs as fast as it can.
    const double flatOutRate = 5e6;
    double headless = 0;
    {
        LiveEngineHost host(zeroCost(flatOutRate), {});
        headless = throughput(host, seconds);
    }
    std::printf("live engine, zero-cost stages, headless:        %12.0f requests/s\n", headless);

    // 2. Timer error at moderate loads: lag = wall time an event ran − its due time.
    for (double rate : {1000.0, 10000.0}) {
        LiveEngineHost host(tenMsPredict(rate), {});
        QTest::qWait(int(seconds * 1000));
        const auto s = host.snapshot();
        std::printf("timer error at %5.0f req/s (10 ms predict):    p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (%lld events)\n",
                    rate, s->lag.p50, s->lag.p99, s->lag.p999, s->lag.max, (long long)s->lag.count);
    }

    // 3 and 4. The same flat-out engine with the workbench window drawing it.
    double withUi = 0;
    LatencySummaryMs frames;
    {
        knee::ui::MainWindow window(zeroCost(flatOutRate), QStringLiteral("bench"));
        window.resize(1280, 800);
        window.show();
        withUi = throughput(window.host(), seconds);
        frames = summarize(window.frameIntervals());
    }
    // Headless again, after: the ratio uses the mean of the runs before and after the UI run, so
    // the order of the runs (warm-up, a busy neighbour) does not favour either side.
    double headlessAfter = 0;
    {
        LiveEngineHost host(zeroCost(flatOutRate), {});
        headlessAfter = throughput(host, seconds);
    }
    std::printf("live engine, zero-cost stages, window drawing:  %12.0f requests/s\n", withUi);
    std::printf("live engine, zero-cost stages, headless again:  %12.0f requests/s\n", headlessAfter);
    std::printf("with UI / headless = %.3f (goal >= 0.90)\n", withUi / ((headless + headlessAfter) / 2));
    std::printf("UI refresh interval while the engine runs flat out: p50 %.1f ms  p99 %.1f ms  max %.1f ms (goal p99 <= 33 ms)\n",
                frames.p50, frames.p99, frames.max);
    return 0;
}
