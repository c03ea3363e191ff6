// Speed of the classical baselines on the flagship record (four sinusoids, 10 s at 1 kHz),
// one core, best of several repeats, printed beside the targets:
//   fft.block: well under a millisecond per record;
//   fft.sliding, lsq sliding: >= 10 million samples per second per component.
// Usage: build/bench/sigx_bench_baselines [repeats]
#include "bench_support.hpp"

#include <fmt/format.h>

#include <cstdlib>

using namespace sigx;
using sigx::bench::make;

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
    const host::Registry registry = bench::builtin_registry();
    bench::QuietHost host;
    const Dataset data =
        make<Generator>(registry, "noisy_sinusoid", Kind::generator, Params({{"phase_scale", 0.01}}))->generate(host);
    const Record& record = data.tests.front().records.front();
    const double samples = static_cast<double>(record.size()), components = static_cast<double>(record.task.size());

    struct Case {
        std::string label, plugin;
        Params params;
        std::string target;
        double target_value;  // seconds per record (fft.block) or samples/s/component
        bool per_second;
    };
    const std::vector<Case> cases = {
        {"fft.block (whole record)", "fft.block", {}, "< 1 ms per record", 1e-3, false},
        {"fft.sliding (window 1000)", "fft.sliding", Params({{"window", std::int64_t{1000}}}),
         ">= 1e7 samples/s/component", 1e7, true},
        {"lsq sliding (window 1000)", "lsq", Params({{"mode", std::string("sliding")}, {"calibrate", false}}),
         ">= 1e7 samples/s/component", 1e7, true},
        {"lsq block (whole record)", "lsq", Params({{"calibrate", false}}), "(no target)", 0, true},
    };
    fmt::print("record: {} samples x {} components; best of {} runs, one thread\n\n", record.size(), record.task.size(),
               repeats);
    fmt::print("{:<28} {:>12} {:>22}   {}\n", "model", "ms/record", "samples/s/component", "target");
    for (const auto& c : cases) {
        auto model = make<Model>(registry, c.plugin, Kind::model, c.params);
        model->predict(record.input, record.task, host);  // warm-up: plans, caches
        const double best = bench::best_seconds(repeats, [&] {
            if (model->predict(record.input, record.task, host).components.size() != record.task.size()) std::abort();
        });
        const double rate = samples * components / best;
        const bool met = c.target_value == 0 || (c.per_second ? rate >= c.target_value : best <= c.target_value);
        fmt::print("{:<28} {:>12.4f} {:>22.3e}   {} {}\n", c.label, best * 1e3, rate, c.target,
                   c.target_value == 0 ? "" : (met ? "[met]" : "[NOT met]"));
    }
}
