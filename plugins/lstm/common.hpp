// Shared pieces of the LSTM extractors: parameter specs, tensor conversions, and the
// checks before prediction.
#pragma once

#include <sigx/register.hpp>
#include <sigx/torch.hpp>

#include <vector>

namespace sigx::lstm {

// A torch model whose fitted state (ModelState) is its network's weights, restored by
// building the network for the task's components and loading them.
class SavedTorchModel : public TorchModel, public ModelState {
public:
    void* extension(std::string_view id) override {
        if (id == model_state_id) return static_cast<ModelState*>(this);
        return TorchModel::extension(id);
    }
    void save_state(const std::filesystem::path& dir) override { TorchModelExtension::save(dir / "weights.bin"); }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        build(static_cast<std::int64_t>(components));
        TorchModelExtension::load(dir / "weights.bin");
    }

protected:
    // Creates the network (module()) for `components` selectors, once: fine-tuning keeps
    // the restored one, whose task must then be the same.
    void build(std::int64_t components) {
        if (selectors_ != 0 && components != selectors_)
            throw std::runtime_error("the network was built for " + std::to_string(selectors_) +
                                     " components, the task has " + std::to_string(components));
        selectors_ = components;
        module();
    }
    std::int64_t selectors_ = 0;  // components the network is built for; 0: not yet
};

inline std::vector<ParamSpec> network_params(std::int64_t hidden, std::int64_t layers, double dropout) {
    return {ParamSpec::integer("hidden", hidden).range(1, 4096).help("LSTM hidden units per layer"),
            ParamSpec::integer("layers", layers).range(1, 16).help("stacked LSTM layers"),
            ParamSpec::real("dropout", dropout).range(0.0, 0.9).help("dropout between layers and before the output")};
}

// Which path trains the network (and runs it under LibTorch): fused_lstm.hpp's or LibTorch's.
inline ParamSpec training_param() {
    return ParamSpec::string("training", "fused")
        .one_of({"fused", "torch"})
        .help(
            "fused: each layer's whole sequence, forward and backward through time, as one operation (faster; "
            "the same parameters and results); torch: LibTorch's LSTM, operator by operator");
}

inline torch::Tensor tensor_of(const Samples& s, std::int64_t front_pad = 0, std::int64_t back_pad = 0) {
    auto t = torch::zeros({static_cast<std::int64_t>(s.size()) + front_pad + back_pad}, torch::kFloat32);
    auto a = t.accessor<float, 1>();
    for (std::size_t i = 0; i < s.size(); ++i) a[front_pad + static_cast<std::int64_t>(i)] = static_cast<float>(s[i]);
    return t;
}

inline Samples samples_of(const torch::Tensor& t, std::size_t n) {
    auto c = t.to(torch::kCPU, torch::kFloat64).contiguous().view(-1);
    const double* p = c.data_ptr<double>();
    return Samples(p, p + n);
}

// The one-hot selector of component c among `count`.
inline torch::Tensor one_hot(std::int64_t c, std::int64_t count) {
    auto t = torch::zeros({count}, torch::kFloat32);
    t[c] = 1.0f;
    return t;
}

// Every training record must carry the same components as the first, and a truth.
inline std::int64_t component_count(const Records& train) {
    if (train.empty()) throw std::runtime_error("the dataset has no training records");
    const auto n = static_cast<std::int64_t>(train.front().task.size());
    for (const auto& r : train) {
        if (static_cast<std::int64_t>(r.task.size()) != n)
            throw std::runtime_error("training records differ in their number of components");
        if (!r.truth) throw std::runtime_error("training record '" + r.input.name + "' has no truth to train on");
    }
    return n;
}

// The one input channel the LSTMs read (Descriptor::input_channels = 1).
inline const Samples& mix_of(const Input& input) {
    if (input.channels.size() != 1)
        throw std::runtime_error("the record has " + std::to_string(input.channels.size()) +
                                 " input channels; this model reads one");
    return input.channels.front();
}

// Prediction needs a trained network (`selectors` known) and a task of that many components.
inline void check_trained_for(const Task& task, std::int64_t selectors) {
    if (selectors == 0) throw std::runtime_error("the model has not been trained");
    if (static_cast<std::int64_t>(task.size()) != selectors)
        throw std::runtime_error("trained for " + std::to_string(selectors) + " components, the record has " +
                                 std::to_string(task.size()));
}

}  // namespace sigx::lstm
