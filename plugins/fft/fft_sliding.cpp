// fft.sliding: the causal FFT baseline. A sliding DFT evaluated at each component's
// frequency: the estimate at sample t uses only the last `window` samples (samples before
// the record's start count as zeros), so an LSTM with the same context and this baseline
// see the same data.
// One running sum per component: O(1) per sample, whatever the window.
#include "../classical/phasor.hpp"

#include <sigx/register.hpp>

#include <complex>

namespace {

class FftSliding final : public sigx::Model {
public:
    static sigx::Descriptor describe() {
        return {"fft.sliding",
                sigx::Kind::model,
                "1.0.0",
                "causal sliding DFT at each component's frequency over the last `window` samples",
                {sigx::ParamSpec::integer("window", 1000)
                     .range(1, 100000000)
                     .help("samples per estimate; a whole number of periods of every component avoids leakage")},
                false};
    }

    explicit FftSliding(const sigx::Params& p) : window_(static_cast<std::size_t>(p.integer("window"))) {}

    void* extension(std::string_view id) override {
        return id == sigx::model_state_id ? &sigx::no_fitted_state() : nullptr;
    }

    sigx::Prediction predict(const sigx::Input& s, const sigx::Task& task, sigx::Host&) override {
        const std::size_t n = s.size();
        const sigx::Samples& mix = s.channels.at(0);
        sigx::Prediction out;
        std::vector<std::complex<double>> ring(std::min(window_, n));  // a window past the record never drops a sample
        for (const auto& c : task.components) {
            // X(t) = sum over the window of x[m] e^{-i w t_m}; for x = a sin(w t + phi),
            // 2 X(t) e^{i w t} / N = -i a e^{i (w t + phi)}, whose real part is the sample.
            sigx::classical::Phasor z(c.frequency, s.sample_rate, s.start_time);
            std::complex<double> x = 0;
            sigx::Samples& y = out.components.emplace_back(n);
            for (std::size_t t = 0; t < n; ++t) {
                const std::size_t slot = t % window_;
                const std::complex<double> p = mix[t] * z.value();
                if (t >= window_) x -= ring[slot];
                ring[slot] = p;
                x += p;
                y[t] = (2.0 * x * std::conj(z.value())).real() / (static_cast<double>(window_) * c.gain);
                z.advance();
            }
        }
        return out;
    }

private:
    std::size_t window_;
};

}  // namespace

SIGX_PLUGIN(FftSliding)
