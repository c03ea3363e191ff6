// The metrics evaluator on hand-made data: its MSE and Pearson numbers equal a direct
// computation, records are pooled per test set, and the "(predict zero)" floor is mean(ref^2).
#include "support/support.hpp"

#include <sigx/host/report.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

using namespace sigx;
namespace fs = std::filesystem;
using sigx::test::make_plugin;
using sigx::test::TestHost;

namespace {

// Two components mixed at gain 0.5, plus an offset of 0.1.
Record record(const std::vector<Samples>& refs) {
    Record s;
    s.input.sample_rate = 10.0;
    Samples& mix = s.input.channels.emplace_back(refs[0].size(), 0.1);
    s.truth.emplace();
    for (std::size_t c = 0; c < refs.size(); ++c) {
        s.task.components.push_back({c == 0 ? "a" : "b", 1.0 + static_cast<double>(c), 0.5});
        s.truth->references.push_back(refs[c]);
        for (std::size_t n = 0; n < refs[c].size(); ++n) mix[n] += 0.5 * refs[c][n];
    }
    return s;
}

double sum_square(const Samples& t) {
    double s = 0;
    for (double x : t) s += x * x;
    return s;
}

double mse(const Samples& p, const Samples& t) {
    double s = 0;
    for (std::size_t i = 0; i < p.size(); ++i) s += (p[i] - t[i]) * (p[i] - t[i]);
    return s / static_cast<double>(p.size());
}

// Two-pass textbook formula, independent of the evaluator's one-pass sums.
double pearson(const Samples& p, const Samples& t) {
    const double n = static_cast<double>(p.size());
    double mp = 0, mt = 0;
    for (std::size_t i = 0; i < p.size(); ++i) mp += p[i] / n, mt += t[i] / n;
    double cov = 0, vp = 0, vt = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        cov += (p[i] - mp) * (t[i] - mt);
        vp += (p[i] - mp) * (p[i] - mp);
        vt += (t[i] - mt) * (t[i] - mt);
    }
    return cov / std::sqrt(vp * vt);
}

double mean_square(const Samples& t) { return mse(Samples(t.size(), 0.0), t); }

Samples concat(const Samples& a, const Samples& b) {
    Samples r = a;
    r.insert(r.end(), b.begin(), b.end());
    return r;
}

}  // namespace

