// libFuzzer harness: the user's existing Truss config.yaml, as `knee sweep --export` and the sweep
// page's Export read and edit it (exportTrussConfig). Any text must give an edited config or an error,
// never a crash or undefined behaviour. The first byte picks the predict_concurrency to write.
#include "io/truss_config.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const int predictConcurrency = size > 0 ? 1 + data[0] % 64 : 4;
    const std::string existing(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0), size > 0 ? size - 1 : 0);
    const knee::TrussExport out = knee::exportTrussConfig(existing, predictConcurrency, "fuzz-model");
    (void)out;
    return 0;
}
