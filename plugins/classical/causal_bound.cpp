#include "causal_bound.hpp"

#include "phasor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

namespace sigx::classical {

namespace {

// Mean and variance of mix_weight * A sin(theta + phi) at a known theta.
struct ToneMoments {
    double mean, variance;
};
ToneMoments tone_moments(const ToneNoiseModel& m, double theta) {
    const double span = two_pi * m.phase_scale;  // phi ~ U(0, span)
    double e_sin, e_cos2;                        // E[sin(theta + phi)], E[cos(2 theta + 2 phi)]
    if (span < 1e-9) {
        e_sin = std::sin(theta), e_cos2 = std::cos(2 * theta);
    } else {
        e_sin = (std::cos(theta) - std::cos(theta + span)) / span;
        e_cos2 = (std::sin(2 * theta + 2 * span) - std::sin(2 * theta)) / (2 * span);
    }
    const double lo = m.amplitude_lo, hi = m.amplitude_hi;
    const double e_a = (lo + hi) / 2, e_a2 = (lo * lo + lo * hi + hi * hi) / 3;
    const double w = m.mix_weight;
    return {w * e_a * e_sin, w * w * (e_a2 * (0.5 - 0.5 * e_cos2) - e_a * e_a * e_sin * e_sin)};
}

// A grid posterior over hypotheses h, each predicting the sample's mean and variance and
// each component's value; hypotheses left behind by e^-50 are dropped for good.
class GridFilter {
public:
    explicit GridFilter(std::size_t hypotheses) : log_p_(hypotheses, 0.0), alive_(hypotheses) {
        std::iota(alive_.begin(), alive_.end(), std::size_t{0});
    }
    // `moments(h)` -> {mean, variance} of this sample under h; then `value(h, k)` is
    // averaged over the posterior into estimate[k].
    template <class Moments, class Value>
    void update(double x, Moments moments, Value value, std::size_t components, double* estimate) {
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t h : alive_) {
            const auto [mean, variance] = moments(h);
            log_p_[h] += -0.5 * ((x - mean) * (x - mean) / variance + std::log(variance));
            best = std::max(best, log_p_[h]);
        }
        std::fill(estimate, estimate + components, 0.0);
        double total = 0;
        std::size_t kept = 0;
        for (std::size_t h : alive_) {
            const double d = log_p_[h] - best;
            if (d < -50) continue;
            alive_[kept++] = h;
            const double weight = std::exp(d);
            total += weight;
            for (std::size_t k = 0; k < components; ++k) estimate[k] += weight * value(h, k);
        }
        alive_.resize(kept);
        for (std::size_t k = 0; k < components; ++k) estimate[k] /= total;
    }

private:
    std::vector<double> log_p_;
    std::vector<std::size_t> alive_;
};

double number(const Metadata& m, const std::string& key) {
    const auto it = m.find(key);
    if (it == m.end()) return std::numeric_limits<double>::quiet_NaN();
    return std::strtod(it->second.c_str(), nullptr);
}

}  // namespace

std::optional<ToneNoiseModel> noise_model_of(const Metadata& truth) {
    ToneNoiseModel m{number(truth, "model.amplitude_lo"), number(truth, "model.amplitude_hi"),
                     number(truth, "model.phase_scale"), number(truth, "model.mix_weight"),
                     truth.count("model.white_noise") ? number(truth, "model.white_noise") : 0.0};
    for (double v : {m.amplitude_lo, m.amplitude_hi, m.phase_scale, m.mix_weight, m.white_noise})
        if (!std::isfinite(v)) return std::nullopt;
    return m;
}

void describe_noise_model(const ToneNoiseModel& m, Metadata& truth) {
    truth["model.amplitude_lo"] = fmt::format("{}", m.amplitude_lo);
    truth["model.amplitude_hi"] = fmt::format("{}", m.amplitude_hi);
    truth["model.phase_scale"] = fmt::format("{}", m.phase_scale);
    truth["model.mix_weight"] = fmt::format("{}", m.mix_weight);
    truth["model.white_noise"] = fmt::format("{}", m.white_noise);
}

std::optional<std::size_t> common_period(const Task& task, double rate, std::size_t max_samples) {
    if (task.components.empty()) return std::nullopt;
    for (std::size_t p = 1; p <= max_samples; ++p) {
        bool whole = true;
        for (const auto& c : task.components) {
            const double cycles = c.frequency * static_cast<double>(p) / rate;
            if (std::abs(cycles - std::round(cycles)) > 1e-9 * std::max(1.0, cycles)) {
                whole = false;
                break;
            }
        }
        if (whole) return p;
    }
    return std::nullopt;
}

Prediction causal_bayes(const Input& input, const Task& task, const ToneNoiseModel& model,
                        std::optional<std::size_t> period) {
    const std::size_t n = input.size(), kc = task.size();
    const Samples& mix = input.channels.at(0);
    const double white = model.white_noise * model.white_noise;
    Prediction p;
    p.components.assign(kc, Samples(n));
    std::vector<double> estimate(kc);
    if (period) {
        // Offset j: sample t sits at grid point (j + t) mod G of the common period.
        const std::size_t g = *period;
        std::vector<double> mean(g), variance(g), value(g * kc);
        for (std::size_t m = 0; m < g; ++m) {
            double mu = 0, var = white;
            for (std::size_t k = 0; k < kc; ++k) {
                const double theta = two_pi * task.components[k].frequency * static_cast<double>(m) / input.sample_rate;
                const ToneMoments tm = tone_moments(model, theta);
                mu += tm.mean, var += tm.variance;
                value[m * kc + k] = std::sin(theta);
            }
            mean[m] = mu, variance[m] = std::max(var, 1e-12);
        }
        GridFilter filter(g);
        for (std::size_t t = 0; t < n; ++t) {
            filter.update(
                mix[t],
                [&](std::size_t j) {
                    const std::size_t m = (j + t) % g;
                    return std::pair{mean[m], variance[m]};
                },
                [&](std::size_t j, std::size_t k) { return value[((j + t) % g) * kc + k]; }, kc, estimate.data());
            for (std::size_t k = 0; k < kc; ++k) p.components[k][t] = estimate[k];
        }
        return p;
    }
    // Per tone, over its own phase; the other tones' average power, w^2 E[A^2] / 2 each,
    // counts as noise.
    constexpr std::size_t grid = 720;
    const double lo = model.amplitude_lo, hi = model.amplitude_hi;
    const double others_power =
        static_cast<double>(kc - 1) * model.mix_weight * model.mix_weight * (lo * lo + lo * hi + hi * hi) / 3 / 2;
    for (std::size_t k = 0; k < kc; ++k) {
        const double omega = two_pi * task.components[k].frequency / input.sample_rate;
        GridFilter filter(grid);
        for (std::size_t t = 0; t < n; ++t) {
            const auto theta = [&](std::size_t h) {
                return two_pi * static_cast<double>(h) / grid + omega * static_cast<double>(t);
            };
            filter.update(
                mix[t],
                [&](std::size_t h) {
                    const ToneMoments tm = tone_moments(model, theta(h));
                    return std::pair{tm.mean, tm.variance + others_power + white + 1e-12};
                },
                [&](std::size_t h, std::size_t) { return std::sin(theta(h)); }, 1, &estimate[k]);
            p.components[k][t] = estimate[k];
        }
    }
    return p;
}

}  // namespace sigx::classical
