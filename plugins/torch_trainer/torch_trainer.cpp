// torch: a model-agnostic trainer for any model that offers sigx::TorchModelExtension.
// It knows nothing about LSTMs: the model supplies its module, its batches (with the
// validation part cut contiguously in time), its loss and its state hooks.
//
// Every epoch ends with an atomic checkpoint (weights, optimiser, scheduler, early-stopping
// state, best weights, RNG state, curve); a run resumed from it continues exactly as an
// uninterrupted one would, because every random draw is derived from the host's seed and
// the epoch number or restored from the checkpoint.
//
// Across processes (sigx::DataParallel; WORLD_SIZE > 1) every rank takes its share of the
// rows of each batch (independent examples or streams: the models' first dimension), the
// gradients are summed, weighted by share, in one flat bucket per step, so that the step
// equals one process's on the whole batch up to float summation order, and every rank
// applies the same bits. Rank 0's weights (or checkpoint) start every rank; rank 0 alone
// writes; the ranks check at the end that their weights are identical.
#include "ranks.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/torch.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace {

// Every training step allocates the same large activations and frees them again. glibc
// serves blocks over 128 KiB from fresh mappings, handed back at free, so every step
// page-faults its memory in anew. Kept mapped instead (the largest threshold glibc takes,
// 32 MiB, and trimming only past 512 MiB free), the reference configuration's first epoch
// ran at 748 windows/s instead of 549 (measured with the same settings through glibc's
// MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_, one run each, nothing else running).
void keep_freed_memory() {
    static const bool once = [] {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 512 << 20);
        return true;
    }();
    (void)once;
}

using namespace sigx;
using torch_trainer::Ranks;

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

// Sums of a pass's squared errors and their count; `stopped`: the user asked to stop.
struct Sums {
    double sum = 0, count = 0;
    bool stopped = false;
};

class TorchTrainer final : public Trainer, public DataParallel {
public:
    static Descriptor describe() {
        return {.name = "torch",
                .version = "1.0.0",
                .description =
                    "trains any LibTorch model (sigx.torch.model): Adam/SGD, early stopping, plateau LR, checkpoints",
                .params = {
                    ParamSpec::string("optimizer", "adam").one_of({"adam", "sgd"}).help("optimisation algorithm"),
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
                    ParamSpec::integer("patience", 10)
                        .at_least(0)
                        .help("early stopping: epochs without improvement; 0: off"),
                    ParamSpec::real("min_delta", 0.0)
                        .at_least(0.0)
                        .help("early stopping: smallest improvement that counts"),
                    ParamSpec::integer("plateau_patience", 5)
                        .at_least(0)
                        .help("reduce the LR after this many epochs without improvement; 0: off"),
                    ParamSpec::real("plateau_factor", 0.5).range(0.0, 1.0).help("multiply the LR by this on a plateau"),
                    ParamSpec::real("min_lr", 1e-6).at_least(0.0).help("the plateau schedule never goes below this"),
                    ParamSpec::boolean("restore_best", true).help("end with the weights of the best validation epoch"),
                    ParamSpec::integer("threads", 0)
                        .range(0, 1024)
                        .help("CPU threads for LibTorch, split between the ranks on one machine; 0: its default"),
                    ParamSpec::integer("timeout", 60)
                        .range(1, 86400)
                        .help("across processes: seconds to wait for the other ranks to join, or in any step, before "
                              "stopping with an error that names the missing rank"),
                    ParamSpec::string("device", "auto")
                        .one_of({"auto", "cpu", "cuda"})
                        .help("auto: CUDA when this LibTorch has it and a GPU is present")}};
    }

    explicit TorchTrainer(const Params& p) : p_(p) {
        if (p.string("device") == "cuda" && !torch::cuda::is_available())
            throw ParamError("device", "device = \"cuda\" but this LibTorch has no CUDA or no GPU is present");
    }

    void* extension(std::string_view id) override {
        return id == data_parallel_id ? static_cast<DataParallel*>(this) : nullptr;
    }

    std::string refusal(Model& model) override {
        if (torch_extension(model)) return {};
        if (torch_version_of(model))
            return fmt::format(
                "the model was built against LibTorch {}, this trainer against LibTorch {}; rebuild the model's "
                "plugin against LibTorch {}",
                torch_version_of(model), TORCH_VERSION, TORCH_VERSION);
        return "the model does not offer the sigx.torch.model extension; the torch trainer cannot fit it";
    }

