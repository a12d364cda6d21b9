// libFuzzer harness: the scenario reader (readScenarioText, what `knee FILE.yaml`, `knee simulate` and
// a session's scenario go through). Any input must give a scenario or errors, never a crash, a hang
// or undefined behaviour. And a scenario that reads must survive its own round trip: written back as
// YAML (writeScenarioYaml) it reads again without errors.
#include "io/scenario_reader.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    // The source name has no directory: a trace arrival's relative file resolves against the working
    // directory, where the fuzzer finds none (an error, which is fine).
    const knee::ScenarioReadResult read = knee::readScenarioText(text, "fuzz.yaml");
    if (!read.ok())
        return 0;
    const std::string written = knee::writeScenarioYaml(*read.scenario);
    const knee::ScenarioReadResult again = knee::readScenarioText(written, "fuzz-roundtrip.yaml");
    if (!again.ok()) {
        std::fprintf(stderr, "a scenario that reads does not read back after writeScenarioYaml:\n%s\n--- first error: %s\n",
                     written.c_str(), again.errors.empty() ? "(none)" : again.errors.front().toString().c_str());
        std::abort();
    }
    return 0;
}
