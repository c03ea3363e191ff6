// The kalman tracker: exact on clean tones once locked on, its stream equal to its
// whole-record prediction, and a calibration that finds the noise model's mean phase
// offset and gain within their standard error.
#include "../../plugins/classical/kalman.hpp"
#include "support/streaming.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <complex>
#include <random>
#include <sstream>
#include <tuple>

using namespace sigx;
using sigx::test::make_plugin;
using sigx::test::TestHost;

namespace {

constexpr double pi = 3.14159265358979323846;

Dataset noisy(double phase_scale, std::int64_t seed, std::int64_t train_records = 1, double duration = 10.0) {
    Params p;
    p.set("phase_scale", phase_scale);
    p.set("duration", duration);
    p.set("train_seed", seed);
    p.set("train_records", train_records);
    p.set("random_start", true);
    return sigx::test::noisy_sinusoid(p);
}

}  // namespace

TEST_CASE("kalman: exact on clean tones once locked on, in both filter forms", "[kalman]") {
    // Two constant tones (between FFT bins, at a start time it is not told) and nothing else.
    Record r;
    r.input.name = "clean";
    r.input.sample_rate = 1000;
    r.task.components = {{"a", 52.3, 1.0}, {"b", 131.7, 1.0}};
    const double amp[] = {0.3, 0.5}, phase[] = {0.4, -1.1};
    r.input.channels.emplace_back(6000);
    r.truth.emplace();
    r.truth->references.assign(2, Samples(6000));
    for (std::size_t n = 0; n < 6000; ++n) {
        const double t = 12.345 + static_cast<double>(n) / 1000.0;
        for (std::size_t k = 0; k < 2; ++k) {
            const double c = amp[k] * std::sin(2 * pi * r.task.components[k].frequency * t + phase[k]);
            r.input.channels[0][n] += c;
            r.truth->references[k][n] = c;
        }
    }
    // The joint filter locks on within a second; the per-tone filters, blind to how the
    // tones overlap over a short span, take a few.
    for (const bool joint : {true, false}) {
        INFO("joint = " << joint);
        auto m = make_plugin<Model>("kalman", Kind::model,
                                    Params({{"calibrate", false}, {"q", 1e-14}, {"r", 1e-6}, {"joint", joint}}));
        TestHost host;
        m->fit({r}, host);
        const Prediction p = m->predict(r.input, r.task, host);
        double worst = 0;
        for (std::size_t k = 0; k < 2; ++k)
            for (std::size_t n = joint ? 1000 : 3000; n < 6000; ++n)
                worst = std::max(worst, std::abs(p.components[k][n] - r.truth->references[k][n]));
        INFO("largest error " << worst);
        CHECK(worst < 1e-4);
    }
}

TEST_CASE("kalman streams: any block size gives the whole-record prediction", "[kalman][streaming]") {
    const Dataset d = noisy(0.01, 1, 2, 3.0);
    TestHost host;
    for (const std::string mode : {"kalman", "rls"}) {
        INFO(mode);
        auto m = make_plugin<Model>("kalman", Kind::model, Params({{"mode", mode}}));
        m->fit(d.train, host);
        sigx::test::check_streaming(*m, d.tests.back().records.front());
    }
}

