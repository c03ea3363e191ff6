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
#include "causal_lstm.hpp"
#include "common.hpp"

#include <map>
#include <random>

namespace sigx::lstm {
namespace {

enum class Conditioning { input, film };

// (h, c) carried between steps; LibTorch 1.13 takes c10::optional here.
using LstmState = c10::optional<std::tuple<torch::Tensor, torch::Tensor>>;

struct StreamNetImpl : torch::nn::Module {
    StreamNetImpl(std::int64_t frame_size, std::int64_t selectors, std::int64_t hidden, std::int64_t layers,
                  double dropout, bool bidirectional, Conditioning cond)
        : frame(frame_size),
          conditioning(cond),
          lstm(register_module(
              "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(
                                          cond == Conditioning::input ? frame_size + selectors : frame_size, hidden)
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

    // x: [streams, steps, frame + selectors]; returns [streams, steps, frame].
    torch::Tensor forward(const torch::Tensor& x, LstmState& state) {
        torch::Tensor in = conditioning == Conditioning::input ? x : x.narrow(2, 0, frame);
        auto [h, new_state] = lstm->forward(in, state);
        state = new_state;
        if (conditioning == Conditioning::film) {
            auto sel = x.select(1, 0).narrow(1, frame, x.size(2) - frame);  // [streams, selectors]
            h = h * (1 + gamma->forward(sel).unsqueeze(1)) + beta->forward(sel).unsqueeze(1);
        }
        h = drop->forward(h);
        if (!gate) return head->forward(h);
        const auto hidden = h.size(2) / 2;
        directions = {head->forward(h.narrow(2, 0, hidden)), backward_head->forward(h.narrow(2, hidden, hidden))};
        const auto g = torch::sigmoid(gate->forward(h));
        return g * directions[0] + (1 - g) * directions[1];
    }

    std::int64_t frame;
    Conditioning conditioning;
    torch::nn::LSTM lstm;
    torch::nn::Dropout drop;
    torch::nn::Linear head;  // the forward direction's (the only one when causal)
    torch::nn::Linear backward_head{nullptr}, gate{nullptr};
    torch::nn::Linear gamma{nullptr}, beta{nullptr};
    std::vector<torch::Tensor> directions;  // bidirectional: each head's output of the last forward
};
TORCH_MODULE(StreamNet);

// Records of one length, as stacked streams: input [streams, steps, frame + C], target
// [streams, steps, frame].
struct StreamGroup {
    torch::Tensor input, target;
    std::int64_t train_steps = 0;  // steps before the validation part
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
          native_inference_(p.string("inference") == "native") {}

    void* extension(std::string_view id) override {
        if (id == streaming_id) return static_cast<Streaming*>(this);
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
        return {"hidden", "layers", "samples_per_step", "bidirectional"};
    }

    void prepare(const Records& train, double validation_fraction) override {
        build(component_count(train));
        groups_.clear();
        std::map<std::size_t, std::vector<const Record*>> by_length;
        for (const auto& r : train) by_length[r.size()].push_back(&r);
        for (const auto& [length, records] : by_length) {
            std::vector<torch::Tensor> in, out;
            for (const Record* r : records) {
                in.push_back(streams(r->input));
                out.push_back(targets(*r->truth, r->size()));
            }
            StreamGroup g{torch::cat(in), torch::cat(out), 0};
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
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            const auto& grp = groups_[g];
            const std::int64_t end = split == Split::train ? grp.train_steps : grp.input.size(1);
            const std::int64_t start = split == Split::train ? 0 : grp.train_steps;
            if (start >= end) continue;
            const std::int64_t rows = grp.input.size(0), block = std::max<std::int64_t>(1, batch_size) * selectors_;
            for (std::int64_t r = 0; r < rows; r += block) {
                const std::int64_t n = std::min(block, rows - r);
                // A causal model's validation first warms its state up over the training part.
                if (split == Split::validation && !bidirectional_) pass_.push_back({g, r, n, 0, start, true, false});
                // Restart points: the record's start and, with train_segment, every segment.
                std::int64_t next_restart = end;
                const bool segmented = split == Split::train && train_segment_ > 0 && !bidirectional_;
                if (segmented)
                    next_restart = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(train_segment_)) + 1;
                if (bidirectional_ && split == Split::train) {
                    const std::int64_t len = std::min(bptt_, end - start), windows = (end - start + len - 1) / len;
                    for (std::int64_t w = 0; w < windows; ++w) {
                        const auto offset =
                            static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(end - start - len + 1));
                        pass_.push_back({g, r, n, start + offset, len, true, true});
                    }
                    continue;
                }
                for (std::int64_t s = start; s < end;) {
                    const std::int64_t len = std::min({bptt_, end - s, segmented ? next_restart - s : bptt_});
                    const bool restart = segmented && s == next_restart - train_segment_;
                    pass_.push_back({g, r, n, s, len, s == 0 || bidirectional_ || restart, true});
                    s += len;
                    if (segmented && s == next_restart) next_restart += train_segment_;
                }
            }
        }
        if (bidirectional_ && split == Split::train) std::shuffle(pass_.begin(), pass_.end(), rng);
        return static_cast<std::int64_t>(pass_.size());
    }

