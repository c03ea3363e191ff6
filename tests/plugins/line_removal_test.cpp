// The models that follow drifting tones and the field's line-removal methods: notch and
// comb filters against scipy's designs, Widrow's LMS canceller at the rate its step
// predicts, Slepian tapers and the multitaper amplitude against their closed forms, the
// frequency tracker locking on anywhere within the tolerance; and for every one of them,
// streaming equal to prediction and saved state restored bit for bit.
#include "support/streaming.hpp"

#include "../../plugins/classical/line_filters.hpp"
#include "../../plugins/classical/multitaper.hpp"
#include "../../plugins/classical/phasor.hpp"
#include "../../plugins/classical/tracker.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace sigx;
using sigx::classical::two_pi;
using sigx::test::make_plugin;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

// 50/100/150 Hz hum at 4 kHz, the harmonics locked to 50 Hz, +-1 Hz stated; the grid walks.
Dataset drifting_hum(double seconds = 2.0, std::int64_t train_records = 2) {
    Params p;
    p.set("frequencies", RealList{50.0, 100.0, 150.0});
    p.set("sample_rate", 4000.0);
    p.set("duration", seconds);
    p.set("phase_scale", 0.05);
    p.set("train_records", train_records);
    p.set("random_start", true);
    p.set("tolerance", 1.0);
    p.set("drift", std::string("walk"));
    p.set("drift_hz", 0.1);
    p.set("drift_time", 1.0);
    return sigx::test::noisy_sinusoid(p);
}

// One tone of amplitude a at frequency f (Hz), phase phi, plus white noise of standard
// deviation sigma, as a record of the task {nominal +- tolerance}.
Record tone(double rate, double seconds, double f, double a, double phi, double sigma, double nominal, double tolerance,
            std::uint64_t seed = 7) {
    Record r;
    r.input.sample_rate = rate;
    r.task.components = {{"tone", nominal, 1.0, tolerance, -1}};
    const auto n = static_cast<std::size_t>(rate * seconds);
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> noise(0.0, sigma);
    Samples& x = r.input.channels.emplace_back(n);
    r.truth.emplace();
    Samples& clean = r.truth->references.emplace_back(n);
    for (std::size_t t = 0; t < n; ++t) {
        clean[t] = a * std::cos(two_pi * f * static_cast<double>(t) / rate + phi);
        x[t] = clean[t] + noise(engine);
    }
    r.truth->frequencies = {Samples(n, f)};
    return r;
}

bool same_bits(const Prediction& a, const Prediction& b) {
    auto same = [](const std::vector<Samples>& x, const std::vector<Samples>& y) {
        if (x.size() != y.size()) return false;
        for (std::size_t c = 0; c < x.size(); ++c)
            if (x[c].size() != y[c].size() || std::memcmp(x[c].data(), y[c].data(), x[c].size() * sizeof(double)) != 0)
                return false;
        return true;
    };
    return same(a.components, b.components) && same(a.frequencies, b.frequencies);
}

}  // namespace

TEST_CASE("notch and comb: the coefficients of scipy.signal.iirnotch and iircomb", "[drift]") {
    // scipy 1.10.1: iirnotch(f, q, fs) and iircomb(f, q, ftype="notch", fs), printed with 17 digits.
    struct Case {
        double f, q, fs;
        double b0, b1, a2;  // b = [b0, b1, b0], a = [1, b1, a2]
    };
    for (const Case& c : {Case{50, 30, 16000, 0.9996728578106041, -1.9989603227048798, 0.9993457156212082},
                          Case{100, 25, 16000, 0.9992152180415471, -1.9968897186414383, 0.9984304360830942},
                          Case{7, 5, 1000, 0.9956210018881557, -1.9893163426869982, 0.9912420037763114},
                          Case{1234.5, 0.7, 8000, 0.5465564945396165, -0.6183202960009351, 0.09311298907923304}}) {
        INFO(c.f << " Hz, Q " << c.q << ", fs " << c.fs);
        const auto b = classical::iirnotch(c.f, c.q, c.fs);
        CHECK(b.b0 == Approx(c.b0).epsilon(0).margin(1e-12));
        CHECK(b.b1 == Approx(c.b1).epsilon(0).margin(1e-12));
        CHECK(b.b2 == Approx(c.b0).epsilon(0).margin(1e-12));
        CHECK(b.a1 == Approx(c.b1).epsilon(0).margin(1e-12));
        CHECK(b.a2 == Approx(c.a2).epsilon(0).margin(1e-12));
    }
    // iircomb: b = [b, 0 ... 0, -b], a = [1, 0 ... 0, -a] over `period` samples.
    const auto comb = classical::iircomb(50, 25, 16000);
    CHECK(comb.period == 320);
    CHECK(comb.b == Approx(0.9408092961815945).epsilon(0).margin(1e-12));
    CHECK(comb.a == Approx(0.8816185923631891).epsilon(0).margin(1e-12));
    const auto comb2 = classical::iircomb(100, 3, 1000);
    CHECK(comb2.period == 10);
    CHECK(comb2.b == Approx(0.6339745962155614).epsilon(0).margin(1e-12));
    CHECK(comb2.a == Approx(0.26794919243112275).epsilon(0).margin(1e-12));
    CHECK_THROWS_WITH(classical::iircomb(60, 25, 16000), Catch::Contains("whole multiple"));
    // Q from the tolerance: the -3 dB band spans it on either side.
    Task task;
    task.components = {{"hum50", 50, 1, 1.0, -1}, {"hum100", 100, 1, 2.0, 0}, {"exact", 300, 1, 0, -1}};
    const auto design = classical::design_notches(task, 16000, 0, false);
    const auto q25 = classical::iirnotch(50, 25, 16000), q30 = classical::iirnotch(300, 30, 16000);
    CHECK(design.notches[0].a2 == q25.a2);
    CHECK(design.notches[1].a2 == classical::iirnotch(100, 25, 16000).a2);
    CHECK(design.notches[2].a2 == q30.a2);
}

