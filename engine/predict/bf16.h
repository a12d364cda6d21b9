// bfloat16 storage type and its conversions, shared by the CPU and CUDA backends.
// The predict stage keeps weights, inputs and outputs in bf16 and accumulates in fp32.
#pragma once
#include <bit>
#include <cstdint>

namespace knee::predict {

// A distinct type (not a bare uint16_t) so that a bf16 buffer cannot be passed where raw integers
// are meant. Layout-compatible with CUDA's __nv_bfloat16: the CUDA backend reinterprets the pointers.
struct Bf16 {
    std::uint16_t bits = 0;
};
static_assert(sizeof(Bf16) == 2 && alignof(Bf16) == 2);

inline float toFloat(Bf16 v) { return std::bit_cast<float>(std::uint32_t(v.bits) << 16); }

// Round to nearest, ties to even: what __float2bfloat16_rn does on the GPU, so both backends round
// an fp32 accumulator to the same bf16 whenever their accumulators agree.
inline Bf16 toBf16(float f)
{
    std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return Bf16 { std::uint16_t((u >> 16) | 0x40u) }; // NaN stays a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return Bf16 { std::uint16_t(u >> 16) };
}

// Tests poison output buffers with this before a run: any element the backend fails to write stays
// NaN, and a NaN makes every error measure fail.
inline constexpr Bf16 kBf16NaN { 0x7fc0 };

} // namespace knee::predict
