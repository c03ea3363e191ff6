// Holding under faults and hostile input (the findings of issue 9), end to end through
// the real `sigx` executable: misbehaving plugins (tests/fixtures/misbehave.cpp), names
// that would be paths, signals at any time, resource bounds before work, and numbers and
// text that cannot be read exactly. Each case asserts the exit code and the message.
#include "support/support.hpp"

#include <sigx/files.hpp>
#include <sigx/host/run_dir.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using sigx::test::CommandResult;
using sigx::test::fixture_dir;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_command;
using sigx::test::run_sigx;
using sigx::test::TempDir;

namespace {

// Two components, one second at 200 Hz: the FFT baseline, then `extra` (more TOML).
std::string small_pipeline(const std::string& extra) {
    return "[pipeline]\nname = \"robust\"\n\n[source]\nplugin = \"noisy_sinusoid\"\nfrequencies = [2.0, 5.0]\n"
           "sample_rate = 200.0\nduration = 1.0\nphase_scale = 0.05\nunseen_records = 1\n\n[models.fft]\nplugin = "
           "\"fft.block\"\n\n" +
           extra + "\n[[evaluate]]\nplugin = \"metrics\"\n";
}

using sigx::test::write_text;

std::string with_fixtures() { return "--plugin-path " + quote(fixture_dir().string()) + " "; }

// Every entry of `dir` whose name starts with `prefix`.
std::vector<fs::path> named(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
    return out;
}

}  // namespace

// ---- plugins that misbehave ----------------------------------------------------------

TEST_CASE("robustness: a non-standard exception from a constructor is a plugin error, also in validate",
          "[robustness]") {
    TempDir t;
    const fs::path file =
        write_text(t.path() / "p.toml", small_pipeline("[models.bad]\nplugin = \"test.misbehave\"\n"
                                                       "throw_in = \"constructor\"\nthrow_kind = \"int\"\n"));
    for (const std::string& cmd :
         std::vector<std::string>{"validate ", "run --out " + quote(t.path().string()) + " "}) {
        const CommandResult r = run_sigx(with_fixtures() + cmd + quote(file.string()));
        CHECK(r.status == 3);
        CHECK_THAT(r.output, Contains("sigx_test_misbehave.so: plugin 'test.misbehave' ([models.bad]) could not be "
                                      "constructed: it threw something that is not a std::exception"));
        CHECK_THAT(r.output, !Contains("terminate"));
    }
}

TEST_CASE("robustness: a plugin reading a parameter with the wrong getter is the plugin's bug, not the pipeline's",
          "[robustness]") {
    TempDir t;
    const fs::path file = write_text(
        t.path() / "p.toml", small_pipeline("[models.bad]\nplugin = \"test.misbehave\"\nthrow_in = \"getter\"\n"));
    const CommandResult r = run_sigx(with_fixtures() + "validate " + quote(file.string()));
    CHECK(r.status == 3);
    CHECK_THAT(r.output, Contains("sigx_test_misbehave.so: plugin 'test.misbehave' ([models.bad]) could not be "
                                  "constructed: it reads parameter 'sleep' as integer, but its schema declares a real: "
                                  "a bug in the plugin, not in the pipeline"));
    CHECK_THAT(r.output, !Contains(file.string() + ":"));  // not pinned on a line of the pipeline
}

TEST_CASE("robustness: a model that saves no state is named at the end of the log and in the report, with why",
          "[robustness]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline("[models.clock]\nplugin = \"test.clock\"\n"));
    const CommandResult r =
        run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " + quote(t.path().string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const std::string why = "model 'clock' was not saved: plugin 'test.clock' does not offer sigx.model.state/1";
    CHECK_THAT(r.output, Contains(why));
    const fs::path run = sigx::test::only_run(t.path());
    CHECK_THAT(read_text(run / "report.md"), Contains("- " + why));
    CHECK(fs::exists(run / "fft" / "manifest.json"));
    CHECK_FALSE(fs::exists(run / "clock" / "manifest.json"));
    // The clock is exact on `test`: its SNR gains are infinite there, on every component and
    // time bin, and said once for the model and the set, with a count.
    std::size_t warnings = 0;
    for (std::size_t at = r.output.find("'clock' on 'test':"); at != std::string::npos;
         at = r.output.find("'clock' on 'test':", at + 1))
        ++warnings;
    CHECK(warnings == 1);
    CHECK_THAT(r.output, Contains("metric values are not finite (snr_gain_db = inf"));
}