TEST_CASE("notch: a tone at its frequency is removed, a tone far from it is left", "[drift]") {
    // A steady 50 Hz tone plus one at 150 Hz (no notch there): once the filter has rung
    // in, the notch's output is the 50 Hz tone, up to what it takes of the other: its
    // 2 Hz-wide band passes 1 / sqrt(1 + 100^2) of a tone 100 Hz away (0.005 of 0.5),
    // its square forward-backward.
    Record r = tone(2000, 4, 50, 1.0, 0.3, 0.0, 50, 1.0);
    for (std::size_t t = 0; t < r.size(); ++t)
        r.input.channels[0][t] += 0.5 * std::sin(two_pi * 150 * static_cast<double>(t) / 2000.0);
    TestHost host;
    for (bool zero_phase : {false, true}) {
        INFO("zero phase " << zero_phase);
        auto m = make_plugin<Model>("notch", Kind::model, Params({{"zero_phase", zero_phase}}));
        const Prediction p = m->predict(r.input, r.task, host);
        double worst = 0;
        for (std::size_t t = r.size() / 2; t < 3 * r.size() / 4; ++t)
            worst = std::max(worst, std::abs(p.components[0][t] - r.truth->references[0][t]));
        CHECK(worst < 0.01);
    }
}

TEST_CASE("lms: on a clean tone, the estimate's error decays as (1 - mu)^n", "[drift]") {
    const double rate = 8000, f = 50, mu = 2e-3, a = 1.0;
    Task task;
    task.components = {{"tone", f, 1, 0, -1}};
    classical::LmsCanceller lms(task, rate, 0.0, {mu});
    std::complex<double> w;
    // |A - a_n| ~ (1 - mu)^n |A| about a ripple at twice the tone's frequency: the error's
    // envelope, the largest |W - clean| over one period, at 1 / mu and 3 / mu samples.
    const auto period = static_cast<std::size_t>(rate / f);
    std::vector<double> envelope;
    for (std::size_t t = 0; t < static_cast<std::size_t>(4 / mu) + period; ++t) {
        const double clean = a * std::cos(two_pi * f * static_cast<double>(t) / rate + 0.4);
        lms.push(clean, &w);
        const double err = std::abs(w.real() - clean);
        if (t % period == 0) envelope.push_back(0);
        envelope.back() = std::max(envelope.back(), err);
    }
    for (double k : {1.0, 2.0, 3.0}) {
        const std::size_t n = period * static_cast<std::size_t>(std::lround(k / mu / static_cast<double>(period)));
        const double predicted = a * std::pow(1 - mu, static_cast<double>(n));
        INFO(k << "/mu samples: predicted " << predicted);
        // The envelope of |d| cos(...): between the decay over one period and none of it.
        CHECK(envelope[n / period] <= predicted * 1.1);
        CHECK(envelope[n / period] >= predicted * std::pow(1 - mu, static_cast<double>(period)) * 0.9);
    }
    // Its step from the tolerance: a band of mu fs / pi Hz spanning it, mu = 2 pi tol / fs.
    Task drifting;
    drifting.components = {{"hum50", 50, 1, 1.0, -1}, {"exact", 300, 1, 0, -1}};
    const auto steps = classical::lms_steps(drifting, 16000);
    CHECK(steps[0] * 16000 / M_PI == Approx(2.0));
    CHECK(steps[1] * 16000 / M_PI == Approx(1.0));
}

