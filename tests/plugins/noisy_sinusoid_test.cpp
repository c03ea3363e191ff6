// The noisy_sinusoid generator, loaded from the built plugin folder like the host does.
//
// Statistical checks use tolerances derived from the sample size: a sample mean of N
// independent draws with standard deviation sd is within 5 * sd / sqrt(N) of the true mean
// except with probability below 1e-6; a sample variance of N draws is within 5 standard
// errors of the true variance, with the standard error sqrt((mu4 - sigma^4) / N) (for
// U(a, b): sigma^2 = w^2 / 12, mu4 = w^4 / 80, so the standard error is w^2 / sqrt(180 N),
// w = b - a). The seeds are fixed, so the checks are also deterministic.
#include "support/support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace sigx;
using sigx::test::make_plugin;
using sigx::test::mix_of;
using sigx::test::reference_of;
using sigx::test::TestHost;

namespace {

constexpr double pi = 3.14159265358979323846;
constexpr double two_pi = 6.283185307179586476925286766559;  // as the generator spells it

Dataset generate(Params given) { return sigx::test::noisy_sinusoid(std::move(given)); }

Params params(RealList frequencies, double sample_rate, double duration, RealList amplitude, double phase_scale,
              double mix_weight = 0.0) {
    Params p;
    p.set("frequencies", std::move(frequencies));
    p.set("sample_rate", sample_rate);
    p.set("duration", duration);
    p.set("amplitude", std::move(amplitude));
    p.set("phase_scale", phase_scale);
    p.set("mix_weight", mix_weight);
    return p;
}

struct Stats {
    double n = 0, sum = 0, sum2 = 0, min = INFINITY, max = -INFINITY;
    void add(double x) { n += 1, sum += x, sum2 += x * x, min = std::min(min, x), max = std::max(max, x); }
    double mean() const { return sum / n; }
    double variance() const { return (sum2 - sum * sum / n) / (n - 1); }
};

// Checks that draws of U(lo, hi) have the right mean and variance (see the file comment).
void check_uniform(const Stats& s, double lo, double hi) {
    const double w = hi - lo;
    const double mean_tol = 5 * (w / std::sqrt(12.0)) / std::sqrt(s.n);
    const double var_tol = 5 * w * w / std::sqrt(180.0 * s.n);
    INFO("N = " << s.n << ", mean " << s.mean() << ", variance " << s.variance());
    CHECK(std::abs(s.mean() - (lo + hi) / 2) < mean_tol);
    CHECK(std::abs(s.variance() - w * w / 12) < var_tol);
}

void check_error(const Params& given, const std::string& key, const std::string& fragment) {
    try {
        make_plugin<Generator>("noisy_sinusoid", Kind::generator, given);
        FAIL("no ParamError for key " << key);
    } catch (const ParamError& e) {
        CHECK(e.key == key);
        CHECK_THAT(e.what(), Catch::Matchers::Contains(fragment));
    }
}

}  // namespace

TEST_CASE("noisy_sinusoid: record layout: one training record, then the test set \"test\" first", "[generator]") {
    const Dataset d = generate(params({1.0, 3.0}, 100.0, 2.5, {0.8, 1.2}, 0.1));
    REQUIRE(d.train.size() == 1);
    REQUIRE(d.tests.size() >= 1);
    CHECK(d.tests[0].name == "test");
    REQUIRE(d.tests[0].records.size() == 1);
    for (const Record* s : {&d.train[0], &d.tests[0].records[0]}) {
        CHECK(s->input.sample_rate == 100.0);
        CHECK(s->input.start_time == 0.0);
        CHECK(s->size() == 250);
        REQUIRE(s->input.channels.size() == 1);
        REQUIRE(s->task.size() == 2);
        CHECK(s->task.components[0].label == "1Hz");
        CHECK(s->task.components[1].label == "3Hz");
        CHECK(s->task.components[1].frequency == 3.0);
        // mix_weight 0 means 1 / number of components; the gain is weight * mean amplitude.
        CHECK(s->task.components[0].gain == Approx(0.5 * 1.0).epsilon(1e-15));
        REQUIRE(s->truth);
        CHECK(s->truth->start_time == 0.0);
        for (const auto& ref : s->truth->references) CHECK(ref.size() == 250);
        CHECK(s->input.metadata.at("generator") == "noisy_sinusoid");
        CHECK(s->input.metadata.count("seed") == 0);  // a seed would let a model regenerate the truth
    }
    CHECK(d.train[0].input.name == "train-0");
    CHECK(d.tests[0].records[0].input.name == "test-0");
    CHECK(d.train[0].truth->metadata.at("seed") == "1");
    CHECK(d.tests[0].records[0].truth->metadata.at("seed") == "2");
}

