// The causal stateful LSTM (lstm.stateful, lstm.film) run without LibTorch: its own
// inference path, step by step, on Eigen's kernels. At hidden 64 a step is a few small
// matrix products, where LibTorch's per-call overhead dominates; bench/streaming.cpp
// measures both. No torch header here: the plugin copies the trained weights in.
#pragma once

#include "../classical/kalman.hpp"

#include <sigx/stream.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace sigx::lstm {

// Weights in PyTorch's layout (row-major, gates in the order i, f, g, o).
struct LstmLayerWeights {
    std::vector<float> w_ih;  // [4 hidden, inputs]
    std::vector<float> w_hh;  // [4 hidden, hidden]
    std::vector<float> bias;  // [4 hidden]: b_ih + b_hh
};
struct CausalNetWeights {
    std::int64_t frame = 1;      // samples per step
    std::int64_t selectors = 0;  // components
    std::int64_t hidden = 0;
    bool film = false;  // false: the one-hot selector follows the frame in layer 0's input
    // The hybrid: the tracker's calibrated estimate of the stream's component, a frame of it,
    // follows the mix's frame in layer 0's input and is added to the head's output.
    std::optional<classical::KalmanFit> tracker;
    double handover = 1;  // seconds: the correction fades out over the second half (handover_steps)
    std::vector<LstmLayerWeights> layers;
    std::vector<float> head_w, head_b;                    // [frame, hidden], [frame]
    std::vector<float> gamma_w, gamma_b, beta_w, beta_b;  // FiLM: [hidden, selectors], [hidden]
};

// The hybrid's handover in recurrent steps: its correction weighs 1 for the first half of
// them, then falls linearly to 0 at the end (step k: clamp(2 (full - k) / full, 0, 1)).
inline double handover_steps(double seconds, double sample_rate, std::int64_t frame) {
    const double steps = seconds * sample_rate / static_cast<double>(frame);
    return steps > 1 ? steps : 1;
}

// A stream of one mix through the network, one stream per component side by side (the
// one-hot selector differs), `frame` samples per step; with a tracker, the tracker runs on
// the mix sample by sample beside it. Output lags the input by
// frame - 1 samples: a step's outputs need its whole frame. Allocates in its
// constructor only.
class CausalLstmStream final : public Streaming {
public:
    explicit CausalLstmStream(const CausalNetWeights& weights);
    ~CausalLstmStream() override;
    std::size_t configure(const StreamConfig& config) override;  // the task must have `selectors` components
    void reset() override;
    void process(const ConstBlock& in, const Block& out) override;
    void flush(const Block& out) override;  // frame - 1 zeros through process()

private:
    struct Net;
    std::unique_ptr<Net> net_;
};

}  // namespace sigx::lstm
