// libFuzzer harness over what a user types: a pipeline file, command-line overrides and
// the validation of both against the built-in plugins' schemas, the sweep reader
// included. Input: TOML text, then optionally a line "#--" followed by one override per
// line. A ConfigError or PluginError is the expected answer to bad input; anything else
// escaping (another exception, a crash, a sanitizer report) is a finding.
// Built by -DSIGX_FUZZ=ON with clang; run by bench/fuzz.sh.
#include "fuzz_support.hpp"

#include <sigx/host/errors.hpp>
#include <sigx/host/loader.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/runner.hpp>
#include <sigx/host/sweep.hpp>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

const sigx::host::Registry& registry() { return sigx::fuzz::builtin_registry(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::string text = input;
    std::vector<std::string> overrides;
    if (const auto split = input.find("\n#--\n"); split != std::string::npos) {
        text = input.substr(0, split);
        std::istringstream lines(input.substr(split + 5));
        for (std::string line; std::getline(lines, line);)
            if (!line.empty()) overrides.push_back(line);
    }
    try {
        const auto src = sigx::host::parse_pipeline(text, "fuzz.toml", overrides);
        const auto axes = sigx::host::read_sweep(src);
        if (axes.empty()) {
            const auto p = sigx::host::validate_pipeline(src, registry());
            sigx::host::instantiate(p, registry());  // constructors judge what schemas cannot
            std::ostringstream out;
            out << p.resolved();  // what the run would write as config.toml
        } else if (sigx::host::sweep_points(axes).size() <= 64) {
            sigx::host::validate_sweep(src, axes, registry());
        }
    } catch (const sigx::host::ConfigError&) {
    } catch (const sigx::host::PluginError&) {}
    return 0;
}
