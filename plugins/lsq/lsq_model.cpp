// lsq: least-squares fit of a sine and a cosine at every known frequency, jointly, over
// the whole record (non-causal) or over a causal sliding window, optionally calibrated on
// the training records (a gain and a phase per component). With calibration this is the
// near-optimal classical estimator: it removes the mean phase offset of the noise that a
// plain FFT keeps. The sliding mode streams (sigx/stream.hpp); its whole-record
// prediction is the same stream.
#include "../classical/lsq.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <fstream>
#include <optional>

namespace {

class Lsq final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "lsq",
            .version = "1.0.0",
            .description =
                "least-squares sine/cosine fit at the known frequencies, whole record or causal window, calibrated",
            .params = {
                ParamSpec::string("mode", "block")
                    .one_of({"block", "sliding"})
                    .help("block: one fit over the whole record (non-causal); sliding: the last `window` samples"),
                ParamSpec::integer("window", 1000).range(2, 100000000).help("sliding window length in samples"),
                ParamSpec::real("ridge", 0.01)
                    .at_least(0.0)
                    .help("Tikhonov regularisation (squared mix units): tames the first samples of a causal window"),
                ParamSpec::boolean("calibrate", true)
                    .help("fit a gain and phase per component on the training records (else divide by the mix gain)")}};
    }

    explicit Lsq(const sigx::Params& p)
        : options_{p.string("mode") == "sliding" ? static_cast<std::size_t>(p.integer("window")) : 0, p.real("ridge")},
          calibrate_(p.boolean("calibrate")) {}

    void fit(const sigx::Records& train, sigx::Host& host) override {
        if (!calibrate_) return;
        gains_ = sigx::classical::fit_calibration(train, options_);
        sigx::classical::report_gains(host, train.front().task, gains_);
    }

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = options_.window > 0 ? sigx::ModelNature{true, sigx::ModelNature::Method::classical,
                                                                       "least squares over the last window"}
                                                   : sigx::ModelNature{false, sigx::ModelNature::Method::classical,
                                                                       "least squares over the whole record"});
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }
    // The calibration: one complex gain per component, in hexadecimal floating point so
    // that it reads back bit for bit.
    std::vector<std::string> state_params() const override { return {"mode", "window", "ridge", "calibrate"}; }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "calibration.txt", sigx::classical::gains_text(gains_));
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        sigx::StateText in(dir / "calibration.txt");
        gains_ = sigx::classical::read_gains(in, calibrate_ ? components : 0);
        in.end();
    }

    sigx::Prediction predict(const sigx::Input& record, const sigx::Task& task, sigx::Host&) override {
        check_calibrated_for(task);
        if (options_.window > 0) return sigx::predict_by_streaming(*this, record, task);
        return sigx::classical::lsq_predict(record, task, options_, calibrate_ ? &gains_ : nullptr);
    }

    // The sliding mode streams with no latency; the block mode fits the whole record.
    std::size_t configure(const sigx::StreamConfig& config) override {
        if (options_.window == 0)
            throw std::runtime_error(
                "mode = \"block\" fits the whole record at once, so each estimate depends on later samples "
                "(non-causal); mode = \"sliding\" streams");
        if (config.channels != 1)
            throw std::runtime_error(
                fmt::format("least squares reads one input channel, the stream has {}", config.channels));
        check_calibrated_for(config.task);
        stream_.emplace(config.task, config.sample_rate, config.start_time, options_);
        stream_gains_.clear();
        for (std::size_t k = 0; k < config.task.size(); ++k)
            stream_gains_.push_back(calibrate_ ? gains_[k] : 1.0 / config.task.components[k].gain);
        y_.resize(config.task.size());
        return 0;
    }
    void reset() override { stream_->reset(); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            stream_->push(in.channels[0][t], stream_gains_, y_.data());
            for (std::size_t k = 0; k < y_.size(); ++k) out.channels[k][t] = y_[k];
        }
    }
    void flush(const sigx::Block&) override {}

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    void check_calibrated_for(const sigx::Task& task) const {
        if (calibrate_ && gains_.size() != task.size())
            throw std::runtime_error(
                fmt::format("calibrated for {} components, the task has {}", gains_.size(), task.size()));
    }

    sigx::classical::LsqOptions options_;
    bool calibrate_;
    std::vector<std::complex<double>> gains_;
    std::optional<sigx::classical::SlidingLsq> stream_;
    std::vector<std::complex<double>> stream_gains_;
    std::vector<double> y_;
};

}  // namespace

SIGX_PLUGIN(Lsq)
