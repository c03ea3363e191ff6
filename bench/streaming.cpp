// Streaming throughput of the causal models (sigx/stream.hpp), one thread, on a 60-s
// record at 16 kHz with three components (50/100/150 Hz, the hum task's shape: harmonics
// of 50 Hz, +-1 Hz tolerance, the grid walking by 0.05 Hz), printed beside the targets:
//   lsq sliding, fft.sliding (window 3200):        >= 1000x real time
//   tracker, notch, comb, lms (the line-removal models that follow drift): >= 1000x
//   multitaper (non-causal: whole-record predict):  >= 100x
//   lstm.stateful (hidden 64, samples_per_step 10): >= 20x real time, beside LibTorch's
//     own LSTM on the same weights (inference = "torch", whole record)
//   streaming in blocks of 256 against whole-record predict: <= 10% overhead.
// Best of several repeats; run with nothing else busy (OMP_NUM_THREADS=1 is set by the
// torch trainer's threads = 1 here).
// Usage: build/bench/sigx_bench_streaming [repeats]
#include "bench_support.hpp"

#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <cstdlib>

using namespace sigx;
using sigx::bench::make;

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
    const host::Registry registry = bench::builtin_registry();
    bench::QuietHost host;
    auto data = [&](double seconds) {
        Params p;
        p.set("frequencies", RealList{50.0, 100.0, 150.0});
        p.set("sample_rate", 16000.0);
        p.set("duration", seconds);
        p.set("phase_scale", 0.01);
        p.set("unseen_records", std::int64_t{0});
        p.set("tolerance", 1.0);
        p.set("drift", std::string("walk"));
        p.set("drift_hz", 0.05);
        p.set("drift_time", 2.0);
        return make<Generator>(registry, "noisy_sinusoid", Kind::generator, p)->generate(host);
    };
    const Dataset train = data(2.0), test = data(60.0);
    const Record& record = test.tests.front().records.front();
    const double seconds = static_cast<double>(record.size()) / record.input.sample_rate;

    struct Case {
        std::string label, plugin;
        Params params;
        double target;  // x real time
    };
    const Params lstm({{"hidden", std::int64_t{64}}, {"samples_per_step", std::int64_t{10}}});
    const std::vector<Case> cases = {
        {"fft.sliding (window 3200)", "fft.sliding", Params({{"window", std::int64_t{3200}}}), 1000},
        {"lsq sliding (window 3200)", "lsq", Params({{"mode", std::string("sliding")}, {"window", std::int64_t{3200}}}),
         1000},
        {"tracker", "tracker", {}, 1000},
        {"notch", "notch", {}, 1000},
        {"notch (comb)", "notch", Params({{"filter", std::string("comb")}}), 1000},
        {"lms", "lms", {}, 1000},
        {"multitaper (non-causal)", "multitaper", {}, 100},
        {"lstm.stateful (hidden 64, spp 10)", "lstm.stateful", lstm, 20},
    };
    auto trainer = make<Trainer>(registry, "torch", Kind::trainer,
                                 Params({{"epochs", std::int64_t{1}}, {"threads", std::int64_t{1}}}));
    fmt::print("record: {:.0f} s at 16 kHz, {} components; best of {} runs, one thread\n\n", seconds,
               record.task.size(), repeats);
    fmt::print("{:<34} {:>14} {:>14} {:>10}   {}\n", "model", "stream x RT", "predict x RT", "overhead", "target");
    for (const auto& c : cases) {
        auto model = make<Model>(registry, c.plugin, Kind::model, c.params);
        if (c.plugin == "lstm.stateful")
            trainer->train(*model, train.train, host);  // weights do not change the speed: one epoch
        else
            model->fit(train.train, host);
        const double whole = bench::best_seconds(repeats, [&] { model->predict(record.input, record.task, host); });
        if (!streaming(*model)) {  // non-causal: whole-record prediction only
            const double rt = seconds / whole;
            fmt::print("{:<34} {:>14} {:>13.0f}x {:>10}   >= {:.0f}x {}\n", c.label, "", rt, "", c.target,
                       rt >= c.target ? "[met]" : "[NOT met]");
            continue;
        }
        Streaming& s = *streaming(*model);
        const std::size_t block = 256, n = record.size(), k = record.task.size();
        std::vector<Samples> out(k, Samples(block));
        std::vector<double*> op;
        for (auto& o : out) op.push_back(o.data());
        const double stream = bench::best_seconds(repeats, [&] {
            s.configure(StreamConfig{record.input.sample_rate, 1, 0.0, record.task, block});
            s.reset();
            for (std::size_t done = 0; done < n; done += block) {
                const double* in = record.input.channels[0].data() + done;
                const std::size_t m = std::min(block, n - done);
                s.process(ConstBlock{&in, 1, m}, Block{op.data(), static_cast<std::uint32_t>(k), m});
            }
        });
        const double rt = seconds / stream;
        fmt::print("{:<34} {:>13.0f}x {:>13.0f}x {:>9.1f}%   >= {:.0f}x {}\n", c.label, rt, seconds / whole,
                   100.0 * (stream / whole - 1.0), c.target, rt >= c.target ? "[met]" : "[NOT met]");
        if (c.plugin == "lstm.stateful") {  // the same weights through LibTorch's LSTM
            const auto dir = std::filesystem::temp_directory_path() / fmt::format("sigx-bench-{}", ::getpid());
            std::filesystem::create_directories(dir);
            model_state(*model)->save_state(dir);
            Params p = c.params;
            p.set("inference", std::string("torch"));
            auto reference = make<Model>(registry, c.plugin, Kind::model, p);
            model_state(*reference)->load_state(dir, k);
            std::filesystem::remove_all(dir);
            const double libtorch =
                bench::best_seconds(repeats, [&] { reference->predict(record.input, record.task, host); });
            fmt::print("{:<34} {:>14} {:>13.0f}x {:>10}   (reference: LibTorch's LSTM, whole record, {:.1f} us/step)\n",
                       "  same weights, inference = torch", "", seconds / libtorch, "",
                       1e6 * libtorch / (static_cast<double>(n) / 10.0));
        }
    }
    fmt::print("\noverhead: streaming in blocks of 256 against whole-record predict (target <= 10%)\n");
}
