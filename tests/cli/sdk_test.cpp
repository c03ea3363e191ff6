// The third-party path end to end, as docs/plugins.md tells it: install sigx to a fresh
// prefix; build the SDK examples and a scaffolded plugin out of tree against it
// (find_package(sigx)); run `sigx check` on them and on every built-in plugin; run
// pipelines that load them through SIGX_PLUGIN_PATH and check their metrics.
#include "support/support.hpp"

#include <sigx/audio.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_command;
using sigx::test::TempDir;

namespace {

const fs::path source_dir = SIGX_TEST_SOURCE_DIR;
const fs::path build_dir = SIGX_TEST_BUILD_DIR;

// Configures and builds an out-of-tree project against `prefix`; returns its build folder.
fs::path build_project(const fs::path& project, const fs::path& prefix, const fs::path& where) {
    const auto cfg = run_command("cmake -S " + quote(project.string()) + " -B " + quote(where.string()) +
                                 " -G Ninja -DCMAKE_PREFIX_PATH=" + quote(prefix.string()));
    INFO(cfg.output);
    REQUIRE(cfg.status == 0);
    const auto b = run_command("cmake --build " + quote(where.string()));
    INFO(b.output);
    REQUIRE(b.status == 0);
    return where;
}

nlohmann::json only_run_metrics(const fs::path& out) {
    return nlohmann::json::parse(read_text(sigx::test::only_run(out) / "metrics.json"))["results"];
}

}  // namespace

TEST_CASE("sigx check passes every built-in plugin and fails a broken library", "[sdk][check]") {
    for (const auto& e : fs::directory_iterator(sigx::test::plugin_dir())) {
        if (e.path().extension() != ".so") continue;
        const auto r = sigx::test::run_sigx("check " + quote(e.path().string()));
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK_THAT(r.output, Contains("0 failed") && Contains("PASS") && Contains("runs a tiny pipeline of its kind"));
    }
    const auto bad = sigx::test::run_sigx("check " + quote((sigx::test::broken_dir() / "test_abi99.so").string()));
    CHECK(bad.status == 3);
    CHECK_THAT(bad.output, Contains("FAIL") && Contains("ABI mismatch"));
}

