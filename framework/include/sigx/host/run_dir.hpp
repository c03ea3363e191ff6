// A run directory: written under a temporary name and renamed when complete, so that a
// crashed or interrupted run never looks finished and never overwrites an earlier run.
#pragma once

#include <sigx/files.hpp>

#include <filesystem>
#include <string>

namespace sigx::host {

class RunDir {
public:
    // Reserves <parent>/<name>-<YYYYmmdd-HHMMSS>[-N] and creates its temporary sibling
    // <parent>/.<final name>.partial, where all files are written until commit().
    RunDir(const std::filesystem::path& parent, const std::string& name);
    // Reopens an interrupted run's temporary directory (for --resume).
    static RunDir reopen(const std::filesystem::path& partial);

    const std::filesystem::path& path() const { return work_; }          // write here
    const std::filesystem::path& final_path() const { return final_; }   // after commit()
    // Renames the temporary directory to its final name. Never replaces an existing one.
    void commit();

private:
    RunDir() = default;
    std::filesystem::path work_, final_;
};

}  // namespace sigx::host
