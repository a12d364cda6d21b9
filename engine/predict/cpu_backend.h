// The CPU predict backend: the same forward pass as the CUDA backend (bf16 weights and activations,
// fp32 accumulation, bias + ReLU), run on a pool of host threads. Used wherever no GPU is usable.
//
// One call runs on one pool thread; calls on different slots (and replicas) run in parallel up to the
// pool size. It is the numeric twin of the GPU path, not a fast CPU inference engine: fine for the
// small profiles CI and laptops use, slow for the gigabyte ones.
#pragma once
#include "predict/backend.h"

#include <memory>

namespace knee::predict {

// `threads` <= 0: one per hardware thread.
std::unique_ptr<Backend> makeCpuBackend(int threads = 0);

} // namespace knee::predict
