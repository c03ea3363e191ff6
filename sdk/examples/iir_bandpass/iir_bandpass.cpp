// example.iir_bandpass: a causal, non-learned extractor. Each component is the mix
// through a cascade of band-pass biquads (RBJ cookbook, 0 dB peak) centred on the
// component's frequency, which passes it with zero phase at the centre and attenuates the
// others; the result is divided by the component's mix gain.
#include <sigx/sigx.hpp>

#include <cmath>

namespace {

class IirBandpass final : public sigx::Model {
public:
    static sigx::Descriptor describe() {
        return {.name = "example.iir_bandpass",
                .version = "0.1.0",
                .description = "causal cascade of band-pass biquads centred on each component's frequency",
                .params = {
                    sigx::ParamSpec::real("q", 4.0).positive().help("quality factor: centre frequency / bandwidth"),
                    sigx::ParamSpec::integer("sections", 2).range(1, 8).help("biquads in cascade (sharper, slower)")}};
    }
    explicit IirBandpass(const sigx::Params& p) : q_(p.real("q")), sections_(p.integer("sections")) {}

    sigx::Prediction predict(const sigx::Input& s, const sigx::Task& task, sigx::Host&) override {
        sigx::Prediction out;
        for (const auto& c : task.components) {
            if (c.frequency >= s.sample_rate / 2) throw std::runtime_error("component at or above Nyquist");
            const double w0 = 2 * M_PI * c.frequency / s.sample_rate, alpha = std::sin(w0) / (2 * q_);
            const double a0 = 1 + alpha, b0 = alpha / a0, b2 = -alpha / a0, a1 = -2 * std::cos(w0) / a0,
                         a2 = (1 - alpha) / a0;
            sigx::Samples y = s.channels.at(0);
            for (std::int64_t k = 0; k < sections_; ++k) {
                double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
                for (double& v : y) {
                    const double x = v, r = b0 * x + b2 * x2 - a1 * y1 - a2 * y2;
                    x2 = x1, x1 = x, y2 = y1, y1 = r;
                    v = r;
                }
            }
            for (double& v : y) v /= c.gain;
            out.components.push_back(std::move(y));
        }
        return out;
    }

private:
    double q_;
    std::int64_t sections_;
};

}  // namespace

SIGX_PLUGIN(IirBandpass)
