#include "kalman.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace sigx::classical {

using Complex = std::complex<double>;

KalmanTracker::KalmanTracker(const Task& task, double sample_rate, double start_time, const KalmanSettings& settings)
    : s_(settings), kc_(task.size()), n_(2 * kc_) {
    for (const auto& c : task.components) phasors0_.emplace_back(c.frequency, sample_rate, start_time);
    h_.resize(n_), ph_.resize(n_), state_.resize(n_), p_.resize(n_ * n_), last_.resize(kc_);
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
        last_[k] = phasors_[k].value();
        w[k] = Complex(state_[2 * k], -state_[2 * k + 1]) * std::conj(last_[k]);
        phasors_[k].advance();
    }
}

std::array<double, 3> KalmanTracker::covariance(std::size_t k) const {
    const std::size_t a = 2 * k, b = a + 1;
    return {p_[a * n_ + a], p_[a * n_ + b], p_[b * n_ + b]};
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

// I1(kappa) / I0(kappa), the mean resultant length of a von Mises law; beyond 500 its
// asymptotic series (the next term, 25 / (128 kappa^4), is below 1e-11 there).
static double bessel_ratio(double kappa) {
    if (kappa < 500) return std::cyl_bessel_i(1.0, kappa) / std::cyl_bessel_i(0.0, kappa);
    const double u = 1 / kappa;
    return 1 - u / 2 - u * u / 8 - u * u * u / 8;
}

Complex on_circle(Complex v, const std::array<double, 3>& cov, double radius) {
    const double length = std::abs(v), spread = (cov[0] + cov[2]) / 2;
    if (length == 0) return 0;
    if (!(spread > 0)) return v * (radius / length);
    const double kappa = radius * length / spread;
    // Concentrated: the von Mises law of the isotropic covariance (its phase's standard
    // deviation below 0.05 rad, where the covariance's shape no longer matters).
    if (kappa > 400) return v * (radius * bessel_ratio(kappa) / length);
    // Else the exact mean over the circle, by the trapezoid rule (exact to rounding for a
    // periodic law this wide): density exp(mu' L u - u' L u / 2), L the inverse covariance.
    const double det = cov[0] * cov[2] - cov[1] * cov[1];
    if (!(det > 0)) return v * (radius * bessel_ratio(kappa) / length);
    const double l00 = cov[2] / det, l01 = -cov[1] / det, l11 = cov[0] / det;
    constexpr int points = 256;
    std::array<double, points> log_density;
    double top = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < points; ++i) {
        const double theta = two_pi * i / points, x = radius * std::cos(theta), y = radius * std::sin(theta);
        const double lx = l00 * x + l01 * y, ly = l01 * x + l11 * y;
        log_density[i] = v.real() * lx + v.imag() * ly - (x * lx + y * ly) / 2;
        top = std::max(top, log_density[i]);
    }
    Complex sum = 0;
    double total = 0;
    for (int i = 0; i < points; ++i) {
        const double weight = std::exp(log_density[i] - top);
        sum += weight * std::polar(radius, two_pi * i / points), total += weight;
    }
    return sum / total;
}

CalibratedTracker::CalibratedTracker(const KalmanFit& fit, const Task& task, double sample_rate, double start_time)
    : tracker_(task, sample_rate, start_time, fit.settings), w_(task.size()) {
    if (!fit.gains.empty() && fit.gains.size() != task.size())
        throw std::runtime_error(fmt::format("the tracker was calibrated for {} components, the task has {}",
                                             fit.gains.size(), task.size()));
    for (std::size_t k = 0; k < task.size(); ++k) {
        const auto& c = task.components[k];
        gains_.push_back(fit.gains.empty() ? Complex(1.0 / c.gain, 0.0) : fit.gains[k]);
        radii_.push_back(fit.settings.known_amplitude ? c.amplitude : 0.0);
    }
}

void CalibratedTracker::push(double x, double* y) {
    tracker_.push(x, w_.data());
    for (std::size_t k = 0; k < w_.size(); ++k) {
        const Complex v = gains_[k] * w_[k];
        if (radii_[k] == 0) {
            y[k] = v.real();
            continue;
        }
        // V = c (a - i b), c = g e^{i w t}: (Re V, Im V) = M (a, b), M = [[cr, ci], [ci, -cr]];
        // the covariance of V is M P M'.
        const Complex c = gains_[k] * std::conj(tracker_.phasor(k));
        const auto [paa, pab, pbb] = tracker_.covariance(k);
        const double cr = c.real(), ci = c.imag();
        const double vrr = cr * cr * paa + 2 * cr * ci * pab + ci * ci * pbb;
        const double vri = cr * ci * paa + (ci * ci - cr * cr) * pab - cr * ci * pbb;
        const double vii = ci * ci * paa - 2 * ci * cr * pab + cr * cr * pbb;
        y[k] = on_circle(v, {vrr, vri, vii}, radii_[k]).real();
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
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("kalman reads one input channel, '{}' has {}", input.name, input.channels.size()));
    CalibratedTracker tracker(*this, task, input.sample_rate, input.start_time);
    std::vector<std::vector<double>> out(task.size(), std::vector<double>(input.size()));
    std::vector<double> y(task.size());
    auto next = restarts.begin();
    for (std::size_t t = 0; t < std::min(from, input.size()); ++t) tracker.skip();
    for (std::size_t t = from; t < input.size(); ++t) {
        for (; next != restarts.end() && *next <= t; ++next)
            if (*next == t) tracker.restart();
        tracker.push(input.channels[0][t], y.data());
        for (std::size_t k = 0; k < task.size(); ++k) out[k][t] = y[k];
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
    // q and the gains are judged once the filter has locked on: after the first second
    // where a record is over twice as long (q sets how it tracks, not how it locks on; a
    // gain fitted on the lock-on's large errors would bias the phase ever after).
    auto locked_on = [](const Record& r) {
        const auto second = static_cast<std::size_t>(r.input.sample_rate);
        return r.size() > 2 * second ? second : 0;
    };
    // Each candidate's estimates on every training record, computed once, and its gains.
    std::vector<Analytic> estimates;
    auto calibrated = [&](const KalmanSettings& s) {
        estimates.clear();
        for (const auto* r : records) estimates.push_back(kalman_analytic(r->input, r->task, s));
        return fit_gains(
            records,
            [&](const Record& r) -> Analytic { return estimates[static_cast<std::size_t>(&r - &train.front())]; },
            locked_on);
    };
    if (!settings.rls && q_given == 0) {
        if (!calibrate)
            throw std::runtime_error("q = 0 is chosen on the training records' truth: give q, or calibrate");
        double best = std::numeric_limits<double>::infinity();
        for (double rel = 1e-18; rel <= 1.001e-3; rel *= 10) {
            KalmanFit candidate = fit;
            candidate.settings.q = rel * power;
            candidate.gains = calibrated(candidate.settings);
            double err = 0;
            for (const auto* r : records) {
                const std::size_t from = locked_on(*r);
                const auto y = candidate.estimates(r->input, r->task);
                for (std::size_t k = 0; k < y.size(); ++k)
                    for (std::size_t t = from; t < r->size(); ++t) {
                        const double d = y[k][t] - r->truth->references[k][t];
                        err += d * d;
                    }
            }
            if (err < best) best = err, fit = std::move(candidate);
        }
    } else if (calibrate) {
        fit.gains = calibrated(settings);
    }
    return fit;
}

}  // namespace sigx::classical
