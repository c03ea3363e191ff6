// multitaper: line removal as CleanLine and MNE's spectrum_fit do it: in overlapping
// windows, each tone's amplitude regressed on Slepian tapers at the frequency within its
// tolerance that maximises Thomson's F statistic, removed only where that F is
// significant, the windows cross-faded (../classical/multitaper.hpp). Non-causal. The
// window's length is chosen on the training records unless given; each prediction
// carries the frequencies found.
#include "../classical/multitaper.hpp"

#include <sigx/files.hpp>
#include <sigx/register.hpp>

#include <fmt/format.h>

#include <fstream>
#include <limits>

namespace {

class Multitaper final : public sigx::Model, public sigx::ModelState {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {.name = "multitaper",
                .version = "1.0.0",
                .description =
                    "windowed multitaper regression with Thomson's F-test and a frequency search within the tolerance "
                    "(CleanLine, MNE spectrum_fit); non-causal",
                .params = {ParamSpec::real("window", 0.0)
                               .range(0.0, 3600.0)
                               .help("s: the windows' length (they overlap by half); 0: the best of 0.5, 1, 2 and 4 s "
                                     "on the training "
                                     "records"),
                           ParamSpec::real("nw", 2.0).range(1.0, 20.0).help(
                               "time-half-bandwidth product: 2 nw - 1 tapers, a resolution of nw / window Hz"),
                           ParamSpec::real("p_value", 0.05)
                               .range(0.0, 1.0)
                               .help("a line is removed from a window only where the F test's p is below this")},
                .follows_drift = true};  // it searches the tolerance for the line
    }

    explicit Multitaper(const sigx::Params& p) {
        settings_.window = p.real("window"), settings_.nw = p.real("nw"), settings_.p_value = p.real("p_value");
        search_ = settings_.window == 0;
        if (search_) settings_.window = 1;
    }

    void* extension(std::string_view id) override {
        if (id == sigx::model_nature_id)
            return &(nature_ = {false, sigx::ModelNature::Method::classical, "sliding multitaper regression"});
        return id == sigx::model_state_id ? static_cast<sigx::ModelState*>(this) : nullptr;
    }

    void fit(const sigx::Records& train, sigx::Host& host) override {
        if (!search_) return;
        double best = std::numeric_limits<double>::infinity();
        for (double window : {0.5, 1.0, 2.0, 4.0}) {
            sigx::classical::MultitaperSettings s = settings_;
            s.window = window;
            double err = 0;
            for (const auto& r : train) {
                if (!r.truth)
                    throw std::runtime_error(
                        fmt::format("the window is chosen on the training records' truth; '{}' has none (give window)",
                                    r.input.name));
                const auto fit = sigx::classical::multitaper_lines(r.input, r.task, s);
                for (std::size_t k = 0; k < r.task.size(); ++k)
                    for (std::size_t t = 0; t < r.size(); ++t) {
                        const double d = fit.lines[k][t] / r.task.components[k].gain - r.truth->references[k][t];
                        err += d * d;
                    }
            }
            host.info(fmt::format("window {} s: training squared error {:.4g}", window, err));
            if (err < best) best = err, chosen_ = window;
            if (host.cancelled()) return;
        }
        settings_.window = chosen_;
        host.info(fmt::format("window: {} s", chosen_));
    }

    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        auto fit = sigx::classical::multitaper_lines(input, task, settings_);
        for (std::size_t k = 0; k < task.size(); ++k)
            for (double& y : fit.lines[k]) y /= task.components[k].gain;
        return {std::move(fit.lines), std::move(fit.frequency)};
    }

    std::vector<std::string> state_params() const override { return {"window", "nw", "p_value"}; }
    void save_state(const std::filesystem::path& dir) override {
        sigx::write_file_atomic(dir / "window.txt", fmt::format("{:a}\n", settings_.window));
    }
    void load_state(const std::filesystem::path& dir, std::size_t) override {
        sigx::StateText in(dir / "window.txt");
        settings_.window = in.number("window length in seconds", 1e-6, 3600);
        in.end();
    }

private:
    sigx::ModelNature nature_;  // what extension(model_nature_id) answers
    sigx::classical::MultitaperSettings settings_;
    bool search_ = false;
    double chosen_ = 1;
};

}  // namespace

SIGX_PLUGIN(Multitaper)
