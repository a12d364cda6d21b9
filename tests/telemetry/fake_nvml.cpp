// A stand-in for libnvidia-ml.so.1 with values the tests choose, so that the telemetry module's dlopen path,
// its field handling and its summaries run where there is no GPU. Environment:
//   FAKE_NVML_GPUS        how many GPUs (default 2)
//   FAKE_NVML_INIT_ERROR  nvmlInit_v2 fails with this NVML error code
//   FAKE_NVML_NO_POWER    power draw is NVML_ERROR_NOT_SUPPORTED (as on some boards)
// GPU i reports utilisation 37 + 10 i %, (i + 1) GiB used of 80 GiB, 123.456 + i W, SM clock 1980 - 100 i MHz.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
int envInt(const char* name, int fallback)
{
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}
int gpuOf(void* device) { return int(reinterpret_cast<std::uintptr_t>(device)) - 1; }
} // namespace

extern "C" {
struct FakeUtilization {
    unsigned int gpu, memory;
};
struct FakeMemory {
    unsigned long long total, free, used;
};
__attribute__((visibility("default"))) int nvmlInit_v2() { return envInt("FAKE_NVML_INIT_ERROR", 0); }
__attribute__((visibility("default"))) int nvmlShutdown() { return 0; }
__attribute__((visibility("default"))) const char* nvmlErrorString(int r)
{
    return r == 9 ? "Driver Not Loaded" : r == 3 ? "Not Supported" : "Unknown Error";
}
__attribute__((visibility("default"))) int nvmlDeviceGetCount_v2(unsigned int* count)
{
    *count = unsigned(envInt("FAKE_NVML_GPUS", 2));
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** device)
{
    *device = reinterpret_cast<void*>(std::uintptr_t(i) + 1);
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetName(void* device, char* name, unsigned int length)
{
    std::snprintf(name, length, "Fake GPU %d", gpuOf(device));
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetUtilizationRates(void* device, FakeUtilization* u)
{
    u->gpu = unsigned(37 + 10 * gpuOf(device));
    u->memory = 5;
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetMemoryInfo(void* device, FakeMemory* m)
{
    m->total = 80ull << 30;
    m->used = (unsigned long long)(gpuOf(device) + 1) << 30;
    m->free = m->total - m->used;
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(void* device, unsigned int* milliwatts)
{
    if (envInt("FAKE_NVML_NO_POWER", 0))
        return 3;
    *milliwatts = unsigned(123456 + 1000 * gpuOf(device));
    return 0;
}
__attribute__((visibility("default"))) int nvmlDeviceGetClockInfo(void* device, int type, unsigned int* mhz)
{
    if (type != 1) // NVML_CLOCK_SM
        return 2;
    *mhz = unsigned(1980 - 100 * gpuOf(device));
    return 0;
}
}
