// The one way knee reads a file the user names (scenario, trace, session, Truss config.yaml, body
// template): whatever is at the path, the read is bounded. Only regular files are read (a directory,
// a FIFO that nobody writes, /dev/zero or /dev/full would otherwise hang or grow without end), the
// file is opened without blocking, and at most the kind's limit is read even when the size the file
// system reports is wrong (files in /proc say 0) or the file grows while it is read.
#pragma once
#include <cstddef>
#include <string>

namespace knee::io {

struct UserFileKind {
    const char* what; // in messages: "is a directory, not a trace"
    std::size_t maxBytes;
};
inline constexpr std::size_t kMiB = 1024 * 1024;
// A scenario is a page of text; yaml-cpp's parser needs ~12 bytes of memory per byte of a
// pathological input, so 16 MiB bounds the parse too.
inline constexpr UserFileKind kScenarioFile{"a scenario file", 16 * kMiB};
inline constexpr UserFileKind kTraceFile{"a trace", 256 * kMiB};
inline constexpr UserFileKind kSessionFile{"a knee session", 64 * kMiB};
inline constexpr UserFileKind kTrussConfigFile{"a Truss config.yaml", 16 * kMiB};
inline constexpr UserFileKind kBodyTemplateFile{"a body template", 1 * kMiB};

struct UserFileRead {
    enum class Status { Read, Missing, NotRegular, TooLarge, Unreadable };
    Status status = Status::Unreadable;
    std::string bytes; // the whole file when Read
    // Without the path, for the caller to put after it: "is a directory, not a trace",
    // "cannot open: No such file or directory", "the file is 17.0 MiB; a scenario file is limited to 16.0 MiB".
    std::string error;
    bool ok() const { return status == Status::Read; }
};

UserFileRead readUserFile(const std::string& path, const UserFileKind& kind);

// "17.0 MiB", as the messages above write sizes.
std::string mebibytesText(std::size_t bytes);

} // namespace knee::io
