// lstm.sequence: the L > 1 form. The estimate at sample t reads a window of L steps
// ending at t; each step carries `context` consecutive samples (the reference project's
// 5-sample context) and the one-hot selector. The output is the target at t, the
// window's last sample. Samples before the record's start are zeros, so every sample
// gets an estimate.
#include "common.hpp"
#include "fused_lstm.hpp"

#include <numeric>
#include <random>

namespace sigx::lstm {
namespace {

struct SequenceNetImpl : torch::nn::Module {
    SequenceNetImpl(std::int64_t inputs, std::int64_t hidden, std::int64_t layers, double dropout, bool fused_training)
        : fused(fused_training),
          lstm(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(inputs, hidden)
                                                           .num_layers(layers)
                                                           .batch_first(true)
                                                           .dropout(layers > 1 ? dropout : 0.0)))),
          drop(register_module("drop", torch::nn::Dropout(dropout))),
          head(register_module("head", torch::nn::Linear(hidden, 1))) {}

    // x: [batch, L, context + selectors] -> [batch]
    torch::Tensor forward(const torch::Tensor& x) {
        auto h = std::get<0>(fused && x.is_cpu() ? fused_lstm(lstm, x, {}, is_training()) : lstm->forward(x));
        return head->forward(drop->forward(h.select(1, h.size(1) - 1))).squeeze(1);
    }

    bool fused;  // through fused_lstm (fused_lstm.hpp)
    torch::nn::LSTM lstm;
    torch::nn::Dropout drop;
    torch::nn::Linear head;
};
TORCH_MODULE(SequenceNet);

// The windows of one record: windows[t] is [L, context], ending at sample t.
struct RecordWindows {
    torch::Tensor windows;  // [T, L, context]
    torch::Tensor targets;  // [C, T]
};

class LstmSequence final : public SavedTorchModel {
public:
    static Descriptor describe() {
        auto p = network_params(128, 2, 0.2);
        p.push_back(training_param());
        p.insert(p.begin(),
                 {ParamSpec::integer("window", 50).range(2, 100000).help("L: recurrent steps per window"),
                  ParamSpec::integer("context", 5).range(1, 1000).help("consecutive samples carried by each step")});
        return {.name = "lstm.sequence",
                .version = "1.0.0",
                .description =
                    "windowed LSTM (L > 1): reads the last L steps of `context` samples, predicts the last sample",
                .params = p,
                .trainable = true};
    }

    explicit LstmSequence(const Params& p)
        : window_(p.integer("window")),
          context_(p.integer("context")),
          hidden_(p.integer("hidden")),
          layers_(p.integer("layers")),
          dropout_(p.real("dropout")),
          fused_(p.string("training") == "fused") {}

    void* extension(std::string_view id) override {
        if (id == model_nature_id) return &nature_;
        return SavedTorchModel::extension(id);
    }

    torch::nn::Module& module() override { return *net(); }

    std::vector<std::string> state_params() const override { return {"window", "context", "hidden", "layers"}; }

    void prepare(const Records& train, double validation_fraction) override {
        build(component_count(train));
        std::vector<torch::Tensor> windows_list, targets_list;
        train_rows_.clear(), validation_rows_.clear();
        std::int64_t offset = 0;
        for (const auto& r : train) {
            const RecordWindows w{windows(r.input), targets(*r.truth)};
            const auto n = w.windows.size(0);
            const auto train_end = std::max<std::int64_t>(
                1, static_cast<std::int64_t>(static_cast<double>(n) * (1.0 - validation_fraction)));
            for (std::int64_t c = 0; c < selectors_; ++c)
                for (std::int64_t t = 0; t < n; ++t)
                    (t < train_end ? train_rows_ : validation_rows_).push_back({offset + t, c});
            windows_list.push_back(w.windows), targets_list.push_back(w.targets);
            offset += n;
        }
        all_windows_ = torch::cat(windows_list);     // [sum T, L, context]
        all_targets_ = torch::cat(targets_list, 1);  // [C, sum T]
    }

