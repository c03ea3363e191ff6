// End to end: the real `sigx` executable on small pipelines, checked through its exit
// codes, its messages and the run directory it writes.
#include "support/support.hpp"

#include <toml++/toml.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::CommandResult;
using sigx::test::data_dir;
using sigx::test::pipeline_dir;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_sigx;
using sigx::test::TempDir;

namespace {

std::vector<fs::path> entries(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, sep);) out.push_back(cell);
    return out;
}

struct Sums {
    double n = 0, error2 = 0, target2 = 0;
};

// MSE per component of `model`, and of predicting zero, from predictions.csv's rows of
// test set "test".
std::map<std::string, Sums> sums_from_csv(const fs::path& csv, const std::string& model) {
    std::ifstream in(csv);
    std::string line;
    REQUIRE(std::getline(in, line));
    const auto header = split(line, ',');
    REQUIRE(header.size() == 8);
    CHECK(std::vector<std::string>(header.begin(), header.begin() + 7) ==
          std::vector<std::string>{"test_set", "record", "sample", "time", "component", "mix", "target"});
    REQUIRE(header[7] == model);
    std::map<std::string, Sums> sums;
    while (std::getline(in, line)) {
        const auto cells = split(line, ',');
        REQUIRE(cells.size() == 8);
        if (cells[0] != "test") continue;
        const double target = std::stod(cells[6]), prediction = std::stod(cells[7]);
        Sums& s = sums[cells[4]];
        s.n += 1;
        s.error2 += (prediction - target) * (prediction - target);
        s.target2 += target * target;
    }
    return sums;
}

}  // namespace

TEST_CASE("sigx --version and --help exit 0", "[cli]") {
    const CommandResult v = run_sigx("--version");
    CHECK(v.status == 0);
    CHECK_THAT(v.output, Contains("sigx 2.0.0 (plugin ABI 3)"));
    const CommandResult h = run_sigx("--help");
    CHECK(h.status == 0);
    CHECK_THAT(h.output, Contains("Exit codes:"));
    CHECK(run_sigx("no-such-command").status == 2);
}