TEST_CASE("kalman: calibration finds the noise model's mean phase offset and gain", "[kalman]") {
    // The mix holds each tone as A sin(w t + phi), phi ~ U(0, 2 pi s): its mean is
    // E[A] rho sin(w t + pi s), rho = sin(pi s) / (pi s). Calibration must undo that: a phase
    // of -pi s and a gain (relative to the nominal E[A]) of 1 / rho. Eight independent
    // training sets give eight calibrations; their mean must lie within four standard
    // errors (their spread / sqrt(8)) of the model's values. And each phase may spread no
    // more than least squares over the record's n samples allows, sqrt(4 (E[A^2] - rho^2)
    // / n) / rho for four unit tones (homoscedastic: each tone's own amplitude noise is
    // least where its quadrature is largest, so the true spread is below it), times 2
    // for eight draws' sample deviation (chi-square with 7 degrees of freedom exceeds 28
    // with probability 2e-4). A gain fitted to the filter's estimates spreads wider:
    // they carry the filter's slowly varying errors.
    const double s = 0.1, rho = std::sin(pi * s) / (pi * s), mean_a2 = 1 + 0.4 * 0.4 / 12, n = 10000;
    const double phase_spread = std::sqrt(4 * (mean_a2 - rho * rho) / n) / rho;
    std::vector<std::vector<std::complex<double>>> gains;
    for (std::int64_t seed = 11; seed < 19; ++seed) {
        const Dataset d = noisy(s, seed);
        TestHost host;
        auto m = make_plugin<Model>("kalman", Kind::model, Params({{"q", 1e-9}}));
        m->fit(d.train, host);
        std::vector<std::complex<double>> g;
        for (const auto& line : host.lines)
            if (line.rfind("calibration ", 0) == 0) {
                double gain = 0, phase = 0;
                REQUIRE(std::sscanf(line.c_str() + line.find(": gain") + 7, "%lf, phase %lf", &gain, &phase) == 2);
                g.push_back(std::polar(gain, phase));
            }
        REQUIRE(g.size() == 4);
        gains.push_back(g);
    }
    for (std::size_t k = 0; k < 4; ++k) {
        double mp = 0, mg = 0, vp = 0, vg = 0;
        for (const auto& g : gains) mp += std::arg(g[k]) / 8, mg += std::abs(g[k]) / 8;
        for (const auto& g : gains)
            vp += std::pow(std::arg(g[k]) - mp, 2) / 7, vg += std::pow(std::abs(g[k]) - mg, 2) / 7;
        INFO("component " << k << ": phase " << mp << " +- " << std::sqrt(vp / 8) << ", gain " << mg << " +- "
                          << std::sqrt(vg / 8) << "; phase spread " << std::sqrt(vp) << " against " << phase_spread);
        CHECK(std::abs(mp + pi * s) < 4 * std::sqrt(vp / 8));
        CHECK(std::abs(mg - 1 / rho) < 4 * std::sqrt(vg / 8));
        CHECK(std::sqrt(vp) < 2 * phase_spread);
    }
}

TEST_CASE("kalman: the calibration is the mix's gain on each reference, however noisy the filter", "[kalman]") {
    // Two tones enter the mix as c_k times their unit references, in white noise of
    // standard deviation 0.5. A filter that tracks fast (q = 0.01) is unbiased but noisy:
    // a gain regressed on its estimates would shrink towards 0 by their error's share of
    // their power (12% for the weaker tone here). The mix regressed on the references recovers
    // 1 / c_k, each of c_k's parts to the standard error of least squares over n samples,
    // sqrt(2 sigma^2 / n); four of them are allowed.
    const std::size_t n = 20000;
    const double sigma = 0.5, se = std::sqrt(2 * sigma * sigma / static_cast<double>(n));
    const std::array<std::complex<double>, 2> c{std::polar(0.7, 0.3), std::polar(1.3, -0.5)};
    Record r;
    r.input.name = "two tones";
    r.input.sample_rate = 1000;
    r.task.components = {{"a", 50.0, 1.0}, {"b", 120.0, 1.0}};
    r.input.channels.emplace_back(n);
    r.truth.emplace();
    r.truth->references.assign(2, Samples(n));
    std::mt19937_64 engine(7);
    std::normal_distribution<double> noise(0.0, sigma);
    for (std::size_t t = 0; t < n; ++t) {
        double x = noise(engine);
        for (std::size_t k = 0; k < 2; ++k) {
            const double phase = 2 * pi * r.task.components[k].frequency * static_cast<double>(t) / 1000 + 0.4;
            r.truth->references[k][t] = std::sin(phase);
            x += std::abs(c[k]) * std::sin(phase + std::arg(c[k]));
        }
        r.input.channels[0][t] = x;
    }
    const auto fit = classical::fit_kalman({r}, {}, 0.01, 0, true);
    REQUIRE(fit.gains.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
        const std::complex<double> found = 1.0 / fit.gains[k];
        INFO("component " << k << ": c " << c[k] << ", found " << found << ", standard error " << se);
        CHECK(std::abs(found.real() - c[k].real()) < 4 * se);
        CHECK(std::abs(found.imag() - c[k].imag()) < 4 * se);
    }
}

