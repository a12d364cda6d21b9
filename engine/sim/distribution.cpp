#include "distribution.h"

#include "scenario.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace knee {

const char* toString(Distribution::Kind kind)
{
    switch (kind) {
    case Distribution::Kind::Constant: return "constant";
    case Distribution::Kind::Exponential: return "exponential";
    case Distribution::Kind::Lognormal: return "lognormal";
    case Distribution::Kind::Uniform: return "uniform";
    case Distribution::Kind::Empirical: return "empirical";
    }
    return "?";
}

bool distributionKindFromString(const std::string& name, Distribution::Kind& out)
{
    for (auto k : {Distribution::Kind::Constant, Distribution::Kind::Exponential, Distribution::Kind::Lognormal,
                   Distribution::Kind::Uniform, Distribution::Kind::Empirical}) {
        if (name == toString(k)) {
            out = k;
            return true;
        }
    }
    return false;
}

static bool finiteIn(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

std::string Distribution::validate() const
{
    if (kind == Kind::Empirical) {
        if (valuesMs.empty())
            return "an empirical distribution needs a non-empty values_ms table";
        if (valuesMs.size() > limits::kMaxEmpiricalValues)
            return "the empirical table has more than " + std::to_string(limits::kMaxEmpiricalValues) + " values";
        for (double v : valuesMs)
            if (!finiteIn(v, 0, limits::kMaxStageMs))
                return "empirical values_ms must be finite, >= 0 and <= one day";
        if (!weights.empty()) {
            if (weights.size() != valuesMs.size())
                return "empirical weights must have as many entries as values_ms";
            double sum = 0;
            for (double w : weights) {
                if (!std::isfinite(w) || w < 0)
                    return "empirical weights must be finite and >= 0";
                sum += w;
            }
            if (!(sum > 0))
                return "empirical weights must not all be zero";
        }
        if (meanMs != 0) {
            if (!finiteIn(meanMs, 0, limits::kMaxStageMs))
                return "mean_ms must be finite, >= 0 and <= one day";
            if (!(Sampler(Distribution{Kind::Empirical, 0, sigma, spreadMs, valuesMs, weights}).meanMs() > 0))
                return "an all-zero empirical table cannot be rescaled to mean_ms";
        }
        return {};
    }
    if (!finiteIn(meanMs, 0, limits::kMaxStageMs))
        return "mean_ms must be finite, >= 0 and <= one day (86400000)";
    if (kind == Kind::Lognormal && !finiteIn(sigma, 1e-9, kMaxLognormalSigma))
        return "lognormal sigma must be > 0 and <= 4: its mean needs (e^(sigma^2) - 1) / 0.01 samples to come within 10 % "
               "(8.9e8 at sigma 4); above 4.3 that is more than the 1e10 requests a run may hold";
    if (kind == Kind::Uniform && spreadMs >= 0 && !(std::isfinite(spreadMs) && spreadMs <= meanMs))
        return "uniform spread_ms must be between 0 and mean_ms";
    return {};
}

double Distribution::effectiveMeanMs() const { return Sampler(*this).meanMs(); }

Sampler::Sampler(const Distribution& d)
    : m_kind(d.kind)
    , m_meanMs(d.meanMs)
    , m_perInstant(d.perInstant)
{
    switch (d.kind) {
    case Distribution::Kind::Constant:
    case Distribution::Kind::Exponential:
        break;
    case Distribution::Kind::Lognormal:
        // Parameterised by its mean: E[X] = exp(mu + sigma^2 / 2).
        m_sigma = d.sigma;
        m_mu = d.meanMs > 0 ? std::log(d.meanMs) - d.sigma * d.sigma / 2 : 0;
        break;
    case Distribution::Kind::Uniform: {
        const double spread = d.spreadMs < 0 ? d.meanMs : std::min(d.spreadMs, d.meanMs);
        m_lowMs = d.meanMs - spread;
        m_widthMs = 2 * spread;
        break;
    }
    case Distribution::Kind::Empirical: {
        const std::size_t n = d.valuesMs.size();
        if (n == 0)
            break;
        std::vector<double> w = d.weights.size() == n ? d.weights : std::vector<double>(n, 1.0);
        const double total = std::accumulate(w.begin(), w.end(), 0.0);
        if (!(total > 0))
            break;
        double tableMean = 0;
        for (std::size_t i = 0; i < n; ++i)
            tableMean += d.valuesMs[i] * w[i] / total;
        const double scale = d.meanMs > 0 && tableMean > 0 ? d.meanMs / tableMean : 1.0;
        m_tableMs.resize(n);
        m_cumulative.resize(n);
        double acc = 0;
        for (std::size_t i = 0; i < n; ++i) {
            m_tableMs[i] = d.valuesMs[i] * scale;
            acc += w[i] / total;
            m_cumulative[i] = acc;
        }
        m_cumulative.back() = 1.0;
        m_meanMs = tableMean * scale;
        break;
    }
    }
}

Nanos Sampler::sample(Rng& rng) const
{
    // A heavy tail must not overflow the clock: cap a single stage at one day.
    return msToNanos(std::clamp(sampleValue(rng), 0.0, limits::kMaxStageMs));
}

double Sampler::sampleValue(Rng& rng) const
{
    double ms = 0;
    switch (m_kind) {
    case Distribution::Kind::Constant:
        ms = m_meanMs;
        break;
    case Distribution::Kind::Exponential:
        ms = rng.exponential(m_meanMs);
        break;
    case Distribution::Kind::Lognormal:
        ms = m_meanMs > 0 ? std::exp(m_mu + m_sigma * rng.normal()) : 0;
        break;
    case Distribution::Kind::Uniform:
        ms = m_lowMs + m_widthMs * rng.uniform01();
        break;
    case Distribution::Kind::Empirical: {
        if (m_tableMs.empty())
            return 0.0;
        const double u = rng.uniform01();
        const auto it = std::lower_bound(m_cumulative.begin(), m_cumulative.end(), u);
        ms = m_tableMs[std::size_t(std::min<std::ptrdiff_t>(it - m_cumulative.begin(), std::ptrdiff_t(m_tableMs.size()) - 1))];
        break;
    }
    }
    return std::max(ms, 0.0);
}

} // namespace knee
