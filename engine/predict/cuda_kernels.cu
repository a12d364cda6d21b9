// The CUDA backend's two kernels. The matrix work itself is cuBLASLt's (cuda_backend.cpp); these cover
// what it does not: the separate activation pass of the benchmark's plain loop, and a memory-bound
// layer for batches of 1..8, where the whole cost is reading the weights once.
#include "predict/cuda_kernels.h"

#include <cstdint>
#include <cuda_bf16.h>

namespace knee::predict::cuda {

namespace {

constexpr int kThreads = 512; // 16 warps, one block per multiprocessor: enough loads in flight to cover latency
constexpr int kRows = 2;      // output rows per warp task: each input value loaded from shared memory feeds two rows
constexpr int kUnroll = 4;    // 16-byte weight loads per row each lane issues before it uses the first

// bf16 -> fp32 is a 16-bit shift; a 32-bit word holds two bf16, the lower address in the low half.
__device__ __forceinline__ float lowHalf(std::uint32_t v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float highHalf(std::uint32_t v) { return __uint_as_float(v & 0xffff0000u); }

__device__ __forceinline__ float dot8(const uint4& w, const float (&x)[8], float acc)
{
    acc = fmaf(lowHalf(w.x), x[0], acc);
    acc = fmaf(highHalf(w.x), x[1], acc);
    acc = fmaf(lowHalf(w.y), x[2], acc);
    acc = fmaf(highHalf(w.y), x[3], acc);
    acc = fmaf(lowHalf(w.z), x[4], acc);
    acc = fmaf(highHalf(w.z), x[5], acc);
    acc = fmaf(lowHalf(w.w), x[6], acc);
    acc = fmaf(highHalf(w.w), x[7], acc);
    return acc;
}

__device__ __forceinline__ std::uint32_t pack(float a, float b)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(a, b); // .x (a) lands at the lower address
    return *reinterpret_cast<const std::uint32_t*>(&v);
}

// Issues one step of weight loads: kUnroll chunks of both rows, all before any is used.
__device__ __forceinline__ void loadWeights(uint4 (&wv)[kUnroll][kRows], const uint4* wr, int vecs, int base)
{
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
        const int c = base + 32 * u;
#pragma unroll
        for (int r = 0; r < kRows; ++r)
            wv[u][r] = c < vecs ? __ldg(wr + std::size_t(r) * vecs + c) : make_uint4(0, 0, 0, 0);
    }
}

// A persistent grid: each block copies the batch's inputs (NB × H bf16) into shared memory, then its
// warps walk over pairs of output rows. A lane reads 16-byte chunks c = lane + 32·k of both rows, so a
// warp reads 512 contiguous bytes per row per step (coalesced), and each weight byte is read once.
//
// Layer boundaries: the weights do not depend on the previous layer, so each warp issues its first
// weight loads before waiting for it (griddepcontrol.wait). Launched with programmatic dependent launch
// (launchSmallBatchLayer's `overlapPrevious`), a layer's blocks start on the multiprocessors the previous
// layer has finished with and stream weights while its last blocks drain; launched plainly, the wait
// returns at once. Outputs are written only after the wait, when the previous layer has stopped reading.
template <int NB>
__global__ void __launch_bounds__(kThreads, 1)
    smallBatchLayer(const uint4* __restrict__ w, const __nv_bfloat16* __restrict__ bias, const uint4* __restrict__ x,
                    __nv_bfloat16* __restrict__ y, int hidden)
{
    extern __shared__ uint4 xs[];
    const int vecs = hidden / 8;
    const int lane = threadIdx.x & 31;
    const int warpsPerBlock = blockDim.x >> 5;
    const int tasks = hidden / kRows;
    int t = blockIdx.x * warpsPerBlock + (threadIdx.x >> 5);

    uint4 wv[kUnroll][kRows];
    bool prefetched = t < tasks;
    if (prefetched)
        loadWeights(wv, w + std::size_t(t) * kRows * vecs, vecs, lane);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
    for (int i = threadIdx.x; i < NB * vecs; i += blockDim.x)
        xs[i] = __ldcg(x + i); // via L2: the previous layer wrote it moments ago
    __syncthreads();

    for (; t < tasks; t += gridDim.x * warpsPerBlock) {
        const int row0 = t * kRows;
        const uint4* wr = w + std::size_t(row0) * vecs;
        float acc[kRows][NB];
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int b = 0; b < NB; ++b)
                acc[r][b] = 0.0f;

        for (int base = lane; base < vecs; base += 32 * kUnroll) {
            if (!prefetched)
                loadWeights(wv, wr, vecs, base);
            prefetched = false;
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) {
                const int c = base + 32 * u;
                if (c < vecs) {
#pragma unroll
                    for (int b = 0; b < NB; ++b) {
                        const uint4 xv = xs[b * vecs + c];
                        const float xf[8] = { lowHalf(xv.x), highHalf(xv.x), lowHalf(xv.y), highHalf(xv.y),
                                              lowHalf(xv.z), highHalf(xv.z), lowHalf(xv.w), highHalf(xv.w) };
#pragma unroll
                        for (int r = 0; r < kRows; ++r)
                            acc[r][b] = dot8(wv[u][r], xf, acc[r][b]);
                    }
                }
            }
        }
        // Butterfly sums leave the total in every lane; lane r·NB + b then writes (r, b). Compile-time
        // indices throughout, so acc stays in registers.
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int b = 0; b < NB; ++b)
#pragma unroll
                for (int off = 16; off > 0; off >>= 1)
                    acc[r][b] += __shfl_xor_sync(0xffffffffu, acc[r][b], off);
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
            for (int b = 0; b < NB; ++b)
                if (lane == r * NB + b) {
                    const float v = acc[r][b] + __bfloat162float(bias[row0 + r]);
                    y[std::size_t(b) * hidden + row0 + r] = __float2bfloat16_rn(fmaxf(v, 0.0f));
                }
    }
}

