// The model the predict stage runs: an L-layer MLP of H×H bf16 weights, bias and ReLU per layer.
// ModelProfile names its size; Model holds the host copy of its weights that every replica uploads.
//
// Layer l computes y = relu(W_l · x + b_l) for each request vector x (H values), with W_l stored
// row-major [out][in] like a PyTorch Linear, products accumulated in fp32, and y rounded to bf16
// before the next layer reads it (what a bf16 serving stack stores between layers).
//
// Why ReLU and not GELU: ReLU is one exactly specified function, so the CPU backend computes the same
// function as cuBLASLt's RELU_BIAS epilogue. cuBLASLt does not document which GELU approximation its
// GELU epilogue uses, and a CPU twin that guessed differently would add a systematic error on top of
// rounding. Cost and memory behaviour (what the workbench measures) do not depend on the choice.
#pragma once
#include "predict/bf16.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace knee::predict {

struct ModelProfile {
    std::string name;
    int hidden = 0;          // H, a multiple of 8 so every row is a whole number of 16-byte vectors
    int layers = 0;          // L >= 1
    std::uint64_t seed = 1;  // weights are a pure function of (seed, layer, index)

    std::string validate() const;                  // empty when usable, else what is wrong
    std::size_t parameterBytes() const;            // weights + biases, bf16: L·(H² + H)·2
    double flops(int batch) const;                 // multiply-adds ×2 of one forward pass: 2·B·H²·L
};

// Named sizes the app offers, from a few MB to a few GB of weights (see model.cpp for the list).
const std::vector<ModelProfile>& builtinProfiles();
std::optional<ModelProfile> findProfile(std::string_view name);

class Model {
public:
    // Generates the weights on the host (He-uniform for ReLU, so activations keep their scale through
    // the layers), on up to `threads` threads (0: all cores). Throws std::invalid_argument for a profile
    // that does not validate, std::bad_alloc when the host lacks the memory.
    static std::shared_ptr<const Model> generate(const ModelProfile& profile, int threads = 0);

    const ModelProfile& profile() const { return m_profile; }
    int hidden() const { return m_profile.hidden; }
    int layers() const { return m_profile.layers; }
    std::size_t parameterBytes() const { return m_profile.parameterBytes(); }
    const Bf16* weights(int layer) const { return m_weights.get() + std::size_t(layer) * hidden() * hidden(); }
    const Bf16* bias(int layer) const { return m_bias.get() + std::size_t(layer) * hidden(); }
    double generateSeconds() const { return m_generateSeconds; }

private:
    Model() = default;
    ModelProfile m_profile;
    std::unique_ptr<Bf16[]> m_weights; // L·H·H, layer after layer
    std::unique_ptr<Bf16[]> m_bias;    // L·H
    double m_generateSeconds = 0;
};

// Fills `count` values uniform in [-scale, scale], a pure function of `seed` (tests and benchmarks
// draw fresh inputs by passing fresh seeds).
void fillUniform(Bf16* out, std::size_t count, std::uint64_t seed, float scale = 1.0f);

} // namespace knee::predict