TEST_CASE("kalman tracker: a restart forgets the amplitudes but keeps the time", "[kalman]") {
    // restart() at sample m must equal a fresh tracker started at m's time on the rest of
    // the record: the LSTM hybrid restarts it wherever it restarts its own state.
    const Dataset d = noisy(0.01, 5, 2, 3.0);
    const Record& r = d.train.at(0);
    const auto fit = classical::fit_kalman(d.train, {}, 0, 0, true);
    const std::size_t m = 1234;
    const auto restarted = fit.estimates(r.input, r.task, {m});
    const auto whole = fit.estimates(r.input, r.task);
    Input tail = r.input;
    tail.start_time += static_cast<double>(m) / r.input.sample_rate;
    tail.channels[0].erase(tail.channels[0].begin(), tail.channels[0].begin() + static_cast<std::ptrdiff_t>(m));
    const auto fresh = fit.estimates(tail, r.task);
    double before = 0, after = 0, differs = 0;
    for (std::size_t k = 0; k < r.task.size(); ++k) {
        for (std::size_t t = 0; t < m; ++t) before = std::max(before, std::abs(restarted[k][t] - whole[k][t]));
        for (std::size_t t = m; t < r.size(); ++t) {
            after = std::max(after, std::abs(restarted[k][t] - fresh[k][t - m]));
            differs = std::max(differs, std::abs(restarted[k][t] - whole[k][t]));
        }
    }
    CHECK(before == 0);    // untouched before the restart
    CHECK(after <= 1e-9);  // phasors rotated vs computed afresh: rounding only
    CHECK(differs > 0.1);  // and it did forget: locking on again is far from the locked-on estimate
    // The calibration reads back bit for bit.
    sigx::StateText text(fit.text(), "tracker.txt");
    const auto back = classical::KalmanFit::read(text, r.task.size());
    CHECK(back.settings.q == fit.settings.q);
    CHECK(back.settings.r == fit.settings.r);
    CHECK(back.gains == fit.gains);
    sigx::StateText short_text("0x1p-3 0x1p-2\n", "tracker.txt");
    CHECK_THROWS_WITH(classical::KalmanFit::read(short_text, 4), Catch::Contains("tracker.txt"));
}

TEST_CASE("kalman tracker: starting at a sample equals a restart there, without filtering the samples before",
          "[kalman]") {
    const Dataset d = noisy(0.01, 9, 1, 2.0);
    const Record& r = d.train.at(0);
    const auto fit = classical::fit_kalman(d.train, {}, 0, 0, true);
    const std::size_t m = 777;
    const auto restarted = fit.estimates(r.input, r.task, {m}), started = fit.estimates(r.input, r.task, {}, m);
    for (std::size_t k = 0; k < r.task.size(); ++k) {
        for (std::size_t t = 0; t < m; ++t) REQUIRE(started[k][t] == 0.0);
        for (std::size_t t = m; t < r.size(); ++t) REQUIRE(started[k][t] == restarted[k][t]);  // bit for bit
    }
}

