// Data-parallel training across processes (torch.distributed's c10d over Gloo, on the
// loopback address): `--nproc 2` against one process, ranks started by hand as an external
// launcher would, a rank killed mid-training, a rank that never comes, and the refusals.
#include "support/support.hpp"

#include <sigx/host/world.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::quote;
using sigx::test::read_text;
using sigx::test::run_command;
using sigx::test::run_sigx;
using sigx::test::TempDir;

namespace {

// The tiny stateful-LSTM pipeline (one record, two components: two rows per batch, one
// per rank), without dropout, whose draws differ by rank; plain SGD, which, unlike Adam,
// would show a gradient scaled wrongly.
std::string small_pipeline(int epochs, const std::string& extra = "") {
    return quote((sigx::test::data_dir() / "small_lstm.toml").string()) +
           fmt::format(
               " models.lstm.dropout=0 trainers.adam.optimizer=sgd trainers.adam.lr=0.05 "
               "trainers.adam.epochs={} {}",
               epochs, extra);
}

std::vector<std::vector<double>> curve(const fs::path& run) {
    std::istringstream in(read_text(run / "lstm" / "training_curve.csv"));
    std::vector<std::vector<double>> rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<double> row;
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}

// `sigx run ARGS` as rank `rank` of 2, started as a launcher would; its output to `log`.
pid_t start_rank(int rank, int port, const std::string& args, const fs::path& log) {
    const std::string cmd = fmt::format(
        "exec env -u SIGX_PLUGIN_PATH RANK={} WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT={} {} run -q {} >{} 2>&1",
        rank, port, quote(sigx::test::sigx_exe().string()), args, quote(log.string()));
    const pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("sigx run --nproc 2: identical weights on both ranks and the loss curve of one process in one run directory",
          "[torch][distributed]") {
    TempDir one, two;
    const auto single = run_sigx("run -q " + small_pipeline(6) + " --out " + quote(one.path().string()));
    REQUIRE(single.status == 0);
    const auto both = run_sigx("run " + small_pipeline(6) + " --nproc 2 --out " + quote(two.path().string()));
    INFO(both.output);
    REQUIRE(both.status == 0);
    // Each rank compared its trained weights with rank 0's, bit for bit (any difference fails the run).
    CHECK_THAT(both.output, Contains("[rank 1] [info] lstm: trained 6 epochs") &&
                                Contains("weights identical on all 2 ranks") && Contains("this is rank 1"));
    // Rank 1 wrote nothing: one run directory, rank 0's.
    const fs::path run = sigx::test::only_run(two.path());
    CHECK(fs::exists(run / "lstm" / "model.pt"));

    // Each rank's rows of the batch, weighted by their share and summed, give the whole
    // batch's gradient; only the order of float additions differs (the all-reduce adds two
    // partial sums), each a rounding of at most float32's unit roundoff, 6e-8, relative.
    // Measured: at most 1.5e-7 relative over these 6 epochs; 1e-5 (about 170 roundings)
    // leaves room for their growth over the steps, while skipping the all-reduce, or
    // summing instead of averaging, moves the curve by percents.
    const auto a = curve(sigx::test::only_run(one.path())), b = curve(run);
    REQUIRE(a.size() == 6);
    REQUIRE(b.size() == 6);
    for (std::size_t e = 0; e < a.size(); ++e) {
        INFO("epoch " << e + 1);
        for (std::size_t column : {1u, 2u}) {  // train_loss, validation_mse
            CHECK(std::abs(a[e][column] - b[e][column]) <= 1e-5 * std::abs(a[e][column]));
        }
    }
    CHECK(b.back()[2] < 0.5 * b.front()[2]);  // and it learned
}

TEST_CASE("a rank killed mid-training stops the other within its timeout and names it: the run resumes",
          "[torch][distributed]") {
    TempDir dir;
    const int port = sigx::host::free_loopback_port();
    const std::string args =
        small_pipeline(150, "trainers.adam.timeout=20") + " --out " + quote((dir.path() / "runs").string());
    const pid_t rank0 = start_rank(0, port, args, dir.path() / "rank0.log");
    const pid_t rank1 = start_rank(1, port, args, dir.path() / "rank1.log");
    fs::path partial;
    for (int i = 0; i < 6000 && partial.empty(); ++i) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir.path() / "runs", ec))
            if (fs::exists(e.path() / "lstm" / "checkpoint.pt")) partial = e.path();
        if (partial.empty()) usleep(10000);
    }
    REQUIRE_FALSE(partial.empty());
    ::kill(rank1, SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    const int status = wait_exit(rank0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    wait_exit(rank1);
    const std::string log = read_text(dir.path() / "rank0.log");
    INFO(log);
    CHECK(status == 1);
    CHECK(seconds < 20 + 5);  // a dead peer's connection closes at once: measured about 1 s
    CHECK_THAT(log, Contains("rank 0 stopped: rank 1 stopped answering") && Contains("resume with sigx run --resume"));
    REQUIRE(fs::is_directory(partial));  // kept under its temporary name, with the last checkpoint
    CHECK(partial.filename().string().find(".partial") != std::string::npos);

    const auto resumed = run_sigx("run -q --resume " + quote(partial.string()) + " --nproc 2");
    INFO(resumed.output);
    REQUIRE(resumed.status == 0);
    const fs::path run = sigx::test::only_run(dir.path() / "runs");
    CHECK_THAT(read_text(run / "log.txt"), Contains("resumed from"));
    CHECK(curve(run).size() == 150);
}

TEST_CASE("a rank that never joins: the other stops within its timeout and names it", "[torch][distributed]") {
    TempDir dir;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r =
        run_command(fmt::format("env -u SIGX_PLUGIN_PATH RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "
                                "MASTER_PORT={} {} run -q {} --out {}",
                                sigx::host::free_loopback_port(), quote(sigx::test::sigx_exe().string()),
                                small_pipeline(3, "trainers.adam.timeout=2"), quote(dir.path().string())));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("rank(s) 1 of 2 did not join the rendezvous") && Contains("within 2 s"));
    CHECK(seconds < 2 + 10);
}