TEST_CASE("noisy_sinusoid: references are exactly sin(2 pi f t)", "[generator]") {
    const Dataset d = generate(params({1.0, 7.5, 40.0}, 100.0, 3.0, {0.8, 1.2}, 1.0));
    for (const Record* s : {&d.train[0], &d.tests[0].records[0]})
        for (std::size_t k = 0; k < s->task.size(); ++k)
            for (std::size_t n = 0; n < s->size(); ++n) {
                const double t = static_cast<double>(n) / 100.0;
                INFO(s->task.components[k].label << " sample " << n);
                REQUIRE(reference_of(*s, k)[n] == std::sin(two_pi * s->task.components[k].frequency * t));
            }
}

TEST_CASE("noisy_sinusoid: an unseen-phase record hides its start from the model, not from its truth", "[generator]") {
    const Dataset d = generate(params({1.0, 7.5}, 100.0, 3.0, {0.8, 1.2}, 0.01));
    REQUIRE(d.tests.size() == 2);
    CHECK(d.tests[1].name == "unseen_phase");
    CHECK_THAT(d.tests[0].description, Catch::Matchers::Contains("same time axis"));
    for (const Record& r : d.tests[1].records) {
        CHECK(r.input.start_time == 0.0);  // all a model is told
        REQUIRE(r.truth);
        CHECK(r.truth->start_time > 0.0);  // drawn in [0, 1000) s
        for (std::size_t k = 0; k < r.task.size(); ++k)
            for (std::size_t n = 0; n < r.size(); n += 7) {
                const double t = r.truth->start_time + static_cast<double>(n) / 100.0;
                REQUIRE(reference_of(r, k)[n] == std::sin(two_pi * r.task.components[k].frequency * t));
            }
    }
}

TEST_CASE("noisy_sinusoid: amplitudes stay within [lo, hi] and have the mean and variance of U(lo, hi)",
          "[generator][statistics]") {
    // One component, phase_scale 0: mix = w * A(n) * sin(2 pi f t) exactly, so where
    // |sin| is not tiny, A(n) = mix / (w * sin) up to rounding. A does not depend on t,
    // so selecting samples by |sin| > 0.5 does not bias the draws.
    const double lo = 0.8, hi = 1.2, w = 0.5;
    const Dataset d = generate(params({7.0}, 1000.0, 30.0, {lo, hi}, 0.0, w));
    Stats a;
    for (const Record* s : {&d.train[0], &d.tests[0].records[0]}) {
        const auto& ref = reference_of(*s, 0);
        for (std::size_t n = 0; n < s->size(); ++n) {
            if (std::abs(ref[n]) <= 0.5) continue;
            const double amplitude = mix_of(*s)[n] / (w * ref[n]);
            REQUIRE(amplitude >= lo - 1e-12);
            REQUIRE(amplitude <= hi + 1e-12);
            a.add(amplitude);
        }
    }
    REQUIRE(a.n > 30000);
    check_uniform(a, lo, hi);
    // The whole range is used: P(no draw in the lowest or highest 1%) = 0.99^N, N > 3e4.
    CHECK(a.min < lo + 0.01 * (hi - lo));
    CHECK(a.max > hi - 0.01 * (hi - lo));
}