TEST_CASE("robustness: a failing model keeps the others' results in the partial run directory", "[robustness]") {
    TempDir t;
    const fs::path file =
        write_text(t.path() / "p.toml", small_pipeline("[models.bad]\nplugin = \"test.misbehave\"\n"
                                                       "throw_in = \"predict\"\nthrow_kind = \"int\"\n"));
    const CommandResult r =
        run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " + quote(t.path().string()));
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("model 'bad' (plugin 'test.misbehave', "));
    CHECK_THAT(r.output, Contains("failed in predict: it threw something that is not a std::exception"));
    CHECK_THAT(r.output, Contains("1 of 2 models failed (the others' results are in "));
    const auto partial = named(t.path(), ".robust-");
    REQUIRE(partial.size() == 1);
    CHECK(named(t.path(), "robust-").empty());  // not committed as a finished run
    const auto metrics = nlohmann::json::parse(read_text(partial[0] / "metrics.json"));
    CHECK(metrics["results"]["test"]["fft"]["mean"]["mse"].get<double>() > 0);
    CHECK_FALSE(metrics["results"]["test"].contains("bad"));
    CHECK(metrics["models"][1]["error"].get<std::string>().find("not a std::exception") != std::string::npos);
    CHECK_THAT(read_text(partial[0] / "report.md"), Contains("## Failed models (no results)"));
}

TEST_CASE("robustness: NaN in a prediction is an error naming model, component and sample", "[robustness]") {
    TempDir t;
    const fs::path file =
        write_text(t.path() / "p.toml", small_pipeline("[models.bad]\nplugin = \"test.misbehave\"\nnan = true\n"));
    const CommandResult r =
        run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " + quote(t.path().string()));
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("model 'bad' returned a non-finite value (nan) for component '2Hz' at sample 3"));
}

TEST_CASE("robustness: a sweep summary survives a point whose model returns NaN", "[robustness][sweep]") {
    TempDir t;
    const fs::path file =
        write_text(t.path() / "s.toml", small_pipeline("[models.bad]\nplugin = \"test.misbehave\"\n\n"
                                                       "[sweep]\n\"models.bad.nan\" = [false, true]\n"));
    const CommandResult r =
        run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " + quote(t.path().string()));
    CHECK(r.status == 1);  // one point failed
    const auto sweeps = named(t.path(), "robust-sweep-");
    REQUIRE(sweeps.size() == 1);
    const auto summary = nlohmann::json::parse(read_text(sweeps[0] / "summary.json"));
    REQUIRE(summary["points"].size() == 2);
    CHECK(summary["points"][0]["exit"] == 0);
    CHECK(summary["points"][1]["exit"] == 1);
    CHECK_THAT(read_text(sweeps[0] / "summary.md"), Contains("point-01 failed (exit 1)"));
}

TEST_CASE("robustness: a chatty plugin's log is capped, and the log says so", "[robustness]") {
    TempDir t;
    // 3 records x 600 lines of 1 KiB: 1.8 MiB asked, 1 MiB allowed.
    const fs::path file = write_text(t.path() / "p.toml",
                                     small_pipeline("[models.chatty]\nplugin = \"test.misbehave\"\nlog_lines = 600\n"));
    const CommandResult r =
        run_sigx(with_fixtures() + "run -q " + quote(file.string()) + " --out " + quote(t.path().string()));
    REQUIRE(r.status == 0);
    const auto runs = named(t.path(), "robust-");
    REQUIRE(runs.size() == 1);
    const auto size = fs::file_size(runs[0] / "log.txt");
    CHECK(size > 1000000);
    CHECK(size < 1100000);
    CHECK_THAT(
        read_text(runs[0] / "log.txt"),
        Contains("[warning] chatty: more than 1024 KiB of log output; its further log and progress lines are dropped"));
}

