// lstm.stateful and lstm.film: the L = 1 form. One recurrent step reads a frame of
// `samples_per_step` consecutive samples (1 = the assignment's sample-by-sample form) and
// emits the matching frame of outputs. Hidden and cell state carry from step to step
// across the whole record; training cuts the record into chunks of `bptt` steps (truncated
// BPTT) and the trainer detaches the state after each backward step. The selector streams
// of a record (one per component) run side by side as one batch; state is reset at the
// start of every record.
//
// bidirectional = true makes the extractor non-causal, like fft.block: a second LSTM
// reads the record backwards. Each direction has its own output head, and a learned gate
// mixes the two per sample, so an estimate can lean on the direction that has seen more:
// near a window's start the forward reading has seen nothing, near its end the backward
// one. (A single linear head over both directions' features, trained the same way, ended
// with 10x the unseen-phase MSE, most of it at the record's edges.) Nothing carries
// across windows: training takes windows of `bptt` steps at
// random offsets, and prediction runs windows of the same length that overlap by half,
// each sample taken from the window that holds it farthest from its ends. A network never
// runs longer than it was trained to (an LSTM's state drifts past that), and every estimate
// but those at the record's own edges sees at least a quarter window on both sides.
//
// Conditioning: lstm.stateful appends the one-hot selector to every step's input;
// lstm.film feeds the LSTM the mix alone and scales and shifts its hidden features by
// gamma(selector) and beta(selector) (FiLM).
//
// tracker = "kalman" makes a hybrid: the causal Kalman tracker (../classical/kalman.hpp),
// calibrated on the training records, runs on the mix beside the network; each step also
// reads the frame of the tracker's estimate of its stream's component, and the network's
// output is a correction added to that estimate, weighted fully in the first half of
// `handover` seconds after a start and fading out over the second half: a locked-on
// tracker beats any correction from a network trained mostly on lock-on, while it locks
// on the network does far better. Training restarts the tracker wherever it restarts the
// network's state, so both practise locking on together, as at a record's start. A bidirectional hybrid restarts
// the tracker at the start of every training and validation window, and corrects it in
// the first `handover` seconds of a record only, where the tracker is still locking on.
#include "causal_lstm.hpp"
#include "common.hpp"
#include "fused_lstm.hpp"

#include "../classical/kalman.hpp"

#include <sigx/files.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <random>

namespace sigx::lstm {
namespace {

enum class Conditioning { input, film };

struct StreamNetImpl : torch::nn::Module {
    StreamNetImpl(std::int64_t frame_size, std::int64_t selectors, std::int64_t hidden, std::int64_t layers,
                  double dropout, bool bidirectional, Conditioning cond, bool with_tracker, bool fused_training)
        : frame(frame_size),
          signal(with_tracker ? 2 * frame_size : frame_size),
          fused(fused_training),
          tracked(with_tracker),
          conditioning(cond),
          lstm(register_module(
              "lstm",
              torch::nn::LSTM(torch::nn::LSTMOptions(cond == Conditioning::input ? signal + selectors : signal, hidden)
                                  .num_layers(layers)
                                  .batch_first(true)
                                  .bidirectional(bidirectional)
                                  .dropout(layers > 1 ? dropout : 0.0)))),
          drop(register_module("drop", torch::nn::Dropout(dropout))),
          head(register_module("head", torch::nn::Linear(hidden, frame_size))) {
        const std::int64_t features = bidirectional ? 2 * hidden : hidden;
        if (bidirectional) {
            backward_head = register_module("backward_head", torch::nn::Linear(hidden, frame_size));
            gate = register_module("gate", torch::nn::Linear(features, frame_size));
        }
        if (cond == Conditioning::film) {
            gamma = register_module("gamma", torch::nn::Linear(selectors, features));
            beta = register_module("beta", torch::nn::Linear(selectors, features));
        }
    }

