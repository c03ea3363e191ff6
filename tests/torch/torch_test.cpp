// The LSTM extractors and the torch trainer: shapes and state handling, learning, the
// checkpoint round trip, resume == uninterrupted, early stopping and plateau LR on a
// crafted validation curve, and a third-party torch model defined only here.
#include "../../plugins/classical/kalman.hpp"
#include "support/support.hpp"

#include <sigx/torch.hpp>

// After LibTorch: its glog defines a CHECK that Catch must replace.
#include "support/streaming.hpp"

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <cmath>
#include <csignal>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

using namespace sigx;
namespace fs = std::filesystem;
using sigx::test::make_plugin;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

// A small four-component dataset: 1 s at 1 kHz.
Dataset small_data(std::int64_t train_records = 1) {
    return sigx::test::noisy_sinusoid(Params({{"duration", 1.0},
                                              {"phase_scale", 0.01},
                                              {"train_records", train_records},
                                              {"unseen_records", std::int64_t{1}}}));
}

std::shared_ptr<Model> make_model(const std::string& name, Params p = {}) {
    return make_plugin<Model>(name, Kind::model, std::move(p));
}

TorchModelExtension& ext(Model& m) {
    auto* e = torch_extension(m);
    REQUIRE(e != nullptr);
    return *e;
}

double max_abs_diff(const Prediction& a, const Prediction& b) {
    double d = 0;
    for (std::size_t c = 0; c < a.components.size(); ++c)
        for (std::size_t n = 0; n < a.components[c].size(); ++n)
            d = std::max(d, std::abs(a.components[c][n] - b.components[c][n]));
    return d;
}

// A host that asks the trainer to stop once `stop_after` epochs have been reported.
class StoppingHost final : public Host {
public:
    StoppingHost(std::filesystem::path dir, std::int64_t stop_after) : dir_(std::move(dir)), stop_after_(stop_after) {}
    void log(LogLevel, std::string_view) override {}
    std::filesystem::path output_dir() override { return dir_; }
    void progress(const Progress& p) override {
        if (first_epoch == 0) first_epoch = p.step;
        epochs_seen = p.step;
    }
    bool cancelled() const override { return stop_after_ > 0 && epochs_seen >= stop_after_; }
    std::uint64_t seed() const override { return 777; }
    std::int64_t first_epoch = 0, epochs_seen = 0;  // the epochs this host saw reported

private:
    std::filesystem::path dir_;
    std::int64_t stop_after_;
};

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
        rows.push_back(cells);
    }
    return rows;
}

// A third-party torch model known only to this test: a single weight w. Training
// batches fit w * x to 2 x; validation reports a crafted MSE per epoch (the output is
// target + sqrt(curve[epoch])), so the trainer's reaction to a known curve is observable.
struct CraftedNet : torch::nn::Module {
    CraftedNet() { w = register_parameter("w", torch::zeros({1})); }
    torch::Tensor w;
};

class CraftedModel final : public TorchModel {
public:
    explicit CraftedModel(std::vector<double> curve) : curve_(std::move(curve)) {}
    torch::nn::Module& module() override { return net_; }
    void prepare(const Records&, double) override {}
    std::int64_t begin_pass(Split split, std::int64_t, std::uint64_t) override {
        split_ = split;
        if (split == Split::validation) {
            weights_at_validation.push_back(net_.w.item<double>());
            ++epoch_;
        }
        return 1;
    }
    TorchBatch batch(std::int64_t) override {
        if (split_ == Split::train) return {torch::ones({4}), torch::full({4}, 2.0f), true, true};
        return {torch::zeros({4}), torch::zeros({4}), true, true};
    }
    torch::Tensor forward(const TorchBatch& b) override {
        if (split_ == Split::train) return net_.w * b.input;
        const double mse = curve_.at(static_cast<std::size_t>(epoch_ - 1));
        return b.target + std::sqrt(mse);
    }
    Prediction predict(const Input& s, const Task&, Host&) override { return {{s.channels.at(0)}}; }

    std::vector<double> weights_at_validation;
    double w() { return net_.w.item<double>(); }

private:
    std::vector<double> curve_;
    CraftedNet net_;
    Split split_ = Split::train;
    std::int64_t epoch_ = 0;
};

}  // namespace

