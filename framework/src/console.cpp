#include <sigx/host/console.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>

namespace sigx::host {

namespace {
const char* level_name(LogLevel l) {
    switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
    }
    return "";
}

std::string duration(double s) {
    if (s < 60) return fmt::format("{:.0f}s", s);
    if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
    return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}
}  // namespace

Console::Console(bool quiet) : tty_(::isatty(STDERR_FILENO) != 0), quiet_(quiet) {}

void Console::open_log(const std::filesystem::path& file) {
    std::lock_guard lock(mutex_);
    log_.open(file, std::ios::app);
}

void Console::end_live_line() {
    if (live_line_) std::fputc('\n', stderr);
    live_line_ = false;
}

void Console::log(LogLevel level, std::string_view source, std::string_view message) {
    std::lock_guard lock(mutex_);
    write_line(level, source, message);
}

void Console::plugin_log(LogLevel level, std::string_view source, std::string_view message) {
    std::lock_guard lock(mutex_);
    if (within_cap(source, message.size())) write_line(level, source, message);
}

// Counts a plugin's bytes; the first line past the cap is replaced by a notice.
bool Console::within_cap(std::string_view source, std::size_t bytes) {
    auto it = plugin_bytes_.find(source);
    if (it == plugin_bytes_.end()) it = plugin_bytes_.emplace(std::string(source), 0).first;
    const bool was_within = it->second <= plugin_log_cap;
    it->second += bytes + 1;
    if (it->second <= plugin_log_cap) return true;
    if (was_within)
        write_line(LogLevel::warning, source,
                   fmt::format("more than {} KiB of log output; its further log and progress lines are dropped",
                               plugin_log_cap / 1024));
    return false;
}

void Console::write_line(LogLevel level, std::string_view source, std::string_view message) {
    const std::string line = fmt::format("{}[{}] {}: {}", prefix_, level_name(level), source, message);
    if (log_) log_ << line << '\n' << std::flush;
    if (level == LogLevel::debug || (quiet_ && level == LogLevel::info)) return;
    end_live_line();
    std::fprintf(stderr, "%s\n", line.c_str());
}

void Console::progress(std::string_view source, const Progress& p) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const std::string stage = fmt::format("{}/{}", source, p.stage);
    if (stage != stage_ || p.step <= 1) stage_ = stage, stage_start_ = now;
    const double elapsed = std::chrono::duration<double>(now - stage_start_).count();
    std::string line =
        p.total > 0 ? fmt::format("{} {}/{}", p.stage, p.step, p.total) : fmt::format("{} {}", p.stage, p.step);
    if (!p.fields.empty()) line += fmt::format("  {}", p.fields);
    if (!within_cap(source, line.size())) return;
    if (p.total > 0 && p.step > 0)
        line += fmt::format("  eta {}",
                            duration(elapsed / static_cast<double>(p.step) * static_cast<double>(p.total - p.step)));
    if (log_) log_ << "[progress] " << source << ": " << line << '\n' << std::flush;
    if (quiet_) return;
    if (tty_) {
        std::fprintf(stderr, "\r\033[K%s%s: %s", prefix_.c_str(), std::string(source).c_str(), line.c_str());
        live_line_ = true;
        if (p.total > 0 && p.step >= p.total) end_live_line();
    } else {
        std::fprintf(stderr, "%s%s: %s\n", prefix_.c_str(), std::string(source).c_str(), line.c_str());
    }
    std::fflush(stderr);
}

}  // namespace sigx::host
