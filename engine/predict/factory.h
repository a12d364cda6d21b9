// Chooses the predict backend at run time: the CUDA module when it loads and sees a GPU, else the CPU
// backend together with a one-line notice the app shows the user. Never fails, never needs CUDA.
//
// The CUDA backend is a separate shared library (cuda_module.h) loaded with dlopen, so the app starts on
// machines with no CUDA runtime or driver at all: a missing libcublasLt, libcuda or GPU only shows up as
// the notice's reason.
#pragma once
#include "predict/backend.h"
#include "predict/work_queues.h"

#include <memory>
#include <string>
#include <vector>

namespace knee::predict {

enum class Preference {
    Auto, // CUDA when usable, else CPU. The environment variable KNEE_PREDICT_BACKEND=cpu|cuda overrides it.
    Cpu,  // CPU even where a GPU exists
    Cuda, // CUDA if at all possible; falls back to CPU with a notice all the same
};

struct FactoryOptions {
    Preference prefer = Preference::Auto;
    std::string cudaModulePath; // the module to load; empty: KNEE_PREDICT_CUDA_MODULE, then cudaModuleCandidates()
    int cpuThreads = 0;         // CPU backend pool size; <= 0: one per hardware thread
};

struct BackendChoice {
    std::unique_ptr<Backend> backend; // never null
    bool gpu = false;                 // true when backend is the CUDA one
    bool fellBack = false;            // true when CUDA was wanted (Auto or Cuda) but could not be used
    std::string notice;               // one line for the user: what runs predict and, after a fallback, why
};

BackendChoice makeBackend(const FactoryOptions& options = {});


// Where makeBackend looks for the CUDA module, in order: the explicit path or the environment variable
// alone if set; otherwise next to the executable, in ../lib/knee and ../lib beside it, in the build tree
// that produced this library, then the plain file name (LD_LIBRARY_PATH, the executable's RUNPATH).
std::vector<std::string> cudaModuleCandidates(const FactoryOptions& options = {});

} // namespace knee::predict
