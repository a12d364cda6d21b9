#include "user_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// POSIX rather than std::ifstream or std::filesystem: neither can open without blocking (a FIFO
// with no writer blocks in open()) nor check the type of the very file that was opened.
namespace knee::io {

namespace {

std::string typeName(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a pipe (FIFO)";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

UserFileRead failed(UserFileRead::Status status, std::string error)
{
    UserFileRead r;
    r.status = status;
    r.error = std::move(error);
    return r;
}

UserFileRead typeError(mode_t mode, const UserFileKind& kind)
{
    if (S_ISDIR(mode))
        return failed(UserFileRead::Status::NotRegular, std::string("is a directory, not ") + kind.what);
    return failed(UserFileRead::Status::NotRegular,
                  "is not a regular file (" + typeName(mode) + "); expected " + kind.what);
}

UserFileRead tooLarge(std::size_t size, const UserFileKind& kind)
{
    return failed(UserFileRead::Status::TooLarge,
                  "the file is " + mebibytesText(size) + "; " + kind.what + " is limited to " + mebibytesText(kind.maxBytes));
}

struct Fd {
    int fd = -1;
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

} // namespace

std::string mebibytesText(std::size_t bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(kMiB));
    return buf;
}

UserFileRead readUserFile(const std::string& path, const UserFileKind& kind)
{
    struct stat before {};
    if (::stat(path.c_str(), &before) != 0)
        return failed(errno == ENOENT || errno == ENOTDIR ? UserFileRead::Status::Missing : UserFileRead::Status::Unreadable,
                      std::string("cannot open: ") + std::strerror(errno));
    // Checked before opening too: opening some devices has effects of its own (a tape rewinds).
    if (!S_ISREG(before.st_mode))
        return typeError(before.st_mode, kind);
    if (std::size_t(before.st_size) > kind.maxBytes)
        return tooLarge(std::size_t(before.st_size), kind);
    Fd file;
    file.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (file.fd < 0)
        return failed(UserFileRead::Status::Unreadable, std::string("cannot be read: ") + std::strerror(errno));
    struct stat opened {};
    if (::fstat(file.fd, &opened) != 0)
        return failed(UserFileRead::Status::Unreadable, std::string("cannot be read: ") + std::strerror(errno));
    if (!S_ISREG(opened.st_mode)) // replaced between stat() and open()
        return typeError(opened.st_mode, kind);
    try {
        UserFileRead r;
        r.bytes.reserve(std::min<std::size_t>(std::size_t(opened.st_size), kind.maxBytes));
        char chunk[64 * 1024];
        for (;;) {
            const ssize_t n = ::read(file.fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return failed(UserFileRead::Status::Unreadable, std::string("cannot be read: ") + std::strerror(errno));
            if (n == 0)
                break;
            if (r.bytes.size() + std::size_t(n) > kind.maxBytes) // grew, or its reported size was wrong
                return failed(UserFileRead::Status::TooLarge, "the file is larger than " + mebibytesText(kind.maxBytes) + ", the limit for "
                                                                  + kind.what);
            r.bytes.append(chunk, std::size_t(n));
        }
        r.status = UserFileRead::Status::Read;
        return r;
    } catch (const std::bad_alloc&) {
        return failed(UserFileRead::Status::Unreadable, "cannot be read: out of memory");
    }
}

} // namespace knee::io
