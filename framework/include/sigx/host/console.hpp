// The run's log and progress output: every line goes to the log file (once a run
// directory exists) and, from info up, to stderr. Progress is one live line on a terminal
// and one plain line per update otherwise.
#pragma once

#include <sigx/host.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace sigx::host {

class Console {
public:
    // What one plugin may write to the log (log lines and progress together); past it its
    // lines are dropped, after one line that says so.
    static constexpr std::size_t plugin_log_cap = std::size_t{1} << 20;

    explicit Console(bool quiet = false);
    void open_log(const std::filesystem::path& file);
    // Starts every line, e.g. "[rank 1] " in one rank of a run across processes.
    void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }
    void log(LogLevel level, std::string_view source, std::string_view message);
    void progress(std::string_view source, const Progress& p);
    // A line from a plugin: as log(), within plugin_log_cap for that source.
    void plugin_log(LogLevel level, std::string_view source, std::string_view message);

private:
    void end_live_line();
    void write_line(LogLevel level, std::string_view source, std::string_view message);
    bool within_cap(std::string_view source, std::size_t bytes);
    std::map<std::string, std::size_t, std::less<>> plugin_bytes_;

    std::mutex mutex_;
    std::ofstream log_;
    bool tty_ = false;
    bool quiet_ = false;
    bool live_line_ = false;
    std::string stage_;
    std::string prefix_;
    std::chrono::steady_clock::time_point stage_start_;
};

}  // namespace sigx::host