TEST_CASE("on_circle: the mean of a Gaussian restricted to a circle, isotropic or not", "[kalman]") {
    using C = std::complex<double>;
    // Brute force: the density exp(-(u - v)' S^-1 (u - v) / 2) on 200,000 points of the circle.
    auto brute = [](C v, std::array<double, 3> s, double radius) {
        const double det = s[0] * s[2] - s[1] * s[1];
        C sum = 0;
        double total = 0, top = -1e300;
        std::vector<double> logs(200000);
        for (std::size_t i = 0; i < logs.size(); ++i) {
            const C u = std::polar(radius, 2 * pi * static_cast<double>(i) / static_cast<double>(logs.size()));
            const double dx = u.real() - v.real(), dy = u.imag() - v.imag();
            logs[i] = -(s[2] * dx * dx - 2 * s[1] * dx * dy + s[0] * dy * dy) / (2 * det);
            top = std::max(top, logs[i]);
        }
        for (std::size_t i = 0; i < logs.size(); ++i) {
            const double w = std::exp(logs[i] - top);
            sum += w * std::polar(radius, 2 * pi * static_cast<double>(i) / static_cast<double>(logs.size()));
            total += w;
        }
        return sum / total;
    };
    // Within 1e-8 where the trapezoid rule computes it (a peak broader than 0.1 rad); within
    // 1e-5 where Laplace's expansion at each peak does (its error falls as the inverse
    // square of the curvature, with the skew).
    const std::vector<std::tuple<C, std::array<double, 3>, double, double>> cases = {
        {{0.3, -0.2}, {0.5, 0.0, 0.5}, 1.0, 1e-8},       // uncertain, isotropic: shrunk far towards 0
        {{0.9, 0.4}, {0.02, 0.0, 0.02}, 1.0, 1e-8},      // fairly sure
        {{0.2, 0.7}, {0.4, 0.3, 0.3}, 1.0, 1e-8},        // anisotropic, correlated
        {{-1.5, 0.1}, {0.01, -0.004, 0.05}, 2.0, 1e-8},  // another radius
        {{0.7, 0.6}, {1e-4, 0.0, 0.05}, 1.0, 1e-5},      // sharp in one direction only: two crossings
        {{0.7, 0.02}, {1e-4, 0.0, 0.05}, 1.0, 1e-5},     // ... of nearly equal weight (two peaks)
        {{0.99, 0.05}, {3e-3, 1e-3, 4e-3}, 1.0, 1e-5},   // one sharp peak
        {{0.5, -0.9}, {2e-4, 1e-4, 3e-4}, 1.0, 1e-5},    // sharper, correlated
        {{0.2, 0.1}, {3e-3, 0.0, 0.6}, 1.0, 1e-8}        // two broad peaks: the trapezoid rule
    };
    for (const auto& [v, s, radius, within] : cases) {
        INFO("v = " << v << ", radius " << radius);
        const C want = brute(v, s, radius), got = classical::on_circle(v, s, radius);
        CHECK(std::abs(got - want) < within);
        CHECK(std::abs(got) <= radius);
    }
    // Isotropic and concentrated (kappa = radius |v| / variance beyond 100): the von Mises
    // mean, I1(kappa) / I0(kappa) v / |v|, and no step where the method changes.
    const C v(0.6, 0.8);
    const C below = classical::on_circle(v, {1.0 / 99.9, 0, 1.0 / 99.9}, 1.0);
    const C above = classical::on_circle(v, {1.0 / 100.1, 0, 1.0 / 100.1}, 1.0);
    CHECK(std::abs(below - above) < 2e-5);  // the mean's own change from kappa 99.9 to 100.1: 1e-5
    CHECK(std::abs(std::abs(above) - std::cyl_bessel_i(1.0, 100.1) / std::cyl_bessel_i(0.0, 100.1)) < 1e-8);
    CHECK(std::abs(std::arg(above) - std::arg(v)) < 1e-12);
    // The isotropic form (polynomials for I1/I0, then the series): within 1e-6 of the exact
    // ratio at every concentration, either side of its switches at 3.75 and 400.
    for (const double kappa : {0.01, 0.5, 3.7, 3.8, 10.0, 50.0, 399.0, 401.0, 5000.0}) {
        INFO("kappa " << kappa);
        const C got = classical::on_circle_isotropic(v, 1 / kappa, 1.0);
        const double ratio = kappa > 600 ? 1 - 1 / (2 * kappa) - 1 / (8 * kappa * kappa)
                                         : std::cyl_bessel_i(1.0, kappa) / std::cyl_bessel_i(0.0, kappa);
        CHECK(std::abs(got - ratio * v) < 1e-6);
    }
    CHECK(classical::on_circle(v, {0, 0, 0}, 1.0) == v);  // no uncertainty: v itself, |v| = 1
    CHECK(classical::on_circle(0.0, {1, 0, 1}, 1.0) == 0.0);
}

TEST_CASE("kalman: with the amplitude known, every estimate lies within it and the locked-on error drops", "[kalman]") {
    // noisy_sinusoid states amplitude 1 (unit references). The posterior mean on the unit
    // circle can never leave it, where the free estimate follows the amplitude noise out of
    // it; once locked on, the amplitude noise is gone from the error: measured 5x lower on
    // this pipeline's records (quickstart), so half is a margin of over 2x.
    const Dataset d = noisy(0.01, 3, 4);
    REQUIRE(d.train.front().task.components.front().amplitude == 1.0);
    const Record& test = d.tests.front().records.front();
    double steady[2] = {0, 0}, largest[2] = {0, 0};
    for (const bool known : {false, true}) {
        TestHost host;
        auto m = make_plugin<Model>("kalman", Kind::model, Params({{"known_amplitude", known}}));
        m->fit(d.train, host);
        const Prediction p = m->predict(test.input, test.task, host);
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t t = 0; t < test.size(); ++t) {
                largest[known] = std::max(largest[known], std::abs(p.components[k][t]));
                if (t >= 1000) steady[known] += std::pow(p.components[k][t] - test.truth->references[k][t], 2);
            }
    }
    INFO("steady squared error: free " << steady[0] << ", known " << steady[1]);
    CHECK(largest[1] <= 1.0);
    CHECK(largest[0] > 1.0);
    CHECK(steady[1] < 0.5 * steady[0]);
}
