// The CUDA backend's own kernels (everything else is cuBLASLt), declared for the host code that
// launches them. Pointers are bf16 device arrays; all launches are asynchronous on `stream`.
#pragma once
#include <cstddef>
#include <cuda_runtime_api.h>

namespace knee::predict::cuda {

// y[b][o] = bf16(relu(y[b][o] + bias[o])) over batch × H: the activation pass of the unfused "plain
// loop" the benchmark compares against. H must be a multiple of 8.
cudaError_t launchBiasRelu(void* y, const void* bias, int hidden, int batch, cudaStream_t stream);

// One whole layer for batch <= 8, y = bf16(relu(W·x + b)), as a memory-bound kernel: each weight row is
// read once with 16-byte loads while the batch's inputs sit in shared memory. `blocks` = resident blocks
// to launch (one per multiprocessor); H must be a multiple of 8. `overlapPrevious`: launch with
// programmatic dependent launch, so this layer starts reading its weights while the previous kernel in
// the stream (which must be this kernel, for the previous layer) drains.
cudaError_t launchSmallBatchLayer(const void* w, const void* bias, const void* x, void* y, int hidden, int batch, int blocks,
                                  bool overlapPrevious, cudaStream_t stream);

// Shared memory the small-batch kernel needs (the batch's inputs), and the once-per-device opt-in that
// lets it use more than the default 48 KB. Eligible when the bytes fit the device's opt-in limit.
std::size_t smallBatchSharedBytes(int hidden, int batch);
cudaError_t prepareSmallBatchKernels(std::size_t sharedBytes);

// cudaSuccess when this build holds machine code the current device can run (it is built for sm_90
// unless CMAKE_CUDA_ARCHITECTURES says otherwise); the backend skips the GPU if not.
cudaError_t kernelsAvailable();

} // namespace knee::predict::cuda
