// `sigx stream`: a saved causal model run over a long or live input, a block at a time,
// in constant memory.
#pragma once

#include <sigx/host/apply.hpp>
#include <sigx/host/loader.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace sigx::host {

struct StreamOptions {
    std::filesystem::path run;   // a run directory or one model's folder in it
    std::string model;           // its name in the run, when it holds several
    std::size_t block = 1024;    // frames per block
    std::string input = "-";     // a path or "-" (standard input)
    std::string output = "-";    // a path or "-" (standard output)
    double rate = 0;             // raw float32 input at this rate; 0: a sound file
    std::uint32_t channels = 1;  // raw input's channels
    std::string format;          // output: "wav" or "raw"; empty: wav for a .wav path, else raw
};

struct StreamSummary {
    std::string model;
    std::uint64_t frames = 0;  // input frames read, and as many written
    std::size_t latency = 0;   // samples
    double sample_rate = 0;
    double seconds = 0;    // wall time from the first block read to the output closed
    bool stopped = false;  // `stop` was set: the input was cut short there
    bool closed = false;   // the output's reader went away: nothing more could be written
};

// The output lines up with the input, one frame out per frame in: the model's first
// `latency` outputs (from before the input started) are dropped and its last `latency`
// are flushed at the end. Stops early, with everything so far written and flushed, when
// `stop` is set or the output's reader goes away. Throws ConfigError for what the user
// named (an input of another rate or channel count, a model that cannot stream), or
// PluginError.
StreamSummary stream_model(const StreamOptions& o, Registry registry, const std::atomic<bool>& stop, const Note& note);

}  // namespace sigx::host
