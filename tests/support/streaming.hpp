// Checks every streaming model must pass (sigx/stream.hpp): any block size gives the
// whole-record prediction, and the declared latency is true.
#pragma once

#include "support/support.hpp"

#include <sigx/stream.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

namespace sigx::test {

// The stream's raw output for `mix` (the latency not removed), `block` samples at a time.
inline std::vector<Samples> raw_stream(Streaming& s, const Input& like, const Samples& mix, const Task& task,
                                       std::size_t block, std::size_t& latency) {
    StreamConfig config{like.sample_rate, 1, like.start_time, task, block};
    latency = s.configure(config);
    s.reset();
    std::vector<Samples> out(task.size(), Samples(mix.size()));
    for (std::size_t done = 0; done < mix.size();) {
        const std::size_t m = std::min(block, mix.size() - done);
        const double* in = mix.data() + done;
        auto op = channel_pointers(out, done);
        s.process(ConstBlock{&in, 1, m}, Block{op.data(), static_cast<std::uint32_t>(out.size()), m});
        done += m;
    }
    return out;
}

inline double max_difference(const Prediction& a, const Prediction& b) {
    double d = 0;
    REQUIRE(a.components.size() == b.components.size());
    for (std::size_t c = 0; c < a.components.size(); ++c) {
        REQUIRE(a.components[c].size() == b.components[c].size());
        for (std::size_t n = 0; n < a.components[c].size(); ++n)
            d = std::max(d, std::abs(a.components[c][n] - b.components[c][n]));
    }
    return d;
}

// Blocks of 1, 7, 1000 samples and the whole record give the model's whole-record
// prediction to 1e-6 once the latency is removed; nothing responds to an impulse at a
// frame's first sample k (frames of latency + 1 samples) before it arrives, and the
// output at k + latency does (or, for a model that updates once per block of samples, one
// at most `respond_within` samples later).
inline void check_streaming(Model& m, const Record& r, std::size_t respond_within = 0) {
    TestHost host;
    Streaming* s = streaming(m);
    REQUIRE(s);
    const Prediction whole = m.predict(r.input, r.task, host);
    for (std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, r.size()}) {
        INFO("blocks of " << block);
        CHECK(max_difference(predict_by_streaming(*s, r.input, r.task, block), whole) <= 1e-6);
    }
    std::size_t latency = 0;
    const Samples& mix = mix_of(r);
    const auto plain = raw_stream(*s, r.input, mix, r.task, 64, latency);
    const std::size_t frame = latency + 1, k = frame * (r.size() / (2 * frame));
    REQUIRE(k + latency < r.size());
    Samples kicked = mix;
    kicked[k] += 1.0;
    const auto response = raw_stream(*s, r.input, kicked, r.task, 64, latency);
    for (std::size_t c = 0; c < r.task.size(); ++c) {
        INFO("component " << c << ", impulse at " << k << ", latency " << latency);
        for (std::size_t n = 0; n < k + latency; ++n) REQUIRE(plain[c][n] == response[c][n]);
        bool responded = false;
        for (std::size_t n = k + latency; n <= std::min(r.size() - 1, k + latency + respond_within); ++n)
            responded = responded || plain[c][n] != response[c][n];
        CHECK(responded);
    }
}

}  // namespace sigx::test
