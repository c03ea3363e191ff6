#include "multitaper.hpp"
#include "phasor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace sigx::classical {

using Complex = std::complex<double>;

namespace {

// The tridiagonal matrix of the DPSS: diagonal ((N - 1 - 2n) / 2)^2 cos(2 pi W), off
// diagonal n (N - n) / 2 (between n - 1 and n).
struct Tridiagonal {
    std::vector<double> d, e;  // e[n] couples n - 1 and n; e[0] unused
};

Tridiagonal dpss_matrix(std::size_t length, double w) {
    Tridiagonal t;
    const double n1 = static_cast<double>(length) - 1, c = std::cos(two_pi * w);
    for (std::size_t n = 0; n < length; ++n) {
        const double x = static_cast<double>(n);
        t.d.push_back((n1 - 2 * x) * (n1 - 2 * x) / 4 * c);
        t.e.push_back(x * (n1 + 1 - x) / 2);
    }
    return t;
}

// How many eigenvalues lie below x (Sturm: the negative pivots of T - x I).
std::size_t below(const Tridiagonal& t, double x) {
    std::size_t count = 0;
    double q = 1;
    for (std::size_t n = 0; n < t.d.size(); ++n) {
        q = t.d[n] - x - (n ? t.e[n] * t.e[n] / q : 0.0);
        if (q == 0) q = -1e-300;  // just below: the count stays consistent
        if (q < 0) ++count;
    }
    return count;
}

// The eigenvalue of rank `r` (0: the smallest), by bisection.
double eigenvalue(const Tridiagonal& t, std::size_t r) {
    double lo = 0, hi = 0;
    for (std::size_t n = 0; n < t.d.size(); ++n) {  // Gershgorin
        const double radius = (n ? std::abs(t.e[n]) : 0.0) + (n + 1 < t.d.size() ? std::abs(t.e[n + 1]) : 0.0);
        lo = std::min(lo, t.d[n] - radius), hi = std::max(hi, t.d[n] + radius);
    }
    for (int i = 0; i < 200 && hi - lo > 1e-14 * std::max(std::abs(lo), std::abs(hi)); ++i) {
        const double mid = 0.5 * (lo + hi);
        (below(t, mid) > r ? hi : lo) = mid;
    }
    return 0.5 * (lo + hi);
}

// Solves (T - lambda I) x = b by Gaussian elimination with partial pivoting (the banded
// form LAPACK's gttrf uses): inverse iteration's step.
std::vector<double> solve_shifted(const Tridiagonal& t, double lambda, std::vector<double> b) {
    const std::size_t n = t.d.size();
    std::vector<double> diag(n), up(n, 0.0), up2(n, 0.0), low(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) diag[i] = t.d[i] - lambda;
    for (std::size_t i = 0; i + 1 < n; ++i) up[i] = t.e[i + 1], low[i] = t.e[i + 1];
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (std::abs(diag[i]) >= std::abs(low[i])) {
            if (diag[i] == 0) diag[i] = 1e-300;
            const double f = low[i] / diag[i];
            diag[i + 1] -= f * up[i];
            b[i + 1] -= f * b[i];
        } else {  // swap rows i and i + 1
            const double f = diag[i] / low[i];
            diag[i] = low[i];
            const double u = up[i];
            up[i] = diag[i + 1];
            diag[i + 1] = u - f * diag[i + 1];
            if (i + 2 < n) {
                up2[i] = up[i + 1];
                up[i + 1] = -f * up2[i];
            }
            std::swap(b[i], b[i + 1]);
            b[i + 1] -= f * b[i];
        }
    }
    if (diag[n - 1] == 0) diag[n - 1] = 1e-300;
    std::vector<double> x(n);
    for (std::size_t i = n; i-- > 0;) {
        double v = b[i];
        if (i + 1 < n) v -= up[i] * x[i + 1];
        if (i + 2 < n) v -= up2[i] * x[i + 2];
        x[i] = v / diag[i];
    }
    return x;
}

double norm(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

}  // namespace

std::vector<std::vector<double>> dpss(std::size_t length, double nw, std::size_t count) {
    if (length < 2 || count == 0 || count > length || !(nw > 0) || static_cast<double>(count) > 2 * nw)
        throw std::runtime_error(
            fmt::format("{} tapers of {} samples with nw = {}: need 1 <= tapers <= min(2 nw, samples) and at least "
                        "2 samples",
                        count, length, nw));
    const Tridiagonal t = dpss_matrix(length, nw / static_cast<double>(length));
    std::vector<std::vector<double>> tapers;
    for (std::size_t k = 0; k < count; ++k) {
        const double lambda = eigenvalue(t, length - 1 - k);
        std::vector<double> v(length);
        for (std::size_t n = 0; n < length; ++n)  // a start with every symmetry in it
            v[n] = 1.0 + 0.5 * std::sin(1.0 + 0.7 * static_cast<double>(n));
        for (int it = 0; it < 4; ++it) {
            v = solve_shifted(t, lambda, v);
            for (const auto& u : tapers) {  // keep clear of the tapers found (close eigenvalues)
                double dot = 0;
                for (std::size_t n = 0; n < length; ++n) dot += u[n] * v[n];
                for (std::size_t n = 0; n < length; ++n) v[n] -= dot * u[n];
            }
            const double s = norm(v);
            for (double& x : v) x /= s;
        }
        // Percival and Walden's convention (scipy's): symmetric tapers sum to a positive
        // number, antisymmetric ones start with a positive lobe.
        bool flip = false;
        if (k % 2 == 0) {
            double sum = 0;
            for (double x : v) sum += x;
            flip = sum < 0;
        } else {
            const double threshold = std::max(1e-7, 1.0 / static_cast<double>(length));
            for (double x : v)
                if (x * x > threshold) {
                    flip = x < 0;
                    break;
                }
        }
        if (flip)
            for (double& x : v) x = -x;
        tapers.push_back(std::move(v));
    }
    return tapers;
}

