#include "tracker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace sigx::classical {

using Complex = std::complex<double>;

namespace {

// a b without the library's checks for infinities and NaN (a call per product in GCC).
inline Complex mul(Complex a, Complex b) {
    return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// z e^{i x}: the rotation by a short series where x is small (a frequency offset's step:
// exact to rounding below 1e-2), else exactly. In place, on the parts: a std::complex
// returned through memory stalls on store forwarding in this loop.
[[gnu::noinline]] void turn_far(double x, double& re, double& im) {
    const double c = std::cos(x), s = std::sin(x), r = re;
    re = r * c - im * s, im = r * s + im * c;
}
inline void turn(double x, double& re, double& im) {
    if (std::abs(x) > 1e-2) return turn_far(x, re, im);
    const double x2 = x * x, c = 1 - x2 / 2 * (1 - x2 / 12), s = x * (1 - x2 / 6 * (1 - x2 / 20)), r = re;
    re = r * c - im * s, im = r * s + im * c;
}

// Dense n x n matrices, row-major, for a family's covariance. The kernels come in fixed
// sizes for the common families (a tone, a tone with its frequency, with one or two
// harmonics: n = 2, 4, 6, 8), fully unrolled, and for any n (N = 0).
template <std::size_t N> struct Dense {
    // info += w h h', its upper triangle (inform() reads that alone)
    static void accumulate(double* __restrict info, const double* __restrict h, double w, std::size_t n) {
        if constexpr (N > 0) n = N;
#pragma GCC unroll 8
        for (std::size_t i = 0; i < n; ++i) {
            const double a = h[i] * w;
#pragma GCC unroll 8
            for (std::size_t j = i; j < n; ++j) info[i * n + j] += a * h[j];
        }
    }
    // P <- (P^-1 + J)^-1 = (I + P J)^-1 P: the covariance after information J. I + P J is
    // well conditioned (its eigenvalues are >= 1) whatever P's, so LU with partial
    // pivoting serves; the result is symmetrised. `a` and `x` are n x n work space.
    static void inform(double* __restrict p, double* __restrict info, double* __restrict a, double* __restrict x,
                       std::size_t n) {
        if constexpr (N > 0) n = N;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < i; ++j) info[i * n + j] = info[j * n + i];  // the lower triangle
        for (std::size_t i = 0; i < n; ++i) {
#pragma GCC unroll 8
            for (std::size_t j = 0; j < n; ++j) a[i * n + j] = i == j ? 1.0 : 0.0;
            for (std::size_t k = 0; k < n; ++k) {
                const double pik = p[i * n + k];
#pragma GCC unroll 8
                for (std::size_t j = 0; j < n; ++j) a[i * n + j] += pik * info[k * n + j];
            }
        }
        for (std::size_t i = 0; i < n * n; ++i) x[i] = p[i];
        for (std::size_t c = 0; c < n; ++c) {  // LU, the same row operations on x
            std::size_t pivot = c;
            for (std::size_t r = c + 1; r < n; ++r)
                if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
            if (pivot != c)
                for (std::size_t j = 0; j < n; ++j)
                    std::swap(a[c * n + j], a[pivot * n + j]), std::swap(x[c * n + j], x[pivot * n + j]);
            const double inv = 1.0 / a[c * n + c];
            for (std::size_t r = c + 1; r < n; ++r) {
                const double f = a[r * n + c] * inv;
                for (std::size_t j = c; j < n; ++j) a[r * n + j] -= f * a[c * n + j];
#pragma GCC unroll 8
                for (std::size_t j = 0; j < n; ++j) x[r * n + j] -= f * x[c * n + j];
            }
        }
        for (std::size_t c = n; c-- > 0;) {  // back substitution
            const double inv = 1.0 / a[c * n + c];
            for (std::size_t k = c + 1; k < n; ++k) {
                const double f = a[c * n + k];
#pragma GCC unroll 8
                for (std::size_t j = 0; j < n; ++j) x[c * n + j] -= f * x[k * n + j];
            }
#pragma GCC unroll 8
            for (std::size_t j = 0; j < n; ++j) x[c * n + j] *= inv;
        }
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) p[i * n + j] = 0.5 * (x[i * n + j] + x[j * n + i]);
    }
};

