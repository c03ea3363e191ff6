// fft.block: the whole-record (non-causal) FFT baseline. Transforms the record, keeps the
// bin of each component's frequency, transforms back and undoes the mix gain.
#include <sigx/register.hpp>

#include <fftw3.h>
#include <fmt/format.h>

#include <cmath>
#include <complex>
#include <mutex>

namespace {

// FFTW's planner is not thread-safe; execution with an existing plan is.
std::mutex& planner_mutex() {
    static std::mutex m;
    return m;
}

// FFTW keeps its planner's memory (twiddle tables, wisdom) until fftw_cleanup(). When the
// host unloads this library no instance, and so no plan, is left: release it then, or
// every run leaks it (LeakSanitizer reports it in the sanitizer build).
struct FftwCleanup {
    ~FftwCleanup() { fftw_cleanup(); }
} fftw_cleanup_at_unload;

// r2c and c2r plans for one length, built once and reused for every record of that length.
class RealFft {
public:
    ~RealFft() { reset(); }

    void prepare(std::size_t n, unsigned flags) {
        if (n == n_) return;
        reset();
        n_ = n;
        time_ = fftw_alloc_real(n);
        freq_ = fftw_alloc_complex(n / 2 + 1);
        std::lock_guard lock(planner_mutex());
        forward_ = fftw_plan_dft_r2c_1d(static_cast<int>(n), time_, freq_, flags);
        inverse_ = fftw_plan_dft_c2r_1d(static_cast<int>(n), freq_, time_, flags);
    }
    double* time() { return time_; }
    std::complex<double>* freq() { return reinterpret_cast<std::complex<double>*>(freq_); }
    std::size_t bins() const { return n_ / 2 + 1; }
    void forward() { fftw_execute(forward_); }
    void inverse() { fftw_execute(inverse_); }  // unnormalised: scales by n

private:
    void reset() {
        std::lock_guard lock(planner_mutex());
        if (forward_) fftw_destroy_plan(forward_);
        if (inverse_) fftw_destroy_plan(inverse_);
        fftw_free(time_);
        fftw_free(freq_);
        forward_ = inverse_ = nullptr;
        time_ = nullptr;
        freq_ = nullptr;
        n_ = 0;
    }
    std::size_t n_ = 0;
    double* time_ = nullptr;
    fftw_complex* freq_ = nullptr;
    fftw_plan forward_ = nullptr, inverse_ = nullptr;
};

class FftBlock final : public sigx::Model {
public:
    static sigx::Descriptor describe() {
        return {.name = "fft.block",
                .version = "1.0.0",
                .description =
                    "whole-record FFT: keep each component's frequency bin, invert, undo the mix gain (non-causal)",
                .params = {sigx::ParamSpec::string("planner", "estimate")
                               .one_of({"estimate", "measure"})
                               .help("FFTW planner effort: measure plans slower once and may transform faster")}};
    }

    explicit FftBlock(const sigx::Params& p)
        : flags_(p.string("planner") == "measure" ? FFTW_MEASURE : FFTW_ESTIMATE) {}

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {false, sigx::ModelNature::Method::classical, "FFT of the whole record"});
        return id == sigx::model_state_id ? &sigx::no_fitted_state() : nullptr;
    }

    sigx::Prediction predict(const sigx::Input& s, const sigx::Task& task, sigx::Host&) override {
        const std::size_t n = s.size();
        fft_.prepare(n, flags_);
        const sigx::Samples& mix = s.channels.at(0);
        std::copy(mix.begin(), mix.end(), fft_.time());
        fft_.forward();
        spectrum_.assign(fft_.freq(), fft_.freq() + fft_.bins());

        sigx::Prediction out;
        for (const auto& c : task.components) {
            const double exact = c.frequency * static_cast<double>(n) / s.sample_rate;
            const auto k = static_cast<std::size_t>(std::llround(exact));
            if (k >= fft_.bins())
                throw std::runtime_error(
                    fmt::format("component {} at {} Hz is beyond the record's spectrum", c.label, c.frequency));
            std::fill(fft_.freq(), fft_.freq() + fft_.bins(), std::complex<double>(0, 0));
            fft_.freq()[k] = spectrum_[k];
            fft_.inverse();
            const double scale = 1.0 / (static_cast<double>(n) * c.gain);
            sigx::Samples& y = out.components.emplace_back(n);
            for (std::size_t i = 0; i < n; ++i) y[i] = fft_.time()[i] * scale;
        }
        return out;
    }

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    unsigned flags_;
    RealFft fft_;
    std::vector<std::complex<double>> spectrum_;
};

}  // namespace

SIGX_PLUGIN(FftBlock)
