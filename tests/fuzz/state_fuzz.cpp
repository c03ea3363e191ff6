// libFuzzer harness over saved state, which a run directory from anyone may carry: the
// same bytes as the state file of every built-in classical model that saves one (lsq's
// calibration, kalman's filter, the tracker's fit, multitaper's window, lms's gains),
// each loaded by a fresh instance through load_state for tasks of 1 and 4 components,
// calibrated and not. A std::runtime_error naming the file is the expected answer to bad
// bytes; anything else escaping (another exception, a crash, a sanitizer report) is a
// finding. The same bytes also go through the reader of saved weights (sigx/arrays.hpp,
// the LSTMs' weights.bin); what LibTorch then checks (shapes, NaN) is tested in
// tests/torch, which the fuzz build leaves out. Built by -DSIGX_FUZZ=ON with clang; run by
// bench/fuzz.sh state.
#include "fuzz_support.hpp"

#include <sigx/arrays.hpp>
#include <sigx/host/loader.hpp>
#include <sigx/plugin.hpp>

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() { return sigx::fuzz::scratch("state-fuzz"); }
const sigx::host::Registry& registry() { return sigx::fuzz::builtin_registry(); }

struct Saved {
    const char* plugin;
    const char* file;
};
constexpr Saved saved[] = {{"lsq", "calibration.txt"},
                           {"kalman", "filter.txt"},
                           {"tracker", "tracker.txt"},
                           {"multitaper", "window.txt"},
                           {"lms", "gains.txt"}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    {
        const fs::path file = scratch() / "weights.bin";
        std::ofstream(file, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        try {
            (void)sigx::read_arrays(file, 1u << 20);
        } catch (const std::runtime_error& e) {
            if (std::string(e.what()).find(file.string()) == std::string::npos) std::abort();  // unnamed
        }
        fs::remove(file);
    }
    for (const auto& s : saved) {
        const fs::path file = scratch() / s.file;
        std::ofstream(file, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        const auto& info = registry().require(s.plugin, sigx::Kind::model);
        for (const bool calibrate : {true, false}) {
            sigx::Params given;
            for (const auto& p : info.descriptor->params)
                if (p.name == "calibrate") given = sigx::Params({{"calibrate", calibrate}});
            for (const std::size_t components : {1u, 4u}) {
                std::shared_ptr<sigx::Model> model;
                try {  // uncalibrated, some need more parameters: not what is fuzzed here
                    model = registry().create<sigx::Model>(info,
                                                           sigx::Params::with_defaults(info.descriptor->params, given));
                } catch (const sigx::ParamError&) {
                    continue;
                }
                auto* state = sigx::model_state(*model);
                if (!state) std::abort();  // each of these saves its fit
                try {
                    state->load_state(scratch(), components);
                } catch (const std::runtime_error& e) {
                    if (std::string(e.what()).find(file.string()) == std::string::npos) std::abort();  // unnamed
                }
            }
        }
        fs::remove(file);
    }
    return 0;
}
