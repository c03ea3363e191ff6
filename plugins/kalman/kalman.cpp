// kalman: the causal tracker baseline (the filter itself: ../classical/kalman.hpp). Each
// tone's in-phase and quadrature amplitudes are tracked from the mix as a random walk, by one
// joint Kalman filter over all tones or one per tone (`joint = false`), or by recursive least
// squares (`mode = "rls"`). It is calibrated on the training records: a complex gain per
// component, the mix's own gain on that reference inverted, maps its estimate onto the
// clean target, and r (and q, unless given) are found there too. Where the task states a
// component's amplitude (the flagship's references are unit sinusoids) the estimate is the
// posterior mean on that circle (`known_amplitude`). Causal with no latency: it streams,
// and whole-record prediction is the same stream.
#include "../classical/kalman.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <fstream>
#include <optional>

namespace {

class Kalman final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "kalman",
            .version = "1.0.0",
            .description =
                "causal Kalman (or RLS) tracker of each tone's in-phase and quadrature amplitudes, calibrated",
            .params = {
                ParamSpec::string("mode", "kalman")
                    .one_of({"kalman", "rls"})
                    .help("kalman: random-walk amplitudes; rls: recursive least squares with a forgetting factor"),
                ParamSpec::real("q", 0.0).at_least(0.0).help(
                    "kalman: process noise per sample (squared mix units); 0: the best of a grid on the "
                    "training records"),
                ParamSpec::real("r", 0.0).at_least(0.0).help(
                    "kalman: observation noise variance; 0: the training mix's residual after a "
                    "whole-record least-squares fit"),
                ParamSpec::real("forgetting", 0.999)
                    .range(0.5, 1.0)
                    .help("rls: weight of the past per sample (1: a growing window)"),
                ParamSpec::boolean("joint", true)
                    .help("one filter over all tones (full covariance); false: one per tone, sharing the innovation"),
                ParamSpec::boolean("known_amplitude", true)
                    .help("where the task states a component's amplitude, estimate only its phase: the posterior mean "
                          "on that circle (false: amplitude and phase alike)"),
                ParamSpec::boolean("calibrate", true)
                    .help("fit a gain and phase per component on the training records: the mix regressed on "
                          "each reference (else divide by the nominal gain)")}};
    }

    explicit Kalman(const sigx::Params& p)
        : q_given_(p.real("q")), r_given_(p.real("r")), calibrate_(p.boolean("calibrate")) {
        fit_.settings.rls = p.string("mode") == "rls";
        fit_.settings.joint = p.boolean("joint");
        fit_.settings.forgetting = p.real("forgetting");
        fit_.settings.known_amplitude = p.boolean("known_amplitude");
        fit_.settings.q = q_given_;
        fit_.settings.r = r_given_ > 0 ? r_given_ : 1.0;
    }

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {true, sigx::ModelNature::Method::classical,
                                fit_.settings.rls ? "recursive least-squares tracker" : "Kalman tracker"});
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    // The noise levels from the training mix, the gains from the mix regressed on the
    // references, then q (unless given) as the best of a grid by the calibrated training
    // MSE after the first second.
    void fit(const sigx::Records& train, sigx::Host& host) override {
        fit_ = sigx::classical::fit_kalman(train, fit_.settings, q_given_, r_given_, calibrate_);
        host.info(fmt::format("noise levels: r = {:.3g}, q = {:.3g} per sample (mix power {:.3g})", fit_.settings.r,
                              fit_.settings.q, fit_.mix_power));
        if (calibrate_) sigx::classical::report_gains(host, train.front().task, fit_.gains);
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, input, task);
    }

    std::size_t configure(const sigx::StreamConfig& config) override {
        if (config.channels != 1)
            throw std::runtime_error(fmt::format("kalman reads one input channel, the stream has {}", config.channels));
        if (calibrate_ && fit_.gains.empty()) throw std::runtime_error("the model has not been fitted");
        tracker_.emplace(fit_, config.task, config.sample_rate, config.start_time);
        y_.resize(config.task.size());
        return 0;
    }
    void reset() override { tracker_->reset(); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            tracker_->push(in.channels[0][t], y_.data());
            for (std::size_t k = 0; k < y_.size(); ++k) out.channels[k][t] = y_[k];
        }
    }
    void flush(const sigx::Block&) override {}

    // The fitted noise levels and gains, in hexadecimal floating point (bit for bit).
    std::vector<std::string> state_params() const override {
        return {"mode", "q", "r", "forgetting", "joint", "known_amplitude", "calibrate"};
    }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "filter.txt", fit_.text());
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        sigx::StateText in(dir / "filter.txt");
        const auto settings = fit_.settings;  // mode, joint and forgetting come from the parameters
        fit_ = sigx::classical::KalmanFit::read(in, calibrate_ ? components : 0);
        fit_.settings.rls = settings.rls, fit_.settings.joint = settings.joint;
        fit_.settings.forgetting = settings.forgetting;
        fit_.settings.known_amplitude = settings.known_amplitude;
    }

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    double q_given_, r_given_;
    bool calibrate_;
    sigx::classical::KalmanFit fit_;
    std::optional<sigx::classical::CalibratedTracker> tracker_;
    std::vector<double> y_;
};

}  // namespace

SIGX_PLUGIN(Kalman)
