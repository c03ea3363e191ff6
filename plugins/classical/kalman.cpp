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

namespace {

// The unit circle at 4096 points, for the trapezoid rule at any power of two up to it.
constexpr std::size_t circle_points = 4096;
const std::vector<Complex>& unit_circle() {
    static const std::vector<Complex> table = [] {
        std::vector<Complex> t(circle_points);
        for (std::size_t i = 0; i < circle_points; ++i)
            t[i] = std::polar(1.0, two_pi * static_cast<double>(i) / circle_points);
        return t;
    }();
    return table;
}

// I1(k) / I0(k) by its asymptotic series: to 2e-9 from k = 100, 1e-11 from 400.
double bessel_ratio_series(double k) {
    const double u = 1 / k;
    return 1 - u / 2 - u * u / 8 - u * u * u / 8;
}

// I1(k) / I0(k): Abramowitz and Stegun's polynomials 9.8.1-9.8.4 (each to 2e-7 relative)
// up to 400, then the series.
double bessel_ratio(double k) {
    if (k > 400) return bessel_ratio_series(k);
    if (k <= 3.75) {
        const double t = (k / 3.75) * (k / 3.75);
        const double i0 =
            1 + t * (3.5156229 + t * (3.0899424 + t * (1.2067492 + t * (0.2659732 + t * (0.0360768 + t * 0.0045813)))));
        const double i1 =
            k *
            (0.5 + t * (0.87890594 +
                        t * (0.51498869 + t * (0.15084934 + t * (0.02658733 + t * (0.00301532 + t * 0.00032411))))));
        return i1 / i0;
    }
    const double t = 3.75 / k;
    const double i0 =
        0.39894228 +
        t * (0.01328592 +
             t * (0.00225319 +
                  t * (-0.00157565 +
                       t * (0.00916281 + t * (-0.02057706 + t * (0.02635537 + t * (-0.01647633 + t * 0.00392377)))))));
    const double i1 =
        0.39894228 +
        t * (-0.03988024 +
             t * (-0.00362018 +
                  t * (0.00163801 +
                       t * (-0.01031555 + t * (0.02282967 + t * (-0.02895312 + t * (0.01787654 - t * 0.00420059)))))));
    return i1 / i0;
}

}  // namespace

Complex on_circle_isotropic(Complex v, double variance, double radius) {
    const double length = std::sqrt(std::norm(v));  // not std::abs: hypot's care costs here
    if (length == 0) return 0;
    if (!(variance > 0)) return v * (radius / length);
    return v * (radius * bessel_ratio(radius * length / variance) / length);
}

Complex on_circle(Complex v, const std::array<double, 3>& cov, double radius) {
    const double length = std::abs(v);
    if (length == 0) return 0;
    const double det = cov[0] * cov[2] - cov[1] * cov[1];
    if (!(cov[0] + cov[2] > 0) || !(det > 0)) return v * (radius / length);
    // The log density over the circle: l(theta) = R m' u - R^2 u' L u / 2, u = (cos, sin),
    // L the inverse covariance, m = L v.
    const double l00 = cov[2] / det, l01 = -cov[1] / det, l11 = cov[0] / det;
    const double mx = l00 * v.real() + l01 * v.imag(), my = l01 * v.real() + l11 * v.imag();
    const double r2 = radius * radius;
    // A peak of l, climbed to by Newton's method from theta: where, its curvature -l'', its
    // height l and l''' (the skew).
    struct Peak {
        double theta, curvature, height, skew;
    };
    auto climb = [&](double theta) {
        double c = std::cos(theta), s = std::sin(theta), curvature = 0;
        for (int i = 0; i < 8; ++i) {
            const double slope = radius * (my * c - mx * s) - r2 * ((l11 - l00) * s * c + l01 * (c * c - s * s));
            curvature = radius * (mx * c + my * s) + r2 * ((l11 - l00) * (c * c - s * s) - 4 * l01 * s * c);
            if (!(curvature > 0) || std::abs(slope) <= 1e-12 * curvature) break;
            theta += slope / curvature, c = std::cos(theta), s = std::sin(theta);
        }
        return Peak{theta, curvature,
                    radius * (mx * c + my * s) - r2 * (l00 * c * c + 2 * l01 * c * s + l11 * s * s) / 2,
                    radius * (mx * s - my * c) - 4 * r2 * ((l00 - l11) * s * c - l01 * (c * c - s * s))};
    };
    // l is R |m| cos(theta - a) minus a second harmonic of amplitude R^2 gap / 4 (gap: between
    // L's eigenvalues): one peak when R |m| >= R^2 gap (a generalised von Mises law), else
    // perhaps two: the circle crossing twice the band the data pin down (along L's first
    // eigenvector e, at v.e), from where the climbs start.
    const double half_gap = std::sqrt((l00 - l11) * (l00 - l11) / 4 + l01 * l01);
    std::array<Peak, 3> peaks;
    std::size_t found = 0;
    auto add = [&](const Peak& p) {
        for (std::size_t j = 0; j < found; ++j)
            if (std::abs(std::remainder(p.theta - peaks[j].theta, two_pi)) < 1e-6) return;
        peaks[found++] = p;
    };
    add(climb(std::arg(v)));
    if (std::hypot(mx, my) < 2 * radius * half_gap) {
        const double axis = std::atan2(2 * l01, l00 - l11) / 2;
        const double along = std::clamp((v.real() * std::cos(axis) + v.imag() * std::sin(axis)) / radius, -1.0, 1.0);
        add(climb(axis + std::acos(along)));
        add(climb(axis - std::acos(along)));
    }
    // Every peak sharp (the phase's standard deviation below 0.1 rad): Laplace's expansion
    // at each, its mean phase moved by the skew (l''' / (2 k^2)) and the length of a von
    // Mises law of its curvature k (bessel_ratio_series), the peaks weighted by their mass,
    // e^l sqrt(2 pi / k).
    bool sharp = true;
    double highest = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < found; ++j)
        sharp = sharp && peaks[j].curvature > 100, highest = std::max(highest, peaks[j].height);
    if (sharp) {
        Complex sum = 0;
        double total = 0;
        for (std::size_t j = 0; j < found; ++j) {
            const Peak& p = peaks[j];
            const double u = 1 / p.curvature, mass = std::exp(p.height - highest) * std::sqrt(u);
            sum += mass * std::polar(bessel_ratio_series(p.curvature), p.theta + p.skew * u * u / 2);
            total += mass;
        }
        return sum * (radius / total);
    }
    // Else the mean over the circle by the trapezoid rule, exact to rounding once the
    // points resolve exp(l): its Fourier coefficients fall as exp(-n^2 / (2 A)), A the
    // swing of l, so 6 sqrt(A) + 8 points leave a relative error below 1e-8.
    const double swing = radius * std::hypot(mx, my) + r2 * half_gap;
    std::size_t points = 16;
    while (points < circle_points && static_cast<double>(points) < 6 * std::sqrt(swing) + 8) points *= 2;
    const auto& circle = unit_circle();
    const std::size_t step = circle_points / points;
    thread_local std::vector<double> log_density;
    log_density.resize(points);
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < points; ++i) {
        const double x = circle[i * step].real(), y = circle[i * step].imag();
        const double l = radius * (mx * x + my * y) - r2 * (l00 * x * x + 2 * l01 * x * y + l11 * y * y) / 2;
        log_density[i] = l, top = std::max(top, l);
    }
    Complex sum = 0;
    double total = 0;
    for (std::size_t i = 0; i < points; ++i) {
        const double weight = std::exp(log_density[i] - top);
        sum += weight * circle[i * step], total += weight;
    }
    return sum * (radius / total);
}