TEST_CASE("robustness: generator output is checked and refused with the generator, record and problem named",
          "[robustness]") {
    TempDir t;
    struct Case {
        std::string fault, extra, message;
    };
    const std::vector<Case> cases = {
        {"duplicate_label", "", "training record 'train-0': component label 'a' is used twice"},
        {"unsafe_label", "", "training record 'train-0': component label 'b/c' contains '/'"},
        {"short_reference", "", "training record 'train-0': the reference of 'b' has 49 samples, the input 50"},
        {"nan_input", "",
         "test set 'test' record 'record-0': input channel 1 has a non-finite sample (nan) at sample 7"},
        {"mismatched_rate", "",
         "test set 'test' record 'record-0' has a sample rate of 200 Hz, the first training record 100 Hz"},
        {"short_channel", "channels = 2\n", "training record 'train-0': input channel 2 has 49 samples, channel 1 50"},
        {"undeclared_channels", "", "training record 'train-0' has 2 input channels, the generator declared 1"}};
    for (const auto& c : cases) {
        const fs::path file =
            write_text(t.path() / "p.toml", "[source]\nplugin = \"test.bad_source\"\nfault = \"" + c.fault + "\"\n" +
                                                c.extra + "[models.mean]\nplugin = \"test.any_channels\"\n");
        const CommandResult r =
            run_sigx(with_fixtures() + "run " + quote(file.string()) + " --out " + quote(t.path().string()));
        INFO(c.fault << ": " << r.output);
        CHECK(r.status == 1);
        CHECK_THAT(r.output, Contains("generator 'test.bad_source' returned bad data: " + c.message));
    }
}

// ---- names that would be paths -------------------------------------------------------

TEST_CASE("robustness: a name that would be a path is refused, and nothing is written", "[robustness][names]") {
    TempDir t;
    const fs::path out = t.path() / "out";
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline(""));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"pipeline.name=../../x", "pipeline name '../../x' starts with '.'"},
        {"pipeline.name=/tmp/x", "pipeline name '/tmp/x' contains '/'"},
        {"pipeline.name=a,b", "pipeline name 'a,b' contains ','"},
        {"pipeline.name=\"\"", "pipeline name is empty"},
        {"pipeline.name=" + std::string(300, 'n'), "is 300 characters long"},
        {"models.x/y.plugin=fft.block", "model name 'x/y' contains '/'"},
        {"trainers.t,1.plugin=torch", "trainer name 't,1' contains ','"},
        {"models.metrics.plugin=fft.block", "model name 'metrics' is taken by evaluator 'metrics'"}};
    for (const auto& [override, message] : cases) {
        INFO(override);
        const CommandResult r =
            run_sigx("run " + quote(file.string()) + " " + quote(override) + " --out " + quote(out.string()));
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Contains(message));
        CHECK_THAT(r.output, Contains("A-Z a-z 0-9 . _ -") || Contains("is taken by"));
    }
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(t.path().parent_path() / "x"));
}

