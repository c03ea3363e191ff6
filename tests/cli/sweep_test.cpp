// Sweeps end to end: every point validated before any runs, the cross product run as
// separate processes (two at a time), failed points reported while the others finish,
// and a summary table, JSON and plot in one sweep directory.
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_sigx;
using sigx::test::TempDir;

namespace {

fs::path write_sweep(const fs::path& dir, const std::string& phase_values) {
    const fs::path file = dir / "sweep.toml";
    std::ofstream(file) << "[pipeline]\nname = \"tiny\"\n\n"
                        << "[plugins]\npaths = [" << quote(sigx::test::fixture_dir().string()) << "]\n\n"
                        << "[source]\nplugin = \"noisy_sinusoid\"\nfrequencies = [2.0, 5.0]\nduration = 1.0\n\n"
                        << "[models.fft]\nplugin = \"fft.block\"\n\n[models.z]\nplugin = \"test.flaky\"\n\n"
                        << "[[evaluate]]\nplugin = \"metrics\"\n\n"
                        << "[sweep]\n\"source.phase_scale\" = " << phase_values
                        << "\n\"models.z.fail\" = [false, true]\n";
    return file;
}

}  // namespace

TEST_CASE("sweep: cross product in parallel processes, failures reported, summary and plot", "[cli][sweep]") {
    TempDir dir;
    const fs::path file = write_sweep(dir.path(), "[0.01, 1.0]");
    CHECK(run_sigx("validate " + quote(file.string())).output.find("sweep of 4 points") != std::string::npos);

    const auto r =
        run_sigx("run -q " + quote(file.string()) + " --jobs 2 --out " + quote((dir.path() / "runs").string()));
    INFO(r.output);
    CHECK(r.status == 1);  // two points failed: a runtime failure overall
    fs::path sweep;
    for (const auto& e : fs::directory_iterator(dir.path() / "runs")) sweep = e.path();
    REQUIRE(sweep.filename().string().rfind("tiny-sweep-", 0) == 0);

    const auto summary = nlohmann::json::parse(read_text(sweep / "summary.json"));
    REQUIRE(summary["points"].size() == 4);
    int failed = 0;
    for (const auto& p : summary["points"]) {
        const bool should_fail = p["overrides"][1] == "models.z.fail=true";
        CHECK((p["exit"] != 0) == should_fail);
        if (should_fail) {
            ++failed;
            CHECK(read_text(sweep / (p["name"].get<std::string>() + ".log")).find("asked to fail") !=
                  std::string::npos);
            continue;
        }
        CHECK(fs::exists(sweep / p["run_dir"].get<std::string>() / "metrics.json"));
        const double fft = p["results"]["test"]["fft"]["mean"]["mse"];
        // The FFT baseline is good at phase_scale 0.01 and no better than the floor at 1.
        if (p["overrides"][0] == "source.phase_scale=0.01")
            CHECK(fft < 0.01);
        else
            CHECK(fft > 0.45);
    }
    CHECK(failed == 2);
    const std::string md = read_text(sweep / "summary.md");
    CHECK_THAT(md, Contains("point-03") && Contains("failed"));
    CHECK(fs::exists(sweep / "sweep.gp"));
    CHECK(fs::exists(sweep / "sweep.dat"));
}

TEST_CASE("sweep: a bad value in any point is refused before anything runs", "[cli][sweep]") {
    TempDir dir;
    const fs::path file = write_sweep(dir.path(), "[0.01, -1.0]");
    const auto r = run_sigx("run " + quote(file.string()) + " --out " + quote((dir.path() / "runs").string()));
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("sweep point 'source.phase_scale=-1.0'") && Contains("out of range"));
    CHECK_FALSE(fs::exists(dir.path() / "runs"));
}

