#include <sigx/host/errors.hpp>
#include <sigx/host/run_dir.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>
#include <ctime>

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
        throw std::runtime_error(fmt::format("no interrupted run at {} (looked for {})", given.string(), d.work_.string()));
    return d;
}

void RunDir::commit() {
    if (fs::exists(final_)) throw std::runtime_error(fmt::format("{} already exists; the run is kept at {}",
                                                                 final_.string(), work_.string()));
    fs::rename(work_, final_);
}

}  // namespace sigx::host