TEST_CASE("robustness: a section name that is a path is refused at its line", "[robustness][names]") {
    TempDir t;
    const fs::path file =
        write_text(t.path() / "p.toml", small_pipeline("[models.\"../../x\"]\nplugin = \"fft.block\"\n"));
    const CommandResult r = run_sigx("validate " + quote(file.string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(file.string() + ":15:9: model name '../../x' starts with '.'"));
}

TEST_CASE("robustness: a pipeline file whose name is not a safe name must set one", "[robustness][names]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "my pipeline.toml",
                                     small_pipeline("").substr(std::string("[pipeline]\nname = \"robust\"\n").size()));
    const CommandResult r = run_sigx("validate " + quote(file.string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("pipeline name 'my pipeline' contains ' '"));
    CHECK_THAT(r.output, Contains("(it comes from the file name: set name in [pipeline])"));
}

// ---- signals -------------------------------------------------------------------------

namespace {
// Starts `sigx run` of a pipeline whose model sleeps 60 s in fit without polling, sends
// `signals` (e.g. "INT" or "INT INT") once the run directory exists, and returns the exit
// status, the output and the seconds from the first signal to the exit.
struct Stopped {
    CommandResult result;
    double seconds = 0;
};
Stopped interrupt_sleeper(const TempDir& t, const std::string& signals) {
    const fs::path file = write_text(t.path() / "sleep.toml",
                                     small_pipeline("[models.sleeper]\nplugin = \"test.misbehave\"\nsleep = 60.0\n"));
    const std::string script =
        "env -u SIGX_PLUGIN_PATH " + quote(sigx::test::sigx_exe().string()) + " " + with_fixtures() + "run " +
        quote(file.string()) + " --out " + quote(t.path().string()) + " & pid=$!; " + "for i in $(seq 100); do ls -a " +
        quote(t.path().string()) + " | grep -q partial && break; sleep 0.1; done; sleep 0.5; " +
        "start=$(date +%s.%N); for s in " + signals + "; do kill -$s $pid; sleep 0.2; done; wait $pid; code=$?; " +
        "echo; echo \"exit=$code seconds=$(awk \"BEGIN { print $(date +%s.%N) - $start }\")\"";
    Stopped s;
    s.result = run_command("bash -c " + quote(script));
    const auto at = s.result.output.rfind("seconds=");
    REQUIRE(at != std::string::npos);
    s.seconds = std::stod(s.result.output.substr(at + 8));
    return s;
}
}  // namespace

TEST_CASE("robustness: one signal stops a run inside a call that never polls, with the resume hint",
          "[robustness][signals]") {
    TempDir t;
    const Stopped s = interrupt_sleeper(t, "INT");
    CHECK_THAT(s.result.output, Contains("exit=130"));
    CHECK_THAT(s.result.output, Contains("stopping at the next checkpoint (at most 5 s)"));
    CHECK_THAT(s.result.output,
               Contains("interrupted; resume with: sigx run --resume " + t.path().string() + "/.robust-"));
    CHECK(s.seconds < 15);  // the 5 s grace, not the plugin's 60 s
    CHECK(named(t.path(), ".robust-").size() == 1);
}

TEST_CASE("robustness: a second signal ends the run at once, still with the message", "[robustness][signals]") {
    TempDir t;
    const Stopped s = interrupt_sleeper(t, "TERM INT");
    CHECK_THAT(s.result.output, Contains("exit=130"));
    CHECK_THAT(s.result.output, Contains("interrupted; resume with: sigx run --resume "));
    CHECK(s.seconds < 3);  // well inside the grace period
}

TEST_CASE("robustness: a signal while the plots are drawn stops the run (exit 130, not 0)", "[robustness][signals]") {
    // A gnuplot that takes 30 s: the plots evaluator waits on it when the signal comes.
    // (std::system, which the plots used before, ignores SIGINT in the caller meanwhile.)
    TempDir t;
    fs::create_directories(t.path() / "bin");
    const fs::path started = t.path() / "gnuplot.pid";
    write_text(t.path() / "bin" / "gnuplot", "#!/bin/sh\necho $$ > " + quote(started.string()) + "\nexec sleep 30\n");
    fs::permissions(t.path() / "bin" / "gnuplot", fs::perms::owner_all);
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline("[[evaluate]]\nplugin = \"plots\"\n"));
    const std::string script =
        "PATH=" + quote((t.path() / "bin").string()) + ":$PATH env -u SIGX_PLUGIN_PATH " +
        quote(sigx::test::sigx_exe().string()) + " run " + quote(file.string()) + " --out " + quote(t.path().string()) +
        " & pid=$!; for i in $(seq 200); do [ -s " + quote(started.string()) + " ] && break; sleep 0.1; done; " +
        "kill -INT $pid; wait $pid; echo \"exit=$?\"; kill $(cat " + quote(started.string()) + ") 2>/dev/null; true";
    const CommandResult r = run_command("bash -c " + quote(script));
    CHECK_THAT(r.output, Contains("exit=130"));
    CHECK_THAT(r.output, Contains("interrupted; resume with: sigx run --resume "));
    CHECK(named(t.path(), "robust-").empty());  // not committed as finished
}

