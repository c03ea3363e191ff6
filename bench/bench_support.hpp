// What the benchmarks share: the built-in plugins, a host that stays quiet, a timer.
#pragma once

#include <sigx/host/loader.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace sigx::bench {

class QuietHost final : public Host {
public:
    void log(LogLevel, std::string_view) override {}
    std::filesystem::path output_dir() override { return std::filesystem::temp_directory_path(); }
    void progress(const Progress&) override {}
    bool cancelled() const override { return false; }
    std::uint64_t seed() const override { return 1; }
};

// The plugins built beside build/sigx (this program is build/bench/NAME).
inline host::Registry builtin_registry() {
    host::Registry registry;
    registry.add_builtin(
        host::builtin_plugin_dir(std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "sigx"));
    return registry;
}

template <class Base>
std::shared_ptr<Base> make(const host::Registry& r, const std::string& name, Kind kind, Params p = {}) {
    const auto& info = r.require(name, kind);
    return r.create<Base>(info, Params::with_defaults(info.descriptor->params, std::move(p)));
}

// The best (least disturbed) wall time of `repeats` calls of f, in seconds.
template <class F> double best_seconds(int repeats, F&& f) {
    double best = 1e30;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

}  // namespace sigx::bench
