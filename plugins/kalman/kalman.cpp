// kalman: the causal tracker baseline. Each tone's contribution to the mix is
// a_k cos(w_k t) + b_k sin(w_k t); a Kalman filter tracks the in-phase and quadrature
// amplitudes (a_k, b_k) of every tone from the mix, sample by sample, as a random walk
// (process noise `q` per sample) seen through white observation noise `r`. One joint
// filter over all tones (2K states, full covariance), or one 2-state filter per tone
// sharing the innovation (`joint = false`: block-diagonal covariance, O(K) per sample).
// `mode = "rls"` is recursive least squares with forgetting factor `forgetting` instead.
// Like lsq it is calibrated on the training records: a complex gain per component maps
// its estimate onto the clean target, and r (and q, unless given) are found there too.
// Causal with no latency: it streams, and whole-record prediction is the same stream.
#include "../classical/lsq.hpp"
#include "../classical/phasor.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>

namespace {

using sigx::classical::Phasor;
using Complex = std::complex<double>;

struct FilterSettings {
    bool rls = false;
    bool joint = true;
    double q = 0;           // kalman: process noise variance per sample, per state
    double r = 1;           // kalman: observation noise variance
    double forgetting = 1;  // rls
    double p0 = 1;          // initial state variance (kalman); rls: P0 = p0 I too
};

// The filter over one stream. Allocates in its constructor only.
class Tracker {
public:
    Tracker(const sigx::Task& task, double sample_rate, double start_time, const FilterSettings& s)
        : s_(s), kc_(task.size()), n_(2 * kc_) {
        for (const auto& c : task.components) phasors0_.emplace_back(c.frequency, sample_rate, start_time);
        h_.resize(n_), ph_.resize(n_), state_.resize(n_), p_.resize(n_ * n_);
        reset();
    }
    void reset() {
        phasors_ = phasors0_;
        std::fill(state_.begin(), state_.end(), 0.0);
        std::fill(p_.begin(), p_.end(), 0.0);
        for (std::size_t i = 0; i < n_; ++i) p_[i * n_ + i] = s_.p0;
    }
    // Takes the next sample; writes each tone's analytic estimate W_k (Re W_k = a cos + b sin).
    void push(double x, Complex* w) {
        for (std::size_t k = 0; k < kc_; ++k) {  // h: cos, sin of each tone; z = e^{-i w t}
            const Complex z = phasors_[k].value();
            h_[2 * k] = z.real(), h_[2 * k + 1] = -z.imag();
        }
        double predicted = 0;
        for (std::size_t i = 0; i < n_; ++i) predicted += h_[i] * state_[i];
        const double e = x - predicted;
        if (!s_.rls)
            for (std::size_t i = 0; i < n_; ++i) p_[i * n_ + i] += s_.q;
        const double noise = s_.rls ? s_.forgetting : s_.r;
        if (s_.joint) {
            double hph = 0;
            for (std::size_t i = 0; i < n_; ++i) {
                double v = 0;
                for (std::size_t j = 0; j < n_; ++j) v += p_[i * n_ + j] * h_[j];
                ph_[i] = v;
                hph += h_[i] * v;
            }
            update(0, n_, hph + noise, e);
        } else {
            // 2x2 blocks, one per tone. The innovation's variance is every tone's
            // uncertainty plus the noise: each filter counts the others' errors as noise.
            double hph = 0;
            for (std::size_t k = 0; k < kc_; ++k) {
                const std::size_t a = 2 * k, b = a + 1;
                ph_[a] = p_[a * n_ + a] * h_[a] + p_[a * n_ + b] * h_[b];
                ph_[b] = p_[b * n_ + a] * h_[a] + p_[b * n_ + b] * h_[b];
                hph += h_[a] * ph_[a] + h_[b] * ph_[b];
            }
            for (std::size_t k = 0; k < kc_; ++k) update(2 * k, 2, hph + noise, e);
        }
        for (std::size_t k = 0; k < kc_; ++k) {
            w[k] = Complex(state_[2 * k], -state_[2 * k + 1]) * std::conj(phasors_[k].value());
            phasors_[k].advance();
        }
    }

private:
    // States [from, from + count): gain P h / S, state += gain e, P -= P h h^T P / S (and
    // rls: P /= forgetting), kept symmetric.
    void update(std::size_t from, std::size_t count, double innovation_variance, double e) {
        const double inv = 1.0 / innovation_variance, scale = s_.rls ? 1.0 / s_.forgetting : 1.0;
        for (std::size_t i = from; i < from + count; ++i) state_[i] += ph_[i] * inv * e;
        for (std::size_t i = from; i < from + count; ++i)
            for (std::size_t j = from; j <= i; ++j) {
                const double v = (p_[i * n_ + j] - ph_[i] * ph_[j] * inv) * scale;
                p_[i * n_ + j] = v, p_[j * n_ + i] = v;
            }
    }

