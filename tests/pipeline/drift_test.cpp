// Drifting tones end to end: the generators make drift (the truth holds the drifted tones
// and their frequencies, the task only the nominal frequencies and the tolerance), a
// recording states its tolerance and harmonics, and a run scores trackers' frequencies,
// writes them out, warns about the models that assume exact tones, and says which rows of
// its report are bounds.
#include "support/support.hpp"

#include <sigx/audio.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using namespace sigx;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::make_plugin;
using sigx::test::only_run;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_sigx;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

constexpr double two_pi = 6.283185307179586476925286766559;

Dataset flagship(Params p) {
    p.set("duration", 4.0);
    p.set("unseen_records", std::int64_t{1});
    return sigx::test::noisy_sinusoid(p);
}

using sigx::test::write_text;

// Two 2-s recordings at 2 kHz of a 50 Hz grid offset by 0.4 Hz with its second harmonic,
// and noise; the truth, and its frequencies (as scripts/make_hum.sh writes them).
void write_drifting_recordings(const fs::path& dir) {
    fs::create_directories(dir / "truth");
    for (int i = 0; i < 2; ++i) {
        const std::string name = i == 0 ? "train" : "test";
        const std::size_t n = 4000;
        Samples mix(n), h1(n), h2(n), f1(n, 50.4), f2(n, 100.8);
        std::uint64_t state = 99 + static_cast<std::uint64_t>(i);
        for (std::size_t t = 0; t < n; ++t) {
            const double time = static_cast<double>(t) / 2000;
            h1[t] = 0.3 * std::sin(two_pi * 50.4 * time + i);
            h2[t] = 0.1 * std::sin(two_pi * 100.8 * time + 2 * i);
            state = state * 6364136223846793005ull + 1442695040888963407ull;  // noise: a fixed LCG
            mix[t] = h1[t] + h2[t] + 0.05 * (static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5);
        }
        audio::write_wav(dir / (name + ".wav"), 2000, {&mix});
        audio::write_wav(dir / "truth" / (name + ".wav"), 2000, {&h1, &h2});
        audio::write_wav(dir / "truth" / (name + ".frequency.wav"), 2000, {&f1, &f2});
    }
}

std::string drifting_source(const fs::path& dir) {
    return "[source]\nplugin = \"recording\"\ntrain = " + quote((dir / "train.wav").string()) +
           "\ntest = " + quote((dir / "test.wav").string()) +
           "\nfrequencies = [50, 100]\nlabels = [\"hum50\", \"hum100\"]\ntolerance = 1.0\nharmonics = true\n"
           "train_truth = \"{dir}/truth/{stem}.wav\"\ntest_truth = \"{dir}/truth/{stem}.wav\"\n"
           "truth_frequency = \"{dir}/truth/{stem}.frequency.wav\"\n";
}

}  // namespace

