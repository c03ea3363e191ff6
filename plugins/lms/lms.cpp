// lms: Widrow's adaptive noise canceller (the hum canceller): a cosine and a sine
// reference at each tone's nominal frequency, weighted by LMS to cancel the mix; each
// tone's weighted references are its estimate (../classical/line_filters.hpp). The step
// comes from the task's tolerance (a notch whose band spans it) unless given. Like lsq and
// kalman it is calibrated on the training records (a complex gain per component). Causal,
// with no latency: it streams, and whole-record prediction is the same stream.
#include "../classical/line_filters.hpp"
#include "../classical/lsq.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <fstream>
#include <optional>

namespace {

using Complex = std::complex<double>;

class Lms final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "lms",
            .version = "1.0.0",
            .description =
                "Widrow's adaptive noise canceller: LMS on a sine and a cosine reference at each tone, step from the "
                "tolerance; causal",
            .params =
                {ParamSpec::real("mu", 0.0).range(0.0, 0.5).help(
                     "LMS step per sample (a notch of mu fs / pi Hz); 0: from each tone's tolerance, the band spanning "
                     "it on either side (mu = 2 pi tolerance / fs), a 1 Hz band for a tone with none"),
                 ParamSpec::boolean("calibrate", true)
                     .help("fit a gain and phase per component on the training records (else divide by the mix gain)")},
            .follows_drift = true};  // its band spans the tolerance
    }

    explicit Lms(const sigx::Params& p) : mu_(p.real("mu")), calibrate_(p.boolean("calibrate")) {}

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {true, sigx::ModelNature::Method::classical, "adaptive noise canceller (LMS)"});
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    void fit(const sigx::Records& train, sigx::Host& host) override {
        if (!calibrate_) return;
        sigx::classical::check_truth(train);
        std::vector<const sigx::Record*> records;
        for (const auto& r : train) records.push_back(&r);
        gains_ = sigx::classical::fit_gains(records, [&](const sigx::Record& r) { return analytic(r.input, r.task); });
        sigx::classical::report_gains(host, train.front().task, gains_);
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, input, task);
    }

    std::size_t configure(const sigx::StreamConfig& config) override {
        if (config.channels != 1)
            throw std::runtime_error(fmt::format("lms reads one input channel, the stream has {}", config.channels));
        if (calibrate_ && gains_.size() != config.task.size())
            throw std::runtime_error(gains_.empty() ? std::string("the model has not been fitted")
                                                    : fmt::format("calibrated for {} components, the task has {}",
                                                                  gains_.size(), config.task.size()));
        canceller_.emplace(config.task, config.sample_rate, config.start_time, steps(config.task, config.sample_rate));
        out_gains_.clear();
        for (std::size_t k = 0; k < config.task.size(); ++k)
            out_gains_.push_back(calibrate_ ? gains_[k] : Complex(1.0 / config.task.components[k].gain, 0.0));
        w_.resize(config.task.size());
        return 0;
    }
    void reset() override { canceller_->reset(); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            canceller_->push(in.channels[0][t], w_.data());
            for (std::size_t k = 0; k < w_.size(); ++k) out.channels[k][t] = (out_gains_[k] * w_[k]).real();
        }
    }
    void flush(const sigx::Block&) override {}

    std::vector<std::string> state_params() const override { return {"mu", "calibrate"}; }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "gains.txt", sigx::classical::gains_text(gains_));
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        sigx::StateText in(dir / "gains.txt");
        gains_ = sigx::classical::read_gains(in, calibrate_ ? components : 0);
        in.end();
    }

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    std::vector<double> steps(const sigx::Task& task, double rate) const {
        return mu_ > 0 ? std::vector<double>(task.size(), mu_) : sigx::classical::lms_steps(task, rate);
    }
    sigx::classical::Analytic analytic(const sigx::Input& input, const sigx::Task& task) const {
        if (input.channels.size() != 1)
            throw std::runtime_error(
                fmt::format("lms reads one input channel, '{}' has {}", input.name, input.channels.size()));
        sigx::classical::LmsCanceller c(task, input.sample_rate, input.start_time, steps(task, input.sample_rate));
        sigx::classical::Analytic out(task.size(), std::vector<Complex>(input.size()));
        std::vector<Complex> w(task.size());
        for (std::size_t t = 0; t < input.size(); ++t) {
            c.push(input.channels[0][t], w.data());
            for (std::size_t k = 0; k < w.size(); ++k) out[k][t] = w[k];
        }
        return out;
    }

    double mu_;
    bool calibrate_;
    std::vector<Complex> gains_;
    std::optional<sigx::classical::LmsCanceller> canceller_;
    std::vector<Complex> out_gains_, w_;
};

}  // namespace

SIGX_PLUGIN(Lms)
