// The gradient all-reduce's cost alone, as the torch trainer does it (one flat float32
// bucket, c10d's Gloo process group, summed): 2 ranks on this machine over the loopback
// address, both ready at once, for the buckets of the shipped LSTMs and larger ones.
// Median and 90th percentile of 200 all-reduces after 20 warm-up ones.
//   build/bench/sigx_bench_allreduce
#include "../plugins/torch_trainer/ranks.hpp"

#include <sigx/host/world.hpp>

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

int main() {
    const int port = sigx::host::free_loopback_port();
    const pid_t child = ::fork();
    const int rank = child == 0 ? 1 : 0;
    ::setenv("RANK", std::to_string(rank).c_str(), 1);
    ::setenv("WORLD_SIZE", "2", 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    torch::set_num_threads(1);
    auto ranks = sigx::torch_trainer::Ranks::join(std::chrono::seconds(30));
    if (rank == 0)
        fmt::print(
            "all-reduce (sum) of one float32 bucket, 2 ranks on this machine over Gloo (loopback)\n"
            "{:>10} {:>10} {:>12} {:>12} {:>14}\n",
            "floats", "bytes", "median us", "p90 us", "GB/s");
    struct Size {
        std::int64_t floats;
        const char* what;
    };
    for (const Size size : {Size{1, "latency"}, Size{21131, "lstm_stateful, quickstart (hidden 64)"},
                            Size{43551, "lstm_bidirectional (hidden 64)"}, Size{1 << 20, "a 1M-parameter model"},
                            Size{1 << 23, "an 8M-parameter model"}}) {
        auto bucket = torch::ones({size.floats});
        std::vector<double> us;
        for (int i = 0; i < 220; ++i) {
            auto go = torch::zeros({1});
            ranks->sum(go, "a barrier");  // both ranks start together
            const auto t0 = std::chrono::steady_clock::now();
            ranks->sum(bucket, "the all-reduce");
            if (i >= 20)
                us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(us.begin(), us.end());
        const double median = us[us.size() / 2], p90 = us[us.size() * 9 / 10];
        const double bytes = 4.0 * static_cast<double>(size.floats);
        if (rank == 0)
            fmt::print("{:>10} {:>10.0f} {:>12.0f} {:>12.0f} {:>14.3f}  {}\n", size.floats, bytes, median, p90,
                       bytes / (median * 1e-6) / 1e9, size.what);
    }
    ranks.reset();
    if (child > 0) ::waitpid(child, nullptr, 0);
    return 0;
}