TEST_CASE("noisy_sinusoid: drift moves the truth's tones, the task keeps the nominal frequencies", "[drift]") {
    Params p;
    p.set("tolerance", 0.1);
    p.set("drift", std::string("offset"));
    p.set("drift_hz", 0.05);
    const Dataset offset = flagship(p);
    const Record& r = offset.tests.front().records.front();
    // A common drift: every tone moves by the same fraction (0.05 Hz at 1 Hz: 5%), the
    // task states the others as harmonics of the lowest, with proportional tolerances.
    for (std::size_t k = 0; k < 4; ++k) {
        const Component& c = r.task.components[k];
        INFO(c.label);
        CHECK(c.frequency == 1.0 + 2.0 * static_cast<double>(k));
        CHECK(c.tolerance == Approx(0.1 * c.frequency));
        CHECK(c.fundamental == (k == 0 ? -1 : 0));
        CHECK(r.truth->frequencies[k].front() == Approx(c.frequency * 1.05));
        CHECK(r.truth->frequencies[k].back() == Approx(c.frequency * 1.05));
    }
    // The references are the drifted tones: sin of the integrated phase, here 2 pi 1.05 f t
    // (the test record starts at t = 0).
    const Samples& ref = r.truth->references[3];
    for (std::size_t n : {std::size_t{0}, std::size_t{1234}, std::size_t{3999}})
        CHECK(ref[n] == Approx(std::sin(two_pi * 7.35 * static_cast<double>(n) / 1000)).margin(1e-9));
    CHECK(r.truth->metadata.at("model.drift") == "offset");

    p.set("drift", std::string("sweep"));
    p.set("drift_hz", 0.08);
    const Dataset swept = flagship(p);
    const Record& s = swept.tests.front().records.front();
    CHECK(s.truth->frequencies[0].front() == Approx(0.92));
    CHECK(s.truth->frequencies[0].back() == Approx(1.08));
    CHECK(s.truth->frequencies[2][s.size() / 2] == Approx(5.0).margin(5 * 0.16 / 4000));

    // A walk stays within the tolerance, and wanders by about its standard deviation
    // (the spread over 4 s of a 10-s correlation time is below it, but not far).
    p.set("drift", std::string("walk"));
    p.set("drift_hz", 0.04);
    p.set("drift_time", 1.0);
    const Dataset walked = flagship(p);
    for (const auto& set : walked.tests)
        for (const auto& rec : set.records) {
            const auto& f = rec.truth->frequencies[0];
            const auto [lo, hi] = std::minmax_element(f.begin(), f.end());
            CHECK(*lo >= 0.9 - 1e-12);
            CHECK(*hi <= 1.1 + 1e-12);
            CHECK(*hi - *lo > 0.02);
        }
    // Per tone: independent walks, no harmonics stated.
    p.set("drift_common", false);
    const Dataset apart = flagship(p);
    const Record& own = apart.tests.front().records.front();
    CHECK(own.task.components[1].fundamental == -1);
    CHECK(own.truth->frequencies[1].back() / 3 != Approx(own.truth->frequencies[0].back()));

    // Without drift nothing changes: no frequencies in the truth, exact tones.
    const Dataset exact = flagship({});
    const Record& still = exact.tests.front().records.front();
    CHECK(still.truth->frequencies.empty());
    CHECK(still.task.components[0].tolerance == 0);
    CHECK(still.truth->references[0][250] == std::sin(two_pi * 1.0 * 0.25));
}

TEST_CASE("recording: the tolerance and harmonics state the task, the frequencies come with the truth", "[drift]") {
    TempDir t;
    write_drifting_recordings(t.path());
    Params p;
    p.set("train", PathList{t.path() / "train.wav"});
    p.set("test", PathList{t.path() / "test.wav"});
    p.set("frequencies", RealList{50.0, 100.0});
    p.set("tolerance", 1.0);
    p.set("harmonics", true);
    p.set("train_truth", std::string("{dir}/truth/{stem}.wav"));
    p.set("test_truth", std::string("{dir}/truth/{stem}.wav"));
    p.set("truth_frequency", std::string("{dir}/truth/{stem}.frequency.wav"));
    TestHost host;
    const Dataset d = make_plugin<Generator>("recording", Kind::generator, p)->generate(host);
    const Task& task = d.train.front().task;
    CHECK(task.components[0].tolerance == 1.0);
    CHECK(task.components[0].fundamental == -1);
    CHECK(task.components[1].tolerance == 2.0);
    CHECK(task.components[1].fundamental == 0);
    REQUIRE(d.train.front().truth->frequencies.size() == 2);
    CHECK(d.train.front().truth->frequencies[1][100] == Approx(100.8).margin(1e-4));  // float WAV

    p.set("harmonics", false);
    const Dataset apart = make_plugin<Generator>("recording", Kind::generator, p)->generate(host);
    CHECK(apart.train.front().task.components[1].fundamental == -1);
    CHECK(apart.train.front().task.components[1].tolerance == 1.0);

    fs::remove(t.path() / "truth" / "test.frequency.wav");
    CHECK_THROWS_WITH(make_plugin<Generator>("recording", Kind::generator, p),
                      Contains("test.frequency.wav does not exist"));
}

