// Rendering figures with gnuplot, for plugins (and the host) that write plots: the data
// file and the .gp script stay beside each image, so a figure can be restyled without
// sigx. Where gnuplot is missing, nothing fails: the scripts are kept and
// gnuplot_missing_hint() says how to render them.
#pragma once

#include <sigx/version.hpp>

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

inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `gnuplot SCRIPT` in the script's folder. Returns false when gnuplot is missing or
// fails (its output then goes to the script's .log file).
inline bool render_gnuplot(const std::filesystem::path& script) {
    const auto gnuplot = find_gnuplot();
    if (!gnuplot) return false;
    const std::string cmd = "cd " + shell_quote(script.parent_path().string()) + " && " + shell_quote(gnuplot->string()) +
                            " " + shell_quote(script.filename().string()) + " > " +
                            shell_quote(script.filename().string() + ".log") + " 2>&1";
    const bool ok = std::system(cmd.c_str()) == 0;
    if (ok) std::filesystem::remove(script.parent_path() / (script.filename().string() + ".log"));
    return ok;
}

inline std::string gnuplot_missing_hint(const std::filesystem::path& dir) {
    return "gnuplot was not found: the data and .gp scripts are kept in " + dir.string() + "; render them with `cd " +
           dir.string() + " && for f in *.gp; do gnuplot \"$f\"; done` after `apt-get install gnuplot-nox`";
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
