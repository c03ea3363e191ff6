// plots: figures of a run, drawn by gnuplot as PNG and SVG, each beside its data file and
// .gp script (restyle a figure by editing its script and running gnuplot on it):
//   <set>_<component>   target, mix and every model's prediction: whole record and a zoom
//   <set>_components    every component in one grid (zoomed)
//   <set>_errors        distribution of each model's error
//   <set>_spectrum      magnitude spectrum of the mix and of each model's extracted components
//   <set>_frequency     each frequency tracker's estimate of every component's frequency
//                       against time, beside the true frequency where the truth has it
//   training_curves     train loss and validation MSE per epoch, for trained models
// Without gnuplot the run still succeeds, keeps data and scripts, and says how to render.
#include <sigx/gnuplot.hpp>
#include <sigx/register.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <fstream>

namespace {

constexpr double two_pi = 6.283185307179586476925286766559;

// gnuplot strings are written in double quotes; keep labels literal.
std::string label(const std::string& s) {
    std::string out;
    for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return out;
}

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    return out;
}

class Plots final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "plots",
                .version = "1.0.0",
                .description =
                    "gnuplot figures (PNG + SVG, data and script kept): components, grid, errors, spectrum, training "
                    "curves",
                .params = {
                    sigx::ParamSpec::real("zoom", 1.0).positive().help("seconds shown in the zoomed panels"),
                    sigx::ParamSpec::boolean("render", true).help("run gnuplot (false: write data and scripts only)")}};
    }
    explicit Plots(const sigx::Params& p) : zoom_(p.real("zoom")), render_(p.boolean("render")) {}

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host& host) override {
        dir_ = host.output_dir();
        scripts_.clear();
        for (std::size_t s = 0; s < data.tests.size(); ++s) {
            const auto& set = data.tests[s];
            if (set.records.empty()) continue;
            components(set, s, outputs);
            errors(set, s, outputs);
            spectrum(set, s, outputs);
            frequency(set, s, outputs);
        }
        training_curves(outputs);

        if (!render_) return {};
        if (!sigx::find_gnuplot()) {
            host.warn(sigx::gnuplot_missing_hint(dir_));
            return {};
        }
        for (const auto& script : scripts_)
            if (!sigx::render_gnuplot(dir_ / script))
                host.warn(fmt::format("gnuplot failed on {}; see {}.log", (dir_ / script).string(),
                                      (dir_ / script).string()));
        host.info(fmt::format("{} figures (PNG and SVG) in {}", scripts_.size(), dir_.string()));
        return {};
    }