TEST_CASE("installed SDK: examples and a scaffolded plugin build out of tree, pass check, and run",
          "[sdk][install][torch]") {
    TempDir tmp;
    const fs::path prefix = tmp.path() / "prefix";
    const auto install =
        run_command("cmake --install " + quote(build_dir.string()) + " --prefix " + quote(prefix.string()));
    INFO(install.output);
    REQUIRE(install.status == 0);
    const fs::path sigx = prefix / "bin" / "sigx";
    REQUIRE(fs::exists(prefix / "lib" / "cmake" / "sigx" / "sigxConfig.cmake"));
    REQUIRE(fs::exists(prefix / "include" / "sigx" / "sigx.hpp"));
    // The installed CLI finds its built-in plugins by itself.
    CHECK_THAT(run_command("env -u SIGX_PLUGIN_PATH " + quote(sigx.string()) + " plugins").output,
               Contains("fft.block"));

    std::vector<std::string> plugin_dirs;
    for (const std::string example : {"iir_bandpass", "torch_fir", "phase_error", "lockin"}) {
        const fs::path b = build_project(source_dir / "sdk" / "examples" / example, prefix, tmp.path() / example);
        plugin_dirs.push_back((b / "plugins").string());
        for (const auto& lib : fs::directory_iterator(b / "plugins")) {
            const auto c = run_command(quote(sigx.string()) + " check " + quote(lib.path().string()));
            INFO(c.output);
            CHECK(c.status == 0);
        }
    }
    const auto run = run_command("SIGX_PLUGIN_PATH=" + quote(fmt::format("{}", fmt::join(plugin_dirs, ":"))) + " " +
                                 quote(sigx.string()) + " run -q " +
                                 quote((source_dir / "sdk" / "examples" / "pipeline.toml").string()) + " --out " +
                                 quote((tmp.path() / "runs").string()));
    INFO(run.output);
    REQUIRE(run.status == 0);
    const auto m = only_run_metrics(tmp.path() / "runs")["test"];
    const double floor = m["(predict zero)"]["mean"]["mse"];
    CHECK(m["iir"]["mean"]["mse"].get<double>() < 0.2 * floor);         // a causal filter with transients
    CHECK(m["fir"]["mean"]["mse"].get<double>() < 0.2 * floor);         // learned by the torch trainer
    CHECK(std::abs(m["fft"]["1Hz"]["phase_deg"].get<double>()) < 5.0);  // the example evaluator ran
    CHECK(m["iir"]["7Hz"]["gain"].get<double>() == Approx(1.0).epsilon(0.1));

    // A third-party model found through the pipeline's [plugins] paths only (no
    // SIGX_PLUGIN_PATH): trained, then applied and streamed from its run, sigx finding it
    // again where the run recorded it, and saying so.
    const fs::path lockin_plugins = tmp.path() / "lockin" / "plugins";
    const fs::path third = tmp.path() / "third.toml";
    std::ofstream(third) << "[pipeline]\nname = \"third\"\n[plugins]\npaths = [" << quote(lockin_plugins.string())
                         << "]\n[source]\nplugin = \"noisy_sinusoid\"\nphase_scale = 0.01\ntrain_records = 2\n"
                            "[models.lockin]\nplugin = \"example.lockin\"\n[[evaluate]]\nplugin = \"metrics\"\n";
    const std::string no_env = "env -u SIGX_PLUGIN_PATH " + quote(sigx.string());
    const auto trained =
        run_command(no_env + " run -q " + quote(third.string()) + " --out " + quote((tmp.path() / "third").string()));
    INFO(trained.output);
    REQUIRE(trained.status == 0);
    const fs::path third_run = sigx::test::only_run(tmp.path() / "third");
    CHECK(only_run_metrics(tmp.path() / "third")["test"]["lockin"]["mean"]["mse"].get<double>() < 0.05);
    const fs::path wav = tmp.path() / "x.wav";
    {  // a user's recording: 3 s of the four tones at 1 kHz, one channel
        sigx::Samples mix(3000);
        for (std::size_t i = 0; i < mix.size(); ++i)
            for (const double f : {1.0, 3.0, 5.0, 7.0})
                mix[i] += std::sin(2 * M_PI * f * static_cast<double>(i) / 1000.0);
        sigx::audio::write_wav(wav, 1000.0, {&mix});
    }
    const auto applied = run_command(no_env + " apply " + quote(third_run.string()) + " " + quote(wav.string()) +
                                     " --out " + quote((tmp.path() / "applied").string()));
    INFO(applied.output);
    CHECK(applied.status == 0);
    CHECK_THAT(applied.output, Contains("loading plugin 'example.lockin' from " +
                                        fs::weakly_canonical(lockin_plugins / "sigx_example_lockin.so").string()));
    const auto streamed = run_command(no_env + " stream -q " + quote(third_run.string()) + " " + quote(wav.string()) +
                                      " -o " + quote((tmp.path() / "streamed.wav").string()));
    INFO(streamed.output);
    CHECK(streamed.status == 0);
    // The same samples (the files' metadata differ: apply names the model and its run).
    CHECK(sigx::audio::read(tmp.path() / "streamed.wav").channels ==
          sigx::audio::read(tmp.path() / "applied" / "x.lockin.wav").channels);

    // The scaffold: a new model plugin builds, passes its own tests (unit + sigx check), runs.
    const fs::path project = tmp.path() / "my_ema";
    const auto made = run_command(quote(sigx.string()) + " new plugin --kind model my.ema " + quote(project.string()));
    INFO(made.output);
    REQUIRE(made.status == 0);
    const fs::path b = build_project(project, prefix, project / "build");
    const auto tests = run_command("ctest --test-dir " + quote(b.string()) + " --output-on-failure");
    INFO(tests.output);
    CHECK(tests.status == 0);
    CHECK_THAT(tests.output, Contains("100% tests passed"));
    const auto own =
        run_command("SIGX_PLUGIN_PATH=" + quote((b / "plugins").string()) + " " + quote(sigx.string()) + " run -q " +
                    quote((project / "pipeline.toml").string()) + " --out " + quote((tmp.path() / "own").string()));
    INFO(own.output);
    CHECK(own.status == 0);
    // The scaffolded model is an exponential moving average of the mix (alpha 0.1) times a
    // gain per component fitted on the training record, saved with the run: recompute it
    // from the mix column of predictions.csv and the saved gains, and its MSE from the
    // target column, and compare with the run's.
    fs::path run_dir;
    for (const auto& e : fs::directory_iterator(tmp.path() / "own"))
        if (e.path().filename().string()[0] != '.') run_dir = e.path();
    REQUIRE(!run_dir.empty());
    std::istringstream csv(read_text(run_dir / "predictions.csv"));
    std::string line;
    REQUIRE(std::getline(csv, line));
    REQUIRE(line == "test_set,record,sample,time,component,mix,target,mine,fft");
    std::map<std::string, double> gain;
    {
        std::istringstream saved(read_text(run_dir / "mine" / "state" / "gains.txt"));
        for (const std::string c : {"1Hz", "3Hz", "5Hz", "7Hz"}) {
            std::string hex;
            REQUIRE(saved >> hex);
            gain[c] = std::strtod(hex.c_str(), nullptr);
        }
    }
    std::map<std::string, double> state;
    double error2 = 0, rows = 0, worst = 0;
    while (std::getline(csv, line)) {
        std::vector<std::string> cells;
        std::istringstream row(line);
        for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
        REQUIRE(cells.size() == 9);
        if (cells[0] != "test") continue;
        double& s = state[cells[4]];
        s += 0.1 * (std::stod(cells[5]) - s);
        const double mine = std::stod(cells[7]), target = std::stod(cells[6]);
        worst = std::max(worst, std::abs(mine - gain[cells[4]] * s));
        error2 += (mine - target) * (mine - target);
        rows += 1;
    }
    CHECK(rows == 4 * 10000);
    CHECK(worst < 1e-12);
    const auto results = only_run_metrics(tmp.path() / "own")["test"];
    CHECK(results["mine"]["mean"]["mse"].get<double>() == Approx(error2 / rows).epsilon(1e-9));
    CHECK(results["mine"]["mean"]["mse"].get<double>() != Approx(results["fft"]["mean"]["mse"].get<double>()));

    // sigx check holds the scaffold's extensions to their contract: three copies, each
    // broken in one way, each failed on exactly that check.
    struct Broken {
        std::string what, from, to, check;
    };
    const std::vector<Broken> broken = {
        {"stream", "return sigx::predict_by_streaming(*this, input, task);",
         "auto p = sigx::predict_by_streaming(*this, input, task); for (auto& c : p.components) c.insert(c.begin(), "
         "0.0), "
         "c.pop_back(); return p;",
         "streams as it predicts"},
        {"latency", "return 0;  // latency", "return 1;  // latency", "declares its latency truly"},
        {"state", "gains_ = gains;", "gains_ = gains; gains_.back() = 0;", "restores its saved state bit for bit"}};
    for (const auto& fault : broken) {
        INFO("broken: " << fault.what);
        const fs::path copy = tmp.path() / ("broken_" + fault.what);
        fs::copy(project, copy, fs::copy_options::recursive);
        fs::remove_all(copy / "build");
        const fs::path header = copy / "src" / "my_ema.hpp";
        std::string text = read_text(header);
        const auto at = text.find(fault.from);
        REQUIRE(at != std::string::npos);
        text.replace(at, fault.from.size(), fault.to);
        std::ofstream(header) << text;
        const auto cfg = run_command("cmake -S " + quote(copy.string()) + " -B " + quote((copy / "build").string()) +
                                     " -G Ninja -DCMAKE_PREFIX_PATH=" + quote(prefix.string()) + " && cmake --build " +
                                     quote((copy / "build").string()) + " --target sigx_plugin_my_ema");
        INFO(cfg.output);
        REQUIRE(cfg.status == 0);
        const auto c = run_command(quote(sigx.string()) + " check " +
                                   quote((copy / "build" / "plugins" / "sigx_my_ema.so").string()));
        INFO(c.output);
        CHECK(c.status == 3);
        CHECK_THAT(c.output, Contains("FAIL  my.ema: " + fault.check));
        CHECK_THAT(c.output, Contains(", 1 failed"));
    }
}

