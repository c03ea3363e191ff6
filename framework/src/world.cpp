#include <sigx/host/errors.hpp>
#include <sigx/host/services.hpp>
#include <sigx/host/world.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

namespace sigx::host {
namespace {

// The (rank, size) variable pairs of each launcher, in the order they are trusted.
constexpr std::pair<const char*, const char*> world_vars[] = {
    {"RANK", "WORLD_SIZE"}, {"SLURM_PROCID", "SLURM_NTASKS"}, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}};
constexpr std::pair<const char*, const char*> local_vars[] = {
    {"LOCAL_RANK", "LOCAL_WORLD_SIZE"},
    {"SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
    {"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"}};
constexpr std::pair<const char*, const char*> shard_vars[] = {{"RANK", "WORLD_SIZE"},
                                                              {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"},
                                                              {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}};

long whole_number(const std::string& text, const std::string& name) {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end || v < 0 || v > 1000000)
        throw ConfigError({name}, fmt::format("must be a whole number, got '{}'", text));
    return v;
}

// K/N with 0 <= K < N, from two texts; `from` names them in an error, `what` is "a rank"
// or "a shard".
std::pair<int, int> rank_of(const std::string& k, const std::string& n, const std::string& from,
                            const char* what = "a rank") {
    const long a = whole_number(k, from), b = whole_number(n, from);
    if (b < 1 || a >= b) throw ConfigError({from}, fmt::format("{} is K/N with 0 <= K < N, got {}/{}", what, k, n));
    return {static_cast<int>(a), static_cast<int>(b)};
}

// The first pair of `vars` that is set in the environment, as (rank, size, "NAME/NAME").
template <std::size_t N>
std::optional<std::tuple<int, int, std::string>> from_env(const std::pair<const char*, const char*> (&vars)[N],
                                                          const char* what = "a rank") {
    for (const auto& [k, n] : vars) {
        const char *a = std::getenv(k), *b = std::getenv(n);
        if (!a || !b) continue;
        const std::string from = fmt::format("{}/{}", k, n);
        const auto [rank, size] = rank_of(a, b, from, what);
        return std::tuple{rank, size, from};
    }
    return std::nullopt;
}

std::string exit_text(int status) {
    if (WIFSIGNALED(status))
        return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace

World world_from_env() {
    World w;
    const auto world = from_env(world_vars);
    if (!world) return w;
    std::tie(w.rank, w.size, w.source) = *world;
    if (w.size == 1) return w;
    if (const auto local = from_env(local_vars)) std::tie(w.local_rank, w.local_size, std::ignore) = *local;
    const char* addr = std::getenv("MASTER_ADDR");
    if (!addr || !*addr)
        throw ConfigError({w.source}, fmt::format("a run of {} processes (rank {} from {}) needs MASTER_ADDR: the "
                                                  "address of rank 0's machine, where the ranks meet",
                                                  w.size, w.rank, w.source));
    w.master_addr = addr;
    if (const char* port = std::getenv("MASTER_PORT")) {
        w.master_port = static_cast<int>(whole_number(port, "MASTER_PORT"));
        if (w.master_port < 1 || w.master_port > 65535)
            throw ConfigError({"MASTER_PORT"}, fmt::format("is a TCP port, 1 to 65535, got {}", port));
    }
    return w;
}

void export_world(const World& w) {
    ::setenv("RANK", std::to_string(w.rank).c_str(), 1);
    ::setenv("WORLD_SIZE", std::to_string(w.size).c_str(), 1);
    ::setenv("LOCAL_RANK", std::to_string(w.local_rank).c_str(), 1);
    ::setenv("LOCAL_WORLD_SIZE", std::to_string(w.local_size).c_str(), 1);
    ::setenv("MASTER_ADDR", w.master_addr.c_str(), 1);
    ::setenv("MASTER_PORT", std::to_string(w.master_port).c_str(), 1);
}

void clear_launcher_env() {
    for (const auto* vars : {world_vars, local_vars, shard_vars})
        for (std::size_t i = 0; i < std::size(world_vars); ++i) ::unsetenv(vars[i].first), ::unsetenv(vars[i].second);
    ::unsetenv("MASTER_ADDR");
    ::unsetenv("MASTER_PORT");
}

std::pair<int, int> sweep_shard(const std::string& given) {
    if (!given.empty()) {
        const auto slash = given.find('/');
        if (slash == std::string::npos) throw ConfigError({"--shard"}, "a shard is K/N, e.g. --shard 0/4");
        return rank_of(given.substr(0, slash), given.substr(slash + 1), "--shard", "a shard");
    }
    if (const auto s = from_env(shard_vars, "a shard")) return {std::get<0>(*s), std::get<1>(*s)};
    return {0, 0};
}

int free_loopback_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (s >= 0) ::close(s);
        throw std::runtime_error("no free TCP port on the loopback address for a rendezvous");
    }
    ::close(s);
    return ntohs(a.sin_port);
}

int run_local_ranks(const std::vector<std::string>& args, int nproc, Console& console) {
    const int port = free_loopback_port();
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const std::string threads = std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc)));
    std::map<pid_t, int> ranks;  // running children
    for (int rank = 0; rank < nproc; ++rank) {
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("--nproc: fork failed");
        if (pid == 0) {
            ::setpgid(0, 0);  // a Ctrl-C reaches the launcher alone, which passes one SIGTERM on
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            export_world({rank, nproc, rank, nproc, "127.0.0.1", port, "--nproc"});
            ::setenv("OMP_NUM_THREADS", threads.c_str(), 0);
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            _exit(127);
        }
        track_child(pid);
        ranks[pid] = rank;
    }
    console.log(
        LogLevel::info, "sigx",
        fmt::format("{} ranks on this machine, rendezvous at 127.0.0.1:{}, {} thread(s) each", nproc, port, threads));
    int result = 0;
    bool rank0_failed = false;
    while (!ranks.empty()) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        const auto it = ranks.find(pid);
        if (it == ranks.end()) continue;
        untrack_child(pid);
        const int rank = it->second, code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ranks.erase(it);
        if (code == 0) continue;
        if (WIFSIGNALED(status) || code == 127)
            console.log(LogLevel::error, "sigx", fmt::format("rank {} (pid {}) {}", rank, pid, exit_text(status)));
        if (rank == 0) result = code, rank0_failed = true;
        if (!rank0_failed && result == 0) result = code;
    }
    return result;
}

}  // namespace sigx::host
