#include "line_filters.hpp"
#include "phasor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sigx::classical {

Biquad iirnotch(double frequency, double q, double sample_rate) {
    const double w0 = two_pi * frequency / sample_rate, bw = w0 / q;
    const double gb = 1 / std::sqrt(2.0);  // -3 dB
    const double beta = std::sqrt(1.0 - gb * gb) / gb * std::tan(bw / 2.0);
    const double gain = 1.0 / (1.0 + beta);
    return {gain, -2.0 * gain * std::cos(w0), gain, -2.0 * gain * std::cos(w0), 2.0 * gain - 1.0};
}

Comb iircomb(double frequency, double q, double sample_rate) {
    const double period = std::round(sample_rate / frequency);
    if (period < 2 || std::abs(frequency - sample_rate / period) / sample_rate > 1e-14)
        throw std::runtime_error(
            fmt::format("a comb at {} Hz needs a sample rate that is a whole multiple of it ({} Hz is not)", frequency,
                        sample_rate));
    const double w_delta = two_pi * frequency / sample_rate / q;
    const double beta = std::tan(period * w_delta / 4);
    return {static_cast<std::size_t>(period), 1 / (1 + beta), (1 - beta) / (1 + beta)};
}

NotchDesign design_notches(const Task& task, double sample_rate, double q, bool comb) {
    NotchDesign d;
    auto q_of = [&](const Component& c) {
        return q > 0 ? q : c.tolerance > 0 ? c.frequency / (2 * c.tolerance) : exact_q;
    };
    for (const auto& c : task.components) d.notches.push_back(iirnotch(c.frequency, q_of(c), sample_rate));
    if (!comb) return d;
    for (std::size_t k = 0; k < task.size(); ++k) {
        if (task.components[k].fundamental >= 0) continue;
        NotchDesign::Family f{iircomb(task.components[k].frequency, q_of(task.components[k]), sample_rate), {k}};
        for (std::size_t j = 0; j < task.size(); ++j)
            if (task.components[j].fundamental == static_cast<std::int64_t>(k)) f.members.push_back(j);
        d.combs.push_back(std::move(f));
    }
    return d;
}

NotchFilter::NotchFilter(const NotchDesign& design) : d_(design) {
    state_.resize(d_.notches.size());
    for (const auto& f : d_.combs) x_.emplace_back(f.comb.period), y_.emplace_back(f.comb.period);
    split_.resize(d_.notches.size());
    reset();
}

void NotchFilter::reset() {
    for (auto& s : state_) s = {0, 0};
    for (auto& v : x_) std::fill(v.begin(), v.end(), 0.0);
    for (auto& v : y_) std::fill(v.begin(), v.end(), 0.0);
    at_ = 0;
}

namespace {
// One biquad step, transposed direct form II.
inline double step(const Biquad& b, std::array<double, 2>& s, double x) {
    const double y = b.b0 * x + s[0];
    s[0] = b.b1 * x - b.a1 * y + s[1];
    s[1] = b.b2 * x - b.a2 * y;
    return y;
}
}  // namespace

void NotchFilter::push(double x, double* y) {
    if (d_.combs.empty()) {  // the notches in cascade: each removes its part of what reaches it
        for (std::size_t k = 0; k < d_.notches.size(); ++k) {
            const double out = step(d_.notches[k], state_[k], x);
            y[k] = x - out, x = out;
        }
        return;
    }
    for (std::size_t f = 0; f < d_.combs.size(); ++f) {
        const auto& family = d_.combs[f];
        const Comb& c = family.comb;
        const std::size_t slot = at_ % c.period;
        const double out = c.b * (x - x_[f][slot]) + c.a * y_[f][slot];
        x_[f][slot] = x, y_[f][slot] = out;
        double removed = x - out;  // the family's lines, split between its members by their notches
        for (std::size_t k : family.members) {
            const double rest = step(d_.notches[k], state_[k], removed);
            y[k] = removed - rest, removed = rest;
        }
        x = out;
    }
    ++at_;
}

