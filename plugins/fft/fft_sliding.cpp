// fft.sliding: the causal FFT baseline. A sliding DFT evaluated at each component's
// frequency: the estimate at sample t uses only the last `window` samples (samples before
// the record's start count as zeros), so an LSTM with the same context and this baseline
// see the same data.
// One running sum per component: O(1) per sample, whatever the window. It streams
// (sigx/stream.hpp) with no latency; whole-record prediction is the same stream.
#include "../classical/phasor.hpp"

#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <complex>

namespace {

class FftSliding final : public sigx::Model, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        return {
            .name = "fft.sliding",
            .version = "1.0.0",
            .description = "causal sliding DFT at each component's frequency over the last `window` samples",
            .params = {sigx::ParamSpec::integer("window", 1000)
                           .range(1, 100000000)
                           .help("samples per estimate; a whole number of periods of every component avoids leakage")}};
    }

    explicit FftSliding(const sigx::Params& p) : window_(static_cast<std::size_t>(p.integer("window"))) {}

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {true, sigx::ModelNature::Method::classical, "sliding DFT over the last window"});
        if (id == sigx::model_state_id) return &sigx::no_fitted_state();
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    sigx::Prediction predict(const sigx::Input& s, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, s, task);
    }

    // Causal with no latency: the estimate at a sample uses the samples up to it.
    std::size_t configure(const sigx::StreamConfig& config) override {
        tones_.clear();
        for (const auto& c : config.task.components)
            tones_.push_back(
                {sigx::classical::Phasor(c.frequency, config.sample_rate, config.start_time), 1.0 / c.gain});
        config_ = config;
        reset();
        return 0;
    }
    void reset() override {
        for (std::size_t k = 0; k < tones_.size(); ++k) {
            const auto& c = config_.task.components[k];
            tones_[k].z = sigx::classical::Phasor(c.frequency, config_.sample_rate, config_.start_time);
            tones_[k].sum = 0;
            tones_[k].ring.clear();  // grows to the window over its first samples, then stays
            tones_[k].ring.reserve(std::min<std::size_t>(window_, 1 << 16));
        }
        t_ = 0;
    }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        const double* mix = in.channels[0];
        const double scale = 2.0 / static_cast<double>(window_);
        for (std::size_t k = 0; k < tones_.size(); ++k) {
            // X(t) = sum over the window of x[m] e^{-i w t_m}; for x = a sin(w t + phi),
            // 2 X(t) e^{i w t} / N = -i a e^{i (w t + phi)}, whose real part is the sample.
            Tone& tone = tones_[k];
            double* y = out.channels[k];
            std::size_t t = t_;
            for (std::size_t i = 0; i < in.frames; ++i, ++t) {
                const std::complex<double> p = mix[i] * tone.z.value();
                if (t < window_) {
                    tone.ring.push_back(p);
                } else {
                    std::complex<double>& slot = tone.ring[t % window_];
                    tone.sum -= slot;
                    slot = p;
                }
                tone.sum += p;
                y[i] = (tone.sum * std::conj(tone.z.value())).real() * scale * tone.inverse_gain;
                tone.z.advance();
            }
        }
        t_ += in.frames;
    }
    void flush(const sigx::Block&) override {}

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    struct Tone {
        sigx::classical::Phasor z;  // e^{-i w t} at the newest sample
        double inverse_gain = 1;
        std::complex<double> sum = 0;
        std::vector<std::complex<double>> ring{};  // the window's products, to drop them as it slides
    };
    std::size_t window_;
    sigx::StreamConfig config_;
    std::vector<Tone> tones_;
    std::size_t t_ = 0;  // samples since the stream's start
};

}  // namespace

SIGX_PLUGIN(FftSliding)
