#include "kalman.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace sigx::classical {

using Complex = std::complex<double>;

KalmanTracker::KalmanTracker(const Task& task, double sample_rate, double start_time, const KalmanSettings& settings)
    : s_(settings), kc_(task.size()), n_(2 * kc_) {
    for (const auto& c : task.components) phasors0_.emplace_back(c.frequency, sample_rate, start_time);
    h_.resize(n_), ph_.resize(n_), state_.resize(n_), p_.resize(n_ * n_);
    reset();
}

void KalmanTracker::reset() {
    phasors_ = phasors0_;
    restart();
}

void KalmanTracker::restart() {
    std::fill(state_.begin(), state_.end(), 0.0);
    std::fill(p_.begin(), p_.end(), 0.0);
    for (std::size_t i = 0; i < n_; ++i) p_[i * n_ + i] = s_.p0;
}

void KalmanTracker::skip() {
    for (auto& p : phasors_) p.advance();
}

void KalmanTracker::push(double x, Complex* w) {
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

// States [from, from + count): gain P h / S, state += gain e, P -= P h h^T P / S (and
// rls: P /= forgetting), kept symmetric.
void KalmanTracker::update(std::size_t from, std::size_t count, double innovation_variance, double e) {
    const double inv = 1.0 / innovation_variance, scale = s_.rls ? 1.0 / s_.forgetting : 1.0;
    for (std::size_t i = from; i < from + count; ++i) state_[i] += ph_[i] * inv * e;
    for (std::size_t i = from; i < from + count; ++i)
        for (std::size_t j = from; j <= i; ++j) {
            const double v = (p_[i * n_ + j] - ph_[i] * ph_[j] * inv) * scale;
            p_[i * n_ + j] = v, p_[j * n_ + i] = v;
        }
}

Analytic kalman_analytic(const Input& input, const Task& task, const KalmanSettings& settings,
                         const std::vector<std::size_t>& restarts, std::size_t from) {
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("kalman reads one input channel, '{}' has {}", input.name, input.channels.size()));
    KalmanTracker tracker(task, input.sample_rate, input.start_time, settings);
    Analytic out(task.size(), std::vector<Complex>(input.size()));
    std::vector<Complex> w(task.size());
    auto next = restarts.begin();
    for (std::size_t t = 0; t < std::min(from, input.size()); ++t) tracker.skip();
    for (std::size_t t = from; t < input.size(); ++t) {
        for (; next != restarts.end() && *next <= t; ++next)
            if (*next == t) tracker.restart();
        tracker.push(input.channels[0][t], w.data());
        for (std::size_t k = 0; k < task.size(); ++k) out[k][t] = w[k];
    }
    return out;
}

std::vector<std::vector<double>> KalmanFit::estimates(const Input& input, const Task& task,
                                                      const std::vector<std::size_t>& restarts,
                                                      std::size_t from) const {
    if (!gains.empty() && gains.size() != task.size())
        throw std::runtime_error(
            fmt::format("the tracker was calibrated for {} components, the task has {}", gains.size(), task.size()));
    const auto w = kalman_analytic(input, task, settings, restarts, from);
    std::vector<std::vector<double>> out(task.size(), std::vector<double>(input.size()));
    for (std::size_t k = 0; k < task.size(); ++k) {
        const Complex g = gains.empty() ? Complex(1.0 / task.components[k].gain, 0.0) : gains[k];
        for (std::size_t t = 0; t < input.size(); ++t) out[k][t] = (g * w[k][t]).real();
    }
    return out;
}

std::string KalmanFit::text() const {
    return fmt::format("{:a} {:a} {:a}\n", settings.q, settings.r, settings.p0) + gains_text(gains);
}

KalmanFit KalmanFit::read(StateText& in, std::size_t components) {
    constexpr double big = std::numeric_limits<double>::max(), tiny = std::numeric_limits<double>::denorm_min();
    KalmanFit fit;
    fit.settings.q = in.number("process noise q", 0, big);
    fit.settings.r = in.number("observation noise r", tiny, big);
    fit.settings.p0 = in.number("prior variance", tiny, big);
    fit.gains = read_gains(in, components);
    in.end();
    return fit;
}

KalmanFit fit_kalman(const Records& train, KalmanSettings settings, double q_given, double r_given, bool calibrate) {
    if (train.empty()) throw std::runtime_error("kalman needs training records to set its noise levels");
    // A whole-record least-squares fit per training record: the residual is the
    // observation noise, the fitted tones' power the prior variance of each state.
    double power = 0, residual = 0, samples = 0, state_power = 0, states = 0;
    for (const auto& r : train) {
        if (r.input.channels.size() != 1)
            throw std::runtime_error(
                fmt::format("kalman reads one input channel, '{}' has {}", r.input.name, r.input.channels.size()));
        const auto w = lsq_analytic(r.input, r.task, {});
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
    KalmanFit fit;
    fit.mix_power = power;
    settings.p0 = std::max(states > 0 ? state_power / states : power, 1e-30);
    settings.q = q_given;
    settings.r = r_given > 0 ? r_given : 1.0;
    if (!settings.rls && r_given == 0) settings.r = std::max(residual, 1e-12 * power + 1e-300);
    fit.settings = settings;
    if (calibrate) check_truth(train);
    std::vector<const Record*> records;
    for (const auto& r : train) records.push_back(&r);
    // Each candidate's estimates on every training record, computed once, and its gains.
    std::vector<Analytic> estimates;
    auto calibrated = [&](const KalmanSettings& s) {
        estimates.clear();
        for (const auto* r : records) estimates.push_back(kalman_analytic(r->input, r->task, s));
        return fit_gains(records, [&](const Record& r) -> Analytic {
            return estimates[static_cast<std::size_t>(&r - &train.front())];
        });
    };
    if (!settings.rls && q_given == 0) {
        if (!calibrate)
            throw std::runtime_error("q = 0 is chosen on the training records' truth: give q, or calibrate");
        double best = std::numeric_limits<double>::infinity();
        for (double rel = 1e-12; rel <= 1.001e-3; rel *= 10) {
            KalmanSettings s = settings;
            s.q = rel * power;
            const auto gains = calibrated(s);
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
            if (err < best) best = err, fit.settings = s, fit.gains = gains;
        }
    } else if (calibrate) {
        fit.gains = calibrated(settings);
    }
    return fit;
}

}  // namespace sigx::classical
