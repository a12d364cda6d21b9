// Stage-time distributions of a scenario (constant, exponential, lognormal, uniform, empirical)
// and the sampler that draws from them. Every kind is parameterised by its mean, so a scenario
// can switch the shape without rewriting the numbers.
#pragma once
#include "random.h"
#include "base/time.h"

#include <string>
#include <vector>

namespace knee {

struct Distribution {
    enum class Kind { Constant, Exponential, Lognormal, Uniform, Empirical };
    Kind kind = Kind::Constant;
    double meanMs = 0.0;
    double sigma = 0.5;                // lognormal: standard deviation of the underlying normal
    double spreadMs = -1.0;            // uniform: half-width around the mean; < 0 means "= mean" ([0, 2·mean])
    std::vector<double> valuesMs;      // empirical: the table; rescaled so its mean is meanMs when meanMs > 0
    std::vector<double> weights;       // empirical: optional relative weights, same length as valuesMs
    // Draws made at one virtual instant are one draw (`draw: per_instant`; stage times are drawn when a
    // request arrives at the deployment, whichever replica it goes to; think times when a user's response
    // comes). Why: a server handles what it receives in one event-loop turn together, so their fixed costs
    // move together; closed-loop users whose calls ended together stay in step (a convoy), as measured on
    // `knee serve` (docs/DESIGN.md "The device"). Random arrivals almost never share an instant.
    bool perInstant = false;

    static Distribution of(Kind kind, double ms)
    {
        Distribution d;
        d.kind = kind;
        d.meanMs = ms;
        return d;
    }
    static Distribution constant(double ms) { return of(Kind::Constant, ms); }
    static Distribution exponential(double ms) { return of(Kind::Exponential, ms); }

    // Empty when the parameters are usable, else what is wrong (for programmatic construction;
    // the YAML reader reports the same checks with file and line).
    std::string validate() const;
    // The mean the sampler will actually produce (for the empirical kind, after rescaling).
    double effectiveMeanMs() const;
};

// A lognormal's mean converges slowly: over n samples its relative standard error is
// sqrt((e^{σ²} − 1) / n) (the variance is (e^{σ²} − 1)·e^{2μ+σ²}, the squared mean e^{2μ+σ²}), so coming
// within 10 % of mean_ms takes (e^{σ²} − 1) / 0.01 samples: 5.2e4 at σ = 2.5, 8.9e8 at σ = 4, 2.7e45 at
// σ = 10 (asked 10 ms, a run realised 0.000 ms). No run holds more than limits::kMaxRequests (1e10),
// so above σ = sqrt(ln(1 + 1e10 × 0.01)) = 4.29 no run can realise the mean it asks for: bounded at 4.
inline constexpr double kMaxLognormalSigma = 4;

const char* toString(Distribution::Kind kind);
bool distributionKindFromString(const std::string& name, Distribution::Kind& out);

// Draws stage times. Built once from a validated Distribution; sampling allocates nothing.
class Sampler {
public:
    Sampler() = default;
    explicit Sampler(const Distribution& d);
    Nanos sample(Rng& rng) const;       // a time: the value in ms, as nanoseconds
    // A time drawn at virtual instant `now`: with Distribution::perInstant, every call at one instant
    // returns that instant's one draw (the stream advances once per instant); else sample(rng).
    Nanos sampleAt(Rng& rng, Nanos now)
    {
        if (!m_perInstant)
            return sample(rng);
        if (now != m_drawnAt) {
            m_drawnAt = now;
            m_drawn = sample(rng);
        }
        return m_drawn;
    }
    double sampleValue(Rng& rng) const; // the value itself (for unitless quantities such as request sizes)
    double meanMs() const { return m_meanMs; }

private:
    Distribution::Kind m_kind = Distribution::Kind::Constant;
    double m_meanMs = 0.0;
    double m_mu = 0.0, m_sigma = 0.0;      // lognormal
    double m_lowMs = 0.0, m_widthMs = 0.0; // uniform
    std::vector<double> m_cumulative;      // empirical: cumulative weights, normalised to 1
    std::vector<double> m_tableMs;         // empirical: values after rescaling
    bool m_perInstant = false;
    Nanos m_drawnAt = -1, m_drawn = 0;     // sampleAt's draw and its instant
};

} // namespace knee
