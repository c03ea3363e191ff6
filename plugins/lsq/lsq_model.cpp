// lsq: least-squares fit of a sine and a cosine at every known frequency, jointly, over
// the whole record (non-causal) or over a causal sliding window, optionally calibrated on
// the training records (a gain and a phase per component). With calibration this is the
// near-optimal classical estimator: it removes the mean phase offset of the noise that a
// plain FFT keeps.
#include "../classical/lsq.hpp"

#include <sigx/register.hpp>

#include <fmt/format.h>

namespace {

class Lsq final : public sigx::Model {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {"lsq",
                sigx::Kind::model,
                "1.0.0",
                "least-squares sine/cosine fit at the known frequencies, whole record or causal window, calibrated",
                {ParamSpec::string("mode", "block")
                     .one_of({"block", "sliding"})
                     .help("block: one fit over the whole record (non-causal); sliding: the last `window` samples"),
                 ParamSpec::integer("window", 1000).range(2, 100000000).help("sliding window length in samples"),
                 ParamSpec::real("ridge", 0.01)
                     .at_least(0.0)
                     .help("Tikhonov regularisation (squared mix units): tames the first samples of a causal window"),
                 ParamSpec::boolean("calibrate", true)
                     .help("fit a gain and phase per component on the training records (else divide by the mix gain)")},
                false};
    }

    explicit Lsq(const sigx::Params& p)
        : options_{p.string("mode") == "sliding" ? static_cast<std::size_t>(p.integer("window")) : 0, p.real("ridge")},
          calibrate_(p.boolean("calibrate")) {}

    void fit(const sigx::Records& train, sigx::Host& host) override {
        if (!calibrate_) return;
        gains_ = sigx::classical::fit_calibration(train, options_);
        const auto& task = train.front().task;
        for (std::size_t k = 0; k < gains_.size(); ++k)
            host.info(fmt::format("calibration {}: gain {:.5f}, phase {:+.5f} rad", task.components[k].label,
                                  std::abs(gains_[k]) * task.components[k].gain, std::arg(gains_[k])));
    }

    sigx::Prediction predict(const sigx::Input& record, const sigx::Task& task, sigx::Host&) override {
        if (calibrate_ && gains_.size() != task.size())
            throw std::runtime_error(
                fmt::format("calibrated for {} components, the record has {}", gains_.size(), task.size()));
        return sigx::classical::lsq_predict(record, task, options_, calibrate_ ? &gains_ : nullptr);
    }

private:
    sigx::classical::LsqOptions options_;
    bool calibrate_;
    std::vector<std::complex<double>> gains_;
};

}  // namespace

SIGX_PLUGIN(Lsq)