TEST_CASE("lstm.stateful: stream batches, carried state, detach after backward, reset per record", "[torch][lstm]") {
    const Dataset data = small_data(2);
    auto model = make_model(
        "lstm.stateful",
        Params({{"hidden", std::int64_t{8}}, {"samples_per_step", std::int64_t{4}}, {"bptt", std::int64_t{25}}}));
    auto& e = ext(*model);
    torch::manual_seed(1);
    e.prepare(data.train, 0.2);

    const std::int64_t n = e.begin_pass(Split::train, 16, 0);
    // 1000 samples / 4 per step = 250 steps; 80% train = 200 steps in chunks of 25.
    REQUIRE(n == 8);
    TorchBatch b0 = e.batch(0), b1 = e.batch(1);
    // Two records x four selector streams in one batch; each step: 4 samples + one-hot.
    CHECK(b0.input.sizes() == torch::IntArrayRef({8, 25, 8}));
    CHECK(b0.target.sizes() == torch::IntArrayRef({8, 25, 4}));
    CHECK(b0.reset);
    CHECK_FALSE(b1.reset);
    // Stream k carries selector k % 4.
    CHECK(b0.input[5][0][4 + 1].item<float>() == 1.0f);
    CHECK(b0.input[5][0][4 + 0].item<float>() == 0.0f);

    SECTION("batch_size counts records: one record per batch keeps its four streams together") {
        REQUIRE(e.begin_pass(Split::train, 1, 0) == 16);
        CHECK(e.batch(0).input.size(0) == 4);
        CHECK(e.batch(7).input.size(1) == 25);
        CHECK(e.batch(8).reset);  // the second record starts afresh
        CHECK((e.batch(8).input - b0.input.narrow(0, 4, 4)).abs().max().item<float>() == 0.0f);
    }
    SECTION("train_segment restarts the state at a random offset, then every segment") {
        auto seg = make_model("lstm.stateful", Params({{"hidden", std::int64_t{8}},
                                                       {"samples_per_step", std::int64_t{4}},
                                                       {"bptt", std::int64_t{25}},
                                                       {"train_segment", std::int64_t{60}}}));
        ext(*seg).prepare(data.train, 0.2);
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            const std::int64_t batches = ext(*seg).begin_pass(Split::train, 16, seed);
            std::int64_t t = 0, first_restart = -1, covered = 0;
            for (std::int64_t i = 0; i < batches; ++i) {
                TorchBatch b = ext(*seg).batch(i);
                CHECK(b.input.size(1) <= 25);
                if (b.reset && t > 0) {
                    if (first_restart < 0) first_restart = t;
                    CHECK((t - first_restart) % 60 == 0);  // then every 60 steps
                }
                t += b.input.size(1), covered += b.input.size(1);
            }
            CHECK(covered == 200);  // every training step exactly once
            CHECK(first_restart >= 1);
            CHECK(first_restart <= 60);
        }
    }
    SECTION("state carries from chunk to chunk and reset forgets it") {
        torch::NoGradGuard g;
        e.reset_state();
        e.forward(b0);
        auto carried = e.forward(b1);
        e.reset_state();
        auto fresh = e.forward(b1);
        CHECK(carried.sizes() == b1.target.sizes());
        CHECK((carried - fresh).abs().max().item<double>() > 1e-6);
        e.reset_state();
        auto again = e.forward(b1);
        CHECK((again - fresh).abs().max().item<double>() == 0.0);
    }
    SECTION("detach_state lets the next chunk backpropagate without the previous graph") {
        e.reset_state();
        torch::mse_loss(e.forward(b0), b0.target).backward();
        e.detach_state();
        CHECK_NOTHROW(torch::mse_loss(e.forward(b1), b1.target).backward());
    }
    SECTION("without detaching, the freed graph of the previous chunk is reached") {
        e.reset_state();
        torch::mse_loss(e.forward(b0), b0.target).backward();
        CHECK_THROWS(torch::mse_loss(e.forward(b1), b1.target).backward());
    }
    SECTION("validation warms the state up over the training part, unscored") {
        const std::int64_t v = e.begin_pass(Split::validation, 16, 0);
        REQUIRE(v == 3);  // warm-up (200 steps), then 50 validation steps in chunks of 25
        CHECK_FALSE(e.batch(0).score);
        CHECK(e.batch(0).input.size(1) == 200);
        CHECK(e.batch(1).score);
        CHECK_FALSE(e.batch(1).reset);
    }
    SECTION("prediction covers every sample of any test record") {
        TestHost host;
        const Record& unseen = data.tests.at(1).records.at(0);
        Prediction p = model->predict(unseen.input, unseen.task, host);
        REQUIRE(p.components.size() == 4);
        CHECK(p.components[3].size() == unseen.size());
    }
}

TEST_CASE("bidirectional lstm.stateful: random training windows, gated direction heads, windowed prediction",
          "[torch][lstm]") {
    const Dataset data = small_data(2);
    torch::manual_seed(2);
    auto model = make_model("lstm.stateful", Params({{"hidden", std::int64_t{8}},
                                                     {"samples_per_step", std::int64_t{4}},
                                                     {"bptt", std::int64_t{60}},
                                                     {"bidirectional", true}}));
    auto& e = ext(*model);
    e.prepare(data.train, 0.2);

    SECTION("training: as many windows of bptt steps as cover the 200 training steps, at drawn offsets") {
        // The offset of a window: where its first frame sits in record 0's mix.
        auto offset_of = [&](const TorchBatch& b) {
            const auto& mix = data.train[0].input.channels[0];
            for (std::size_t step = 0; step < 200; ++step)
                if (static_cast<float>(mix[4 * step]) == b.input[0][0][0].item<float>() &&
                    static_cast<float>(mix[4 * step + 1]) == b.input[0][0][1].item<float>())
                    return static_cast<std::int64_t>(step);
            return std::int64_t{-1};
        };
        std::set<std::int64_t> offsets;
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            REQUIRE(e.begin_pass(Split::train, 16, seed) == 4);  // ceil(200 / 60)
            for (std::int64_t i = 0; i < 4; ++i) {
                TorchBatch b = e.batch(i);
                CHECK(b.input.sizes() == torch::IntArrayRef({8, 60, 4 + 4}));
                CHECK(b.reset);
                const std::int64_t o = offset_of(b);
                CHECK(o >= 0);
                CHECK(o <= 200 - 60);  // inside the training part
                offsets.insert(o);
            }
        }
        CHECK(offsets.size() > 4);  // not fixed tiles
    }
    SECTION("each direction's head is scored besides the gated mix") {
        e.begin_pass(Split::train, 16, 1);
        TorchBatch b = e.batch(0);
        auto out = e.forward(b);
        CHECK(out.sizes() == b.target.sizes());
        CHECK(e.loss(out, b).item<double>() > torch::mse_loss(out, b.target).item<double>());
    }
    SECTION("prediction: each sample comes from one window of bptt steps, however long the record") {
        // 250 steps; windows start at 0, 30, ..., 180 and 190. Step 100 (sample 400) lies
        // in the window of steps 60..119 (samples 240..479) and comes from it alone.
        TestHost host;
        Record record = data.tests.at(1).records.at(0);
        const Prediction base = model->predict(record.input, record.task, host);
        REQUIRE(base.components.size() == 4);
        CHECK(base.components[2].size() == record.size());
        auto at_400_after = [&](std::size_t sample) {
            Record changed = record;
            changed.input.channels[0][sample] += 1.0;
            return model->predict(changed.input, changed.task, host).components[1][400];
        };
        CHECK(at_400_after(600) == base.components[1][400]);
        CHECK(at_400_after(200) == base.components[1][400]);
        CHECK(at_400_after(250) != base.components[1][400]);
        CHECK(at_400_after(470) != base.components[1][400]);
    }
}