    void train(Model& model, const Records& train, Host& host) override {
        if (const std::string why = refusal(model); !why.empty()) throw std::runtime_error(why);
        auto* ext = torch_extension(model);
        for (std::size_t r = 0; r < train.size(); ++r)
            if (!train[r].truth)
                throw std::runtime_error(fmt::format("training record {} ('{}') has no truth (references) to train on",
                                                     r, train[r].input.name));
        ranks_ = Ranks::join(std::chrono::seconds(p_.integer("timeout")));
        keep_freed_memory();
        const bool writer = !ranks_ || ranks_->rank() == 0;  // rank 0 alone writes
        if (const auto threads = p_.integer("threads"); threads > 0)
            torch::set_num_threads(static_cast<int>(std::max<std::int64_t>(1, threads / local_size())));
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
        const auto dir = writer ? host.output_dir() : std::filesystem::path();
        const auto checkpoint = dir / "checkpoint.pt";
        std::string resume_from;  // the checkpoint's bytes, rank 0's on every rank
        if (writer && std::filesystem::exists(checkpoint)) resume_from = read_bytes(checkpoint);
        if (ranks_) {
            check_same_start(train, module);
            resume_from = ranks_->broadcast(resume_from, "sharing rank 0's checkpoint");
            if (resume_from.empty()) {
                const std::string start = ranks_->broadcast(writer ? module_bytes(module) : std::string(),
                                                            "sharing rank 0's initial weights");
                if (!writer) load_module_bytes(module, start, device);
            }
            host.info(fmt::format("data-parallel over {} ranks ({}); this is rank {}, {} thread(s)", ranks_->size(),
                                  ranks_->where(), ranks_->rank(), torch::get_num_threads()));
        }
        if (!resume_from.empty()) {
            try {
                restore(resume_from, module, *optimizer, st, device);
            } catch (const std::exception& e) {
                throw std::runtime_error(
                    fmt::format("cannot resume from {}: it does not fit this model ({}); delete it to "
                                "train from scratch",
                                checkpoint.string(), e.what()));
            }
            if (writer) host.info(fmt::format("resumed from {} after epoch {}", checkpoint.string(), st.epoch));
        }
        // Dropout draws of each rank's own (rank 0 keeps the single-process stream).
        if (!writer) {
            const auto rank = static_cast<std::uint64_t>(ranks_->rank()), epoch = static_cast<std::uint64_t>(st.epoch);
            torch::manual_seed(seed ^ (std::uint64_t{0xbf58476d1ce4e5b9} * rank) ^ epoch);
        }

        const std::int64_t epochs = p_.integer("epochs");
        double step_seconds = 0;  // the training steps', this session
        allreduce_ = {};
        while (!st.finished && st.epoch < epochs) {
            const auto t0 = std::chrono::steady_clock::now();
            const std::int64_t epoch = st.epoch + 1;
            Sums trained = run_train_epoch(*ext, *optimizer, device, seed, epoch, host);
            if (trained.stopped) return;  // the last complete epoch's checkpoint stays
            const double train_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            step_seconds += train_secs;
            Sums validated = run_validation(*ext, device);
            if (ranks_) {  // every rank decides on the same totals
                auto totals = torch::tensor(
                    {trained.sum, trained.count, validated.sum, validated.count, host.cancelled() ? 1.0 : 0.0},
                    torch::kFloat64);
                ranks_->sum(totals, "summing the epoch's errors");
                trained = {totals[0].item<double>(), totals[1].item<double>()};
                validated = {totals[2].item<double>(), totals[3].item<double>()};
                if (totals[4].item<double>() > 0) return;
            }
            const double train_loss = trained.count > 0 ? trained.sum / trained.count : NAN;
            const double val = validated.count > 0 ? validated.sum / validated.count : NAN;
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
            if (!writer) continue;
            host.progress(
                {"epoch", epoch, epochs,
                 fmt::format("loss {:.4g}  val_mse {:.4g}  lr {:.3g}  {:.1f}s", train_loss, val, st.lr, secs)});
            write_curve(dir / "training_curve.csv", st.curve);
            save(checkpoint, module, *optimizer, st);
        }
        if (p_.boolean("restore_best") && !st.best_weights.empty()) load_module_bytes(module, st.best_weights, device);
        if (ranks_) {
            check_same_weights(module);
            if (allreduce_.steps > 0)
                host.info(
                    fmt::format("gradient all-reduce: {} floats, {} steps, {:.0f} us per step on average, {:.1f}% "
                                "of the training steps' time",
                                allreduce_.floats, allreduce_.steps,
                                1e6 * allreduce_.seconds / static_cast<double>(allreduce_.steps),
                                step_seconds > 0 ? 100 * allreduce_.seconds / step_seconds : 0.0));
        }
        if (writer) write_file_atomic(dir / "model.pt", module_bytes(module));
        host.info(fmt::format("trained {} epochs; best monitored MSE {:.4g} at epoch {}{}", st.epoch, st.best,
                              st.best_epoch,
                              ranks_ ? fmt::format("; weights identical on all {} ranks", ranks_->size()) : ""));
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

    std::int64_t local_size() const { return ranks_ ? ranks_->local_size() : 1; }

    // This rank's rows of a batch (the first dimension: independent examples or streams,
    // the same rows of every batch of a stream) and their share of the batch's loss.
    double take_rows(TorchBatch& b) const {
        const std::int64_t rows = b.input.size(0), r = ranks_->rank(), n = ranks_->size();
        const std::int64_t lo = rows * r / n, hi = rows * (r + 1) / n;
        b.input = b.input.narrow(0, lo, hi - lo), b.target = b.target.narrow(0, lo, hi - lo);
        return rows > 0 ? static_cast<double>(hi - lo) / static_cast<double>(rows) : 0.0;
    }

    Sums run_train_epoch(TorchModelExtension& ext, torch::optim::Optimizer& opt, torch::Device device,
                         std::uint64_t seed, std::int64_t epoch, Host& host) const {
        ext.module().train();
        ext.reset_state();
        const std::int64_t n = ext.begin_pass(Split::train, p_.integer("batch_size"),
                                              seed ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(epoch)));
        const double clip = p_.real("clip_grad_norm");
        Sums s;
        for (std::int64_t i = 0; i < n; ++i) {
            if (!ranks_ && host.cancelled()) return {0, 0, true};
            TorchBatch b = ext.batch(i);
            if (b.reset) ext.reset_state();
            const double share = ranks_ ? take_rows(b) : 1.0;
            opt.zero_grad();
            if (b.input.size(0) > 0) {
                b.input = b.input.to(device), b.target = b.target.to(device);
                auto loss = ext.loss(ext.forward(b), b);
                loss.backward();
                const double w = static_cast<double>(b.target.numel());
                s.sum += loss.item<double>() * w, s.count += w;
            }
            if (ranks_ && sum_gradients(ext.module(), share, host.cancelled())) return {0, 0, true};
            if (clip > 0) clip_gradients(ext.module(), clip);
            opt.step();
            ext.detach_state();
        }
        return s;
    }

