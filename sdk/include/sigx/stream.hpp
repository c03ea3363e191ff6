// Streaming: a causal model fed block by block, in constant memory (`sigx stream`, long
// recordings, live input). An optional model capability, offered through
// Plugin::extension(streaming_id) by a model whose output at a sample depends on the input
// up to that sample only (plus a fixed latency). Blocks are planar, non-owning views, as
// in CLAP's audio buffers; the model allocates in configure() and never per block.
//
// A causal model is written once: its whole-record Model::predict can call
// predict_by_streaming() below, so that batch and stream give the same samples.
#pragma once

#include <sigx/plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

// `frames` samples of `channel_count` channels: channels[c][n]. Views only: the caller
// owns the memory, valid during the call.
struct ConstBlock {
    const double* const* channels = nullptr;
    std::uint32_t channel_count = 0;
    std::size_t frames = 0;
};
struct Block {
    double* const* channels = nullptr;
    std::uint32_t channel_count = 0;
    std::size_t frames = 0;
};

struct StreamConfig {
    double sample_rate = 0;      // Hz
    std::uint32_t channels = 1;  // input channels
    double start_time = 0;       // s, the time of the stream's first sample as the model may know it
    Task task;                   // the components to extract, one output channel each
    std::size_t max_block = 0;   // the largest block process() will be given
};

inline constexpr std::string_view streaming_id = "sigx.model.stream/1";
class Streaming {
public:
    virtual ~Streaming() = default;
    // Prepares a stream, allocating all it will need, and returns its latency L in
    // samples: output sample n of the stream is the estimate for input sample n - L (zeros
    // before the first). Throws, saying why, when the model cannot stream as it is
    // configured (non-causal parameters, another task than it was fitted for).
    virtual std::size_t configure(const StreamConfig& config) = 0;
    // Back to the state before the stream's first sample.
    virtual void reset() = 0;
    // One block: `in` has config.channels channels, `out` one per component, both of the
    // same number of frames, at most config.max_block (any number, from 1).
    virtual void process(const ConstBlock& in, const Block& out) = 0;
    // The last L output samples, as though L zero samples followed the input: `out` has L
    // frames (nothing to do when L = 0).
    virtual void flush(const Block& out) = 0;
};
inline Streaming* streaming(Plugin& m) { return static_cast<Streaming*>(m.extension(streaming_id)); }

// Planar pointers into `channels` from sample `offset` on.
template <class Channels> auto channel_pointers(Channels& channels, std::size_t offset) {
    std::vector<decltype(channels.front().data())> p;
    for (auto& c : channels) p.push_back(c.data() + offset);
    return p;
}

// A whole record through a stream, `block` samples at a time: the host's adapter from
// Model::predict to Streaming, so that a causal model is written once. The latency is
// removed: the prediction lines up with the input.
inline Prediction predict_by_streaming(Streaming& s, const Input& input, const Task& task, std::size_t block = 4096) {
    const std::size_t n = input.size();
    StreamConfig config{input.sample_rate, static_cast<std::uint32_t>(input.channels.size()), input.start_time, task,
                        std::max<std::size_t>(1, std::min(block, n))};
    const std::size_t latency = s.configure(config);
    s.reset();
    Prediction p;
    p.components.assign(task.size(), Samples(n + latency));
    std::vector<Samples>& out = p.components;
    for (std::size_t done = 0; done < n;) {
        const std::size_t m = std::min(config.max_block, n - done);
        const auto ip = channel_pointers(input.channels, done);
        const auto op = channel_pointers(out, done);
        s.process(ConstBlock{ip.data(), config.channels, m},
                  Block{op.data(), static_cast<std::uint32_t>(out.size()), m});
        done += m;
    }
    if (latency > 0) {
        const auto op = channel_pointers(out, n);
        s.flush(Block{op.data(), static_cast<std::uint32_t>(out.size()), latency});
        for (auto& c : out) c.erase(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(latency));
    }
    return p;
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
