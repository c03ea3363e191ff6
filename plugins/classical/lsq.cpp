#include "lsq.hpp"
#include "phasor.hpp"

#include <limits>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace sigx::classical {

namespace {

using Matrix = std::vector<double>;  // row-major, n x n

// Inverse of a symmetric positive definite matrix (Gram + ridge) by Cholesky.
Matrix spd_inverse(Matrix g, std::size_t n, double ridge) {
    double trace = 0;
    for (std::size_t i = 0; i < n; ++i) trace += g[i * n + i];
    for (std::size_t i = 0; i < n; ++i) g[i * n + i] += ridge + 1e-12 * trace / static_cast<double>(n) + 1e-300;
    for (std::size_t j = 0; j < n; ++j) {  // g <- L (lower triangle)
        double d = g[j * n + j];
        for (std::size_t k = 0; k < j; ++k) d -= g[j * n + k] * g[j * n + k];
        d = std::sqrt(std::max(d, 1e-300));
        g[j * n + j] = d;
        for (std::size_t i = j + 1; i < n; ++i) {
            double s = g[i * n + j];
            for (std::size_t k = 0; k < j; ++k) s -= g[i * n + k] * g[j * n + k];
            g[i * n + j] = s / d;
        }
    }
    Matrix inv(n * n, 0.0);
    std::vector<double> col(n);
    for (std::size_t c = 0; c < n; ++c) {
        for (std::size_t i = 0; i < n; ++i) {  // L y = e_c
            double s = (i == c) ? 1.0 : 0.0;
            for (std::size_t k = 0; k < i; ++k) s -= g[i * n + k] * col[k];
            col[i] = s / g[i * n + i];
        }
        for (std::size_t i = n; i-- > 0;) {  // L^T x = y
            double s = col[i];
            for (std::size_t k = i + 1; k < n; ++k) s -= g[k * n + i] * col[k];
            col[i] = s / g[i * n + i];
        }
        for (std::size_t i = 0; i < n; ++i) inv[i * n + c] = col[i];
    }
    return inv;
}

void check_component_count(std::size_t kc) {
    if (kc > lsq_max_components)
        throw std::runtime_error(
            fmt::format("least squares over {} components: at most {} (the joint fit's matrix "
                        "grows with their square)",
                        kc, lsq_max_components));
}

}  // namespace

SlidingLsq::SlidingLsq(const Task& task, double sample_rate, double start_time, const LsqOptions& options)
    : window_(options.window), kc_(task.size()), dim_(2 * kc_), ridge_(options.ridge) {
    if (window_ == 0) throw std::runtime_error("a sliding least-squares fit needs a window");
    check_component_count(kc_);
    for (const auto& c : task.components) {
        omegas_.push_back(two_pi * c.frequency / sample_rate);
        now0_.emplace_back(c.frequency, sample_rate, start_time);
    }
    reset();
}

void SlidingLsq::reset() {
    now_ = start_ = now0_;
    gram_.assign(dim_ * dim_, 0.0);
    inv_.clear();
    length_ = t_ = 0;
    x_.assign(kc_, 0.0);
    last_.assign(kc_, 1.0);
    ring_.assign(kc_, {});
    for (auto& r : ring_) r.reserve(std::min<std::size_t>(window_, 1 << 16));
    b_.assign(dim_, 0.0);
    coef_.assign(dim_, 0.0);
    folded_.clear();
}

// In window-relative time tau = 0 .. M-1 the basis cos(w_k tau), sin(w_k tau) does not
// depend on where the window lies, so its Gram matrix depends on the length M only:
// this adds tau = M.
void SlidingLsq::grow_gram() {
    std::vector<double> f(dim_);
    const double tau = static_cast<double>(length_);
    for (std::size_t k = 0; k < kc_; ++k)
        f[2 * k] = std::cos(omegas_[k] * tau), f[2 * k + 1] = std::sin(omegas_[k] * tau);
    for (std::size_t i = 0; i < dim_; ++i)
        for (std::size_t j = 0; j < dim_; ++j) gram_[i * dim_ + j] += f[i] * f[j];
    ++length_;
    inv_ = spd_inverse(gram_, dim_, ridge_);  // fixed once the window is full
    for (std::size_t k = 0; k < kc_; ++k) last_[k] = std::polar(1.0, omegas_[k] * static_cast<double>(length_ - 1));
}

