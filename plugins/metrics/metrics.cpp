// metrics: for every model, test set (the records that have a truth, pooled) and
// component, and their mean:
//  mse            mean squared error against the clean component
//  pearson        correlation with the clean component
//  mse_rel_floor  mse / the MSE of predicting zero (the floor any useful model must beat)
//  snr_gain_db    output SNR (target power / error power) minus input SNR (the
//                 component's power in the mix, gain * reference, / the power of
//                 everything else in the mix). Meaningful when the mix holds the component
//                 coherently; at phase_scale = 1 it does not, and even the floor "gains".
//  freq_rms_hz    for a model that tracks frequency, where the truth has the tones'
//                 instantaneous frequencies: the RMS error of its estimate, Hz
// and, over the components together ("mean"):
//  sum_rel_floor  the MSE of the components' sum relative to that of predicting zero:
//                 what a line remover leaves of the lines (mains hum and its harmonics)
// and the floor itself as the pseudo-model "(predict zero)".
// Each is also given over time since the record's start, in the bins of
// classical/time_bins.hpp ("mse@0.1-0.2s"), and after a warm-up ("mse@steady", from
// `warmup` seconds on): a causal model's lock-on shows there, not in the whole record.
#include "../classical/time_bins.hpp"

#include <sigx/register.hpp>

#include <algorithm>
#include <cmath>

namespace {

using sigx::classical::Moments;
using sigx::classical::TimedMoments;

double db(double ratio) { return 10.0 * std::log10(ratio); }

class Metrics final : public sigx::Evaluator {
public:
    static constexpr const char* floor_model = "(predict zero)";

    static sigx::Descriptor describe() {
        return {
            .name = "metrics",
            .version = "1.0.0",
            .description =
                "MSE, Pearson correlation, MSE relative to predicting zero and SNR gain (dB) per component and their "
                "mean, on every test set: whole records, time bins since their start, and after a warm-up",
            .params = {sigx::ParamSpec::real("warmup", 1.0)
                           .at_least(0.0)
                           .help("seconds from each record's start left out of the `@steady` metrics")}};
    }
    explicit Metrics(const sigx::Params& p) : warmup_(p.real("warmup")) {}

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host&) override {
        std::vector<sigx::Metric> out;
        for (std::size_t s = 0; s < data.tests.size(); ++s) {
            const auto& set = data.tests[s];
            std::vector<std::size_t> scored;  // records with a truth: the only ones with an answer to score against
            for (std::size_t r = 0; r < set.records.size(); ++r)
                if (set.records[r].truth) scored.push_back(r);
            if (scored.empty()) continue;
            const auto& comps = set.records[scored.front()].task.components;
            double longest = 0;
            for (std::size_t r : scored)
                longest =
                    std::max(longest, static_cast<double>(set.records[r].size()) / set.records[r].input.sample_rate);
            const auto edges = sigx::classical::time_bin_edges(longest);
            auto pooled = [&](auto prediction) {
                std::vector<TimedMoments> m(comps.size(), TimedMoments(edges, warmup_));
                for (std::size_t r : scored)
                    for (std::size_t c = 0; c < comps.size(); ++c) {
                        const auto& ref = set.records[r].truth->references[c];
                        const double rate = set.records[r].input.sample_rate;
                        for (std::size_t n = 0; n < ref.size(); ++n) m[c].add(n, rate, prediction(r, c, n), ref[n]);
                    }
                return m;
            };
            // Input SNR per component: its scaled reference against the rest of the mix
            // (single-channel inputs only: with several, "the mix" is not one signal).
            const bool one_channel = set.records[scored.front()].input.channels.size() == 1;
            std::vector<double> snr_in(comps.size());
            for (std::size_t c = 0; one_channel && c < comps.size(); ++c) {
                double signal = 0, rest = 0;
                for (std::size_t r : scored) {
                    const auto& rec = set.records[r];
                    const auto& mix = rec.input.channels.front();
                    const auto& ref = rec.truth->references[c];
                    const double gain = rec.task.components[c].gain;
                    for (std::size_t n = 0; n < mix.size(); ++n) {
                        const double part = gain * ref[n];
                        signal += part * part, rest += (mix[n] - part) * (mix[n] - part);
                    }
                }
                snr_in[c] = db(signal / rest);
            }
            // The metrics of one part of the records, its window (Metric::window).
            auto emit_part = [&](const std::string& model, const std::vector<const Moments*>& m, bool is_model,
                                 const std::string& window) {
                if (m.front()->n == 0) return;  // no record reaches this part
                double mse = 0, r = 0, rel = 0, gain = 0;
                for (std::size_t c = 0; c < comps.size(); ++c) {
                    const std::string& label = comps[c].label;
                    const double floor = m[c]->floor_mse(), rel_c = m[c]->mse() / floor;
                    out.push_back({set.name, model, label, "mse", m[c]->mse(), window});
                    mse += m[c]->mse(), rel += rel_c;
                    if (!is_model) continue;
                    const double gain_c = db(floor / m[c]->mse()) - snr_in[c];
                    out.push_back({set.name, model, label, "pearson", m[c]->pearson(), window});
                    out.push_back({set.name, model, label, "mse_rel_floor", rel_c, window});
                    if (one_channel) out.push_back({set.name, model, label, "snr_gain_db", gain_c, window});
                    r += m[c]->pearson(), gain += gain_c;
                }
                const double k = static_cast<double>(comps.size());
                out.push_back({set.name, model, "mean", "mse", mse / k, window});
                if (!is_model) return;
                out.push_back({set.name, model, "mean", "pearson", r / k, window});
                out.push_back({set.name, model, "mean", "mse_rel_floor", rel / k, window});
                if (one_channel) out.push_back({set.name, model, "mean", "snr_gain_db", gain / k, window});
            };
            auto emit = [&](const std::string& model, const std::vector<TimedMoments>& m, bool is_model) {
                auto part = [&](auto pick) {
                    std::vector<const Moments*> v;
                    for (const auto& x : m) v.push_back(&pick(x));
                    return v;
                };
                emit_part(model, part([](const TimedMoments& x) -> const Moments& { return x.whole; }), is_model, "");
                emit_part(model, part([](const TimedMoments& x) -> const Moments& { return x.steady; }), is_model,
                          sigx::classical::steady_window);
                for (std::size_t b = 0; b + 1 < edges.size(); ++b)
                    emit_part(model, part([&](const TimedMoments& x) -> const Moments& { return x.bins[b]; }), is_model,
                              sigx::classical::bin_window(edges[b], edges[b + 1]));
            };
            for (const auto& o : outputs) {
                emit(o.model, pooled([&](std::size_t r, std::size_t c, std::size_t n) {
                         return o.predictions[s][r].components[c][n];
                     }),
                     true);
                emit_sum_and_frequency(set, scored, o.predictions[s], o.model, out);
            }
            emit(floor_model, pooled([](std::size_t, std::size_t, std::size_t) { return 0.0; }), false);
        }
        return out;
    }

