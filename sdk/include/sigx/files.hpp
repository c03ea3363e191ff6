// Writing a file so that a reader never sees it half-written: the bytes go to a
// temporary file in the same folder, which is then renamed over the target (atomic on
// POSIX file systems). For plugins (checkpoints, results) and the host alike.
#pragma once

#include <sigx/version.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

namespace detail {
// Writes all of `data` to `fd`; throws with the system's reason (e.g. "No space left on
// device") naming `file`.
inline void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& file) {
    while (size > 0) {
        const ::ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(n < 0 ? errno : EIO));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}
}  // namespace detail

// A failed write removes its temporary file and leaves the target as it was.
inline void write_file_atomic(const std::filesystem::path& file, const std::string& contents) {
    std::string name = ".";  // appended piecewise: GCC 12 warns falsely on "." + s + ".tmp"
    name.append(file.filename().string()).append(".tmp").append(std::to_string(::getpid()));
    const std::filesystem::path tmp = file.parent_path() / name;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    try {
        detail::write_all(fd, contents.data(), contents.size(), file);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {  // NFS and some full disks report here
        const int error = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(error));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + file.string() + ": " + ec.message());
    }
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
