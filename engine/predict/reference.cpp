#include "predict/reference.h"

#include <cmath>
#include <limits>

namespace knee::predict {

std::vector<double> referenceForward(const Model& model, int batch, const Bf16* input)
{
    const std::size_t h = std::size_t(model.hidden()), b = std::size_t(batch);
    std::vector<double> cur(b * h), next(b * h);
    for (std::size_t i = 0; i < b * h; ++i)
        cur[i] = toFloat(input[i]);
    std::vector<double> w(h * h);
    for (int layer = 0; layer < model.layers(); ++layer) {
        const Bf16* wl = model.weights(layer);
        const Bf16* bl = model.bias(layer);
        for (std::size_t i = 0; i < h * h; ++i)
            w[i] = toFloat(wl[i]);
        for (std::size_t r = 0; r < b; ++r) {
            const double* x = &cur[r * h];
            for (std::size_t o = 0; o < h; ++o) {
                const double* wo = &w[o * h];
                double acc = toFloat(bl[o]);
                for (std::size_t k = 0; k < h; ++k)
                    acc += wo[k] * x[k];
                next[r * h + o] = acc > 0 ? acc : 0;
            }
        }
        cur.swap(next);
    }
    return cur;
}

namespace {
template <class Ref>
double relErr(const Bf16* out, const Ref& refAt, std::size_t count)
{
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const double o = toFloat(out[i]), r = refAt(i);
        if (std::isnan(o) || std::isnan(r))
            return std::numeric_limits<double>::quiet_NaN();
        diff += (o - r) * (o - r);
        norm += r * r;
    }
    if (norm == 0)
        return std::numeric_limits<double>::quiet_NaN();
    return std::sqrt(diff / norm);
}
} // namespace

double relativeError(const Bf16* out, const double* ref, std::size_t count)
{
    return relErr(out, [ref](std::size_t i) { return ref[i]; }, count);
}

double relativeError(const Bf16* out, const Bf16* ref, std::size_t count)
{
    return relErr(out, [ref](std::size_t i) { return double(toFloat(ref[i])); }, count);
}

} // namespace knee::predict