TEST_CASE("sigx run writes a complete run directory whose metrics match its predictions", "[cli][e2e]") {
    TempDir out;
    const fs::path file = data_dir() / "small.toml";
    const CommandResult r = run_sigx("run --quiet " + quote(file.string()) + " source.phase_scale=0.02 --out " +
                                     quote(out.path().string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto dirs = entries(out.path());
    REQUIRE(dirs.size() == 1);  // the run, and no leftover .partial folder
    const fs::path run = dirs[0];
    CHECK(run.filename().string().rfind("small-", 0) == 0);
    CHECK_THAT(r.output, Contains("run directory: " + run.string()));
    for (const char* f : {"config.toml", "metrics.json", "report.md", "predictions.csv", "log.txt"})
        CHECK(fs::is_regular_file(run / f));
    for (const auto& e : fs::recursive_directory_iterator(run))
        CHECK(e.path().filename().string().find(".partial") == std::string::npos);

    // The resolved config holds the command-line override and the defaults.
    const toml::table config = toml::parse_file((run / "config.toml").string());
    CHECK(config["source"]["phase_scale"].value<double>() == 0.02);
    CHECK(config["source"]["duration"].value<double>() == 2.0);
    CHECK(config["source"]["mix_weight"].value<double>() == 0.0);
    CHECK(config["models"]["fft"]["plugin"].value<std::string>() == "fft.block");

    // metrics.json agrees with a direct computation from predictions.csv. The CSV holds
    // every value with enough digits to read back the same double, so the only difference
    // is the order of summation.
    const auto metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
    CHECK(metrics["pipeline"] == "small");
    CHECK(metrics["models"][0]["name"] == "fft");
    const auto& results = metrics["results"]["test"];
    const auto sums = sums_from_csv(run / "predictions.csv", "fft");
    REQUIRE(sums.size() == 2);
    double mean_mse = 0;
    for (const char* c : {"2Hz", "5Hz"}) {
        INFO("component " << c);
        REQUIRE(sums.count(c) == 1);
        const Sums& s = sums.at(c);
        CHECK(s.n == 400);  // 2 s at 200 Hz, one test record
        const double mse = s.error2 / s.n;
        mean_mse += mse / 2;
        CHECK_THAT(results["fft"][c]["mse"].get<double>(), Catch::Matchers::WithinRel(mse, 1e-9));
        CHECK_THAT(results["(predict zero)"][c]["mse"].get<double>(),
                   Catch::Matchers::WithinRel(s.target2 / s.n, 1e-9));
        CHECK(mse < 0.01);  // the FFT baseline is far below the predict-zero floor (0.5)
        CHECK(results["fft"][c]["pearson"].get<double>() > 0.95);
    }
    CHECK_THAT(results["fft"]["mean"]["mse"].get<double>(), Catch::Matchers::WithinRel(mean_mse, 1e-9));

    const std::string report = read_text(run / "report.md");
    CHECK_THAT(report, Contains("# small"));
    CHECK_THAT(report, Contains("| fft "));
    CHECK_THAT(report, Contains("(predict zero)"));
    CHECK_FALSE(read_text(run / "log.txt").empty());
}

TEST_CASE("every report row says what its model is: causal or not, and classical, learned or hybrid", "[cli][e2e]") {
    TempDir out, files;
    const fs::path file = sigx::test::write_text(files.path() / "what.toml", R"([source]
plugin = "noisy_sinusoid"
duration = 2.0
[models.fft]
plugin = "fft.block"
[models.fft_sliding]
plugin = "fft.sliding"
window = 500
[models.kalman]
plugin = "kalman"
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 500
[models.zero_phase]
plugin = "notch"
zero_phase = true
[models.zeros]
plugin = "test.zeros"
trainer = "t"
[trainers.t]
plugin = "test.trainer"
)");
    const auto r = run_sigx("run -q " + quote(file.string()) + " --plugin-path " +
                            quote(sigx::test::fixture_dir().string()) + " --out " + quote(out.path().string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const fs::path run = entries(out.path()).at(0);
    const std::string report = read_text(run / "report.md");
    // Each model row, padded to the column, with what its plugin says (sigx.model.nature/1).
    auto row = [&](const std::string& model, const std::string& what) {
        INFO(model);
        CHECK(report.find("| " + model + " ") != std::string::npos);
        const auto at = report.find("| " + model + " ");
        CHECK(report.substr(at, report.find('\n', at) - at).find("| " + what + " ") != std::string::npos);
    };
    row("fft", "non-causal, classical: FFT of the whole record");
    row("fft_sliding", "causal, classical: sliding DFT over the last window");
    row("kalman", "causal, classical: Kalman tracker");
    row("lsq_sliding", "causal, classical: least squares over the last window");
    row("zero_phase", "non-causal, classical: notch filters, forward-backward");
    row("zeros", "not stated");  // a plugin that does not say
    CHECK_THAT(report, Contains("`what`: causal: each estimate uses samples up to it"));
    const auto metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
    for (const auto& m : metrics["models"]) {
        INFO(m.dump());
        if (m["name"] == "zeros") {
            CHECK_FALSE(m.contains("causal"));
        } else {
            CHECK(m["causal"] == (m["name"] != "fft" && m["name"] != "zero_phase"));
            CHECK(m["method"] == "classical");
        }
    }
}

TEST_CASE("sigx run never overwrites an earlier run", "[cli][e2e]") {
    TempDir out;
    const std::string file = quote((data_dir() / "small.toml").string());
    const std::string to = " --out " + quote(out.path().string());
    REQUIRE(run_sigx("run -q " + file + " source.phase_scale=0.03" + to).status == 0);
    const auto first = entries(out.path());
    REQUIRE(first.size() == 1);
    const std::string first_config = read_text(first[0] / "config.toml");
    const std::string first_metrics = read_text(first[0] / "metrics.json");
    REQUIRE(run_sigx("run -q " + file + " source.phase_scale=0.04" + to).status == 0);
    const auto both = entries(out.path());
    REQUIRE(both.size() == 2);
    CHECK(std::find(both.begin(), both.end(), first[0]) != both.end());
    CHECK(read_text(first[0] / "config.toml") == first_config);
    CHECK(read_text(first[0] / "metrics.json") == first_metrics);
    const fs::path second = both[0] == first[0] ? both[1] : both[0];
    CHECK(toml::parse_file((second / "config.toml").string())["source"]["phase_scale"].value<double>() == 0.04);
    CHECK(toml::parse_file((first[0] / "config.toml").string())["source"]["phase_scale"].value<double>() == 0.03);
}

TEST_CASE("sigx validate: exit 2 with file:line:col for a broken file", "[cli]") {
    const fs::path bad = pipeline_dir() / "bad" / "out_of_range.toml";
    const CommandResult r = run_sigx("validate " + quote(bad.string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output,
               Contains("error: " + bad.string() + ":3:15: 'source.phase_scale': value -0.5 is out of range"));

    const fs::path nyquist = pipeline_dir() / "bad" / "nyquist.toml";
    const CommandResult n = run_sigx("validate " + quote(nyquist.string()));
    CHECK(n.status == 2);
    CHECK_THAT(n.output, Contains(nyquist.string() + ":5:15: [source] plugin 'noisy_sinusoid': frequency 600 Hz"));

    const fs::path syntax = pipeline_dir() / "bad" / "syntax_error.toml";
    const CommandResult s = run_sigx("validate " + quote(syntax.string()));
    CHECK(s.status == 2);
    CHECK_THAT(s.output, Contains(syntax.string() + ":3:16: TOML syntax error"));
}

TEST_CASE("sigx validate: an unknown plugin is a configuration error (exit 2)", "[cli]") {
    const fs::path bad = pipeline_dir() / "bad" / "unknown_plugin.toml";
    const CommandResult r = run_sigx("validate " + quote(bad.string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output,
               Contains(bad.string() + ":5:10: no model plugin named 'fft.blok'; known model plugins: fft.block"));
    CHECK_THAT(r.output, Contains(sigx::test::builtin_names(sigx::Kind::model)));
}

TEST_CASE("sigx validate: a good file and an override on the command line", "[cli]") {
    const std::string good = quote((pipeline_dir() / "good.toml").string());
    const CommandResult ok = run_sigx("validate " + good);
    CHECK(ok.status == 0);
    CHECK_THAT(ok.output, Contains(": ok: pipeline 'good', source noisy_sinusoid, 1 model(s), 1 evaluator(s)"));
    const CommandResult bad = run_sigx("validate " + good + " source.phase_scale=abc");
    CHECK(bad.status == 2);
    CHECK_THAT(bad.output, Contains("error: command line override 'source.phase_scale=abc': 'source.phase_scale': "
                                    "expected real, found string"));
}

TEST_CASE("sigx inspect and plugins", "[cli]") {
    const CommandResult nope = run_sigx("inspect nope");
    CHECK(nope.status == 3);
    CHECK_THAT(nope.output, Contains("no plugin named 'nope'"));
    const CommandResult near = run_sigx("inspect fft.blok");
    CHECK(near.status == 3);
    CHECK_THAT(near.output, Contains("did you mean 'fft.block'?"));

    const CommandResult gen = run_sigx("inspect noisy_sinusoid");
    CHECK(gen.status == 0);
    CHECK_THAT(gen.output, Contains("noisy_sinusoid 1.0.0 (generator)"));
    CHECK_THAT(gen.output, Contains("phase_scale (real, default 1), >= 0"));

    const CommandResult json = run_sigx("inspect fft.block --json");
    REQUIRE(json.status == 0);
    const auto j = nlohmann::json::parse(json.output);
    CHECK(j["kind"] == "model");
    CHECK(j["params"][0]["choices"] == nlohmann::json::array({"estimate", "measure"}));

    // The broken folder through --plugin-path: every rejection is listed, healthy ones load.
    const CommandResult list =
        run_sigx("--plugin-path " + quote(sigx::test::broken_dir().string()) + " plugins --json");
    REQUIRE(list.status == 0);
    const auto l = nlohmann::json::parse(list.output);
    std::vector<std::string> names;
    for (const auto& p : l["plugins"]) names.push_back(p["name"]);
    CHECK(std::is_sorted(names.begin(), names.end()));
    for (const char* name : {"dup.eval", "fft.block", "metrics", "noisy_sinusoid", "test.good"})
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
    CHECK(l["rejected"].size() == 13);
}