std::vector<Samples> notch_components(const Input& input, const NotchDesign& design, bool zero_phase) {
    if (input.channels.size() != 1)
        throw std::runtime_error(
            fmt::format("the notch filters read one input channel, '{}' has {}", input.name, input.channels.size()));
    const Samples& x = input.channels[0];
    const std::size_t n = x.size(), kc = design.notches.size();
    std::vector<Samples> out(kc, Samples(n));
    if (!zero_phase) {
        NotchFilter f(design);
        std::vector<double> y(kc);
        for (std::size_t t = 0; t < n; ++t) {
            f.push(x[t], y.data());
            for (std::size_t k = 0; k < kc; ++k) out[k][t] = y[k];
        }
        return out;
    }
    // As scipy.signal.filtfilt does it: the record extended at both ends by odd
    // reflection (three times the filters' order), and each pass started in the steady
    // state of a constant input equal to its first sample; every stage forward and
    // backward in turn.
    std::size_t order = 2 * kc + 1;
    for (const auto& f : design.combs) order = std::max(order, f.comb.period + 1);
    const std::size_t pad = n < 2 ? 0 : std::min(n - 1, 3 * order);
    Samples s(n + 2 * pad);
    for (std::size_t i = 0; i < pad; ++i) s[i] = 2 * x[0] - x[pad - i], s[n + pad + i] = 2 * x[n - 1] - x[n - 2 - i];
    std::copy(x.begin(), x.end(), s.begin() + static_cast<std::ptrdiff_t>(pad));
    auto both_ways = [](Samples v, auto&& filter) {
        filter(v);
        std::reverse(v.begin(), v.end());
        filter(v);
        std::reverse(v.begin(), v.end());
        return v;
    };
    auto biquad = [](const Biquad& b) {
        return [b](Samples& v) {  // a notch passes a constant: it rests with y = x = v[0]
            std::array<double, 2> st{v[0] * (1 - b.b0), v[0] * (b.b2 - b.a2)};
            for (double& e : v) e = step(b, st, e);
        };
    };
    auto keep = [&](std::size_t k, const Samples& before, const Samples& after) {
        for (std::size_t t = 0; t < n; ++t) out[k][t] = before[t + pad] - after[t + pad];
    };
    auto split = [&](const std::vector<std::size_t>& members, Samples removed) {
        for (std::size_t k : members) {
            Samples rest = both_ways(removed, biquad(design.notches[k]));
            keep(k, removed, rest);
            removed = std::move(rest);
        }
    };
    if (design.combs.empty()) {
        std::vector<std::size_t> all(kc);
        for (std::size_t k = 0; k < kc; ++k) all[k] = k;
        split(all, std::move(s));
        return out;
    }
    for (const auto& family : design.combs) {
        const Comb c = family.comb;
        Samples rest = both_ways(s, [c](Samples& v) {  // a comb removes a constant: it rests with y = 0
            std::vector<double> xs(c.period, v[0]), ys(c.period, 0.0);
            for (std::size_t t = 0; t < v.size(); ++t) {
                const std::size_t slot = t % c.period;
                const double y = c.b * (v[t] - xs[slot]) + c.a * ys[slot];
                xs[slot] = v[t], ys[slot] = y, v[t] = y;
            }
        });
        Samples removed(s.size());
        for (std::size_t t = 0; t < s.size(); ++t) removed[t] = s[t] - rest[t];
        split(family.members, std::move(removed));
        s = std::move(rest);
    }
    return out;
}

LmsCanceller::LmsCanceller(const Task& task, double sample_rate, double start_time, std::vector<double> mu)
    : mu_(std::move(mu)) {
    if (mu_.size() != task.size())
        throw std::runtime_error(fmt::format("{} LMS steps for {} components", mu_.size(), task.size()));
    for (const auto& c : task.components) {
        const double w = two_pi * c.frequency / sample_rate;
        start_.push_back(std::polar(1.0, two_pi * c.frequency * start_time));
        step_.push_back(std::polar(1.0, w));
    }
    reset();
}

void LmsCanceller::reset() {
    z_ = start_;
    a_.assign(start_.size(), 0.0);
    n_ = 0;
}

void LmsCanceller::push(double x, std::complex<double>* w) {
    double e = x;
    for (std::size_t k = 0; k < a_.size(); ++k) e -= (a_[k] * z_[k]).real();
    // a = w_cos - i w_sin; w += 2 mu e [cos, sin]  <=>  a += 2 mu e conj(z)
    const bool renormalise = ++n_ % 256 == 0;
    for (std::size_t k = 0; k < a_.size(); ++k) {
        a_[k] += 2 * mu_[k] * e * std::conj(z_[k]);
        w[k] = a_[k] * z_[k];
        z_[k] *= step_[k];
        if (renormalise) z_[k] /= std::abs(z_[k]);
    }
}

std::vector<double> lms_steps(const Task& task, double sample_rate) {
    std::vector<double> mu;
    for (const auto& c : task.components) mu.push_back(two_pi * (c.tolerance > 0 ? c.tolerance : 0.5) / sample_rate);
    return mu;
}

}  // namespace sigx::classical
