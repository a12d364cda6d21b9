#include "request_log.h"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace knee {

namespace {

constexpr std::size_t kBufferBytes = 1 << 20; // one write per ~10,000 rows: cheap on a live engine's thread

// Appends milliseconds with 4 decimals (0.1 µs), or nothing for a transition that never happened (-1).
// std::to_chars: printf's locale and format parsing cost more than the engine's own work per request.
void appendMs(std::string& line, Nanos from, Nanos to)
{
    if (from >= 0 && to >= 0) {
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, double(to - from) / 1e6, std::chars_format::fixed, 4);
        line.append(buf, r.ptr);
    }
    line += ',';
}

const char* outcomeName(Outcome o)
{
    switch (o) {
    case Outcome::Completed: return "completed";
    case Outcome::Failed: return "failed";
    case Outcome::Rejected: return "rejected";
    case Outcome::InFlight: return "in_flight"; // not written: the engine reports a request once it ends
    }
    return "unknown";
}

} // namespace

RequestLog::RequestLog(const std::string& path) : m_path(path)
{
    m_file = std::fopen(path.c_str(), "w");
    if (!m_file) {
        fail(errno);
        return;
    }
    std::setvbuf(m_file, nullptr, _IOFBF, kBufferBytes);
    if (std::fputs(kHeader, m_file) < 0)
        fail(errno);
}

RequestLog::~RequestLog()
{
    if (m_file)
        std::fclose(m_file);
}

void RequestLog::record(const Request& r)
{
    if (!m_file || !ok())
        return;
    std::string line;
    line.reserve(160);
    line += std::to_string(r.id);
    line += ',';
    appendMs(line, 0, r.intended);
    appendMs(line, 0, r.arrived);
    appendMs(line, 0, r.done);
    appendMs(line, r.intended, r.done);
    line += r.outcome == Outcome::Completed ? "1," : "0,";
    line += r.measured ? "1," : "0,";
    line += outcomeName(r.outcome);
    line += ',';
    if (r.replica >= 0)
        line += std::to_string(r.replica);
    line += ',';
    appendMs(line, r.arrived, r.routed);
    appendMs(line, r.routed, r.preprocessDone);
    appendMs(line, r.preprocessDone, r.predictStart);
    appendMs(line, r.predictStart, r.predictDone);
    appendMs(line, r.predictDone, r.outcome == Outcome::Completed ? r.done : Nanos(-1));
    line.back() = '\n';
    if (std::fwrite(line.data(), 1, line.size(), m_file) != line.size()) {
        fail(errno);
        return;
    }
    ++m_written;
}

bool RequestLog::close()
{
    if (!m_file) // never opened (error() says why), or closed already
        return ok();
    std::FILE* f = m_file;
    m_file = nullptr;
    const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
    const int flushErrno = errno;
    const bool closed = std::fclose(f) == 0;
    const int closeErrno = errno;
    if (!flushed)
        fail(flushErrno ? flushErrno : EIO);
    else if (!closed)
        fail(closeErrno);
    return ok();
}

void RequestLog::fail(int error)
{
    if (ok()) // the first error is the one to tell
        m_error = "cannot write " + m_path + ": " + std::strerror(error);
}

} // namespace knee