    // x: [streams, steps, frame (+ tracker's frame) + selectors]; returns [streams, steps, frame].
    // fade (hybrid): the correction's weight per step, [1, steps, 1].
    torch::Tensor forward(const torch::Tensor& x, LstmState& state, const torch::Tensor& fade = {}) {
        torch::Tensor in = conditioning == Conditioning::input ? x : x.narrow(2, 0, signal);
        auto [h, new_state] =
            fused && in.is_cpu() ? fused_lstm(lstm, in, state, is_training()) : lstm->forward(in, state);
        state = new_state;
        if (conditioning == Conditioning::film) {
            auto sel = x.select(1, 0).narrow(1, signal, x.size(2) - signal);  // [streams, selectors]
            h = h * (1 + gamma->forward(sel).unsqueeze(1)) + beta->forward(sel).unsqueeze(1);
        }
        h = drop->forward(h);
        // Hybrid: the tracker's estimate plus the network's correction, weighted by fade.
        auto output = [&](const torch::Tensor& correction) {
            if (!tracked) return correction;
            return x.narrow(2, frame, frame) + (fade.defined() ? fade.to(x.device()) * correction : correction);
        };
        if (!gate) return output(head->forward(h));
        const auto hidden = h.size(2) / 2;
        const auto ahead = head->forward(h.narrow(2, 0, hidden)),
                   back = backward_head->forward(h.narrow(2, hidden, hidden));
        directions = {output(ahead), output(back)};
        const auto g = torch::sigmoid(gate->forward(h));
        return output(g * ahead + (1 - g) * back);
    }

    std::int64_t frame, signal;  // samples per step; input features before the selector
    bool fused;                  // through fused_lstm (fused_lstm.hpp), not LibTorch's per-step operators
    bool tracked;                // the tracker's frame follows the mix's, and its estimate is the output's base
    Conditioning conditioning;
    torch::nn::LSTM lstm;
    torch::nn::Dropout drop;
    torch::nn::Linear head;  // the forward direction's (the only one when causal)
    torch::nn::Linear backward_head{nullptr}, gate{nullptr};
    torch::nn::Linear gamma{nullptr}, beta{nullptr};
    std::vector<torch::Tensor> directions;  // bidirectional: each head's output of the last forward
};
TORCH_MODULE(StreamNet);

// Records of one length, as stacked streams: input [streams, steps, frame (+ frame) + C],
// target [streams, steps, frame].
struct StreamGroup {
    torch::Tensor input, target;
    std::int64_t train_steps = 0;  // steps before the validation part
    // Hybrid: the records (their C streams are consecutive rows), and the tracker's
    // estimates from each record's start alone: [streams, steps, frame].
    std::vector<std::pair<Input, Task>> records;
    torch::Tensor tracked;
    bool restarted = false;  // input holds estimates restarted within the record
};

class StreamModel : public SavedTorchModel, public Streaming {
public:
    static std::vector<ParamSpec> params() {
        auto p = network_params(64, 1, 0.0);
        p.push_back(ParamSpec::integer("samples_per_step", 1)
                        .range(1, 1000)
                        .help("samples read and emitted per recurrent step (1: the sample-by-sample form)"));
        p.push_back(ParamSpec::integer("bptt", 50)
                        .range(1, 100000)
                        .help("recurrent steps per truncated-BPTT chunk; state is detached after each"));
        p.push_back(ParamSpec::integer("train_segment", 0)
                        .at_least(0)
                        .help("causal training restarts the state every this many steps, at a random offset per "
                              "epoch, so the model practises locking on from nothing; 0: only at record starts"));
        p.push_back(
            ParamSpec::boolean("bidirectional", false)
                .help("also read backwards (non-causal): windows of bptt steps, overlapping by half in prediction"));
        p.push_back(ParamSpec::string("tracker", "none")
                        .one_of({"none", "kalman"})
                        .help("kalman: a hybrid that also reads the causal Kalman tracker's estimate (calibrated on "
                              "the training records) and learns a correction to it"));
        p.push_back(ParamSpec::real("handover", 1.0)
                        .range(1e-3, 1e6)
                        .help("hybrid: seconds after a start in which the network corrects the tracker (fully in the "
                              "first half, fading out in the second), the time it takes to lock on"));
        p.push_back(training_param());
        p.push_back(
            ParamSpec::string("inference", "native")
                .one_of({"native", "torch"})
                .help("causal whole-record prediction: native (the streaming path, on Eigen) or torch (LibTorch's "
                      "LSTM, as in training); streaming is always native"));
        return p;
    }