void SlidingLsq::slide(double sample) {
    // X_k = sum over the window of x[m] e^{-i w_k t_m}: a running sum, the products that
    // leave the window kept in a ring buffer.
    const std::size_t slot = t_ % window_;
    for (std::size_t k = 0; k < kc_; ++k) {
        const std::complex<double> p = sample * now_[k].value();
        if (t_ >= window_) {
            x_[k] -= ring_[k][slot];
            ring_[k][slot] = p;
            start_[k].advance();
        } else {
            ring_[k].push_back(p);
        }
        x_[k] += p;
        now_[k].advance();
    }
    ++t_;
    if (length_ < window_) grow_gram();
    // b: the window's correlations with the relative basis, C_k = X_k e^{+i w_k t_s}:
    // sum x cos = Re C_k,  sum x sin = -Im C_k.
    for (std::size_t k = 0; k < kc_; ++k) {
        const std::complex<double> c = x_[k] * std::conj(start_[k].value());
        b_[2 * k] = c.real(), b_[2 * k + 1] = -c.imag();
    }
}

void SlidingLsq::fit() {  // coef = G^-1 b
    for (std::size_t i = 0; i < dim_; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < dim_; ++j) s += inv_[i * dim_ + j] * b_[j];
        coef_[i] = s;
    }
}

void SlidingLsq::push(double sample, std::complex<double>* w) {
    slide(sample);
    fit();
    // a cos(w tau) + b sin(w tau) = Re((a - i b) e^{i w tau}), at the window's last sample
    for (std::size_t k = 0; k < kc_; ++k) w[k] = std::complex<double>(coef_[2 * k], -coef_[2 * k + 1]) * last_[k];
}

void SlidingLsq::push(double sample, const std::vector<std::complex<double>>& gains, double* y) {
    slide(sample);
    if (length_ == window_ && folded_.empty()) {
        // Re(g W_k) = Re(a (c_2k - i c_2k+1)) with a = g last_k: a.re c_2k + a.im c_2k+1, c = G^-1 b.
        folded_.assign(kc_ * dim_, 0.0);
        for (std::size_t k = 0; k < kc_; ++k) {
            const std::complex<double> a = gains[k] * last_[k];
            for (std::size_t j = 0; j < dim_; ++j)
                folded_[k * dim_ + j] = a.real() * inv_[2 * k * dim_ + j] + a.imag() * inv_[(2 * k + 1) * dim_ + j];
        }
    }
    if (folded_.empty()) {
        fit();
        for (std::size_t k = 0; k < kc_; ++k)
            y[k] = (gains[k] * std::complex<double>(coef_[2 * k], -coef_[2 * k + 1]) * last_[k]).real();
        return;
    }
    for (std::size_t k = 0; k < kc_; ++k) {
        double s = 0;
        for (std::size_t j = 0; j < dim_; ++j) s += folded_[k * dim_ + j] * b_[j];
        y[k] = s;
    }
}

std::vector<std::vector<std::complex<double>>> lsq_analytic(const Input& record, const Task& task,
                                                            const LsqOptions& options) {
    const std::size_t n = record.size(), kc = task.size();
    if (record.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("least squares reads one input channel, the record has {}", record.channels.size()));
    const Samples& mix = record.channels.front();
    check_component_count(kc);
    std::vector<std::vector<std::complex<double>>> out(kc, std::vector<std::complex<double>>(n));
    if (n == 0 || kc == 0) return out;
    if (options.window > 0) {  // causal: a window longer than the record grows up to its end
        SlidingLsq fit(task, record.sample_rate, record.start_time, options);
        std::vector<std::complex<double>> w(kc);
        for (std::size_t t = 0; t < n; ++t) {
            fit.push(mix[t], w.data());
            for (std::size_t k = 0; k < kc; ++k) out[k][t] = w[k];
        }
        return out;
    }
    // The whole record: one fit, X_k = sum x[m] e^{-i w_k t_m}, in time relative to the
    // record's start (see SlidingLsq).
    const std::size_t dim = 2 * kc;
    std::vector<double> gram(dim * dim, 0.0), b(dim), f(dim), coef(dim);
    for (std::size_t t = 0; t < n; ++t) {
        const double tau = static_cast<double>(t);
        for (std::size_t k = 0; k < kc; ++k) {
            const double w = two_pi * task.components[k].frequency / record.sample_rate;
            f[2 * k] = std::cos(w * tau), f[2 * k + 1] = std::sin(w * tau);
        }
        for (std::size_t i = 0; i < dim; ++i) {
            b[i] += mix[t] * f[i];
            for (std::size_t j = 0; j < dim; ++j) gram[i * dim + j] += f[i] * f[j];
        }
    }
    const auto inv = spd_inverse(gram, dim, options.ridge);
    for (std::size_t i = 0; i < dim; ++i)
        for (std::size_t j = 0; j < dim; ++j) coef[i] += inv[i * dim + j] * b[j];
    for (std::size_t k = 0; k < kc; ++k) {
        const double w = two_pi * task.components[k].frequency / record.sample_rate;
        const std::complex<double> a(coef[2 * k], -coef[2 * k + 1]);
        for (std::size_t t = 0; t < n; ++t) out[k][t] = a * std::polar(1.0, w * static_cast<double>(t));
    }
    return out;
}

