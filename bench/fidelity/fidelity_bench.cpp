// knee-bench-fidelity: does a virtual run of a calibrated scenario predict the live run of the same
// scenario and placement? (docs/DESIGN.md §2, "Fidelity"). A matrix of model profiles × batching modes ×
// predict_concurrency × replicas on one device, each at closed-loop levels and at Poisson loads of a
// share of the measured capacity:
//
//   knee-bench-fidelity live    --tables DIR --out live.jsonl   [matrix flags]   # the real predict stage
//   knee-bench-fidelity virtual --tables DIR --live live.jsonl --out virtual.jsonl # the same cells, virtual
//   knee-bench-fidelity compare --live live.jsonl --virtual virtual.jsonl          # the table (Markdown)
//   knee-bench-fidelity grid --live L.json --virtual V.json [--slo-ms 1,2]        # `knee sweep --grid` sessions (grid_compare.cpp)
//   knee-bench-fidelity refit --tables DIR --out DIR2 --tail-ms auto|device|MS [--device-axis on-device] [--call-idle-trace CSV] [--variation-by-k on]  # a tail or the device times (a call curve, the variation by k), the overheads refitted (refit_tail.cpp)
//
// `live --trace DIR` writes each window's device calls (start, end, device time, GPU, replica, batch) as
// DIR/<config>-<load>-<level index>.csv: how calls overlapped, for bench/fidelity/trace_overlap.py.
//
// `live --backend emulated:MS` replaces the device by calls that compute nothing and take MS each: what is
// left is the live engine's own cost (its ceiling in requests per second, where it goes under perf).
//
// `--poisson-window-s S` (and `--poisson-warmup-s`) give the Poisson levels their own window: near capacity
// a 0.3 s window's p95 is mostly sampling noise. `virtual --seed N` replays with other arrivals and draws:
// `compare ... --floor virtual-seed2.jsonl` adds the floor that sampling alone sets.
//
// `live --repeats 2` measures every level twice in the same engine (a second pass after the first);
// compare then also sets the second pass against the first: the live run's agreement with itself.
//
// DIR holds `knee calibrate --out` files named <profile>.yaml, measured on the machine of the live run.
// The live run needs the device; the virtual one runs anywhere (it reads the live run's Poisson rates), so
// a change to the device model is checked again without the device. Each configuration is one engine:
// the closed-loop levels change its users, the Poisson loads its rate; each level has a warm-up and one
// window, the same wall (live) or simulated (virtual) seconds.
#include "emulated_backend.h"
#include "fidelity.h"

#include "io/scenario_reader.h"
#include "live/backend_executor.h"
#include "live/live_sweep.h"
#include "metrics/latency_histogram.h"
#include "study/sweep.h"
#include "telemetry/gpu_telemetry.h"
#include "telemetry/host_contention.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <execinfo.h>
#include <fstream>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace knee;
using fidelity::Options;