    StreamModel(const Params& p, Conditioning cond)
        : conditioning_(cond),
          frame_(p.integer("samples_per_step")),
          bptt_(p.integer("bptt")),
          hidden_(p.integer("hidden")),
          layers_(p.integer("layers")),
          dropout_(p.real("dropout")),
          train_segment_(p.integer("train_segment")),
          bidirectional_(p.boolean("bidirectional")),
          tracked_(p.string("tracker") == "kalman"),
          native_inference_(p.string("inference") == "native"),
          fused_(p.string("training") == "fused"),
          handover_(p.real("handover")) {}

    void* extension(std::string_view id) override {
        if (id == streaming_id) return static_cast<Streaming*>(this);
        if (id == model_nature_id)
            return &(nature_ = {!bidirectional_, tracked_ ? ModelNature::Method::hybrid : ModelNature::Method::learned,
                                std::string(bidirectional_ ? "bidirectional " : "") +
                                    (conditioning_ == Conditioning::film ? "FiLM LSTM" : "LSTM") +
                                    (tracked_ ? " + Kalman tracker" : "")});
        return SavedTorchModel::extension(id);
    }

    // Streaming: the causal network on its own inference path (causal_lstm.hpp), with the
    // weights as they are now.
    std::size_t configure(const StreamConfig& config) override {
        if (bidirectional_)
            throw std::runtime_error(
                "bidirectional = true also reads the record backwards, so each estimate depends on later samples "
                "(non-causal)");
        check_trained_for(config.task, selectors_);
        stream_ = std::make_unique<CausalLstmStream>(native_weights());
        return stream_->configure(config);
    }
    void reset() override { stream_->reset(); }
    void process(const ConstBlock& in, const Block& out) override { stream_->process(in, out); }
    void flush(const Block& out) override { stream_->flush(out); }

    torch::nn::Module& module() override { return *net(); }

    std::vector<std::string> state_params() const override {
        return {"hidden", "layers", "samples_per_step", "bidirectional", "tracker", "handover"};
    }
    // The hybrid's tracker calibration is saved beside the weights.
    void save_state(const std::filesystem::path& dir) override {
        SavedTorchModel::save_state(dir);
        if (tracker_) write_file_atomic(dir / "tracker.txt", tracker_->text());
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        SavedTorchModel::load_state(dir, components);
        if (!tracked_) return;
        StateText in(dir / "tracker.txt");
        tracker_ = classical::KalmanFit::read(in, components);
        tracker_->settings.exact_circle = tracker_settings().exact_circle;
    }

    // The kalman model's defaults, the estimate on the circle from its isotropic law while
    // locking on (the network corrects that part; exact, it was three quarters of the fit).
    static classical::KalmanSettings tracker_settings() {
        classical::KalmanSettings s;
        s.exact_circle = false;
        return s;
    }

    void prepare(const Records& train, double validation_fraction) override {
        build(component_count(train));
        // The tracker is (re)calibrated on the records the network is trained on.
        if (tracked_) tracker_ = classical::fit_kalman(train, tracker_settings(), 0, 0, true);
        groups_.clear();
        std::map<std::size_t, std::vector<const Record*>> by_length;
        for (const auto& r : train) by_length[r.size()].push_back(&r);
        for (const auto& [length, records] : by_length) {
            std::vector<torch::Tensor> in, out;
            for (const Record* r : records) {
                in.push_back(streams(r->input, r->task));
                out.push_back(targets(*r->truth, r->size()));
            }
            StreamGroup g{torch::cat(in), torch::cat(out), 0, {}, {}, false};
            if (tracker_) {
                for (const Record* r : records) g.records.emplace_back(r->input, r->task);
                g.tracked = g.input.narrow(2, frame_, frame_).clone();
            }
            const auto steps = g.input.size(1);
            g.train_steps = std::max<std::int64_t>(
                1, static_cast<std::int64_t>(static_cast<double>(steps) * (1.0 - validation_fraction)));
            groups_.push_back(std::move(g));
        }
    }