    // One all-reduce over a flat bucket: every gradient weighted by this rank's share of
    // the batch, and a last element that is non-zero when any rank was asked to stop.
    // Returns whether to stop (on every rank at the same step).
    bool sum_gradients(torch::nn::Module& m, double share, bool stop) const {
        auto params = m.parameters();
        std::vector<torch::Tensor> parts;
        for (auto& p : params) {
            if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
            parts.push_back(p.grad().reshape(-1).to(torch::kCPU, torch::kFloat32) * share);
        }
        parts.push_back(torch::full({1}, stop ? 1.0f : 0.0f));
        auto bucket = torch::cat(parts);
        const auto t0 = std::chrono::steady_clock::now();
        ranks_->sum(bucket, "the gradient all-reduce");
        allreduce_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        allreduce_.steps += 1, allreduce_.floats = bucket.numel();
        std::int64_t at = 0;
        for (auto& p : params) {
            p.mutable_grad().copy_(bucket.narrow(0, at, p.numel()).view_as(p));
            at += p.numel();
        }
        return bucket[at].item<float>() > 0;
    }

    // Scales the gradients to a global norm of at most `max_norm`, like torch's
    // clip_grad_norm_, but summed in one fixed order (double precision): the same bits on
    // every rank, whatever its thread count.
    static void clip_gradients(torch::nn::Module& m, double max_norm) {
        double squares = 0;
        for (const auto& p : m.parameters()) {
            if (!p.grad().defined()) continue;
            const auto g = p.grad().to(torch::kCPU, torch::kFloat64).contiguous();
            const double* x = g.data_ptr<double>();
            for (std::int64_t k = 0; k < g.numel(); ++k) squares += x[k] * x[k];
        }
        const double scale = max_norm / (std::sqrt(squares) + 1e-6);
        if (scale >= 1) return;
        for (auto& p : m.parameters())
            if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }

