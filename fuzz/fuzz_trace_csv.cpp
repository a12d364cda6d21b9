// libFuzzer harness: the trace CSV a scenario's `arrival: {kind: trace, file: …}` names
// (io::readTraceCsv). It reads from a path, so each input is written to a scratch file first. Any
// bytes must give records or a message with its line, never a crash; records that read are in order.
#include "io/scenario_scaling.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const std::string path = [] {
        const char* tmp = std::getenv("TMPDIR");
        return std::string(tmp && *tmp ? tmp : "/tmp") + "/knee-fuzz-trace-" + std::to_string(::getpid()) + ".csv";
    }();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size)
        std::abort();
    std::fclose(f);
    std::vector<knee::TraceRecord> records;
    const std::string error = knee::io::readTraceCsv(path, records);
    if (error.empty()) {
        if (records.empty())
            std::abort(); // "read" must mean at least one send time
        for (std::size_t i = 1; i < records.size(); ++i)
            if (records[i].atS < records[i - 1].atS)
                std::abort(); // send times never go backwards
    }
    return 0;
}