TEST_CASE("metrics: MSE, Pearson and the predict-zero floor equal a direct computation", "[metrics]") {
    // Test set "test": two records with a truth (pooled) and one without, which must not
    // count; set "extra": one record; an empty set and a set without truth are skipped.
    const Samples a1 = {1.0, -0.5, 0.25, 2.0}, b1 = {0.0, 1.0, -1.0, 0.5};
    const Samples a2 = {-1.5, 0.75, 0.5}, b2 = {2.0, -2.0, 0.1};
    const Samples a3 = {0.3, -0.3, 0.9, 1.1, -0.7};
    const Samples b3 = {1.0, 2.0, 3.0, 4.0, 5.0};
    Dataset d;
    Record unscored = record({a1, b1});
    unscored.truth.reset();
    d.tests.push_back({"test", "", {record({a1, b1}), record({a2, b2}), unscored}});
    d.tests.push_back({"extra", "", {record({a3, b3})}});
    d.tests.push_back({"empty", "", {}});
    d.tests.push_back({"no_truth", "", {unscored}});
    const Prediction wild{{Samples(4, 99.0), Samples(4, -99.0)}};  // whatever a model says without an answer

    // Model "m1": arbitrary predictions; model "m2": perfect on a, constant on b.
    const Samples pa1 = {0.9, -0.4, 0.0, 1.5}, pb1 = {0.2, 0.7, -0.6, 0.1};
    const Samples pa2 = {-1.0, 1.0, 0.4}, pb2 = {1.2, -1.1, 0.3};
    const Samples pa3 = {0.1, -0.2, 0.8, 1.4, -0.1}, pb3 = {1.5, 1.9, 3.3, 3.6, 5.2};
    ModelOutput m1{
        "m1", 0.5, {{Prediction{{pa1, pb1}}, Prediction{{pa2, pb2}}, wild}, {Prediction{{pa3, pb3}}}, {}, {wild}}, {}};
    ModelOutput m2{"m2",
                   0.0,
                   {{Prediction{{a1, Samples(4, 0.7)}}, Prediction{{a2, Samples(3, 0.7)}}, wild},
                    {Prediction{{a3, Samples(5, 0.7)}}},
                    {},
                    {wild}},
                   {}};

    TestHost host;
    const auto metrics = make_plugin<Evaluator>("metrics", Kind::evaluator)->evaluate(d, {m1, m2}, host);
    std::map<std::string, double> got;
    std::size_t whole_record = 0;
    for (const auto& m : metrics) {
        const std::string key = m.test_set + "/" + m.model + "/" + m.component + "/" + sigx::host::metric_key(m);
        CHECK(got.count(key) == 0);
        got[key] = m.value;
        if (m.window.empty()) ++whole_record;  // not over time
    }
    // Per set: 2 models x ((2 components + mean) x 4 metrics + the sum's) + floor: 2 components
    // + mean, mse only.
    CHECK(whole_record == 2 * (2 * (3 * 4 + 1) + 3));
    const auto value = [&](const std::string& key) {
        INFO(key);
        REQUIRE(got.count(key) == 1);
        return got[key];
    };
    const auto close = [](double x) { return Approx(x).epsilon(1e-12).margin(1e-15); };

    // "test": records pooled.
    const Samples ta = concat(a1, a2), tb = concat(b1, b2);
    const Samples p1a = concat(pa1, pa2), p1b = concat(pb1, pb2);
    CHECK(value("test/m1/a/mse") == close(mse(p1a, ta)));
    CHECK(value("test/m1/b/mse") == close(mse(p1b, tb)));
    CHECK(value("test/m1/a/pearson") == close(pearson(p1a, ta)));
    CHECK(value("test/m1/b/pearson") == close(pearson(p1b, tb)));
    CHECK(value("test/m1/mean/mse") == close((mse(p1a, ta) + mse(p1b, tb)) / 2));
    CHECK(value("test/m1/mean/pearson") == close((pearson(p1a, ta) + pearson(p1b, tb)) / 2));
    CHECK(value("test/m2/a/mse") == 0.0);
    CHECK(value("test/m2/a/pearson") == close(1.0));
    CHECK(value("test/m2/b/mse") == close(mse(Samples(7, 0.7), tb)));
    CHECK(value("test/m2/b/pearson") == 0.0);  // a constant prediction has no correlation
    CHECK(value("test/(predict zero)/a/mse") == close(mean_square(ta)));
    CHECK(value("test/(predict zero)/b/mse") == close(mean_square(tb)));
    CHECK(value("test/(predict zero)/mean/mse") == close((mean_square(ta) + mean_square(tb)) / 2));
    CHECK(got.count("test/(predict zero)/a/pearson") == 0);
    CHECK(value("test/m1/a/mse_rel_floor") == close(mse(p1a, ta) / mean_square(ta)));
    // The components' sum (what a line remover removes) against the sum of the targets.
    Samples p1sum = p1a, tsum = ta;
    for (std::size_t n = 0; n < tsum.size(); ++n) p1sum[n] += p1b[n], tsum[n] += tb[n];
    CHECK(value("test/m1/mean/sum_rel_floor") == close(mse(p1sum, tsum) / mean_square(tsum)));
    CHECK(got.count("test/m1/mean/freq_rms_hz") == 0);  // no frequencies: none scored
    // SNR gain: output SNR (target power / error power) minus input SNR (the component's
    // power in the mix / the power of the rest of the mix: the other component + 0.1).
    Samples rest_a = tb;
    for (double& x : rest_a) x = 0.5 * x + 0.1;
    const double snr_in_a = 10 * std::log10(0.25 * sum_square(ta) / sum_square(rest_a));
    const double snr_out_a = 10 * std::log10(mean_square(ta) / mse(p1a, ta));
    CHECK(value("test/m1/a/snr_gain_db") == close(snr_out_a - snr_in_a));
    CHECK(value("test/m1/mean/snr_gain_db") ==
          close((value("test/m1/a/snr_gain_db") + value("test/m1/b/snr_gain_db")) / 2));

    // "extra": its own numbers, not mixed with "test".
    CHECK(value("extra/m1/a/mse") == close(mse(pa3, a3)));
    CHECK(value("extra/m1/b/pearson") == close(pearson(pb3, b3)));
    CHECK(value("extra/(predict zero)/b/mse") == close(mean_square(b3)));
    CHECK(value("extra/(predict zero)/b/mse") == close(11.0));  // (1 + 4 + 9 + 16 + 25) / 5
}

