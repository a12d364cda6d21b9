// Benchmark of the CUDA predict backend: time per forward pass, batch 1..1024, for a few model sizes,
// next to its floor and next to the plain loop (one GEMM plus one separate activation kernel per layer).
//
// floor(B) = max(weight bytes / copy bandwidth, 2·B·H²·L / bf16 GEMM rate), both ceilings measured here,
// in this run: a 1 GiB device-to-device copy (bytes read + written) and an 8192³ bf16 cuBLASLt GEMM on
// random data (the best median of cuBLASLt's top candidates). Each forward pass is timed by CUDA events
// through the backend's own submit path (Completion::forwardMs), warmed up, median of --reps calls.
// Models smaller than 4× the L2 are rotated over several replicas, so every call reads its weights from
// memory as the floor assumes, not from a warm L2.
//
// Usage: knee-bench-predict [--models small,medium,large] [--reps 40] [--out DIR]   (DIR defaults to $OUT or .)
#include "predict/factory.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace knee::predict;

namespace {

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "knee-bench-predict: %s\n", what.c_str());
    std::exit(1);
}
void ck(cudaError_t e, const char* what)
{
    if (e != cudaSuccess)
        die(std::string(what) + ": " + cudaGetErrorString(e));
}
void ck(cublasStatus_t s, const char* what)
{
    if (s != CUBLAS_STATUS_SUCCESS)
        die(std::string(what) + ": " + cublasLtGetStatusString(s));
}

double median(std::vector<double> v)
{
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Times `body` (enqueued on `stream`) with events: 3 warm-ups, then `reps` timed runs; median in ms.
template <class F>
double timeMs(cudaStream_t stream, int reps, F&& body)
{
    cudaEvent_t a, b;
    ck(cudaEventCreate(&a), "event");
    ck(cudaEventCreate(&b), "event");
    std::vector<double> ms;
    for (int i = 0; i < reps + 3; ++i) {
        ck(cudaEventRecord(a, stream), "record");
        body();
        ck(cudaEventRecord(b, stream), "record");
        ck(cudaEventSynchronize(b), "sync");
        float t = 0;
        ck(cudaEventElapsedTime(&t, a, b), "elapsed");
        if (i >= 3)
            ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return median(ms);
}

struct Ceilings {
    double copyBytesPerS = 0; // read + write
    double gemmFlopPerS = 0;
};

Ceilings measureCeilings(int reps)
{
    Ceilings c;
    cudaStream_t s;
    ck(cudaStreamCreate(&s), "stream");
    const std::size_t copyBytes = std::size_t(1) << 30;
    void *src, *dst;
    ck(cudaMalloc(&src, copyBytes), "cudaMalloc copy src");
    ck(cudaMalloc(&dst, copyBytes), "cudaMalloc copy dst");
    ck(cudaMemset(src, 0x3c, copyBytes), "memset");
    const double copyMs = timeMs(s, reps, [&] { ck(cudaMemcpyAsync(dst, src, copyBytes, cudaMemcpyDeviceToDevice, s), "copy"); });
    c.copyBytesPerS = 2.0 * double(copyBytes) / (copyMs * 1e-3);
    cudaFree(src);
    cudaFree(dst);

    const int n = 8192;
    const std::size_t elems = std::size_t(n) * n;
    std::vector<Bf16> host(elems);
    void *a, *b, *d, *ws;
    const std::size_t wsBytes = std::size_t(32) << 20;
    ck(cudaMalloc(&a, elems * 2), "cudaMalloc A");
    ck(cudaMalloc(&b, elems * 2), "cudaMalloc B");
    ck(cudaMalloc(&d, elems * 2), "cudaMalloc D");
    ck(cudaMalloc(&ws, wsBytes), "cudaMalloc workspace");
    fillUniform(host.data(), elems, 11); // random, never zeros: zeros run faster than real data
    ck(cudaMemcpy(a, host.data(), elems * 2, cudaMemcpyHostToDevice), "upload A");
    fillUniform(host.data(), elems, 12);
    ck(cudaMemcpy(b, host.data(), elems * 2, cudaMemcpyHostToDevice), "upload B");

    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t layout;
    cublasLtMatmulPreference_t pref;
    ck(cublasLtCreate(&lt), "cublasLtCreate");
    ck(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "desc");
    const cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N; // same TN shape as the backend's layers
    ck(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t), "transa");
    ck(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn), "transb");
    ck(cublasLtMatrixLayoutCreate(&layout, CUDA_R_16BF, n, n, n), "layout");
    ck(cublasLtMatmulPreferenceCreate(&pref), "pref");
    const std::uint64_t wsLimit = wsBytes;
    ck(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsLimit, sizeof wsLimit), "pref ws");
    cublasLtMatmulHeuristicResult_t results[4] {};
    int found = 0;
    ck(cublasLtMatmulAlgoGetHeuristic(lt, desc, layout, layout, layout, layout, pref, 4, results, &found), "heuristic");
    const float alpha = 1, beta = 0;
    double bestMs = 1e300;
    for (int i = 0; i < found; ++i) {
        const double ms = timeMs(s, reps, [&] {
            ck(cublasLtMatmul(lt, desc, &alpha, a, layout, b, layout, &beta, d, layout, d, layout, &results[i].algo, ws, wsBytes, s), "matmul");
        });
        bestMs = std::min(bestMs, ms);
    }
    if (found == 0)
        die("cuBLASLt found no algorithm for the 8192^3 GEMM");
    c.gemmFlopPerS = 2.0 * double(n) * n * n / (bestMs * 1e-3);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(layout);
    cublasLtMatmulDescDestroy(desc);
    cublasLtDestroy(lt);
    cudaFree(a);
    cudaFree(b);
    cudaFree(d);
    cudaFree(ws);
    cudaStreamDestroy(s);
    return c;
}