TEST_CASE("repeats: other training seeds, fixed test sets, mean and standard deviation as computed directly",
          "[cli][sweep]") {
    TempDir dir;
    const fs::path file = dir.path() / "rep.toml";
    std::ofstream(file) << "[pipeline]\nname = \"rep\"\nseed = 5\n[source]\nplugin = \"noisy_sinusoid\"\n"
                        << "duration = 2.0\nphase_scale = 0.01\ntrain_records = 2\nrandom_start = true\n"
                        << "[models.fft_sliding]\nplugin = \"fft.sliding\"\nwindow = 500\n"
                        << "[models.lsq]\nplugin = \"lsq\"\n[[evaluate]]\nplugin = \"metrics\"\n";
    const auto r = run_sigx("run -q " + quote(file.string()) + " --repeats 3 --out " + quote(dir.path().string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    fs::path sweep;
    for (const auto& e : fs::directory_iterator(dir.path()))
        if (e.is_directory()) sweep = e.path();
    // Repeat r: pipeline seed 5 + r, training seed 1 + 7919 r.
    for (int k = 0; k < 3; ++k) {
        const std::string config = read_text(sweep / ("point-0" + std::to_string(k) + ".toml"));
        CHECK_THAT(config, Contains("seed = " + std::to_string(5 + k)));
        CHECK_THAT(config, Contains("train_seed = " + std::to_string(1 + 7919 * k)));
    }
    const auto summary = nlohmann::json::parse(read_text(sweep / "summary.json"));
    std::map<std::string, std::vector<double>> direct;  // "set/model" -> mse per repeat
    for (const auto& p : summary["points"])
        for (auto& [set, models] : p["results"].items())
            for (auto& [model, v] : models.items()) direct[set + "/" + model].push_back(v["mean"]["mse"].get<double>());
    std::size_t checked = 0;
    for (const auto& e : summary["repeats"]) {
        const auto& v = direct[e["test_set"].get<std::string>() + "/" + e["model"].get<std::string>()];
        REQUIRE(v.size() == 3);
        const double mean = (v[0] + v[1] + v[2]) / 3;
        double var = 0;
        for (double x : v) var += (x - mean) * (x - mean) / 2;
        INFO(e.dump());
        CHECK(e["n"] == 3);
        CHECK(e["mse_mean"].get<double>() == Approx(mean).epsilon(1e-12));
        CHECK(e["mse_sd"].get<double>() == Approx(std::sqrt(var)).epsilon(1e-9).margin(1e-15));
        if (e["model"] == "fft_sliding") {
            CHECK(e["mse_sd"].get<double>() == 0.0);  // fits nothing, and the test sets stay fixed
            const auto& lsq = direct[e["test_set"].get<std::string>() + "/lsq"];
            double d = 0;
            for (int k = 0; k < 3; ++k) d += (v[static_cast<std::size_t>(k)] - lsq[static_cast<std::size_t>(k)]) / 3;
            CHECK(e["versus_best"]["best"] == "lsq");
            CHECK(e["versus_best"]["difference_mean"].get<double>() == Approx(d).epsilon(1e-12));
        }
        if (e["model"] == "lsq") CHECK(e["mse_sd"].get<double>() > 0);  // calibrated on other training data
        ++checked;
    }
    CHECK(checked == 2 * 3);  // two test sets x (two models + the floor)
    CHECK_THAT(read_text(sweep / "summary.md"), Contains("3 repeats, mean ± standard deviation"));
}

TEST_CASE("sharded sweep: shards in any order cover every point once, collect lists what is missing", "[cli][sweep]") {
    TempDir dir;
    const fs::path file = dir.path() / "shs.toml";
    auto write = [&](const std::string& values) {
        std::ofstream(file) << "[pipeline]\nname = \"shs\"\n[source]\nplugin = \"noisy_sinusoid\"\nduration = 1.0\n"
                            << "unseen_records = 0\n[models.fft]\nplugin = \"fft.block\"\n[[evaluate]]\nplugin = "
                            << "\"metrics\"\n[sweep]\n\"source.phase_scale\" = " << values << "\n";
    };
    write("[0.01, 0.1, 0.5, 1.0, 0.05]");
    const std::string out = " --out " + quote((dir.path() / "runs").string());
    const fs::path sweep = dir.path() / "runs" / "shs-sweep";
    // Shard 2 of 3 first: points 2 (and 5, which does not exist).
    auto r = run_sigx("run -q " + quote(file.string()) + " --shard 2/3" + out);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("1 of 5 points of the sweep finished"));
    CHECK_FALSE(fs::exists(sweep / "summary.md"));
    r = run_sigx("sweep collect " + quote(sweep.string()));
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("4 of 5 points not finished"));
    CHECK_THAT(r.output, Contains("point-00, point-01, point-03, point-04"));
    // Then shard 0, from the variables a launcher sets, and shard 1: the last collects.
    r = sigx::test::run_command("RANK=0 WORLD_SIZE=3 env -u SIGX_PLUGIN_PATH " +
                                quote(sigx::test::sigx_exe().string()) + " run -q " + quote(file.string()) + out);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("shard 0/3: 2 point(s) run here, 0 failed; 3 of 5 points of the sweep finished"));
    r = run_sigx("run -q " + quote(file.string()) + " --shard 1/3" + out);
    REQUIRE(r.status == 0);
    std::map<std::string, int> runs;
    for (const auto& e : fs::directory_iterator(sweep / "runs")) ++runs[e.path().filename().string().substr(0, 8)];
    CHECK(runs == std::map<std::string, int>{
                      {"point-00", 1}, {"point-01", 1}, {"point-02", 1}, {"point-03", 1}, {"point-04", 1}});
    const auto summary = nlohmann::json::parse(read_text(sweep / "summary.json"));
    CHECK(summary["points"].size() == 5);
    CHECK_FALSE(summary.contains("missing"));
    for (const auto& p : summary["points"]) CHECK(p.contains("results"));
    // Another sweep into the same directory is refused.
    write("[0.01, 0.2]");
    r = run_sigx("run -q " + quote(file.string()) + " --shard 0/2" + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("holds another sweep"));
    r = run_sigx("run -q " + quote(file.string()) + " --shard 2/2" + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("a shard is K/N with 0 <= K < N, got 2/2"));
}
