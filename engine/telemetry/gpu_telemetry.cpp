#include "gpu_telemetry.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace knee::telemetry {

namespace {

// NVML's C interface, declared here rather than taken from nvml.h: Debian 12 ships that header only in
// non-free (libnvidia-ml-dev, with the CUDA toolkit), and knee must build without it. These signatures and
// structs are NVML's stable ABI (the _v2 entry points exist since driver 3xx).
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlNotSupported = 3;
constexpr int kNvmlClockSm = 1;
struct nvmlUtilization_t {
    unsigned int gpu, memory;
};
struct nvmlMemory_t {
    unsigned long long total, free, used;
};

std::int64_t steadyNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

struct Nvml::Api {
    nvmlReturn_t (*init)();
    nvmlReturn_t (*shutdown)();
    const char* (*errorString)(nvmlReturn_t);
    nvmlReturn_t (*count)(unsigned int*);
    nvmlReturn_t (*handleByIndex)(unsigned int, nvmlDevice_t*);
    nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int);
    nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*);
    nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
    nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*);
    nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned int*);

    std::string error(nvmlReturn_t r) const
    {
        const char* s = errorString ? errorString(r) : nullptr;
        return (s ? std::string(s) : std::string("error")) + " (NVML error " + std::to_string(r) + ")";
    }
};

void FieldStats::add(double v)
{
    min = count ? std::min(min, v) : v;
    max = count ? std::max(max, v) : v;
    sum += v;
    last = v;
    ++count;
}

std::string defaultNvmlLibrary()
{
    if (const char* env = std::getenv("KNEE_NVML_LIBRARY"); env && *env)
        return env;
    return "libnvidia-ml.so.1";
}

Nvml::Loaded Nvml::load(const std::string& library)
{
    Loaded out;
    // The library stays loaded for the process's life (as the CUDA module does): NVML keeps threads and
    // state of its own, and unloading it buys nothing.
    void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = ::dlerror();
        out.notice = "no GPU telemetry: cannot load " + library + " (" + (e ? e : "dlopen failed")
            + "); an NVIDIA driver provides it";
        return out;
    }
    auto api = std::make_unique<Api>();
    bool complete = true;
    auto bind = [&](auto& fn, const char* symbol) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, symbol));
        complete = complete && fn;
    };
    bind(api->init, "nvmlInit_v2");
    bind(api->shutdown, "nvmlShutdown");
    bind(api->errorString, "nvmlErrorString");
    bind(api->count, "nvmlDeviceGetCount_v2");
    bind(api->handleByIndex, "nvmlDeviceGetHandleByIndex_v2");
    bind(api->name, "nvmlDeviceGetName");
    bind(api->utilization, "nvmlDeviceGetUtilizationRates");
    bind(api->memory, "nvmlDeviceGetMemoryInfo");
    bind(api->power, "nvmlDeviceGetPowerUsage");
    bind(api->clock, "nvmlDeviceGetClockInfo");
    if (!complete) {
        out.notice = "no GPU telemetry: " + library + " is not NVML (its entry points are missing)";
        return out;
    }
    if (const nvmlReturn_t r = api->init(); r != kNvmlSuccess) {
        out.notice = "no GPU telemetry: NVML did not start: " + api->error(r);
        return out;
    }
    std::unique_ptr<Nvml> nvml(new Nvml(std::move(api)));
    unsigned int count = 0;
    if (const nvmlReturn_t r = nvml->m_api->count(&count); r != kNvmlSuccess) {
        out.notice = "no GPU telemetry: NVML cannot count the GPUs: " + nvml->m_api->error(r);
        return out; // nvml's destructor shuts NVML down
    }
    count = std::min(count, 64u); // a bound on what we keep per sample, far above any one host
    for (unsigned int i = 0; i < count; ++i) {
        nvmlDevice_t device = nullptr;
        if (const nvmlReturn_t r = nvml->m_api->handleByIndex(i, &device); r != kNvmlSuccess) {
            out.notice = "no GPU telemetry: NVML cannot open GPU " + std::to_string(i) + ": " + nvml->m_api->error(r);
            return out;
        }
        char name[96] = {};
        if (nvml->m_api->name(device, name, sizeof name - 1) != kNvmlSuccess)
            name[0] = '\0';
        nvml->m_devices.push_back(device);
        nvml->m_names.emplace_back(name);
    }
    out.notice = count == 0 ? "NVML loaded, but it sees no GPU" : "NVML: " + std::to_string(count) + " GPU(s)";
    out.nvml = std::move(nvml);
    return out;
}

