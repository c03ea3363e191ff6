// The host services one plugin instance sees (sigx::Host).
#pragma once

#include <sigx/host.hpp>
#include <sigx/host/console.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace sigx::host {

// Set by the SIGINT/SIGTERM handler; plugins read it through Host::cancelled().
std::atomic<bool>& cancel_flag();

// Child processes (sweep points) that a signal to this process is passed on to.
void track_child(int pid);
void untrack_child(int pid);
void signal_children(int signal);

// The run directory being written, for the message a signal prints ("resume with ...")
// when the process has to stop without the runner's help. Set for a scope.
class ActiveRun {
public:
    explicit ActiveRun(const std::filesystem::path& dir);
    ~ActiveRun();
    ActiveRun(const ActiveRun&) = delete;
    ActiveRun& operator=(const ActiveRun&) = delete;
    static std::string dir();  // empty when none
};

// A seed for one plugin instance, derived from the pipeline seed and the section name so
// that adding a model never changes another model's draws.
std::uint64_t derive_seed(std::int64_t pipeline_seed, const std::string& section);

// `dir` empty: a process without a run directory (rank > 0 of a data-parallel run), where
// output_dir() throws.
class Services final : public Host {
public:
    Services(Console& console, std::string source, std::filesystem::path dir, std::uint64_t seed)
        : console_(console), source_(std::move(source)), dir_(std::move(dir)), seed_(seed) {}

    void log(LogLevel level, std::string_view message) override { console_.plugin_log(level, source_, message); }
    std::filesystem::path output_dir() override;
    void progress(const Progress& p) override { console_.progress(source_, p); }
    bool cancelled() const override { return cancel_flag().load(); }
    std::uint64_t seed() const override { return seed_; }

private:
    Console& console_;
    std::string source_;
    std::filesystem::path dir_;
    std::uint64_t seed_;
};

}  // namespace sigx::host
