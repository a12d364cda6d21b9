// Shared by the fidelity benchmark's parts (fidelity_bench.cpp: the matrix; fidelity_compare.cpp: the table).
#pragma once
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <vector>

namespace fidelity {

struct Options {
    QString mode, tablesDir, out, livePath, virtualPath;
    QStringList profiles{"small", "medium", "large"};
    QStringList batching{"none", "dynamic", "continuous"};
    std::vector<int> pcs{1, 2, 4, 8};
    std::vector<int> replicas{1, 2};
    std::vector<int> users{1, 2, 4, 8, 16, 32, 64};
    std::vector<double> loads{0.5, 0.8, 0.95};
    double warmupS = 0.1, windowS = 0.3;
    int tokens = 16; // continuous batching: tokens per response
    int repeats = 1; // live: passes over each configuration's levels
    QString backend; // live: empty for the machine's own (GPU, else CPU); "emulated[:MS]" for no device
};

// One JSON object per line (what the live and virtual runs write).
std::vector<QJsonObject> readRows(const QString& path);
// Live against virtual: the summary table (Markdown) on stdout, every cell as CSV in --out if given.
int runCompare(const Options& o);

} // namespace fidelity
