// The boundary between the Qt-free factory and the CUDA backend, which lives in its own shared library
// (libknee_predict_cuda.so) so that the app itself never links CUDA and runs where no CUDA exists.
//
// The factory dlopen()s the module and calls these two C symbols. C++ objects (Backend, Model,
// std::function) do cross the boundary: both sides come from one build with one compiler, and the ABI
// number below, bumped whenever backend.h or model.h change shape, refuses a stale module.
#pragma once
#include <cstddef>

namespace knee::predict {
class Backend;
inline constexpr int kCudaModuleAbi = 1;
inline constexpr const char* kCudaModuleFile = "libknee_predict_cuda.so";
} // namespace knee::predict

extern "C" {
// Returns kCudaModuleAbi as the module was built.
int knee_predict_cuda_abi();
// Creates the CUDA backend, or returns null and writes why (no device, driver too old, ...) into
// `error` (always NUL-terminated). The caller owns the result and deletes it through its virtual
// destructor; the module must stay loaded while it exists (the factory never unloads it).
knee::predict::Backend* knee_predict_cuda_create(char* error, std::size_t errorSize);
}
