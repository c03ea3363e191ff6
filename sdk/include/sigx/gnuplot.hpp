// Rendering figures with gnuplot, for plugins (and the host) that write plots: the data
// file and the .gp script stay beside each image, so a figure can be restyled without
// sigx. Where gnuplot is missing, nothing fails: the scripts are kept and
// gnuplot_missing_hint() says how to render them.
#pragma once

#include <sigx/version.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

// The gnuplot executable on PATH, if any.
inline std::optional<std::filesystem::path> find_gnuplot() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        std::filesystem::path candidate = std::filesystem::path(dir) / "gnuplot";
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    }
    return std::nullopt;
}

// Opening lines of a script that draws NAME.png and then NAME.svg from the same plot
// commands: write the commands between gnuplot_begin(name) and gnuplot_end().
inline std::string gnuplot_begin(const std::string& name, int width = 1000, int height = 600) {
    std::ostringstream s;
    s << "# Renders " << name << ".png and " << name << ".svg: gnuplot " << name << ".gp\n"
      << "do for [format in \"png svg\"] {\n"
      << "  if (format eq \"png\") { set terminal pngcairo size " << width << "," << height
      << " font \"sans,10\"; set output \"" << name << ".png\" }\n"
      << "  if (format eq \"svg\") { set terminal svg size " << width << "," << height
      << " dynamic font \"sans,10\"; set output \"" << name << ".svg\" }\n";
    return s.str();
}
inline std::string gnuplot_end() { return "  unset multiplot\n  set output\n}\n"; }

// Runs `gnuplot SCRIPT` in the script's folder. Returns false when gnuplot is missing or
// fails (its output then goes to the script's .log file). A direct fork and exec, not
// std::system: system() ignores SIGINT in the caller while it waits, which would swallow
// a user's Ctrl-C.
inline bool render_gnuplot(const std::filesystem::path& script) {
    const auto gnuplot = find_gnuplot();
    if (!gnuplot) return false;
    const std::string dir = script.parent_path().string(), name = script.filename().string(), log = name + ".log";
    const std::string exe = gnuplot->string();
    const ::pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        const int fd = (::chdir(dir.c_str()) == 0) ? ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        if (fd < 0) ::_exit(127);
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        ::execl(exe.c_str(), exe.c_str(), name.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::error_code ec;
    if (ok) std::filesystem::remove(script.parent_path() / log, ec);
    return ok;
}

inline std::string gnuplot_missing_hint(const std::filesystem::path& dir) {
    return "gnuplot was not found: the data and .gp scripts are kept in " + dir.string() + "; render them with `cd " +
           dir.string() + " && for f in *.gp; do gnuplot \"$f\"; done` after `apt-get install gnuplot-nox`";
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
