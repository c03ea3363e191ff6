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
#include <set>
#include <sstream>
#include <thread>
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
pid_t start_rank(int rank, int port, const std::string& args, const fs::path& log,
                 const std::string& addr = "127.0.0.1") {
    const std::string cmd = fmt::format(
        "exec env -u SIGX_PLUGIN_PATH RANK={} WORLD_SIZE=2 MASTER_ADDR={} MASTER_PORT={} {} run -q {} >{} 2>&1", rank,
        addr, port, quote(sigx::test::sigx_exe().string()), args, quote(log.string()));
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

// The addresses the given processes listen on (TCP), from /proc: "a.b.c.d:port" for IPv4,
// "[hex]:port" for IPv6.
std::set<std::string> listening(const std::set<pid_t>& pids) {
    std::set<std::string> inodes, out;
    for (const pid_t pid : pids) {
        std::error_code ec;
        for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
            const auto target = fs::read_symlink(fd.path(), ec).string();
            if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
        }
    }
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string slot, local, remote, state, skip, inode;
            f >> slot >> local >> remote >> state >> skip >> skip >> skip >> skip >> skip >> inode;
            if (state != "0A" || !inodes.count(inode)) continue;  // 0A: LISTEN
            const auto colon = local.find(':');
            const std::string hex = local.substr(0, colon),
                              port = std::to_string(std::stoi(local.substr(colon + 1), nullptr, 16));
            if (hex.size() == 8) {  // one little-endian word
                const auto a = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
                out.insert(fmt::format("{}.{}.{}.{}:{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24, port));
            } else {
                out.insert("[" + hex + "]:" + port);
            }
        }
    }
    return out;
}

// The children of `parent` (the ranks --nproc starts).
std::set<pid_t> children(pid_t parent) {
    std::set<pid_t> out;
    std::error_code ec;
    for (const auto& p : fs::directory_iterator("/proc", ec)) {
        const std::string name = p.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(p.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent) out.insert(std::stoi(name));
    }
    return out;
}

// Everything `pids()` listen on until `pid` exits; its exit status in `status`.
template <class Pids> std::set<std::string> listening_until_exit(pid_t pid, Pids pids, int& status) {
    std::set<std::string> seen;
    for (;;) {
        for (const auto& a : listening(pids())) seen.insert(a);
        int s = 0;
        if (waitpid(pid, &s, WNOHANG) == pid) {
            status = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
            return seen;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
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

TEST_CASE("the rendezvous listens on MASTER_ADDR alone: --nproc's on 127.0.0.1", "[torch][distributed]") {
    TempDir dir;
    // --nproc 2: the launcher's children (the ranks) listen on the loopback address only:
    // the store on rank 0, Gloo's connections on both.
    const std::string cmd = fmt::format(
        "exec env -u SIGX_PLUGIN_PATH {} run -q {} --nproc 2 --out {} >{} 2>&1", quote(sigx::test::sigx_exe().string()),
        small_pipeline(6), quote((dir.path() / "nproc").string()), quote((dir.path() / "nproc.log").string()));
    const pid_t launcher = fork();
    if (launcher == 0) {
        execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = -1;
    auto seen = listening_until_exit(
        launcher, [&] { return children(launcher); }, status);
    INFO(read_text(dir.path() / "nproc.log"));
    REQUIRE(status == 0);
    REQUIRE(!seen.empty());
    for (const auto& a : seen) CHECK_THAT(a, Catch::Matchers::StartsWith("127.0.0.1:"));

    // Ranks started by hand with MASTER_ADDR = 127.0.0.2: the store listens there, on its
    // port, and nowhere else.
    const int port = sigx::host::free_loopback_port();
    const std::string args = small_pipeline(6) + " --out " + quote((dir.path() / "runs").string());
    const pid_t r0 = start_rank(0, port, args, dir.path() / "r0.log", "127.0.0.2");
    const pid_t r1 = start_rank(1, port, args, dir.path() / "r1.log", "127.0.0.2");
    seen = listening_until_exit(
        r0,
        [&] {
            return std::set<pid_t>{r0, r1};
        },
        status);
    INFO(read_text(dir.path() / "r0.log"));
    CHECK(wait_exit(r1) == 0);
    REQUIRE(status == 0);
    CHECK(seen.count(fmt::format("127.0.0.2:{}", port)) == 1);
    for (const auto& a : seen) CHECK_THAT(a, Catch::Matchers::StartsWith("127.0.0.2:"));
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
