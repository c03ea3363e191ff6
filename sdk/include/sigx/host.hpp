// Services the host offers to a plugin during a call. Every method may be called from the
// thread the host called the plugin on; none may be kept after the call returns.
#pragma once

#include <sigx/version.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

enum class LogLevel { debug, info, warning, error };

// One step of long work, e.g. an epoch. `fields` is a short preformatted summary
// ("loss 0.0123  val 0.0150  lr 1e-3"); the host adds the ETA and decides how to show it
// (a live line on a terminal, one plain line per update otherwise).
struct Progress {
    std::string_view stage;  // e.g. "train lstm"
    std::int64_t step = 0;   // 1-based
    std::int64_t total = 0;  // 0 when unknown
    std::string_view fields;
};

class Host {
public:
    virtual ~Host() = default;
    // Goes to the run's log and, for info and above, to the terminal.
    virtual void log(LogLevel level, std::string_view message) = 0;
    // This plugin instance's own folder inside the run directory (created on first call).
    virtual std::filesystem::path output_dir() = 0;
    virtual void progress(const Progress& p) = 0;
    // True once the user asked to stop (Ctrl-C). Long loops should check it and return.
    virtual bool cancelled() const = 0;
    // The pipeline's seed for this plugin instance: derive every random draw from it.
    virtual std::uint64_t seed() const = 0;
    // Optional host services, looked up by id as Plugin::extension is ("sigx.host.NAME/1",
    // each with its own struct and typed accessor): nullptr where this host does not offer
    // the id. A minor SDK release adds services this way, never by a new virtual.
    virtual void* extension(std::string_view /*id*/) { return nullptr; }

    void info(std::string_view m) { log(LogLevel::info, m); }
    void warn(std::string_view m) { log(LogLevel::warning, m); }
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
