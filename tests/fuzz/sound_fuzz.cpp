// libFuzzer harness over the files a user hands sigx: the same bytes read as a sound
// file (libsndfile, with sigx's truncation checks: audio::info, audio::read and the
// block reader of `sigx stream`), as a CSV recording (inspect_csv, read_csv) and as
// `sigx stream`'s raw float32 input (1 to 3 channels). A std::runtime_error naming the
// input is the expected answer to bad bytes; anything else escaping (another exception,
// a crash, a sanitizer report, an allocation the file's size does not justify) is a
// finding. Built by -DSIGX_FUZZ=ON with clang; run by bench/fuzz.sh sound.
#include <sigx/audio.hpp>
#include <sigx/audio_stream.hpp>
#include <sigx/csv.hpp>

#include "fuzz_support.hpp"

#include <unistd.h>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

fs::path put(const std::string& name, const std::uint8_t* data, std::size_t size) {
    const fs::path file = sigx::fuzz::scratch("sound-fuzz") / name;
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return file;
}

// Reads a whole stream a block at a time, as `sigx stream` does.
void drain(sigx::audio::FrameReader& in) {
    if (in.channels() == 0 || in.channels() > 4096)
        throw std::logic_error("a reader opened with no or absurd channels");
    std::vector<std::vector<double>> planar(in.channels(), std::vector<double>(257));
    std::vector<double*> pointers;
    for (auto& c : planar) pointers.push_back(c.data());
    for (int blocks = 0; blocks < 100000 && in.read(pointers.data(), 257) > 0; ++blocks) {}
}

template <class F> void expect_clean(F&& f) {
    try {
        f();
    } catch (const std::runtime_error&) {  // bad input, named: the expected answer
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path sound = put("input.wav", data, size);
    expect_clean([&] { (void)sigx::audio::info(sound); });
    expect_clean([&] { (void)sigx::audio::read(sound); });
    expect_clean([&] { drain(*sigx::audio::open_sound_reader(sound.string())); });

    const fs::path csv = put("input.csv", data, size);
    expect_clean([&] { (void)sigx::audio::inspect_csv(csv); });
    expect_clean([&] { (void)sigx::audio::read_csv(csv); });

    const std::atomic<bool> stop{false};
    expect_clean([&] { drain(*sigx::audio::open_raw_reader(sound.string(), 1000.0, 1 + size % 3, stop)); });
    return 0;
}
