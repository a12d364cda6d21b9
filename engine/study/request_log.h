// Every request of a run, one CSV row each as it ends (`knee simulate --requests FILE`): what a summary's
// quantiles hide, e.g. which requests a twin gets wrong against an endpoint's own trace on the same
// arrivals (the six columns after `id` are knee-bench-twin --trace's; bench/twin/trace_tail.py reads both by
// name). Requests still in flight when a run stops (a live run cut off by its wall-time limit) have no row.
#pragma once
#include "sim/request.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace knee {

// Streams to the file as requests end (a fixed buffer, written in blocks), so memory stays flat however long
// the run. Used from the engine's thread only.
class RequestLog {
public:
    static constexpr const char* kHeader =
        "id,intended_ms,sent_ms,ended_ms,latency_ms,ok,measured,outcome,replica,"
        "queue_ms,preprocess_ms,predict_wait_ms,predict_ms,postprocess_ms\n";

    // Opens `path` (truncating it) and writes the header; ok() is false, with error(), if it cannot.
    explicit RequestLog(const std::string& path);
    ~RequestLog();
    RequestLog(const RequestLog&) = delete;
    RequestLog& operator=(const RequestLog&) = delete;

    bool ok() const { return m_error.empty(); }
    const std::string& error() const { return m_error; }
    std::int64_t written() const { return m_written; }

    // One ended request (completed, failed or rejected). After a write error the rest is dropped; close()
    // reports it.
    void record(const Request& r);
    // Flushes and closes; false, with error(), when anything could not be written (a full disk shows here).
    // Again after closing: the same answer.
    bool close();

private:
    void fail(int error); // keeps the first error
    std::FILE* m_file = nullptr;
    std::string m_path;
    std::string m_error;
    std::int64_t m_written = 0;
};

} // namespace knee