// The kernels of one size, chosen once per family.
struct Kernels {
    void (*accumulate)(double*, const double*, double, std::size_t);
    void (*inform)(double*, double*, double*, double*, std::size_t);
};
template <std::size_t N> constexpr Kernels kernels_of{&Dense<N>::accumulate, &Dense<N>::inform};
Kernels kernels_for(std::size_t n) {
    switch (n) {
    case 2: return kernels_of<2>;
    case 4: return kernels_of<4>;
    case 6: return kernels_of<6>;
    case 8: return kernels_of<8>;
    default: return kernels_of<0>;
    }
}

}  // namespace

// One family's filter. States: [theta, nu] when its frequency is tracked, then (a_m, b_m)
// per member. The covariance P and the mean are updated once per block of `length`
// samples, from the block's information: J = sum of h h' / r and b = sum of h e / r over
// its samples, h and the innovations e taken against the block's first state (one
// Gauss-Newton step of the batch, exactly the Kalman update of those samples were the
// model linear): P+ = (P^-1 + J)^-1, mean + P+ b. Within a block the output follows the
// block's first state (its phase advancing by nu), so an estimate lags the data by at
// most a block (settings.block, 4 ms): far below the time in which a tone's amplitude or
// frequency moves. Blocks start at one sample and lengthen as the filter locks on (one
// more for every 256 samples), since the gains are large and change fast at first. On
// the hum recordings this measures the same as one update per sample (block = 0), at a
// fifth of the cost.
struct FrequencyTracker::Family {
    struct Member {
        std::size_t index;    // in the task
        double ratio;         // f_m / f_head
        Complex start, step;  // phasor at sample 0, the nominal step
        Complex z, c, w;      // phasor now, amplitude a - i b, estimate c z
    };
    std::vector<Member> members;
    double omega0 = 0;                     // the head's nominal step, rad per sample
    double nu_max = 0;                     // the tolerance, rad per sample (0: the frequency is not a state)
    std::size_t off = 0, n = 0;            // first amplitude state (2 or 0), state count
    std::vector<double> p, info, b, h, q;  // covariance, the block's J and b, Jacobian, process noise per sample
    std::vector<double> p_start, a, x;     // the prior; work space
    double nu = 0;
    double pending = 0;  // the last update's phase correction, not yet turned into z
    std::size_t block = 1, at = 0, length = 1, samples = 0;
    Kernels kernels{};

    void reset() {
        for (auto& m : members) m.z = m.start, m.c = m.w = 0;
        p = p_start;
        std::fill(info.begin(), info.end(), 0.0);
        std::fill(b.begin(), b.end(), 0.0);
        nu = 0, pending = 0, at = 0, length = 1, samples = 0;
    }

    // Advances one sample (the phase by the nominal step, nu and the last correction);
    // the mix's predicted part (added to `predicted`) and h, against the block's first
    // state (nu's entry counts the samples since: theta moved by nu at each).
    void predict(double& predicted) {
        const bool renormalise = ++samples % 64 == 0;  // |z| = 1 to rounding
        double dtheta = 0;
        for (std::size_t j = 0; j < members.size(); ++j) {
            Member& m = members[j];
            const Complex v = mul(m.z, m.step);
            double re = v.real(), im = v.imag();
            if (off) turn(m.ratio * (nu + pending), re, im);
            const double keep = renormalise ? 1.5 - 0.5 * (re * re + im * im) : 1.0;
            m.z = {re * keep, im * keep};
            m.w = mul(m.c, m.z);
            predicted += m.w.real();
            dtheta -= m.ratio * m.w.imag();
            h[off + 2 * j] = m.z.real(), h[off + 2 * j + 1] = m.z.imag();
        }
        if (off) h[0] = dtheta, h[1] = static_cast<double>(at) * dtheta;
        pending = 0;
    }

    // Innovation e, of noise variance r, into the block's information; at its end, the
    // update.
    void update(double e, double r) {
        const double w = 1.0 / r, we = e * w;
        for (std::size_t i = 0; i < n; ++i) b[i] += h[i] * we;
        kernels.accumulate(info.data(), h.data(), w, n);
        if (++at == length) close_block();
    }