__global__ void biasRelu(uint4* __restrict__ y, const uint4* __restrict__ bias, int vecsPerRow, std::size_t n)
{
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
        const uint4 v = y[i];
        const uint4 b = bias[i % vecsPerRow];
        uint4 out;
        out.x = pack(fmaxf(lowHalf(v.x) + lowHalf(b.x), 0.0f), fmaxf(highHalf(v.x) + highHalf(b.x), 0.0f));
        out.y = pack(fmaxf(lowHalf(v.y) + lowHalf(b.y), 0.0f), fmaxf(highHalf(v.y) + highHalf(b.y), 0.0f));
        out.z = pack(fmaxf(lowHalf(v.z) + lowHalf(b.z), 0.0f), fmaxf(highHalf(v.z) + highHalf(b.z), 0.0f));
        out.w = pack(fmaxf(lowHalf(v.w) + lowHalf(b.w), 0.0f), fmaxf(highHalf(v.w) + highHalf(b.w), 0.0f));
        y[i] = out;
    }
}

template <int NB>
cudaError_t launchNB(const void* w, const void* bias, const void* x, void* y, int hidden, int blocks, bool overlapPrevious,
                     cudaStream_t stream)
{
    cudaLaunchAttribute attribute {};
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config {};
    config.gridDim = dim3(unsigned(blocks));
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = smallBatchSharedBytes(hidden, NB);
    config.stream = stream;
    config.attrs = &attribute;
    config.numAttrs = overlapPrevious ? 1 : 0;
    return cudaLaunchKernelEx(&config, smallBatchLayer<NB>, static_cast<const uint4*>(w), static_cast<const __nv_bfloat16*>(bias),
                              static_cast<const uint4*>(x), static_cast<__nv_bfloat16*>(y), hidden);
}

template <int NB>
cudaError_t optIn(std::size_t bytes)
{
    return cudaFuncSetAttribute(smallBatchLayer<NB>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
}

} // namespace

std::size_t smallBatchSharedBytes(int hidden, int batch) { return std::size_t(hidden) * std::size_t(batch) * 2; }

cudaError_t prepareSmallBatchKernels(std::size_t sharedBytes)
{
    cudaError_t e = cudaSuccess;
    for (cudaError_t r : { optIn<1>(sharedBytes), optIn<2>(sharedBytes), optIn<3>(sharedBytes), optIn<4>(sharedBytes),
                           optIn<5>(sharedBytes), optIn<6>(sharedBytes), optIn<7>(sharedBytes), optIn<8>(sharedBytes) })
        if (r != cudaSuccess && e == cudaSuccess)
            e = r;
    return e;
}

cudaError_t kernelsAvailable()
{
    cudaFuncAttributes attributes {};
    return cudaFuncGetAttributes(&attributes, biasRelu);
}

cudaError_t launchSmallBatchLayer(const void* w, const void* bias, const void* x, void* y, int hidden, int batch, int blocks,
                                  bool overlapPrevious, cudaStream_t stream)
{
    switch (batch) {
    case 1: return launchNB<1>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 2: return launchNB<2>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 3: return launchNB<3>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 4: return launchNB<4>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 5: return launchNB<5>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 6: return launchNB<6>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 7: return launchNB<7>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    case 8: return launchNB<8>(w, bias, x, y, hidden, blocks, overlapPrevious, stream);
    default: return cudaErrorInvalidValue;
    }
}

cudaError_t launchBiasRelu(void* y, const void* bias, int hidden, int batch, cudaStream_t stream)
{
    const std::size_t n = std::size_t(batch) * std::size_t(hidden) / 8;
    const unsigned blocks = unsigned(n / 256 + 1 < 4096 ? n / 256 + 1 : 4096);
    biasRelu<<<blocks, 256, 0, stream>>>(static_cast<uint4*>(y), static_cast<const uint4*>(bias), hidden / 8, n);
    return cudaGetLastError();
}

} // namespace knee::predict::cuda
