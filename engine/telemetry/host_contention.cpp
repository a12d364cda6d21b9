#include "host_contention.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <sys/resource.h>
#include <ctime>

namespace knee::telemetry {

std::optional<HostMark> parseProcStat(const std::string& text)
{
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string name;
        if (!(fields >> name) || name != "cpu")
            continue;
        HostMark m;
        long long v = 0;
        int i = 0;
        // guest and guest_nice (fields 9 and 10) are already counted in user and nice: left out of the total.
        for (; i < 8 && fields >> v; ++i) {
            if (v < 0)
                return std::nullopt;
            m.totalTicks += v;
            if (i == 7)
                m.stealTicks = v;
        }
        if (i < 4) // user, nice, system, idle at least
            return std::nullopt;
        m.valid = true;
        return m;
    }
    return std::nullopt;
}

namespace {
std::string& procStatPath()
{
    static std::string path = "/proc/stat";
    return path;
}
} // namespace

void setProcStatPath(std::string path) { procStatPath() = std::move(path); }

HostMark HostMark::now()
{
    HostMark m;
    std::ifstream f(procStatPath());
    if (f) {
        std::string first;
        std::getline(f, first); // the "cpu" line comes first
        if (const std::optional<HostMark> parsed = parseProcStat(first))
            m = *parsed;
    }
    rusage u {};
    if (getrusage(RUSAGE_SELF, &u) == 0)
        m.involuntarySwitches = u.ru_nivcsw;
    return m;
}

HostContention between(const HostMark& from, const HostMark& to)
{
    HostContention c;
    const long long ticks = to.totalTicks - from.totalTicks;
    if (!from.valid || !to.valid || ticks <= 0 || to.stealTicks < from.stealTicks)
        return c;
    c.valid = true;
    c.stealPct = 100.0 * double(to.stealTicks - from.stealTicks) / double(ticks);
    c.involuntarySwitches = to.involuntarySwitches - from.involuntarySwitches;
    return c;
}

std::string HostContention::describe() const
{
    if (!valid)
        return {};
    char text[120];
    std::snprintf(text, sizeof text, "host steal %.1f %%, %ld involuntary context switches", stealPct, involuntarySwitches);
    return text;
}

double threadCpuMs()
{
    timespec ts {};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

} // namespace knee::telemetry