TEST_CASE("sigx new plugin: every kind scaffolds, and a non-empty folder is refused", "[sdk][scaffold]") {
    TempDir tmp;
    for (const std::string kind : {"generator", "model", "trainer", "evaluator"}) {
        const fs::path dir = tmp.path() / kind;
        const auto r = sigx::test::run_sigx("new plugin --kind " + kind + " my." + kind + " " + quote(dir.string()));
        INFO(r.output);
        CHECK(r.status == 0);
        CHECK_THAT(read_text(dir / "src" / ("my_" + kind + ".hpp")),
                   Contains("sigx::" + std::string(1, static_cast<char>(std::toupper(kind[0]))) + kind.substr(1)));
        CHECK(fs::exists(dir / "tests" / ("my_" + kind + "_test.cpp")));
        CHECK_THAT(read_text(dir / "pipeline.toml"), Contains("my." + kind));
    }
    const auto again = sigx::test::run_sigx("new plugin --kind model other " + quote((tmp.path() / "model").string()));
    CHECK(again.status != 0);
    CHECK_THAT(again.output, Contains("not empty"));
    // The loader's name rule: "..." once reached the class name empty (undefined behaviour).
    const auto dots = sigx::test::run_sigx("new plugin --kind model ... " + quote((tmp.path() / "dots").string()));
    CHECK(dots.status != 0);
    CHECK_THAT(dots.output, Contains("plugin name '...' starts with '.'"));
    CHECK_FALSE(fs::exists(tmp.path() / "dots"));
}

TEST_CASE("sigx graph prints the wiring as DOT", "[cli][torch]") {
    const auto r = sigx::test::run_sigx("graph " + quote((source_dir / "pipelines" / "quickstart.toml").string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("digraph \"quickstart\"") && Contains("\"trainers.adam\" -> \"models.lstm\"") &&
                             Contains("\"source\" -> \"models.fft\"") && Contains("\"models.lsq\" -> \"evaluate[2]\""));
}