TEST_CASE("runs across processes are refused before any work when nothing can be shared", "[torch][distributed]") {
    TempDir dir, files;
    const std::string out = " --out " + quote(dir.path().string());
    const std::string fixtures = " --plugin-path " + quote(sigx::test::fixture_dir().string());
    // No model with a trainer.
    std::ofstream(files.path() / "fft.toml") << "[source]\nplugin = \"noisy_sinusoid\"\nduration = 1.0\n\n"
                                                "[models.fft]\nplugin = \"fft.block\"\n";
    auto r = run_sigx("run " + quote((files.path() / "fft.toml").string()) + " --nproc 2" + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("has nothing to share: no model has a trainer"));
    // A trainer without the data-parallel extension.
    const std::string source = "[source]\nplugin = \"noisy_sinusoid\"\nduration = 1.0\n\n";
    std::ofstream(files.path() / "plain.toml")
        << source
        << "[models.z]\nplugin = \"test.zeros\"\ntrainer = \"t\"\n\n[trainers.t]\nplugin = \"test.trainer\"\n";
    r = run_sigx("run " + quote((files.path() / "plain.toml").string()) + " --nproc 2" + fixtures + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("[trainers.t] plugin 'test.trainer' cannot train across processes") &&
                             Contains("sigx.trainer.data_parallel/1"));
    // The torch trainer and a model it cannot fit.
    std::ofstream(files.path() / "zeros.toml")
        << source << "[models.z]\nplugin = \"test.zeros\"\ntrainer = \"t\"\n\n[trainers.t]\nplugin = \"torch\"\n";
    r = run_sigx("run " + quote((files.path() / "zeros.toml").string()) + " --nproc 2" + fixtures + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("[models.z] cannot be trained across processes by [trainers.t]") &&
                             Contains("does not offer the sigx.torch.model extension"));
    // A launcher's world without the address where the ranks meet.
    r = run_command("env -u SIGX_PLUGIN_PATH -u MASTER_ADDR RANK=0 WORLD_SIZE=2 " +
                    quote(sigx::test::sigx_exe().string()) + " run " +
                    quote((sigx::test::data_dir() / "small_lstm.toml").string()) + out);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains("needs MASTER_ADDR") && Contains("(rank 0 from RANK/WORLD_SIZE)"));
    // Slurm's and Open MPI's variables where torchrun's are absent.
    for (const std::string vars : {"SLURM_PROCID=1 SLURM_NTASKS=4", "OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=4"}) {
        r = run_command("env -u SIGX_PLUGIN_PATH -u MASTER_ADDR -u RANK -u WORLD_SIZE " + vars + " " +
                        quote(sigx::test::sigx_exe().string()) + " run " +
                        quote((sigx::test::data_dir() / "small_lstm.toml").string()) + out);
        CHECK(r.status == 2);
        const std::string from =
            vars.rfind("SLURM", 0) == 0 ? "SLURM_PROCID/SLURM_NTASKS" : "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE";
        CHECK_THAT(r.output, Contains(fmt::format("a run of 4 processes (rank 1 from {}) needs MASTER_ADDR", from)));
    }
    CHECK(fs::is_empty(dir.path()));  // nothing written
}
