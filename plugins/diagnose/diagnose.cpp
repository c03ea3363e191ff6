// diagnose: judges the task before any model is trained, and gives the bounds models are
// measured against. Per component it measures how much the mix says about the target:
// the correlation of mix and target, and the MSE that calibrated least squares (the
// near-optimal classical estimator, or predicting zero where that is better) reaches on
// the test sets, against the floor of predicting zero. When even that estimator stays
// near the floor, it says in plain words that no model can learn the task. Its numbers go
// into the report as rows, each with a line saying what it is (rows()):
//   (classical bound)  calibrated whole-record least squares: non-causal; a bound where
//                      the generator states its model of the data and the tones are
//                      stationary in it (noisy_sinusoid without drift); elsewhere (a
//                      recording, drifting tones) the same fit is named
//                      "(whole-record lsq)", a reference and not a bound
//   (causal bound)     the Bayes estimate that reads each record only up to the present,
//                      under the generator's own model (classical/causal_bound.hpp), where
//                      the generator states it and it has no drift; "(causal bound, per
//                      tone)" where the frequencies share no period (then an upper estimate)
// each over the whole record, after the warm-up (`@steady`) and in the time bins of the
// metrics evaluator; and a figure per test set, mse_over_time_<set>: every model's MSE
// and both bounds against time since the record's start.
#include "../classical/causal_bound.hpp"
#include "../classical/lsq.hpp"
#include "../classical/time_bins.hpp"

#include <sigx/gnuplot.hpp>
#include <sigx/register.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace {

using sigx::classical::Moments;
using sigx::classical::TimedMoments;

// One bound on one test set: per component, its error over the whole record, the steady
// part and the time bins.
struct Bound {
    std::string row;  // "(classical bound)", ...
    std::vector<TimedMoments> per_component;
    std::string description;  // what it is, for the report
};

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    return out;
}