    // The block's update, then P carried to the next block's first sample: theta
    // advances by nu at each of the block's samples, and every state takes its process
    // noise.
    void close_block() {
        kernels.inform(p.data(), info.data(), a.data(), x.data(), n);
        std::fill(info.begin(), info.end(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {  // the correction P+ b, in h's place (rebuilt every sample)
            double v = 0;
            for (std::size_t j = 0; j < n; ++j) v += p[i * n + j] * b[j];
            h[i] = v;
        }
        std::fill(b.begin(), b.end(), 0.0);
        for (std::size_t j = 0; j < members.size(); ++j) members[j].c += Complex(h[off + 2 * j], -h[off + 2 * j + 1]);
        const double k = static_cast<double>(at);
        if (off) {  // the block's last sample moves by its first's correction and (k - 1) times nu's
            pending = h[0] + (k - 1) * h[1];
            nu = std::clamp(nu + h[1], -nu_max, nu_max);
            const double p01 = p[1], p11 = p[n + 1];  // F = I + k e_theta e_nu'
            p[0] += 2 * k * p01 + k * k * p11;
            for (std::size_t j = 1; j < n; ++j) {
                const double v = p[j] + k * p[n + j];
                p[j] = v, p[j * n] = v;
            }
        }
        for (std::size_t i = 0; i < n; ++i) p[i * n + i] += k * q[i];
        for (auto& m : members) {  // the estimate, corrected (e^{i d} to first order: d is tiny)
            const Complex w = mul(m.c, m.z);
            const double d = m.ratio * pending;
            m.w = {w.real() - d * w.imag(), w.imag() + d * w.real()};
        }
        at = 0;
        length = std::min(block, 1 + samples / 256);
    }

    // Member j's variance of Re W: g' P g over (theta, a_j, b_j), P the block's.
    double variance(std::size_t j) const {
        const Member& m = members[j];
        const std::size_t ia = off + 2 * j, ib = ia + 1;
        const double gt = off ? -m.ratio * m.w.imag() : 0, ga = m.z.real(), gb = m.z.imag();
        double v = ga * ga * p[ia * n + ia] + gb * gb * p[ib * n + ib] + 2 * ga * gb * p[ia * n + ib];
        if (off) v += gt * gt * p[0] + 2 * gt * (ga * p[ia] + gb * p[ib]);
        return std::max(v, 0.0);
    }
};

FrequencyTracker::FrequencyTracker(const Task& task, double sample_rate, double start_time,
                                   const TrackerSettings& settings)
    : components_(task.size()), settings_(settings), hz_per_step_(sample_rate / two_pi) {
    if (settings_.p0.size() != task.size() || settings_.q_amplitude.size() != task.size())
        throw std::runtime_error(
            fmt::format("the tracker has priors for {} components, the task has {}", settings_.p0.size(), task.size()));
    for (std::size_t k = 0; k < task.size(); ++k) {
        const Component& head = task.components[k];
        if (head.fundamental >= 0) continue;
        Family f;
        f.omega0 = two_pi * head.frequency / sample_rate;
        f.nu_max = two_pi * head.tolerance / sample_rate;
        f.off = f.nu_max > 0 ? 2 : 0;
        for (std::size_t j = 0; j < task.size(); ++j)
            if (j == k || task.components[j].fundamental == static_cast<std::int64_t>(k)) {
                const double ratio = task.components[j].frequency / head.frequency, step = ratio * f.omega0;
                f.members.push_back(
                    {j, ratio, std::polar(1.0, step * start_time * sample_rate), std::polar(1.0, step), {}, {}, {}});
            }
        f.n = f.off + 2 * f.members.size();
        const std::size_t nn = f.n * f.n;
        f.p_start.assign(nn, 0.0), f.info.assign(nn, 0.0), f.a.assign(nn, 0.0), f.x.assign(nn, 0.0);
        f.q.assign(f.n, 0.0), f.h.assign(f.n, 0.0), f.b.assign(f.n, 0.0);
        f.block = std::max<std::size_t>(1, static_cast<std::size_t>(settings_.block * sample_rate));
        f.kernels = kernels_for(f.n);
        if (f.off) {
            // nu uniform within the tolerance: variance tol^2 / 3; theta known (it is a frame).
            f.p_start[f.n + 1] = f.nu_max * f.nu_max / 3;
            f.q[1] = settings_.q_frequency / sample_rate * std::pow(two_pi / sample_rate, 2);
        }
        for (std::size_t j = 0; j < f.members.size(); ++j) {
            const std::size_t index = f.members[j].index;
            for (std::size_t i = f.off + 2 * j; i < f.off + 2 * j + 2; ++i) {
                f.p_start[i * f.n + i] = settings_.p0[index];
                f.q[i] = settings_.q_amplitude[index] * settings_.p0[index] / sample_rate;
            }
        }
        families_.push_back(std::move(f));
    }
    reset();
}

FrequencyTracker::~FrequencyTracker() = default;
FrequencyTracker::FrequencyTracker(FrequencyTracker&&) noexcept = default;
FrequencyTracker& FrequencyTracker::operator=(FrequencyTracker&&) noexcept = default;

void FrequencyTracker::reset() {
    for (auto& f : families_) f.reset();
}

void FrequencyTracker::push(double x, TrackerOutput& out, bool variance) {
    double predicted = 0;
    for (auto& f : families_) f.predict(predicted);
    const double e = x - predicted;
    // Robust: an innovation far beyond the noise (a burst of speech) counts as noise of
    // about its own size, so its pull on the state shrinks as 1 / e.
    const double noise = std::max(settings_.r, settings_.robust * e * e);
    for (auto& f : families_) f.update(e, noise);
    out.w.resize(components_), out.frequency.resize(components_);
    if (variance) out.variance.resize(components_);
    for (const auto& f : families_)
        for (std::size_t j = 0; j < f.members.size(); ++j) {
            const auto& m = f.members[j];
            out.w[m.index] = m.w;
            out.frequency[m.index] = m.ratio * (f.omega0 + f.nu) * hz_per_step_;
            if (variance) out.variance[m.index] = f.variance(j);
        }
}

Tracked track(const Input& input, const Task& task, const TrackerSettings& settings, bool smooth) {
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("the tracker reads one input channel, '{}' has {}", input.name, input.channels.size()));
    const std::size_t n = input.size(), kc = task.size();
    const double fs = input.sample_rate;
    Tracked out{Analytic(kc, std::vector<Complex>(n)), std::vector<std::vector<double>>(kc, std::vector<double>(n))};
    const Samples& x = input.channels[0];
    TrackerOutput o;
    FrequencyTracker forward(task, fs, input.start_time, settings);
    if (!smooth) {
        for (std::size_t t = 0; t < n; ++t) {
            forward.push(x[t], o);
            for (std::size_t k = 0; k < kc; ++k) out.w[k][t] = o.w[k], out.frequency[k][t] = o.frequency[k];
        }
        return out;
    }
    // Forward, keeping each estimate's variance; then backward over the reversed record
    // (a tone reversed in time is the same tone: its analytic estimate comes back
    // conjugated), each sample's two estimates weighted by their inverse variances.
    std::vector<std::vector<double>> var(kc, std::vector<double>(n)), fvar(kc, std::vector<double>(n));
    for (std::size_t t = 0; t < n; ++t) {
        forward.push(x[t], o, true);
        for (std::size_t k = 0; k < kc; ++k) {
            out.w[k][t] = o.w[k], out.frequency[k][t] = o.frequency[k];
            var[k][t] = o.variance[k];
        }
    }
    FrequencyTracker backward(task, fs, 0.0, settings);
    for (std::size_t t = n; t-- > 0;) {
        backward.push(x[t], o, true);
        for (std::size_t k = 0; k < kc; ++k) {
            const double vf = var[k][t] + 1e-300, vb = o.variance[k] + 1e-300;
            const double wf = vb / (vf + vb);
            out.w[k][t] = wf * out.w[k][t] + (1 - wf) * std::conj(o.w[k]);
            out.frequency[k][t] = wf * out.frequency[k][t] + (1 - wf) * o.frequency[k];
        }
    }
    (void)fvar;
    return out;
}

std::string TrackerFit::text() const {
    std::string s =
        fmt::format("{:a} {:a} {:a}\n{}\n", settings.q_frequency, settings.r, settings.robust, settings.p0.size());
    for (std::size_t k = 0; k < settings.p0.size(); ++k)
        s += fmt::format("{:a} {:a}\n", settings.q_amplitude[k], settings.p0[k]);
    return s + gains_text(gains);
}

TrackerFit TrackerFit::read(StateText& in, std::size_t components, bool calibrated) {
    constexpr double big = std::numeric_limits<double>::max(), tiny = std::numeric_limits<double>::denorm_min();
    TrackerFit fit;
    fit.settings.q_frequency = in.number("q_frequency", 0, big);
    fit.settings.r = in.number("noise variance", tiny, big);
    fit.settings.robust = in.number("robustness", 0, big);
    const std::size_t count = in.count("component count", 1u << 16);
    if (count != components) in.fail(fmt::format("holds a fit for {} components, the task has {}", count, components));
    for (std::size_t k = 0; k < components; ++k) {
        fit.settings.q_amplitude.push_back(in.number("q_amplitude", 0, big));
        fit.settings.p0.push_back(in.number("prior", tiny, big));
    }
    if (calibrated) fit.gains = read_gains(in, components);
    in.end();
    return fit;
}

TrackerFit fit_tracker(const Records& train, const TrackerSearch& search, bool smooth, bool calibrate,
                       const std::function<bool()>& cancelled) {
    if (train.empty()) throw std::runtime_error("the tracker needs training records to set its noise levels");
    const std::size_t kc = train.front().task.size();
    // Each component's power in the mix is its prior, and what else the mix holds the
    // observation noise: from the truth where the records have one (the component is its
    // nominal gain times its reference), else from a whole-record least-squares fit at the
    // nominal frequencies (which a drifting tone escapes in part).
    double power = 0, residual = 0, samples = 0;
    std::vector<double> tone_power(kc, 0.0);
    for (const auto& r : train) {
        if (r.input.channels.size() != 1)
            throw std::runtime_error(
                fmt::format("the tracker reads one input channel, '{}' has {}", r.input.name, r.input.channels.size()));
        const bool truth = calibrate && r.truth;
        const auto w = truth ? Analytic{} : lsq_analytic(r.input, r.task, {});
        for (std::size_t t = 0; t < r.size(); ++t) {
            double fitted = 0;
            for (std::size_t k = 0; k < kc; ++k) {
                const double part = truth ? r.task.components[k].gain * r.truth->references[k][t] : w[k][t].real();
                fitted += part, tone_power[k] += part * part;
            }
            const double x = r.input.channels[0][t];
            power += x * x, residual += (x - fitted) * (x - fitted), samples += 1;
        }
    }
    for (double& p : tone_power) p /= samples;
    power /= samples, residual /= samples;
    TrackerFit fit;
    fit.mix_power = power;
    TrackerSettings& s = fit.settings;
    for (std::size_t k = 0; k < kc; ++k) s.p0.push_back(std::max(tone_power[k], 1e-12 * power + 1e-300));
    s.r = search.r > 0 ? search.r : std::max(residual, 1e-12 * power + 1e-300);
    s.q_amplitude.assign(kc, search.q_amplitude > 0 ? search.q_amplitude : 0.1);
    s.q_frequency = search.q_frequency > 0 ? search.q_frequency : 1e-3;
    s.robust = search.robust >= 0 ? search.robust : 3.0;
    if (calibrate) check_truth(train);
    std::vector<const Record*> records;
    for (const auto& r : train) records.push_back(&r);
    std::vector<Analytic> estimates;
    auto gains_for = [&](const TrackerSettings& candidate) {
        estimates.clear();
        for (const auto* r : records) estimates.push_back(track(r->input, r->task, candidate, smooth).w);
        return fit_gains(records, [&](const Record& r) -> Analytic {
            return estimates[static_cast<std::size_t>(&r - &train.front())];
        });
    };
    // The calibrated squared error over every training sample, of `candidate`.
    auto score = [&](const TrackerSettings& candidate, std::vector<std::complex<double>>& gains) {
        gains = gains_for(candidate);
        double err = 0;
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto& r = *records[i];
            for (std::size_t k = 0; k < kc; ++k)
                for (std::size_t t = 0; t < r.size(); ++t) {
                    const double d = (gains[k] * estimates[i][k][t]).real() - r.truth->references[k][t];
                    err += d * d;
                }
        }
        return err;
    };
    // The open values, each a coordinate: searched over {1/10, 1/3, 3, 10} times its
    // current value, twice round.
    std::vector<double*> open;
    if (search.robust < 0) open.push_back(&s.robust);
    if (search.r == 0) open.push_back(&s.r);
    if (search.q_frequency == 0) open.push_back(&s.q_frequency);
    if (search.q_amplitude == 0)
        for (auto& q : s.q_amplitude) open.push_back(&q);
    if (!open.empty() && !calibrate)
        throw std::runtime_error(
            "the noise levels are searched against the training records' truth: give them, or "
            "calibrate");
    std::vector<std::complex<double>> gains;
    double best = calibrate ? score(s, gains) : 0;
    if (calibrate) fit.gains = gains;
    for (int round = 0; round < 2; ++round)
        for (double* x : open)
            for (double factor : {0.1, 1 / 3.0, 3.0, 10.0}) {
                if (cancelled && cancelled()) return fit;
                const double was = *x;
                *x = was * factor;
                const double err = score(s, gains);
                if (err < best)
                    best = err, fit.gains = gains;
                else
                    *x = was;
            }
    return fit;
}

}  // namespace sigx::classical