namespace {

// Run 7 of the GPU matrix died of a segmentation fault inside libcuda, and run 5 stopped without a word
// (BENCHMARKS.md, "Fidelity"): on a fatal signal, say which thread it hit (knee's threads are named:
// knee-cuda-done, knee-replica; the main thread runs the engine here; another name is CUDA's own or
// Qt's) and its stack, as module+offset (the bundle is stripped: map the offsets with addr2line on the
// unstripped build), then die of the same signal. write() is async-signal-safe; pthread_getname_np,
// syscall and backtrace_symbols_fd are not on POSIX's list but are in glibc (no allocation, no lock);
// backtrace() may take the loader's lock on its first call, which is made at start.
pid_t g_mainTid = 0;

// The live run's predict backend: --backend's, else the machine's own (GPU, else CPU), set up when a live run starts.
const PredictBackendInfo* g_backend = nullptr;
// Live runs on a GPU: NVML every 50 ms, summarised per window (null without NVML or in virtual runs).
telemetry::GpuSampler* g_gpus = nullptr;

// Where each of this process's threads last ran (/proc/self/task/*/stat, field 39), by thread name: run 17
// had `small`'s calls slow down for seconds at a time with no steal and the GPU at full clock, its
// callback hop doubling; a thread moved to a CPU of another NUMA node would do that.
QJsonObject threadCpus()
{
    QJsonObject byName;
    for (const QString& tid : QDir(QStringLiteral("/proc/self/task")).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile f(QStringLiteral("/proc/self/task/%1/stat").arg(tid));
        if (!f.open(QIODevice::ReadOnly))
            continue;
        const QByteArray stat = f.readAll();
        const qsizetype open = stat.indexOf('('), close = stat.lastIndexOf(')');
        if (open < 0 || close < open)
            continue;
        const QString name = QString::fromUtf8(stat.mid(open + 1, close - open - 1));
        const QList<QByteArray> rest = stat.mid(close + 2).split(' '); // from field 3 (state) on
        if (rest.size() < 37)
            continue;
        QJsonArray cpus = byName[name].toArray();
        cpus.append(rest[36].toInt()); // field 39: the CPU it last ran on
        byName[name] = cpus;
    }
    return byName;
}

double loadAverage()
{
    std::ifstream f("/proc/loadavg");
    double one = 0;
    f >> one;
    return one;
}

void writeText(const char* text) { (void)!write(STDERR_FILENO, text, std::strlen(text)); }

void writeNumber(long n)
{
    char digits[24];
    int i = sizeof digits;
    digits[--i] = '\0';
    const bool negative = n < 0;
    unsigned long u = negative ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
    do {
        digits[--i] = char('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (negative)
        digits[--i] = '-';
    writeText(digits + i);
}

void onFatalSignal(int sig, siginfo_t* info, void*)
{
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    const long tid = syscall(SYS_gettid);
    writeText("\nknee-bench-fidelity: fatal signal ");
    writeNumber(sig);
    if (sig != SIGABRT && info) { // a fault's address; for a raised signal si_addr holds no address
        writeText(" at address 0x");
        char hex[2 * sizeof(void*) + 1];
        auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
        for (int i = int(sizeof hex) - 2; i >= 0; --i, addr >>= 4)
            hex[i] = "0123456789abcdef"[addr & 15];
        hex[sizeof hex - 1] = '\0';
        writeText(hex);
    }
    writeText(" in thread ");
    writeNumber(tid);
    writeText(tid == g_mainTid ? " (the main thread: the engine) named " : " named ");
    writeText(name);
    writeText("\n");
    void* frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
}

void reportFatalSignals()
{
    g_mainTid = pid_t(syscall(SYS_gettid));
    void* warm[2];
    (void)backtrace(warm, 2); // loads libgcc's unwinder now, not inside the handler
    struct sigaction sa = {};
    sa.sa_sigaction = onFatalSignal;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
        sigaction(sig, &sa, nullptr);
}

std::vector<int> ints(const QString& s)
{
    std::vector<int> out;
    for (const QString& p : s.split(','))
        out.push_back(p.toInt());
    return out;
}

std::vector<double> doubles(const QString& s)
{
    std::vector<double> out;
    for (const QString& p : s.split(','))
        out.push_back(p.toDouble());
    return out;
}

struct Config {
    QString profile, batching;
    int pc = 1, replicas = 1;
    QString key() const { return QString("%1/%2/pc%3/r%4").arg(profile, batching).arg(pc).arg(replicas); }
};

// The scenario of a configuration: predict only (pre/post 0), the replicas on one device, a target that
// never binds, the profile's calibrated table (its own file, indented under model:).
std::optional<Scenario> scenarioFor(const Options& o, const Config& c, bool closed)
{
    QFile f(o.tablesDir + "/" + c.profile + ".yaml");
    if (!f.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "fidelity: no table %s\n", qPrintable(f.fileName()));
        return std::nullopt;
    }
    std::string model;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (!line.startsWith('#') && !line.trimmed().isEmpty())
            model += "  " + line.toStdString() + "\n";
    std::string batching = "{mode: none}";
    if (c.batching == "dynamic")
        batching = "{mode: dynamic, max_batch: 64, max_delay_ms: 0.2}";
    else if (c.batching == "continuous")
        batching = "{mode: continuous, max_sequences: 64, output_tokens: {dist: constant, mean: " + std::to_string(o.tokens) + "}}";
    const std::string yaml = "name: fidelity " + c.key().toStdString() + "\n"
        + "deployment: {replicas: {min: " + std::to_string(c.replicas) + ", max: " + std::to_string(c.replicas)
        + "}, concurrency_target: 100000, predict_concurrency: " + std::to_string(c.pc) + ", devices: 1}\n"
        + "model:\n  predict: 1\n" + model + "  batching: " + batching + "\n"
        + "workload: {arrival: " + (closed ? "{kind: closed, users: 1}" : "{kind: poisson, rate_rps: 1}")
        + ", duration_s: 100000}\n";
    ScenarioReadResult r = readScenarioText(yaml, c.key().toStdString());
    if (!r.ok()) {
        for (const auto& e : r.errors)
            std::fprintf(stderr, "fidelity: %s: %s\n", qPrintable(c.key()), e.message.c_str());
        return std::nullopt;
    }
    r.scenario->workload.seed = o.seed;
    return r.scenario;
}

struct Window {
    LatencyHistogram latency, ttft, itl;
    std::int64_t completed = 0, failed = 0;
    std::map<std::int32_t, std::int64_t> byReplica; // completions per replica id: is the load spread?
    bool open = false;
};

// Calls a window's trace keeps at most (a window at 40,000 calls/s for 2 s is 80,000): 8 MB reserved.
constexpr std::size_t kMaxTracedCalls = 200'000;

// `trace` (live runs with --trace): the window's device calls, each with its start and end.
QJsonObject measure(LevelDriver& driver, Engine& e, Window& w, const Options& o, bool closed,
                    std::vector<BackendExecutor::TracedCall>* trace = nullptr, std::int64_t* dropped = nullptr)
{
    const double warmupS = !closed && o.poissonWarmupS >= 0 ? o.poissonWarmupS : o.warmupS;
    const double windowS = !closed && o.poissonWindowS > 0 ? o.poissonWindowS : o.windowS;
    driver.advanceTo(e, e.now() + secondsToNanos(warmupS));
    w = Window();
    w.open = true;
    (void)BackendExecutor::takeTimings(); // the warm-up's calls left out: the timings below are the window's
    (void)driver.takeClockLag();
    if (g_gpus)
        g_gpus->resetSummary();
    const telemetry::HostMark host0 = telemetry::HostMark::now();
    const double engineCpu0 = telemetry::threadCpuMs(); // the engine runs on this thread
    if (trace)
        BackendExecutor::startTrace(kMaxTracedCalls);
    const Nanos start = e.now();
    const std::int64_t calls0 = e.snapshot().predictCalls;
    driver.advanceTo(e, start + secondsToNanos(windowS));
    w.open = false;
    const std::int64_t predictCalls = e.snapshot().predictCalls - calls0; // live and virtual alike: batches, steps
    if (trace)
        *trace = BackendExecutor::stopTrace(dropped);
    const double engineCpu1 = telemetry::threadCpuMs();
    const telemetry::HostMark host1 = telemetry::HostMark::now();
    const LatencyHistogram lag = driver.takeClockLag();
    QJsonObject conditions; // live only: the GPU's clock and power, the host's contention, over the window
    if (g_gpus)
        for (const telemetry::GpuSummary& g : g_gpus->summary())
            if (g.index == 0 && g.samples > 0) {
                conditions["gpu_samples"] = qint64(g.samples);
                conditions["sm_clock_mean_mhz"] = g.smClockMHz.mean();
                conditions["sm_clock_min_mhz"] = g.smClockMHz.min;
                conditions["power_mean_w"] = g.powerW.mean();
                conditions["gpu_util_mean_pct"] = g.utilizationPct.mean();
            }
    // The host's side (telemetry/host_contention.h): run 16 found the callback's hop to the dispatcher
    // doubling in windows where the hypervisor stole 1-3.5 % of the CPUs, whatever the placement.
    if (const telemetry::HostContention hc = telemetry::between(host0, host1); g_backend && hc.valid) {
        conditions["steal_pct"] = hc.stealPct;
        conditions["involuntary_switches"] = qint64(hc.involuntarySwitches);
        conditions["load_average"] = loadAverage();
        conditions["thread_cpus"] = threadCpus();
    }
    // The engine's own thread (the live clock, every stage's bookkeeping, the hand-offs): how late it ran
    // events, and how busy it was. Run 22: under Poisson load at 7,000-35,000 req/s the live p95 of `small`
    // was up to 77 % above virtual's while the closed loops agreed; a late arrival or a busy thread adds to
    // a request's time, and virtual time charges neither.
    if (g_backend && lag.count()) {
        conditions["clock_lag_p50_ms"] = nanosToMs(lag.quantile(0.5));
        conditions["clock_lag_p95_ms"] = nanosToMs(lag.quantile(0.95));
        conditions["clock_lag_p99_ms"] = nanosToMs(lag.quantile(0.99));
        conditions["clock_events"] = qint64(lag.count());
        conditions["engine_thread_busy_pct"] = 0.1 * (engineCpu1 - engineCpu0) / windowS;
    }
    // Where this window's live calls spent their time beyond the device (until run 15 these were pooled over
    // a configuration's levels, which hid how they change with load and placement).
    const BackendExecutor::Timings t = BackendExecutor::takeTimings();
    const double width = nanosToSeconds(e.now() - start);
    auto ms = [](const LatencyHistogram& h, double q) { return h.count() ? nanosToMs(h.quantile(q)) : 0.0; };
    return QJsonObject{{"throughput_rps", double(w.completed) / width},
                       {"conditions", conditions},
                       {"host_call_p50_ms", ms(t.hostCall, 0.5)},
                       {"host_call_mean_ms", t.hostCall.mean() / 1e6},
                       {"host_calls", qint64(t.hostCall.count())},
                       {"predict_calls", qint64(predictCalls)},
                       {"notify_p50_ms", ms(t.notify, 0.5)},
                       {"handoff_p50_ms", ms(t.handoff, 0.5)},
                       {"handoff_p99_ms", ms(t.handoff, 0.99)},
                       {"p50_ms", ms(w.latency, 0.5)},
                       {"p95_ms", ms(w.latency, 0.95)},
                       {"p99_ms", ms(w.latency, 0.99)},
                       {"ttft_p50_ms", ms(w.ttft, 0.5)},
                       {"ttft_p95_ms", ms(w.ttft, 0.95)},
                       {"itl_p50_ms", ms(w.itl, 0.5)},
                       {"itl_p95_ms", ms(w.itl, 0.95)},
                       {"completed", qint64(w.completed)},
                       {"failed", qint64(w.failed)},
                       {"window_s", width},
                       {"by_replica", [&] { // replica id -> responses in the window
                            QJsonObject a;
                            for (const auto& [id, n] : w.byReplica)
                                a[QString::number(id)] = qint64(n);
                            return a;
                        }()}};
}

// One row a call, times in ms from the trace's start (bench/fidelity/trace_overlap.py reads it).
bool writeTrace(const QString& path, const std::vector<BackendExecutor::TracedCall>& calls)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        std::fprintf(stderr, "fidelity: cannot write %s\n", qPrintable(path));
        return false;
    }
    // device_start_ms, device_end_ms: the call's device work on the same clock (its CUDA events), empty if unknown.
    f.write("start_ms,end_ms,device_ms,gpu,replica,batch,device_start_ms,device_end_ms\n");
    char line[200];
    for (const BackendExecutor::TracedCall& t : calls) {
        char span[64] = ",";
        if (t.deviceStartNs >= 0)
            std::snprintf(span, sizeof span, "%.4f,%.4f", double(t.deviceStartNs) / 1e6, double(t.deviceEndNs) / 1e6);
        const int n = std::snprintf(line, sizeof line, "%.4f,%.4f,%.4f,%d,%d,%d,%s\n", double(t.startNs) / 1e6, double(t.endNs) / 1e6, t.deviceMs,
                                    t.device, int(t.replicaId), t.batch, span);
        f.write(line, n);
    }
    return true;
}