double f_test_p(double f, std::size_t tapers) {
    const double m = static_cast<double>(tapers) - 1;
    return std::pow(1 + f / m, -m);
}

Line harmonic_f_test(const double* x, const std::vector<std::vector<double>>& v, double frequency) {
    const std::size_t length = v.front().size(), kc = v.size();
    std::vector<Complex> y(kc);
    std::vector<double> u(kc);
    const Complex step = std::polar(1.0, -two_pi * frequency);
    Complex z = 1;
    for (std::size_t n = 0; n < length; ++n) {
        if (n % 256 == 0) z = std::polar(1.0, -two_pi * frequency * static_cast<double>(n));
        const Complex xz = x[n] * z;
        for (std::size_t k = 0; k < kc; ++k) y[k] += xz * v[k][n], u[k] += v[k][n];
        z *= step;
    }
    Complex num = 0;
    double u2 = 0;
    for (std::size_t k = 0; k < kc; ++k) num += u[k] * y[k], u2 += u[k] * u[k];
    Line line{frequency, 0, num / u2};
    double residual = 0;
    for (std::size_t k = 0; k < kc; ++k) residual += std::norm(y[k] - line.mu * u[k]);
    line.f = residual > 0 ? static_cast<double>(kc - 1) * std::norm(line.mu) * u2 / residual : 0;
    return line;
}

namespace {

// The F test at frequencies near f0 in one window, fast: x e^{-2 pi i f0 n} v_k(n) summed
// over blocks of `block` samples with its first three moments about each block's middle,
// so that a frequency f0 + d costs a sum over blocks (e^{-2 pi i d (n - c)} to second
// order in its exponent: within 2e-5 where 2 pi |d| block <= 0.1).
class LineSearch {
public:
    LineSearch(const double* x, const std::vector<std::vector<double>>& v, double f0, std::size_t block)
        : f0_(f0), kc_(v.size()), u_(kc_, 0.0) {
        const std::size_t length = v.front().size(), blocks = (length + block - 1) / block;
        a_.assign(kc_ * blocks, 0.0), b_.assign(kc_ * blocks, 0.0), c_.assign(kc_ * blocks, 0.0);
        centres_.resize(blocks);
        const Complex step = std::polar(1.0, -two_pi * f0);
        Complex z = 1;
        for (std::size_t n = 0; n < length; ++n) {
            if (n % 256 == 0) z = std::polar(1.0, -two_pi * f0 * static_cast<double>(n));
            const std::size_t bi = n / block;
            const double first = static_cast<double>(bi * block),
                         last = static_cast<double>(std::min(length, bi * block + block) - 1);
            const double centre = 0.5 * (first + last), dn = static_cast<double>(n) - centre;
            centres_[bi] = centre;
            const Complex xz = x[n] * z;
            for (std::size_t k = 0; k < kc_; ++k) {
                const Complex d = xz * v[k][n];
                a_[k * blocks + bi] += d, b_[k * blocks + bi] += d * dn, c_[k * blocks + bi] += d * (dn * dn / 2);
                u_[k] += v[k][n];
            }
            z *= step;
        }
        for (double uk : u_) u2_ += uk * uk;
    }