TEST_CASE("robustness: a run directory in use cannot be resumed a second time", "[robustness][signals]") {
    TempDir t;
    sigx::host::RunDir held(t.path(), "held");  // this process holds it, as a running sigx would
    const CommandResult r = run_sigx("run --resume " + quote(held.path().string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("is in use by another sigx process"));
}

TEST_CASE("robustness: --resume of nothing is a command-line error (exit 2)", "[robustness]") {
    TempDir t;
    const CommandResult r = run_sigx("run --resume " + quote((t.path() / "no_such_dir").string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("error: --resume: no interrupted run at"));
}

TEST_CASE("robustness: temporary files never survive into a finished run directory", "[robustness]") {
    TempDir t;
    sigx::host::RunDir dir(t.path(), "tmp");
    fs::create_directories(dir.path() / "model");
    write_text(dir.path() / ".metrics.json.tmp4242", "half");  // as a writer killed mid-write leaves it
    write_text(dir.path() / "model" / ".model.pt.tmp77", "half");
    write_text(dir.path() / "keep.tmp", "not ours");
    dir.commit();
    CHECK_FALSE(fs::exists(dir.final_path() / ".metrics.json.tmp4242"));
    CHECK_FALSE(fs::exists(dir.final_path() / "model" / ".model.pt.tmp77"));
    CHECK(fs::exists(dir.final_path() / "keep.tmp"));
}

TEST_CASE("robustness: a full disk is said as such, and leaves neither target nor temporary", "[robustness]") {
    const int fd = ::open("/dev/full", O_WRONLY);
    REQUIRE(fd >= 0);
    try {
        sigx::detail::write_all(fd, "data", 4, "/some/file");
        FAIL("a write to /dev/full succeeded");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "cannot write /some/file: No space left on device");
    }
    ::close(fd);

    // A write that fails halfway (a file-size limit, which binds root too, stands in for
    // a disk that fills up): the target keeps its old contents and no temporary is left.
    TempDir t;
    write_text(t.path() / "f.txt", "old");
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // the write then fails with EFBIG
    rlimit small = saved;
    small.rlim_cur = 16;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string error;
    try {
        sigx::write_file_atomic(t.path() / "f.txt", std::string(100, 'n'));
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    CHECK(error == "cannot write " + (t.path() / "f.txt").string() + ": File too large");
    CHECK(read_text(t.path() / "f.txt") == "old");
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(t.path())) files.push_back(e.path().filename().string());
    CHECK(files == std::vector<std::string>{"f.txt"});
}

// ---- resource bounds -----------------------------------------------------------------

TEST_CASE("robustness: a sweep too large is counted and refused before it is built", "[robustness][sweep]") {
    TempDir t;
    std::string sweep = "[sweep]\n";
    for (const char* key : {"source.phase_scale", "source.duration", "source.sample_rate", "source.train_seed",
                            "source.test_seed", "pipeline.seed"})
        sweep += fmt::format("\"{}\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", key);
    const fs::path file = write_text(t.path() / "s.toml", small_pipeline("") + sweep);
    const auto t0 = std::chrono::steady_clock::now();
    const CommandResult r = run_sigx("validate " + quote(file.string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("the sweep has 1000000 points, more than the limit of 10000"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));  // not built: a million would take minutes
}

TEST_CASE("robustness: a pipeline whose data cannot fit in memory is refused by validate", "[robustness]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline(""));
    const CommandResult r =
        run_sigx("validate " + quote(file.string()) + " source.duration=5e4 source.sample_rate=2e4");
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("the run needs about "));
    CHECK_THAT(r.output, Contains(" GB available"));
}

TEST_CASE("robustness: the joint least-squares fit refuses more components than it can hold", "[robustness]") {
    TempDir t;
    std::string freqs;
    for (int i = 0; i < 600; ++i) freqs += fmt::format("{}{}", i ? ", " : "", 1.0 + 0.5 * i);
    const fs::path file = write_text(t.path() / "p.toml",
                                     "[source]\nplugin = \"noisy_sinusoid\"\nsample_rate = 1000.0\n"
                                     "duration = 0.2\nfrequencies = [" +
                                         freqs +
                                         "]\n[models.fft]\n"
                                         "plugin = \"fft.block\"\n[[evaluate]]\nplugin = \"diagnose\"\n");
    const CommandResult r = run_sigx("run " + quote(file.string()) + " --out " + quote(t.path().string()));
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("evaluator 'diagnose' (plugin 'diagnose', "));
    CHECK_THAT(r.output, Contains("least squares over 600 components: at most 500"));
}