TEST_CASE("metrics: a tracker's frequency error is the RMS of its estimate against the truth's, in Hz", "[metrics]") {
    Dataset d;
    Record r;
    r.input.sample_rate = 2;  // 1 s of warm-up is 2 samples
    r.input.channels = {{0, 0, 0, 0}};
    r.task.components = {{"a", 1.0, 1.0, 0.1, -1}, {"b", 2.0, 1.0, 0.2, 0}};
    r.truth.emplace();
    r.truth->references = {{1, 0, -1, 0}, {0, 1, 0, -1}};
    r.truth->frequencies = {{1.0, 1.0, 1.05, 1.05}, {2.0, 2.0, 2.1, 2.1}};
    d.train.push_back(r);
    d.tests.push_back({"test", "", {r}});
    Prediction p{r.truth->references};
    p.frequencies = {{1.0, 1.1, 1.0, 1.05}, {2.0, 2.2, 2.1, 2.1}};
    const ModelOutput tracker{"tracker", 0, {{p}}, {}};
    TestHost host;
    std::map<std::string, double> got;
    for (const auto& m : make_plugin<Evaluator>("metrics", Kind::evaluator)->evaluate(d, {tracker}, host))
        got[m.model + "/" + m.component + "/" + sigx::host::metric_key(m)] = m.value;
    const auto close = [](double x) { return Approx(x).epsilon(1e-12).margin(1e-15); };
    CHECK(got.at("tracker/a/freq_rms_hz") == close(std::sqrt((0.01 + 0.0025) / 4)));
    CHECK(got.at("tracker/b/freq_rms_hz") == close(std::sqrt(0.04 / 4)));
    CHECK(got.at("tracker/mean/freq_rms_hz") == close(std::sqrt(((0.01 + 0.0025) / 4 + 0.04 / 4) / 2)));
    CHECK(got.at("tracker/a/freq_rms_hz@steady") == close(std::sqrt(0.0025 / 2)));
    CHECK(got.at("tracker/mean/sum_rel_floor") == 0.0);  // the components themselves are exact
}

TEST_CASE("metrics over time: time bins and the steady part agree with predictions.csv", "[metrics]") {
    sigx::test::TempDir t;
    const fs::path file = t.path() / "p.toml";
    std::ofstream(file) << R"([pipeline]
name = "timed"
[source]
plugin = "noisy_sinusoid"
duration = 2.5
phase_scale = 0.01
unseen_records = 2
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 300
[[evaluate]]
plugin = "metrics"
warmup = 0.7
)";
    const auto r = sigx::test::run_sigx("run -q " + sigx::test::quote(file.string()) + " --out " +
                                        sigx::test::quote(t.path().string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = sigx::test::only_run(t.path());
    // Columns: test_set,record,sample,time,component,mix,target,lsq_sliding. Squared errors
    // summed by set and by part: the bin 0.2-0.5 s, from the warm-up on, and before it.
    struct Sums {
        double bin = 0, steady = 0, warmup = 0;
        std::size_t n_bin = 0, n_steady = 0, n_warmup = 0;
    };
    std::map<std::string, Sums> sums;
    std::ifstream in(run / "predictions.csv");
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "test_set,record,sample,time,component,mix,target,lsq_sliding");
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
        REQUIRE(f.size() == 8);
        const double time = std::stod(f[2]) / 1000.0, e = std::stod(f[7]) - std::stod(f[6]);
        Sums& s = sums[f[0]];
        if (time >= 0.2 && time < 0.5) s.bin += e * e, ++s.n_bin;
        if (time >= 0.7)
            s.steady += e * e, ++s.n_steady;
        else
            s.warmup += e * e, ++s.n_warmup;
    }
    const auto results = nlohmann::json::parse(sigx::test::read_text(run / "metrics.json"))["results"];
    REQUIRE(sums.size() == 2);
    for (const auto& [set, s] : sums) {
        INFO(set);
        const auto& m = results[set]["lsq_sliding"]["mean"];
        // Means over 4 components of per-component MSEs of equal counts: the pooled mean.
        CHECK(m["mse@0.2-0.5s"].get<double>() == Approx(s.bin / static_cast<double>(s.n_bin)).epsilon(1e-9));
        CHECK(m["mse@steady"].get<double>() == Approx(s.steady / static_cast<double>(s.n_steady)).epsilon(1e-9));
        // Exactly the warm-up left out: 0.7 s of each record's 2.5 s.
        CHECK(s.n_warmup * 18 == s.n_steady * 7);
        CHECK(m["mse"].get<double>() ==
              Approx((s.steady + s.warmup) / static_cast<double>(s.n_steady + s.n_warmup)).epsilon(1e-9));
        for (const char* bin : {"mse@0-0.1s", "mse@0.1-0.2s", "mse@0.5-1s", "mse@1-2s", "mse@2-2.5s"})
            CHECK(m.contains(bin));
        CHECK_FALSE(m.contains("mse@2-3s"));
    }
    CHECK_THAT(sigx::test::read_text(run / "report.md"), Catch::Contains("| steady mse |"));
}
