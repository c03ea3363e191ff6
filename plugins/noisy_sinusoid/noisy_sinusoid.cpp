// noisy_sinusoid: the flagship data source. A mix of sinusoids whose amplitude and phase
// are redrawn at every sample, and the clean sinusoids as references. Optionally the
// tones drift (`drift`): the references are then the drifted tones, each record's truth
// holds their instantaneous frequencies, and the task states only the nominal
// frequencies and the tolerance.
//
// Draw order (fixed, so a seed gives the same record on every machine): one
// std::mt19937_64 per record, seeded with the record's seed; for each sample n in order,
// for each component i in order: first A_i(n), then phi_i(n). A uniform draw on [0, 1)
// is (engine() >> 11) * 2^-53, never std::uniform_real_distribution, whose algorithm the
// standard leaves to each library. A drifting record's walk comes from a second engine,
// seeded with derived_seed(the record's seed, 0x6472696674), normals by Box-Muller, so
// the amplitudes and phases are the same whatever the drift.
#include "../classical/causal_bound.hpp"

#include <sigx/register.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace {

constexpr double two_pi = 6.283185307179586476925286766559;

class NoisySinusoid final : public sigx::Generator {
public:
    static sigx::Descriptor describe() {
        using sigx::ParamSpec;
        return {
            .name = "noisy_sinusoid",
            .version = "1.0.0",
            .description =
                "sinusoids with amplitude and phase redrawn at every sample, mixed; clean sinusoids as targets",
            .params = {
                ParamSpec::real_list("frequencies", {1.0, 3.0, 5.0, 7.0})
                    .not_empty()
                    .positive()
                    .help("component frequencies in Hz, each below Nyquist (sample_rate / 2)"),
                ParamSpec::real("sample_rate", 1000.0).positive().help("samples per second"),
                ParamSpec::real("duration", 10.0).positive().help("record length in seconds"),
                ParamSpec::real_list("amplitude", {0.8, 1.2})
                    .size(2)
                    .at_least(0.0)
                    .help("[lo, hi]: each sample's amplitude is drawn from U(lo, hi)"),
                ParamSpec::real("phase_scale", 1.0)
                    .at_least(0.0)
                    .help("each sample's phase is phase_scale * U(0, 2 pi); 1 makes the task unlearnable"),
                ParamSpec::real("mix_weight", 0.0)
                    .at_least(0.0)
                    .help("weight of each component in the mix; 0 means 1 / number of components"),
                ParamSpec::integer("train_seed", 1).at_least(0).help("seed of the (first) training record"),
                ParamSpec::integer("test_seed", 2).at_least(0).help("seed of the test record"),
                ParamSpec::integer("train_records", 1)
                    .range(1, 10000)
                    .help("training records; record k > 0 uses a seed derived from train_seed and k"),
                ParamSpec::boolean("random_start", false)
                    .help("training records k > 0 start at a random time in [0, 1000) s, so their clean phases differ"),
                ParamSpec::integer("unseen_records", 2)
                    .range(0, 10000)
                    .help("records of the unseen_phase test set: fresh seeds, start times hidden from models; 0: none"),
                ParamSpec::real("tolerance", 0.0)
                    .at_least(0.0)
                    .help("Hz at the lowest frequency (each tone's scales with its frequency): how far the task lets "
                          "the tones stray; 0: exactly at their frequencies"),
                ParamSpec::string("drift", "none")
                    .one_of({"none", "offset", "walk", "sweep"})
                    .help(
                        "how the tones' frequencies move: offset (constant), walk (a random walk: Ornstein-Uhlenbeck, "
                        "kept within the tolerance), sweep (linear from -drift_hz to +drift_hz over each record)"),
                ParamSpec::real("drift_hz", 0.05)
                    .range(-1e6, 1e6)
                    .help("Hz at the lowest frequency, scaling with each tone's: the offset, the walk's standard "
                          "deviation, or half the sweep"),
                ParamSpec::real("drift_time", 10.0).positive().help("s: the walk's correlation time"),
                ParamSpec::boolean("drift_common", true)
                    .help(
                        "one common drift, as of a clock or a grid: every tone moves by the same fraction of its "
                        "frequency and the task states them as harmonics of the lowest; false: each tone walks on its "
                        "own")}};
    }

