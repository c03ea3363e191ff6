// SDK 2's data model end to end: a model predicts from the input and the task alone;
// records without truth are extracted, written and never scored; the unseen-phase set
// hides its time axis; input channels are checked before any work; parameters can be
// required and can be paths; [output] says what is written.
#include "support/support.hpp"

#include <sigx/audio.hpp>
#include <sigx/plugin.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <type_traits>

namespace fs = std::filesystem;
using namespace sigx;
using Catch::Matchers::Contains;
using sigx::test::CommandResult;
using sigx::test::fixture_dir;
using sigx::test::only_run;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_sigx;
using sigx::test::TempDir;

// The truth cannot be reached from Model::predict: its arguments are the input and the
// task, neither of which holds (or points to) a truth; fitting gets the training records
// only, never a test set.
template <class T>
concept has_truth = requires(const T& t) {
    t.truth;
};
static_assert(!has_truth<Input> && !has_truth<Task> && has_truth<Record>);
static_assert(std::is_same_v<decltype(&Model::predict), Prediction (Model::*)(const Input&, const Task&, Host&)>);
static_assert(std::is_same_v<decltype(&Model::fit), void (Model::*)(const Records&, Host&)>);
static_assert(std::is_same_v<decltype(&Trainer::train), void (Trainer::*)(Model&, const Records&, Host&)>);

namespace {

using sigx::test::write_text;

std::string with_fixtures() { return "--plugin-path " + quote(fixture_dir().string()) + " "; }

CommandResult run(const fs::path& file, const fs::path& out, const std::string& args = "") {
    return run_sigx(with_fixtures() + "run -q " + args + quote(file.string()) + " --out " + quote(out.string()));
}

}  // namespace

TEST_CASE("records: a test record without truth goes through every built-in model and evaluator, unscored",
          "[records]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", R"(
[pipeline]
name = "unscored"
[source]
plugin = "test.bad_source"
fault = "none"
test_truth = false
[models.fft]
plugin = "fft.block"
[models.sliding]
plugin = "fft.sliding"
window = 20
[models.lsq]
plugin = "lsq"
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 20
)");
    const CommandResult r = run(file, t.path());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path dir = only_run(t.path());
    // No metric invented for the set without truth: not by metrics, not by diagnose.
    const auto metrics = nlohmann::json::parse(read_text(dir / "metrics.json"));
    CHECK_FALSE(metrics["results"].contains("test"));
    CHECK(metrics["test_sets"][0]["records"] == 1);
    CHECK(metrics["test_sets"][0]["scored"] == 0);
    const std::string report = read_text(dir / "report.md");
    CHECK_THAT(report, Contains("1 record extracted; 0 scored against their truth, 1 without truth extracted but not "
                                "scored"));
    CHECK_THAT(report, Contains("| lsq_sliding |") && Contains("extracted/lsq_sliding/test/"));
    // Its outputs are written all the same: a WAV per model, and predictions.csv rows with
    // an empty target.
    for (const char* model : {"fft", "sliding", "lsq", "lsq_sliding"}) {
        const fs::path wav = dir / "extracted" / model / "test" / "record-0.wav";
        INFO(wav);
        REQUIRE(fs::exists(wav));
        const auto audio = audio::read(wav);
        CHECK(audio.sample_rate == 100);
        CHECK(audio.channels.size() == 2);  // one per component
        CHECK(audio.channels[0].size() == 50);
    }
    const std::string csv = read_text(dir / "predictions.csv");
    CHECK_THAT(csv, Contains("\ntest,0,0,0.000000,a,0,,"));
}

TEST_CASE("records: the extracted WAV holds exactly what the model predicted (to float precision)", "[records]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", R"(
[pipeline]
name = "wav"
[source]
plugin = "noisy_sinusoid"
frequencies = [2.0, 5.0]
sample_rate = 200.0
duration = 1.0
unseen_records = 0
[models.fft]
plugin = "fft.block"
[[evaluate]]
plugin = "metrics"
)");
    REQUIRE(run(file, t.path()).status == 0);
    const fs::path dir = only_run(t.path());
    const auto audio = audio::read(dir / "extracted" / "fft" / "test" / "test-0.wav");
    REQUIRE(audio.channels.size() == 2);
    // predictions.csv rows: test_set,record,sample,time,component,mix,target,fft
    std::istringstream rows(read_text(dir / "predictions.csv"));
    std::string line;
    std::getline(rows, line);
    std::size_t checked = 0;
    for (std::size_t row = 0; std::getline(rows, line); ++row) {
        const double predicted = std::stod(line.substr(line.rfind(',') + 1));
        const double in_wav = audio.channels[row % 2][row / 2];
        REQUIRE(in_wav == Approx(predicted).epsilon(1e-7).margin(1e-7));
        ++checked;
    }
    CHECK(checked == 400);
}