private:
    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
    void script(const std::string& name, const std::string& body, int w = 1000, int h = 600) {
        write(name + ".gp",
              sigx::gnuplot_begin(name, w, h) + "  set termoption noenhanced\n" + body + sigx::gnuplot_end());
        scripts_.push_back(name + ".gp");
    }

    // The first record of a set: time, mix, and per component the target (NaN, which
    // gnuplot leaves out, where the record has no truth) and every model.
    void components(const sigx::RecordSet& set, std::size_t s, const std::vector<sigx::ModelOutput>& outputs) {
        const sigx::Input& r = set.records.front().input;
        const auto& truth = set.records.front().truth;
        const auto& comps = set.records.front().task.components;
        const std::size_t m = outputs.size(), k = comps.size();
        const std::string base = file_safe(set.name), dat = base + "_record0.dat";
        fmt::memory_buffer b;
        fmt::format_to(std::back_inserter(b), "# time mix, then per component: target, {}\n", [&] {
            std::string names;
            for (const auto& o : outputs) names += o.model + " ";
            return names;
        }());
        for (std::size_t n = 0; n < r.size(); ++n) {
            fmt::format_to(std::back_inserter(b), "{:.6f} {:.7g}", r.time(n), r.channels.front()[n]);
            for (std::size_t c = 0; c < k; ++c) {
                fmt::format_to(std::back_inserter(b), " {:.7g}", truth ? truth->references[c][n] : std::nan(""));
                for (const auto& o : outputs)
                    fmt::format_to(std::back_inserter(b), " {:.7g}", o.predictions[s][0].components[c][n]);
            }
            b.push_back('\n');
        }
        write(dat, fmt::to_string(b));

        const double t0 = r.start_time, t1 = r.time(r.size() - 1), z1 = std::min(t1, t0 + zoom_);
        auto plot_lines = [&](std::size_t c, bool with_mix) {
            const std::size_t target_col = 3 + c * (m + 1);
            std::string p = "  plot ";
            if (with_mix) p += fmt::format("\"{}\" using 1:2 with lines lc rgb \"#b0b0b0\" title \"mix\", ", dat);
            p += fmt::format("\"{}\" using 1:{} with lines lw 2 lc rgb \"black\" title \"target\"", dat, target_col);
            for (std::size_t j = 0; j < m; ++j)
                p += fmt::format(", \"{}\" using 1:{} with lines title \"{}\"", dat, target_col + 1 + j,
                                 label(outputs[j].model));
            return p + "\n";
        };
        for (std::size_t c = 0; c < k; ++c) {
            const std::string& comp = comps[c].label;
            std::string body = fmt::format(
                "  set multiplot layout 2,1 title \"{}: {} (record 0)\"\n  set grid\n  set key outside right\n",
                label(set.name), label(comp));
            body += fmt::format("  set xrange [{}:{}]\n  set title \"whole record\"\n", t0, t1) + plot_lines(c, true);
            body += fmt::format("  set xrange [{}:{}]\n  set title \"first {} s\"\n  set xlabel \"time (s)\"\n", t0, z1,
                                zoom_) +
                    plot_lines(c, true);
            script(base + "_" + file_safe(comp), body);
        }
        const auto cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(k))));
        const std::size_t rows = (k + cols - 1) / cols;
        std::string grid = fmt::format(
            "  set multiplot layout {},{} title \"{}: every component, first {} s\"\n  set grid\n"
            "  set xrange [{}:{}]\n",
            rows, cols, label(set.name), zoom_, t0, z1);
        for (std::size_t c = 0; c < k; ++c)
            grid += fmt::format("  set title \"{}\"\n", label(comps[c].label)) + plot_lines(c, false);
        script(base + "_components", grid, 1200, 800);
    }

    void errors(const sigx::RecordSet& set, std::size_t s, const std::vector<sigx::ModelOutput>& outputs) {
        if (outputs.empty()) return;
        const std::size_t bins = 81;
        std::vector<std::vector<double>> err(outputs.size());
        double rms_max = 0;
        for (std::size_t j = 0; j < outputs.size(); ++j) {
            double se = 0;
            for (std::size_t r = 0; r < set.records.size(); ++r)
                for (std::size_t c = 0; set.records[r].truth && c < set.records[r].task.size(); ++c) {
                    const auto& ref = set.records[r].truth->references[c];
                    const auto& pred = outputs[j].predictions[s][r].components[c];
                    for (std::size_t n = 0; n < ref.size(); ++n)
                        err[j].push_back(pred[n] - ref[n]), se += err[j].back() * err[j].back();
                }
            rms_max = std::max(rms_max, std::sqrt(se / static_cast<double>(std::max<std::size_t>(1, err[j].size()))));
        }
        if (err.front().empty()) return;  // no record of the set has a truth
        const double half = std::max(4 * rms_max, 1e-12), width = 2 * half / bins;
        std::string text = "# error bin centre, then the fraction of samples per model\n";
        std::vector<std::vector<double>> counts(outputs.size(), std::vector<double>(bins, 0));
        for (std::size_t j = 0; j < outputs.size(); ++j)
            for (double e : err[j]) {
                const auto b = static_cast<long>(std::floor((e + half) / width));
                if (b >= 0 && b < static_cast<long>(bins))
                    counts[j][static_cast<std::size_t>(b)] += 1.0 / static_cast<double>(err[j].size());
            }
        for (std::size_t b = 0; b < bins; ++b) {
            text += fmt::format("{:.6g}", -half + (static_cast<double>(b) + 0.5) * width);
            for (const auto& c : counts) text += fmt::format(" {:.6g}", c[b]);
            text += "\n";
        }
        const std::string base = file_safe(set.name), dat = base + "_errors.dat";
        write(dat, text);
        std::string body = fmt::format(
            "  set title \"{}: prediction error (all components)\"\n  set grid\n"
            "  set xlabel \"prediction - target\"\n  set ylabel \"fraction of samples\"\n  plot ",
            label(set.name));
        for (std::size_t j = 0; j < outputs.size(); ++j)
            body += fmt::format("{}\"{}\" using 1:{} with steps lw 2 title \"{}\"", j ? ", " : "", dat, j + 2,
                                label(outputs[j].model));
        script(base + "_errors", body + "\n");
    }

    // Amplitude spectrum (2 |DFT| / N) of the mix and of each model's reconstruction of
    // it (the sum of its extracted components, each at its gain), up to twice the
    // highest component frequency. The mix is the input's first channel.
    void spectrum(const sigx::RecordSet& set, std::size_t s, const std::vector<sigx::ModelOutput>& outputs) {
        const sigx::Input& r = set.records.front().input;
        const auto& comps = set.records.front().task.components;
        const std::size_t n = r.size();
        if (n < 2) return;
        double fmax = 0;
        for (const auto& c : comps) fmax = std::max(fmax, c.frequency);
        const double duration = static_cast<double>(n) / r.sample_rate;
        const std::size_t bins = std::min(n / 2, static_cast<std::size_t>(std::ceil(2 * fmax * duration)) + 1);
        std::vector<sigx::Samples> series = {r.channels.front()};
        for (const auto& o : outputs) {
            sigx::Samples sum(n, 0.0);
            for (std::size_t c = 0; c < comps.size(); ++c)
                for (std::size_t t = 0; t < n; ++t) sum[t] += comps[c].gain * o.predictions[s][0].components[c][t];
            series.push_back(std::move(sum));
        }
        std::string text = "# frequency (Hz), amplitude of the mix, then of each model's extracted components\n";
        // Each bin's e^{-i w t} by rotation (a complex multiply per sample, not a sine and a
        // cosine: 16 kHz recordings have thousands of bins), exact again every 1024 samples.
        std::vector<std::complex<double>> sums(series.size());
        for (std::size_t j = 0; j <= bins; ++j) {
            text += fmt::format("{:.6g}", static_cast<double>(j) / duration);
            const double w = two_pi * static_cast<double>(j) / static_cast<double>(n);
            const std::complex<double> step = std::polar(1.0, -w);
            std::fill(sums.begin(), sums.end(), 0.0);
            std::complex<double> z = 1.0;
            for (std::size_t t = 0; t < n; ++t) {
                if (t % 1024 == 0) z = std::polar(1.0, -w * static_cast<double>(t));
                for (std::size_t k = 0; k < series.size(); ++k) sums[k] += series[k][t] * z;
                z *= step;
            }
            for (const auto& sum : sums) text += fmt::format(" {:.6g}", 2 * std::abs(sum) / static_cast<double>(n));
            text += "\n";
        }
        const std::string base = file_safe(set.name), dat = base + "_spectrum.dat";
        write(dat, text);
        std::string body = fmt::format(
            "  set title \"{}: amplitude spectrum (record 0)\"\n  set grid\n  set logscale y\n"
            "  set xlabel \"frequency (Hz)\"\n  set ylabel \"amplitude\"\n"
            "  plot \"{}\" using 1:2 with impulses lw 3 lc rgb \"#b0b0b0\" title \"mix\"",
            label(set.name), dat);
        for (std::size_t j = 0; j < outputs.size(); ++j)
            body +=
                fmt::format(", \"{}\" using 1:{} with linespoints title \"{}\"", dat, j + 3, label(outputs[j].model));
        script(base + "_spectrum", body + "\n");
    }

    // The first record: per component, the true frequency (where the truth has it) and
    // every tracker's estimate, at most 4000 points along the record.
    void frequency(const sigx::RecordSet& set, std::size_t s, const std::vector<sigx::ModelOutput>& outputs) {
        std::vector<std::size_t> trackers;
        for (std::size_t j = 0; j < outputs.size(); ++j)
            if (!outputs[j].predictions[s][0].frequencies.empty()) trackers.push_back(j);
        if (trackers.empty()) return;
        const sigx::Record& rec = set.records.front();
        const auto& comps = rec.task.components;
        const bool truth = rec.truth && !rec.truth->frequencies.empty();
        const std::size_t step = std::max<std::size_t>(1, rec.size() / 4000);
        fmt::memory_buffer b;
        fmt::format_to(std::back_inserter(b), "# time, then per component: true frequency (Hz), each tracker's\n");
        for (std::size_t n = 0; n < rec.size(); n += step) {
            fmt::format_to(std::back_inserter(b), "{:.6f}", rec.input.time(n));
            for (std::size_t c = 0; c < comps.size(); ++c) {
                fmt::format_to(std::back_inserter(b), " {:.9g}", truth ? rec.truth->frequencies[c][n] : std::nan(""));
                for (std::size_t j : trackers)
                    fmt::format_to(std::back_inserter(b), " {:.9g}", outputs[j].predictions[s][0].frequencies[c][n]);
            }
            b.push_back('\n');
        }
        const std::string base = file_safe(set.name), dat = base + "_frequency.dat";
        write(dat, fmt::to_string(b));
        std::string body = fmt::format(
            "  set multiplot layout {},1 title \"{}: frequency against time (record 0)\"\n  set grid\n"
            "  set key outside right\n  set ylabel \"Hz\"\n",
            comps.size(), label(set.name));
        for (std::size_t c = 0; c < comps.size(); ++c) {
            const std::size_t col = 2 + c * (trackers.size() + 1);
            body += fmt::format("  set title \"{}\"\n", label(comps[c].label));
            if (c + 1 == comps.size()) body += "  set xlabel \"time (s)\"\n";
            body += fmt::format("  plot \"{}\" using 1:{} with lines lw 2 lc rgb \"black\" title \"true\"", dat, col);
            for (std::size_t j = 0; j < trackers.size(); ++j)
                body += fmt::format(", \"{}\" using 1:{} with lines title \"{}\"", dat, col + 1 + j,
                                    label(outputs[trackers[j]].model));
            body += "\n";
        }
        script(base + "_frequency", body, 1000, 250 * static_cast<int>(std::max<std::size_t>(2, comps.size())));
    }

    void training_curves(const std::vector<sigx::ModelOutput>& outputs) {
        std::string lines;
        for (const auto& o : outputs) {
            auto it = o.artifacts.find("training_curve");
            if (it == o.artifacts.end()) continue;
            const std::string path = std::filesystem::relative(it->second, dir_).string();
            lines += fmt::format(
                "{}\"{}\" using 1:2 with lines lw 2 title \"{} train loss\", "
                "\"{}\" using 1:3 with linespoints title \"{} validation MSE\"",
                lines.empty() ? "" : ", ", path, label(o.model), path, label(o.model));
        }
        if (lines.empty()) return;
        script("training_curves",
               "  set title \"training curves\"\n  set grid\n  set logscale y\n  set datafile separator \",\"\n"
               "  set key autotitle columnhead\n  set xlabel \"epoch\"\n  plot " +
                   lines + "\n");
    }

    double zoom_;
    bool render_;
    std::filesystem::path dir_;
    std::vector<std::string> scripts_;
};

}  // namespace

SIGX_PLUGIN(Plots)