// ---- numbers and text ----------------------------------------------------------------

TEST_CASE("robustness: an integer a double cannot hold is refused, not rounded", "[robustness]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline(""));
    const CommandResult r = run_sigx("validate " + quote(file.string()) + " source.phase_scale=9007199254740993");
    CHECK(r.status == 2);
    CHECK_THAT(r.output,
               Contains("'source.phase_scale': the integer 9007199254740993 is not exactly representable as a real"));
    const fs::path in_file = write_text(t.path() / "q.toml", small_pipeline("") + "");
    std::string text = read_text(in_file);
    text.replace(text.find("phase_scale = 0.05"), 18, "phase_scale = 9223372036854775807");
    write_text(in_file, text);
    const CommandResult f = run_sigx("validate " + quote(in_file.string()));
    CHECK(f.status == 2);
    CHECK_THAT(f.output,
               Contains(in_file.string() + ":9:15: 'source.phase_scale': the integer 9223372036854775807 is not"));
    // 2^53 is exact, and then only out of the schema's range story: accepted as a value.
    CHECK(run_sigx("validate " + quote(file.string()) + " source.mix_weight=9007199254740992").status == 0);
}

TEST_CASE("robustness: text is checked up front: invalid UTF-8, a directory, a pipe", "[robustness]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline(""));
    const CommandResult utf =
        run_sigx("validate " + quote(file.string()) + " \"$(printf 'pipeline.description=\\377\\376')\"");
    CHECK(utf.status == 2);
    CHECK_THAT(utf.output, Contains("an override is not valid UTF-8 text"));

    const CommandResult dir = run_sigx("validate " + quote(t.path().string()));
    CHECK(dir.status == 2);
    CHECK_THAT(dir.output, Contains("error: " + t.path().string() + ": is a directory, not a pipeline file"));

    const CommandResult pipe =
        run_command("bash -c " + quote("env -u SIGX_PLUGIN_PATH " + quote(sigx::test::sigx_exe().string()) +
                                       " validate <(cat " + quote(file.string()) + ")"));
    CHECK(pipe.status == 0);
    CHECK_THAT(pipe.output, Contains("ok: pipeline 'robust'"));
}

TEST_CASE("robustness: smaller messages: --jobs 0 and a misspelt plugin key", "[robustness]") {
    TempDir t;
    const fs::path file = write_text(t.path() / "p.toml", small_pipeline(""));
    const CommandResult jobs = run_sigx("run " + quote(file.string()) + " --jobs 0");
    CHECK(jobs.status == 2);
    CHECK_THAT(jobs.output, Contains("must be a whole number of processes, at least 1, got '0'"));

    std::string text = read_text(file);
    text.replace(text.find("plugin = \"fft.block\""), 6, "Plugin");
    write_text(file, text);
    const CommandResult key = run_sigx("validate " + quote(file.string()));
    CHECK(key.status == 2);
    CHECK_THAT(key.output, Contains(":13:1: [models.fft] needs a 'plugin' key naming a model plugin; did you mean "
                                    "'plugin' instead of 'Plugin'?"));
}