    TorchBatch batch(std::int64_t index) override {
        const Chunk& c = pass_.at(static_cast<std::size_t>(index));
        const auto& g = groups_[c.group];
        auto cut = [&](const torch::Tensor& t) { return t.narrow(0, c.row, c.rows).narrow(1, c.start, c.steps); };
        return {cut(g.input), cut(g.target), c.reset, c.score};
    }

    torch::Tensor forward(const TorchBatch& b) override { return net()->forward(b.input, state_); }
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
        const torch::Tensor input = streams(record).to(device());
        auto run = [&](std::int64_t start, std::int64_t steps) {
            LstmState state;
            return net()->forward(input.narrow(1, start, steps), state);  // [C, steps, frame]
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
    };

    CausalNetWeights native_weights() {
        auto values = [](const torch::Tensor& t) {
            const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
            return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
        };
        StreamNetImpl& n = *net();
        CausalNetWeights w{frame_, selectors_, hidden_, conditioning_ == Conditioning::film, {}, {}, {}, {},
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
            net_ = StreamNet(frame_, selectors_, hidden_, layers_, dropout_, bidirectional_, conditioning_);
        }
        return net_;
    }

    std::int64_t steps_of(std::size_t samples) const {
        return (static_cast<std::int64_t>(samples) + frame_ - 1) / frame_;
    }
    // One record as C streams (one per selector), the record padded to whole frames:
    // [C, steps, frame + C].
    torch::Tensor streams(const Input& r) const {
        const std::int64_t steps = steps_of(r.size()), pad = steps * frame_ - static_cast<std::int64_t>(r.size());
        auto frames = tensor_of(mix_of(r), 0, pad).view({1, steps, frame_}).expand({selectors_, steps, frame_});
        auto sel = torch::eye(selectors_).unsqueeze(1).expand({selectors_, steps, selectors_});
        return torch::cat({frames, sel}, 2).contiguous();
    }
    // Its references the same way: [C, steps, frame].
    torch::Tensor targets(const Truth& truth, std::size_t samples) const {
        const std::int64_t steps = steps_of(samples), pad = steps * frame_ - static_cast<std::int64_t>(samples);
        std::vector<torch::Tensor> out;
        for (const auto& ref : truth.references) out.push_back(tensor_of(ref, 0, pad).view({steps, frame_}));
        return torch::stack(out);
    }

    Conditioning conditioning_;
    std::int64_t frame_, bptt_, hidden_, layers_;
    double dropout_;
    std::int64_t train_segment_;
    bool bidirectional_, native_inference_;
    std::unique_ptr<CausalLstmStream> stream_;
    StreamNet net_{nullptr};
    std::vector<StreamGroup> groups_;
    std::vector<Chunk> pass_;
    LstmState state_;
};

class LstmStateful final : public StreamModel {
public:
    static Descriptor describe() {
        return {"lstm.stateful",
                Kind::model,
                "1.0.0",
                "stateful LSTM (L = 1): state carried across the whole record, selector in the input, truncated BPTT",
                params(),
                true};
    }
    explicit LstmStateful(const Params& p) : StreamModel(p, Conditioning::input) {}
};

class LstmFilm final : public StreamModel {
public:
    static Descriptor describe() {
        return {
            "lstm.film", Kind::model,
            "1.0.0",     "stateful LSTM over the mix alone, hidden features scaled and shifted by the selector (FiLM)",
            params(),    true};
    }
    explicit LstmFilm(const Params& p) : StreamModel(p, Conditioning::film) {}
};

}  // namespace
}  // namespace sigx::lstm

using sigx::lstm::LstmFilm;
using sigx::lstm::LstmStateful;
SIGX_PLUGIN(LstmStateful)
SIGX_PLUGIN(LstmFilm)