TEST_CASE("noisy_sinusoid: a mix of components matches its expectation and variance given the references",
          "[generator][statistics]") {
    // phase_scale 0, K components with weight w: mix(n) = w * sum_i A_i(n) r_i(n) with
    // r_i the references and A_i iid U(lo, hi). With d_i = A_i - m (m = (lo + hi) / 2):
    //   e(n) = mix(n) - w m sum_i r_i(n) = w sum_i d_i r_i(n),   E[e] = 0,
    //   E[e^2] = w^2 s2 S(n),  S = sum_i r_i^2,  s2 = var(A),
    //   Var[e^2] = w^4 (sum_i r_i^4 (mu4 - 3 s2^2) + 2 s2^2 S^2),  mu4 = (hi - lo)^4 / 80.
    // Samples are independent, so both sums over n are checked within 5 standard errors.
    const double lo = 0.5, hi = 1.5;
    const RealList freqs = {1.0, 3.0, 5.0, 7.0};
    const Dataset d = generate(params(freqs, 500.0, 20.0, {lo, hi}, 0.0));
    const Record& s = d.tests[0].records[0];
    const double w = 1.0 / static_cast<double>(freqs.size()), m = (lo + hi) / 2;
    const double s2 = (hi - lo) * (hi - lo) / 12, mu4 = std::pow(hi - lo, 4) / 80;
    double sum_e = 0, var_sum_e = 0, sum_e2 = 0, expected_e2 = 0, var_sum_e2 = 0;
    for (std::size_t n = 0; n < s.size(); ++n) {
        double clean = 0, S = 0, S4 = 0;
        for (const auto& ref : s.truth->references) {
            const double r = ref[n];
            clean += r, S += r * r, S4 += r * r * r * r;
        }
        const double e = mix_of(s)[n] - w * m * clean;
        sum_e += e;
        var_sum_e += w * w * s2 * S;
        sum_e2 += e * e;
        expected_e2 += w * w * s2 * S;
        var_sum_e2 += std::pow(w, 4) * (S4 * (mu4 - 3 * s2 * s2) + 2 * s2 * s2 * S * S);
    }
    INFO("sum e = " << sum_e << ", sum e^2 = " << sum_e2 << " (expected " << expected_e2 << ")");
    CHECK(std::abs(sum_e) < 5 * std::sqrt(var_sum_e));
    CHECK(std::abs(sum_e2 - expected_e2) < 5 * std::sqrt(var_sum_e2));
}

TEST_CASE("noisy_sinusoid: phase noise phase_scale * U(0, 2 pi) has the right range, mean and variance",
          "[generator][statistics]") {
    // One component at f = sample_rate / 4, amplitude [1, 1], weight 1:
    // mix(n) = sin(pi n / 2 + phi(n)), so at even n, mix = +-sin(phi) (+ for n = 0 mod 4).
    // With phase_scale 0.2, phi is in [0, 0.4 pi) within [0, pi / 2), where asin is one to one:
    // phi = asin(+-mix). (The generator's 2 pi f t is pi n / 2 up to a few 1e-12 of rounding,
    // far below the tolerances.)
    const double scale = 0.2, fs = 1000.0;
    const Dataset d = generate(params({fs / 4}, fs, 20.0, {1.0, 1.0}, scale));
    Stats phi;
    for (const Record* s : {&d.train[0], &d.tests[0].records[0]})
        for (std::size_t n = 0; n < s->size(); n += 2) {
            const double p = std::asin(n % 4 == 0 ? mix_of(*s)[n] : -mix_of(*s)[n]);
            REQUIRE(p >= -1e-9);
            REQUIRE(p <= scale * two_pi + 1e-9);
            phi.add(p);
        }
    REQUIRE(phi.n == 20000);
    // mean phase_scale * pi, sd phase_scale * 2 pi / sqrt(12)
    check_uniform(phi, 0.0, scale * two_pi);
    CHECK(phi.max > 0.99 * scale * two_pi);
    CHECK(phi.min < 0.01 * scale * two_pi);

    SECTION("phase_scale 0 adds no phase at all") {
        const Dataset clean = generate(params({fs / 4}, fs, 1.0, {1.0, 1.0}, 0.0));
        const Record& s = clean.train[0];
        for (std::size_t n = 0; n < s.size(); ++n) REQUIRE(mix_of(s)[n] == reference_of(s, 0)[n]);
    }
}

TEST_CASE("noisy_sinusoid: draws follow the documented order, so a seed gives the same bits everywhere",
          "[generator][determinism]") {
    // Documented in the plugin: one mt19937_64 per record seeded with the record's seed;
    // per sample, per component: A then phi; u = (engine() >> 11) * 2^-53.
    const double lo = 0.8, hi = 1.2, scale = 0.3, fs = 50.0;
    const RealList freqs = {2.0, 5.0};
    Params p = params(freqs, fs, 4.0, {lo, hi}, scale);
    p.set("train_seed", std::int64_t{77});
    const Record s = generate(p).train[0];
    std::mt19937_64 engine(77);
    auto u = [&] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };
    for (std::size_t n = 0; n < s.size(); ++n) {
        double sum = 0;
        for (double f : freqs) {
            const double a = lo + (hi - lo) * u();
            const double phi = scale * two_pi * u();
            sum += a * std::sin(two_pi * f * s.input.time(n) + phi);
        }
        INFO("sample " << n);
        REQUIRE(mix_of(s)[n] == 0.5 * sum);
    }
}

