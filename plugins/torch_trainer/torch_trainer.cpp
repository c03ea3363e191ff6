// torch: a model-agnostic trainer for any model that offers sigx::TorchModelExtension.
// It knows nothing about LSTMs: the model supplies its module, its batches (with the
// validation part cut contiguously in time), its loss and its state hooks.
//
// Every epoch ends with an atomic checkpoint (weights, optimiser, scheduler, early-stopping
// state, best weights, RNG state, curve); a run resumed from it continues exactly as an
// uninterrupted one would, because every random draw is derived from the host's seed and
// the epoch number or restored from the checkpoint.
#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/torch.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

namespace {

using namespace sigx;

struct EpochRow {
    double train_loss, validation_mse, lr, seconds, train_seconds;  // train_seconds: the training steps alone
};

std::string to_bytes(torch::serialize::OutputArchive& a) {
    std::ostringstream s;
    a.save_to(s);
    return s.str();
}

std::string module_bytes(torch::nn::Module& m) {
    torch::serialize::OutputArchive a;
    m.save(a);
    return to_bytes(a);
}

void load_module_bytes(torch::nn::Module& m, const std::string& bytes, torch::Device device) {
    std::istringstream s(bytes);
    torch::serialize::InputArchive a;
    a.load_from(s, device);
    m.load(a);
}

torch::Tensor bytes_tensor(const std::string& b) {
    auto t = torch::empty({static_cast<std::int64_t>(b.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr(), b.data(), b.size());
    return t;
}
std::string tensor_bytes(const torch::Tensor& t) {
    auto c = t.contiguous();
    return std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.numel()));
}

class TorchTrainer final : public Trainer {
public:
    static Descriptor describe() {
        return {
            "torch",
            Kind::trainer,
            "1.0.0",
            "trains any LibTorch model (sigx.torch.model): Adam/SGD, early stopping, plateau LR, checkpoints",
            {ParamSpec::string("optimizer", "adam").one_of({"adam", "sgd"}).help("optimisation algorithm"),
             ParamSpec::real("lr", 1e-3).positive().help("initial learning rate"),
             ParamSpec::real("momentum", 0.9).range(0.0, 1.0).help("sgd momentum"),
             ParamSpec::real("weight_decay", 0.0).at_least(0.0).help("L2 penalty"),
             ParamSpec::integer("batch_size", 16)
                 .range(1, 1 << 20)
                 .help("examples per step (a hint to stateful models)"),
             ParamSpec::integer("epochs", 30).range(1, 1000000).help("maximum passes over the training data"),
             ParamSpec::real("clip_grad_norm", 0.0)
                 .at_least(0.0)
                 .help("clip the gradient's global norm to this; 0: off"),
             ParamSpec::real("validation_fraction", 0.1)
                 .range(0.0, 0.9)
                 .help("last part of each training record (in time) held out for validation"),
             ParamSpec::integer("patience", 10).at_least(0).help("early stopping: epochs without improvement; 0: off"),
             ParamSpec::real("min_delta", 0.0).at_least(0.0).help("early stopping: smallest improvement that counts"),
             ParamSpec::integer("plateau_patience", 5)
                 .at_least(0)
                 .help("reduce the LR after this many epochs without improvement; 0: off"),
             ParamSpec::real("plateau_factor", 0.5).range(0.0, 1.0).help("multiply the LR by this on a plateau"),
             ParamSpec::real("min_lr", 1e-6).at_least(0.0).help("the plateau schedule never goes below this"),
             ParamSpec::boolean("restore_best", true).help("end with the weights of the best validation epoch"),
             ParamSpec::integer("threads", 0).range(0, 1024).help("CPU threads for LibTorch; 0: its default"),
             ParamSpec::string("device", "auto")
                 .one_of({"auto", "cpu", "cuda"})
                 .help("auto: CUDA when this LibTorch has it and a GPU is present")},
            false};
    }

    explicit TorchTrainer(const Params& p) : p_(p) {
        if (p.string("device") == "cuda" && !torch::cuda::is_available())
            throw ParamError("device", "device = \"cuda\" but this LibTorch has no CUDA or no GPU is present");
    }