// Before a later pass: the load down to one user (or almost no arrivals) until what the previous pass's
// largest level left queued and in service has drained (at most 10 s), so that the pass's first window
// does not measure that backlog (run 9: 1 user after 64, p95 152.6 ms against 2.3 ms in pass 1).
void drain(LevelDriver& driver, Engine& e, bool closed)
{
    driver.act(e, [&](Engine& en) {
        if (closed)
            en.setUsers(1);
        else
            en.setArrivalRate(1e-3);
    });
    const Nanos until = e.now() + secondsToNanos(10);
    while (e.now() < until) {
        const EngineSnapshot snap = e.snapshot();
        if (snap.queued + snap.held <= (closed ? 1 : 0))
            return;
        driver.advanceTo(e, e.now() + secondsToNanos(0.01));
    }
    const EngineSnapshot snap = e.snapshot();
    std::fprintf(stderr, "fidelity: not drained after 10 s (%lld queued, %lld held): the next pass starts with them\n",
                 static_cast<long long>(snap.queued), static_cast<long long>(snap.held));
}

// One engine for one configuration and load kind; `levels` (users, or Poisson rates) one after another,
// in passes of `passLength` levels (a drain before each pass after the first).
std::vector<QJsonObject> runConfig(const Options& o, const Config& c, bool closed, const std::vector<double>& levels, bool live,
                                   std::size_t passLength)
{
    std::vector<QJsonObject> out;
    const auto s = scenarioFor(o, c, closed);
    if (!s || levels.empty())
        return out;
    std::unique_ptr<LevelDriver> driver = live ? makeLiveDriver(600, g_backend) : makeVirtualDriver();
    // Almost no load until the replicas are ready: a live cold start (weights uploaded) must not leave a
    // backlog for the first level to drain (the virtual replicas start ready).
    Scenario first = *s;
    if (closed)
        first.workload.arrival.users = 1;
    else
        first.workload.arrival.rateRps = 1e-3;
    Engine& e = driver->begin(first);
    Window w;
    e.setObserver([&](const Request& r) {
        if (!w.open)
            return;
        if (r.outcome == Outcome::Failed)
            ++w.failed;
        if (r.outcome != Outcome::Completed)
            return;
        ++w.completed;
        ++w.byReplica[r.replica];
        w.latency.record(r.latency());
        if (r.firstToken >= 0) {
            w.ttft.record(r.firstToken - r.intended);
            if (r.tokens > 1)
                w.itl.record((r.predictDone - r.firstToken) / (r.tokens - 1));
        }
    });
    driver->start(e);
    // The replicas' cold starts (weight uploads) come before the first level's warm-up.
    for (int i = 0; i < 200; ++i) {
        const EngineSnapshot snap = e.snapshot();
        if (std::all_of(snap.replicas.begin(), snap.replicas.end(), [](const ReplicaSnapshot& r) { return r.state == ReplicaState::Ready; }))
            break;
        driver->advanceTo(e, e.now() + secondsToNanos(0.05));
    }
    for (std::size_t i = 0; i < levels.size(); ++i) {
        const double level = levels[i];
        if (passLength > 0 && i > 0 && i % passLength == 0)
            drain(*driver, e, closed);
        driver->act(e, [&](Engine& en) {
            if (closed)
                en.setUsers(int(level));
            else
                en.setArrivalRate(level);
        });
        std::vector<BackendExecutor::TracedCall> trace;
        std::int64_t dropped = 0;
        const bool tracing = live && !o.traceDir.isEmpty();
        QJsonObject row = measure(*driver, e, w, o, closed, tracing ? &trace : nullptr, &dropped);
        if (tracing) {
            const QString name = QString("%1-%2-%3.csv").arg(c.key().replace('/', '_'), closed ? "closed" : "poisson").arg(i);
            if (writeTrace(o.traceDir + "/" + name, trace)) {
                row["trace"] = name;
                row["trace_dropped"] = qint64(dropped);
            }
        }
        row["config"] = c.key();
        row["profile"] = c.profile;
        row["batching"] = c.batching;
        row["pc"] = c.pc;
        row["replicas"] = c.replicas;
        row["load"] = closed ? "closed" : "poisson";
        row["level"] = level;
        const EngineSnapshot snap = e.snapshot();
        row["predict_errors"] = qint64(snap.predictErrors);
        QJsonObject byReplica = row["by_replica"].toObject(); // a replica that served nothing shows 0
        for (const ReplicaSnapshot& r : snap.replicas)
            if (!byReplica.contains(QString::number(r.id)))
                byReplica[QString::number(r.id)] = 0;
        row["by_replica"] = byReplica;
        out.push_back(row);
        std::fprintf(stderr, "%s %s %-32s %8g  thr %10.1f  p50 %8.3f  p95 %8.3f ms\n", live ? "live" : "virt", closed ? "users" : "rate ",
                     qPrintable(c.key()), level, row["throughput_rps"].toDouble(), row["p50_ms"].toDouble(), row["p95_ms"].toDouble());
    }
    driver->stop(e);
    return out;
}

