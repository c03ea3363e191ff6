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
    bool quiet = false;          // the model's code lines (LoadedModel::code) not said
};

// A saved causal model streaming, with its output lined up with its input: the model's
// first `latency` outputs (from before the input started) are dropped, and flush() gives
// the last `latency`, so that every input frame gets exactly one output frame. Refuses
// (ConfigError) another rate or channel count than the model's, or a model that cannot
// stream, saying why; `source` names the input in those errors.
class ModelStream {
public:
    ModelStream(LoadedModel& m, double sample_rate, std::uint32_t channels, std::size_t max_block,
                const std::string& source);
    std::size_t latency() const { return latency_; }
    std::size_t max_block() const { return max_block_; }
    std::size_t components() const { return y_.size(); }
    // Runs `frames` (at most max_block) frames of planar input; returns how many output
    // frames line up with the input so far, at output().
    std::size_t process(const double* const* in, std::size_t frames);
    // The outputs still held back (at most `latency`), at output(); the stream then ends.
    std::size_t flush();
    // Planar pointers, one per component, to the frames process() or flush() returned.
    const double* const* output() const { return out_.data(); }
    void reset();

private:
    std::size_t emit(std::size_t frames);
    LoadedModel& m_;
    Streaming* s_ = nullptr;
    std::uint32_t channels_ = 0;
    std::size_t latency_ = 0, max_block_ = 0, skip_ = 0;
    std::vector<Samples> y_;
    std::vector<double*> yp_;
    std::vector<const double*> out_;
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
