// Writing a file so that a reader never sees it half-written: the bytes go to a
// temporary file in the same folder, which is then renamed over the target (atomic on
// POSIX file systems). For plugins (checkpoints, results) and the host alike. And
// reading a saved state's text back as the data it is (StateText).
#pragma once

#include <sigx/version.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// A saved state's text file read as data, for a model's load_state: whitespace-separated
// words, each checked as it is taken. A run directory may come from anyone and files
// rot, so every problem (missing, oversized, cut short, not a number, NaN, out of range,
// anything after the end) is one std::runtime_error naming the file.
class StateText {
public:
    // Reads `file` whole; more than `max_bytes` is refused before reading.
    explicit StateText(const std::filesystem::path& file, std::uintmax_t max_bytes = 1u << 20) : file_(file) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(file, ec)) fail("missing, or not a file");
        const auto size = std::filesystem::file_size(file, ec);
        if (ec || size > max_bytes)
            fail(std::to_string(size) + " bytes, more than this state's " + std::to_string(max_bytes));
        std::ifstream in(file, std::ios::binary);
        text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (!in && !in.eof()) fail("cannot be read");
    }
    // Text already read, named `name` in errors.
    StateText(std::string text, std::filesystem::path name) : file_(std::move(name)), text_(std::move(text)) {}

    // The next word; `what` names it if the file ends first.
    std::string word(const std::string& what) {
        const auto start = text_.find_first_not_of(" \t\r\n", at_);
        if (start == std::string::npos) fail("ends before its " + what);
        at_ = std::min(text_.find_first_of(" \t\r\n", start), text_.size());
        return text_.substr(start, at_ - start);
    }
    // A finite number in [low, high] (decimal or hexadecimal floating point).
    double number(const std::string& what, double low, double high) {
        const std::string s = word(what);
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size() || !std::isfinite(x) || x < low || x > high)
            fail("its " + what + " '" + printable(s.substr(0, 40)) + "' is not a finite number in [" + shown(low) +
                 ", " + shown(high) + "]");
        return x;
    }
    // A whole number in [0, high].
    std::size_t count(const std::string& what, std::size_t high) {
        const double x = number(what, 0, static_cast<double>(high));
        if (x != static_cast<double>(static_cast<std::size_t>(x))) fail("its " + what + " is not a whole number");
        return static_cast<std::size_t>(x);
    }
    // Nothing but white space may follow, and the text ends a line: a file cut short
    // inside its last number would otherwise read as another number.
    void end() {
        if (text_.find_first_not_of(" \t\r\n", at_) != std::string::npos) fail("holds more than its state");
        if (text_.empty() || text_.back() != '\n') fail("cut short (its last line is not complete)");
    }
    [[noreturn]] void fail(const std::string& why) const { throw std::runtime_error(file_.string() + ": " + why); }
    const std::filesystem::path& file() const { return file_; }

private:
    static std::string printable(std::string s) {  // a binary file's bytes stay off the terminal
        for (char& c : s)
            if (c < 0x20 || c > 0x7e) c = '?';
        return s;
    }
    static std::string shown(double x) {
        char s[32];
        std::snprintf(s, sizeof s, "%g", x);
        return s;
    }
    std::filesystem::path file_;
    std::string text_;
    std::size_t at_ = 0;
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