struct VariantSpec {
    const char* name;
    bool autotune, fuse, graphs;
};
const VariantSpec kVariants[] = {
    { "tuned", true, true, true },          // the backend as benchmarked: fused epilogue, graphs, kernels timed at creation
    { "heuristic", false, true, true },     // same without tuning: cuBLASLt's first choice for every batch
    { "fused-nograph", false, true, false },// heuristic, launched layer by layer
    { "plain", false, false, true },        // GEMM + separate bias-relu kernel per layer, in a graph
    { "plain-nograph", false, false, false } // the plain loop as usually written: launched layer by layer
};
constexpr int kNumVariants = sizeof kVariants / sizeof kVariants[0];

struct Row {
    int batch = 0;
    double memUs = 0, flopUs = 0, floorUs = 0;
    double us[kNumVariants] = {};
    double tunedRepeatUs = 0, tunedWallUs = 0;
    std::string path;
};

struct ModelResult {
    ModelProfile profile;
    int replicasRotated = 1;
    double coldStartMs = 0, uploadMs = 0;
    std::vector<Row> rows;
};

// Runs every batch size through `replicas` (rotating), returns median forward µs; fills path/wall.
std::vector<double> timeBatches(std::vector<std::unique_ptr<Replica>>& replicas, const std::vector<int>& batches, int hidden, int reps,
                                std::vector<std::string>* paths, std::vector<double>* wallUs)
{
    std::vector<double> out;
    const int maxB = *std::max_element(batches.begin(), batches.end());
    std::vector<std::vector<Bf16>> inputs(4, std::vector<Bf16>(std::size_t(maxB) * hidden));
    for (std::size_t i = 0; i < inputs.size(); ++i)
        fillUniform(inputs[i].data(), inputs[i].size(), 1000 + i);
    std::vector<Bf16> output(std::size_t(maxB) * hidden);
    for (int b : batches) {
        std::vector<double> fwd, wall;
        std::string path;
        for (int i = 0; i < reps + 3; ++i) {
            Replica& r = *replicas[std::size_t(i) % replicas.size()];
            const Completion c = runAndWait(r, 0, b, inputs[std::size_t(i) % inputs.size()].data(), output.data());
            if (!c.status.ok())
                die("batch " + std::to_string(b) + ": " + c.status.error);
            if (i >= 3) {
                fwd.push_back(c.forwardMs * 1e3);
                wall.push_back(c.wallMs * 1e3);
            }
            path = std::string(c.path) + (c.graph ? "/graph" : "");
        }
        out.push_back(median(fwd));
        if (paths)
            paths->push_back(path);
        if (wallUs)
            wallUs->push_back(median(wall));
    }
    return out;
}

