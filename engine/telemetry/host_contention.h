// What the host took from a live measurement: the share of CPU time the hypervisor gave to other guests
// (steal, from /proc/stat) and this process's involuntary context switches, between two marks. Pure C++,
// no Qt: the calibration, the live runs and the benchmarks read it around what they time.
//
// Why: on the H200 machine (a virtual machine) run 16 (bench/fidelity/results/h200_2026-12-03_replicas/)
// found a live call's host-side hop (the CUDA callback waking the dispatcher) doubling, and `large`'s
// one-user throughput falling 22 %, in windows where the host's steal was 1-3.5 %, against quiet windows of
// the same call (steal under 0.1 %); the correlation of that hop with steal over 120 windows was 0.83. A
// calibration taken in such a window (run 16a: `large`'s overhead 0.21 ms against 0.03 quiet) makes every
// virtual run of it wrong. So calibrate repeats a disturbed live run, and live runs say when the host was
// disturbed, instead of silently measuring the neighbours.
#pragma once
#include <optional>
#include <string>

namespace knee::telemetry {

struct HostMark {
    bool valid = false;            // false where /proc/stat cannot be read (not Linux): nothing to say
    long long totalTicks = 0;      // every CPU's time, summed over the fields of the "cpu" line
    long long stealTicks = 0;      // of which stolen by the hypervisor
    long involuntarySwitches = 0;  // this process's, from getrusage
    static HostMark now();
};

struct HostContention {
    bool valid = false;
    double stealPct = 0;           // share of all CPUs' time stolen between the marks
    long involuntarySwitches = 0;
    // Steal at or above this share marks a measurement as disturbed. Run 16: windows at 0.1-0.5 % steal
    // already had the callback hop 23 % slower than quiet ones, windows at 0.5 % and more 100 % slower; in
    // runs 17 and 18 live ÷ virtual throughput was no worse at 0.2-0.5 % than at 0, and worse from 0.5 % on.
    // /proc/stat counts 10 ms ticks: over 0.3 s of 16 CPUs one stolen tick is 0.2 %, so a lower line would
    // fire on a tick or two.
    static constexpr double kDisturbedStealPct = 0.5;
    bool disturbed() const { return valid && stealPct >= kDisturbedStealPct; }
    std::string describe() const; // "host steal 1.3 %, 4 involuntary context switches", or "" when not valid
};

HostContention between(const HostMark& from, const HostMark& to);

// The file HostMark::now() reads the host's CPU counters from ("/proc/stat"). Where it cannot be read, marks
// are not valid and steal does not count (as on a host without /proc/stat). For the tests whose subject is
// not the host: pointed at a missing file before their runs, a CI host's steal cannot decide which run a
// calibration keeps. Set it before the threads that read it start.
void setProcStatPath(std::string path);

// CPU time the calling thread has used, in ms (CLOCK_THREAD_CPUTIME_ID): how busy the live engine's own
// thread is (0 where the clock is missing).
double threadCpuMs();

// The "cpu" line of /proc/stat ("cpu  user nice system idle iowait irq softirq steal guest guest_nice"):
// total and steal ticks. Nothing when the text has no such line. Separate for the tests.
std::optional<HostMark> parseProcStat(const std::string& text);

} // namespace knee::telemetry
