// The host services one plugin instance sees (sigx::Host).
#pragma once

#include <sigx/host.hpp>
#include <sigx/host/console.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace sigx::host {

// Set by the SIGINT/SIGTERM handler; plugins read it through Host::cancelled().
std::atomic<bool>& cancel_flag();

// A seed for one plugin instance, derived from the pipeline seed and the section name so
// that adding a model never changes another model's draws.
std::uint64_t derive_seed(std::int64_t pipeline_seed, const std::string& section);

class Services final : public Host {
public:
    Services(Console& console, std::string source, std::filesystem::path dir, std::uint64_t seed)
        : console_(console), source_(std::move(source)), dir_(std::move(dir)), seed_(seed) {}

    void log(LogLevel level, std::string_view message) override { console_.log(level, source_, message); }
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