void writeRows(const QString& path, const std::vector<QJsonObject>& rows)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        std::fprintf(stderr, "fidelity: cannot write %s\n", qPrintable(path));
        return;
    }
    for (const QJsonObject& r : rows)
        f.write(QJsonDocument(r).toJson(QJsonDocument::Compact) + "\n");
}

// Live rows of the first pass (rows without "rep" come from runs before --repeats).
bool firstPass(const QJsonObject& r) { return r["rep"].toInt(0) == 0; }

int runMatrix(const Options& o, bool live)
{
    std::vector<QJsonObject> rows, liveRows;
    if (!live)
        liveRows = fidelity::readRows(o.livePath);
    // A live run measures its levels `repeats` times in the same engine, one pass after the other (rows
    // tagged "rep"): how far a live run agrees with itself is the floor under any live ÷ virtual error.
    const int passes = live ? std::max(1, o.repeats) : 1;
    for (const QString& profile : o.profiles)
        for (const QString& batching : o.batching)
            for (int replicas : o.replicas)
                for (int pc : o.pcs) {
                    const Config c{profile, batching, pc, replicas};
                    std::vector<double> users;
                    for (int rep = 0; rep < passes; ++rep)
                        users.insert(users.end(), o.users.begin(), o.users.end());
                    auto closedRows = runConfig(o, c, true, users, live, o.users.size());
                    // Poisson rates: shares of the live run's capacity (its highest closed-loop throughput in
                    // the first pass); the virtual run replays the live run's rates.
                    std::vector<double> rates;
                    if (live) {
                        double capacity = 0;
                        for (std::size_t i = 0; i < closedRows.size() && i < o.users.size(); ++i)
                            capacity = std::max(capacity, closedRows[i]["throughput_rps"].toDouble());
                        for (int rep = 0; rep < passes; ++rep)
                            for (double share : o.loads)
                                rates.push_back(share * capacity);
                    } else {
                        for (const auto& r : liveRows)
                            if (r["config"].toString() == c.key() && r["load"].toString() == "poisson" && firstPass(r))
                                rates.push_back(r["level"].toDouble());
                    }
                    auto openRows = runConfig(o, c, false, rates, live, o.loads.size());
                    for (std::size_t i = 0; i < closedRows.size() && live; ++i)
                        closedRows[i]["rep"] = int(i / o.users.size());
                    for (std::size_t i = 0; i < openRows.size() && live; ++i) {
                        openRows[i]["share"] = o.loads[i % o.loads.size()];
                        openRows[i]["rep"] = int(i / o.loads.size());
                    }
                    rows.insert(rows.end(), closedRows.begin(), closedRows.end());
                    rows.insert(rows.end(), openRows.begin(), openRows.end());
                    writeRows(o.out, rows); // as it goes: a run cut short keeps what it measured
                }
    return rows.empty() ? 1 : 0;
}

} // namespace