namespace {
// Samples [begin, end) of a record (input and truth) as a record of its own.
Record slice(const Record& r, std::size_t begin, std::size_t end) {
    auto part = [&](const Samples& x) {
        return Samples(x.begin() + static_cast<std::ptrdiff_t>(begin), x.begin() + static_cast<std::ptrdiff_t>(end));
    };
    Record s;
    s.input.sample_rate = r.input.sample_rate;
    s.input.start_time = r.input.time(begin);
    for (const auto& ch : r.input.channels) s.input.channels.push_back(part(ch));
    s.task = r.task;
    s.truth.emplace();
    for (const auto& ref : r.truth->references) s.truth->references.push_back(part(ref));
    return s;
}
}  // namespace

void check_truth(const Records& records) {
    if (records.empty()) throw std::runtime_error("calibration needs at least one training record");
    for (const auto& r : records)
        if (!r.truth)
            throw std::runtime_error(fmt::format(
                "calibration needs the truth of every training record; '{}' has none (set calibrate = false)",
                r.input.name));
}

std::vector<std::complex<double>> fit_gains(const std::vector<const Record*>& records, const AnalyticFn& analytic) {
    const std::size_t kc = records.front()->task.size();
    // Per component, the normal equations of reference = gr Re(W) - gi Im(W).
    std::vector<double> srr(kc), sii(kc), sri(kc), syr(kc), syi(kc);
    for (const Record* r : records) {
        if (r->task.size() != kc) throw std::runtime_error("training records differ in their components");
        const auto w = analytic(*r);
        for (std::size_t k = 0; k < kc; ++k)
            for (std::size_t t = 0; t < r->size(); ++t) {
                const double re = w[k][t].real(), im = -w[k][t].imag(),
                             y = r->truth->references[k][t];  // Re(gW) = gr re + gi im
                srr[k] += re * re, sii[k] += im * im, sri[k] += re * im, syr[k] += y * re, syi[k] += y * im;
            }
    }
    std::vector<std::complex<double>> gains(kc);
    for (std::size_t k = 0; k < kc; ++k) {
        const double det = srr[k] * sii[k] - sri[k] * sri[k];
        if (!(std::abs(det) > 0))
            throw std::runtime_error("calibration is singular: the training records carry no signal");
        const double gr = (syr[k] * sii[k] - syi[k] * sri[k]) / det;
        const double gi = (srr[k] * syi[k] - sri[k] * syr[k]) / det;
        gains[k] = {gr, gi};  // estimate = gr Re W + gi (-Im W) = Re((gr + i gi) W)
    }
    return gains;
}