    std::vector<sigx::ReportRow> rows() const override {
        return {{"", floor_model, "predicting 0 for every component: the floor every useful model must beat"}};
    }
    // Reports lead with the MSE, and its value after the warm-up beside it.
    sigx::Headline headline() const override { return {"mse", {sigx::classical::steady_window}}; }

private:
    // sum_rel_floor (whole and steady) and, where both the truth and the model give
    // frequencies, freq_rms_hz per component and their mean (whole and steady).
    void emit_sum_and_frequency(const sigx::RecordSet& set, const std::vector<std::size_t>& scored,
                                const std::vector<sigx::Prediction>& predictions, const std::string& model,
                                std::vector<sigx::Metric>& out) const {
        const auto& comps = set.records[scored.front()].task.components;
        Moments sum, sum_steady;
        std::vector<Moments> freq(comps.size()), freq_steady(comps.size());
        bool tracked = true;
        for (std::size_t r : scored) {
            const auto& rec = set.records[r];
            const auto& p = predictions[r];
            tracked = tracked && !rec.truth->frequencies.empty() && !p.frequencies.empty();
            for (std::size_t n = 0; n < rec.size(); ++n) {
                double y = 0, t = 0;
                for (std::size_t c = 0; c < comps.size(); ++c)
                    y += p.components[c][n], t += rec.truth->references[c][n];
                const bool steady = static_cast<double>(n) / rec.input.sample_rate >= warmup_;
                sum.add(y, t);
                if (steady) sum_steady.add(y, t);
                if (!tracked) continue;
                for (std::size_t c = 0; c < comps.size(); ++c) {
                    freq[c].add(p.frequencies[c][n], rec.truth->frequencies[c][n]);
                    if (steady) freq_steady[c].add(p.frequencies[c][n], rec.truth->frequencies[c][n]);
                }
            }
        }
        const std::string mean = "mean";
        out.push_back({set.name, model, mean, "sum_rel_floor", sum.mse() / sum.floor_mse()});
        if (sum_steady.n > 0)
            out.push_back({set.name, model, mean, "sum_rel_floor", sum_steady.mse() / sum_steady.floor_mse(),
                           sigx::classical::steady_window});
        if (!tracked) return;
        auto emit = [&](const std::vector<Moments>& m, const std::string& window) {
            if (m.front().n == 0) return;
            double total = 0;
            for (std::size_t c = 0; c < comps.size(); ++c) {
                out.push_back({set.name, model, comps[c].label, "freq_rms_hz", std::sqrt(m[c].mse()), window});
                total += m[c].mse();
            }
            out.push_back(
                {set.name, model, mean, "freq_rms_hz", std::sqrt(total / static_cast<double>(comps.size())), window});
        };
        emit(freq, "");
        emit(freq_steady, sigx::classical::steady_window);
    }

    double warmup_;
};

}  // namespace

SIGX_PLUGIN(Metrics)