TEST_CASE("noisy_sinusoid: same seed gives identical bits, another seed another record", "[generator][determinism]") {
    Params p = params({1.0, 3.0, 5.0}, 200.0, 5.0, {0.8, 1.2}, 0.5);
    const Dataset a = generate(p), b = generate(p);
    const auto same_bits = [](const Samples& x, const Samples& y) {
        return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
    };
    CHECK(same_bits(mix_of(a.train[0]), mix_of(b.train[0])));
    CHECK(same_bits(mix_of(a.tests[0].records[0]), mix_of(b.tests[0].records[0])));
    // Train (seed 1) and test (seed 2) records differ in the noise, not in the references.
    CHECK_FALSE(same_bits(mix_of(a.train[0]), mix_of(a.tests[0].records[0])));
    CHECK(same_bits(reference_of(a.train[0], 2), reference_of(a.tests[0].records[0], 2)));

    Params other = p;
    other.set("train_seed", std::int64_t{3});
    const Dataset c = generate(other);
    CHECK_FALSE(same_bits(mix_of(a.train[0]), mix_of(c.train[0])));
    CHECK(c.train[0].truth->metadata.at("seed") == "3");
    // The test record only depends on its own seed.
    CHECK(same_bits(mix_of(a.tests[0].records[0]), mix_of(c.tests[0].records[0])));
    // A record is a function of its seed alone: test_seed = 1 reproduces the training record.
    Params swapped = p;
    swapped.set("test_seed", std::int64_t{1});
    CHECK(same_bits(mix_of(generate(swapped).tests[0].records[0]), mix_of(a.train[0])));
}

TEST_CASE("noisy_sinusoid: meaningless values are refused with a ParamError naming the key", "[generator]") {
    check_error(params({1.0, 500.0}, 1000.0, 1.0, {0.8, 1.2}, 0.1), "frequencies",
                "frequency 500 Hz is at or above Nyquist (500 Hz = sample_rate / 2)");
    check_error(params({10.0}, 15.0, 1.0, {0.8, 1.2}, 0.1), "frequencies", "at or above Nyquist (7.5 Hz");
    check_error(params({1.0, 3.0, 1.0}, 1000.0, 1.0, {0.8, 1.2}, 0.1), "frequencies", "frequency 1 Hz is listed twice");
    check_error(params({1.0}, 1000.0, 1.0, {1.2, 0.8}, 0.1), "amplitude", "amplitude range [1.2, 0.8] has lo > hi");
    check_error(params({1.0}, 1000.0, 1e-4, {0.8, 1.2}, 0.1), "duration", "less than one sample");
    // Just below Nyquist is fine.
    CHECK(generate(params({499.9}, 1000.0, 0.01, {0.8, 1.2}, 0.1)).train[0].size() == 10);
}

TEST_CASE("noisy_sinusoid: labels are the frequencies in their shortest exact form, so never collide", "[generator]") {
    sigx::test::TestHost host;
    const auto d = sigx::test::make_plugin<sigx::Generator>(
                       "noisy_sinusoid", sigx::Kind::generator,
                       sigx::Params({{"frequencies", sigx::RealList{100.0001, 100.0002, 50.0}},
                                     {"duration", 0.1},
                                     {"unseen_records", std::int64_t{0}}}))
                       ->generate(host);
    const auto& c = d.train.at(0).task.components;
    REQUIRE(c.size() == 3);
    CHECK(c[0].label == "100.0001Hz");  // "{:g}" made both of these "100Hz"
    CHECK(c[1].label == "100.0002Hz");
    CHECK(c[2].label == "50Hz");
}

TEST_CASE("noisy_sinusoid: a duplicate among many frequencies is found (sorted, not pairwise)", "[generator]") {
    sigx::RealList many(200000);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = 1.0 + static_cast<double>(i) * 1e-3;
    many.back() = many[1234];
    try {
        sigx::test::make_plugin<sigx::Generator>("noisy_sinusoid", sigx::Kind::generator,
                                                 sigx::Params({{"frequencies", many}, {"sample_rate", 1000.0}}));
        FAIL("a duplicate frequency was accepted");
    } catch (const sigx::ParamError& e) {
        CHECK(e.key == "frequencies");
        CHECK_THAT(e.what(),
                   Catch::Matchers::StartsWith("frequency 2.23") && Catch::Matchers::EndsWith(" Hz is listed twice"));
    }
}
