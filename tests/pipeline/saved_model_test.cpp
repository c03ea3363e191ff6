// Train once, apply anywhere: a fitted model's state and manifest in its run directory,
// restored bit for bit through the API, by `from =` in a pipeline and by `sigx apply`;
// every kind of mismatch refused with the parameter and both values.
#include "support/support.hpp"

#include <sigx/audio.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

namespace fs = std::filesystem;
using namespace sigx;
using Catch::Matchers::Contains;
using sigx::test::CommandResult;
using sigx::test::make_plugin;
using sigx::test::only_run;
using sigx::test::predict;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_sigx;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

Dataset data(double phase_scale = 0.01) {
    TestHost host;
    return make_plugin<Generator>("noisy_sinusoid", Kind::generator,
                                  Params({{"duration", 3.0},
                                          {"phase_scale", phase_scale},
                                          {"train_records", std::int64_t{2}},
                                          {"random_start", true}}))
        ->generate(host);
}

bool same_bits(const Prediction& a, const Prediction& b) {
    if (a.components.size() != b.components.size()) return false;
    for (std::size_t c = 0; c < a.components.size(); ++c)
        if (a.components[c].size() != b.components[c].size() ||
            std::memcmp(a.components[c].data(), b.components[c].data(), a.components[c].size() * sizeof(double)) != 0)
            return false;
    return true;
}

fs::path write(const fs::path& file, const std::string& text) {
    std::ofstream(file) << text;
    return file;
}

// Two recordings (a training and a test file, with references) made from the noisy
// sinusoid, for pipelines that read files.
void write_recordings(const fs::path& dir) {
    const Dataset d = data();
    fs::create_directories(dir / "truth");
    for (const auto& [name, r] : {std::pair{"train", &d.train[0]}, std::pair{"test", &d.tests[0].records[0]}}) {
        audio::write_wav(dir / (std::string(name) + ".wav"), r->input.sample_rate, {&r->input.channels[0]});
        std::vector<const Samples*> refs;
        for (const auto& ref : r->truth->references) refs.push_back(&ref);
        audio::write_wav(dir / "truth" / (std::string(name) + ".wav"), r->input.sample_rate, refs);
    }
}

std::string recording_source(const fs::path& dir, const std::string& frequencies = "[1.0, 3.0, 5.0, 7.0]",
                             bool truth = true) {
    return "[source]\nplugin = \"recording\"\ntrain = " + quote((dir / "train.wav").string()) +
           "\ntest = " + quote((dir / "test.wav").string()) + "\nfrequencies = " + frequencies + "\n" +
           (truth ? "train_truth = \"{dir}/truth/{stem}.wav\"\ntest_truth = \"{dir}/truth/{stem}.wav\"\n" : "");
}

const std::string classical_models = R"(
[models.lsq]
plugin = "lsq"
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 500
[models.fft]
plugin = "fft.block"
[models.fft_sliding]
plugin = "fft.sliding"
window = 500
[[evaluate]]
plugin = "metrics"
)";

}  // namespace

TEST_CASE("saved models: every classical model restores bit for bit through the API", "[saved]") {
    const Dataset d = data();
    const std::vector<std::pair<std::string, Params>> models = {
        {"lsq", {}},
        {"lsq", Params({{"mode", std::string("sliding")}, {"window", std::int64_t{700}}})},
        {"lsq", Params({{"calibrate", false}})},
        {"fft.block", {}},
        {"fft.sliding", Params({{"window", std::int64_t{700}}})}};
    for (const auto& [name, params] : models) {
        INFO(name);
        TempDir t;
        TestHost host;
        auto fitted = make_plugin<Model>(name, Kind::model, params);
        fitted->fit(d.train, host);
        ModelState* state = model_state(*fitted);
        REQUIRE(state);
        state->save_state(t.path());
        auto restored = make_plugin<Model>(name, Kind::model, params);
        model_state(*restored)->load_state(t.path(), d.train[0].task.size());
        for (const auto& set : d.tests)
            for (const auto& r : set.records) CHECK(same_bits(predict(*fitted, r, host), predict(*restored, r, host)));
    }
}

