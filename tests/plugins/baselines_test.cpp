// The classical baselines: fft.sliding and lsq (whole record and sliding window) are
// exact on clean mixes, the causal ones never look ahead, and calibration removes the
// bias that the mean phase offset of the noise leaves in an uncalibrated fit.
#include "support/support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>

using namespace sigx;
using sigx::test::make_plugin;
using sigx::test::mix_of;
using sigx::test::predict;
using sigx::test::reference_of;
using sigx::test::TestHost;

namespace {

Dataset make_data(const RealList& freqs, double duration, double phase_scale, RealList amplitude,
                  std::int64_t train_records = 1) {
    Params p;
    p.set("frequencies", freqs);
    p.set("duration", duration);
    p.set("amplitude", amplitude);
    p.set("phase_scale", phase_scale);
    p.set("train_records", train_records);
    p.set("random_start", true);
    return sigx::test::noisy_sinusoid(p);
}

double mse(const Samples& a, const Samples& b, std::size_t from = 0) {
    double s = 0;
    for (std::size_t i = from; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / static_cast<double>(a.size() - from);
}

double mean_mse(const Prediction& p, const Record& r, std::size_t from = 0) {
    double s = 0;
    for (std::size_t c = 0; c < r.task.size(); ++c) s += mse(p.components[c], reference_of(r, c), from);
    return s / static_cast<double>(r.task.size());
}

std::shared_ptr<Model> model(const std::string& name, Params p = {}) {
    return make_plugin<Model>(name, Kind::model, p);
}

// Predictions up to sample t must not change when every later sample of the mix does.
void check_causal(Model& m, const Record& record, std::size_t t) {
    TestHost host;
    Record changed = record;
    for (std::size_t n = t + 1; n < changed.size(); ++n)
        mix_of(changed)[n] = 5.0 * std::cos(0.37 * static_cast<double>(n));
    const Prediction a = predict(m, record, host), b = predict(m, changed, host);
    for (std::size_t c = 0; c < a.components.size(); ++c) {
        for (std::size_t n = 0; n <= t; ++n) REQUIRE(a.components[c][n] == b.components[c][n]);
        CHECK(a.components[c][t + 1] != b.components[c][t + 1]);
    }
}

}  // namespace

TEST_CASE("fft.sliding: exact once a whole window of whole periods is in, and causal", "[baselines]") {
    // 1 s window at 1 kHz: a whole number of periods of 1, 3, 5 and 7 Hz.
    const Dataset d = make_data({1.0, 3.0, 5.0, 7.0}, 3.0, 0.0, {1.0, 1.0});
    auto m = model("fft.sliding", Params({{"window", std::int64_t{1000}}}));
    TestHost host;
    const Record& unseen = d.tests.at(1).records.at(0);  // a random start time: absolute phases matter
    const Prediction p = predict(*m, unseen, host);
    CHECK(mean_mse(p, unseen, 999) < 1e-20);
    CHECK(mean_mse(p, unseen) > 1e-3);  // the first second holds fewer than a window of samples
    check_causal(*m, unseen, 1500);
}

TEST_CASE("lsq block: exact on a clean mix, even between FFT bins, where fft.block is not", "[baselines]") {
    const Dataset d = make_data({1.37, 2.9, 6.05}, 3.0, 0.0, {1.0, 1.0});
    TestHost host;
    auto lsq = model("lsq", Params({{"calibrate", false}, {"ridge", 0.0}}));
    auto fft = model("fft.block");
    const Record& r = d.tests[0].records[0];
    CHECK(mean_mse(predict(*lsq, r, host), r) < 1e-20);
    CHECK(mean_mse(predict(*fft, r, host), r) > 1e-3);
}

TEST_CASE("lsq sliding: exact once the window is full, and causal", "[baselines]") {
    const Dataset d = make_data({1.37, 2.9, 6.05}, 4.0, 0.0, {1.0, 1.0});
    auto m = model(
        "lsq",
        Params(
            {{"mode", std::string("sliding")}, {"window", std::int64_t{1500}}, {"calibrate", false}, {"ridge", 0.0}}));
    TestHost host;
    const Record& r = d.tests.at(1).records.at(0);
    CHECK(mean_mse(predict(*m, r, host), r, 1499) < 1e-18);
    check_causal(*m, r, 2500);
    // A window longer than the record (4000 samples) grows to its end, still causal.
    auto long_window = model("lsq", Params({{"mode", std::string("sliding")},
                                            {"window", std::int64_t{100000}},
                                            {"calibrate", false},
                                            {"ridge", 0.0}}));
    check_causal(*long_window, r, 2500);
}

TEST_CASE("lsq: calibration on the training records removes the mean-phase bias", "[baselines]") {
    // phi = s U(0, 2 pi) has mean pi s: an uncalibrated fit recovers sin(w t + pi s) scaled
    // by |E e^{i phi}|, whose MSE against sin(w t) is |1 - E e^{i phi}|^2 / 2. Calibration
    // fits that complex gain away, leaving the estimation noise.
    const double s = 0.01, n = 10000;
    const std::complex<double> mean_phasor =
        (std::exp(std::complex<double>(0, 2 * M_PI * s)) - 1.0) / std::complex<double>(0, 2 * M_PI * s);
    const double bias = std::norm(1.0 - mean_phasor) / 2;  // ~4.9e-4
    // Noise of the mix per sample: four components at weight 1/4, each contributing
    // (A - 1) sin(.) with var(A) = 0.4^2 / 12 and A phi-jitter with var(phi) = (2 pi s)^2 / 12.
    const double sigma2 = 4 * (1.0 / 16) * 0.5 * (0.16 / 12 + (1 + 0.16 / 12) * std::pow(2 * M_PI * s, 2) / 12);
    const double bound = 32 * sigma2 / n;  // variance of a two-parameter fit, 2 sigma^2 / N, over gain^2 = 1/16
    // The uncalibrated MSE per component is |b + e|^2 / 2 = bias + Re(conj(b) e) + |e|^2 / 2
    // (b the bias, |b|^2 = 2 bias; e the noise, variance `bound` in each direction): its mean
    // is bias + bound, its standard deviation sqrt(2 bias bound) per component, half that on
    // the mean of four. Five such standard deviations:
    const double tolerance = 5 * std::sqrt(2 * bias * bound) / 2;

    const Dataset d = make_data({1.0, 3.0, 5.0, 7.0}, 10.0, s, {0.8, 1.2}, 4);
    TestHost host;
    auto raw = model("lsq", Params({{"calibrate", false}}));
    auto cal = model("lsq");
    cal->fit(d.train, host);
    const Record& r = d.tests[0].records[0];
    const double raw_mse = mean_mse(predict(*raw, r, host), r), cal_mse = mean_mse(predict(*cal, r, host), r);
    INFO("bias " << bias << ", bound " << bound << ", raw " << raw_mse << ", calibrated " << cal_mse);
    CHECK(std::abs(raw_mse - (bias + bound)) < tolerance);
    // Calibrated: the test record's noise plus the calibration's (4 records, so a quarter
    // of it), within a factor 5 of that expectation.
    CHECK(cal_mse < 5 * 1.25 * bound);
}