    // Squared errors over the scored validation batches (this rank's rows of them).
    Sums run_validation(TorchModelExtension& ext, torch::Device device) const {
        torch::NoGradGuard no_grad;
        ext.module().eval();
        ext.reset_state();
        const std::int64_t n = ext.begin_pass(Split::validation, 1024, 0);
        Sums s;
        for (std::int64_t i = 0; i < n; ++i) {
            TorchBatch b = ext.batch(i);
            if (b.reset) ext.reset_state();
            if (ranks_) take_rows(b);
            if (b.input.size(0) == 0) continue;
            b.input = b.input.to(device), b.target = b.target.to(device);
            auto out = ext.forward(b);
            if (!b.score) continue;
            s.sum += (out - b.target).pow(2).sum().item<double>();
            s.count += static_cast<double>(b.target.numel());
        }
        ext.reset_state();
        return s;
    }

    // Every rank must start from the same model and data: the same pipeline, the same files.
    void check_same_start(const Records& train, torch::nn::Module& m) const {
        double parameters = 0, samples = 0, sum = 0;
        for (const auto& p : m.parameters()) parameters += static_cast<double>(p.numel());
        for (const auto& r : train)
            for (const auto& channel : r.input.channels) {
                samples += static_cast<double>(channel.size());
                for (double x : channel) sum += x;
            }
        const auto mine = torch::tensor({parameters, static_cast<double>(train.size()), samples, sum}, torch::kFloat64);
        auto first = mine.clone();
        ranks_->broadcast(first, "comparing the ranks' model and data");
        if (!torch::equal(mine, first))
            throw std::runtime_error(fmt::format(
                "rank {} has another model or other training data than rank 0 ({} parameters, {} records, {} "
                "samples summing to {:.17g} here; {}, {}, {}, {:.17g} on rank 0): every rank must run the same "
                "pipeline on the same files",
                ranks_->rank(), parameters, train.size(), samples, sum, first[0].item<double>(),
                first[1].item<double>(), first[2].item<double>(), first[3].item<double>()));
    }

    // Every rank must end with rank 0's weights, bit for bit; any that does not fails all.
    void check_same_weights(torch::nn::Module& m) const {
        std::vector<torch::Tensor> parts;
        for (const auto& p : m.parameters()) parts.push_back(p.detach().reshape(-1).to(torch::kCPU));
        const auto mine = torch::cat(parts);
        auto first = mine.clone();
        ranks_->broadcast(first, "comparing the trained weights");
        auto differ = torch::full({1}, torch::equal(mine, first) ? 0.0 : 1.0, torch::kFloat64);
        ranks_->sum(differ, "comparing the trained weights");
        if (differ.item<double>() > 0)
            throw std::runtime_error(
                fmt::format("after training, the weights of {} rank(s) differ from rank 0's", differ.item<double>()));
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

    static std::string read_bytes(const std::filesystem::path& file) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw std::runtime_error(fmt::format("cannot read {}", file.string()));
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    static void restore(const std::string& bytes, torch::nn::Module& m, torch::optim::Optimizer& opt, State& st,
                        torch::Device device) {
        torch::serialize::InputArchive a, model, optim;
        std::istringstream in(bytes);
        a.load_from(in, device);
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
    std::shared_ptr<Ranks> ranks_;  // the other processes training with this one; null: none
    mutable struct {
        double seconds = 0;  // waiting in the gradient all-reduce (its cost, and any imbalance)
        std::int64_t steps = 0, floats = 0;
    } allreduce_;
};

}  // namespace

SIGX_PLUGIN(TorchTrainer)