    explicit NoisySinusoid(const sigx::Params& p)
        : freqs_(p.real_list("frequencies")),
          fs_(p.real("sample_rate")),
          duration_(p.real("duration")),
          amp_lo_(p.real_list("amplitude")[0]),
          amp_hi_(p.real_list("amplitude")[1]),
          phase_scale_(p.real("phase_scale")),
          weight_(p.real("mix_weight")),
          train_seed_(static_cast<std::uint64_t>(p.integer("train_seed"))),
          test_seed_(static_cast<std::uint64_t>(p.integer("test_seed"))),
          train_records_(static_cast<std::size_t>(p.integer("train_records"))),
          random_start_(p.boolean("random_start")),
          unseen_records_(static_cast<std::size_t>(p.integer("unseen_records"))),
          tolerance_(p.real("tolerance")),
          drift_(p.string("drift")),
          drift_hz_(p.real("drift_hz")),
          drift_time_(p.real("drift_time")),
          drift_common_(p.boolean("drift_common")) {
        for (double f : freqs_)
            if (f >= fs_ / 2)
                throw sigx::ParamError(
                    "frequencies",
                    fmt::format("frequency {} Hz is at or above Nyquist ({} Hz = sample_rate / 2)", f, fs_ / 2));
        sigx::RealList sorted = freqs_;  // sorted, so that the check stays O(n log n)
        std::sort(sorted.begin(), sorted.end());
        if (auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
            throw sigx::ParamError("frequencies", fmt::format("frequency {} Hz is listed twice", *twice));
        if (amp_lo_ > amp_hi_)
            throw sigx::ParamError("amplitude", fmt::format("amplitude range [{}, {}] has lo > hi", amp_lo_, amp_hi_));
        const double n = std::floor(duration_ * fs_ + 0.5);
        if (n < 1) throw sigx::ParamError("duration", "duration * sample_rate is less than one sample");
        if (n > 1e9) throw sigx::ParamError("duration", fmt::format("{} samples per record is too many (max 1e9)", n));
        samples_ = static_cast<std::size_t>(n);
        if (weight_ == 0) weight_ = 1.0 / static_cast<double>(freqs_.size());
        lowest_ = *std::min_element(freqs_.begin(), freqs_.end());
        if (drift_ != "none" && tolerance_ == 0)
            throw sigx::ParamError("tolerance",
                                   "the tones drift: give the tolerance that covers it (0 says they sit "
                                   "exactly at their frequencies)");
        if ((drift_ == "offset" || drift_ == "sweep") && std::abs(drift_hz_) > tolerance_)
            throw sigx::ParamError("drift_hz", fmt::format("a {} of {} Hz goes beyond the tolerance ({} Hz)", drift_,
                                                           std::abs(drift_hz_), tolerance_));
        if (drift_ == "walk" && drift_hz_ < 0)
            throw sigx::ParamError("drift_hz", "a walk's standard deviation cannot be negative");
        task_ = task_of();
        if (const auto problem = sigx::task_problem(task_, fs_); !problem.empty())
            throw sigx::ParamError("tolerance", problem);
        const std::uint64_t tests = 1 + unseen_records_;
        size_.test_samples = tests * samples_;
        size_.samples = (train_records_ + tests) * samples_;
        size_.components = freqs_.size();
    }

    void* extension(std::string_view id) override { return id == sigx::dataset_size_id ? &size_ : nullptr; }

    // Record 0 of the training set is the assignment's (train_seed, start 0), the "test"
    // set the assignment's (test_seed, start 0). Further records use derived seeds that
    // cannot collide with those, and start times drawn from a separate engine. A record
    // that starts at such a time shows it to nobody but its truth: a model's input starts
    // at 0 and must find the phase in the mix.
    sigx::Dataset generate(sigx::Host&) override {
        sigx::Dataset d;
        d.train.push_back(record("train-0", train_seed_, 0.0));
        for (std::size_t k = 1; k < train_records_; ++k) {
            const std::uint64_t seed = derived_seed(train_seed_, k);
            d.train.push_back(record(fmt::format("train-{}", k), seed, random_start_ ? start_time(seed) : 0.0));
        }
        d.tests.push_back({"test",
                           "the assignment's test record: same time axis as the first training record (t = 0 at "
                           "sample 0), a fresh noise seed",
                           {record("test-0", test_seed_, 0.0)}});
        if (unseen_records_ > 0) {
            sigx::RecordSet unseen{"unseen_phase",
                                   "fresh seeds, each record starting at a hidden time in [0, 1000) s: a model's "
                                   "time axis starts at 0, so the clean phase must come from the mix",
                                   {}};
            for (std::size_t k = 0; k < unseen_records_; ++k) {
                const std::uint64_t seed = derived_seed(test_seed_, 1000000 + k);
                unseen.records.push_back(record(fmt::format("unseen-{}", k), seed, start_time(seed)));
            }
            d.tests.push_back(std::move(unseen));
        }
        return d;
    }

private:
    // splitmix64 of (base, k): distinct records get unrelated seeds.
    static std::uint64_t derived_seed(std::uint64_t base, std::uint64_t k) {
        std::uint64_t z = base * 0x9e3779b97f4a7c15ull + k + 0x632be59bd9b4e019ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // A start time in [0, 1000) s on the sample grid.
    double start_time(std::uint64_t seed) const {
        std::mt19937_64 engine(derived_seed(seed, 0x5717));
        const double u = static_cast<double>(engine() >> 11) * 0x1.0p-53;
        return std::floor(u * 1000.0 * fs_) / fs_;
    }

    sigx::Record record(std::string name, std::uint64_t seed, double start) const {
        sigx::Record r;
        r.input.name = std::move(name);
        r.input.sample_rate = fs_;
        r.input.start_time = 0.0;
        r.input.metadata = {{"generator", "noisy_sinusoid"}};
        r.truth.emplace();
        r.truth->start_time = start;
        r.truth->metadata = {{"seed", std::to_string(seed)}};
        // The model the mix is drawn from, for evaluators that judge against it (the causal bound).
        sigx::classical::describe_noise_model({amp_lo_, amp_hi_, phase_scale_, weight_, 0.0}, r.truth->metadata);
        r.task = task_;
        for (std::size_t k = 0; k < freqs_.size(); ++k) r.truth->references.emplace_back(samples_);
        if (drift_ != "none") {
            r.truth->metadata["model.drift"] = drift_;
            r.truth->frequencies = frequencies(seed);
        }
        // Each tone's phase: 2 pi f t exactly without drift (as always), else 2 pi f t at
        // the record's start plus the integral of 2 pi times the drifted frequency.
        std::vector<double> phase(freqs_.size());
        for (std::size_t k = 0; k < freqs_.size(); ++k) phase[k] = std::fmod(two_pi * freqs_[k] * start, two_pi);
        sigx::Samples& mix = r.input.channels.emplace_back(samples_, 0.0);
        std::mt19937_64 engine(seed);
        auto uniform = [&] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };
        for (std::size_t n = 0; n < samples_; ++n) {
            const double t = start + static_cast<double>(n) / fs_;
            double sum = 0;
            for (std::size_t k = 0; k < freqs_.size(); ++k) {
                const double a = amp_lo_ + (amp_hi_ - amp_lo_) * uniform();
                const double phi = phase_scale_ * two_pi * uniform();
                double arg = two_pi * freqs_[k] * t;
                if (drift_ != "none") {
                    const auto& f = r.truth->frequencies[k];
                    if (n > 0) phase[k] = std::fmod(phase[k] + two_pi * 0.5 * (f[n - 1] + f[n]) / fs_, two_pi);
                    arg = phase[k];
                }
                sum += a * std::sin(arg + phi);
                r.truth->references[k][n] = std::sin(arg);
            }
            mix[n] = weight_ * sum;
        }
        return r;
    }

    // The task: every tone's tolerance scales with its frequency; with a common drift the
    // tones are harmonics of the lowest (they move together).
    sigx::Task task_of() const {
        sigx::Task t;
        const auto lowest = static_cast<std::int64_t>(std::min_element(freqs_.begin(), freqs_.end()) - freqs_.begin());
        for (std::size_t k = 0; k < freqs_.size(); ++k) {
            const double f = freqs_[k];
            // shortest exact form: distinct frequencies, distinct labels
            sigx::Component c{fmt::format("{}Hz", f),   f,  weight_ * 0.5 * (amp_lo_ + amp_hi_),
                              tolerance_ * f / lowest_, -1, 1.0};  // the references are unit sinusoids
            if (drift_common_ && tolerance_ > 0 && static_cast<std::int64_t>(k) != lowest) c.fundamental = lowest;
            t.components.push_back(std::move(c));
        }
        return t;
    }

    // Each tone's instantaneous frequency over a record (see `drift`), drawn from `seed`.
    std::vector<sigx::Samples> frequencies(std::uint64_t seed) const {
        std::vector<sigx::Samples> f(freqs_.size(), sigx::Samples(samples_));
        std::mt19937_64 engine(derived_seed(seed, 0x6472696674ull));
        auto uniform = [&] { return (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
        auto normal = [&] { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(two_pi * uniform()); };
        const double keep = std::exp(-1.0 / (fs_ * drift_time_)), fresh = std::sqrt(1.0 - keep * keep);
        const std::size_t walks = drift_common_ ? 1 : freqs_.size();
        for (std::size_t w = 0; w < walks; ++w) {
            // In Hz at the lowest frequency; a walk is reflected at the tolerance's edges.
            auto within = [&](double v) {
                while (std::abs(v) > tolerance_) v = std::copysign(2 * tolerance_, v) - v;
                return v;
            };
            double x = within(drift_hz_ * normal());
            for (std::size_t n = 0; n < samples_; ++n) {
                double d = drift_hz_;
                if (drift_ == "sweep")
                    d = drift_hz_ *
                        (samples_ > 1 ? 2.0 * static_cast<double>(n) / static_cast<double>(samples_ - 1) - 1 : 0.0);
                if (drift_ == "walk") {
                    d = x;
                    x = within(keep * x + drift_hz_ * fresh * normal());
                }
                for (std::size_t k = drift_common_ ? 0 : w; k < (drift_common_ ? freqs_.size() : w + 1); ++k)
                    f[k][n] = freqs_[k] * (1 + d / lowest_);
            }
        }
        return f;
    }

    sigx::RealList freqs_;
    double fs_, duration_, amp_lo_, amp_hi_, phase_scale_, weight_;
    std::uint64_t train_seed_, test_seed_;
    std::size_t train_records_;
    bool random_start_;
    std::size_t unseen_records_;
    double tolerance_;
    std::string drift_;
    double drift_hz_, drift_time_;
    bool drift_common_;
    double lowest_ = 0;
    sigx::Task task_;
    std::size_t samples_ = 0;
    sigx::DatasetSize size_;
};

}  // namespace

SIGX_PLUGIN(NoisySinusoid)
