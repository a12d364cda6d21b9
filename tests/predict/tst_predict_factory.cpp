// The backend factory: it always returns a working backend, falls back to the CPU with a readable
// reason when the CUDA module is missing, broken or finds no GPU, and honours the user's choice.
// Passes on machines with and without a GPU (it reports which it saw).
#include "predict/cuda_module.h"
#include "predict/factory.h"
#include "test_util.h"

#include <cstdlib>
#include <fstream>
#include <unistd.h>

using namespace knee::predict;
using namespace knee::predict::test;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Whatever backend came back must compute the model's function.
bool works(Backend& backend)
{
    const auto model = Model::generate(freshProfile(64, 2));
    auto rep = backend.createReplica(model, ReplicaConfig {}).replica;
    if (!rep)
        return false;
    const auto x = randomInput(3, 64);
    auto y = poisoned(3, 64);
    const auto ref = referenceForward(*model, 3, x.data());
    return runAndWait(*rep, 0, 3, x.data(), y.data()).status.ok() && withinTolerance(relativeError(y.data(), ref.data(), ref.size()));
}

} // namespace

int main()
{
    Report r("tst_predict_factory");
    ::unsetenv("KNEE_PREDICT_BACKEND");

    FactoryOptions cpuOnly;
    cpuOnly.prefer = Preference::Cpu;
    auto chosen = makeBackend(cpuOnly);
    r.check(chosen.backend && chosen.backend->kind() == BackendKind::Cpu && !chosen.gpu && !chosen.fellBack && contains(chosen.notice, "CPU"),
            "Preference::Cpu gives the CPU backend: " + chosen.notice);
    r.check(works(*chosen.backend), "that backend computes correctly");

    FactoryOptions missing;
    missing.prefer = Preference::Cuda;
    missing.cudaModulePath = "/nonexistent/dir/" + std::string(kCudaModuleFile);
    chosen = makeBackend(missing);
    r.check(chosen.backend && !chosen.gpu && chosen.fellBack && contains(chosen.notice, "not found") && contains(chosen.notice, "CPU"),
            "a missing module falls back to the CPU, saying why: " + chosen.notice);
    r.check(works(*chosen.backend), "the fallback backend computes correctly");

    // A file that exists but is no shared library: the loader's own complaint must reach the user.
    char tmpl[] = "/tmp/knee_predict_fake_XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) {
        const char junk[] = "not an ELF file";
        (void)!::write(fd, junk, sizeof junk);
        ::close(fd);
        FactoryOptions broken;
        broken.cudaModulePath = tmpl;
        chosen = makeBackend(broken);
        r.check(chosen.backend && !chosen.gpu && chosen.fellBack && contains(chosen.notice, tmpl),
                "a broken module falls back to the CPU with the loader's reason: " + chosen.notice);
        ::unlink(tmpl);
    }

    // CTest points KNEE_PREDICT_CUDA_MODULE at the build's module; look at the search list without it.
    const char* env = std::getenv("KNEE_PREDICT_CUDA_MODULE");
    const std::string saved = env ? env : "";
    ::unsetenv("KNEE_PREDICT_CUDA_MODULE");
    const auto candidates = cudaModuleCandidates();
    if (!saved.empty())
        ::setenv("KNEE_PREDICT_CUDA_MODULE", saved.c_str(), 1);
    r.check(!candidates.empty() && contains(candidates.front(), kCudaModuleFile) && candidates.back() == kCudaModuleFile,
            "module search list starts beside the executable and ends with the bare name (" + std::to_string(candidates.size()) + " places)");

    ::setenv("KNEE_PREDICT_BACKEND", "cpu", 1);
    chosen = makeBackend();
    r.check(chosen.backend->kind() == BackendKind::Cpu && !chosen.fellBack, "KNEE_PREDICT_BACKEND=cpu forces the CPU backend");
    ::unsetenv("KNEE_PREDICT_BACKEND");

    // Automatic choice: CUDA where a GPU and the module are present, else the CPU with a notice.
    chosen = makeBackend();
    std::printf("   automatic choice on this machine: %s\n   notice: %s\n", toString(chosen.backend->kind()), chosen.notice.c_str());
    const bool consistent = chosen.gpu ? (chosen.backend->kind() == BackendKind::Cuda && chosen.backend->deviceCount() > 0 && !chosen.fellBack)
                                       : (chosen.backend->kind() == BackendKind::Cpu && chosen.fellBack && !chosen.notice.empty());
    r.check(consistent, std::string("automatic choice is consistent (") + (chosen.gpu ? "GPU" : "CPU fallback with notice") + ")");
    r.check(works(*chosen.backend), "the automatically chosen backend computes correctly");
    return r.finish();
}
