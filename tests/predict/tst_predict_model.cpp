// bf16 conversion, model profiles and weight generation, and the correctness yardsticks themselves
// (a checker that cannot fail proves nothing, so it is tested on planted defects here).
#include "test_util.h"

#include <cmath>
#include <cstring>

using namespace knee::predict;
using namespace knee::predict::test;

namespace {

void bf16Rounding(Report& r)
{
    r.check(toBf16(1.0f).bits == 0x3f80 && toFloat(Bf16 { 0x3f80 }) == 1.0f, "1.0 round-trips as 0x3f80");
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
    r.check(toBf16(1.0f + 0x1p-8f).bits == 0x3f80, "halfway case rounds to even (down)");
    // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
    r.check(toBf16(1.0f + 3 * 0x1p-8f).bits == 0x3f82, "halfway case rounds to even (up)");
    r.check(toBf16(1.0f + 0x1p-8f + 0x1p-12f).bits == 0x3f81, "above halfway rounds up");
    r.check(toBf16(-2.5f).bits == 0xc020, "-2.5 is exact");
    r.check(std::isnan(toFloat(toBf16(std::nanf("")))), "NaN stays NaN");
    r.check(std::isnan(toFloat(kBf16NaN)), "the poison value is NaN");
}

void profiles(Report& r)
{
    r.check(!ModelProfile { "x", 12, 2, 1 }.validate().empty(), "hidden 12 (not a multiple of 8) is refused");
    r.check(!ModelProfile { "x", 64, 0, 1 }.validate().empty(), "zero layers are refused");
    bool allValid = true;
    for (const auto& p : builtinProfiles())
        allValid = allValid && p.validate().empty();
    r.check(allValid && builtinProfiles().size() >= 4, "built-in profiles validate");
    const auto small = findProfile("small");
    r.check(small && small->parameterBytes() == std::size_t(8) * (2048 * 2048 + 2048) * 2, "small profile is 8 x 2048^2 bf16 + biases");
    r.check(small && small->flops(3) == 2.0 * 3 * 2048.0 * 2048.0 * 8, "flops = 2 B H^2 L");
    r.check(!findProfile("no-such-profile"), "unknown profile name is not found");
    const auto xl = findProfile("xl");
    r.check(xl && xl->parameterBytes() > (std::size_t(3) << 30), "xl profile holds a few GB of weights");
}

void generation(Report& r)
{
    // 4096² = 16.7 M weights per layer spans several generation chunks, so threads really split the work.
    const ModelProfile p = freshProfile(4096, 1);
    const auto one = Model::generate(p, 1);
    const auto three = Model::generate(p, 3);
    const std::size_t n = std::size_t(p.hidden) * std::size_t(p.hidden);
    r.check(std::memcmp(one->weights(0), three->weights(0), n * sizeof(Bf16)) == 0
                && std::memcmp(one->bias(0), three->bias(0), std::size_t(p.hidden) * sizeof(Bf16)) == 0,
            "weights are the same whether 1 or 3 threads generate them");
    ModelProfile other = p;
    other.seed = p.seed + 1;
    const auto different = Model::generate(other, 2);
    r.check(std::memcmp(one->weights(0), different->weights(0), 4096 * sizeof(Bf16)) != 0, "another seed gives other weights");

    double sum = 0, sq = 0;
    float lo = 0, hi = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float v = toFloat(one->weights(0)[i]);
        sum += v;
        sq += double(v) * v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const double mean = sum / double(n), var = sq / double(n) - mean * mean, he = 2.0 / p.hidden;
    r.check(std::abs(mean) < 1e-3 && std::abs(var / he - 1) < 0.02, "weights are He-uniform: mean " + num(mean) + ", variance/(2/H) " + num(var / he));
    const float bound = std::sqrt(6.0f / float(p.hidden)) * 1.01f;
    r.check(lo >= -bound && hi <= bound && lo < 0 && hi > 0, "weights lie within +-sqrt(6/H)");

    std::vector<Bf16> x(1000);
    fillUniform(x.data(), x.size(), nextSeed(), 0.5f);
    bool inRange = true, nonZero = false;
    for (auto v : x) {
        inRange = inRange && std::abs(toFloat(v)) <= 0.5f;
        nonZero = nonZero || toFloat(v) != 0;
    }
    r.check(inRange && nonZero, "fillUniform stays within its scale and is not all zeros");
    bool threw = false;
    try {
        Model::generate(ModelProfile { "bad", 10, 1, 1 });
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    r.check(threw, "generating a bad profile throws invalid_argument");
}

void yardsticks(Report& r)
{
    const auto model = Model::generate(freshProfile(64, 3));
    const int batch = 5;
    const auto x = randomInput(batch, 64);
    const auto ref = referenceForward(*model, batch, x.data());
    std::vector<Bf16> rounded(ref.size());
    for (std::size_t i = 0; i < ref.size(); ++i)
        rounded[i] = toBf16(float(ref[i]));
    const double e0 = relativeError(rounded.data(), ref.data(), ref.size());
    r.check(withinTolerance(e0) && e0 < 4e-3, "the reference rounded to bf16 is within tolerance of itself: " + num(e0));
    bool anyPositive = false, allNonNegative = true;
    for (double v : ref) {
        anyPositive = anyPositive || v > 0;
        allNonNegative = allNonNegative && v >= 0;
    }
    r.check(anyPositive && allNonNegative, "reference outputs are ReLU outputs (non-negative, not all zero)");

    auto withNaN = rounded;
    withNaN[7] = kBf16NaN;
    r.check(!withinTolerance(relativeError(withNaN.data(), ref.data(), ref.size())), "one unwritten (NaN) element fails the check");
    auto shifted = rounded; // requests 0 and 1 exchanged: an indexing bug
    for (int i = 0; i < 64; ++i)
        std::swap(shifted[std::size_t(i)], shifted[std::size_t(64 + i)]);
    r.check(!withinTolerance(relativeError(shifted.data(), ref.data(), ref.size())), "rows written to the wrong request fail the check");
    const auto otherModel = Model::generate(freshProfile(64, 3));
    const auto otherRef = referenceForward(*otherModel, batch, x.data());
    std::vector<Bf16> wrong(otherRef.size());
    for (std::size_t i = 0; i < otherRef.size(); ++i)
        wrong[i] = toBf16(float(otherRef[i]));
    r.check(!withinTolerance(relativeError(wrong.data(), ref.data(), ref.size())), "another model's outputs fail the check");
    r.check(relativeError(rounded.data(), rounded.data(), rounded.size()) == 0, "bf16-vs-bf16 error of identical outputs is 0");
}

} // namespace

int main()
{
    Report r("tst_predict_model");
    bf16Rounding(r);
    profiles(r);
    generation(r);
    yardsticks(r);
    return r.finish();
}
