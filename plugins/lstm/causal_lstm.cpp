#include "causal_lstm.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sigx::lstm {

namespace {
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
using Vector = Eigen::Matrix<float, Eigen::Dynamic, 1>;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Matrix matrix_of(const std::vector<float>& w, std::int64_t rows, std::int64_t cols) {
    if (static_cast<std::int64_t>(w.size()) != rows * cols)
        throw std::runtime_error("native LSTM: a weight has " + std::to_string(w.size()) + " values, expected " +
                                 std::to_string(rows * cols));
    return Eigen::Map<const RowMajor>(w.data(), rows, cols);
}
Vector vector_of(const std::vector<float>& w, std::int64_t rows) { return matrix_of(w, rows, 1); }
}  // namespace

struct CausalLstmStream::Net {
    std::int64_t frame, streams, hidden;
    Matrix w_frame;                  // layer 0's input weights for the frame: [4H, frame]
    Matrix w_track;                  // hybrid: layer 0's input weights for the tracker's frame: [4H, frame]
    Matrix bias0;                    // layer 0's bias per stream, its selector's input column included: [4H, streams]
    std::vector<Matrix> w_ih, w_hh;  // w_ih[0] unused
    std::vector<Vector> bias;        // layers 1..
    Matrix film_scale, film_shift;   // [H, streams]; empty without FiLM
    Matrix head_w;                   // [frame, H]
    Vector head_b;
    // State and scratch, allocated once.
    std::vector<Matrix> h, c;  // [H, streams] per layer
    Matrix gates, features, y;
    Vector frame_in, pre0;
    // The hybrid's tracker, its estimates of the last sample, and its frame of them [frame, streams].
    std::optional<classical::KalmanFit> fit;
    std::optional<classical::CalibratedTracker> tracker;
    std::vector<double> track_y;
    Matrix track_in;
    double handover = 1, full = 1;       // seconds; in steps once configured
    std::int64_t steps = 0;              // since the start
    std::int64_t filled = 0, taken = 0;  // samples in frame_in; outputs of y given out
    bool have_output = false;

    // One LSTM cell update from the gates' pre-activations.
    void cell(std::size_t l) {
        const auto H = hidden;
        auto i = gates.topRows(H).array().logistic();
        auto f = gates.middleRows(H, H).array().logistic();
        auto g = gates.middleRows(2 * H, H).array().tanh();
        auto o = gates.bottomRows(H).array().logistic();
        c[l].array() = f * c[l].array() + i * g;
        h[l].array() = o * c[l].array().tanh();
    }

    void step() {
        pre0.noalias() = w_frame * frame_in;
        gates.noalias() = w_hh[0] * h[0];
        gates += bias0;
        gates.colwise() += pre0;
        if (tracker) gates.noalias() += w_track * track_in;
        cell(0);
        for (std::size_t l = 1; l < h.size(); ++l) {
            gates.noalias() = w_ih[l] * h[l - 1];
            gates.noalias() += w_hh[l] * h[l];
            gates.colwise() += bias[l];
            cell(l);
        }
        if (film_scale.size() > 0) {
            features.array() = h.back().array() * film_scale.array() + film_shift.array();
            y.noalias() = head_w * features;
        } else {
            y.noalias() = head_w * h.back();
        }
        y.colwise() += head_b;
        if (tracker) {  // the network learns a correction to the tracker, while it locks on
            const double k = static_cast<double>(steps++), weight = std::clamp(2.0 * (full - k) / full, 0.0, 1.0);
            y *= static_cast<float>(weight);
            y += track_in;
        }
    }
};