ModelResult benchModel(Backend& backend, const ModelProfile& profile, const std::vector<int>& batches, const Ceilings& ceil, int reps, std::size_t l2Bytes)
{
    ModelResult res;
    res.profile = profile;
    const auto model = Model::generate(profile);
    const std::size_t bytes = profile.parameterBytes();
    res.replicasRotated = bytes >= 4 * l2Bytes ? 1 : int((4 * l2Bytes + bytes - 1) / bytes);
    std::printf("\nmodel %s: H=%d L=%d, %.1f MiB of weights (generated in %.2f s); rotating over %d replica(s) (L2 %.0f MiB)\n", profile.name.c_str(),
                profile.hidden, profile.layers, double(bytes) / (1 << 20), model->generateSeconds(), res.replicasRotated, double(l2Bytes) / (1 << 20));
    res.rows.resize(batches.size());
    for (std::size_t i = 0; i < batches.size(); ++i) {
        Row& row = res.rows[i];
        row.batch = batches[i];
        row.memUs = double(bytes) / ceil.copyBytesPerS * 1e6;
        row.flopUs = profile.flops(batches[i]) / ceil.gemmFlopPerS * 1e6;
        row.floorUs = std::max(row.memUs, row.flopUs);
    }
    for (int v = 0; v < kNumVariants; ++v) {
        ReplicaConfig cfg;
        cfg.maxBatch = *std::max_element(batches.begin(), batches.end());
        cfg.warmBatches = batches;
        cfg.autotune = kVariants[v].autotune;
        cfg.fuseEpilogue = kVariants[v].fuse;
        cfg.useGraphs = kVariants[v].graphs;
        std::vector<std::unique_ptr<Replica>> replicas;
        for (int k = 0; k < res.replicasRotated; ++k) {
            auto created = backend.createReplica(model, cfg);
            if (!created.replica)
                die(std::string(kVariants[v].name) + ": " + created.status.error);
            if (v == 0 && k == 0) {
                res.coldStartMs = created.replica->info().coldStartMs;
                res.uploadMs = created.replica->info().weightUploadMs;
                std::printf("  cold start (tuned, %zu batch sizes warmed): %.1f ms, of which weight upload %.1f ms (%.1f GB/s)\n", batches.size(),
                            res.coldStartMs, res.uploadMs, double(bytes) / (res.uploadMs * 1e-3) / 1e9);
            }
            replicas.push_back(std::move(created.replica));
        }
        std::vector<std::string> paths;
        std::vector<double> wall;
        const auto us = timeBatches(replicas, batches, profile.hidden, reps, v == 0 ? &paths : nullptr, v == 0 ? &wall : nullptr);
        for (std::size_t i = 0; i < batches.size(); ++i)
            res.rows[i].us[v] = us[i];
        if (v == 0) { // time the benchmarked configuration a second time: the spread says what is noise
            const auto again = timeBatches(replicas, batches, profile.hidden, reps, nullptr, nullptr);
            for (std::size_t i = 0; i < batches.size(); ++i) {
                res.rows[i].tunedRepeatUs = again[i];
                res.rows[i].tunedWallUs = wall[i];
                res.rows[i].path = paths[i];
            }
        }
        std::printf("  %-14s done\n", kVariants[v].name);
        std::fflush(stdout);
    }
    return res;
}

std::string table(const std::vector<ModelResult>& results, const Ceilings& c, bool markdown)
{
    std::ostringstream o;
    char line[512];
    const char* sep = markdown ? " | " : "  ";
    for (const auto& m : results) {
        o << (markdown ? "\n### " : "\n") << m.profile.name << ": H=" << m.profile.hidden << " L=" << m.profile.layers << ", "
          << double(m.profile.parameterBytes()) / (1 << 20) << " MiB, cold start " << m.coldStartMs << " ms (upload " << m.uploadMs << " ms)\n\n";
        std::snprintf(line, sizeof line, "%s%6s%s%8s%s%8s%s%8s%s%6s%s%8s%s%9s%s%9s%s%9s%s%6s%s%8s%s%-18s%s\n", markdown ? "| " : "", "batch", sep,
                      "floor", sep, "tuned", sep, "repeat", sep, "x", sep, "heur", sep, "nograph", sep, "plain", sep, "plain-ng", sep, "ng/tun",
                      sep, "e2e", sep, "kernel", markdown ? " |" : "");
        o << line;
        if (markdown)
            o << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for (const auto& r : m.rows) {
            std::snprintf(line, sizeof line, "%s%6d%s%8.1f%s%8.1f%s%8.1f%s%6.2f%s%8.1f%s%9.1f%s%9.1f%s%9.1f%s%6.2f%s%8.1f%s%-18s%s\n", markdown ? "| " : "",
                          r.batch, sep, r.floorUs, sep, r.us[0], sep, r.tunedRepeatUs, sep, r.us[0] / r.floorUs, sep, r.us[1], sep, r.us[2], sep,
                          r.us[3], sep, r.us[4], sep, r.us[4] / r.us[0], sep, r.tunedWallUs, sep, r.path.c_str(), markdown ? " |" : "");
            o << line;
        }
    }
    o << "\nus per forward pass (median). floor = max(weights / " << c.copyBytesPerS / 1e12 << " TB/s, FLOPs / " << c.gemmFlopPerS / 1e12
      << " TFLOP/s); x = tuned / floor; repeat = tuned timed again; heur = cuBLASLt first choice; nograph = heur launched per layer;"
         " plain = GEMM + separate bias-relu kernel (graph), plain-ng = the same launched per layer; ng/tun = plain-ng / tuned;"
         " e2e = tuned submit-to-callback wall time incl. host copies and PCIe transfers.\n";
    return o.str();
}

} // namespace

