// tracker: follows each tone's instantaneous frequency, amplitude and phase within the
// task's tolerance, by an extended Kalman filter with the harmonics of a family locked to
// its fundamental (the filter: ../classical/tracker.hpp). Causal, with no latency: it
// streams, and whole-record prediction is the same stream. With `smooth = true` it is the
// non-causal two-filter smoother over each whole record. Its noise levels are fitted on
// the training records (the process noises as the best of a search by the calibrated
// error there), then a complex gain per component maps its estimate onto the clean
// target, as for lsq and kalman. Each prediction carries its frequency estimates.
#include "../classical/tracker.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <fstream>
#include <optional>

namespace {

using Complex = std::complex<double>;
using sigx::classical::TrackerFit;

class Tracker final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "tracker",
            .version = "1.0.0",
            .description =
                "extended Kalman filter on each tone's (or harmonic family's) frequency, amplitude and phase, within "
                "the "
                "task's tolerance; causal, or a forward-backward smoother",
            .params =
                {ParamSpec::boolean("smooth", false)
                     .help("false: the causal filter (streams); true: forward and backward over each whole record, "
                           "combined (non-causal)"),
                 ParamSpec::real("robust", -1.0)
                     .at_least(-1.0)
                     .help(
                         "robustness to bursts of interference (speech): a sample's noise variance is at least this "
                         "times its squared innovation; 0: a fixed noise level; -1: searched on the training records"),
                 ParamSpec::real("r", 0.0).at_least(0.0).help(
                     "the noise variance (its floor, when robust), squared mix units; 0: searched on the training "
                     "records, from their residual after a whole-record least-squares fit"),
                 ParamSpec::real("q_amplitude", 0.0)
                     .at_least(0.0)
                     .help("per second: how fast each amplitude and phase may wander, as a variance relative to the "
                           "tone's power; 0: searched per component on the training records"),
                 ParamSpec::real("q_frequency", 0.0)
                     .at_least(0.0)
                     .help("Hz^2 per second: how fast a frequency may wander (a random walk within the tolerance); 0: "
                           "searched on the training records"),
                 ParamSpec::boolean("calibrate", true)
                     .help("fit a gain and phase per component on the training records (else divide by the mix gain)")},
            .follows_drift = true};
    }

    explicit Tracker(const sigx::Params& p) : smooth_(p.boolean("smooth")), calibrate_(p.boolean("calibrate")) {
        search_.robust = p.real("robust"), search_.r = p.real("r");
        search_.q_amplitude = p.real("q_amplitude"), search_.q_frequency = p.real("q_frequency");
        if (!calibrate_ &&
            (search_.q_amplitude == 0 || search_.q_frequency == 0 || search_.r == 0 || search_.robust < 0))
            throw sigx::ParamError("calibrate",
                                   "the search for the noise levels scores against the training records' "
                                   "truth: give q_amplitude, q_frequency, r and robust, or calibrate");
    }

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {!smooth_, sigx::ModelNature::Method::classical,
                                smooth_ ? "frequency-tracking smoother" : "frequency-tracking EKF"});
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    void fit(const sigx::Records& train, sigx::Host& host) override {
        fit_ = sigx::classical::fit_tracker(train, search_, smooth_, calibrate_, [&] { return host.cancelled(); });
        const auto& s = fit_.settings;
        host.info(fmt::format("noise: r = {:.3g} (mix power {:.3g}), robust = {:.3g}; q_frequency = {:.3g} Hz^2/s", s.r,
                              fit_.mix_power, s.robust, s.q_frequency));
        const auto& task = train.front().task;
        for (std::size_t k = 0; k < task.size(); ++k)
            host.info(fmt::format("{}: q_amplitude = {:.3g} per s, prior {:.3g}", task.components[k].label,
                                  s.q_amplitude[k], s.p0[k]));
        if (calibrate_) sigx::classical::report_gains(host, task, fit_.gains);
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        check_fitted(task.size());
        if (!smooth_) {  // the stream, keeping the frequency track
            recording_ = input.size();
            sigx::Prediction p = sigx::predict_by_streaming(*this, input, task);
            recording_ = 0;
            p.frequencies = std::move(frequencies_);
            frequencies_.clear();
            return p;
        }
        auto tracked = sigx::classical::track(input, task, fit_.settings, true);
        sigx::Prediction p;
        for (std::size_t k = 0; k < task.size(); ++k) {
            const Complex g = gain(task, k);
            sigx::Samples& y = p.components.emplace_back(input.size());
            for (std::size_t t = 0; t < y.size(); ++t) y[t] = (g * tracked.w[k][t]).real();
        }
        p.frequencies = std::move(tracked.frequency);
        return p;
    }

    std::size_t configure(const sigx::StreamConfig& config) override {
        if (smooth_)
            throw std::runtime_error(
                "smooth = true also runs each record backwards, so each estimate depends on later "
                "samples (non-causal); smooth = false streams");
        if (config.channels != 1)
            throw std::runtime_error(
                fmt::format("tracker reads one input channel, the stream has {}", config.channels));
        check_fitted(config.task.size());
        filter_.emplace(config.task, config.sample_rate, config.start_time, fit_.settings);
        gains_.clear();
        for (std::size_t k = 0; k < config.task.size(); ++k) gains_.push_back(gain(config.task, k));
        return 0;
    }
    void reset() override {
        filter_->reset();
        frequencies_.assign(recording_ ? gains_.size() : 0, {});
        for (auto& f : frequencies_) f.reserve(recording_);
    }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            filter_->push(in.channels[0][t], state_);
            for (std::size_t k = 0; k < gains_.size(); ++k) {
                const Complex w = state_.w[k];
                out.channels[k][t] = gains_[k].real() * w.real() - gains_[k].imag() * w.imag();
                if (recording_) frequencies_[k].push_back(state_.frequency[k]);
            }
        }
    }
    void flush(const sigx::Block&) override {}

    std::vector<std::string> state_params() const override {
        return {"smooth", "robust", "r", "q_amplitude", "q_frequency", "calibrate"};
    }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "tracker.txt", fit_.text());
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        sigx::StateText in(dir / "tracker.txt");
        fit_ = TrackerFit::read(in, components, calibrate_);
    }

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    void check_fitted(std::size_t components) const {
        if (fit_.settings.p0.empty()) throw std::runtime_error("the model has not been fitted");
        if (fit_.settings.p0.size() != components)
            throw std::runtime_error(
                fmt::format("fitted for {} components, the task has {}", fit_.settings.p0.size(), components));
    }
    Complex gain(const sigx::Task& task, std::size_t k) const {
        return calibrate_ ? fit_.gains[k] : Complex(1.0 / task.components[k].gain, 0.0);
    }

    bool smooth_, calibrate_;
    sigx::classical::TrackerSearch search_;
    TrackerFit fit_;
    std::optional<sigx::classical::FrequencyTracker> filter_;
    sigx::classical::TrackerOutput state_;
    std::vector<Complex> gains_;
    std::vector<sigx::Samples> frequencies_;  // the frequency track while predict() streams a record
    std::size_t recording_ = 0;               // that record's length; 0 in a live stream
};

}  // namespace

SIGX_PLUGIN(Tracker)
