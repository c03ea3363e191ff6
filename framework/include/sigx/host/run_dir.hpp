// A run directory: written under a temporary name and renamed when complete, so that a
// crashed or interrupted run never looks finished and never overwrites an earlier run.
#pragma once

#include <sigx/files.hpp>

#include <filesystem>
#include <string>

namespace sigx::host {

// While a RunDir object lives, its process holds an exclusive lock on the temporary
// directory: a second process cannot resume the same run at the same time.
class RunDir {
public:
    // Reserves <parent>/<name>-<YYYYmmdd-HHMMSS>[-N] and creates its temporary sibling
    // <parent>/.<final name>.partial, where all files are written until commit().
    RunDir(const std::filesystem::path& parent, const std::string& name);
    // Reopens an interrupted run's temporary directory (for --resume). Throws
    // std::runtime_error when there is none, or when another process holds it.
    static RunDir reopen(const std::filesystem::path& partial);
    ~RunDir();
    RunDir(RunDir&& other) noexcept;
    RunDir& operator=(RunDir&&) = delete;
    RunDir(const RunDir&) = delete;

    const std::filesystem::path& path() const { return work_; }         // write here
    const std::filesystem::path& final_path() const { return final_; }  // after commit()
    // Removes the temporary files a killed writer may have left (".NAME.tmpPID"), then
    // renames the temporary directory to its final name. Never replaces an existing one.
    void commit();

private:
    RunDir() = default;
    void lock();
    std::filesystem::path work_, final_;
    int lock_fd_ = -1;
};

}  // namespace sigx::host