TEST_CASE("lstm.sequence: windows of L steps of context samples, last sample as target", "[torch][lstm]") {
    const Dataset data = small_data();
    auto model = make_model("lstm.sequence", Params({{"window", std::int64_t{10}},
                                                     {"context", std::int64_t{3}},
                                                     {"hidden", std::int64_t{8}},
                                                     {"layers", std::int64_t{1}}}));
    auto& e = ext(*model);
    e.prepare(data.train, 0.1);
    const std::int64_t n = e.begin_pass(Split::train, 16, 5);
    CHECK(n == (4 * 900 + 15) / 16);
    TorchBatch b = e.batch(0);
    CHECK(b.input.sizes() == torch::IntArrayRef({16, 10, 3 + 4}));
    CHECK(b.target.sizes() == torch::IntArrayRef({16}));
    CHECK(e.forward(b).sizes() == torch::IntArrayRef({16}));
    // Each row's selector is one-hot and the same on every step.
    auto sel = b.input.narrow(2, 3, 4);
    CHECK((sel.sum(2) - 1).abs().max().item<float>() == 0.0f);
    CHECK((sel - sel.select(1, 0).unsqueeze(1)).abs().max().item<float>() == 0.0f);
    // The last step's last context sample is the mix at the target's time: find the row's
    // time by matching its target among the references.
    const auto& mix = data.train[0].input.channels[0];
    const auto& reference =
        data.train[0].truth->references.at(static_cast<std::size_t>(sel[0][0].argmax().item<std::int64_t>()));
    const float last = b.input[0][9][2].item<float>(), target = b.target[0].item<float>();
    bool found = false;
    for (std::size_t t = 0; t < mix.size() && !found; ++t)
        found = static_cast<float>(mix[t]) == last && static_cast<float>(reference[t]) == target;
    CHECK(found);
}

