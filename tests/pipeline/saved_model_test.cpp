// Train once, apply anywhere: a fitted model's state and manifest in its run directory,
// restored bit for bit through the API, by `from =` in a pipeline and by `sigx apply`;
// every kind of mismatch refused with the parameter and both values.
#include "support/support.hpp"

#include <sigx/audio.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace sigx;
using Catch::Matchers::Contains;
using sigx::test::CommandResult;
using sigx::test::make_plugin;
using sigx::test::only_run;
using sigx::test::predict;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_command;
using sigx::test::run_sigx;
using sigx::test::TempDir;
using sigx::test::TestHost;

namespace {

Dataset data(double phase_scale = 0.01) {
    return sigx::test::noisy_sinusoid(Params(
        {{"duration", 3.0}, {"phase_scale", phase_scale}, {"train_records", std::int64_t{2}}, {"random_start", true}}));
}

bool same_bits(const Prediction& a, const Prediction& b) {
    if (a.components.size() != b.components.size()) return false;
    for (std::size_t c = 0; c < a.components.size(); ++c)
        if (a.components[c].size() != b.components[c].size() ||
            std::memcmp(a.components[c].data(), b.components[c].data(), a.components[c].size() * sizeof(double)) != 0)
            return false;
    return true;
}

// Raw float32 samples, interleaved, as `sigx stream --rate` reads and writes them.
std::vector<float> interleaved(const std::vector<Samples>& planar) {
    std::vector<float> v;
    for (std::size_t n = 0; n < planar.front().size(); ++n)
        for (const auto& c : planar) v.push_back(static_cast<float>(c[n]));
    return v;
}
void write_raw(const fs::path& file, const std::vector<Samples>& planar) {
    const std::vector<float> v = interleaved(planar);
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
}
std::vector<float> read_raw(const fs::path& file) {
    const std::string bytes = read_text(file);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

using sigx::test::write_text;

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

TEST_CASE("saved models: every classical model's fitted state restores bit for bit through the API", "[saved]") {
    const Dataset d = data(), other = data(0.5);
    TestHost host;
    // Models that fit something: the folder holds it, a fresh instance restores it bit for
    // bit, and it is what was fitted (the same model fitted on other data predicts otherwise).
    const std::vector<std::pair<std::string, Params>> fitting = {
        {"lsq", {}},
        {"lsq", Params({{"mode", std::string("sliding")}, {"window", std::int64_t{700}}})},
        {"kalman", {}},
        {"kalman", Params({{"mode", std::string("rls")}})}};
    for (const auto& [name, params] : fitting) {
        INFO(name << " " << params.values().size() << " parameter(s) set");
        TempDir t;
        auto fitted = make_plugin<Model>(name, Kind::model, params);
        fitted->fit(d.train, host);
        ModelState* state = model_state(*fitted);
        REQUIRE(state);
        state->save_state(t.path());
        std::uintmax_t bytes = 0;
        for (const auto& f : fs::directory_iterator(t.path())) bytes += fs::file_size(f.path());
        CHECK(bytes > 0);
        auto restored = make_plugin<Model>(name, Kind::model, params);
        model_state(*restored)->load_state(t.path(), d.train[0].task.size());
        auto refitted = make_plugin<Model>(name, Kind::model, params);
        refitted->fit(other.train, host);
        for (const auto& set : d.tests)
            for (const auto& r : set.records) {
                const Prediction restored_p = predict(*restored, r, host);
                CHECK(same_bits(predict(*fitted, r, host), restored_p));
                CHECK_FALSE(same_bits(predict(*refitted, r, host), restored_p));
            }
    }
    // Models that fit nothing say so with an empty state, and predict as a fresh instance.
    const std::vector<std::pair<std::string, Params>> stateless = {
        {"fft.block", {}}, {"fft.sliding", Params({{"window", std::int64_t{700}}})}};
    for (const auto& [name, params] : stateless) {
        INFO(name);
        TempDir t;
        auto fitted = make_plugin<Model>(name, Kind::model, params);
        fitted->fit(d.train, host);
        model_state(*fitted)->save_state(t.path());
        CHECK(fs::is_empty(t.path()));
        const Record& r = d.tests.front().records.front();
        CHECK(same_bits(predict(*fitted, r, host), predict(*make_plugin<Model>(name, Kind::model, params), r, host)));
    }
}

TEST_CASE("saved models: from = an earlier run gives the same predictions, and sigx apply the same WAV", "[saved]") {
    TempDir t;
    write_recordings(t.path() / "data");
    const fs::path first =
        write_text(t.path() / "first.toml",
                   "[pipeline]\nname = \"first\"\n" + recording_source(t.path() / "data") + classical_models);
    CommandResult r = run_sigx("run -q " + quote(first.string()) + " --out " + quote((t.path() / "a").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = only_run(t.path() / "a");
    for (const char* m : {"lsq", "lsq_sliding", "fft", "fft_sliding"}) {
        const auto manifest = nlohmann::json::parse(read_text(run / m / "manifest.json"));
        CHECK(manifest["sample_rate"] == 1000.0);
        CHECK(manifest["components"].size() == 4);
        CHECK(manifest["abi"] == 3);
    }

    SECTION("a pipeline that starts every model from the run: no fitting, identical metrics") {
        std::string models = classical_models;
        for (const char* m : {"lsq]", "lsq_sliding]", "fft]", "fft_sliding]"})
            models.replace(models.find(std::string("[models.") + m), std::string("[models.").size() + std::strlen(m),
                           std::string("[models.") + m + "\nfrom = " + quote(run.string()));
        const fs::path second = write_text(
            t.path() / "second.toml", "[pipeline]\nname = \"second\"\n" + recording_source(t.path() / "data") + models);
        r = run_sigx("run -q " + quote(second.string()) + " --out " + quote((t.path() / "b").string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        const auto a = nlohmann::json::parse(read_text(run / "metrics.json"))["results"];
        const auto b = nlohmann::json::parse(read_text(only_run(t.path() / "b") / "metrics.json"))["results"];
        CHECK(a == b);
        CHECK_THAT(read_text(only_run(t.path() / "b") / "config.toml"), Contains("from = "));
    }
    SECTION("sigx apply writes what the run extracted, sample for sample, for every model") {
        for (const std::string m : {"lsq", "lsq_sliding", "fft", "fft_sliding"}) {
            r = run_sigx("apply " + quote(run.string()) + " --model " + m + " " +
                         quote((t.path() / "data" / "test.wav").string()) + " --out " +
                         quote((t.path() / "out").string()) + " --csv");
            INFO(m << ": " << r.output);
            REQUIRE(r.status == 0);
            const auto applied = audio::read(t.path() / "out" / ("test." + m + ".wav"));
            const auto extracted = audio::read(run / "extracted" / m / "test" / "test.wav");
            REQUIRE(applied.channels.size() == 4);
            CHECK(applied.channels == extracted.channels);
            CHECK(applied.sample_rate == 1000);
        }
        CHECK_THAT(read_text(t.path() / "out" / "test.lsq_sliding.csv"), Contains("time,1Hz,3Hz,5Hz,7Hz\n0,"));
    }
    SECTION("sigx apply reads a CSV recording (time, mix, references left out) as it reads the WAV") {
        const auto wav = audio::read(t.path() / "data" / "test.wav");
        std::string csv = "time,mix,1Hz,3Hz,5Hz,7Hz\n";
        for (std::size_t n = 0; n < wav.channels[0].size(); ++n)
            csv += fmt::format("{},{},0,0,0,0\n", static_cast<double>(n) / 1000.0, wav.channels[0][n]);
        write_text(t.path() / "test_csv.csv", csv);
        r = run_sigx("apply " + quote(run.string()) + " --model lsq_sliding " +
                     quote((t.path() / "data" / "test.wav").string()) + " " +
                     quote((t.path() / "test_csv.csv").string()) + " --out " + quote((t.path() / "out").string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(audio::read(t.path() / "out" / "test_csv.lsq_sliding.wav").channels ==
              audio::read(t.path() / "out" / "test.lsq_sliding.wav").channels);
        write_text(t.path() / "bad.csv", "mix\n0.5\n0.25\n");
        r = run_sigx("apply " + quote(run.string()) + " --model lsq " + quote((t.path() / "bad.csv").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("bad.csv: needs a `time` column"));
    }
    SECTION("sigx stream: through a pipe, in any block size, the samples sigx apply writes") {
        r = run_sigx("apply " + quote(run.string()) + " --model lsq_sliding " +
                     quote((t.path() / "data" / "test.wav").string()) + " --out " + quote((t.path() / "out").string()));
        REQUIRE(r.status == 0);
        const auto applied = interleaved(audio::read(t.path() / "out" / "test.lsq_sliding.wav").channels);
        write_raw(t.path() / "in.raw", audio::read(t.path() / "data" / "test.wav").channels);
        for (const char* block : {"1", "7", "1000"}) {
            r = run_command("cat " + quote((t.path() / "in.raw").string()) + " | env -u SIGX_PLUGIN_PATH " +
                            quote(sigx::test::sigx_exe().string()) + " stream -q " + quote(run.string()) +
                            " --model lsq_sliding --block " + block + " - --rate 1000 -o - > " +
                            quote((t.path() / "out.raw").string()));
            INFO(block << ": " << r.output);
            REQUIRE(r.status == 0);
            CHECK(read_raw(t.path() / "out.raw") == applied);
        }
        r = run_sigx("stream " + quote(run.string()) + " --model lsq_sliding " +
                     quote((t.path() / "data" / "test.wav").string()) + " -o " +
                     quote((t.path() / "out.wav").string()));
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK_THAT(r.output, Contains("3000 samples (3.000 s) through model 'lsq_sliding' (latency 0 samples)"));
        CHECK(interleaved(audio::read(t.path() / "out.wav").channels) == applied);
        // WAV to a pipe: a header without a length, which readers take to the end.
        r = run_command("env -u SIGX_PLUGIN_PATH " + quote(sigx::test::sigx_exe().string()) + " stream -q " +
                        quote(run.string()) + " --model lsq_sliding " +
                        quote((t.path() / "data" / "test.wav").string()) + " --format wav -o - > " +
                        quote((t.path() / "piped.wav").string()));
        REQUIRE(r.status == 0);
        CHECK(interleaved(audio::read(t.path() / "piped.wav").channels) == applied);
    }
    SECTION("sigx stream refuses a non-causal model and another rate, saying why") {
        r = run_sigx("stream " + quote(run.string()) + " --model lsq " +
                     quote((t.path() / "data" / "test.wav").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("model 'lsq' (lsq) cannot stream: mode = \"block\" fits the whole record"));
        r = run_sigx("stream " + quote(run.string()) + " --model fft " +
                     quote((t.path() / "data" / "test.wav").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("model 'fft' (fft.block) cannot stream: it does not offer sigx.model.stream/1"));
        r = run_sigx("stream " + quote(run.string()) + " --model lsq_sliding " +
                     quote((t.path() / "data" / "test.wav").string()) + " --rate 1000");
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("test.wav: a sound file, read with its own header: leave out --rate"));
        r = run_sigx("stream " + quote(run.string()) + " --model lsq_sliding - --rate 2000 < /dev/null");
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("standard input: its sample rate is 2000 Hz; model 'lsq_sliding' (lsq) was "
                                      "fitted at 1000 Hz"));
    }
    SECTION("sigx stream ends cleanly on Ctrl-C and on a closed pipe, with what it processed written") {
        const Samples tone(20000, 0.25);  // 20 s
        write_raw(t.path() / "long.raw", {tone});
        const std::string sigx = "env -u SIGX_PLUGIN_PATH " + quote(sigx::test::sigx_exe().string()) + " stream " +
                                 quote(run.string()) + " --model lsq_sliding - --rate 1000";
        // A live input that stops coming (a pipe this script holds open): everything read
        // is written when Ctrl-C arrives.
        const fs::path out = t.path() / "cut.raw", fifo = t.path() / "live";
        const std::string script = "mkfifo " + quote(fifo.string()) + "; " + sigx + " -o " + quote(out.string()) +
                                   " < " + quote(fifo.string()) + " & pid=$!; exec 3>" + quote(fifo.string()) +
                                   "; cat " + quote((t.path() / "long.raw").string()) +
                                   " >&3; sleep 2; kill -INT $pid; wait $pid; echo status=$?; exec 3>&-";
        r = run_command("bash -c " + quote(script));
        INFO(r.output);
        CHECK_THAT(r.output, Contains("status=130"));
        CHECK_THAT(r.output, Contains("interrupted after 20000 samples"));
        CHECK(read_raw(out).size() == 20000 * 4);
        // A reader that goes away: no error, the summary says so.
        r = run_command("bash -c " + quote(sigx + " < " + quote((t.path() / "long.raw").string()) +
                                           " -o - --block 10 | head -c 64 > /dev/null; echo status=${PIPESTATUS[0]}"));
        INFO(r.output);
        CHECK_THAT(r.output, Contains("status=0"));
        CHECK_THAT(r.output, Contains("the output was closed by its reader"));
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
        r = run_sigx("apply " + quote((t.path() / "no_run").string()) + " --model lsq " +
                     quote((t.path() / "data" / "test.wav").string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains("no_run: no such run directory"));
    }
    SECTION("mismatches are configuration errors naming the parameter and both values") {
        auto refused = [&](const std::string& pipeline, const std::string& message) {
            const fs::path file = write_text(t.path() / "bad.toml", pipeline);
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

TEST_CASE("saved models: sigx apply and sigx stream on a trained LSTM write what the run extracted", "[saved][torch]") {
    TempDir t;
    write_recordings(t.path() / "data");
    const fs::path file =
        write_text(t.path() / "lstm.toml", "[pipeline]\nname = \"lstm\"\n" + recording_source(t.path() / "data") + R"(
[models.lstm]
plugin = "lstm.stateful"
trainer = "torch"
hidden = 8
samples_per_step = 5
[trainers.torch]
plugin = "torch"
epochs = 2
threads = 1
)");
    CommandResult r = run_sigx("run -q " + quote(file.string()) + " --out " + quote((t.path() / "a").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = only_run(t.path() / "a"), input = t.path() / "data" / "test.wav";
    const auto extracted = audio::read(run / "extracted" / "lstm" / "test" / "test.wav");
    r = run_sigx("apply " + quote(run.string()) + " " + quote(input.string()) + " --out " +
                 quote((t.path() / "out").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(audio::read(t.path() / "out" / "test.lstm.wav").channels == extracted.channels);
    // Streamed from a pipe (latency 4 samples, taken out): the same samples.
    r = run_command("cat " + quote(input.string()) + " | env -u SIGX_PLUGIN_PATH " +
                    quote(sigx::test::sigx_exe().string()) + " stream " + quote(run.string()) + " --block 7 - -o " +
                    quote((t.path() / "streamed.wav").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("(latency 4 samples)"));
    CHECK(audio::read(t.path() / "streamed.wav").channels == extracted.channels);
}

namespace {

// A saved state file spoiled the ways a shared or rotted run directory may hold it.
struct Spoiled {
    std::string how, bytes;
};
std::vector<Spoiled> spoiled_text(const std::string& original) {
    std::string nan;  // every value NaN, counts kept
    std::istringstream words(original);
    for (std::string w; words >> w;) nan += (w.find_first_not_of("0123456789") == std::string::npos ? w : "nan") + "\n";
    std::mt19937 rng(7);
    std::string random(4096, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    return {{"truncated", original.substr(0, original.size() / 2)},
            {"oversized", original + std::string(2u << 20, '1')},
            {"NaN-filled", nan},
            {"of another shape (its values twice)", original + original},
            {"random bytes", random}};
}

// `sigx apply` on a run whose model's state file `file` holds `bytes`: one error, naming
// the file, a non-zero exit, and nothing written.
void check_refused(const fs::path& run, const std::string& model, const fs::path& file, const std::string& bytes,
                   const fs::path& input, const fs::path& out) {
    const std::string original = read_text(file);
    write_text(file, bytes);
    const auto r = run_sigx("apply " + quote(run.string()) + " --model " + model + " " + quote(input.string()) +
                            " --out " + quote(out.string()));
    write_text(file, original);
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK_THAT(r.output, Contains(file.string()));
    std::istringstream lines(r.output);
    int errors = 0;
    for (std::string line; std::getline(lines, line);) errors += line.find("error") != std::string::npos;
    CHECK(errors == 1);
    CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("saved models: a truncated, oversized, NaN-filled, misshapen or random state file is one error naming it",
          "[saved]") {
    TempDir t;
    write_recordings(t.path() / "data");
    const fs::path file =
        write_text(t.path() / "fit.toml", "[pipeline]\nname = \"fit\"\n" + recording_source(t.path() / "data") + R"(
[models.lsq]
plugin = "lsq"
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 500
[models.kalman]
plugin = "kalman"
[models.tracker]
plugin = "tracker"
[models.multitaper]
plugin = "multitaper"
[models.lms]
plugin = "lms"
)");
    const auto r = run_sigx("run -q " + quote(file.string()) + " --out " + quote((t.path() / "a").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = only_run(t.path() / "a"), input = t.path() / "data" / "test.wav";
    int files = 0;
    for (const std::string model : {"lsq", "lsq_sliding", "kalman", "tracker", "multitaper", "lms"})
        for (const auto& f : fs::directory_iterator(run / model / "state")) {
            ++files;
            for (const auto& [how, bytes] : spoiled_text(read_text(f.path()))) {
                INFO(model << ": " << f.path().filename() << " " << how);
                check_refused(run, model, f.path(), bytes, input, t.path() / "out");
            }
        }
    CHECK(files == 6);
    // Unspoiled, every model applies.
    for (const std::string model : {"lsq", "lsq_sliding", "kalman", "tracker", "multitaper", "lms"}) {
        const auto ok = run_sigx("apply " + quote(run.string()) + " --model " + model + " " + quote(input.string()) +
                                 " --out " + quote((t.path() / "ok").string()));
        INFO(ok.output);
        CHECK(ok.status == 0);
    }
}
