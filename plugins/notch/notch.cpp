// notch: IIR notch filters at each tone, as scipy.signal designs them (iirnotch), or a
// comb per harmonic family (iircomb: notches at every multiple of the fundamental), Q from
// the task's tolerance; causal (it streams) or forward-backward over the whole record
// (zero phase, non-causal). Each component's output is what its filter removes, so the
// components sum to the removed lines (the filters: ../classical/line_filters.hpp). Fits
// nothing.
#include "../classical/line_filters.hpp"

#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <optional>

namespace {

class Notch final : public sigx::Model, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "notch",
            .version = "1.0.0",
            .description =
                "IIR notch (scipy iirnotch) at each tone or comb (iircomb) per harmonic family, Q from the tolerance; "
                "causal or zero-phase forward-backward",
            .params =
                {ParamSpec::string("filter", "notch")
                     .one_of({"notch", "comb"})
                     .help("notch: a second-order notch at each tone, in cascade; comb: one comb per family at its "
                           "fundamental (every multiple up to Nyquist; the sample rate a whole multiple of it), split "
                           "between the family's tones by their notches"),
                 ParamSpec::real("q", 0.0).at_least(0.0).help(
                     "quality factor: frequency / (-3 dB bandwidth); 0: from each tone's tolerance, the band spanning "
                     "it on either side (q = f / (2 tolerance)), 30 for a tone with none"),
                 ParamSpec::boolean("zero_phase", false)
                     .help("false: causal (streams); true: forward and backward over each whole record, as "
                           "scipy.signal.filtfilt (non-causal, no delay)")},
            .follows_drift = true};  // its band spans the tolerance
    }

    explicit Notch(const sigx::Params& p)
        : q_(p.real("q")), comb_(p.string("filter") == "comb"), zero_phase_(p.boolean("zero_phase")) {}

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {!zero_phase_, sigx::ModelNature::Method::classical,
                                std::string(comb_ ? "comb filters" : "notch filters") +
                                    (zero_phase_ ? ", forward-backward" : "")});
        if (id == sigx::model_state_id) return &sigx::no_fitted_state();
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        const auto design = sigx::classical::design_notches(task, input.sample_rate, q_, comb_);
        return {sigx::classical::notch_components(input, design, zero_phase_)};
    }

    std::size_t configure(const sigx::StreamConfig& config) override {
        if (zero_phase_)
            throw std::runtime_error(
                "zero_phase = true also filters each record backwards, so each estimate depends on "
                "later samples (non-causal); zero_phase = false streams");
        if (config.channels != 1)
            throw std::runtime_error(fmt::format("notch reads one input channel, the stream has {}", config.channels));
        filter_.emplace(sigx::classical::design_notches(config.task, config.sample_rate, q_, comb_));
        y_.resize(config.task.size());
        return 0;
    }
    void reset() override { filter_->reset(); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            filter_->push(in.channels[0][t], y_.data());
            for (std::size_t k = 0; k < y_.size(); ++k) out.channels[k][t] = y_[k];
        }
    }
    void flush(const sigx::Block&) override {}

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    double q_;
    bool comb_, zero_phase_;
    std::optional<sigx::classical::NotchFilter> filter_;
    std::vector<double> y_;
};

}  // namespace

SIGX_PLUGIN(Notch)