CausalLstmStream::CausalLstmStream(const CausalNetWeights& w) : net_(std::make_unique<Net>()) {
    Net& n = *net_;
    const std::int64_t H = w.hidden, G = 4 * H, F = w.frame, S = w.selectors;
    if (w.layers.empty() || H < 1 || F < 1 || S < 1) throw std::runtime_error("native LSTM: an empty network");
    n.frame = F, n.streams = S, n.hidden = H;
    const std::int64_t T = w.tracker ? F : 0;  // the tracker's columns
    const Matrix w_ih0 = matrix_of(w.layers[0].w_ih, G, w.film ? F + T : F + T + S);
    n.w_frame = w_ih0.leftCols(F);
    n.handover = w.handover;
    if (w.tracker) n.fit = w.tracker, n.w_track = w_ih0.middleCols(F, T), n.track_in = Matrix::Zero(F, S);
    n.bias0 = vector_of(w.layers[0].bias, G).replicate(1, S);
    if (!w.film) n.bias0 += w_ih0.rightCols(S);  // the one-hot selector picks one column per stream
    n.w_ih.resize(w.layers.size()), n.w_hh.resize(w.layers.size()), n.bias.resize(w.layers.size());
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        if (l > 0) n.w_ih[l] = matrix_of(w.layers[l].w_ih, G, H), n.bias[l] = vector_of(w.layers[l].bias, G);
        n.w_hh[l] = matrix_of(w.layers[l].w_hh, G, H);
    }
    if (w.film) {  // h (1 + gamma(selector)) + beta(selector), gamma and beta linear in the one-hot selector
        n.film_scale = (matrix_of(w.gamma_w, H, S).colwise() + vector_of(w.gamma_b, H)).array() + 1.0f;
        n.film_shift = matrix_of(w.beta_w, H, S).colwise() + vector_of(w.beta_b, H);
        n.features.resize(H, S);
    }
    n.head_w = matrix_of(w.head_w, F, H);
    n.head_b = vector_of(w.head_b, F);
    n.h.assign(w.layers.size(), Matrix::Zero(H, S));
    n.c = n.h;
    n.gates.resize(G, S);
    n.y.resize(F, S);
    n.frame_in.resize(F);
    n.pre0.resize(G);
    reset();
}

CausalLstmStream::~CausalLstmStream() = default;

std::size_t CausalLstmStream::configure(const StreamConfig& config) {
    if (config.channels != 1)
        throw std::runtime_error("the stream has " + std::to_string(config.channels) +
                                 " input channels; this model reads one");
    if (static_cast<std::int64_t>(config.task.size()) != net_->streams)
        throw std::runtime_error("trained for " + std::to_string(net_->streams) + " components, the task has " +
                                 std::to_string(config.task.size()));
    Net& n = *net_;
    if (n.fit) {
        n.tracker.emplace(*n.fit, config.task, config.sample_rate, config.start_time);
        n.track_y.resize(config.task.size());
        n.full = handover_steps(n.handover, config.sample_rate, n.frame);
    }
    reset();
    return static_cast<std::size_t>(n.frame - 1);
}

void CausalLstmStream::reset() {
    for (auto& m : net_->h) m.setZero();
    for (auto& m : net_->c) m.setZero();
    net_->filled = net_->taken = 0;
    net_->have_output = false;
    net_->steps = 0;
    if (net_->tracker) net_->tracker->reset();
}

// Sample t completes a frame when it is the frame's last: the frame's F outputs then go
// out one per input sample, from this one on, so each lags its input by F - 1.
void CausalLstmStream::process(const ConstBlock& in, const Block& out) {
    Net& n = *net_;
    for (std::size_t t = 0; t < in.frames; ++t) {
        if (n.tracker) {
            n.tracker->push(in.channels[0][t], n.track_y.data());
            for (std::int64_t s = 0; s < n.streams; ++s)
                n.track_in(n.filled, s) = static_cast<float>(n.track_y[static_cast<std::size_t>(s)]);
        }
        n.frame_in[n.filled++] = static_cast<float>(in.channels[0][t]);
        if (n.filled == n.frame) {
            n.step();
            n.filled = n.taken = 0;
            n.have_output = true;
        }
        for (std::int64_t s = 0; s < n.streams; ++s)
            out.channels[s][t] = n.have_output ? static_cast<double>(n.y(n.taken, s)) : 0.0;
        n.taken += n.have_output ? 1 : 0;
    }
}

void CausalLstmStream::flush(const Block& out) {
    static const double zero = 0;
    const double* z = &zero;
    std::vector<double*> one(out.channel_count);
    for (std::size_t t = 0; t < out.frames; ++t) {
        for (std::uint32_t s = 0; s < out.channel_count; ++s) one[s] = out.channels[s] + t;
        process(ConstBlock{&z, 1, 1}, Block{one.data(), out.channel_count, 1});
    }
}

}  // namespace sigx::lstm
