// fft.block: on a clean mix whose components fall on FFT bins, keeping each component's
// bin and undoing the mix gain recovers every component to rounding error.
#include "support/support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sigx;
using sigx::test::make_plugin;
using sigx::test::mix_of;
using sigx::test::predict;
using sigx::test::reference_of;
using sigx::test::TestHost;

namespace {

// phase_scale 0 and amplitude [1, 1]: the mix is exactly w * sum_i sin(2 pi f_i t).
Dataset clean_data(const RealList& freqs, double sample_rate, double duration) {
    Params p;
    p.set("frequencies", freqs);
    p.set("sample_rate", sample_rate);
    p.set("duration", duration);
    p.set("amplitude", RealList{1.0, 1.0});
    p.set("phase_scale", 0.0);
    return sigx::test::noisy_sinusoid(p);
}

double mse(const Samples& a, const Samples& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / static_cast<double>(a.size());
}

}  // namespace

TEST_CASE("fft.block recovers every component of a clean mix exactly", "[fft]") {
    const std::string planner = GENERATE(as<std::string>{}, "estimate", "measure");
    Params p;
    p.set("planner", planner);
    auto model = make_plugin<Model>("fft.block", Kind::model, p);
    TestHost host;
    // 2 s at 1000 Hz: every integer frequency has a whole number of cycles (bin k = 2 f).
    const Dataset d = clean_data({1.0, 3.0, 5.0, 7.0}, 1000.0, 2.0);
    for (const Record* s : {&d.train[0], &d.tests[0].records[0]}) {
        const Prediction out = predict(*model, *s, host);
        REQUIRE(out.components.size() == 4);
        Samples sum(s->size(), 0.0);
        for (std::size_t c = 0; c < 4; ++c) {
            const auto& ref = reference_of(*s, c);
            REQUIRE(out.components[c].size() == s->size());
            INFO(planner << ", component " << s->task.components[c].label);
            CHECK(mse(out.components[c], ref) < 1e-20);
            for (std::size_t n = 0; n < s->size(); ++n) sum[n] += out.components[c][n];
        }
        // Whole record: the predictions, scaled by the mix gain and summed, rebuild the mix.
        double worst = 0;
        for (std::size_t n = 0; n < s->size(); ++n)
            worst = std::max(worst, std::abs(s->task.components[0].gain * sum[n] - mix_of(*s)[n]));
        CHECK(worst < 1e-12);
    }
}

TEST_CASE("fft.block is exact through the metrics evaluator on a whole test set", "[fft][metrics]") {
    const Dataset d = clean_data({2.0, 5.0, 11.0}, 200.0, 3.0);
    auto model = make_plugin<Model>("fft.block", Kind::model);
    auto metrics = make_plugin<Evaluator>("metrics", Kind::evaluator);
    TestHost host;
    ModelOutput out;  // predictions for every test set, as the runner makes them
    out.model = "fft";
    for (const auto& set : d.tests) {
        auto& per_set = out.predictions.emplace_back();
        for (const auto& r : set.records) per_set.push_back(predict(*model, r, host));
    }
    const auto ms = metrics->evaluate(d, {out}, host);
    int checked = 0;
    for (const auto& m : ms) {
        if (m.model != "fft" || m.test_set != "test" || !m.window.empty()) continue;  // whole records
        INFO(m.component << " " << m.name << " = " << m.value);
        if (m.name == "mse")
            CHECK(m.value < 1e-20);
        else if (m.name == "pearson")
            CHECK(m.value == Approx(1.0).margin(1e-12));
        else if (m.name == "mse_rel_floor")
            CHECK(m.value < 1e-19);
        else if (m.name == "snr_gain_db")
            CHECK(m.value > 150);  // error power ~1e-30 of the target's
        else
            continue;
        ++checked;  // counts asserted values only
    }
    CHECK(checked == 16);  // (3 components + mean) x (mse, pearson, mse_rel_floor, snr_gain_db)
}

TEST_CASE("fft.block is not exact when a frequency falls between bins", "[fft]") {
    // Guards the exactness test above against a trivially passing setup: 1.25 Hz over 2 s
    // is 2.5 cycles, so its energy spreads over many bins.
    const Dataset d = clean_data({1.25}, 100.0, 2.0);
    auto model = make_plugin<Model>("fft.block", Kind::model);
    TestHost host;
    const Prediction out = predict(*model, d.train[0], host);
    CHECK(mse(out.components[0], reference_of(d.train[0], 0)) > 1e-3);
}

TEST_CASE("fft.block refuses a component beyond the record's spectrum", "[fft]") {
    Input s;
    s.sample_rate = 10.0;
    s.channels.assign(1, Samples(10, 0.0));
    const Task task{{{"9Hz", 9.0, 1.0}}};
    auto model = make_plugin<Model>("fft.block", Kind::model);
    TestHost host;
    CHECK_THROWS_WITH(model->predict(s, task, host),
                      Catch::Matchers::Contains("9Hz at 9 Hz is beyond the record's spectrum"));
}
