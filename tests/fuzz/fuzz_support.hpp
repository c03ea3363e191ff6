// What the fuzz harnesses share: a scratch folder per process and, in the harnesses
// built against the host (SIGX_FUZZ_PLUGIN_DIR), the built-in plugins.
#pragma once

#ifdef SIGX_FUZZ_PLUGIN_DIR
#include <sigx/host/loader.hpp>
#endif

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sigx::fuzz {

#ifdef SIGX_FUZZ_PLUGIN_DIR
// The built-in plugins of this build, loaded once.
inline const host::Registry& builtin_registry() {
    static const host::Registry r = [] {
        host::Registry reg;
        reg.add_builtin(SIGX_FUZZ_PLUGIN_DIR);
        return reg;
    }();
    return r;
}
#endif

// One scratch folder per process (named after `harness`), removed at exit.
inline const std::filesystem::path& scratch(const char* harness) {
    static const std::filesystem::path dir = [&] {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (std::string("sigx-") + harness + "-XXXXXX")).string();
        if (!::mkdtemp(pattern.data())) std::abort();
        std::atexit([] { std::filesystem::remove_all(dir); });
        return std::filesystem::path(pattern);
    }();
    return dir;
}

}  // namespace sigx::fuzz
