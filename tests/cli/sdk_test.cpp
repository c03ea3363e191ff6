// The third-party path end to end, as docs/plugins.md tells it: install sigx to a fresh
// prefix; build the SDK examples and a scaffolded plugin out of tree against it
// (find_package(sigx)); run `sigx check` on them and on every built-in plugin; run
// pipelines that load them through SIGX_PLUGIN_PATH and check their metrics.
#include "support/support.hpp"

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
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
    for (const std::string example : {"iir_bandpass", "torch_fir", "phase_error"}) {
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
    // The scaffolded model is an exponential moving average of the mix, undone by the mix
    // gain (alpha 0.1, gain 1/4 of the mean amplitude 1): recompute it from the mix column
    // of predictions.csv, and its MSE from the target column, and compare with the run's.
    fs::path run_dir;
    for (const auto& e : fs::directory_iterator(tmp.path() / "own"))
        if (e.path().filename().string()[0] != '.') run_dir = e.path();
    REQUIRE(!run_dir.empty());
    std::istringstream csv(read_text(run_dir / "predictions.csv"));
    std::string line;
    REQUIRE(std::getline(csv, line));
    REQUIRE(line == "test_set,record,sample,time,component,mix,target,mine,fft");
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
        worst = std::max(worst, std::abs(mine - s / 0.25));
        error2 += (mine - target) * (mine - target);
        rows += 1;
    }
    CHECK(rows == 4 * 10000);
    CHECK(worst < 1e-12);
    const auto results = only_run_metrics(tmp.path() / "own")["test"];
    CHECK(results["mine"]["mean"]["mse"].get<double>() == Approx(error2 / rows).epsilon(1e-9));
    CHECK(results["mine"]["mean"]["mse"].get<double>() != Approx(results["fft"]["mean"]["mse"].get<double>()));
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