Nvml::Nvml(std::unique_ptr<Api> api)
    : m_api(std::move(api))
{
}

Nvml::~Nvml() { m_api->shutdown(); }

GpuSample Nvml::sample(int index) const
{
    GpuSample s;
    s.index = index;
    s.name = m_names[std::size_t(index)];
    s.atNs = steadyNs();
    nvmlDevice_t d = m_devices[std::size_t(index)];
    // Each field on its own: one the board does not support (or that fails once) leaves only itself empty.
    if (nvmlUtilization_t u{}; m_api->utilization(d, &u) == kNvmlSuccess)
        s.utilizationPct = double(u.gpu);
    if (nvmlMemory_t m{}; m_api->memory(d, &m) == kNvmlSuccess) {
        s.memoryUsedBytes = double(m.used);
        s.memoryTotalBytes = double(m.total);
    }
    if (unsigned int mw = 0; m_api->power(d, &mw) == kNvmlSuccess)
        s.powerW = double(mw) / 1000.0;
    if (unsigned int mhz = 0; m_api->clock(d, kNvmlClockSm, &mhz) == kNvmlSuccess)
        s.smClockMHz = double(mhz);
    (void)kNvmlNotSupported; // named for readers: the usual reason a field is empty
    return s;
}

GpuSampler::GpuSampler(int periodMs, const std::string& library)
    : m_periodMs(std::clamp(periodMs, kMinPeriodMs, kMaxPeriodMs))
{
    Nvml::Loaded loaded = Nvml::load(library);
    m_nvml = std::move(loaded.nvml);
    m_notice = std::move(loaded.notice);
    if (m_nvml) {
        m_summary.resize(std::size_t(m_nvml->deviceCount()));
        for (int i = 0; i < m_nvml->deviceCount(); ++i) {
            m_summary[std::size_t(i)].index = i;
            m_summary[std::size_t(i)].name = m_nvml->name(i);
        }
    }
}

GpuSampler::~GpuSampler() { stop(); }

void GpuSampler::start()
{
    if (!m_nvml || m_thread.joinable())
        return;
    {
        std::lock_guard lock(m_mutex);
        m_stopping = false;
    }
    m_thread = std::thread([this] { run(); });
}

void GpuSampler::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

void GpuSampler::run()
{
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        lock.unlock();
        takeSample();
        lock.lock();
        m_wake.wait_for(lock, std::chrono::milliseconds(m_periodMs), [this] { return m_stopping; });
    }
}

void GpuSampler::takeSample()
{
    std::vector<GpuSample> samples;
    for (int i = 0; i < m_nvml->deviceCount(); ++i)
        samples.push_back(m_nvml->sample(i)); // NVML calls outside the lock: readers never wait on the driver
    std::lock_guard lock(m_mutex);
    for (const GpuSample& s : samples) {
        GpuSummary& g = m_summary[std::size_t(s.index)];
        ++g.samples;
        if (s.utilizationPct)
            g.utilizationPct.add(*s.utilizationPct);
        if (s.memoryUsedBytes)
            g.memoryUsedBytes.add(*s.memoryUsedBytes);
        if (s.memoryTotalBytes)
            g.memoryTotalBytes = *s.memoryTotalBytes;
        if (s.powerW)
            g.powerW.add(*s.powerW);
        if (s.smClockMHz)
            g.smClockMHz.add(*s.smClockMHz);
    }
    m_latest = std::move(samples);
}

std::vector<GpuSample> GpuSampler::latest() const
{
    std::lock_guard lock(m_mutex);
    return m_latest;
}

void GpuSampler::resetSummary()
{
    std::lock_guard lock(m_mutex);
    for (GpuSummary& g : m_summary)
        g = GpuSummary{g.index, g.name, 0, {}, {}, {}, {}, g.memoryTotalBytes};
}

std::vector<GpuSummary> GpuSampler::summary() const
{
    std::lock_guard lock(m_mutex);
    return m_summary;
}

} // namespace knee::telemetry