    void train(Model& model, const Records& train, Host& host) override {
        auto* ext = torch_extension(model);
        if (!ext && torch_version_of(model))
            throw std::runtime_error(fmt::format(
                "the model was built against LibTorch {}, this trainer against LibTorch {}; rebuild the model's "
                "plugin against LibTorch {}",
                torch_version_of(model), TORCH_VERSION, TORCH_VERSION));
        if (!ext)
            throw std::runtime_error(
                "the model does not offer the sigx.torch.model extension; the torch trainer cannot fit it");
        for (std::size_t r = 0; r < train.size(); ++r)
            if (!train[r].truth)
                throw std::runtime_error(fmt::format("training record {} ('{}') has no truth (references) to train on",
                                                     r, train[r].input.name));
        if (p_.integer("threads") > 0) torch::set_num_threads(static_cast<int>(p_.integer("threads")));
        const std::uint64_t seed = host.seed();
        torch::manual_seed(seed);
        ext->prepare(train, p_.real("validation_fraction"));
        const bool cuda =
            p_.string("device") == "cuda" || (p_.string("device") == "auto" && torch::cuda::is_available());
        const torch::Device device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
        ext->to(device);
        torch::nn::Module& module = ext->module();

        auto optimizer = make_optimizer(module);
        State st;
        st.lr = p_.real("lr");
        const auto dir = host.output_dir();
        const auto checkpoint = dir / "checkpoint.pt";
        if (std::filesystem::exists(checkpoint)) {
            try {
                restore(checkpoint, module, *optimizer, st, device);
            } catch (const std::exception& e) {
                throw std::runtime_error(
                    fmt::format("cannot resume from {}: it does not fit this model ({}); delete it to "
                                "train from scratch",
                                checkpoint.string(), e.what()));
            }
            host.info(fmt::format("resumed from {} after epoch {}", checkpoint.string(), st.epoch));
        }

        const std::int64_t epochs = p_.integer("epochs");
        while (!st.finished && st.epoch < epochs) {
            const auto t0 = std::chrono::steady_clock::now();
            const std::int64_t epoch = st.epoch + 1;
            const double train_loss = run_train_epoch(*ext, *optimizer, device, seed, epoch, host);
            if (host.cancelled()) return;  // the last complete epoch's checkpoint stays
            const double train_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double val = run_validation(*ext, device);
            const double monitored = std::isnan(val) ? train_loss : val;

            if (monitored < st.best - p_.real("min_delta")) {
                st.best = monitored, st.best_epoch = epoch, st.bad = 0;
                st.best_weights = module_bytes(module);
            } else {
                ++st.bad;
            }
            if (monitored < st.plateau_best)
                st.plateau_best = monitored, st.plateau_bad = 0;
            else if (p_.integer("plateau_patience") > 0 && ++st.plateau_bad >= p_.integer("plateau_patience")) {
                st.lr = std::max(p_.real("min_lr"), st.lr * p_.real("plateau_factor"));
                set_lr(*optimizer, st.lr);
                st.plateau_bad = 0;
            }
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            st.curve.push_back({train_loss, val, st.lr, secs, train_secs});
            st.epoch = epoch;
            if (p_.integer("patience") > 0 && st.bad >= p_.integer("patience")) {
                st.finished = true;
                host.info(
                    fmt::format("early stop after epoch {}: no improvement for {} epochs (best {:.4g} at epoch {})",
                                epoch, st.bad, st.best, st.best_epoch));
            }
            host.progress(
                {"epoch", epoch, epochs,
                 fmt::format("loss {:.4g}  val_mse {:.4g}  lr {:.3g}  {:.1f}s", train_loss, val, st.lr, secs)});
            write_curve(dir / "training_curve.csv", st.curve);
            save(checkpoint, module, *optimizer, st);
        }
        if (p_.boolean("restore_best") && !st.best_weights.empty()) load_module_bytes(module, st.best_weights, device);
        write_file_atomic(dir / "model.pt", module_bytes(module));
        host.info(
            fmt::format("trained {} epochs; best monitored MSE {:.4g} at epoch {}", st.epoch, st.best, st.best_epoch));
    }

private:
    struct State {
        std::int64_t epoch = 0, best_epoch = 0, bad = 0, plateau_bad = 0;
        double best = INFINITY, plateau_best = INFINITY, lr = 0;
        bool finished = false;
        std::string best_weights;
        std::vector<EpochRow> curve;
    };

    std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& m) const {
        if (p_.string("optimizer") == "sgd")
            return std::make_unique<torch::optim::SGD>(m.parameters(), torch::optim::SGDOptions(p_.real("lr"))
                                                                           .momentum(p_.real("momentum"))
                                                                           .weight_decay(p_.real("weight_decay")));
        return std::make_unique<torch::optim::Adam>(
            m.parameters(), torch::optim::AdamOptions(p_.real("lr")).weight_decay(p_.real("weight_decay")));
    }

    static void set_lr(torch::optim::Optimizer& opt, double lr) {
        for (auto& group : opt.param_groups()) group.options().set_lr(lr);
    }

