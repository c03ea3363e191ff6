// `sigx new plugin`: writes an out-of-tree plugin project that builds against the
// installed SDK (find_package(sigx)), loads as is, and comes with a sample pipeline, a
// Catch2 test and a `sigx check` test.
#pragma once

#include <sigx/plugin.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace sigx::host {

// Writes the project into `dir` (which must not exist or be empty) and returns the files
// written. Throws std::runtime_error on a bad name or a non-empty folder.
std::vector<std::filesystem::path> scaffold_plugin(Kind kind, const std::string& name,
                                                   const std::filesystem::path& dir);

}  // namespace sigx::host
