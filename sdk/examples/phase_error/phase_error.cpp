// example.phase_error: how far each model's output lags or leads each clean component,
// in degrees, and its gain at the component's frequency: both read off the projections
// of prediction and target on a sine and a cosine at that frequency (pooled over the
// records of a test set).
#include <sigx/sigx.hpp>

#include <cmath>
#include <complex>

namespace {

class PhaseError final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "example.phase_error",
                .version = "0.1.0",
                .description =
                    "phase (degrees) and gain of each prediction against its component, at the component's frequency",
                .params = {sigx::ParamSpec::real("skip", 0.0)
                               .at_least(0.0)
                               .help("seconds skipped at each record's start (transients)")}};
    }
    explicit PhaseError(const sigx::Params& p) : skip_(p.real("skip")) {}

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host&) override {
        std::vector<sigx::Metric> out;
        for (std::size_t s = 0; s < data.tests.size(); ++s) {
            const auto& set = data.tests[s];
            if (set.records.empty()) continue;
            const sigx::Task& task = set.records.front().task;
            for (const auto& o : outputs)
                for (std::size_t c = 0; c < task.size(); ++c) {
                    std::complex<double> pred = 0, target = 0;
                    for (std::size_t r = 0; r < set.records.size(); ++r) {
                        const sigx::Record& rec = set.records[r];
                        if (!rec.truth) continue;  // nothing to compare with
                        const double fs = rec.input.sample_rate, w = 2 * M_PI * task.components[c].frequency;
                        const auto first = static_cast<std::size_t>(skip_ * fs);
                        for (std::size_t n = first; n < rec.size(); ++n) {
                            const auto z = std::polar(1.0, -w * static_cast<double>(n) / fs);
                            pred += o.predictions[s][r].components[c][n] * z;
                            target += rec.truth->references[c][n] * z;
                        }
                    }
                    if (target == 0.0) continue;  // no record with a truth
                    const std::complex<double> ratio = pred / target;
                    const std::string& label = task.components[c].label;
                    out.push_back({set.name, o.model, label, "phase_deg", std::arg(ratio) * 180 / M_PI});
                    out.push_back({set.name, o.model, label, "gain", std::abs(ratio)});
                }
        }
        return out;
    }

private:
    double skip_;
};

}  // namespace

SIGX_PLUGIN(PhaseError)