TEST_CASE("one training step lowers the loss on a fixed batch, for every LSTM form", "[torch][lstm]") {
    const Dataset data = small_data();
    for (const std::string name : {"lstm.stateful", "lstm.sequence", "lstm.film"}) {
        INFO(name);
        torch::manual_seed(3);
        auto model = make_model(name, Params({{"hidden", std::int64_t{16}}, {"dropout", 0.0}}));
        auto& e = ext(*model);
        e.prepare(data.train, 0.1);
        e.begin_pass(Split::train, 16, 1);
        TorchBatch b = e.batch(0);
        torch::optim::Adam opt(e.module().parameters(), torch::optim::AdamOptions(1e-2));
        auto loss_of = [&] {
            e.reset_state();
            return e.loss(e.forward(b), b);
        };
        const double before = loss_of().item<double>();
        for (int i = 0; i < 3; ++i) {
            auto loss = loss_of();
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        CHECK(loss_of().item<double>() < before);
    }
}

TEST_CASE("each LSTM says what it is: causal or not, learned or hybrid (and with what)", "[torch][lstm]") {
    auto nature = [](const std::string& name, Params p) {
        auto m = make_model(name, std::move(p));
        const ModelNature* n = model_nature(*m);
        REQUIRE(n != nullptr);
        return *n;
    };
    auto n = nature("lstm.stateful", {});
    CHECK((n.causal && n.method == ModelNature::Method::learned && n.parts == "LSTM"));
    n = nature("lstm.stateful", Params({{"tracker", std::string("kalman")}}));
    CHECK((n.causal && n.method == ModelNature::Method::hybrid && n.parts == "LSTM + Kalman tracker"));
    n = nature("lstm.film", Params({{"bidirectional", true}, {"tracker", std::string("kalman")}}));
    CHECK((!n.causal && n.method == ModelNature::Method::hybrid &&
           n.parts == "bidirectional FiLM LSTM + Kalman tracker"));
    n = nature("lstm.sequence", {});
    CHECK((n.causal && n.method == ModelNature::Method::learned && n.parts == "windowed LSTM"));
}

TEST_CASE("fused LSTM training: outputs and every parameter's gradient equal LibTorch autograd's", "[torch][lstm]") {
    const Dataset data = small_data();
    const std::vector<std::pair<std::string, Params>> forms = {
        {"lstm.stateful", Params({{"layers", std::int64_t{1}}})},
        {"lstm.stateful", Params({{"layers", std::int64_t{2}}})},
        {"lstm.film", Params({{"layers", std::int64_t{2}}})},
        {"lstm.stateful", Params({{"bidirectional", true}, {"bptt", std::int64_t{20}}})},
        {"lstm.stateful", Params({{"tracker", std::string("kalman")}})},
        {"lstm.sequence", Params({{"layers", std::int64_t{2}}, {"window", std::int64_t{12}}})}};
    for (const auto& [name, given] : forms) {
        INFO(name << " with " << given.values().size() << " parameter(s) set: " << given.values().begin()->first);
        auto make = [&](const std::string& training) {
            auto values = given.values();
            values["training"] = training, values["hidden"] = std::int64_t{8}, values["dropout"] = 0.0;
            if (name != "lstm.sequence") values["samples_per_step"] = std::int64_t{5};
            torch::manual_seed(5);  // the same initial weights for both
            auto m = make_model(name, Params(values));
            ext(*m).prepare(data.train, 0.2);
            ext(*m).module().train();
            return m;
        };
        auto fused = make("fused"), reference = make("torch");
        auto& f = ext(*fused);
        auto& r = ext(*reference);
        const auto batches = f.begin_pass(Split::train, 2, 9);
        REQUIRE(r.begin_pass(Split::train, 2, 9) == batches);
        REQUIRE(batches >= 2);
        // Two consecutive batches: the second carries the first's (detached) state, as
        // truncated BPTT does.
        for (std::int64_t k = 0; k < 2; ++k) {
            INFO("batch " << k);
            const TorchBatch bf = f.batch(k), br = r.batch(k);
            if (bf.reset) f.reset_state(), r.reset_state();
            const auto out_f = f.forward(bf), out_r = r.forward(br);
            CHECK((out_f - out_r).norm().item<double>() <= 1e-5 * out_r.norm().item<double>());
            f.module().zero_grad(), r.module().zero_grad();
            f.loss(out_f, bf).backward();
            r.loss(out_r, br).backward();
            auto pf = f.module().named_parameters(), pr = r.module().named_parameters();
            for (const auto& p : pr) {
                INFO(p.key());
                const auto& gr = p.value().grad();
                const auto& gf = pf[p.key()].grad();
                REQUIRE(gr.defined());
                REQUIRE(gf.defined());
                // Relative to the gradient's size: float32 sums in another order differ by
                // ~1e-7 relative; a wrong term (a gate, a step, the carried state) by > 1e-2.
                CHECK((gf - gr).norm().item<double>() <= 1e-5 * gr.norm().item<double>() + 1e-12);
            }
            f.detach_state(), r.detach_state();
        }
    }
}

TEST_CASE("checkpoint round trip gives identical predictions", "[torch][lstm]") {
    const Dataset data = small_data();
    TempDir dir;
    TestHost host;
    for (const std::string name : {"lstm.stateful", "lstm.sequence", "lstm.film"}) {
        INFO(name);
        torch::manual_seed(11);
        auto a = make_model(name, Params({{"hidden", std::int64_t{8}}}));
        ext(*a).prepare(data.train, 0.1);
        const Prediction pa = a->predict(data.tests[0].records[0].input, data.tests[0].records[0].task, host);
        ext(*a).save(dir.path() / "w.pt");

        torch::manual_seed(99);  // different initial weights
        auto b = make_model(name, Params({{"hidden", std::int64_t{8}}}));
        ext(*b).prepare(data.train, 0.1);
        CHECK(max_abs_diff(pa, b->predict(data.tests[0].records[0].input, data.tests[0].records[0].task, host)) > 0);
        ext(*b).load(dir.path() / "w.pt");
        CHECK(max_abs_diff(pa, b->predict(data.tests[0].records[0].input, data.tests[0].records[0].task, host)) == 0.0);
    }
}

TEST_CASE("torch trainer: an interrupted run resumed from its checkpoint ends like an uninterrupted one",
          "[torch][trainer]") {
    const Dataset data = small_data();
    const Params trainer_params({{"epochs", std::int64_t{4}}, {"lr", 1e-2}, {"threads", std::int64_t{1}}});
    const Params model_params({{"hidden", std::int64_t{8}}, {"samples_per_step", std::int64_t{5}}, {"dropout", 0.1}});
    auto train = [&](const std::filesystem::path& dir, std::int64_t stop_after) {
        auto model = make_model("lstm.stateful", model_params);
        auto trainer = make_plugin<Trainer>("torch", Kind::trainer, trainer_params);
        StoppingHost host(dir, stop_after);
        trainer->train(*model, data.train, host);
        return std::make_tuple(model, host.first_epoch, host.epochs_seen);
    };
    TempDir whole, split;
    TestHost host;
    auto [uninterrupted, first_whole, n_whole] = train(whole.path(), 0);
    CHECK(first_whole == 1);
    CHECK(n_whole == 4);

    auto [stopped, first_split, n_first] = train(split.path(), 2);
    CHECK(n_first == 2);
    CHECK(read_csv(split.path() / "training_curve.csv").size() == 1 + 2);
    CHECK_FALSE(std::filesystem::exists(split.path() / "model.pt"));

    auto [resumed, first_rest, n_rest] = train(split.path(), 0);
    CHECK(first_rest == 3);  // continued with epochs 3 and 4, not from scratch
    CHECK(n_rest == 4);
    const auto curve_whole = read_csv(whole.path() / "training_curve.csv");
    const auto curve_split = read_csv(split.path() / "training_curve.csv");
    REQUIRE(curve_split.size() == curve_whole.size());
    for (std::size_t i = 1; i < curve_whole.size(); ++i) {
        CHECK(curve_split[i][1] == curve_whole[i][1]);  // train loss, printed to 9 digits
        CHECK(curve_split[i][2] == curve_whole[i][2]);  // validation MSE
    }
    const Record& test = data.tests[0].records[0];
    CHECK(max_abs_diff(uninterrupted->predict(test.input, test.task, host),
                       resumed->predict(test.input, test.task, host)) == 0.0);
}

TEST_CASE("torch trainer: same seed, same result", "[torch][trainer]") {
    const Dataset data = small_data();
    TempDir a, b;
    auto run = [&](const std::filesystem::path& dir) {
        auto model =
            make_model("lstm.sequence",
                       Params({{"hidden", std::int64_t{8}}, {"layers", std::int64_t{1}}, {"window", std::int64_t{8}}}));
        auto trainer = make_plugin<Trainer>(
            "torch", Kind::trainer,
            Params({{"epochs", std::int64_t{1}}, {"batch_size", std::int64_t{64}}, {"threads", std::int64_t{1}}}));
        StoppingHost host(dir, 0);
        trainer->train(*model, data.train, host);
        TestHost h;
        return model->predict(data.tests[0].records[0].input, data.tests[0].records[0].task, h);
    };
    CHECK(max_abs_diff(run(a.path()), run(b.path())) == 0.0);
}

TEST_CASE("torch trainer: early stopping, plateau LR and best weights on a crafted validation curve",
          "[torch][trainer]") {
    // Best at epoch 2, then worse every epoch.
    CraftedModel model({1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3});
    auto trainer = make_plugin<Trainer>("torch", Kind::trainer,
                                        Params({{"epochs", std::int64_t{10}},
                                                {"lr", 0.01},
                                                {"patience", std::int64_t{4}},
                                                {"plateau_patience", std::int64_t{2}},
                                                {"plateau_factor", 0.5}}));
    TempDir dir;
    StoppingHost host(dir.path(), 0);
    const Dataset data = small_data();
    trainer->train(model, data.train, host);

    const auto curve = read_csv(dir.path() / "training_curve.csv");
    REQUIRE(curve.size() == 1 + 6);  // stopped after 4 epochs without improvement
    std::vector<double> lr, val;
    for (std::size_t i = 1; i < curve.size(); ++i)
        lr.push_back(std::stod(curve[i][3])), val.push_back(std::stod(curve[i][2]));
    CHECK(val[1] == Approx(0.5));
    CHECK(val[5] == Approx(0.9));
    // Two epochs without improvement halve the LR: after epochs 4 and 6.
    CHECK(lr == std::vector<double>{0.01, 0.01, 0.01, 0.005, 0.005, 0.0025});
    // The trainer fitted w towards 2, and ended with the weights of epoch 2.
    REQUIRE(model.weights_at_validation.size() == 6);
    CHECK(model.weights_at_validation[5] > model.weights_at_validation[1]);
    CHECK(model.w() == model.weights_at_validation[1]);
}

TEST_CASE("torch trainer refuses a model without the torch extension", "[torch][trainer]") {
    auto fft = make_model("fft.block");
    auto trainer = make_plugin<Trainer>("torch", Kind::trainer);
    TempDir dir;
    StoppingHost host(dir.path(), 0);
    CHECK_THROWS_WITH(trainer->train(*fft, small_data().train, host), Catch::Contains("sigx.torch.model"));
}

TEST_CASE("sigx run --resume finishes an interrupted run exactly as an uninterrupted one", "[torch][cli]") {
    namespace fs = std::filesystem;
    const std::string pipeline = sigx::test::quote((sigx::test::data_dir() / "small_lstm.toml").string());
    TempDir whole, split;
    auto full = sigx::test::run_sigx("run " + pipeline + " --out " + sigx::test::quote(whole.path().string()));
    REQUIRE(full.status == 0);
    // Not a terminal: one plain progress line per epoch, with the loss, validation MSE, lr and ETA.
    CHECK_THAT(full.output, Catch::Contains("lstm: epoch 1/150  loss ") && Catch::Contains("val_mse") &&
                                Catch::Contains("epoch 150/150") && Catch::Contains("eta 0s"));
    CHECK(full.output.find('\r') == std::string::npos);

    // Start the same run, and interrupt it (SIGINT, as Ctrl-C) once its first checkpoint exists.
    const std::string cmd = "exec env -u SIGX_PLUGIN_PATH " + sigx::test::quote(sigx::test::sigx_exe().string()) +
                            " run -q " + pipeline + " --out " + sigx::test::quote(split.path().string()) +
                            " >/dev/null 2>&1";
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    fs::path partial;
    for (int i = 0; i < 3000 && partial.empty(); ++i) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(split.path(), ec))
            if (fs::exists(e.path() / "lstm" / "checkpoint.pt")) partial = e.path();
        if (partial.empty()) usleep(10000);
    }
    REQUIRE_FALSE(partial.empty());
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    REQUIRE(fs::is_directory(partial));  // kept, still under its temporary name
    CHECK(partial.filename().string().find(".partial") != std::string::npos);

    auto resumed = sigx::test::run_sigx("run -q --resume " + sigx::test::quote(partial.string()));
    INFO(resumed.output);
    REQUIRE(resumed.status == 0);
    CHECK_FALSE(fs::exists(partial));
    auto final_dir = [](const fs::path& parent) {
        for (const auto& e : fs::directory_iterator(parent))
            if (e.path().filename().string()[0] != '.') return e.path();
        return fs::path();
    };
    // Not trained again from scratch: the log (kept across the interruption) says so.
    CHECK_THAT(sigx::test::read_text(final_dir(split.path()) / "log.txt"), Catch::Contains("resumed from"));
    auto metrics_in = [&](const fs::path& parent) {
        return nlohmann::json::parse(sigx::test::read_text(final_dir(parent) / "metrics.json"));
    };
    const auto a = metrics_in(whole.path()), b = metrics_in(split.path());
    REQUIRE(a.contains("results"));
    CHECK(a["results"] == b["results"]);
    CHECK(a["results"]["unseen_phase"]["lstm"]["mean"]["mse"].get<double>() < 0.5);
}