std::vector<QJsonObject> fidelity::readRows(const QString& path)
{
    std::vector<QJsonObject> rows;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return rows;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (!line.trimmed().isEmpty())
            rows.push_back(QJsonDocument::fromJson(line).object());
    return rows;
}



int main(int argc, char** argv)
{
    reportFatalSignals();
    QCoreApplication app(argc, argv);
    Options o;
    const QStringList args = app.arguments();
    if (args.size() < 2) {
        std::fprintf(stderr, "usage: knee-bench-fidelity live|virtual|compare|grid|refit [flags] (see the source's header)\n");
        return 2;
    }
    o.mode = args[1];
    for (int i = 2; i + 1 < args.size(); i += 2) {
        const QString k = args[i], v = args[i + 1];
        if (k == "--tables") o.tablesDir = v;
        else if (k == "--out") o.out = v;
        else if (k == "--live") o.livePath = v;
        else if (k == "--virtual") o.virtualPath = v;
        else if (k == "--floor") o.floorPath = v;
        else if (k == "--profiles") o.profiles = v.split(',');
        else if (k == "--batching") o.batching = v.split(',');
        else if (k == "--pc") o.pcs = ints(v);
        else if (k == "--replicas") o.replicas = ints(v);
        else if (k == "--users") o.users = ints(v);
        else if (k == "--loads") o.loads = doubles(v);
        else if (k == "--warmup-s") o.warmupS = v.toDouble();
        else if (k == "--window-s") o.windowS = v.toDouble();
        else if (k == "--poisson-warmup-s") o.poissonWarmupS = v.toDouble();
        else if (k == "--poisson-window-s") o.poissonWindowS = v.toDouble();
        else if (k == "--seed") o.seed = v.toULongLong();
        else if (k == "--tokens") o.tokens = v.toInt();
        else if (k == "--repeats") o.repeats = std::clamp(v.toInt(), 1, 10);
        else if (k == "--backend") o.backend = v;
        else if (k == "--slo-ms") o.slosMs = doubles(v);
        else if (k == "--tail-ms") o.tailMs = v;
        else if (k == "--call-idle-trace") o.callIdleTrace = v;
        else if (k == "--variation-by-k") {
            if (v != "on" && v != "off") {
                std::fprintf(stderr, "knee-bench-fidelity: --variation-by-k takes on or off\n");
                return 2;
            }
            o.variationByK = v == "on";
        }
        else if (k == "--device-axis") {
            if (v != "calls" && v != "on-device") {
                std::fprintf(stderr, "knee-bench-fidelity: --device-axis takes calls or on-device\n");
                return 2;
            }
            o.deviceOnDeviceAxis = v == "on-device";
        }
        else if (k == "--trace") o.traceDir = v;
        else {
            std::fprintf(stderr, "knee-bench-fidelity: unknown flag %s\n", qPrintable(k));
            return 2;
        }
    }
    if (o.mode == "compare")
        return fidelity::runCompare(o);
    if (o.mode == "grid")
        return fidelity::runGridCompare(o);
    if (o.mode == "refit")
        return fidelity::runRefit(o);
    if (!o.traceDir.isEmpty() && !QDir().mkpath(o.traceDir)) {
        std::fprintf(stderr, "knee-bench-fidelity: cannot make --trace %s\n", qPrintable(o.traceDir));
        return 2;
    }
    if ((o.mode != "live" && o.mode != "virtual") || o.tablesDir.isEmpty() || o.out.isEmpty() || (o.mode == "virtual" && o.livePath.isEmpty())) {
        std::fprintf(stderr, "knee-bench-fidelity: live needs --tables and --out; virtual also --live\n");
        return 2;
    }
    // --backend emulated[:MS]: calls that compute nothing and take MS (0: none) of wall time each; the
    // live engine's own cost, and its ceiling, without the device.
    static PredictBackendInfo emulated;
    std::unique_ptr<predict::Backend> owned;
    if (o.backend.startsWith("emulated")) {
        bool ok = true;
        const double ms = o.backend.contains(':') ? o.backend.section(':', 1).toDouble(&ok) : 0.0;
        if (!ok || !(ms >= 0 && ms <= 1000)) { // NaN fails both
            std::fprintf(stderr, "knee-bench-fidelity: --backend emulated:MS needs MS from 0 to 1000\n");
            return 2;
        }
        owned = fidelity::makeEmulatedBackend(ms);
        emulated.backend = owned.get();
        emulated.shortName = emulated.notice = owned->description();
        g_backend = &emulated;
    } else if (!o.backend.isEmpty()) {
        std::fprintf(stderr, "knee-bench-fidelity: --backend takes emulated[:MS] (default: this machine's GPU, else its CPU)\n");
        return 2;
    } else if (o.mode == "live") {
        g_backend = &sharedPredictBackend();
    }
    std::unique_ptr<telemetry::GpuSampler> gpus;
    if (o.mode == "live" && g_backend && g_backend->gpu) {
        gpus = std::make_unique<telemetry::GpuSampler>(telemetry::GpuSampler::kMinPeriodMs);
        if (gpus->available()) {
            gpus->start();
            g_gpus = gpus.get();
        }
        std::fprintf(stderr, "fidelity: %s\n", gpus->notice().c_str());
    }
    return runMatrix(o, o.mode == "live");
}