    double run_train_epoch(TorchModelExtension& ext, torch::optim::Optimizer& opt, torch::Device device,
                           std::uint64_t seed, std::int64_t epoch, Host& host) const {
        ext.module().train();
        ext.reset_state();
        const std::int64_t n = ext.begin_pass(Split::train, p_.integer("batch_size"),
                                              seed ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(epoch)));
        const double clip = p_.real("clip_grad_norm");
        double sum = 0, count = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            if (host.cancelled()) return NAN;
            TorchBatch b = ext.batch(i);
            b.input = b.input.to(device), b.target = b.target.to(device);
            if (b.reset) ext.reset_state();
            auto out = ext.forward(b);
            auto loss = ext.loss(out, b);
            opt.zero_grad();
            loss.backward();
            if (clip > 0) torch::nn::utils::clip_grad_norm_(ext.module().parameters(), clip);
            opt.step();
            ext.detach_state();
            const double w = static_cast<double>(b.target.numel());
            sum += loss.item<double>() * w, count += w;
        }
        return count > 0 ? sum / count : NAN;
    }

    // Mean squared error over the scored validation batches; NaN when there are none.
    static double run_validation(TorchModelExtension& ext, torch::Device device) {
        torch::NoGradGuard no_grad;
        ext.module().eval();
        ext.reset_state();
        const std::int64_t n = ext.begin_pass(Split::validation, 1024, 0);
        double sum = 0, count = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            TorchBatch b = ext.batch(i);
            b.input = b.input.to(device), b.target = b.target.to(device);
            if (b.reset) ext.reset_state();
            auto out = ext.forward(b);
            if (!b.score) continue;
            sum += (out - b.target).pow(2).sum().item<double>();
            count += static_cast<double>(b.target.numel());
        }
        ext.reset_state();
        return count > 0 ? sum / count : NAN;
    }

    static void write_curve(const std::filesystem::path& file, const std::vector<EpochRow>& curve) {
        std::string s = "epoch,train_loss,validation_mse,lr,seconds,train_seconds\n";
        for (std::size_t i = 0; i < curve.size(); ++i)
            s += fmt::format("{},{:.9g},{:.9g},{:.6g},{:.3f},{:.3f}\n", i + 1, curve[i].train_loss,
                             curve[i].validation_mse, curve[i].lr, curve[i].seconds, curve[i].train_seconds);
        write_file_atomic(file, s);
    }

    static void save(const std::filesystem::path& file, torch::nn::Module& m, torch::optim::Optimizer& opt,
                     const State& st) {
        torch::serialize::OutputArchive a, model, optim;
        m.save(model);
        opt.save(optim);
        a.write("model", model);
        a.write("optimizer", optim);
        a.write("counters", torch::tensor({st.epoch, st.best_epoch, st.bad, st.plateau_bad,
                                           static_cast<std::int64_t>(st.finished)}));
        a.write("values", torch::tensor({st.best, st.plateau_best, st.lr}, torch::kFloat64));
        a.write("best_weights", bytes_tensor(st.best_weights));
        auto curve = torch::zeros({static_cast<std::int64_t>(st.curve.size()), 5}, torch::kFloat64);
        for (std::size_t i = 0; i < st.curve.size(); ++i) {
            const auto& r = st.curve[i];
            curve[static_cast<std::int64_t>(i)] =
                torch::tensor({r.train_loss, r.validation_mse, r.lr, r.seconds, r.train_seconds}, torch::kFloat64);
        }
        a.write("curve", curve);
        auto gen = at::detail::getDefaultCPUGenerator();
        {
            std::lock_guard<std::mutex> lock(gen.mutex());
            a.write("rng", gen.get_state());
        }
        write_file_atomic(file, to_bytes(a));
    }

    static void restore(const std::filesystem::path& file, torch::nn::Module& m, torch::optim::Optimizer& opt,
                        State& st, torch::Device device) {
        torch::serialize::InputArchive a, model, optim;
        a.load_from(file.string(), device);
        a.read("model", model);
        a.read("optimizer", optim);
        m.load(model);
        opt.load(optim);
        torch::Tensor counters, values, best, curve, rng;
        a.read("counters", counters);
        a.read("values", values);
        a.read("best_weights", best);
        a.read("curve", curve);
        a.read("rng", rng);
        counters = counters.to(torch::kCPU), values = values.to(torch::kCPU), curve = curve.to(torch::kCPU);
        st.epoch = counters[0].item<std::int64_t>(), st.best_epoch = counters[1].item<std::int64_t>();
        st.bad = counters[2].item<std::int64_t>(), st.plateau_bad = counters[3].item<std::int64_t>();
        st.finished = counters[4].item<std::int64_t>() != 0;
        st.best = values[0].item<double>(), st.plateau_best = values[1].item<double>(),
        st.lr = values[2].item<double>();
        st.best_weights = tensor_bytes(best.to(torch::kCPU));
        st.curve.clear();
        for (std::int64_t i = 0; i < curve.size(0); ++i)
            st.curve.push_back({curve[i][0].item<double>(), curve[i][1].item<double>(), curve[i][2].item<double>(),
                                curve[i][3].item<double>(), curve[i][4].item<double>()});
        set_lr(opt, st.lr);
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(rng.to(torch::kCPU));
    }

    Params p_;
};

}  // namespace

SIGX_PLUGIN(TorchTrainer)