TEST_CASE("saved LSTMs: every LSTM restores bit for bit, and fine-tuning continues from the saved weights",
          "[torch][saved]") {
    const Dataset data = small_data(1);
    auto trainer = make_plugin<Trainer>("torch", Kind::trainer,
                                        Params({{"epochs", std::int64_t{2}}, {"threads", std::int64_t{1}}}));
    for (const std::string name : {"lstm.stateful", "lstm.film", "lstm.sequence"}) {
        INFO(name);
        TempDir t;
        TestHost host(t.path());
        const Params p({{"hidden", std::int64_t{6}}});
        auto fitted = make_model(name, p);
        trainer->train(*fitted, data.train, host);
        ModelState* state = model_state(*fitted);
        REQUIRE(state);
        fs::create_directories(t.path() / "state");
        state->save_state(t.path() / "state");
        auto restored = make_model(name, p);
        model_state(*restored)->load_state(t.path() / "state", data.train[0].task.size());
        const Record& r = data.tests[1].records[0];
        const Prediction a = fitted->predict(r.input, r.task, host), b = restored->predict(r.input, r.task, host);
        CHECK(max_abs_diff(a, b) == 0.0);
    }

    SECTION("fine_tune = true: the first epoch starts where the saved model ended") {
        TempDir t;
        auto pipeline = [&](const std::string& extra) {
            const fs::path file = t.path() / "p.toml";
            // The quickstart's LSTM and trainer, on 4 records of 5 s, 6 epochs: it learns.
            std::ofstream(file) << "[pipeline]\nname = \"ft\"\n[source]\nplugin = \"noisy_sinusoid\"\nduration = 5.0\n"
                                   "phase_scale = 0.01\ntrain_records = 4\nrandom_start = true\n"
                                   "[trainers.torch]\nplugin = \"torch\"\nthreads = 1\nepochs = 6\nlr = 0.01\n"
                                   "clip_grad_norm = 1.0\n"
                                   "[models.lstm]\nplugin = \"lstm.stateful\"\ntrainer = \"torch\"\nhidden = 32\n"
                                   "samples_per_step = 10\n"
                                << extra << "[[evaluate]]\nplugin = \"metrics\"\n";
            return file;
        };
        auto curve = [](const fs::path& run) {  // validation MSE per epoch
            std::ifstream in(run / "lstm" / "training_curve.csv");
            std::string line;
            std::getline(in, line);
            std::vector<double> mse;
            while (std::getline(in, line)) {
                const auto a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
                mse.push_back(std::stod(line.substr(b + 1, c - b - 1)));
            }
            return mse;
        };
        auto r = sigx::test::run_sigx("run -q " + sigx::test::quote(pipeline("").string()) + " --out " +
                                      sigx::test::quote((t.path() / "a").string()));
        REQUIRE(r.status == 0);
        const fs::path first = sigx::test::only_run(t.path() / "a");
        // Fine-tuning takes a smaller step than training from scratch: a fresh Adam at the
        // first run's learning rate would first shake the weights it was given.
        r = sigx::test::run_sigx(
            "run -q " +
            sigx::test::quote(
                pipeline("from = " + sigx::test::quote(first.string()) + "\nfine_tune = true\n").string()) +
            " trainers.torch.lr=0.001 --out " + sigx::test::quote((t.path() / "b").string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        const auto before = curve(first), after = curve(sigx::test::only_run(t.path() / "b"));
        REQUIRE(!before.empty());
        REQUIRE(!after.empty());
        const double saved = *std::min_element(before.begin(), before.end());  // restore_best kept that epoch's
        INFO("saved model's best validation MSE " << saved << ", first fine-tuning epoch " << after.front()
                                                  << ", first epoch from scratch " << before.front());
        CHECK(after.front() <= saved * 1.05);
        CHECK(after.front() < before.front());
    }
}

TEST_CASE(
    "saved LSTMs: spoiled weights (truncated, oversized, NaN-filled, another shape, random, flipped bytes) are "
    "one error naming the file",
    "[torch][saved]") {
    const Dataset data = small_data(1);
    TempDir t;
    TestHost host(t.path());
    const std::size_t components = data.train[0].task.size();
    auto trainer = make_plugin<Trainer>("torch", Kind::trainer,
                                        Params({{"epochs", std::int64_t{1}}, {"threads", std::int64_t{1}}}));
    const Params p({{"hidden", std::int64_t{6}}, {"tracker", std::string("kalman")}});
    auto fitted = make_model("lstm.stateful", p);
    trainer->train(*fitted, data.train, host);
    const fs::path dir = t.path() / "state", weights = dir / "weights.bin";
    fs::create_directories(dir);
    model_state(*fitted)->save_state(dir);
    const std::string original = sigx::test::read_text(weights);
    // The same network with NaN weights; one of another width.
    const fs::path other = t.path() / "other";
    fs::create_directories(other);
    {
        torch::NoGradGuard no_grad;
        for (auto& w : ext(*fitted).module().parameters()) w.fill_(std::nan(""));
    }
    ext(*fitted).save(other / "nan.pt");
    auto wider = make_model("lstm.stateful", Params({{"hidden", std::int64_t{7}}, {"tracker", std::string("kalman")}}));
    TempDir elsewhere;  // the trainer would resume from the first one's checkpoint
    TestHost wider_host(elsewhere.path());
    trainer->train(*wider, data.train, wider_host);
    ext(*wider).save(other / "wider.pt");
    std::mt19937 rng(11);
    std::string random(original.size(), '\0');
    for (char& c : random) c = static_cast<char>(rng());
    const std::vector<std::pair<std::string, std::string>> spoiled = {
        {"truncated", original.substr(0, original.size() / 2)},
        {"oversized", original + std::string(4u << 20, '\0')},
        {"NaN-filled", sigx::test::read_text(other / "nan.pt")},
        {"of another shape", sigx::test::read_text(other / "wider.pt")},
        {"random bytes", random}};
    auto load = [&] { model_state(*make_model("lstm.stateful", p))->load_state(dir, components); };
    for (const auto& [how, bytes] : spoiled) {
        INFO(how);
        sigx::test::write_text(weights, bytes);
        CHECK_THROWS_WITH(load(), Catch::Contains(weights.string()) && !Catch::Contains("\n"));
    }
    // A simple mutation fuzzer over the file: 300 copies, each with 1 to 8 random bytes
    // changed: each is one error naming the file (the checksum), nothing crashes.
    // (LibTorch's own archive reader crashed on the 18th of these.)
    int refused = 0;
    for (int k = 0; k < 300; ++k) {
        std::string bytes = original;
        for (int n = 1 + static_cast<int>(rng() % 8); n > 0; --n) {  // a byte changed, never kept
            const std::size_t at = rng() % bytes.size();
            bytes[at] = static_cast<char>(bytes[at] ^ static_cast<char>(1 + rng() % 255));
        }
        sigx::test::write_text(weights, bytes);
        try {
            load();
        } catch (const std::runtime_error& e) {
            ++refused;
            INFO("mutation " << k);
            CHECK_THAT(e.what(), Catch::Contains(weights.string()));
        }
    }
    CHECK(refused == 300);
    // Unspoiled, it loads.
    sigx::test::write_text(weights, original);
    CHECK_NOTHROW(load());
    // The hybrid's tracker calibration, spoiled: the same.
    sigx::test::write_text(dir / "tracker.txt", "nan nan nan\n");
    CHECK_THROWS_WITH(load(), Catch::Contains((dir / "tracker.txt").string()));
}

TEST_CASE("causal LSTMs stream on their own inference path, equal to LibTorch's to 1e-5", "[torch][streaming]") {
    const Dataset data = small_data(1);
    auto trainer = make_plugin<Trainer>("torch", Kind::trainer,
                                        Params({{"epochs", std::int64_t{1}}, {"threads", std::int64_t{1}}}));
    const Record& r = data.tests[1].records[0];
    struct Case {
        std::string model;
        Params params;
    };
    for (const Case& c :
         {Case{"lstm.stateful", Params({{"hidden", std::int64_t{16}}, {"samples_per_step", std::int64_t{10}}})},
          Case{"lstm.stateful", Params({{"hidden", std::int64_t{8}}, {"layers", std::int64_t{2}}})},
          Case{"lstm.film", Params({{"hidden", std::int64_t{12}}, {"samples_per_step", std::int64_t{4}}})},
          Case{"lstm.stateful", Params({{"hidden", std::int64_t{8}},
                                        {"samples_per_step", std::int64_t{5}},
                                        {"tracker", std::string("kalman")},
                                        {"handover", 0.3}})}}) {
        INFO(c.model << " " << c.params.integer("hidden") << " hidden");
        TempDir t;
        TestHost host(t.path());
        auto native = make_model(c.model, c.params);
        trainer->train(*native, data.train, host);
        sigx::test::check_streaming(*native, r);
        // The same weights through LibTorch's LSTM.
        fs::create_directories(t.path() / "state");
        model_state(*native)->save_state(t.path() / "state");
        Params torch_params = c.params;
        torch_params.set("inference", std::string("torch"));
        auto reference = make_model(c.model, torch_params);
        model_state(*reference)->load_state(t.path() / "state", r.task.size());
        const Prediction a = native->predict(r.input, r.task, host), b = reference->predict(r.input, r.task, host);
        CHECK(max_abs_diff(a, b) <= 1e-5);
        CHECK(max_abs_diff(a, b) > 0);  // two computations, not one
    }
    // A bidirectional LSTM is refused, saying why.
    TempDir t;
    TestHost host(t.path());
    auto bi = make_model("lstm.stateful", Params({{"hidden", std::int64_t{4}}, {"bidirectional", true}}));
    trainer->train(*bi, data.train, host);
    StreamConfig config{r.input.sample_rate, 1, 0, r.task, 16};
    CHECK_THROWS_WITH(streaming(*bi)->configure(config),
                      Catch::Contains("bidirectional = true") && Catch::Contains("non-causal"));
}

TEST_CASE(
    "lstm hybrid: reads the Kalman tracker's estimate, restarts it with its state, corrects it only while "
    "locking on",
    "[torch][lstm]") {
    const Dataset data = small_data(2);  // 1-s records at 1 kHz
    TestHost host;
    auto hybrid = make_model("lstm.stateful", Params({{"hidden", std::int64_t{8}},
                                                      {"samples_per_step", std::int64_t{5}},
                                                      {"train_segment", std::int64_t{60}},
                                                      {"tracker", std::string("kalman")},
                                                      {"handover", 0.2}}));
    auto& e = ext(*hybrid);
    torch::manual_seed(3);
    e.prepare(data.train, 0.2);
    // The hybrid's tracker: the kalman model's, its estimate on the circle from the
    // isotropic law while locking on.
    classical::KalmanSettings settings;
    settings.exact_circle = false;
    const auto fit = classical::fit_kalman(data.train, settings, 0, 0, true);
    // The tracker's frame, sample j of step s of stream c, against its estimates.
    auto worst = [](const torch::Tensor& input, std::int64_t from, std::int64_t steps,
                    const std::vector<std::vector<double>>& estimates) {
        double d = 0;
        for (std::int64_t c = 0; c < 4; ++c)
            for (std::int64_t s = 0; s < steps; ++s)
                for (std::int64_t j = 0; j < 5; ++j)
                    d = std::max(
                        d,
                        std::abs(input[c][s][5 + j].item<double>() -
                                 estimates[static_cast<std::size_t>(c)][static_cast<std::size_t>((from + s) * 5 + j)]));
        return d;
    };
    const Record& first = data.train.at(0);
    SECTION("each step reads 5 mix samples, the tracker's 5, the selector; restarts restart the tracker") {
        for (std::uint64_t seed : {1u, 2u}) {
            const std::int64_t n = e.begin_pass(Split::train, 1, seed);
            std::int64_t t = 0;
            for (std::int64_t i = 0; i < n && t < 160; ++i) {  // the first record's 160 training steps
                TorchBatch b = e.batch(i);
                CHECK(b.input.size(2) == 14);
                if (b.reset && t > 0) {  // the tracker restarted here, as a stream would at its start
                    const auto restarted = fit.estimates(first.input, first.task, {static_cast<std::size_t>(t * 5)});
                    CHECK(worst(b.input, t, b.input.size(1), restarted) <= 1e-6);
                    CHECK(worst(b.input, t, b.input.size(1), fit.estimates(first.input, first.task)) > 1e-3);
                }
                t += b.input.size(1);
            }
        }
        // Validation restarts at its start and every 60 steps, scoring every step.
        const std::int64_t v = e.begin_pass(Split::validation, 1, 0);
        TorchBatch b = e.batch(0);
        CHECK(b.reset);
        CHECK(b.score);
        const auto cold = fit.estimates(first.input, first.task, {800});
        CHECK(worst(b.input, 160, b.input.size(1), cold) <= 1e-6);
        CHECK(v == 2);  // 40 validation steps per record, one chunk each
    }
    SECTION("after the handover the hybrid is the tracker; before its half, the network corrects it") {
        const Record& r = data.tests.at(1).records.at(0);
        const Prediction h = hybrid->predict(r.input, r.task, host);
        const auto k = fit.estimates(r.input, r.task);
        double early = 0, late = 0;
        for (std::size_t c = 0; c < 4; ++c)
            for (std::size_t t = 0; t < r.size(); ++t) {
                const double d = std::abs(h.components[c][t] - k[c][t]);
                if (t < 100) early = std::max(early, d);
                if (t >= 200) late = std::max(late, d);
            }
        CHECK(late <= 1e-5);  // the same estimate, in float32
        CHECK(early > 1e-3);  // an untrained correction is far from zero
    }
    SECTION("a bidirectional hybrid restarts the tracker at every window's start") {
        auto bi = make_model("lstm.stateful", Params({{"hidden", std::int64_t{4}},
                                                      {"samples_per_step", std::int64_t{5}},
                                                      {"bptt", std::int64_t{40}},
                                                      {"bidirectional", true},
                                                      {"tracker", std::string("kalman")},
                                                      {"handover", 0.2}}));
        ext(*bi).prepare(data.train, 0.2);
        const std::int64_t n = ext(*bi).begin_pass(Split::train, 1, 7);
        int checked = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const TorchBatch b = ext(*bi).batch(i);
            // Which window of the first record is this? Its first mix frame says.
            for (std::int64_t start = 0; start + b.input.size(1) <= 160; ++start) {
                bool same = true;
                for (std::int64_t j = 0; j < 5 && same; ++j)
                    same = b.input[0][0][j].item<float>() ==
                           static_cast<float>(first.input.channels[0][static_cast<std::size_t>(start * 5 + j)]);
                if (!same) continue;
                const auto restarted = fit.estimates(first.input, first.task, {static_cast<std::size_t>(start * 5)});
                CHECK(worst(b.input, start, b.input.size(1), restarted) <= 1e-6);
                ++checked;
                break;
            }
        }
        CHECK(checked >= 2);  // 160 training steps in windows of 40: 4 windows per record
        const Record& r = data.tests.at(1).records.at(0);
        const Prediction h = bi->predict(r.input, r.task, host);
        const auto k = fit.estimates(r.input, r.task);
        double late = 0;
        for (std::size_t c = 0; c < 4; ++c)
            for (std::size_t t = 200; t < r.size(); ++t) late = std::max(late, std::abs(h.components[c][t] - k[c][t]));
        CHECK(late <= 1e-5);  // after the handover, the tracker's estimate
    }
}