TEST_CASE("dpss: orthonormal Slepian tapers, as scipy.signal.windows.dpss gives them", "[drift]") {
    // scipy 1.10.1: dpss(16, 2.5, 4)
    const std::vector<std::vector<double>> scipy = {
        {0.007082725726011054, 0.027520528793145926, 0.06878098610509834, 0.13398202265528236, 0.21845710315510386,
         0.3087595071574083, 0.38557142430474056, 0.42987112792958515, 0.42987112792958515, 0.38557142430474056,
         0.30875950715740824, 0.21845710315510386, 0.13398202265528236, 0.06878098610509832, 0.027520528793145923,
         0.007082725726011053},
        {0.034321517522878216, 0.10186197071862833, 0.200158658963963, 0.3036170967692537, 0.3719850100349996,
         0.36677942385571843, 0.27077215312807656, 0.09990890742629405, -0.09990890742629448, -0.27077215312807684,
         -0.3667794238557184, -0.3719850100349994, -0.30361709676925347, -0.20015865896396282, -0.10186197071862822,
         -0.034321517522878174},
        {0.11087345837822495, 0.23776451344807062, 0.34584744789038635, 0.37074063005571845, 0.2764080056448002,
         0.08380556856577795, -0.1308446296562174, -0.27123968066750087, -0.2712396806675009, -0.13084462965621751,
         0.08380556856577775, 0.2764080056448001, 0.37074063005571845, 0.3458474478903863, 0.23776451344807054,
         0.1108734583782249},
        {0.26292688659610636, 0.3765627216284861, 0.35727020380773494, 0.19109917256382178, -0.045499964113034384,
         -0.22499517173807607, -0.24718533814719693, -0.10542965079402458, 0.10542965079402455, 0.24718533814719693,
         0.22499517173807604, 0.045499964113034384, -0.19109917256382175, -0.3572702038077349, -0.3765627216284859,
         -0.2629268865961063}};
    const auto v = classical::dpss(16, 2.5, 4);
    REQUIRE(v.size() == 4);
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t n = 0; n < 16; ++n) {
            INFO("taper " << k << ", sample " << n);
            CHECK(v[k][n] == Approx(scipy[k][n]).epsilon(0).margin(1e-10));
        }
    // A long window, as the hum's: unit energy, mutually orthogonal.
    const auto w = classical::dpss(8000, 2, 3);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            double dot = 0;
            for (std::size_t n = 0; n < 8000; ++n) dot += w[i][n] * w[j][n];
            INFO(i << " . " << j);
            CHECK(dot == Approx(i == j ? 1.0 : 0.0).margin(1e-10));
        }
    CHECK_THROWS_WITH(classical::dpss(100, 1.5, 4), Catch::Contains("tapers"));
}

TEST_CASE("multitaper: a tone's amplitude in white noise, its mean and spread as the closed form gives them",
          "[drift]") {
    // mu = sum U_k Y_k / sum U_k^2 at the tone's frequency: mean (A / 2) e^{i phi} for a
    // tone A cos(2 pi f n + phi), and complex variance sigma^2 / sum U_k^2 (sigma^2 / 2 in
    // each part). Over M records: the mean within 4 standard errors, the variance within
    // 4 of its own (relative standard error 1 / sqrt(M) for M draws of a Gaussian's square).
    const std::size_t length = 1000, trials = 400;
    const double f = 0.0371, a = 0.3, phi = 0.9, sigma = 0.5;
    const auto v = classical::dpss(length, 3, 5);
    double u2 = 0;
    for (const auto& taper : v) {
        double u = 0;
        for (double x : taper) u += x;
        u2 += u * u;
    }
    std::mt19937_64 engine(2024);
    std::normal_distribution<double> noise(0.0, sigma);
    std::complex<double> sum = 0;
    double sq = 0;
    std::vector<double> x(length);
    for (std::size_t m = 0; m < trials; ++m) {
        for (std::size_t n = 0; n < length; ++n)
            x[n] = a * std::cos(two_pi * f * static_cast<double>(n) + phi) + noise(engine);
        const auto line = classical::harmonic_f_test(x.data(), v, f);
        sum += line.mu, sq += std::norm(line.mu - std::polar(a / 2, phi));
    }
    const double variance = sigma * sigma / u2, n = static_cast<double>(trials);
    const std::complex<double> mean = sum / n;
    CHECK(std::abs(mean - std::polar(a / 2, phi)) < 4 * std::sqrt(variance / n));
    CHECK(sq / n == Approx(variance).epsilon(4 / std::sqrt(n)));
    // Without the tone, the F statistic's p-value is uniform: about 5% below 0.05.
    std::size_t below = 0;
    for (std::size_t m = 0; m < trials; ++m) {
        for (double& s : x) s = noise(engine);
        below += classical::f_test_p(classical::harmonic_f_test(x.data(), v, f).f, v.size()) < 0.05;
    }
    const double rate = static_cast<double>(below) / n;
    CHECK(std::abs(rate - 0.05) < 4 * std::sqrt(0.05 * 0.95 / n));
}

