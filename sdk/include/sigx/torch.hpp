// Optional SDK extension for models built with LibTorch. Only plugins that use LibTorch
// include this header; the core SDK never does.
//
// A model offers TorchModelExtension through Plugin::extension(torch_model_id); any
// trainer that knows this id (the built-in "torch" trainer does) can fit it without
// knowing what the network is. Deriving from sigx::TorchModel does both, and marks the
// library as one that must never be unloaded.
//
// The extension's id names the LibTorch version the model was compiled against (C++
// LibTorch has no stable ABI between versions): a trainer built against another version
// does not find it, and names both versions from torch_version_id.
//
// Call order, by the trainer, on one thread:
//   prepare(train, validation_fraction); to(device);
//   per epoch: n = begin_pass(train, ...); for i < n: b = batch(i);
//                [reset_state() if b.reset]; forward -> loss -> backward -> step;
//                detach_state()
//              n = begin_pass(validation, ...); the same without gradients, the loss
//              counted only over batches with score = true.
#pragma once

#include <sigx/abi.hpp>
#include <sigx/arrays.hpp>
#include <sigx/plugin.hpp>

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

inline constexpr std::string_view torch_model_id = "sigx.torch.model/1 libtorch " TORCH_VERSION;

enum class Split { train, validation };

// The data of one optimisation (or validation) step, on the CPU; the trainer moves it
// to its device.
struct TorchBatch {
    torch::Tensor input;
    torch::Tensor target;
    bool reset = true;  // start carried state afresh before this batch (a new record)
    bool score = true;  // validation: count this batch (false: state warm-up only)
};

class TorchModelExtension {
public:
    virtual ~TorchModelExtension() = default;
    // The network whose parameters the trainer optimises and checkpoints.
    virtual torch::nn::Module& module() = 0;
    // Called once before training, with the training records (each with its truth). Each
    // is cut in time: the first (1 - validation_fraction) of it trains, the rest validates
    // (never random rows of one stream, which would leak neighbouring samples into
    // validation).
    virtual void prepare(const Records& train, double validation_fraction) = 0;
    // Starts one pass over a split and returns its number of batches. A model that
    // shuffles derives the order from `seed`. `batch_size` is a hint: stateful models
    // batch the streams of a record instead.
    virtual std::int64_t begin_pass(Split split, std::int64_t batch_size, std::uint64_t seed) = 0;
    // Batch `index` (0 <= index < the count begin_pass returned) of the current pass.
    virtual TorchBatch batch(std::int64_t index) = 0;
    virtual torch::Tensor forward(const TorchBatch& batch) = 0;
    virtual torch::Tensor loss(const torch::Tensor& output, const TorchBatch& batch) {
        return torch::mse_loss(output, batch.target);
    }
    // State hooks for models that carry state between batches (truncated BPTT).
    virtual void reset_state() {}
    virtual void detach_state() {}  // after each backward step, never inside forward
    virtual void to(torch::Device device) { module().to(device); }
    virtual torch::Device device() {
        for (const auto& p : module().parameters()) return p.device();
        return torch::kCPU;
    }
    // The module's weights to or from a file (after prepare, so the network exists), in
    // sigx's own format of named arrays (arrays.hpp): data, never code.
    void save(const std::filesystem::path& file) {
        std::vector<NamedArray> arrays;
        for (const auto& [name, tensor] : named_tensors()) {
            const auto t = tensor.detach().to(torch::kCPU).contiguous();
            NamedArray a{name, element_type(t.scalar_type(), name), {t.sizes().begin(), t.sizes().end()}, {}};
            a.bytes.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
            arrays.push_back(std::move(a));
        }
        write_arrays(file, arrays);
    }
    // A file that is missing, far larger than these weights, corrupt, short of an array,
    // of another shape or type, holding others or holding NaN or infinity is one error
    // naming it, and leaves the module's weights as they were.
    void load(const std::filesystem::path& file) {
        const auto current = named_tensors();
        std::uintmax_t bytes = 0;
        for (const auto& [name, tensor] : current) bytes += static_cast<std::uintmax_t>(tensor.nbytes()) + 1024;
        const auto arrays = read_arrays(file, 2 * bytes + 4096);
        auto fail = [&](const std::string& why) { throw std::runtime_error(file.string() + ": " + why); };
        if (arrays.size() != current.size())
            fail("holds " + std::to_string(arrays.size()) + " arrays, the network has " +
                 std::to_string(current.size()) + " (not this network's weights)");
        std::vector<torch::Tensor> read;
        for (const auto& [name, tensor] : current) {
            const NamedArray* a = nullptr;
            for (const auto& candidate : arrays)
                if (candidate.name == name) a = &candidate;
            if (!a) fail("holds no '" + name + "' (not this network's weights)");
            if (a->type != element_type(tensor.scalar_type(), name) ||
                !std::equal(a->sizes.begin(), a->sizes.end(), tensor.sizes().begin(), tensor.sizes().end()))
                fail("its '" + name + "' is " + shape(a->sizes) + ", the network's " + shape(tensor.sizes()) +
                     " (not this network's weights)");
            auto t = torch::empty(tensor.sizes(), torch::TensorOptions().dtype(tensor.scalar_type()));
            std::memcpy(t.data_ptr(), a->bytes.data(), a->bytes.size());
            if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
                fail("its '" + name + "' holds NaN or infinity");
            read.push_back(t);
        }
        torch::NoGradGuard no_grad;
        for (std::size_t i = 0; i < current.size(); ++i) current[i].second.copy_(read[i]);
    }

private:
    std::vector<std::pair<std::string, torch::Tensor>> named_tensors() {
        std::vector<std::pair<std::string, torch::Tensor>> out;
        for (const auto& p : module().named_parameters()) out.emplace_back(p.key(), p.value());
        for (const auto& b : module().named_buffers()) out.emplace_back(b.key(), b.value());
        return out;
    }
    static ElementType element_type(torch::ScalarType t, const std::string& name) {
        if (t == torch::kFloat32) return ElementType::f32;
        if (t == torch::kFloat64) return ElementType::f64;
        if (t == torch::kInt64) return ElementType::i64;
        throw std::runtime_error("cannot save or load '" + name +
                                 "': its element type is not float32, float64 or int64");
    }
    static std::string shape(c10::ArrayRef<std::int64_t> sizes) {
        std::string s = "[";
        for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
        return s + "]";
    }
};

// Base class for LibTorch models: a Model that offers TorchModelExtension.
class SIGX_API TorchModel : public Model, public TorchModelExtension {
public:
    static constexpr std::uint32_t plugin_flags = SIGX_FLAG_KEEP_LOADED;

    void* extension(std::string_view id) override {
        if (id == torch_model_id) return static_cast<TorchModelExtension*>(this);
        if (id == torch_version_id) return const_cast<char*>(TORCH_VERSION);
        return nullptr;
    }
};

// The extension of a model, or nullptr when it offers none.
inline TorchModelExtension* torch_extension(Model& m) {
    return static_cast<TorchModelExtension*>(m.extension(torch_model_id));
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