CalibratedTracker::CalibratedTracker(const KalmanFit& fit, const Task& task, double sample_rate, double start_time)
    : tracker_(task, sample_rate, start_time, fit.settings), w_(task.size()), exact_(fit.settings.exact_circle) {
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
        // the covariance of V is M P M', whose trace is |c|^2 trace(P).
        const auto [paa, pab, pbb] = tracker_.covariance(k);
        if (!exact_) {
            y[k] = on_circle_isotropic(v, std::norm(gains_[k]) * (paa + pbb) / 2, radii_[k]).real();
            continue;
        }
        const Complex c = gains_[k] * std::conj(tracker_.phasor(k));
        const double cr = c.real(), ci = c.imag();
        const double vrr = cr * cr * paa + 2 * cr * ci * pab + ci * ci * pbb;
        const double vri = cr * ci * paa + (ci * ci - cr * cr) * pab - cr * ci * pbb;
        const double vii = ci * ci * paa - 2 * ci * cr * pab + cr * cr * pbb;
        y[k] = on_circle(v, {vrr, vri, vii}, radii_[k]).real();
    }
}

namespace {

// The tracker's estimates over a record's one channel, restarted at each sample in
// `restarts`, from sample `from` on (the samples before it skipped, their outputs 0):
// out[k][t], component k's at sample t.
std::vector<std::vector<double>> run(CalibratedTracker& tracker, const Input& input, std::size_t components,
                                     const std::vector<std::size_t>& restarts, std::size_t from) {
    std::vector<std::vector<double>> out(components, std::vector<double>(input.size()));
    std::vector<double> y(components);
    auto next = restarts.begin();
    for (std::size_t t = 0; t < std::min(from, input.size()); ++t) tracker.skip();
    for (std::size_t t = from; t < input.size(); ++t) {
        for (; next != restarts.end() && *next <= t; ++next)
            if (*next == t) tracker.restart();
        tracker.push(input.channels[0][t], y.data());
        for (std::size_t k = 0; k < components; ++k) out[k][t] = y[k];
    }
    return out;
}

void check_one_channel(const Input& input) {
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("kalman reads one input channel, '{}' has {}", input.name, input.channels.size()));
}

}  // namespace

std::vector<std::vector<double>> KalmanFit::estimates(const Input& input, const Task& task,
                                                      const std::vector<std::size_t>& restarts,
                                                      std::size_t from) const {
    check_one_channel(input);
    CalibratedTracker tracker(*this, task, input.sample_rate, input.start_time);
    return run(tracker, input, task.size(), restarts, from);
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
        check_one_channel(r.input);
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
    // The calibration is the mix's own gain on each reference, regressed on every sample
    // once: the filter is unbiased for the mix's tones once locked on, and a gain fitted to
    // its estimates would weigh its slowly varying errors, the lock-on's most (measured on
    // quickstart's source over 20 unseen records: steady 5.6e-6 against 5.3e-6 this way).
    if (calibrate) fit.gains = fit_source_gains(records);
    // q is judged once the filter has locked on: after the first second where a record is
    // over twice as long (q sets how it tracks, not how it locks on).
    auto locked_on = [](const Record& r) {
        const auto second = static_cast<std::size_t>(r.input.sample_rate);
        return r.size() > 2 * second ? second : 0;
    };
    if (!settings.rls && q_given == 0) {
        if (!calibrate)
            throw std::runtime_error("q = 0 is chosen on the training records' truth: give q, or calibrate");
        double best = std::numeric_limits<double>::infinity();
        for (double rel = 1e-12; rel <= 1.001e-3; rel *= 10) {
            KalmanFit candidate = fit;
            candidate.settings.q = rel * power;
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
    }
    return fit;
}

}  // namespace sigx::classical