    FilterSettings s_;
    std::size_t kc_, n_;
    std::vector<Phasor> phasors0_, phasors_;
    std::vector<double> h_, ph_, state_, p_;
};

sigx::classical::Analytic track(const sigx::Input& input, const sigx::Task& task, const FilterSettings& s) {
    Tracker tracker(task, input.sample_rate, input.start_time, s);
    sigx::classical::Analytic out(task.size(), std::vector<Complex>(input.size()));
    std::vector<Complex> w(task.size());
    for (std::size_t t = 0; t < input.size(); ++t) {
        tracker.push(input.channels.at(0)[t], w.data());
        for (std::size_t k = 0; k < task.size(); ++k) out[k][t] = w[k];
    }
    return out;
}

class Kalman final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {"kalman",
                sigx::Kind::model,
                "1.0.0",
                "causal Kalman (or RLS) tracker of each tone's in-phase and quadrature amplitudes, calibrated",
                {ParamSpec::string("mode", "kalman")
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
                 ParamSpec::boolean("calibrate", true)
                     .help("fit a gain and phase per component on the training records (else divide by the mix gain)")},
                false};
    }

    explicit Kalman(const sigx::Params& p)
        : q_given_(p.real("q")), r_given_(p.real("r")), calibrate_(p.boolean("calibrate")) {
        settings_.rls = p.string("mode") == "rls";
        settings_.joint = p.boolean("joint");
        settings_.forgetting = p.real("forgetting");
        settings_.q = q_given_;
        settings_.r = r_given_ > 0 ? r_given_ : 1.0;
    }

    void* extension(std::string_view id) override {
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        return nullptr;
    }

    // The noise levels from the training mix, then q (unless given) as the best of a grid
    // by the calibrated training MSE after the first second, then the gains for that q.
    void fit(const sigx::Records& train, sigx::Host& host) override {
        if (train.empty()) throw std::runtime_error("kalman needs training records to set its noise levels");
        // A whole-record least-squares fit per training record: the residual is the
        // observation noise, the fitted tones' power the prior variance of each state.
        double power = 0, residual = 0, samples = 0, state_power = 0, states = 0;
        for (const auto& r : train) {
            if (r.input.channels.size() != 1)
                throw std::runtime_error(
                    fmt::format("kalman reads one input channel, '{}' has {}", r.input.name, r.input.channels.size()));
            const auto w = sigx::classical::lsq_analytic(r.input, r.task, {});
            for (const auto& wk : w)
                if (!wk.empty()) state_power += std::norm(wk.front()) / 2, states += 1;
            for (std::size_t t = 0; t < r.size(); ++t) {
                double fitted = 0;
                for (const auto& wk : w) fitted += wk[t].real();
                const double x = r.input.channels[0][t];
                power += x * x, residual += (x - fitted) * (x - fitted), samples += 1;
            }
        }
        power /= samples, residual /= samples;
        settings_.p0 = std::max(states > 0 ? state_power / states : power, 1e-30);
        if (!settings_.rls && r_given_ == 0) settings_.r = std::max(residual, 1e-12 * power + 1e-300);
        if (calibrate_) sigx::classical::check_truth(train);
        std::vector<const sigx::Record*> records;
        for (const auto& r : train) records.push_back(&r);
        // Each candidate's estimates on every training record, computed once, and its gains.
        auto calibrated = [&](const FilterSettings& s, std::vector<sigx::classical::Analytic>& estimates) {
            estimates.clear();
            for (const auto* r : records) estimates.push_back(track(r->input, r->task, s));
            return sigx::classical::fit_gains(records, [&](const sigx::Record& r) -> sigx::classical::Analytic {
                return estimates[static_cast<std::size_t>(&r - &train.front())];
            });
        };
        std::vector<sigx::classical::Analytic> estimates;
        if (!settings_.rls && q_given_ == 0) {
            if (!calibrate_)
                throw std::runtime_error("q = 0 is chosen on the training records' truth: give q, or calibrate");
            double best = std::numeric_limits<double>::infinity();
            FilterSettings chosen = settings_;
            for (double rel = 1e-12; rel <= 1.001e-3; rel *= 10) {
                FilterSettings s = settings_;
                s.q = rel * power;
                const auto gains = calibrated(s, estimates);
                double err = 0;
                for (std::size_t i = 0; i < records.size(); ++i) {
                    // Judged once locked on: after the first second where the record is over
                    // twice as long (q sets how the filter tracks, not how it locks on).
                    const auto& r = *records[i];
                    const auto second = static_cast<std::size_t>(r.input.sample_rate);
                    const std::size_t from = r.size() > 2 * second ? second : 0;
                    for (std::size_t k = 0; k < gains.size(); ++k)
                        for (std::size_t t = from; t < r.size(); ++t) {
                            const double d = (gains[k] * estimates[i][k][t]).real() - r.truth->references[k][t];
                            err += d * d;
                        }
                }
                if (err < best) best = err, chosen = s, gains_ = gains;
            }
            settings_ = chosen;
        } else if (calibrate_) {
            gains_ = calibrated(settings_, estimates);
        }
        host.info(fmt::format("noise levels: r = {:.3g}, q = {:.3g} per sample (mix power {:.3g})", settings_.r,
                              settings_.q, power));
        if (!calibrate_) return;
        sigx::classical::report_gains(host, train.front().task, gains_);
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, input, task);
    }

    std::size_t configure(const sigx::StreamConfig& config) override {
        if (config.channels != 1)
            throw std::runtime_error(fmt::format("kalman reads one input channel, the stream has {}", config.channels));
        if (calibrate_ && gains_.size() != config.task.size())
            throw std::runtime_error(gains_.empty() ? std::string("the model has not been fitted")
                                                    : fmt::format("calibrated for {} components, the task has {}",
                                                                  gains_.size(), config.task.size()));
        tracker_.emplace(config.task, config.sample_rate, config.start_time, settings_);
        out_gains_.clear();
        for (std::size_t k = 0; k < config.task.size(); ++k)
            out_gains_.push_back(calibrate_ ? gains_[k] : Complex(1.0 / config.task.components[k].gain, 0.0));
        w_.resize(config.task.size());
        return 0;
    }
    void reset() override { tracker_->reset(); }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t t = 0; t < in.frames; ++t) {
            tracker_->push(in.channels[0][t], w_.data());
            for (std::size_t k = 0; k < w_.size(); ++k) out.channels[k][t] = (out_gains_[k] * w_[k]).real();
        }
    }
    void flush(const sigx::Block&) override {}

    // The fitted noise levels and gains, in hexadecimal floating point (bit for bit).
    std::vector<std::string> state_params() const override {
        return {"mode", "q", "r", "forgetting", "joint", "calibrate"};
    }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "filter.txt",
                                fmt::format("{:a} {:a} {:a}\n", settings_.q, settings_.r, settings_.p0) +
                                    sigx::classical::gains_text(gains_));
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        const auto file = dir / "filter.txt";
        std::ifstream in(file);
        std::string q, r, p0;
        if (!(in >> q >> r >> p0)) throw std::runtime_error(file.string() + ": cannot be read");
        settings_.q = std::strtod(q.c_str(), nullptr), settings_.r = std::strtod(r.c_str(), nullptr);
        settings_.p0 = std::strtod(p0.c_str(), nullptr);
        gains_ = sigx::classical::read_gains(in, file, calibrate_ ? components : 0);
    }

private:
    double q_given_, r_given_;
    bool calibrate_;
    FilterSettings settings_;
    std::vector<Complex> gains_;
    std::optional<Tracker> tracker_;
    std::vector<Complex> out_gains_, w_;
};

}  // namespace

SIGX_PLUGIN(Kalman)
