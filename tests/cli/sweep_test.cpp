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
