#include "predict/factory.h"
#include "predict/work_queues.h"

#include "predict/cpu_backend.h"
#include "predict/cuda_module.h"

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace knee::predict {

void askForDeviceWorkQueues()
{
    setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
}

namespace {

std::string envOr(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

using AbiFn = int (*)();
using CreateFn = Backend* (*)(char*, std::size_t);

struct Loaded {
    std::unique_ptr<Backend> backend;
    std::string error; // why no backend came back
};

// dlopen one candidate. The handle is never closed: the backend's code and every object it hands out
// live in it, and unloading CUDA's runtime while the process still runs buys nothing.
Loaded tryLoad(const std::string& path, bool& found)
{
    Loaded out;
    const bool bareName = path.find('/') == std::string::npos;
    if (!bareName && ::access(path.c_str(), F_OK) != 0) {
        found = false;
        out.error = path + ": not found";
        return out;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = ::dlerror();
        // A bare name that the loader cannot find is "not found"; anything else is a real load failure
        // (e.g. libcublasLt.so.13 missing), which is the reason the user needs to see.
        found = !bareName;
        out.error = e ? e : (path + ": dlopen failed");
        return out;
    }
    found = true;
    auto abi = reinterpret_cast<AbiFn>(::dlsym(handle, "knee_predict_cuda_abi"));
    auto create = reinterpret_cast<CreateFn>(::dlsym(handle, "knee_predict_cuda_create"));
    if (!abi || !create) {
        out.error = path + ": not a knee CUDA module (entry points missing)";
        return out;
    }
    if (abi() != kCudaModuleAbi) {
        out.error = path + ": built for interface version " + std::to_string(abi()) + ", this program needs "
            + std::to_string(kCudaModuleAbi) + " (stale build?)";
        return out;
    }
    char error[512] = {};
    out.backend.reset(create(error, sizeof error));
    if (!out.backend)
        out.error = error[0] ? error : "the CUDA backend could not start";
    return out;
}

} // namespace

std::vector<std::string> cudaModuleCandidates(const FactoryOptions& options)
{
    if (!options.cudaModulePath.empty())
        return { options.cudaModulePath };
    if (auto env = envOr("KNEE_PREDICT_CUDA_MODULE"); !env.empty())
        return { env };
    std::vector<std::string> out;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto dir = exe.parent_path();
        out.push_back((dir / kCudaModuleFile).string());
        out.push_back((dir / ".." / "lib" / "knee" / kCudaModuleFile).lexically_normal().string());
        out.push_back((dir / ".." / "lib" / kCudaModuleFile).lexically_normal().string());
    }
#ifdef KNEE_PREDICT_CUDA_BUILD_PATH
    out.push_back(KNEE_PREDICT_CUDA_BUILD_PATH); // running from the build tree (tests, benchmarks, dev runs)
#endif
    out.push_back(kCudaModuleFile);
    return out;
}

BackendChoice makeBackend(const FactoryOptions& options)
{
    Preference prefer = options.prefer;
    if (prefer == Preference::Auto) {
        const std::string env = envOr("KNEE_PREDICT_BACKEND");
        if (env == "cpu")
            prefer = Preference::Cpu;
        else if (env == "cuda")
            prefer = Preference::Cuda;
    }

    BackendChoice choice;
    if (prefer != Preference::Cpu) {
        std::string loadError;
        for (const auto& path : cudaModuleCandidates(options)) {
            bool found = false;
            Loaded loaded = tryLoad(path, found);
            if (loaded.backend) {
                choice.backend = std::move(loaded.backend);
                choice.gpu = true;
                choice.notice = "Predict runs on the GPU: " + choice.backend->description() + ".";
                return choice;
            }
            if (found) { // the module is there but could not load or start: that is the reason to report
                loadError = loaded.error;
                break;
            }
        }
        choice.fellBack = true;
        choice.notice = "No GPU predict backend (" + (loadError.empty() ? std::string(kCudaModuleFile) + " not found" : loadError)
            + "): predict runs on the CPU, with the same numbers but far slower.";
    }
    choice.backend = makeCpuBackend(options.cpuThreads);
    if (!choice.fellBack)
        choice.notice = "Predict runs on the CPU (" + choice.backend->description() + "), as chosen.";
    return choice;
}

} // namespace knee::predict
