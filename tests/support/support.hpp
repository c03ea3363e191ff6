// Shared helpers for the tests: where the built artifacts are, a do-nothing sigx::Host,
// temporary folders, running the sigx executable, and loading the built-in plugins.
#pragma once

#include <sigx/host/loader.hpp>
#include <sigx/plugin.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sigx::test {

namespace fs = std::filesystem;

fs::path plugin_dir();    // build/plugins: the built-in plugins
fs::path broken_dir();    // build/tests/broken: the loader's test libraries
fs::path fixture_dir();   // build/tests/fixtures: healthy test-only plugins
fs::path sigx_exe();      // build/sigx
fs::path data_dir();      // tests/data
fs::path pipeline_dir();  // tests/pipeline

// A registry with the built-in plugins, loaded once per process.
const host::Registry& builtin_registry();

// The names of the built-in plugins of `kind`, sorted and comma-separated, as the host
// lists them in "known ... plugins: " messages (the LibTorch plugins are optional).
std::string builtin_names(Kind kind);

// Creates a built-in plugin from `given` parameters plus the schema's defaults.
template <class Base> std::shared_ptr<Base> make_plugin(const std::string& name, Kind kind, Params given = {}) {
    const host::PluginInfo& info = builtin_registry().require(name, kind);
    return builtin_registry().create<Base>(info, Params::with_defaults(info.descriptor->params, std::move(given)));
}

// A folder under the system temp folder, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// What a plugin sees of the host; records log lines.
class TestHost final : public Host {
public:
    explicit TestHost(fs::path dir = {}) : dir_(std::move(dir)) {}
    void log(LogLevel, std::string_view message) override { lines.emplace_back(message); }
    fs::path output_dir() override { return dir_; }
    void progress(const Progress&) override {}
    bool cancelled() const override { return false; }
    std::uint64_t seed() const override { return 12345; }

    std::vector<std::string> lines;

private:
    fs::path dir_;
};

// Runs a shell command line; returns its exit status and its stdout and stderr together.
struct CommandResult {
    int status = -1;
    std::string output;
};
CommandResult run_command(const std::string& command_line);
// Runs build/sigx with the given (already shell-quoted where needed) arguments.
CommandResult run_sigx(const std::string& args);
// Single-quotes a string for /bin/sh.
std::string quote(const std::string& s);

std::string read_text(const fs::path& file);
// Writes `text` to `file`, replacing it; returns the file.
fs::path write_text(const fs::path& file, const std::string& text);

// The built-in noisy_sinusoid generator's dataset for `given` parameters (the others at
// their defaults), generated with a TestHost.
Dataset noisy_sinusoid(Params given = {});

// The one finished run directory (not a hidden partial one) under `parent`; throws when
// there is not exactly one.
fs::path only_run(const fs::path& parent);

// A record's input (first channel) and truth, for tests that read them often.
inline const Samples& mix_of(const Record& r) { return r.input.channels.at(0); }
inline Samples& mix_of(Record& r) { return r.input.channels.at(0); }
inline const Samples& reference_of(const Record& r, std::size_t c) { return r.truth.value().references.at(c); }
// What the runner does: the model sees the input and the task only.
inline Prediction predict(Model& m, const Record& r, Host& host) { return m.predict(r.input, r.task, host); }

}  // namespace sigx::test
