#include "support/support.hpp"

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sigx::test {

fs::path plugin_dir() { return SIGX_TEST_PLUGIN_DIR; }
fs::path broken_dir() { return SIGX_TEST_BROKEN_DIR; }
fs::path fixture_dir() { return SIGX_TEST_FIXTURE_DIR; }
fs::path sigx_exe() { return SIGX_TEST_SIGX_EXE; }
fs::path data_dir() { return SIGX_TEST_DATA_DIR; }
fs::path pipeline_dir() { return SIGX_TEST_PIPELINE_DIR; }

const host::Registry& builtin_registry() {
    static const host::Registry registry = [] {
        host::Registry r;
        r.add_builtin(plugin_dir());
        if (!r.rejections().empty())
            throw std::runtime_error("built-in plugin rejected: " + r.rejections().front().str());
        return r;
    }();
    return registry;
}

std::string builtin_names(Kind kind) {
    std::string out;
    for (const auto* p : builtin_registry().all())
        if (p->descriptor->kind == kind) out += (out.empty() ? "" : ", ") + p->descriptor->name;
    return out;
}

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sigx-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

CommandResult run_command(const std::string& command_line) {
    CommandResult r;
    FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed: " + command_line);
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// SIGX_PLUGIN_PATH is cleared so that only the built-in folder and explicit paths count.
CommandResult run_sigx(const std::string& args) {
    return run_command("env -u SIGX_PLUGIN_PATH " + quote(sigx_exe().string()) + " " + args);
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

fs::path write_text(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
    return file;
}

Dataset noisy_sinusoid(Params given) {
    TestHost host;
    return make_plugin<Generator>("noisy_sinusoid", Kind::generator, std::move(given))->generate(host);
}

fs::path only_run(const fs::path& parent) {
    std::vector<fs::path> runs;
    for (const auto& e : fs::directory_iterator(parent))
        if (e.is_directory() && e.path().filename().string()[0] != '.') runs.push_back(e.path());
    if (runs.size() != 1)
        throw std::runtime_error(std::to_string(runs.size()) + " finished run directories in " + parent.string());
    return runs[0];
}

}  // namespace sigx::test
