// Writing a file so that a reader never sees it half-written: the bytes go to a
// temporary file in the same folder, which is then renamed over the target (atomic on
// POSIX file systems). For plugins (checkpoints, results) and the host alike.
#pragma once

#include <sigx/version.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

inline void write_file_atomic(const std::filesystem::path& file, const std::string& contents) {
    std::string name = ".";  // appended piecewise: GCC 12 warns falsely on "." + s + ".tmp"
    name.append(file.filename().string()).append(".tmp").append(std::to_string(::getpid()));
    const std::filesystem::path tmp = file.parent_path() / name;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << contents;
        if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, file);
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
