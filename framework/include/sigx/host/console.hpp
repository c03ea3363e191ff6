// The run's log and progress output: every line goes to the log file (once a run
// directory exists) and, from info up, to stderr. Progress is one live line on a terminal
// and one plain line per update otherwise.
#pragma once

#include <sigx/host.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>

namespace sigx::host {

class Console {
public:
    explicit Console(bool quiet = false);
    void open_log(const std::filesystem::path& file);
    void log(LogLevel level, std::string_view source, std::string_view message);
    void progress(std::string_view source, const Progress& p);

private:
    void end_live_line();

    std::mutex mutex_;
    std::ofstream log_;
    bool tty_ = false;
    bool quiet_ = false;
    bool live_line_ = false;
    std::string stage_;
    std::chrono::steady_clock::time_point stage_start_;
};

}  // namespace sigx::host