int main(int argc, char** argv)
{
    std::string models = "small,medium,large";
    int reps = 40;
    std::string outDir = std::getenv("OUT") ? std::getenv("OUT") : ".";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--models")
            models = argv[i + 1];
        else if (a == "--reps")
            reps = std::max(5, std::atoi(argv[i + 1]));
        else if (a == "--out")
            outDir = argv[i + 1];
        else
            die("unknown option " + a);
    }
    FactoryOptions options;
    options.prefer = Preference::Cuda;
    auto chosen = makeBackend(options);
    if (!chosen.gpu)
        die("needs the CUDA backend: " + chosen.notice);
    std::printf("%s\n", chosen.notice.c_str());

    cudaDeviceProp prop {};
    ck(cudaGetDeviceProperties(&prop, 0), "properties");
    std::printf("device 0: %s, %d SMs, L2 %.0f MiB, %.1f GiB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize / 1048576.0,
                double(prop.totalGlobalMem) / (1 << 30));
    const Ceilings ceil = measureCeilings(20);
    std::printf("ceilings measured: device-to-device copy %.3f TB/s (read + write), bf16 GEMM 8192^3 %.1f TFLOP/s\n", ceil.copyBytesPerS / 1e12,
                ceil.gemmFlopPerS / 1e12);

    std::vector<int> batches;
    for (int b = 1; b <= 1024; b *= 2)
        batches.push_back(b);
    std::vector<ModelResult> results;
    std::stringstream names(models);
    for (std::string name; std::getline(names, name, ',');) {
        auto profile = findProfile(name);
        if (!profile)
            die("unknown model profile " + name);
        results.push_back(benchModel(*chosen.backend, *profile, batches, ceil, reps, std::size_t(prop.l2CacheSize)));
    }

    std::ofstream csv(outDir + "/predict_bench.csv");
    csv << "device,model,hidden,layers,weight_bytes,batch,copy_TBps,gemm_TFLOPs,mem_floor_us,flop_floor_us,floor_us";
    for (const auto& v : kVariants)
        csv << ',' << v.name << "_us";
    csv << ",tuned_repeat_us,tuned_e2e_wall_us,tuned_kernel,replicas_rotated,cold_start_ms,weight_upload_ms\n";
    for (const auto& m : results)
        for (const auto& r : m.rows) {
            csv << '"' << prop.name << "\"," << m.profile.name << ',' << m.profile.hidden << ',' << m.profile.layers << ',' << m.profile.parameterBytes() << ','
                << r.batch << ',' << ceil.copyBytesPerS / 1e12 << ',' << ceil.gemmFlopPerS / 1e12 << ',' << r.memUs << ',' << r.flopUs << ',' << r.floorUs;
            for (double u : r.us)
                csv << ',' << u;
            csv << ',' << r.tunedRepeatUs << ',' << r.tunedWallUs << ',' << r.path << ',' << m.replicasRotated << ',' << m.coldStartMs << ','
                << m.uploadMs << '\n';
        }
    std::ofstream md(outDir + "/predict_bench.md");
    md << "Device: " << prop.name << "\n" << table(results, ceil, true);
    std::printf("%s", table(results, ceil, false).c_str());
    return 0;
}
