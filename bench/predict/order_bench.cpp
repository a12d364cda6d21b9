// Which call does the device serve first? Two calls on one replica's two slots, the second submitted a
// fraction f of a solo call's time after the first. Closed loops cannot tell how a device divides itself
// between the calls in flight, only how much it does in all (the throughput is the same for any order that
// keeps it busy); random arrivals can (issue 15: a twin with processor sharing put the Poisson p95 of
// `knee serve` on the H200 53 % high, one that serves the oldest call first 3 %). This measures it
// directly: with T1 a call's time alone and T2 the time of two calls started together (the median of each
// pair's mean), the engine's model (DeviceSharing::order o) runs the first call alone for d, then at the blend
// of its shared rate r = T1 / T2 and its solo speed, (1 - o) r + o, so that
//   A = d + (T1 - d) / ((1 - o) r + o),   and   o = ((T1 - d) / (A - d) - r) / (1 - r)
// (0 processor sharing, A = d + (T1 - d) T2 / T1; 1 oldest first, A = T1). Where two calls together are no
// slower than one (r >= 1) there is nothing to divide, and no order.
//
//   knee-bench-order [--profiles small,medium,large] [--offsets 0.25,0.5,0.75] [--repeats 200]
//                    [--backend gpu|cpu] [--out FILE.json]
//
// Host times (submit to completion), medians. Needs no CUDA to build: the backend comes through the factory.
#include "predict/factory.h"
#include "predict/model.h"
#include "bench_args.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace knee::predict;
using knee::bench::median;
using knee::bench::split;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// One round: the first call on slot 0 at t0, the second on slot 1 `offsetMs` later (spinning: a sleep's
// wake-up is late by more than these offsets); each call's time from its own submit to its completion.
struct Pair {
    double firstMs = 0, secondMs = 0, offsetMs = 0;
};

class Rounds {
public:
    Rounds(Replica& r, int hidden)
        : m_replica(r)
        , m_in(2, std::vector<Bf16>(std::size_t(hidden)))
        , m_out(2, std::vector<Bf16>(std::size_t(hidden)))
    {
        for (std::size_t s = 0; s < 2; ++s)
            fillUniform(m_in[s].data(), m_in[s].size(), 4242 + s); // random, never zeros
    }

    // offsetMs < 0: the first call alone.
    Status round(double offsetMs, Pair& out)
    {
        std::unique_lock lock(m_mu);
        m_left = offsetMs < 0 ? 1 : 2;
        m_error.clear();
        lock.unlock();
        const Clock::time_point t0 = Clock::now();
        if (Status st = submit(0, t0); !st.ok())
            return st;
        if (offsetMs >= 0) {
            while (msSince(t0) < offsetMs) {
            }
            const Clock::time_point t1 = Clock::now();
            out.offsetMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
            if (Status st = submit(1, t1); !st.ok()) {
                lock.lock();
                m_cv.wait(lock, [&] { return m_left == 1; });
                return st;
            }
        }
        lock.lock();
        m_cv.wait(lock, [&] { return m_left == 0; });
        out.firstMs = m_ms[0];
        out.secondMs = m_ms[1];
        return m_error.empty() ? Status {} : Status::failure(m_error);
    }

private:
    Status submit(int s, Clock::time_point t)
    {
        return m_replica.submit(s, 1, m_in[std::size_t(s)].data(), m_out[std::size_t(s)].data(), [this, s, t](const Completion& c) {
            const double ms = msSince(t);
            std::lock_guard lock(m_mu);
            m_ms[s] = ms;
            if (!c.status.ok() && m_error.empty())
                m_error = c.status.error;
            --m_left;
            m_cv.notify_all();
        });
    }