TEST_CASE(
    "records: a clock that ignores the mix is exact on the assignment's time axis, and scores ~1 where the "
    "start is hidden",
    "[records]") {
    // 200 unseen records: MSE = 1 - cos(2 pi f t0) on average over each record's hidden
    // start t0, whose mean is 1 and standard deviation at most 1 / sqrt(2) per record, so
    // the mean over 200 records is within 5 / sqrt(2 * 200) = 0.25 of 1.
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", R"(
[pipeline]
name = "clock"
[source]
plugin = "noisy_sinusoid"
sample_rate = 100.0
duration = 1.0
phase_scale = 0.01
unseen_records = 200
[models.clock]
plugin = "test.clock"
[[evaluate]]
plugin = "metrics"
[[evaluate]]
plugin = "diagnose"
[output]
components = "none"
)");
    const CommandResult r = run(file, t.path());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto m = nlohmann::json::parse(read_text(only_run(t.path()) / "metrics.json"))["results"];
    CHECK(m["test"]["clock"]["mean"]["mse"].get<double>() < 1e-20);
    const double unseen = m["unseen_phase"]["clock"]["mean"]["mse"].get<double>();
    CHECK(std::abs(unseen - 1.0) < 0.25);
    // The classical bound reads the mix, so it does not care where the record starts (on
    // one-second records at 100 Hz it is about 0.09, from the 1 Hz component).
    CHECK(m["unseen_phase"]["(classical bound)"]["mean"]["mse"].get<double>() < 0.2);
}

TEST_CASE("records: a model that reads one channel is refused, before any work, for a two-channel source",
          "[records]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml",
                                     "[source]\nplugin = \"test.bad_source\"\nfault = \"none\"\nchannels = 2\n\n"
                                     "[models.fft]\nplugin = \"fft.block\"\n");
    const CommandResult r = run(file, t.path());
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(file.string() + ":6:1: [models.fft] plugin 'fft.block' reads 1 input channel, and "
                                                  "generator 'test.bad_source' gives 2"));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(t.path())) ++entries;
    CHECK(entries == 1);  // no run directory: refused before any work

    // A model that reads any number of channels takes them.
    const fs::path any = write_text(t.path() / "any.toml",
                                    "[source]\nplugin = \"test.bad_source\"\nfault = \"none\"\nchannels = 3\n\n"
                                    "[models.mean]\nplugin = \"test.any_channels\"\n");
    CHECK(run(any, t.path()).status == 0);
}

TEST_CASE("records: [output] predictions = \"none\" writes no predictions.csv, auto leaves out a huge one and says so",
          "[records]") {
    TempDir t;
    const std::string source = R"(
[source]
plugin = "noisy_sinusoid"
frequencies = [1.0]
sample_rate = 1000.0
unseen_records = 2
[models.fft]
plugin = "fft.block"
[[evaluate]]
plugin = "metrics"
)";
    SECTION("none") {
        const fs::path file = write_text(t.path() / "none.toml",
                                         "[pipeline]\nname = \"none\"\n[output]\npredictions = \"none\"\n" + source);
        REQUIRE(run(file, t.path()).status == 0);
        const fs::path dir = only_run(t.path());
        CHECK_FALSE(fs::exists(dir / "predictions.csv"));
        CHECK(fs::exists(dir / "extracted" / "fft" / "unseen_phase" / "unseen-1.wav"));
    }
    SECTION("auto, above the limit") {
        // 3 test records of 400 s at 1 kHz, one component, one model: 1.2 million rows of
        // about 75 bytes, over the 64 MB.
        const fs::path file =
            write_text(t.path() / "big.toml", "[pipeline]\nname = \"big\"\n[output]\ncomponents = \"none\"\n" + source);
        const CommandResult r = run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " +
                                         quote(t.path().string()) + " source.duration=400.0");
        INFO(r.output);
        REQUIRE(r.status == 0);
        const fs::path dir = only_run(t.path());
        CHECK_FALSE(fs::exists(dir / "predictions.csv"));
        CHECK_FALSE(fs::exists(dir / "extracted"));
        CHECK_THAT(r.output, Contains("predictions.csv not written: about 90 MB (1200000 rows), more than the 64 MB "
                                      "written by default; set [output] predictions = \"csv\" to have it"));
        CHECK_THAT(read_text(dir / "report.md"), Contains("predictions.csv not written"));
    }
    SECTION("a bad value names its line") {
        const fs::path file = write_text(t.path() / "bad.toml", "[output]\npredictions = \"parquet\"\n" + source);
        const CommandResult r = run(file, t.path());
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains(file.string() + ":2:15: 'output.predictions': \"parquet\" is not allowed: must "
                                                      "be one of auto, csv, none"));
    }
}

