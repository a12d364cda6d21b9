// knee-gpu-probe: samples every GPU through knee's telemetry module (NVML, loaded at run time) for a few
// seconds and prints one JSON object per GPU: what `knee simulate --live --json` and `knee serve`'s /metrics
// report. run_gpu_check.sh compares it with nvidia-smi on a GPU machine.
//   knee-gpu-probe [--seconds S] [--period-ms MS] [--library PATH]
// Exit status: 0 with at least one GPU sampled, 1 without NVML or GPU (the notice on stderr), 2 bad flags.
#include "telemetry/gpu_telemetry.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

using namespace knee::telemetry;

namespace {

void printStats(const char* name, const FieldStats& f)
{
    if (f.count == 0) {
        std::printf(", \"%s\": null", name);
        return;
    }
    std::printf(", \"%s\": {\"mean\": %.3f, \"min\": %.3f, \"max\": %.3f, \"last\": %.3f, \"count\": %lld}", name, f.mean(), f.min, f.max,
                f.last, static_cast<long long>(f.count));
}

} // namespace

int main(int argc, char** argv)
{
    double seconds = 3;
    int periodMs = 250;
    std::string library = defaultNvmlLibrary();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "knee-gpu-probe: %s needs a value\n", a.c_str());
            return 2;
        }
        if (a == "--seconds")
            seconds = std::atof(argv[++i]);
        else if (a == "--period-ms")
            periodMs = std::atoi(argv[++i]);
        else if (a == "--library")
            library = argv[++i];
        else {
            std::fprintf(stderr, "usage: knee-gpu-probe [--seconds S] [--period-ms MS] [--library PATH]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds <= 3600)) {
        std::fprintf(stderr, "knee-gpu-probe: --seconds expects (0, 3600]\n");
        return 2;
    }
    GpuSampler sampler(periodMs, library);
    std::fprintf(stderr, "knee-gpu-probe: %s\n", sampler.notice().c_str());
    if (!sampler.available() || sampler.gpuCount() == 0)
        return 1;
    sampler.start();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    sampler.stop();
    for (const GpuSummary& g : sampler.summary()) {
        std::printf("{\"gpu\": %d, \"name\": \"%s\", \"samples\": %lld, \"period_ms\": %d, \"memory_total_bytes\": %.0f", g.index,
                    g.name.c_str(), static_cast<long long>(g.samples), sampler.periodMs(), g.memoryTotalBytes);
        printStats("utilization_pct", g.utilizationPct);
        printStats("memory_used_bytes", g.memoryUsedBytes);
        printStats("power_w", g.powerW);
        printStats("sm_clock_mhz", g.smClockMHz);
        std::printf("}\n");
    }
    return 0;
}
