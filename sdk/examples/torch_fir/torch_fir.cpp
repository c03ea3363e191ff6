// example.torch_fir: a learned causal FIR filter per component (one Conv1d output channel
// each, over the last `taps` samples of the mix), fitted by the built-in `torch` trainer
// through the sigx.torch.model extension. Each training record is one batch; its last
// part (in time) validates.
#include <sigx/sigx.hpp>
#include <sigx/torch.hpp>

namespace {

class TorchFir final : public sigx::TorchModel {
public:
    static sigx::Descriptor describe() {
        return {.name = "example.torch_fir",
                .version = "0.1.0",
                .description = "learned causal FIR filter per component (LibTorch), trained by the torch trainer",
                .params = {sigx::ParamSpec::integer("taps", 400).range(1, 100000).help("filter length in samples")},
                .trainable = true};
    }
    explicit TorchFir(const sigx::Params& p) : taps_(p.integer("taps")) {}

    torch::nn::Module& module() override { return *conv_; }

    void prepare(const sigx::Records& train, double validation_fraction) override {
        components_ = static_cast<std::int64_t>(train.front().task.size());
        conv_ = torch::nn::Conv1d(torch::nn::Conv1dOptions(1, components_, taps_).bias(false));
        conv_->weight.data().zero_();  // start from silence: a stable first step
        records_.clear();
        for (const auto& r : train) {
            if (!r.truth) throw std::runtime_error("training record '" + r.input.name + "' has no truth");
            auto x = input_tensor(r.input);
            auto y = target_tensor(*r.truth);
            const auto n = y.size(2),
                       cut = static_cast<std::int64_t>(static_cast<double>(n) * (1 - validation_fraction));
            records_.push_back({x, y, cut});
        }
    }
    std::int64_t begin_pass(sigx::Split split, std::int64_t, std::uint64_t) override {
        split_ = split;
        return static_cast<std::int64_t>(records_.size());
    }
    sigx::TorchBatch batch(std::int64_t i) override {
        const auto& r = records_.at(static_cast<std::size_t>(i));
        const auto n = r.y.size(2);
        // Train on [0, cut), validate on [cut, n): the output at t needs taps - 1 earlier inputs.
        const std::int64_t begin = split_ == sigx::Split::train ? 0 : r.cut,
                           end = split_ == sigx::Split::train ? r.cut : n;
        return {r.x.narrow(2, begin, end - begin + taps_ - 1), r.y.narrow(2, begin, end - begin), true, end > begin};
    }
    torch::Tensor forward(const sigx::TorchBatch& b) override { return conv_->forward(b.input); }

    sigx::Prediction predict(const sigx::Input& record, const sigx::Task&, sigx::Host&) override {
        torch::NoGradGuard no_grad;
        auto y = conv_->forward(input_tensor(record).to(device())).to(torch::kCPU, torch::kFloat64).contiguous();
        sigx::Prediction p;
        for (std::int64_t c = 0; c < components_; ++c) {
            const double* d = y[0][c].data_ptr<double>();
            p.components.emplace_back(d, d + record.size());
        }
        return p;
    }

private:
    struct Record {
        torch::Tensor x, y;
        std::int64_t cut;
    };
    // The mix (the input's first channel) with taps - 1 zeros in front: [1, 1, n + taps - 1].
    torch::Tensor input_tensor(const sigx::Input& r) const {
        const sigx::Samples& mix = r.channels.at(0);
        const auto n = static_cast<std::int64_t>(mix.size());
        auto x = torch::zeros({1, 1, n + taps_ - 1});
        x[0][0].narrow(0, taps_ - 1, n) =
            torch::from_blob(const_cast<double*>(mix.data()), {n}, torch::kFloat64).to(torch::kFloat32);
        return x;
    }
    // The references: [1, C, n].
    torch::Tensor target_tensor(const sigx::Truth& truth) const {
        std::vector<torch::Tensor> refs;
        for (const auto& ref : truth.references)
            refs.push_back(torch::from_blob(const_cast<double*>(ref.data()), {static_cast<std::int64_t>(ref.size())},
                                            torch::kFloat64)
                               .to(torch::kFloat32));
        return torch::stack(refs).unsqueeze(0);
    }

    std::int64_t taps_, components_ = 0;
    torch::nn::Conv1d conv_{nullptr};
    std::vector<Record> records_;
    sigx::Split split_ = sigx::Split::train;
};

}  // namespace

SIGX_PLUGIN(TorchFir)