TEST_CASE("multitaper: finds a line offset within the tolerance, and removes only significant ones", "[drift]") {
    // A 50.6 Hz tone in noise, nominal 50 +- 1 Hz: every window finds it within a few
    // hundredths of a hertz, and the extracted line matches it; pure noise yields nothing
    // (the F test keeps only significant lines: with p = 1e-6, none in 7 windows).
    const Record r = tone(1000, 8, 50.6, 1.0, 0.2, 0.3, 50, 1.0);
    classical::MultitaperSettings s;
    const auto fit = classical::multitaper_lines(r.input, r.task, s);
    double err = 0, power = 0, ferr = 0;
    for (std::size_t t = 0; t < r.size(); ++t) {
        const double d = fit.lines[0][t] - r.truth->references[0][t];
        err += d * d, power += r.truth->references[0][t] * r.truth->references[0][t];
        ferr = std::max(ferr, std::abs(fit.frequency[0][t] - 50.6));
    }
    CHECK(err / power < 0.01);
    CHECK(ferr < 0.05);
    Record silent = tone(1000, 8, 50.6, 0.0, 0.2, 0.3, 50, 1.0);
    s.p_value = 1e-6;
    const auto none = classical::multitaper_lines(silent.input, silent.task, s);
    CHECK(std::all_of(none.lines[0].begin(), none.lines[0].end(), [](double y) { return y == 0.0; }));
}

TEST_CASE("tracker: locks onto a clean tone anywhere within the tolerance, its frequency error below 0.01 Hz in 1 s",
          "[drift]") {
    // A lone tone at 50 Hz +- 1 Hz stated, 4 kHz, white noise 0.1 (SNR 17 dB): given noise
    // levels (no fitting), from a standing start. After 1 s the frequency estimate is within
    // 0.01 Hz of the truth and the waveform's error power below 1% of the tone's; a tone
    // at the tolerance's edge is found as surely as one at the centre.
    for (double f : {50.0, 50.4, 49.0, 51.0}) {
        INFO(f << " Hz");
        const Record r = tone(4000, 3, f, 1.0, 1.1, 0.1, 50, 1.0);
        classical::TrackerSettings s;
        s.q_amplitude = {1e-3};
        s.q_frequency = 1e-4;
        s.r = 0.01;
        s.robust = 0;
        s.p0 = {0.5};
        const auto tracked = classical::track(r.input, r.task, s, false);
        double err = 0, power = 0, ferr = 0;
        for (std::size_t t = 4000; t < r.size(); ++t) {
            const double d = tracked.w[0][t].real() - r.truth->references[0][t];
            err += d * d, power += r.truth->references[0][t] * r.truth->references[0][t];
            ferr = std::max(ferr, std::abs(tracked.frequency[0][t] - f));
        }
        CHECK(ferr < 0.01);
        CHECK(err / power < 0.01);
    }
    // A harmonic family: 50.7 Hz with its second and third harmonics, all found through
    // the fundamental's one frequency.
    Record r = tone(4000, 3, 50.7, 1.0, 0.3, 0.1, 50, 1.0);
    r.task.components.push_back({"h2", 100, 1, 2.0, 0});
    r.task.components.push_back({"h3", 150, 1, 3.0, 0});
    for (std::size_t t = 0; t < r.size(); ++t)
        r.input.channels[0][t] += 0.5 * std::cos(two_pi * 101.4 * static_cast<double>(t) / 4000) +
                                  0.3 * std::sin(two_pi * 152.1 * static_cast<double>(t) / 4000);
    classical::TrackerSettings s;
    s.q_amplitude = {1e-3, 1e-3, 1e-3};
    s.q_frequency = 1e-4;
    s.r = 0.01;
    s.robust = 0;
    s.p0 = {0.5, 0.125, 0.045};
    const auto tracked = classical::track(r.input, r.task, s, false);
    for (std::size_t k = 0; k < 3; ++k)
        CHECK(std::abs(tracked.frequency[k].back() - 50.7 * static_cast<double>(k + 1)) <
              0.01 * static_cast<double>(k + 1));
}