class Diagnose final : public sigx::Evaluator {
public:
    static constexpr const char* classical_row = "(classical bound)";
    static constexpr const char* reference_row = "(whole-record lsq)";

    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "diagnose",
            .version = "1.0.0",
            .description =
                "before training: how much the mix says about each target, and the classical and causal bounds; "
                "warns when a task is unlearnable",
            .params = {
                ParamSpec::real("unlearnable_ratio", 0.9)
                    .range(0.0, 1.0)
                    .help("warn when the classical bound's MSE exceeds this fraction of the predict-zero floor"),
                ParamSpec::real("warmup", 1.0)
                    .at_least(0.0)
                    .help("seconds from each record's start left out of the bounds' `@steady` figures (as in metrics)"),
                ParamSpec::boolean("render", true).help("run gnuplot on the figures (false: data and scripts only)")}};
    }
    explicit Diagnose(const sigx::Params& p)
        : ratio_(p.real("unlearnable_ratio")), warmup_(p.real("warmup")), render_(p.boolean("render")) {}

    void inspect(const sigx::Dataset& data, sigx::Host& host) override {
        compute(data, host);
        if (!why_not_.empty()) return host.warn("no classical bound: " + why_not_);
        if (data.tests.empty() || bounds_.front().empty()) return;
        const auto& comps = data.train.front().task.components;
        const auto& first = bounds_.front().front().per_component;  // the first test set's classical bound
        for (std::size_t k = 0; k < comps.size(); ++k) {
            const double corr = correlation(data.train, k);
            const double mse = first[k].whole.mse(), floor = first[k].whole.floor_mse();
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

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host& host) override {
        if (!computed_) compute(data, host);
        std::vector<sigx::Metric> out;
        dir_ = host.output_dir();
        std::vector<std::string> scripts;
        for (std::size_t s = 0; s < data.tests.size() && s < bounds_.size(); ++s) {
            const auto& set = data.tests[s];
            if (bounds_[s].empty()) continue;  // nothing scored in this set
            const auto& labels = set.records.front().task.components;
            for (const Bound& b : bounds_[s]) emit(out, set.name, b, labels);
            if (dir_.empty()) continue;  // no folder of its own: no figures
            if (auto script = figure(set, s, outputs); !script.empty()) scripts.push_back(script);
        }
        if (render_ && !scripts.empty()) {
            if (!sigx::find_gnuplot()) {
                host.warn(sigx::gnuplot_missing_hint(dir_));
            } else {
                for (const auto& script : scripts)
                    if (!sigx::render_gnuplot(dir_ / script))
                        host.warn(fmt::format("gnuplot failed on {}; see {}.log", (dir_ / script).string(),
                                              (dir_ / script).string()));
            }
        }
        return out;
    }

    std::vector<sigx::ReportRow> rows() const override {
        std::vector<sigx::ReportRow> out;
        for (std::size_t s = 0; s < bounds_.size() && s < set_names_.size(); ++s)
            for (const Bound& b : bounds_[s]) out.push_back({set_names_[s], b.row, b.description});
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

    // The records of a set that can be scored, and the time bins of their longest.
    static std::vector<const sigx::Record*> scored(const sigx::RecordSet& set) {
        std::vector<const sigx::Record*> r;
        for (const auto& rec : set.records)
            if (rec.truth && rec.input.channels.size() == 1) r.push_back(&rec);
        return r;
    }
    static std::vector<double> edges_of(const std::vector<const sigx::Record*>& records) {
        double longest = 0;
        for (const auto* r : records)
            longest = std::max(longest, static_cast<double>(r->size()) / r->input.sample_rate);
        return sigx::classical::time_bin_edges(longest);
    }
    // Per component, the moments of `predict(record)` against the truth.
    template <class Predict> std::vector<TimedMoments> moments(const std::vector<const sigx::Record*>& records,
                                                               const std::vector<double>& edges,
                                                               Predict predict) const {
        std::vector<TimedMoments> m(records.front()->task.size(), TimedMoments(edges, warmup_));
        for (const auto* r : records) {
            const sigx::Prediction p = predict(*r);
            for (std::size_t k = 0; k < m.size(); ++k)
                for (std::size_t t = 0; t < r->size(); ++t)
                    m[k].add(t, r->input.sample_rate, p.components[k][t], r->truth->references[k][t]);
        }
        return m;
    }

    // The classical bound needs training records with a truth (to calibrate) and one input
    // channel; the causal bound test records whose generator states its model. Both are
    // computed on the test records that have a truth.
    void compute(const sigx::Dataset& data, sigx::Host& host) {
        computed_ = true;
        bounds_.clear();
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
        set_names_.clear();
        for (const auto& set : data.tests) {
            set_names_.push_back(set.name);
            auto& bounds = bounds_.emplace_back();
            const auto records = scored(set);
            if (records.empty()) continue;
            // The model the generator states, where every record has one and it keeps the
            // tones stationary: only under it are these fits bounds.
            std::optional<sigx::classical::ToneNoiseModel> model;
            for (const auto* r : records) {
                const auto m = sigx::classical::noise_model_of(r->truth->metadata);
                const auto drift = r->truth->metadata.find("model.drift");
                if (!m || (drift != r->truth->metadata.end() && drift->second != "none")) {
                    model.reset();
                    break;
                }
                model = m;
            }
            const auto edges = edges_of(records);
            // The better of calibrated least squares and predicting zero, per component: a
            // calibration fitted to noise (phase_scale = 1, one training record) can do worse
            // than zero, and the floor is always available.
            auto lsq = moments(records, edges, [&](const sigx::Record& r) {
                return sigx::classical::lsq_predict(r.input, r.task, whole_record, &gains);
            });
            const auto zero = moments(records, edges, [](const sigx::Record& r) {
                return sigx::Prediction{std::vector<sigx::Samples>(r.task.size(), sigx::Samples(r.size()))};
            });
            for (std::size_t k = 0; k < lsq.size(); ++k)
                if (lsq[k].whole.mse() > zero[k].whole.mse()) lsq[k] = zero[k];
            const std::string fit =
                "calibrated least squares over each whole record at the stated frequencies (non-causal; per "
                "component, predicting zero where that is better)";
            if (model) {
                bounds.push_back({classical_row, std::move(lsq),
                                  fit + ": a bound, under the generator's model (stationary tones in noise drawn "
                                        "afresh at every sample), as its maximum-likelihood estimate"});
            } else {
                const bool drifting = std::any_of(records.begin(), records.end(), [](const sigx::Record* r) {
                    return !r->truth->frequencies.empty() || r->truth->metadata.count("model.drift");
                });
                bounds.push_back(
                    {reference_row, std::move(lsq),
                     fit + ": a reference, not a bound: " +
                         (drifting ? "the tones drift, and a whole-record fit at fixed frequencies does not follow them"
                                   : "the generator states no model of these data under which it is optimal (real "
                                     "recordings), and a model that follows the tones' changes can beat it")});
                continue;  // no causal bound either: it needs the generator's stationary model
            }
            const auto& first = *records.front();
            const auto period = sigx::classical::common_period(first.task, first.input.sample_rate);
            if (!period)
                host.info(
                    fmt::format("'{}': the frequencies share no period of at most 200000 samples: the causal "
                                "bound is per tone, other tones counted as noise (an upper estimate)",
                                set.name));
            bounds.push_back(
                {period ? "(causal bound)" : "(causal bound, per tone)",
                 moments(records, edges,
                         [&](const sigx::Record& r) {
                             return sigx::classical::causal_bayes(r.input, r.task, *model, period);
                         }),
                 period ? "the Bayes estimate from each record up to the present: a bound for causal models, under "
                          "the generator's model, where only the record's start is unknown"
                        : "the Bayes estimate per tone, the other tones counted as noise: an upper estimate of the "
                          "causal bound under the generator's model, not a bound"});
        }
    }

    // MSE per component and their mean: whole, steady and per time bin.
    void emit(std::vector<sigx::Metric>& out, const std::string& set, const Bound& b,
              const std::vector<sigx::Component>& comps) const {
        const auto& edges = b.per_component.front().edges_;
        auto part = [&](const std::string& window, auto pick) {
            if (pick(b.per_component.front()).n == 0) return;
            double sum = 0;
            for (std::size_t k = 0; k < comps.size(); ++k) {
                const double mse = pick(b.per_component[k]).mse();
                out.push_back({set, b.row, comps[k].label, "mse", mse, window});
                sum += mse;
            }
            out.push_back({set, b.row, "mean", "mse", sum / static_cast<double>(comps.size()), window});
        };
        part("", [](const TimedMoments& m) -> const Moments& { return m.whole; });
        part(sigx::classical::steady_window, [](const TimedMoments& m) -> const Moments& { return m.steady; });
        for (std::size_t i = 0; i + 1 < edges.size(); ++i)
            part(sigx::classical::bin_window(edges[i], edges[i + 1]),
                 [&](const TimedMoments& m) -> const Moments& { return m.bins[i]; });
    }

    // Mean MSE over components per time bin, for every model and bound: one column each.
    std::string figure(const sigx::RecordSet& set, std::size_t s, const std::vector<sigx::ModelOutput>& outputs) const {
        const auto records = scored(set);
        if (records.empty()) return {};
        const auto edges = edges_of(records);
        std::vector<std::string> names;
        std::vector<std::vector<double>> columns;  // [curve][bin]
        auto add = [&](const std::string& name, const std::vector<TimedMoments>& m) {
            std::vector<double> c(edges.size() - 1, 0.0);
            for (std::size_t i = 0; i < c.size(); ++i)
                for (const auto& k : m) c[i] += k.bins[i].n > 0 ? k.bins[i].mse() / static_cast<double>(m.size()) : 0;
            names.push_back(name);
            columns.push_back(std::move(c));
        };
        for (const auto& o : outputs) {
            if (s >= o.predictions.size()) continue;
            std::size_t r = 0;
            std::vector<const sigx::Record*> with;  // the scored records, in step with the predictions
            std::vector<const sigx::Prediction*> predictions;
            for (const auto& rec : set.records) {
                if (rec.truth && rec.input.channels.size() == 1 && r < o.predictions[s].size()) {
                    with.push_back(&rec);
                    predictions.push_back(&o.predictions[s][r]);
                }
                ++r;
            }
            std::size_t i = 0;
            add(o.model, moments(with, edges, [&](const sigx::Record&) { return *predictions[i++]; }));
        }
        for (const Bound& b : bounds_[s]) add(b.row, b.per_component);
        std::string text = "# time_s bin_start_s bin_end_s";
        for (const auto& n : names) text += fmt::format(" {}", file_safe(n));
        text += "\n";
        for (std::size_t i = 0; i + 1 < edges.size(); ++i) {
            if (records.front()->size() == 0) break;
            text += fmt::format("{} {} {}", std::sqrt(std::max(edges[i], 1e-3) * edges[i + 1]), edges[i], edges[i + 1]);
            for (const auto& c : columns) text += fmt::format(" {:.6g}", c[i]);
            text += "\n";
        }
        const std::string base = fmt::format("mse_over_time_{}", file_safe(set.name)),
                          dat = fmt::format("{}.dat", base);
        std::ofstream(dir_ / dat) << text;
        std::string plot = fmt::format(
            "  set title \"{}: MSE against time since the record's start (mean over components)\"\n"
            "  set grid\n  set logscale xy\n  set yrange [1e-9:1]\n  set xlabel \"time since the record's start (s, "
            "bin centres)\"\n"
            "  set ylabel \"MSE\"\n  set key outside right\n  plot ",
            set.name);
        for (std::size_t j = 0; j < names.size(); ++j) {
            const bool bound = names[j].front() == '(';
            plot += fmt::format("{}\"{}\" using 1:{} with linespoints {}title \"{}\"", j ? ", " : "", dat, j + 4,
                                bound ? "dt 2 lw 2 " : "", names[j]);
        }
        const std::string script = fmt::format("{}.gp", base);
        std::ofstream(dir_ / script) << sigx::gnuplot_begin(base, 1100, 600) + "  set termoption noenhanced\n" + plot +
                                            "\n" + sigx::gnuplot_end();
        return script;
    }

    double ratio_, warmup_;
    bool render_;
    bool computed_ = false;
    std::vector<std::vector<Bound>> bounds_;  // [test set]: classical, then causal where there is one
    std::vector<std::string> set_names_;      // of bounds_
    std::string why_not_;                     // why there is no bound, when there is none
    std::filesystem::path dir_;
};

}  // namespace

SIGX_PLUGIN(Diagnose)