TEST_CASE("saved models: from = an earlier run gives the same predictions, and sigx apply the same WAV", "[saved]") {
    TempDir t;
    write_recordings(t.path() / "data");
    const fs::path first = write(t.path() / "first.toml", "[pipeline]\nname = \"first\"\n" +
                                                              recording_source(t.path() / "data") + classical_models);
    CommandResult r = run_sigx("run -q " + quote(first.string()) + " --out " + quote((t.path() / "a").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = only_run(t.path() / "a");
    for (const char* m : {"lsq", "lsq_sliding", "fft", "fft_sliding"}) {
        const auto manifest = nlohmann::json::parse(read_text(run / m / "manifest.json"));
        CHECK(manifest["sample_rate"] == 1000.0);
        CHECK(manifest["components"].size() == 4);
        CHECK(manifest["abi"] == 2);
    }

    SECTION("a pipeline that starts every model from the run: no fitting, identical metrics") {
        std::string models = classical_models;
        for (const char* m : {"lsq]", "lsq_sliding]", "fft]", "fft_sliding]"})
            models.replace(models.find(std::string("[models.") + m), std::string("[models.").size() + std::strlen(m),
                           std::string("[models.") + m + "\nfrom = " + quote(run.string()));
        const fs::path second = write(t.path() / "second.toml",
                                      "[pipeline]\nname = \"second\"\n" + recording_source(t.path() / "data") + models);
        r = run_sigx("run -q " + quote(second.string()) + " --out " + quote((t.path() / "b").string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        const auto a = nlohmann::json::parse(read_text(run / "metrics.json"))["results"];
        const auto b = nlohmann::json::parse(read_text(only_run(t.path() / "b") / "metrics.json"))["results"];
        CHECK(a == b);
        CHECK_THAT(read_text(only_run(t.path() / "b") / "config.toml"), Contains("from = "));
    }
    SECTION("sigx apply writes what the run extracted, sample for sample") {
        r = run_sigx("apply " + quote(run.string()) + " --model lsq_sliding " +
                     quote((t.path() / "data" / "test.wav").string()) + " --out " + quote((t.path() / "out").string()) +
                     " --csv");
        INFO(r.output);
        REQUIRE(r.status == 0);
        const auto applied = audio::read(t.path() / "out" / "test.lsq_sliding.wav");
        const auto extracted = audio::read(run / "extracted" / "lsq_sliding" / "test" / "test.wav");
        REQUIRE(applied.channels.size() == 4);
        CHECK(applied.channels == extracted.channels);
        CHECK(applied.sample_rate == 1000);
        CHECK_THAT(read_text(t.path() / "out" / "test.lsq_sliding.csv"), Contains("time,1Hz,3Hz,5Hz,7Hz\n0,"));
    }
    SECTION("sigx apply refuses another sample rate, naming both, and a run with several models unnamed") {
        const Samples tone(2000, 0.1);
        audio::write_wav(t.path() / "fast.wav", 2000, {&tone});
        r = run_sigx("apply " + quote(run.string()) + " --model lsq " + quote((t.path() / "fast.wav").string()) +
                     " --out " + quote((t.path() / "out").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("fast.wav: its sample rate is 2000 Hz; model 'lsq' was fitted at 1000 Hz"));
        CHECK_FALSE(fs::exists(t.path() / "out"));
        r = run_sigx("apply " + quote(run.string()) + " " + quote((t.path() / "data" / "test.wav").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("name the model (it holds fft, fft_sliding, lsq, lsq_sliding)"));
        r = run_sigx("apply " + quote(run.string()) + " --model ../first " +
                     quote((t.path() / "data" / "test.wav").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("model name '../first'"));
    }
    SECTION("mismatches are configuration errors naming the parameter and both values") {
        auto refused = [&](const std::string& pipeline, const std::string& message) {
            const fs::path file = write(t.path() / "bad.toml", pipeline);
            const CommandResult bad =
                run_sigx("run -q " + quote(file.string()) + " --out " + quote((t.path() / "c").string()));
            INFO(bad.output);
            CHECK(bad.status == 2);
            CHECK_THAT(bad.output, Contains(message));
        };
        const std::string source = recording_source(t.path() / "data");
        refused(source + "[models.lsq]\nplugin = \"fft.block\"\nfrom = " + quote(run.string()) + "\n",
                "is plugin 'lsq', this section's is 'fft.block'");
        refused(source + "[models.lsq_sliding]\nplugin = \"lsq\"\nmode = \"sliding\"\nwindow = 600\nfrom = " +
                    quote(run.string()) + "\n",
                "parameter 'window' is 600 here and 500 in the saved model");
        refused(recording_source(t.path() / "data", "[1.0, 3.0, 5.0]", false) +
                    "[models.lsq]\nplugin = \"lsq\"\nfrom = " + quote(run.string()) + "\n",
                "does not fit this data: fitted for the components 1Hz (1 Hz), 3Hz (3 Hz), 5Hz (5 Hz), 7Hz (7 Hz), "
                "the data has 1Hz (1 Hz), 3Hz (3 Hz), 5Hz (5 Hz)");
        refused(
            "[source]\nplugin = \"noisy_sinusoid\"\nsample_rate = 500.0\nduration = 2.0\n[models.lsq]\nplugin = "
            "\"lsq\"\nfrom = " +
                quote(run.string()) + "\n",
            "does not fit this data: fitted at a sample rate of 1000 Hz, the data has 500 Hz");
        refused(source + "[models.nothing]\nplugin = \"lsq\"\nfrom = " + quote(run.string()) + "\n",
                "no saved model 'nothing' (it holds fft, fft_sliding, lsq, lsq_sliding)");
    }
}
