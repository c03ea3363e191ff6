// The causal bound (classical/causal_bound.hpp, reported by diagnose): on a case with a
// closed form it matches it, and on every shipped pipeline it stays at or below 0.5 and
// below the causal Kalman tracker, as a bound must.
#include "support/support.hpp"

#include "../../plugins/classical/causal_bound.hpp"

#include <sigx/host/pipeline.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>

using namespace sigx;
namespace fs = std::filesystem;
using sigx::test::make_plugin;
using sigx::test::TestHost;

namespace {
constexpr double pi = 3.14159265358979323846;
}

TEST_CASE("causal bound: one tone of known amplitude in white noise has MSE sigma^2 / (A^2 n)", "[bound]") {
    // x_n = A sin(w n + theta) + e_n, e ~ N(0, sigma^2), theta uniform: the phase's Fisher
    // information after n samples is n A^2 / (2 sigma^2), so the posterior mean of
    // sin(w n + theta) errs by sigma^2 / (A^2 n) on average, up to O(1/n^2). A 1-Hz tone at
    // 1 kHz: the offset grid of 1000 points resolves the phase to 0.006 rad, far finer than
    // the posterior's width here (0.14 rad at n = 100). Averaged over samples 500..999 of
    // M records: sigma^2 / A^2 * (H(999) - H(499)) / 500.
    const double a = 1.0, sigma = 1.0;
    const std::size_t records = 600, n = 1000;
    Task task{{{"tone", 1.0, 1.0}}};
    sigx::classical::ToneNoiseModel model{a, a, 0.0, 1.0, sigma};
    const auto period = sigx::classical::common_period(task, 1000.0);
    REQUIRE(period == std::size_t{1000});
    std::mt19937_64 rng(7);
    std::normal_distribution<double> noise(0.0, sigma);
    std::vector<double> per_record;  // each record's mean squared error over samples 500..999
    for (std::size_t r = 0; r < records; ++r) {
        const double theta = 2 * pi * static_cast<double>(rng() % 1000) / 1000.0;
        Input in;
        in.sample_rate = 1000;
        Samples& x = in.channels.emplace_back(n);
        for (std::size_t t = 0; t < n; ++t)
            x[t] = a * std::sin(2 * pi * static_cast<double>(t) / 1000.0 + theta) + noise(rng);
        const Prediction p = sigx::classical::causal_bayes(in, task, model, period);
        double se = 0;
        for (std::size_t t = 500; t < n; ++t) {
            const double e = p.components[0][t] - std::sin(2 * pi * static_cast<double>(t) / 1000.0 + theta);
            se += e * e;
        }
        per_record.push_back(se / 500.0);
    }
    double mean = 0, var = 0;
    for (double v : per_record) mean += v / static_cast<double>(records);
    for (double v : per_record) var += (v - mean) * (v - mean) / static_cast<double>(records - 1);
    double expected = 0;
    for (std::size_t t = 500; t < n; ++t) expected += sigma * sigma / (a * a * static_cast<double>(t)) / 500.0;
    const double standard_error = std::sqrt(var / static_cast<double>(records));
    INFO("bound " << mean << " +- " << standard_error << ", closed form " << expected);
    // Four standard errors, plus the closed form's own O(1/n) relative error (n >= 500).
    CHECK(std::abs(mean - expected) < 4 * standard_error + expected * 2.0 / 500.0);
}

TEST_CASE("causal bound: at most 0.5 and below the causal Kalman tracker on every shipped pipeline", "[bound]") {
    for (const char* name :
         {"quickstart", "lstm_stateful", "lstm_bidirectional", "impossible", "phase_sweep", "reference_sequence"}) {
        INFO(name);
        const auto& registry = sigx::test::builtin_registry();
        const auto src =
            host::read_pipeline(fs::path(SIGX_TEST_SOURCE_DIR) / "pipelines" / (std::string(name) + ".toml"), {});
        const host::PluginUse source = host::validate_plugin(src, "source", Kind::generator, registry);
        REQUIRE(source.plugin == "noisy_sinusoid");
        TestHost host;
        const Dataset data = registry.create<Generator>(*source.info, source.params)->generate(host);
        auto kalman = make_plugin<Model>("kalman", Kind::model);
        kalman->fit(data.train, host);
        ModelOutput out{"kalman", 0, {}, {}};
        for (const auto& set : data.tests) {
            auto& ps = out.predictions.emplace_back();
            for (const auto& r : set.records) ps.push_back(kalman->predict(r.input, r.task, host));
        }
        auto diagnose = make_plugin<Evaluator>("diagnose", Kind::evaluator, Params({{"render", false}}));
        sigx::test::TempDir dir;
        TestHost in_dir(dir.path());
        diagnose->inspect(data, in_dir);
        auto metrics = diagnose->evaluate(data, {out}, in_dir);
        for (const auto& m : make_plugin<Evaluator>("metrics", Kind::evaluator)->evaluate(data, {out}, in_dir))
            metrics.push_back(m);
        std::map<std::string, double> v;
        for (const auto& m : metrics) v[m.test_set + "/" + m.model + "/" + m.component + "/" + m.name] = m.value;
        for (const auto& set : data.tests) {
            for (const auto& c : set.records.front().task.components) {
                INFO(set.name << " " << c.label);
                const std::string key = set.name + "/(causal bound)/" + c.label + "/mse";
                REQUIRE(v.count(key));
                CHECK(v[key] <= 0.5 + 1e-9);
                // Where the mix says nothing (impossible.toml, phase_scale = 1) the bound is
                // the floor, 0.5, and the tracker sits there too, give or take the chance
                // correlations of one 10-s record (0.46 to 0.5 measured): no order to check.
                if (v[set.name + "/(classical bound)/" + c.label + "/mse"] < 0.25)
                    CHECK(v[key] <= v[set.name + "/kalman/" + c.label + "/mse"]);
            }
        }
    }
}