    // Records are batched `batch_size` at a time, each with its C selector streams side
    // by side. A causal model walks each batch of records through time in chunks of
    // `bptt` steps, resetting state only at the records' start; a bidirectional one takes
    // independent windows of `bptt` steps, as many as cover the split, at offsets and in an
    // order drawn from `seed` (validation: fixed tiles).
    std::int64_t begin_pass(Split split, std::int64_t batch_size, std::uint64_t seed) override {
        pass_.clear();
        std::mt19937_64 rng(seed);
        for (auto& g : groups_)  // the tracker from each record's start, unless restarted below
            if (g.restarted) g.input.narrow(2, frame_, frame_).copy_(g.tracked), g.restarted = false;
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            const auto& grp = groups_[g];
            const std::int64_t end = split == Split::train ? grp.train_steps : grp.input.size(1);
            const std::int64_t start = split == Split::train ? 0 : grp.train_steps;
            if (start >= end) continue;
            const std::int64_t rows = grp.input.size(0), block = std::max<std::int64_t>(1, batch_size) * selectors_;
            for (std::int64_t r = 0; r < rows; r += block) {
                const std::int64_t n = std::min(block, rows - r);
                // Restart points: the record's start and, with train_segment, every segment: at
                // a random offset in training, from the validation part's start in validation,
                // which then scores locking on as often as training practises it. Without,
                // a causal model's validation first warms its state up over the training part.
                const bool segmented = train_segment_ > 0 && !bidirectional_;
                if (split == Split::validation && !bidirectional_ && !segmented)
                    pass_.push_back({g, r, n, 0, start, true, false, 0});
                std::int64_t next_restart = end;
                if (segmented)
                    next_restart =
                        split == Split::validation
                            ? start + train_segment_
                            : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(train_segment_)) + 1;
                if (bidirectional_ && split == Split::train) {
                    const std::int64_t len = std::min(bptt_, end - start), windows = (end - start + len - 1) / len;
                    for (std::int64_t w = 0; w < windows; ++w) {
                        const auto offset =
                            static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(end - start - len + 1));
                        pass_.push_back({g, r, n, start + offset, len, true, true, 0});
                    }
                    continue;
                }
                std::vector<std::size_t> restarts;  // samples where the tracker restarts with the state
                std::int64_t restarted = 0;         // the step of the last restart
                for (std::int64_t s = start; s < end;) {
                    const std::int64_t len = std::min({bptt_, end - s, segmented ? next_restart - s : bptt_});
                    const bool restart = segmented && s == next_restart - train_segment_;
                    if (restart) restarted = s;
                    if (restart && s > 0) restarts.push_back(static_cast<std::size_t>(s * frame_));
                    pass_.push_back({g, r, n, s, len, s == 0 || bidirectional_ || restart, true, s - restarted});
                    s += len;
                    if (segmented && s == next_restart) next_restart += train_segment_;
                }
                if (segmented) track(groups_[g], r, n, restarts);
            }
        }
        if (bidirectional_ && split == Split::train) std::shuffle(pass_.begin(), pass_.end(), rng);
        return static_cast<std::int64_t>(pass_.size());
    }

    TorchBatch batch(std::int64_t index) override {
        const Chunk& c = pass_.at(static_cast<std::size_t>(index));
        const auto& g = groups_[c.group];
        auto cut = [&](const torch::Tensor& t) { return t.narrow(0, c.row, c.rows).narrow(1, c.start, c.steps); };
        if (!tracker_) return {cut(g.input), cut(g.target), c.reset, c.score};
        fade_ = fade(bidirectional_ ? 0 : c.since, c.steps, g.records.front().first.sample_rate);
        if (!bidirectional_) return {cut(g.input), cut(g.target), c.reset, c.score};
        // A bidirectional hybrid's window starts as a record does: the tracker restarts there.
        auto input = cut(g.input).clone();
        std::vector<torch::Tensor> restarted;
        for (std::int64_t first = c.row; first < c.row + c.rows; first += selectors_) {
            const auto& [record, task] = g.records.at(static_cast<std::size_t>(first / selectors_));
            restarted.push_back(tracked(record, task, {}, c.start, c.steps));
        }
        input.narrow(2, frame_, frame_).copy_(torch::cat(restarted));
        return {input, cut(g.target), c.reset, c.score};
    }

    torch::Tensor forward(const TorchBatch& b) override { return net()->forward(b.input, state_, fade_); }
    // Bidirectional: each direction's head is also scored on its own, so each stays a
    // usable estimate where the other has seen nothing and the gate has something to pick.
    torch::Tensor loss(const torch::Tensor& output, const TorchBatch& b) override {
        auto l = torch::mse_loss(output, b.target);
        for (const auto& d : net()->directions) l = l + 0.5 * torch::mse_loss(d, b.target);
        return l;
    }
    void reset_state() override { state_.reset(); }
    void detach_state() override {
        if (state_) state_ = std::make_tuple(std::get<0>(*state_).detach(), std::get<1>(*state_).detach());
    }

    Prediction predict(const Input& record, const Task& task, Host&) override {
        check_trained_for(task, selectors_);
        if (!bidirectional_ && native_inference_) return predict_by_streaming(*this, record, task);
        torch::NoGradGuard no_grad;
        net()->eval();
        const torch::Tensor input = streams(record, task).to(device());
        auto run = [&](std::int64_t start, std::int64_t steps) {
            LstmState state;
            const auto f = tracker_ ? fade(start, steps, record.sample_rate) : torch::Tensor();
            return net()->forward(input.narrow(1, start, steps), state, f);  // [C, steps, frame]
        };
        const std::int64_t steps = input.size(1);
        torch::Tensor y;
        if (!bidirectional_ || steps <= bptt_) {
            y = run(0, steps);
        } else {  // windows overlapping by half; the last one ends with the record
            std::vector<std::int64_t> starts;
            for (std::int64_t s = 0; s + bptt_ < steps; s += std::max<std::int64_t>(1, bptt_ / 2)) starts.push_back(s);
            starts.push_back(steps - bptt_);
            std::vector<torch::Tensor> parts;
            std::int64_t taken = 0;
            for (std::size_t k = 0; k < starts.size(); ++k) {
                // Switch to the next window halfway between this one's end and the next one's start.
                const std::int64_t until = k + 1 < starts.size() ? (starts[k] + bptt_ + starts[k + 1]) / 2 : steps;
                parts.push_back(run(starts[k], bptt_).narrow(1, taken - starts[k], until - taken));
                taken = until;
            }
            y = torch::cat(parts, 1);
        }
        Prediction p;
        for (std::int64_t c = 0; c < selectors_; ++c) p.components.push_back(samples_of(y[c], record.size()));
        return p;
    }