TEST_CASE("records: required parameters and paths are checked against the pipeline file before any work", "[records]") {
    TempDir t;
    fs::create_directories(t.path() / "data");
    const Samples tone(100, 0.25);
    audio::write_wav(t.path() / "data" / "a.wav", 100, {&tone});
    auto pipeline = [&](const std::string& source) {
        return write_text(t.path() / "p.toml",
                          "[source]\nplugin = \"recording\"\n" + source + "\n[models.fft]\nplugin = \"fft.block\"\n");
    };
    SECTION("a required parameter left out") {
        const CommandResult r = run_sigx("validate " + quote(pipeline("test = [\"data/a.wav\"]\n"
                                                                      "frequencies = [5.0]\n")
                                                                 .string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains(":1:1: [source] plugin 'recording': parameter 'train' is required"));
        CHECK_THAT(r.output, Contains("e.g. train = [\"train.wav\"]"));
    }
    SECTION("a missing file, at its line and column") {
        const CommandResult r = run_sigx(
            "validate " +
            quote(pipeline("train = [\"data/a.wav\", \"data/missing.wav\"]\ntest = \"data/a.wav\"\nfrequencies = [5.0]")
                      .string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains(":3:24: 'source.train': no such file or directory: " +
                                      (t.path() / "data" / "missing.wav").string()));
    }
    SECTION("a pattern that matches nothing") {
        const CommandResult r =
            run_sigx("validate " +
                     quote(pipeline("train = \"data/*.flac\"\ntest = \"data/a.wav\"\nfrequencies = [5.0]").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output,
                   Contains(":3:9: 'source.train': no file matches " + (t.path() / "data").string() + "/*.flac"));
    }
    SECTION("relative to the pipeline file, not the working directory; globs expanded") {
        const CommandResult r = run_sigx(
            "run -q " + quote(pipeline("train = \"data/*.wav\"\ntest = \"data/a.wav\"\nfrequencies = [5.0]").string()) +
            " --out " + quote((t.path() / "runs").string()));
        INFO(r.output);
        CHECK(r.status == 0);
        const std::string config = read_text(only_run(t.path() / "runs") / "config.toml");
        CHECK_THAT(config, Contains((t.path() / "data" / "a.wav").string()));
    }
}

TEST_CASE("records: a model built against another LibTorch is refused by the torch trainer, naming both versions",
          "[records][torch]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", R"(
[source]
plugin = "noisy_sinusoid"
duration = 1.0
[trainers.torch]
plugin = "torch"
[models.foreign]
plugin = "test.foreign_torch"
trainer = "torch"
)");
    const CommandResult r = run(file, t.path());
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("the model was built against LibTorch 0.0.0-test, this trainer against LibTorch 1."));
}

TEST_CASE("records: the LSTMs extract a test record without truth, unscored", "[records][torch]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", R"(
[pipeline]
name = "unscored_lstm"
[source]
plugin = "test.bad_source"
fault = "none"
test_truth = false
[trainers.torch]
plugin = "torch"
epochs = 2
threads = 1
[models.stateful]
plugin = "lstm.stateful"
trainer = "torch"
hidden = 4
[models.film]
plugin = "lstm.film"
trainer = "torch"
hidden = 4
[models.sequence]
plugin = "lstm.sequence"
trainer = "torch"
hidden = 4
)");
    const CommandResult r = run(file, t.path());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path dir = only_run(t.path());
    CHECK_FALSE(nlohmann::json::parse(read_text(dir / "metrics.json"))["results"].contains("test"));
    for (const char* model : {"stateful", "film", "sequence"})
        CHECK(fs::exists(dir / "extracted" / model / "test" / "record-0.wav"));
}
