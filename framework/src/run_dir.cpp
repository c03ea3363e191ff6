#include <sigx/host/errors.hpp>
#include <sigx/host/run_dir.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <regex>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {
std::string timestamp() {
    std::time_t now = std::time(nullptr);
    return fmt::format("{:%Y%m%d-%H%M%S}", fmt::localtime(now));
}
fs::path partial_of(const fs::path& final_path) {
    return final_path.parent_path() / fmt::format(".{}.partial", final_path.filename().string());
}
}  // namespace

RunDir::RunDir(const fs::path& parent, const std::string& name) {
    fs::create_directories(parent);
    const std::string base = name + "-" + timestamp();
    for (int n = 0;; ++n) {
        final_ = parent / (n == 0 ? base : fmt::format("{}-{}", base, n));
        work_ = partial_of(final_);
        if (fs::exists(final_) || fs::exists(work_)) continue;
        // create_directory is atomic: of two concurrent runs only one gets this name.
        if (fs::create_directory(work_)) break;
    }
    lock();
}

void RunDir::lock() {
    lock_fd_ = ::open(work_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_fd_ < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", work_.string(), std::strerror(errno)));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        throw std::runtime_error(
            fmt::format("{} is in use by another sigx process (a run or a --resume of it); "
                        "wait for it to end",
                        work_.string()));
    }
}

RunDir::~RunDir() {
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

RunDir::RunDir(RunDir&& o) noexcept : work_(std::move(o.work_)), final_(std::move(o.final_)), lock_fd_(o.lock_fd_) {
    o.lock_fd_ = -1;
}

RunDir RunDir::reopen(const fs::path& given) {
    RunDir d;
    fs::path p = fs::absolute(given).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    const std::string name = p.filename().string();
    if (name.size() > 9 && name.front() == '.' && name.substr(name.size() - 8) == ".partial") {
        d.work_ = p;
        d.final_ = p.parent_path() / name.substr(1, name.size() - 9);
    } else {
        d.final_ = p;
        d.work_ = partial_of(p);
    }
    if (fs::exists(d.final_) && !fs::exists(d.work_))
        throw std::runtime_error(fmt::format("{} is a finished run; nothing to resume", d.final_.string()));
    if (!fs::is_directory(d.work_))
        throw std::runtime_error(
            fmt::format("no interrupted run at {} (looked for {})", given.string(), d.work_.string()));
    d.lock();
    return d;
}

void RunDir::commit() {
    // write_file_atomic's temporaries: ".<name>.tmp<pid>"; one left behind was never renamed.
    static const std::regex temporary(R"(\..+\.tmp[0-9]+)");
    std::vector<fs::path> stale;
    for (const auto& e : fs::recursive_directory_iterator(work_))
        if (e.is_regular_file() && std::regex_match(e.path().filename().string(), temporary)) stale.push_back(e.path());
    for (const auto& f : stale) fs::remove(f);
    if (fs::exists(final_))
        throw std::runtime_error(
            fmt::format("{} already exists; the run is kept at {}", final_.string(), work_.string()));
    fs::rename(work_, final_);
}

}  // namespace sigx::host
