// example.lockin: a causal model with both optional model extensions, the way a plugin
// offers them.
//  - The extractor: a lock-in amplifier per component. The mix is turned down by the
//    component's frequency (x e^{-i w t}) and low-passed by one pole of time constant
//    `tau`; the result, turned back up, is the component's estimate, times a complex gain
//    (gain and phase) per component that fit() finds by least squares on the training
//    records (a calibration, like the built-in lsq and kalman models').
//  - sigx.model.stream/1 (sigx/stream.hpp): causal, no latency, so predict() is
//    predict_by_streaming() and batch and stream cannot disagree.
//  - sigx.model.state/1 (sigx/plugin.hpp): the fitted gains, written with
//    sigx::write_file_atomic (never half a file) in hexadecimal floating point (read back
//    bit for bit), and read back refusing anything that is not exactly that.
// extension() returns each interface as `static_cast<Interface*>(this)` before it becomes
// a void*: the host casts the void* back to that interface, so the cast must be to it.
#include <sigx/sigx.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Complex = std::complex<double>;

class Lockin final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        return {.name = "example.lockin",
                .version = "0.1.0",
                .description = "lock-in amplifier per component, calibrated on the training records; streams",
                .params = {sigx::ParamSpec::real("tau", 0.5)
                               .positive()
                               .help("s: the low-pass time constant (longer: less noise, slower to follow)")}};
    }
    explicit Lockin(const sigx::Params& p) : tau_(p.real("tau")) {}

    void* extension(std::string_view id) override {
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        return nullptr;
    }

    // Least squares of the truth on the uncalibrated estimate's real and imaginary parts.
    void fit(const sigx::Records& train, sigx::Host& host) override {
        const std::size_t k = train.at(0).task.size();
        std::vector<double> srr(k), sii(k), sri(k), syr(k), syi(k);
        for (const auto& r : train) {
            if (!r.truth) throw std::runtime_error("record '" + r.input.name + "' has no truth to calibrate on");
            const auto w = demodulated(r.input, r.task);
            for (std::size_t c = 0; c < k; ++c)
                for (std::size_t n = 0; n < r.size(); ++n) {
                    const double re = w[c][n].real(), im = -w[c][n].imag(), y = r.truth->references[c][n];
                    srr[c] += re * re, sii[c] += im * im, sri[c] += re * im, syr[c] += y * re, syi[c] += y * im;
                }
        }
        gains_.clear();
        for (std::size_t c = 0; c < k; ++c) {
            const double det = srr[c] * sii[c] - sri[c] * sri[c];
            if (!(std::abs(det) > 0)) throw std::runtime_error("the training records carry no signal to calibrate on");
            gains_.emplace_back((syr[c] * sii[c] - syi[c] * sri[c]) / det, (srr[c] * syi[c] - sri[c] * syr[c]) / det);
            host.info(train[0].task.components[c].label + ": gain " + std::to_string(std::abs(gains_.back())));
        }
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, input, task);
    }

    // Streaming: allocate here, never per block.
    std::size_t configure(const sigx::StreamConfig& config) override {
        if (config.channels != 1) throw std::runtime_error("example.lockin reads one input channel");
        if (gains_.size() != config.task.size())
            throw std::runtime_error(gains_.empty() ? "the model has not been fitted"
                                                    : "fitted for another number of components");
        keep_ = std::exp(-1.0 / (tau_ * config.sample_rate));
        step_.clear(), start_.clear();
        for (const auto& c : config.task.components) {
            const double w = 2 * M_PI * c.frequency / config.sample_rate;
            step_.push_back(std::polar(1.0, w));
            start_.push_back(std::polar(1.0, 2 * M_PI * c.frequency * config.start_time));
        }
        reset();
        return 0;  // latency: output n is the estimate for input n
    }
    void reset() override {
        z_ = start_;
        mean_.assign(z_.size(), 0.0);
        n_ = 0;
    }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            const double x = in.channels[0][t];
            for (std::size_t c = 0; c < z_.size(); ++c) {
                mean_[c] = keep_ * mean_[c] + (1 - keep_) * x * std::conj(z_[c]);  // low-passed x e^{-i w t}
                out.channels[c][t] = (gains_[c] * 2.0 * mean_[c] * z_[c]).real();
                z_[c] *= step_[c];
                if ((n_ & 1023) == 0) z_[c] /= std::abs(z_[c]);  // keep |z| = 1 against rounding
            }
            ++n_;
        }
    }
    void flush(const sigx::Block&) override {}  // no latency: nothing held back

    // Saved state: the gains, in a file of our own in `dir`.
    std::vector<std::string> state_params() const override { return {"tau"}; }
    void save_state(const std::filesystem::path& dir) override {
        std::string text = std::to_string(gains_.size()) + "\n";
        char line[80];
        for (const auto& g : gains_) {
            std::snprintf(line, sizeof line, "%a %a\n", g.real(), g.imag());
            text += line;
        }
        sigx::write_file_atomic(dir / "gains.txt", text);
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        const auto file = dir / "gains.txt";
        std::ifstream in(file);
        std::size_t n = 0;
        if (!(in >> n) || n != components)
            throw std::runtime_error(file.string() + ": not the gains of " + std::to_string(components) +
                                     " components");
        std::vector<Complex> gains;
        for (std::string re, im; gains.size() < n && in >> re >> im;) {
            char *end_re = nullptr, *end_im = nullptr;
            const double a = std::strtod(re.c_str(), &end_re), b = std::strtod(im.c_str(), &end_im);
            if (*end_re || *end_im || !std::isfinite(a) || !std::isfinite(b))
                throw std::runtime_error(file.string() + ": a gain that is not a finite number");
            gains.emplace_back(a, b);
        }
        if (gains.size() != n) throw std::runtime_error(file.string() + ": ends before its last gain");
        gains_ = std::move(gains);
    }

private:
    // The uncalibrated analytic estimate, 2 (low-passed x e^{-i w t}) e^{i w t}: what fit()
    // calibrates, computed the way the stream computes it.
    std::vector<std::vector<Complex>> demodulated(const sigx::Input& input, const sigx::Task& task) const {
        const double keep = std::exp(-1.0 / (tau_ * input.sample_rate));
        std::vector<std::vector<Complex>> w(task.size(), std::vector<Complex>(input.size()));
        for (std::size_t c = 0; c < task.size(); ++c) {
            const double omega = 2 * M_PI * task.components[c].frequency / input.sample_rate;
            Complex mean = 0;
            for (std::size_t n = 0; n < input.size(); ++n) {
                const Complex z = std::polar(
                    1.0, omega * static_cast<double>(n) + 2 * M_PI * task.components[c].frequency * input.start_time);
                mean = keep * mean + (1 - keep) * input.channels.at(0)[n] * std::conj(z);
                w[c][n] = 2.0 * mean * z;
            }
        }
        return w;
    }

    double tau_;
    std::vector<Complex> gains_, step_, start_, z_, mean_;
    double keep_ = 0;
    std::size_t n_ = 0;
};

}  // namespace

SIGX_PLUGIN(Lockin)