    Line at(double offset) const {
        const std::size_t blocks = centres_.size();
        const double theta = two_pi * offset;
        std::vector<Complex> y(kc_);
        for (std::size_t bi = 0; bi < blocks; ++bi) {
            const Complex rot = std::polar(1.0, -theta * centres_[bi]);
            for (std::size_t k = 0; k < kc_; ++k) {
                const std::size_t i = k * blocks + bi;
                // e^{-i theta dn} = 1 - i theta dn - theta^2 dn^2 / 2 + O((theta dn)^3 / 6)
                y[k] += rot * (a_[i] - Complex(0, theta) * b_[i] - theta * theta * c_[i]);
            }
        }
        Complex num = 0;
        for (std::size_t k = 0; k < kc_; ++k) num += u_[k] * y[k];
        Line line{f0_ + offset, 0, num / u2_};
        double residual = 0;
        for (std::size_t k = 0; k < kc_; ++k) residual += std::norm(y[k] - line.mu * u_[k]);
        line.f = residual > 0 ? static_cast<double>(kc_ - 1) * std::norm(line.mu) * u2_ / residual : 0;
        return line;
    }

private:
    double f0_;
    std::size_t kc_;
    std::vector<Complex> a_, b_, c_;
    std::vector<double> centres_, u_;
    double u2_ = 0;
};

// The line of highest F within [f0 - reach, f0 + reach] (cycles per sample): a grid a
// quarter of the tapers' bandwidth apart, then golden-section search about its best.
Line best_line(const double* x, const std::vector<std::vector<double>>& v, double f0, double reach, double bandwidth) {
    if (reach <= 0) return harmonic_f_test(x, v, f0);
    const std::size_t block = std::clamp<std::size_t>(static_cast<std::size_t>(0.1 / (two_pi * reach)), 1, 256);
    const LineSearch search(x, v, f0, block);
    const double spacing = bandwidth / 4;
    const auto steps = static_cast<long>(std::ceil(reach / spacing));
    Line best = search.at(0);
    for (long s = -steps; s <= steps; ++s) {
        const Line l = search.at(std::clamp(static_cast<double>(s) * spacing, -reach, reach));
        if (l.f > best.f) best = l;
    }
    double lo = std::max(-reach, best.frequency - f0 - spacing), hi = std::min(reach, best.frequency - f0 + spacing);
    const double g = 0.5 * (std::sqrt(5.0) - 1);
    double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
    Line la = search.at(a), lb = search.at(b);
    for (int i = 0; i < 30 && hi - lo > 1e-4 * spacing; ++i) {
        if (la.f > lb.f)
            hi = b, b = a, lb = la, a = hi - g * (hi - lo), la = search.at(a);
        else
            lo = a, a = b, la = lb, b = lo + g * (hi - lo), lb = search.at(b);
    }
    for (const Line& l : {la, lb})
        if (l.f > best.f) best = l;
    // The amplitude exactly, at the frequency found (the fast sums serve the search).
    const Line exact = harmonic_f_test(x, v, best.frequency);
    return exact.f > 0 ? exact : best;
}

}  // namespace

MultitaperFit multitaper_lines(const Input& input, const Task& task, const MultitaperSettings& s) {
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("multitaper reads one input channel, '{}' has {}", input.name, input.channels.size()));
    const Samples& x = input.channels[0];
    const std::size_t n = x.size(), kc = task.size();
    const double fs = input.sample_rate;
    MultitaperFit out{std::vector<std::vector<double>>(kc, std::vector<double>(n, 0.0)),
                      std::vector<std::vector<double>>(kc, std::vector<double>(n, 0.0))};
    if (n < 4) {
        for (std::size_t k = 0; k < kc; ++k)
            std::fill(out.frequency[k].begin(), out.frequency[k].end(), task.components[k].frequency);
        return out;
    }
    const std::size_t length = std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(s.window * fs)), 4, n);
    const std::size_t hop = std::max<std::size_t>(1, length / 2);
    const auto tapers_count = static_cast<std::size_t>(std::max(1.0, std::floor(2 * s.nw) - 1));
    const auto v = dpss(length, s.nw, tapers_count);
    const double bandwidth = s.nw / static_cast<double>(length);  // cycles per sample
    std::vector<double> weight(length), total(n, 0.0);
    for (std::size_t m = 0; m < length; ++m) {  // Hann: the halves of two windows sum to one
        const double w = std::sin(0.5 * two_pi * (static_cast<double>(m) + 0.5) / static_cast<double>(length));
        weight[m] = w * w;
    }
    std::vector<std::size_t> starts;
    for (std::size_t start = 0;; start += hop) {
        starts.push_back(std::min(start, n - length));
        if (start + length >= n) break;
    }
    for (std::size_t start : starts) {
        const double* window = x.data() + start;
        for (std::size_t m = 0; m < length; ++m) total[start + m] += weight[m];
        for (std::size_t k = 0; k < kc; ++k) {
            const Component& c = task.components[k];
            const Line line = best_line(window, v, c.frequency / fs, c.tolerance / fs, bandwidth);
            const bool significant = f_test_p(line.f, v.size()) < s.p_value;
            const Complex step = std::polar(1.0, two_pi * line.frequency);
            Complex z = 1;
            for (std::size_t m = 0; m < length; ++m) {
                if (m % 256 == 0) z = std::polar(1.0, two_pi * line.frequency * static_cast<double>(m));
                if (significant) out.lines[k][start + m] += weight[m] * 2 * (line.mu * z).real();
                out.frequency[k][start + m] += weight[m] * (significant ? line.frequency * fs : c.frequency);
                z *= step;
            }
        }
    }
    for (std::size_t k = 0; k < kc; ++k)
        for (std::size_t t = 0; t < n; ++t) out.lines[k][t] /= total[t], out.frequency[k][t] /= total[t];
    return out;
}

}  // namespace sigx::classical