TEST_CASE("the drift models stream as they predict, and restore bit for bit", "[drift][streaming][saved]") {
    const Dataset data = drifting_hum();
    const Record& r = data.tests.back().records.front();
    struct Case {
        std::string plugin;
        Params params;
        std::size_t respond_within;  // samples: the tracker updates once per block (4 ms)
    };
    const std::vector<Case> causal = {{"tracker", {}, 16},
                                      {"notch", {}, 0},
                                      {"notch", Params({{"filter", std::string("comb")}}), 0},
                                      {"notch", Params({{"q", 10.0}}), 0},
                                      {"lms", {}, 0},
                                      {"lms", Params({{"mu", 0.01}, {"calibrate", false}}), 0}};
    TestHost host;
    for (const auto& c : causal) {
        INFO(c.plugin);
        auto m = make_plugin<Model>(c.plugin, Kind::model, c.params);
        m->fit(data.train, host);
        sigx::test::check_streaming(*m, r, c.respond_within);
    }
    const std::vector<Case> all = {{"tracker", {}, 0},
                                   {"tracker", Params({{"smooth", true}}), 0},
                                   {"notch", Params({{"zero_phase", true}}), 0},
                                   {"notch", Params({{"filter", std::string("comb")}, {"zero_phase", true}}), 0},
                                   {"lms", {}, 0},
                                   {"multitaper", {}, 0},
                                   {"multitaper", Params({{"window", 0.25}}), 0}};
    for (const auto& c : all) {
        INFO(c.plugin);
        TempDir t;
        auto fitted = make_plugin<Model>(c.plugin, Kind::model, c.params);
        fitted->fit(data.train, host);
        ModelState* state = model_state(*fitted);
        REQUIRE(state);
        state->save_state(t.path());
        auto restored = make_plugin<Model>(c.plugin, Kind::model, c.params);
        model_state(*restored)->load_state(t.path(), r.task.size());
        for (const auto& set : data.tests)
            for (const auto& rec : set.records)
                CHECK(same_bits(fitted->predict(rec.input, rec.task, host),
                                restored->predict(rec.input, rec.task, host)));
    }
    // The non-causal forms refuse to stream, saying why, or offer no stream at all.
    const StreamConfig config{r.input.sample_rate, 1, 0, r.task, 16};
    CHECK_THROWS_WITH(
        streaming(*make_plugin<Model>("tracker", Kind::model, Params({{"smooth", true}})))->configure(config),
        Catch::Contains("smooth = true also runs each record backwards") && Catch::Contains("non-causal"));
    CHECK_THROWS_WITH(
        streaming(*make_plugin<Model>("notch", Kind::model, Params({{"zero_phase", true}})))->configure(config),
        Catch::Contains("zero_phase = true also filters each record backwards") && Catch::Contains("non-causal"));
    CHECK(streaming(*make_plugin<Model>("multitaper", Kind::model)) == nullptr);
}

TEST_CASE("the drift models follow a walking grid better than the models that assume exact tones", "[drift]") {
    // Harmonics of 50 Hz walking by 0.1 Hz at 4 kHz (noisy_sinusoid's amplitude and phase
    // noise on top): the tracker, and the multitaper search, against kalman and sliding
    // least squares at the nominal frequencies, on the unseen records.
    const Dataset data = drifting_hum(4.0, 3);
    TestHost host;
    auto mse = [&](const std::string& plugin, Params p) {
        auto m = make_plugin<Model>(plugin, Kind::model, std::move(p));
        m->fit(data.train, host);
        double err = 0, n = 0;
        for (const auto& rec : data.tests.back().records) {
            const Prediction y = m->predict(rec.input, rec.task, host);
            for (std::size_t k = 0; k < rec.task.size(); ++k)
                for (std::size_t t = rec.size() / 4; t < rec.size(); ++t) {  // after locking on
                    const double d = y.components[k][t] - rec.truth->references[k][t];
                    err += d * d, n += 1;
                }
        }
        return err / n;
    };
    const double tracker = mse("tracker", {}), kalman = mse("kalman", {});
    const double lsq = mse("lsq", Params({{"mode", std::string("sliding")}, {"window", std::int64_t{400}}}));
    INFO("tracker " << tracker << ", kalman " << kalman << ", lsq sliding " << lsq);
    CHECK(tracker < kalman / 3);
    CHECK(tracker < lsq / 3);
}