private:
    struct Chunk {
        std::size_t group;
        std::int64_t row, rows;     // streams
        std::int64_t start, steps;  // time
        bool reset, score;
        std::int64_t since;  // steps since the state last restarted, at start
    };

    CausalNetWeights native_weights() {
        auto values = [](const torch::Tensor& t) {
            const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
            return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        };
        StreamNetImpl& n = *net();
        CausalNetWeights w{
            frame_, selectors_, hidden_, conditioning_ == Conditioning::film, tracker_, handover_, {}, {}, {}, {},
            {},     {},         {}};
        const auto p = n.lstm->named_parameters();
        for (std::int64_t l = 0; l < layers_; ++l) {
            const std::string i = std::to_string(l);
            w.layers.push_back({values(p["weight_ih_l" + i]), values(p["weight_hh_l" + i]),
                                values(p["bias_ih_l" + i] + p["bias_hh_l" + i])});
        }
        w.head_w = values(n.head->weight), w.head_b = values(n.head->bias);
        if (n.gamma) {
            w.gamma_w = values(n.gamma->weight), w.gamma_b = values(n.gamma->bias);
            w.beta_w = values(n.beta->weight), w.beta_b = values(n.beta->bias);
        }
        return w;
    }

    StreamNet& net() {
        if (!net_) {
            if (selectors_ == 0) throw std::runtime_error("the network is built when the data is known (prepare)");
            net_ = StreamNet(frame_, selectors_, hidden_, layers_, dropout_, bidirectional_, conditioning_, tracked_,
                             fused_);
        }
        return net_;
    }

    std::int64_t steps_of(std::size_t samples) const {
        return (static_cast<std::int64_t>(samples) + frame_ - 1) / frame_;
    }
    // One record as C streams (one per selector), the record padded to whole frames:
    // [C, steps, frame (+ the tracker's frame) + C].
    torch::Tensor streams(const Input& r, const Task& task) const {
        const std::int64_t steps = steps_of(r.size()), pad = steps * frame_ - static_cast<std::int64_t>(r.size());
        auto frames = tensor_of(mix_of(r), 0, pad).view({1, steps, frame_}).expand({selectors_, steps, frame_});
        auto sel = torch::eye(selectors_).unsqueeze(1).expand({selectors_, steps, selectors_});
        if (!tracker_) return torch::cat({frames, sel}, 2).contiguous();
        return torch::cat({frames, tracked(r, task, {}), sel}, 2).contiguous();
    }
    // The tracker's estimate of each component over the record padded to whole frames (the
    // padding is zeros through the tracker, as a stream's flush gives it), restarted at
    // `restarts` (samples): [C, steps, frame]. With `from`, only `steps` steps from there,
    // the tracker starting afresh at `from` (a window that starts as a record does).
    torch::Tensor tracked(const Input& r, const Task& task, const std::vector<std::size_t>& restarts,
                          std::int64_t from = 0, std::int64_t steps = -1) const {
        if (steps < 0) steps = steps_of(r.size()) - from;
        Input padded = r;  // padded, or cut at the last step wanted
        padded.channels.at(0).resize(static_cast<std::size_t>((from + steps) * frame_), 0.0);
        std::vector<torch::Tensor> out;
        for (const auto& e : tracker_->estimates(padded, task, restarts, static_cast<std::size_t>(from * frame_)))
            out.push_back(tensor_of(e).narrow(0, from * frame_, steps * frame_).view({steps, frame_}));
        return torch::stack(out);
    }
    // The hybrid's correction weight for `steps` steps from `since` steps after a start: 1
    // for the first half of `handover` seconds, then falling linearly to 0 at its end (a
    // correction trained on lock-on would otherwise add its noise to the locked-on tracker).
    // [1, steps, 1].
    torch::Tensor fade(std::int64_t since, std::int64_t steps, double sample_rate) const {
        const double full = handover_steps(handover_, sample_rate, frame_);
        auto k = torch::arange(since, since + steps, torch::kFloat64);
        return (2.0 * (full - k) / full).clamp(0.0, 1.0).to(torch::kFloat32).view({1, steps, 1});
    }
    // The tracker's estimates for the records in rows [row, row + rows) of a group,
    // restarted at `restarts`.
    void track(StreamGroup& g, std::int64_t row, std::int64_t rows, const std::vector<std::size_t>& restarts) {
        if (!tracker_ || restarts.empty()) return;
        for (std::int64_t first = row; first < row + rows; first += selectors_) {
            const auto& [input, task] = g.records.at(static_cast<std::size_t>(first / selectors_));
            g.input.narrow(0, first, selectors_).narrow(2, frame_, frame_).copy_(tracked(input, task, restarts));
        }
        g.restarted = true;
    }
    // Its references the same way: [C, steps, frame].
    torch::Tensor targets(const Truth& truth, std::size_t samples) const {
        const std::int64_t steps = steps_of(samples), pad = steps * frame_ - static_cast<std::int64_t>(samples);
        std::vector<torch::Tensor> out;
        for (const auto& ref : truth.references) out.push_back(tensor_of(ref, 0, pad).view({steps, frame_}));
        return torch::stack(out);
    }

    ModelNature nature_;  // what extension(model_nature_id) answers
    Conditioning conditioning_;
    std::int64_t frame_, bptt_, hidden_, layers_;
    double dropout_;
    std::int64_t train_segment_;
    bool bidirectional_, tracked_, native_inference_, fused_;
    double handover_;                              // seconds
    std::optional<classical::KalmanFit> tracker_;  // the hybrid's, once calibrated
    std::unique_ptr<CausalLstmStream> stream_;
    StreamNet net_{nullptr};
    std::vector<StreamGroup> groups_;
    std::vector<Chunk> pass_;
    torch::Tensor fade_;  // the hybrid's correction weight for the current batch
    LstmState state_;
};

class LstmStateful final : public StreamModel {
public:
    static Descriptor describe() {
        return {
            .name = "lstm.stateful",
            .version = "1.0.0",
            .description =
                "stateful LSTM (L = 1): state carried across the whole record, selector in the input, truncated BPTT",
            .params = params(),
            .trainable = true};
    }
    explicit LstmStateful(const Params& p) : StreamModel(p, Conditioning::input) {}
};

class LstmFilm final : public StreamModel {
public:
    static Descriptor describe() {
        return {.name = "lstm.film",
                .version = "1.0.0",
                .description =
                    "stateful LSTM over the mix alone, hidden features scaled and shifted by the selector (FiLM)",
                .params = params(),
                .trainable = true};
    }
    explicit LstmFilm(const Params& p) : StreamModel(p, Conditioning::film) {}
};

}  // namespace
}  // namespace sigx::lstm

using sigx::lstm::LstmFilm;
using sigx::lstm::LstmStateful;
SIGX_PLUGIN(LstmStateful)
SIGX_PLUGIN(LstmFilm)