    Replica& m_replica;
    std::vector<std::vector<Bf16>> m_in, m_out;
    std::mutex m_mu;
    std::condition_variable m_cv;
    int m_left = 0;
    double m_ms[2] = {0, 0};
    std::string m_error;
};

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> profiles{"small", "medium", "large"};
    std::vector<double> offsets{0.25, 0.5, 0.75};
    int repeats = 200;
    std::string backendName = "gpu", outPath;
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (i + 1 >= argc || k == "--help" || k == "-h") {
            std::fprintf(stderr, "usage: knee-bench-order [--profiles small,medium,large] [--offsets 0.25,0.5,0.75] [--repeats 200] "
                                 "[--backend gpu|cpu] [--out FILE.json]\n");
            return k == "--help" || k == "-h" ? 0 : 2;
        }
        const std::string v = argv[i + 1];
        if (k == "--profiles") profiles = split(v);
        else if (k == "--offsets") {
            offsets.clear();
            for (const std::string& p : split(v))
                offsets.push_back(std::clamp(std::atof(p.c_str()), 0.0, 1.0));
        } else if (k == "--repeats") repeats = std::max(5, std::atoi(v.c_str()));
        else if (k == "--backend" && (v == "gpu" || v == "cpu")) backendName = v;
        else if (k == "--out") outPath = v;
        else {
            std::fprintf(stderr, "knee-bench-order: unknown flag or value: %s %s\n", k.c_str(), v.c_str());
            return 2;
        }
    }
    if (profiles.empty() || offsets.empty()) {
        std::fprintf(stderr, "knee-bench-order: --profiles and --offsets need at least one value each\n");
        return 2;
    }
    std::optional<BackendChoice> opened = knee::bench::openBackend("knee-bench-order", backendName);
    if (!opened)
        return 1;
    BackendChoice& choice = *opened;
    std::ostringstream json;
    json << "{\"backend\":\"" << (choice.gpu ? "gpu" : "cpu") << "\",\"repeats\":" << repeats << ",\"points\":[";
    bool firstPoint = true;
    std::printf("| model | T1 ms | T2 ms | offset ms | first call ms | shared predicts | oldest first predicts | order | second call ms |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const std::string& name : profiles) {
        const auto model = knee::bench::profileModel("knee-bench-order", name);
        if (!model)
            return 2;
        ReplicaConfig rc;
        rc.slots = 2;
        rc.maxBatch = 1;
        rc.device = 0;
        rc.warmBatches = {1};
        CreatedReplica created = choice.backend->createReplica(model, rc);
        if (!created.replica) {
            std::fprintf(stderr, "knee-bench-order: %s: %s\n", name.c_str(), created.status.error.c_str());
            return 1;
        }
        Rounds rounds(*created.replica, model->hidden());
        // Interleaved, so that a drift of the device's speed lands on every offset alike: each repeat runs a
        // solo call, a pair started together, then a pair at each offset.
        std::vector<double> solo, together;
        std::vector<std::vector<double>> first(offsets.size()), second(offsets.size()), offsetMs(offsets.size());
        double t1Guess = 0;
        for (int warm = 0; warm < 20; ++warm) {
            Pair p;
            if (Status st = rounds.round(-1, p); !st.ok()) {
                std::fprintf(stderr, "knee-bench-order: %s: %s\n", name.c_str(), st.error.c_str());
                return 1;
            }
            t1Guess = p.firstMs;
        }
        for (int r = 0; r < repeats; ++r) {
            Pair p;
            Status st = rounds.round(-1, p);
            solo.push_back(p.firstMs);
            if (st.ok())
                st = rounds.round(0, p);
            together.push_back((p.firstMs + p.secondMs) / 2);
            const double t1 = r < 10 ? t1Guess : median(solo);
            for (std::size_t i = 0; i < offsets.size() && st.ok(); ++i) {
                st = rounds.round(offsets[i] * t1, p);
                first[i].push_back(p.firstMs);
                second[i].push_back(p.secondMs);
                offsetMs[i].push_back(p.offsetMs);
            }
            if (!st.ok()) {
                std::fprintf(stderr, "knee-bench-order: %s: %s\n", name.c_str(), st.error.c_str());
                return 1;
            }
        }
        const double t1 = median(solo), t2 = median(together);
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            const double d = median(offsetMs[i]), a = median(first[i]), b = median(second[i]);
            const double shared = d + std::max(0.0, t1 - d) * t2 / t1, oldest = t1;
            // Undefined where two calls together are no slower than one (the two predictions coincide), or
            // where the first call ended before the second began.
            const double r = t1 / t2;
            const bool defined = shared - oldest > 0.02 * t1 && a > d && t1 > d;
            const double order = defined ? ((t1 - d) / (a - d) - r) / (1 - r) : 0;
            const std::string orderText = defined ? std::to_string(order).substr(0, std::to_string(order).find('.') + 3) : "-";
            std::printf("| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %s | %.4f |\n", name.c_str(), t1, t2, d, a, shared, oldest,
                        orderText.c_str(), b);
            std::fflush(stdout);
            json << (firstPoint ? "" : ",") << "{\"profile\":\"" << name << "\",\"t1_ms\":" << t1 << ",\"t2_ms\":" << t2
                 << ",\"offset_fraction\":" << offsets[i] << ",\"offset_ms\":" << d << ",\"first_ms\":" << a << ",\"second_ms\":" << b
                 << ",\"shared_predicts_ms\":" << shared << ",\"oldest_first_predicts_ms\":" << oldest << ",\"order\":" << (defined ? std::to_string(order) : std::string("null")) << "}";
            firstPoint = false;
        }
    }
    json << "]}\n";
    if (!outPath.empty()) {
        std::ofstream f(outPath);
        f << json.str();
        if (!f) {
            std::fprintf(stderr, "knee-bench-order: cannot write %s\n", outPath.c_str());
            return 1;
        }
    }
    return 0;
}