TEST_CASE(
    "a run on drifting recordings: trackers scored in Hz and written out, the others warned about, "
    "the whole-record fit called a reference",
    "[drift]") {
    TempDir t;
    write_drifting_recordings(t.path() / "data");
    const fs::path file =
        write_text(t.path() / "drift.toml", "[pipeline]\nname = \"drift\"\n" + drifting_source(t.path() / "data") + R"(
[models.tracker]
plugin = "tracker"
[models.smooth]
plugin = "tracker"
smooth = true
[models.lsq]
plugin = "lsq"
mode = "sliding"
window = 400
[[evaluate]]
plugin = "metrics"
[[evaluate]]
plugin = "diagnose"
render = false
)");
    const auto r = run_sigx("run " + quote(file.string()) + " --out " + quote((t.path() / "runs").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("model 'lsq' (lsq) assumes each tone at its stated frequency; the task lets them "
                                  "stray (hum50 +-1 Hz, hum100 +-2 Hz)"));
    CHECK_THAT(r.output, !Contains("model 'tracker' (tracker) assumes"));
    const fs::path run = only_run(t.path() / "runs");
    const auto m = nlohmann::json::parse(read_text(run / "metrics.json"))["results"]["test"];
    // The tracker's frequency after locking on: within 0.05 Hz RMS of 50.4 Hz.
    CHECK(m["tracker"]["hum50"]["freq_rms_hz@steady"].get<double>() < 0.05);
    CHECK(m["tracker"]["mean"]["sum_rel_floor"].get<double>() < m["lsq"]["mean"]["sum_rel_floor"].get<double>());
    CHECK_FALSE(m["lsq"]["mean"].contains("freq_rms_hz"));
    const auto freq = audio::read(run / "extracted" / "tracker" / "test" / "test.frequency.wav");
    REQUIRE(freq.channels.size() == 2);
    CHECK(freq.channels[1].back() == Approx(2 * freq.channels[0].back()).epsilon(1e-6));
    // The report: the whole-record fit is a reference, not a bound; no causal bound.
    const std::string report = read_text(run / "report.md");
    CHECK_THAT(report, Contains("- `(whole-record lsq)`: calibrated least squares over each whole record"));
    CHECK_THAT(report, Contains("a reference, not a bound: the tones drift"));
    CHECK_THAT(report, !Contains("(classical bound)"));
    CHECK_THAT(report, !Contains("(causal bound)"));
    CHECK(nlohmann::json::parse(read_text(run / "report.json"))["test_sets"]["test"]["rows"].contains(
        "(whole-record lsq)"));
    // The manifests say which models are causal, and why the others are not.
    const auto causal = nlohmann::json::parse(read_text(run / "tracker" / "manifest.json"));
    CHECK(causal["causal"] == true);
    CHECK(causal["components"][1]["fundamental"] == 0);
    CHECK(causal["components"][1]["tolerance"] == 2.0);
    const auto smooth = nlohmann::json::parse(read_text(run / "smooth" / "manifest.json"));
    CHECK(smooth["causal"] == false);
    CHECK_THAT(smooth["non_causal"].get<std::string>(), Contains("smooth = true also runs each record backwards"));
    // sigx apply writes the tracker's frequencies beside its components.
    const auto applied =
        run_sigx("apply " + quote(run.string()) + " --model tracker " +
                 quote((t.path() / "data" / "test.wav").string()) + " --out " + quote((t.path() / "applied").string()));
    INFO(applied.output);
    REQUIRE(applied.status == 0);
    const auto again = audio::read(t.path() / "applied" / "test.tracker.frequency.wav");
    CHECK(again.channels == freq.channels);
}

TEST_CASE("the report calls a whole-record fit a bound only under the generator's stationary model", "[drift]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "still.toml", R"([pipeline]
name = "still"
[source]
plugin = "noisy_sinusoid"
duration = 3.0
phase_scale = 0.01
unseen_records = 1
[models.kalman]
plugin = "kalman"
[[evaluate]]
plugin = "metrics"
[[evaluate]]
plugin = "diagnose"
render = false
)");
    const auto still = run_sigx("run -q " + quote(file.string()) + " --out " + quote((t.path() / "a").string()));
    INFO(still.output);
    REQUIRE(still.status == 0);
    const std::string report = read_text(only_run(t.path() / "a") / "report.md");
    CHECK_THAT(report, Contains("- `(classical bound)`: calibrated least squares over each whole record"));
    CHECK_THAT(report, Contains(": a bound, under the generator's model (stationary tones"));
    CHECK_THAT(report, Contains("- `(causal bound)`: the Bayes estimate from each record up to the present"));
    CHECK_THAT(report, Contains("- `(predict zero)`: predicting 0 for every component"));
    // The same data drifting: neither is a bound any more, and kalman is warned about.
    const auto drifting = run_sigx("run " + quote(file.string()) + " source.tolerance=0.1 source.drift=walk --out " +
                                   quote((t.path() / "b").string()));
    INFO(drifting.output);
    REQUIRE(drifting.status == 0);
    CHECK_THAT(drifting.output, Contains("model 'kalman' (kalman) assumes each tone at its stated frequency"));
    const std::string moved = read_text(only_run(t.path() / "b") / "report.md");
    CHECK_THAT(moved, Contains("`(whole-record lsq)`"));
    CHECK_THAT(moved, !Contains("(classical bound)"));
    CHECK_THAT(moved, !Contains("(causal bound)"));
}
