// diagnose: judges the task before any model is trained. Per component it measures how
// much the mix says about the target: the correlation of mix and target, and the MSE
// that calibrated least squares (the near-optimal classical estimator, or predicting zero
// where that is better) reaches on the test sets, against the floor of predicting zero. When even that estimator stays
// near the floor, it says in plain words that no model can learn the task. Its numbers also go into the report as the
// "(classical bound)" row.
#include "../classical/lsq.hpp"

#include <sigx/register.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace {

// The classical bound of one component: the better of calibrated least squares and
// predicting zero (a calibration fitted to noise, as at phase_scale = 1 with one training
// record, can do worse than zero; the floor is always available).
struct Pooled {
    double se = 0, floor = 0, n = 0;
    double mse() const { return std::min(se, floor) / n; }
    double floor_mse() const { return floor / n; }
};

class Diagnose final : public sigx::Evaluator {
public:
    static constexpr const char* bound_model = "(classical bound)";

    static sigx::Descriptor describe() {
        return {"diagnose",
                sigx::Kind::evaluator,
                "1.0.0",
                "before training: how much the mix says about each target; warns when a task is unlearnable",
                {sigx::ParamSpec::real("unlearnable_ratio", 0.9)
                     .range(0.0, 1.0)
                     .help("warn when the classical bound's MSE exceeds this fraction of the predict-zero floor")},
                false};
    }
    explicit Diagnose(const sigx::Params& p) : ratio_(p.real("unlearnable_ratio")) {}

    void inspect(const sigx::Dataset& data, sigx::Host& host) override {
        compute(data);
        if (!why_not_.empty()) return host.warn("no classical bound: " + why_not_);
        if (data.tests.empty() || bound_.front().empty() || bound_.front().front().n == 0) return;
        const auto& comps = data.train.front().task.components;
        const auto& first = bound_.front();  // the first test set
        for (std::size_t k = 0; k < comps.size(); ++k) {
            const double corr = correlation(data.train, k);
            const double mse = first[k].mse(), floor = first[k].floor_mse();
            host.info(
                fmt::format("{}: corr(mix, target) = {:+.3f}; calibrated least squares reaches MSE {:.3g} on '{}' "
                            "(predicting zero: {:.3g})",
                            comps[k].label, corr, mse, data.tests.front().name, floor));
            if (mse >= ratio_ * floor)
                host.warn(fmt::format(
                    "{}: the mix carries (almost) no information about this target. Even the near-optimal classical "
                    "estimator stays at MSE {:.3g} against {:.3g} for predicting zero, so every model will sit near "
                    "{:.3g} "
                    "(for a sine, its variance 0.5). The task is unlearnable as configured: with noisy_sinusoid, a "
                    "phase_scale near 1 redraws the phase uniformly at every sample.",
                    comps[k].label, mse, floor, floor));
        }
    }

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>&,
                                       sigx::Host&) override {
        if (bound_.empty()) compute(data);
        std::vector<sigx::Metric> out;
        for (std::size_t s = 0; s < data.tests.size() && s < bound_.size(); ++s) {
            const auto& set = data.tests[s];
            if (bound_[s].empty() || bound_[s].front().n == 0) continue;  // nothing scored in this set
            double sum = 0;
            for (std::size_t k = 0; k < bound_[s].size(); ++k) {
                out.push_back(
                    {set.name, bound_model, data.train.front().task.components[k].label, "mse", bound_[s][k].mse()});
                sum += bound_[s][k].mse();
            }
            out.push_back({set.name, bound_model, "mean", "mse", sum / static_cast<double>(bound_[s].size())});
        }
        return out;
    }

private:
    static double correlation(const sigx::Records& records, std::size_t k) {
        double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        for (const auto& r : records)
            for (std::size_t t = 0; t < r.size(); ++t) {
                const double x = r.input.channels.front()[t], y = r.truth->references[k][t];
                n += 1, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
            }
        const double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
        return (vx > 0 && vy > 0) ? (sxy - sx * sy / n) / std::sqrt(vx * vy) : 0.0;
    }

    // The bound needs training records with a truth (to calibrate) and one input channel;
    // it is computed on the test records that have a truth.
    void compute(const sigx::Dataset& data) {
        bound_.clear();
        why_not_.clear();
        if (data.train.empty()) return;
        for (const auto& r : data.train) {
            if (!r.truth) why_not_ = fmt::format("training record '{}' has no truth to calibrate on", r.input.name);
            if (r.input.channels.size() != 1)
                why_not_ = fmt::format("training record '{}' has {} input channels; the bound reads one", r.input.name,
                                       r.input.channels.size());
            if (!why_not_.empty()) return;
        }
        const sigx::classical::LsqOptions whole_record;
        const auto gains = sigx::classical::fit_calibration(data.train, whole_record);
        for (const auto& set : data.tests) {
            std::vector<Pooled> pooled(gains.size());
            for (const auto& r : set.records) {
                if (!r.truth || r.input.channels.size() != 1) continue;
                const auto p = sigx::classical::lsq_predict(r.input, r.task, whole_record, &gains);
                for (std::size_t k = 0; k < pooled.size(); ++k)
                    for (std::size_t t = 0; t < r.size(); ++t) {
                        const double y = r.truth->references[k][t], e = p.components[k][t] - y;
                        pooled[k].se += e * e, pooled[k].floor += y * y, pooled[k].n += 1;
                    }
            }
            bound_.push_back(std::move(pooled));
        }
    }

    double ratio_;
    std::vector<std::vector<Pooled>> bound_;  // [test set][component]
    std::string why_not_;                     // why there is no bound, when there is none
};

}  // namespace

SIGX_PLUGIN(Diagnose)
