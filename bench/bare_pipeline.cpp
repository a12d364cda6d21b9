#include "bare_pipeline.h"

#include "sim/random.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <queue>
#include <vector>

namespace knee::bench {

namespace {
enum Type : std::uint8_t { Arrive, PreDone, PredictDone, PostDone };
struct Ev {
    std::int64_t t;
    std::uint64_t seq;
    Type type;
    std::uint32_t req;
    bool operator>(const Ev& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};
struct Req {
    std::int64_t arrived;
    std::int32_t replica;
};
struct Rep {
    int held = 0, inPredict = 0;
    std::deque<std::uint32_t> wait;
};
std::int64_t ns(double ms) { return std::llround(ms * 1e6); }
} // namespace

BarePipelineResult runBarePipeline(const BarePipelineConfig& c)
{
    std::priority_queue<Ev, std::vector<Ev>, std::greater<>> heap;
    std::uint64_t seq = 0;
    Rng arrivals(streamSeed(c.seed, 1)), pre(streamSeed(c.seed, 11)), pred(streamSeed(c.seed, 12)), post(streamSeed(c.seed, 13));
    std::vector<Req> reqs;
    std::vector<std::uint32_t> freeList;
    std::vector<Rep> reps(std::size_t(c.replicas));
    std::deque<std::uint32_t> queue;
    std::int64_t sent = 0;
    BarePipelineResult out;
    double latencySum = 0;

    auto admit = [&](std::uint32_t r, std::int64_t now) {
        int best = -1;
        for (int i = 0; i < c.replicas; ++i)
            if (reps[std::size_t(i)].held < c.concurrencyTarget && (best < 0 || reps[std::size_t(i)].held < reps[std::size_t(best)].held))
                best = i;
        if (best < 0)
            return false;
        ++reps[std::size_t(best)].held;
        reqs[r].replica = best;
        heap.push({now + ns(pre.exponential(c.preprocessMs)), seq++, PreDone, r});
        return true;
    };
    auto startPredicts = [&](Rep& rep, std::int64_t now) {
        while (rep.inPredict < c.predictConcurrency && !rep.wait.empty()) {
            const std::uint32_t r = rep.wait.front();
            rep.wait.pop_front();
            ++rep.inPredict;
            heap.push({now + ns(pred.exponential(c.predictMs)), seq++, PredictDone, r});
        }
    };

    heap.push({ns(arrivals.exponential(1000.0 / c.rateRps)), seq++, Arrive, 0});
    while (!heap.empty()) {
        const Ev e = heap.top();
        heap.pop();
        switch (e.type) {
        case Arrive: {
            if (sent >= c.requests)
                break;
            ++sent;
            std::uint32_t r;
            if (!freeList.empty()) {
                r = freeList.back();
                freeList.pop_back();
            } else {
                r = std::uint32_t(reqs.size());
                reqs.emplace_back();
            }
            reqs[r].arrived = e.t;
            if (!queue.empty() || !admit(r, e.t))
                queue.push_back(r);
            heap.push({e.t + std::max<std::int64_t>(1, ns(arrivals.exponential(1000.0 / c.rateRps))), seq++, Arrive, 0});
            break;
        }
        case PreDone: {
            Rep& rep = reps[std::size_t(reqs[e.req].replica)];
            rep.wait.push_back(e.req);
            startPredicts(rep, e.t);
            break;
        }
        case PredictDone: {
            Rep& rep = reps[std::size_t(reqs[e.req].replica)];
            --rep.inPredict;
            heap.push({e.t + ns(post.exponential(c.postprocessMs)), seq++, PostDone, e.req});
            startPredicts(rep, e.t);
            break;
        }
        case PostDone: {
            --reps[std::size_t(reqs[e.req].replica)].held;
            ++out.completed;
            latencySum += double(e.t - reqs[e.req].arrived) / 1e6;
            freeList.push_back(e.req);
            while (!queue.empty() && admit(queue.front(), e.t))
                queue.pop_front();
            break;
        }
        }
    }
    out.meanLatencyMs = out.completed ? latencySum / double(out.completed) : 0;
    return out;
}

} // namespace knee::bench
