#include "predict/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace knee::predict {

namespace {

// splitmix64 finaliser: a counter-based generator, so any element can be computed independently and
// generation splits across threads without changing a single weight.
std::uint64_t mix(std::uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Four values from one 64-bit draw: 16 random bits each is twice what a bf16 mantissa holds.
void fillRange(Bf16* out, std::size_t begin, std::size_t end, std::uint64_t stream, float scale)
{
    for (std::size_t group = begin / 4; group * 4 < end; ++group) {
        const std::uint64_t r = mix(stream ^ mix(group));
        for (std::size_t j = 0; j < 4; ++j) {
            const std::size_t i = group * 4 + j;
            if (i < begin || i >= end)
                continue;
            const float u = (float((r >> (16 * j)) & 0xffffu) + 0.5f) * (2.0f / 65536.0f) - 1.0f;
            out[i] = toBf16(u * scale);
        }
    }
}

void fillParallel(Bf16* out, std::size_t count, std::uint64_t stream, float scale, int threads)
{
    constexpr std::size_t kChunk = std::size_t(1) << 22; // below this a thread costs more than it saves
    const std::size_t chunks = (count + kChunk - 1) / kChunk;
    const int n = int(std::min<std::size_t>(chunks, std::size_t(std::max(threads, 1))));
    if (n <= 1) {
        fillRange(out, 0, count, stream, scale);
        return;
    }
    auto work = [=](int t) {
        for (std::size_t c = std::size_t(t); c < chunks; c += std::size_t(n)) // chunks are multiples of 4
            fillRange(out, c * kChunk, std::min(count, (c + 1) * kChunk), stream, scale);
    };
    std::vector<std::thread> pool;
    int t = 0;
    try {
        for (; t < n; ++t)
            pool.emplace_back(work, t);
    } catch (const std::system_error&) {
        // No more threads (a process or system limit): this thread does the shares not started, so the
        // weights are the same either way, and no joinable thread is left to terminate the process.
        for (; t < n; ++t)
            work(t);
    }
    for (auto& th : pool)
        th.join();
}

} // namespace

std::string ModelProfile::validate() const
{
    if (hidden < 8 || hidden % 8 != 0)
        return "hidden size " + std::to_string(hidden) + " must be a positive multiple of 8";
    if (hidden > 65536)
        return "hidden size " + std::to_string(hidden) + " is larger than the supported 65536";
    if (layers < 1 || layers > 4096)
        return "layer count " + std::to_string(layers) + " must be between 1 and 4096";
    return {};
}

std::size_t ModelProfile::parameterBytes() const
{
    const std::size_t h = std::size_t(hidden);
    return std::size_t(layers) * (h * h + h) * sizeof(Bf16);
}

double ModelProfile::flops(int batch) const { return 2.0 * double(batch) * double(hidden) * double(hidden) * double(layers); }

const std::vector<ModelProfile>& builtinProfiles()
{
    static const std::vector<ModelProfile> profiles = {
        { "tiny", 256, 4, 1 },    // 0.5 MB: CI-sized, CPU answers in microseconds
        { "small", 2048, 8, 1 },  // 64 MiB: beyond a Hopper L2 (50-60 MB), still memory-bound per call
        { "medium", 4096, 8, 1 }, // 256 MiB
        { "large", 8192, 12, 1 }, // 1.5 GiB
        { "xl", 8192, 32, 1 },    // 4 GiB
    };
    return profiles;
}

std::optional<ModelProfile> findProfile(std::string_view name)
{
    for (const auto& p : builtinProfiles())
        if (p.name == name)
            return p;
    return std::nullopt;
}

std::shared_ptr<const Model> Model::generate(const ModelProfile& profile, int threads)
{
    if (auto problem = profile.validate(); !problem.empty())
        throw std::invalid_argument("model profile '" + profile.name + "': " + problem);
    const auto start = std::chrono::steady_clock::now();
    if (threads <= 0)
        threads = int(std::max(1u, std::thread::hardware_concurrency()));

    std::shared_ptr<Model> model(new Model);
    model->m_profile = profile;
    const std::size_t h = std::size_t(profile.hidden), l = std::size_t(profile.layers);
    model->m_weights.reset(new Bf16[l * h * h]); // default-initialised: no pass zeroing gigabytes first
    model->m_bias.reset(new Bf16[l * h]);

    // He-uniform: variance 2/H keeps E[y²] ≈ E[x²] through a ReLU layer, so deep profiles neither
    // overflow bf16 nor fade into rounding noise.
    const float weightScale = std::sqrt(6.0f / float(h));
    for (std::size_t layer = 0; layer < l; ++layer) {
        const std::uint64_t stream = mix(profile.seed * 0x100000001B3ull + layer);
        fillParallel(model->m_weights.get() + layer * h * h, h * h, stream, weightScale, threads);
        fillRange(model->m_bias.get() + layer * h, 0, h, mix(stream + 1), 0.05f);
    }
    model->m_generateSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return model;
}

void fillUniform(Bf16* out, std::size_t count, std::uint64_t seed, float scale)
{
    fillParallel(out, count, mix(seed ^ 0x5DEECE66Dull), scale, int(std::max(1u, std::thread::hardware_concurrency())));
}

} // namespace knee::predict