std::vector<std::complex<double>> fit_source_gains(const std::vector<const Record*>& records) {
    const std::size_t kc = records.front()->task.size(), n = 2 * kc;
    // The mix regressed jointly on every reference r_k and its quadrature q_k:
    // x = sum_k a_k r_k + b_k q_k, i.e. Re(c_k z_k) with z_k = r_k + i q_k, c_k = a_k - i b_k.
    // A tone's quadrature from its neighbours: r(t-1) - r(t+1) = 2 sin(w) q(t), w = 2 pi f / rate.
    Matrix gram(n * n, 0.0);
    std::vector<double> b(n, 0.0), v(n);
    for (const Record* r : records) {
        if (r->task.size() != kc) throw std::runtime_error("training records differ in their components");
        std::vector<double> spacing(kc);
        for (std::size_t k = 0; k < kc; ++k) {
            const auto& c = r->task.components[k];
            spacing[k] = 2 * std::sin(two_pi * c.frequency / r->input.sample_rate);
            if (!(std::abs(spacing[k]) > 1e-9))
                throw std::runtime_error(
                    fmt::format("calibration needs each tone between 0 Hz and Nyquist; '{}' is not", c.label));
        }
        const auto& x = r->input.channels.front();
        const auto& refs = r->truth->references;
        for (std::size_t t = 1; t + 1 < r->size(); ++t) {
            for (std::size_t k = 0; k < kc; ++k)
                v[2 * k] = refs[k][t], v[2 * k + 1] = (refs[k][t - 1] - refs[k][t + 1]) / spacing[k];
            for (std::size_t i = 0; i < n; ++i) {
                b[i] += v[i] * x[t];
                for (std::size_t j = 0; j <= i; ++j) gram[i * n + j] += v[i] * v[j];
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j) gram[j * n + i] = gram[i * n + j];
    const Matrix inv = spd_inverse(gram, n, 0.0);
    std::vector<std::complex<double>> gains(kc);
    for (std::size_t k = 0; k < kc; ++k) {
        double a = 0, q = 0;
        for (std::size_t j = 0; j < n; ++j) a += inv[2 * k * n + j] * b[j], q += inv[(2 * k + 1) * n + j] * b[j];
        const std::complex<double> c{a, -q};
        if (!(std::abs(c) > 0) || !std::isfinite(std::abs(c)))
            throw std::runtime_error("calibration is singular: the training records carry no signal");
        gains[k] = 1.0 / c;
    }
    return gains;
}

std::vector<std::complex<double>> fit_calibration(const Records& given, const LsqOptions& options,
                                                  std::size_t segments) {
    check_truth(given);
    std::vector<Record> pieces;
    std::vector<const Record*> records;
    for (const auto& r : given) records.push_back(&r);
    if (options.window == 0 && segments > 1) {
        records.clear();
        for (const Record& r : given)
            for (std::size_t i = 0; i < segments; ++i)
                pieces.push_back(slice(r, r.size() * i / segments, r.size() * (i + 1) / segments));
        for (const auto& p : pieces) records.push_back(&p);
    }
    return fit_gains(records, [&](const Record& r) { return lsq_analytic(r.input, r.task, options); });
}

std::string gains_text(const std::vector<std::complex<double>>& gains) {
    std::string text = fmt::format("{}\n", gains.size());
    for (const auto& g : gains) text += fmt::format("{:a} {:a}\n", g.real(), g.imag());
    return text;
}

std::vector<std::complex<double>> read_gains(StateText& in, std::size_t components) {
    const std::size_t n = in.count("gain count", 1u << 16);
    if (components > 0 && n != components) in.fail(fmt::format("{} gains for {} components", n, components));
    std::vector<std::complex<double>> gains;
    constexpr double big = std::numeric_limits<double>::max();
    while (gains.size() < n) {
        const double re = in.number("gain", -big, big);
        gains.emplace_back(re, in.number("gain", -big, big));
    }
    return gains;
}

void report_gains(Host& host, const Task& task, const std::vector<std::complex<double>>& gains) {
    for (std::size_t k = 0; k < gains.size(); ++k)
        host.info(fmt::format("calibration {}: gain {:.5f}, phase {:+.5f} rad", task.components[k].label,
                              std::abs(gains[k]) * task.components[k].gain, std::arg(gains[k])));
}

Prediction lsq_predict(const Input& record, const Task& task, const LsqOptions& options,
                       const std::vector<std::complex<double>>* gains) {
    const auto w = lsq_analytic(record, task, options);
    Prediction p;
    for (std::size_t k = 0; k < w.size(); ++k) {
        const std::complex<double> g = gains ? gains->at(k) : std::complex<double>(1.0 / task.components[k].gain, 0.0);
        Samples& y = p.components.emplace_back(record.size());
        for (std::size_t t = 0; t < y.size(); ++t) y[t] = (g * w[k][t]).real();
    }
    return p;
}

}  // namespace sigx::classical