    std::int64_t begin_pass(Split split, std::int64_t batch_size, std::uint64_t seed) override {
        if (split == Split::train) {
            pass_ = train_rows_;
            std::mt19937_64 rng(seed);
            std::shuffle(pass_.begin(), pass_.end(), rng);
            batch_size_ = batch_size;
        } else {
            pass_ = validation_rows_;
            batch_size_ = std::max<std::int64_t>(batch_size, 1024);  // no gradients: bigger batches
        }
        return (static_cast<std::int64_t>(pass_.size()) + batch_size_ - 1) / batch_size_;
    }

    TorchBatch batch(std::int64_t index) override {
        const std::int64_t begin = index * batch_size_;
        const std::int64_t n = std::min<std::int64_t>(batch_size_, static_cast<std::int64_t>(pass_.size()) - begin);
        auto rows = torch::from_blob(&pass_[static_cast<std::size_t>(begin)], {n, 2}, torch::kInt64);
        auto t = rows.select(1, 0), c = rows.select(1, 1);
        auto sel = torch::eye(selectors_).index_select(0, c).unsqueeze(1).expand({n, window_, selectors_});
        auto input = torch::cat({all_windows_.index_select(0, t), sel}, 2);
        auto target = all_targets_.index({c, t});
        return {input, target, true, true};
    }

    torch::Tensor forward(const TorchBatch& b) override { return net()->forward(b.input); }

    Prediction predict(const Input& record, const Task& task, Host&) override {
        check_trained_for(task, selectors_);
        torch::NoGradGuard no_grad;
        net()->eval();
        const auto w = windows(record);
        const std::int64_t n = w.size(0), chunk = 4096;
        Prediction p;
        for (std::int64_t c = 0; c < selectors_; ++c) {
            std::vector<torch::Tensor> parts;
            for (std::int64_t s = 0; s < n; s += chunk) {
                const auto len = std::min(chunk, n - s);
                auto sel = one_hot(c, selectors_).view({1, 1, selectors_}).expand({len, window_, selectors_});
                parts.push_back(net()->forward(torch::cat({w.narrow(0, s, len), sel}, 2).to(device())));
            }
            p.components.push_back(samples_of(torch::cat(parts), record.size()));
        }
        return p;
    }

private:
    ModelNature nature_{true, ModelNature::Method::learned, "windowed LSTM"};
    struct Row {
        std::int64_t t, component;  // t indexes all_windows_
    };

    SequenceNet& net() {
        if (!net_) {
            if (selectors_ == 0) throw std::runtime_error("the network is built when the data is known (prepare)");
            net_ = SequenceNet(context_ + selectors_, hidden_, layers_, dropout_, fused_);
        }
        return net_;
    }

    torch::Tensor windows(const Input& r) const {
        // Zero history before the start: every sample, the first included, has a window.
        auto padded = tensor_of(mix_of(r), window_ + context_ - 2);
        auto frames = padded.unfold(0, context_, 1);                       // [T + L - 1, context]
        return frames.unfold(0, window_, 1).transpose(1, 2).contiguous();  // [T, L, context]
    }
    static torch::Tensor targets(const Truth& truth) {
        std::vector<torch::Tensor> out;
        for (const auto& ref : truth.references) out.push_back(tensor_of(ref));
        return torch::stack(out);  // [C, T]
    }

    std::int64_t window_, context_, hidden_, layers_;
    double dropout_;
    bool fused_;
    SequenceNet net_{nullptr};
    torch::Tensor all_windows_, all_targets_;
    std::vector<Row> train_rows_, validation_rows_, pass_;
    std::int64_t batch_size_ = 1;
};

}  // namespace
}  // namespace sigx::lstm

using sigx::lstm::LstmSequence;
SIGX_PLUGIN(LstmSequence)
