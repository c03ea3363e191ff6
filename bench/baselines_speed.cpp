// Speed of the classical baselines on the flagship record (four sinusoids, 10 s at 1 kHz),
// one core, best of several repeats, printed beside the targets:
//   fft.block: well under a millisecond per record;
//   fft.sliding, lsq sliding: >= 10 million samples per second per component.
// Usage: build/bench/sigx_bench_baselines [repeats]
#include <sigx/host/loader.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

using namespace sigx;

namespace {

class QuietHost final : public Host {
public:
    void log(LogLevel, std::string_view) override {}
    std::filesystem::path output_dir() override { return std::filesystem::temp_directory_path(); }
    void progress(const Progress&) override {}
    bool cancelled() const override { return false; }
    std::uint64_t seed() const override { return 1; }
};

template <class Base>
std::shared_ptr<Base> make(const host::Registry& r, const std::string& name, Kind kind, Params p = {}) {
    const auto& info = r.require(name, kind);
    return r.create<Base>(info, Params::with_defaults(info.descriptor->params, std::move(p)));
}

}  // namespace

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
    host::Registry registry;
    // build/bench/this -> the plugins next to build/sigx
    registry.add_path(
        host::builtin_plugin_dir(std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "sigx"));
    QuietHost host;
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
        double best = 1e30;
        for (int i = 0; i < repeats; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            const Prediction p = model->predict(record.input, record.task, host);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            if (p.components.size() != record.task.size()) return 1;
        }
        const double rate = samples * components / best;
        const bool met = c.target_value == 0 || (c.per_second ? rate >= c.target_value : best <= c.target_value);
        fmt::print("{:<28} {:>12.4f} {:>22.3e}   {} {}\n", c.label, best * 1e3, rate, c.target,
                   c.target_value == 0 ? "" : (met ? "[met]" : "[NOT met]"));
    }
}
