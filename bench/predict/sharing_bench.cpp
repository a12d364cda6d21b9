// Does it matter to the device whose calls share it? k calls in flight as k slots of ONE replica (one
// copy of the weights, what predict_concurrency k does and what `knee calibrate` measures) against one
// call on each of k replicas placed on the same device (k copies of the weights: several replicas on one
// GPU, as a local live run with `devices: 1` places them). The device model charges both the same
// T(b, k); the fidelity matrix's two-replica cells say the GPU does not (BENCHMARKS.md, "Fidelity").
//
//   knee-bench-sharing [--profiles small,medium,large] [--batches 1,8] [--concurrency 1,2,4,8]
//                      [--repeats 100] [--backend gpu|cpu] [--out FILE.json]
//
// Prints a table (Markdown) of the median host time per call both ways and their ratio; --out keeps the
// medians and every sample as JSON. Needs no CUDA to build: the backend comes through the factory, so it
// runs on the CPU backend too (where both ways share the same cores).
#include "predict/calibration.h"
#include "predict/factory.h"
#include "predict/model.h"
#include "bench_args.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace knee::predict;
using knee::bench::median;
using knee::bench::split;
using knee::bench::ints;

namespace {

std::string jsonList(const std::vector<double>& v)
{
    std::ostringstream o;
    o << '[';
    for (std::size_t i = 0; i < v.size(); ++i)
        o << (i ? "," : "") << v[i];
    o << ']';
    return o.str();
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> profiles{"small", "medium", "large"};
    std::vector<int> batches{1, 8}, concurrency{1, 2, 4, 8};
    int repeats = 100;
    std::string backendName = "gpu", outPath;
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (i + 1 >= argc || k == "--help" || k == "-h") {
            std::fprintf(stderr, "usage: knee-bench-sharing [--profiles small,medium,large] [--batches 1,8] [--concurrency 1,2,4,8] "
                                 "[--repeats 100] [--backend gpu|cpu] [--out FILE.json]\n");
            return k == "--help" || k == "-h" ? 0 : 2;
        }
        const std::string v = argv[i + 1];
        if (k == "--profiles") profiles = split(v);
        else if (k == "--batches") batches = ints(v);
        else if (k == "--concurrency") concurrency = ints(v);
        else if (k == "--repeats") repeats = std::max(5, std::atoi(v.c_str()));
        else if (k == "--backend" && (v == "gpu" || v == "cpu")) backendName = v;
        else if (k == "--out") outPath = v;
        else {
            std::fprintf(stderr, "knee-bench-sharing: unknown flag or value: %s %s\n", k.c_str(), v.c_str());
            return 2;
        }
    }
    if (profiles.empty() || batches.empty() || concurrency.empty()) {
        std::fprintf(stderr, "knee-bench-sharing: --profiles, --batches and --concurrency need at least one value each\n");
        return 2;
    }
    std::optional<BackendChoice> opened = knee::bench::openBackend("knee-bench-sharing", backendName);
    if (!opened)
        return 1;
    BackendChoice& choice = *opened;
    const int kMax = *std::max_element(concurrency.begin(), concurrency.end());
    const int bMax = *std::max_element(batches.begin(), batches.end());
    std::ostringstream json;
    json << "{\"backend\":\"" << (choice.gpu ? "gpu" : "cpu") << "\",\"repeats\":" << repeats << ",\"points\":[";
    bool firstPoint = true;
    std::printf("| model | batch | calls in flight | one replica, k slots (ms) | k replicas, one slot each (ms) | k replicas ÷ one |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    for (const std::string& name : profiles) {
        const auto model = knee::bench::profileModel("knee-bench-sharing", name);
        if (!model)
            return 2;
        ReplicaConfig one;
        one.slots = kMax;
        one.maxBatch = bMax;
        one.device = 0;
        one.warmBatches = batches;
        CreatedReplica shared = choice.backend->createReplica(model, one);
        if (!shared.replica) {
            std::fprintf(stderr, "knee-bench-sharing: %s: %s\n", name.c_str(), shared.status.error.c_str());
            return 1;
        }
        ReplicaConfig each = one;
        each.slots = 1;
        std::vector<std::unique_ptr<Replica>> replicas;
        for (int i = 0; i < kMax; ++i) {
            CreatedReplica r = choice.backend->createReplica(model, each);
            if (!r.replica) {
                std::fprintf(stderr, "knee-bench-sharing: %s replica %d: %s\n", name.c_str(), i, r.status.error.c_str());
                return 1;
            }
            replicas.push_back(std::move(r.replica));
        }
        for (int b : batches)
            for (int k : concurrency) {
                SharingOptions o;
                o.batches = {b};
                o.concurrency = {1};
                if (k > 1)
                    o.concurrency.push_back(k);
                o.repeats = repeats;
                o.idleGapsMs.clear();
                o.pointAttempts = 1; // one pass, as measureSpread beside it: the two sides alike
                SharingMeasurement same;
                if (Status st = measureSharing(*shared.replica, model->hidden(), o, same); !st.ok()) {
                    std::fprintf(stderr, "knee-bench-sharing: %s: %s\n", name.c_str(), st.error.c_str());
                    return 1;
                }
                std::vector<Replica*> spread;
                for (int i = 0; i < k; ++i)
                    spread.push_back(replicas[std::size_t(i)].get());
                std::vector<double> across;
                if (Status st = measureSpread(spread, model->hidden(), b, repeats, across); !st.ok()) {
                    std::fprintf(stderr, "knee-bench-sharing: %s: %s\n", name.c_str(), st.error.c_str());
                    return 1;
                }
                const double sameMs = same.hostMs.back()[0], acrossMs = median(across);
                std::printf("| %s | %d | %d | %.4f | %.4f | %.2f |\n", name.c_str(), b, k, sameMs, acrossMs,
                            sameMs > 0 ? acrossMs / sameMs : 0.0);
                std::fflush(stdout);
                json << (firstPoint ? "" : ",") << "{\"profile\":\"" << name << "\",\"batch\":" << b << ",\"k\":" << k
                     << ",\"one_replica_ms\":" << sameMs << ",\"k_replicas_ms\":" << acrossMs
                     << ",\"one_replica_samples\":" << jsonList(same.hostSamples.back()[0]) << ",\"k_replicas_samples\":" << jsonList(across)
                     << "}";
                firstPoint = false;
            }
    }
    json << "]}\n";
    if (!outPath.empty()) {
        std::ofstream f(outPath);
        f << json.str();
        if (!f) {
            std::fprintf(stderr, "knee-bench-sharing: cannot write %s\n", outPath.c_str());
            return 1;
        }
    }
    return 0;
}
