// Shared by the fidelity benchmark's parts (fidelity_bench.cpp: the matrix; fidelity_compare.cpp: the table).
#pragma once
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace fidelity {

struct Options {
    QString mode, tablesDir, out, livePath, virtualPath;
    QString floorPath; // compare: a virtual run with another --seed, for the sampling floor
    QStringList profiles{"small", "medium", "large"};
    QStringList batching{"none", "dynamic", "continuous"};
    std::vector<int> pcs{1, 2, 4, 8};
    std::vector<int> replicas{1, 2};
    std::vector<int> users{1, 2, 4, 8, 16, 32, 64};
    std::vector<double> loads{0.5, 0.8, 0.95};
    double warmupS = 0.1, windowS = 0.3;
    // Poisson levels' own warm-up and window (default: the closed ones'). Near capacity a 0.3 s window's p95
    // moved 20-35 % between two live passes (runs 9, 10) and between two virtual seeds: too short to judge
    // a model by, so a run that is about Poisson tails gives them longer windows.
    double poissonWarmupS = -1, poissonWindowS = -1;
    std::uint64_t seed = 1; // the scenarios' seed (arrivals, draws): two virtual seeds give the sampling floor
    int tokens = 16; // continuous batching: tokens per response
    int repeats = 1; // live: passes over each configuration's levels
    QString backend; // live: empty for the machine's own (GPU, else CPU); "emulated[:MS]" for no device
    std::vector<double> slosMs; // grid: the p95 SLOs (ms) under which the recommendations are redone, besides none
    QString tailMs; // refit: auto or a tail in ms
    QString callIdleTrace; // refit: a live window's trace (live --trace) to set the call curve from (ServiceTable::callIdleGapMs)
    bool deviceOnDeviceAxis = false; // refit --tail-ms device: D(b, k) re-read on the calls really on the device (device_in_flight)
    bool variationByK = false; // refit: ServiceTable::variationShared from the calibration's host samples by k
    QString traceDir; // live: each window's calls (BackendExecutor::TracedCall) as <cell>.csv here
};

// One JSON object per line (what the live and virtual runs write).
std::vector<QJsonObject> readRows(const QString& path);
// Live against virtual: the summary table (Markdown) on stdout, every cell as CSV in --out if given.
int runCompare(const Options& o);
// `knee sweep --grid` sessions, live against virtual: the cells and each run's recommendation (grid_compare.cpp).
int runGridCompare(const Options& o);
// A stored calibration with a tail, its shared overheads fitted again as calibrate fits them (refit_tail.cpp).
int runRefit(const Options& o);

} // namespace fidelity
