// GPU telemetry through NVML, loaded at run time: utilisation, memory used, power and SM clock per GPU,
// sampled on a thread of its own at a bounded rate. No Qt, and no link-time dependency on the driver:
// libnvidia-ml.so.1 is dlopen()ed (KNEE_NVML_LIBRARY names another file, for tests and odd installs), so
// knee runs where no NVIDIA driver exists and says so in a notice instead.
//
// A field a GPU does not report (NVML_ERROR_NOT_SUPPORTED: power on some boards, utilisation under MIG)
// is left empty, never zero.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace knee::telemetry {

struct GpuSample {
    int index = 0;
    std::string name;
    std::int64_t atNs = 0; // steady clock
    std::optional<double> utilizationPct;   // share of the last sample period a kernel ran, 0-100
    std::optional<double> memoryUsedBytes;  // device memory in use (all processes)
    std::optional<double> memoryTotalBytes;
    std::optional<double> powerW;           // board power draw
    std::optional<double> smClockMHz;       // current SM clock
};

// Running figures of one field over a run: only the samples that had it.
struct FieldStats {
    std::int64_t count = 0;
    double sum = 0, min = 0, max = 0, last = 0;
    void add(double v);
    double mean() const { return count ? sum / double(count) : 0.0; }
};

struct GpuSummary {
    int index = 0;
    std::string name;
    std::int64_t samples = 0;
    FieldStats utilizationPct, memoryUsedBytes, powerW, smClockMHz;
    double memoryTotalBytes = 0;
};

// The library name knee loads: $KNEE_NVML_LIBRARY when set, else libnvidia-ml.so.1 (the driver's, found
// by the dynamic loader).
std::string defaultNvmlLibrary();

// One loaded, initialised NVML. Not thread-safe by itself: GpuSampler calls it from its thread only.
class Nvml {
public:
    struct Loaded {
        std::unique_ptr<Nvml> nvml; // null when NVML cannot be used
        std::string notice;         // why not, for people (or, when loaded, what was found)
    };
    static Loaded load(const std::string& library = defaultNvmlLibrary());
    ~Nvml();
    Nvml(const Nvml&) = delete;
    Nvml& operator=(const Nvml&) = delete;

    int deviceCount() const { return int(m_devices.size()); }
    const std::string& name(int index) const { return m_names[std::size_t(index)]; }
    GpuSample sample(int index) const;

private:
    struct Api;
    explicit Nvml(std::unique_ptr<Api> api);
    std::unique_ptr<Api> m_api;
    std::vector<void*> m_devices;  // nvmlDevice_t
    std::vector<std::string> m_names;
};

// Samples every GPU every `periodMs` (clamped to [kMinPeriodMs, kMaxPeriodMs]) on its own thread, from
// start() to stop() (or its destruction). Without NVML it samples nothing and notice() says why.
class GpuSampler {
public:
    static constexpr int kMinPeriodMs = 50;     // NVML's own utilisation counters refresh no faster than this
    static constexpr int kMaxPeriodMs = 60'000;
    static constexpr int kDefaultPeriodMs = 500;
    explicit GpuSampler(int periodMs = kDefaultPeriodMs, const std::string& library = defaultNvmlLibrary());
    ~GpuSampler();
    GpuSampler(const GpuSampler&) = delete;
    GpuSampler& operator=(const GpuSampler&) = delete;

    bool available() const { return bool(m_nvml); }
    const std::string& notice() const { return m_notice; }
    int periodMs() const { return m_periodMs; }
    int gpuCount() const { return m_nvml ? m_nvml->deviceCount() : 0; }

    void start(); // takes one sample at once, then one per period
    void stop();  // joins the thread; the figures stay readable
    std::vector<GpuSample> latest() const;    // the newest sample of each GPU
    std::vector<GpuSummary> summary() const;  // over every sample since start() (or resetSummary())
    void resetSummary();                      // the summary starts again from the next sample (a sweep's level)

private:
    void run();
    void takeSample();

    std::unique_ptr<Nvml> m_nvml;
    std::string m_notice;
    int m_periodMs;
    std::thread m_thread;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopping = false;
    std::vector<GpuSample> m_latest;
    std::vector<GpuSummary> m_summary;
};

} // namespace knee::telemetry
