#include <sigx/host/names.hpp>
#include <sigx/host/scaffold.hpp>

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <map>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {

// Replaces @KEY@ in a template.
std::string fill(std::string text, const std::map<std::string, std::string>& values) {
    for (const auto& [key, value] : values) {
        const std::string tag = "@" + key + "@";
        for (auto pos = text.find(tag); pos != std::string::npos; pos = text.find(tag, pos + value.size()))
            text.replace(pos, tag.size(), value);
    }
    return text;
}

const char* const cmake_template = R"TPL(# The @NAME@ sigx plugin, built against an installed sigx SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<sigx prefix> && cmake --build build
#   ctest --test-dir build            # unit test + `sigx check` on the library
#   SIGX_PLUGIN_PATH=$PWD/build/plugins sigx run pipeline.toml
cmake_minimum_required(VERSION 3.20)
project(@BASE@_plugin VERSION 0.1.0 LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

find_package(sigx 2.0 REQUIRED)

set(SIGX_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
sigx_add_plugin(@BASE@ SOURCES src/plugin.cpp)

enable_testing()
find_package(Catch2 2 REQUIRED)
# Catch2's main in a unit of its own, compiled once: an edit of the plugin rebuilds the
# plugin and its test in seconds.
add_library(@BASE@_test_main OBJECT tests/main.cpp)
target_link_libraries(@BASE@_test_main PRIVATE Catch2::Catch2)
add_executable(@BASE@_test tests/@BASE@_test.cpp $<TARGET_OBJECTS:@BASE@_test_main>)
target_include_directories(@BASE@_test PRIVATE src)
target_link_libraries(@BASE@_test PRIVATE sigx::sdk Catch2::Catch2)
add_test(NAME @BASE@_test COMMAND @BASE@_test)
add_test(NAME @BASE@_check COMMAND "${SIGX_EXECUTABLE}" check $<TARGET_FILE:sigx_plugin_@BASE@>)
)TPL";

const char* const plugin_cpp = R"TPL(// Registers the plugin class; the host finds it by the name in its descriptor.
#include "@BASE@.hpp"

using @CLASS@ = @BASE@_plugin::@CLASS@;
SIGX_PLUGIN(@CLASS@)
)TPL";

const std::map<Kind, const char*> class_templates = {
    {Kind::model, R"TPL(// @NAME@: a sigx model. Replace the moving average with your extractor.
//
// It shows the two optional model extensions, the way the host uses them:
//  - sigx.model.stream/1 (sigx/stream.hpp): a causal model streams block by block
//    (`sigx stream`), and its whole-record predict() is the same stream
//    (sigx::predict_by_streaming), so that batch and stream cannot disagree;
//  - sigx.model.state/1 (sigx/plugin.hpp): what fit() finds is saved with the run and
//    restored for `from =` and `sigx apply`, bit for bit.
// extension() casts `this` to the interface before it becomes a void*: the host casts the
// void* back to that interface. `sigx check` tests both.
#pragma once

#include <sigx/sigx.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace @BASE@_plugin {

class @CLASS@ final : public sigx::Model, public sigx::ModelState, public sigx::Streaming {
public:
    static sigx::Descriptor describe() {
        return {.name = "@NAME@",
                .version = "0.1.0",
                .description = "exponential moving average of the mix, per component, its gain fitted on training",
                .params = {sigx::ParamSpec::real("alpha", 0.1).range(0.0, 1.0).help("smoothing factor: weight of each new sample")}};
    }
    explicit @CLASS@(const sigx::Params& p) : alpha_(p.real("alpha")) {}

    void* extension(std::string_view id) override {
        if (id == sigx::streaming_id) return static_cast<sigx::Streaming*>(this);
        if (id == sigx::model_state_id) return static_cast<sigx::ModelState*>(this);
        return nullptr;
    }

    // The gain per component that best maps the moving average onto the clean target, by
    // least squares over the training records (their truth).
    void fit(const sigx::Records& train, sigx::Host&) override {
        const std::size_t k = train.at(0).task.size();
        std::vector<double> num(k, 0.0), den(k, 0.0);
        for (const auto& r : train) {
            if (!r.truth) throw std::runtime_error("training record '" + r.input.name + "' has no truth");
            const sigx::Samples& mix = r.input.channels.at(0);
            double state = 0;
            for (std::size_t n = 0; n < mix.size(); ++n) {
                state += alpha_ * (mix[n] - state);
                for (std::size_t c = 0; c < k; ++c) num[c] += state * r.truth->references[c][n], den[c] += state * state;
            }
        }
        gains_.clear();
        for (std::size_t c = 0; c < k; ++c) gains_.push_back(den[c] > 0 ? num[c] / den[c] : 0.0);
    }

    // The input and the task only: a model never sees the truth.
    sigx::Prediction predict(const sigx::Input& input, const sigx::Task& task, sigx::Host&) override {
        return sigx::predict_by_streaming(*this, input, task);
    }

    // Streaming: everything is allocated here, nothing per block.
    std::size_t configure(const sigx::StreamConfig& config) override {
        if (config.channels != 1) throw std::runtime_error("@NAME@ reads one input channel");
        if (gains_.size() != config.task.size()) throw std::runtime_error("the model has not been fitted for this task");
        return 0;  // latency: output n is the estimate for input n
    }
    void reset() override { state_ = 0; }
    void process(const sigx::ConstBlock& in, const sigx::Block& out) override {
        for (std::size_t n = 0; n < in.frames; ++n) {
            state_ += alpha_ * (in.channels[0][n] - state_);
            for (std::size_t c = 0; c < out.channel_count; ++c) out.channels[c][n] = gains_[c] * state_;
        }
    }
    void flush(const sigx::Block&) override {}  // no latency: nothing held back

    // Saved state: the gains, in hexadecimal floating point (read back bit for bit),
    // written atomically (never half a file).
    std::vector<std::string> state_params() const override { return {"alpha"}; }
    void save_state(const std::filesystem::path& dir) override {
        std::string text;
        char line[64];
        for (double g : gains_) std::snprintf(line, sizeof line, "%a\n", g), text += line;
        sigx::write_file_atomic(dir / "gains.txt", text);
    }
    void load_state(const std::filesystem::path& dir, std::size_t components) override {
        // Saved state is data anyone may hand over: StateText names the file in every error
        // (missing, cut short, NaN, out of range, more than one gain per component).
        sigx::StateText in(dir / "gains.txt");
        std::vector<double> gains;
        for (std::size_t k = 0; k < components; ++k) gains.push_back(in.number("gain", -1e6, 1e6));
        in.end();
        gains_ = gains;
    }

private:
    double alpha_;
    std::vector<double> gains_;
    double state_ = 0;
};

}  // namespace @BASE@_plugin
)TPL"},
    {Kind::generator, R"TPL(// @NAME@: a sigx generator. Replace record() with your data.
#pragma once

#include <sigx/sigx.hpp>

#include <cmath>
#include <random>

namespace @BASE@_plugin {

class @CLASS@ final : public sigx::Generator {
public:
    static sigx::Descriptor describe() {
        return {.name = "@NAME@",
                .version = "0.1.0",
                .description = "one sinusoid in white noise",
                .params = {sigx::ParamSpec::real("frequency", 5.0).positive().help("Hz"),
                           sigx::ParamSpec::real("noise", 0.1).at_least(0.0).help("standard deviation of the noise"),
                           sigx::ParamSpec::real("sample_rate", 1000.0).positive().help("samples per second"),
                           sigx::ParamSpec::real("duration", 2.0).positive().help("seconds per record")}};
    }
    explicit @CLASS@(const sigx::Params& p)
        : f_(p.real("frequency")), noise_(p.real("noise")), fs_(p.real("sample_rate")), duration_(p.real("duration")) {
        if (f_ >= fs_ / 2) throw sigx::ParamError("frequency", "must be below Nyquist (sample_rate / 2)");
    }

    sigx::Dataset generate(sigx::Host& host) override {
        return {{record("train-0", host.seed())}, {{"test", "a fresh noise seed", {record("test-0", host.seed() + 1)}}}};
    }

private:
    // Input: the noisy mix (one channel). Task: the tone. Truth: the clean tone.
    sigx::Record record(std::string name, std::uint64_t seed) const {
        sigx::Record r;
        r.input.name = std::move(name);
        r.input.sample_rate = fs_;
        r.task.components.push_back({"f", f_, 1.0});
        const auto n = static_cast<std::size_t>(duration_ * fs_);
        sigx::Samples& mix = r.input.channels.emplace_back(n);
        sigx::Samples& clean = r.truth.emplace().references.emplace_back(n);
        std::mt19937_64 rng(seed);
        std::normal_distribution<double> gauss(0.0, noise_);
        for (std::size_t i = 0; i < n; ++i) {
            clean[i] = std::sin(2 * M_PI * f_ * r.input.time(i));
            mix[i] = clean[i] + gauss(rng);
        }
        return r;
    }
    double f_, noise_, fs_, duration_;
};

}  // namespace @BASE@_plugin
)TPL"},
    {Kind::trainer, R"TPL(// @NAME@: a sigx trainer. This one hands the data to the model's own fit(); replace
// train() with your optimisation (e.g. through the sigx.torch.model extension).
#pragma once

#include <sigx/sigx.hpp>

namespace @BASE@_plugin {

class @CLASS@ final : public sigx::Trainer {
public:
    static sigx::Descriptor describe() {
        return {.name = "@NAME@",
                .version = "0.1.0",
                .description = "lets the model fit itself, and logs how long it took",
                .params = {sigx::ParamSpec::boolean("verbose", true).help("log a line per fit")}};
    }
    explicit @CLASS@(const sigx::Params& p) : verbose_(p.boolean("verbose")) {}

    void train(sigx::Model& model, const sigx::Records& train, sigx::Host& host) override {
        model.fit(train, host);
        if (verbose_) host.info("fitted on " + std::to_string(train.size()) + " training record(s)");
    }

private:
    bool verbose_;
};

}  // namespace @BASE@_plugin
)TPL"},
    {Kind::evaluator, R"TPL(// @NAME@: a sigx evaluator. Replace evaluate() with your metric.
#pragma once

#include <sigx/sigx.hpp>

#include <algorithm>
#include <cmath>

namespace @BASE@_plugin {

class @CLASS@ final : public sigx::Evaluator {
public:
    static sigx::Descriptor describe() {
        return {.name = "@NAME@",
                .version = "0.1.0",
                .description = "largest absolute error per component",
                .params = {sigx::ParamSpec::real("scale", 1.0).positive().help("multiplies every reported value")}};
    }
    explicit @CLASS@(const sigx::Params& p) : scale_(p.real("scale")) {}

    std::vector<sigx::Metric> evaluate(const sigx::Dataset& data, const std::vector<sigx::ModelOutput>& outputs,
                                       sigx::Host&) override {
        std::vector<sigx::Metric> out;
        for (std::size_t s = 0; s < data.tests.size(); ++s)
            for (const auto& o : outputs) {
                const auto& set = data.tests[s];
                if (set.records.empty()) continue;
                const sigx::Task& task = set.records.front().task;
                for (std::size_t c = 0; c < task.size(); ++c) {
                    double worst = 0;
                    bool scored = false;
                    for (std::size_t r = 0; r < set.records.size(); ++r) {
                        if (!set.records[r].truth) continue;  // no answer: nothing to score
                        scored = true;
                        const auto& ref = set.records[r].truth->references[c];
                        for (std::size_t n = 0; n < ref.size(); ++n)
                            worst = std::max(worst, std::abs(o.predictions[s][r].components[c][n] - ref[n]));
                    }
                    if (scored) out.push_back({set.name, o.model, task.components[c].label, "max_abs_error", scale_ * worst});
                }
            }
        return out;
    }

private:
    double scale_;
};

}  // namespace @BASE@_plugin
)TPL"},
};

const std::map<Kind, const char*> test_templates = {
    {Kind::model, R"TPL(    auto m = make<@BASE@_plugin::@CLASS@>();
    const sigx::Record s = sine_record();
    m.fit(sigx::Records{s}, host);
    const sigx::Prediction p = m.predict(s.input, s.task, host);
    REQUIRE(p.components.size() == 1);
    REQUIRE(p.components[0].size() == s.size());
    // A smoothed sine keeps its sign for most of each half period.
    int agree = 0;
    for (std::size_t n = 0; n < s.size(); ++n) agree += (p.components[0][n] > 0) == (s.truth->references[0][n] > 0);
    CHECK(agree > static_cast<int>(s.size()) * 3 / 4);
    // The stream gives the same samples whatever its blocks.
    for (std::size_t block : {std::size_t{1}, std::size_t{7}, s.size()})
        CHECK(sigx::predict_by_streaming(m, s.input, s.task, block).components == p.components);
    // Saved state restores a fresh instance to the same predictions, bit for bit.
    const auto dir = std::filesystem::temp_directory_path() / ("@BASE@-state-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    m.save_state(dir);
    auto fresh = make<@BASE@_plugin::@CLASS@>();
    fresh.load_state(dir, 1);
    std::filesystem::remove_all(dir);
    CHECK(fresh.predict(s.input, s.task, host).components == p.components);
)TPL"},
    {Kind::generator, R"TPL(    auto g = make<@BASE@_plugin::@CLASS@>();
    const sigx::Dataset d = g.generate(host);
    REQUIRE(d.train.size() == 1);
    REQUIRE(d.tests.size() == 1);
    const sigx::Record& s = d.train[0];
    REQUIRE(s.size() == 2000);
    REQUIRE(s.truth);
    // mix - reference is the noise: its mean is 0 within 5 standard errors (0.1 / sqrt(2000)).
    double sum = 0;
    for (std::size_t n = 0; n < s.size(); ++n) sum += s.input.channels[0][n] - s.truth->references[0][n];
    CHECK(std::abs(sum / 2000) < 5 * 0.1 / std::sqrt(2000.0));
)TPL"},
    {Kind::trainer, R"TPL(    struct Counting final : sigx::Model {
        int fits = 0;
        void fit(const sigx::Records&, sigx::Host&) override { ++fits; }
        sigx::Prediction predict(const sigx::Input&, const sigx::Task&, sigx::Host&) override { return {}; }
    } model;
    auto t = make<@BASE@_plugin::@CLASS@>();
    t.train(model, sigx::Records{sine_record()}, host);
    CHECK(model.fits == 1);
    CHECK(host.lines.size() == 1);
)TPL"},
    {Kind::evaluator, R"TPL(    auto e = make<@BASE@_plugin::@CLASS@>();
    const sigx::Record s = sine_record();
    sigx::Dataset d{{}, {{"test", "", {s}}}};
    sigx::ModelOutput zero{"zero", 0, {{sigx::Prediction{{sigx::Samples(s.size(), 0.0)}}}}, {}};
    const auto metrics = e.evaluate(d, {zero}, host);
    REQUIRE(metrics.size() == 1);
    CHECK(metrics[0].value == Approx(1.0).epsilon(1e-6));  // predicting zero misses a unit sine's peak by 1
)TPL"},
};

const char* const test_main_cpp = R"TPL(// Catch2's main, in a unit of its own: compiled once.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
)TPL";

const char* const test_cpp =
    R"TPL(// Unit test of @NAME@: constructed from its own schema's defaults, run on a small record.
#include "@BASE@.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

struct TestHost final : sigx::Host {
    std::vector<std::string> lines;
    void log(sigx::LogLevel, std::string_view m) override { lines.emplace_back(m); }
    std::filesystem::path output_dir() override { return std::filesystem::temp_directory_path(); }
    void progress(const sigx::Progress&) override {}
    bool cancelled() const override { return false; }
    std::uint64_t seed() const override { return 1; }
};

template <class T> T make() { return T(sigx::Params::with_defaults(T::describe().params)); }

// 2 s of a unit 5 Hz sine at 1 kHz, mixed at gain 1 with nothing else.
sigx::Record sine_record() {
    sigx::Record s;
    s.input.sample_rate = 1000;
    s.task.components.push_back({"5Hz", 5.0, 1.0});
    sigx::Samples sine;
    for (int n = 0; n < 2000; ++n) sine.push_back(std::sin(2 * M_PI * 5.0 * n / 1000.0));
    s.input.channels.push_back(sine);
    s.truth = sigx::Truth{0.0, {sine}, {}};
    return s;
}

}  // namespace

TEST_CASE("@NAME@ works with its default parameters") {
    TestHost host;
@TEST@}

TEST_CASE("@NAME@ declares a complete schema") {
    const sigx::Descriptor d = @BASE@_plugin::@CLASS@::describe();
    CHECK(d.name == "@NAME@");
    for (const auto& p : d.params) {
        CHECK_FALSE(p.help_text.empty());
        CHECK_FALSE(sigx::check_value(p, p.default_value).has_value());
    }
}
)TPL";

const std::map<Kind, const char*> pipeline_templates = {
    {Kind::model, R"TPL([source]
plugin = "noisy_sinusoid"
phase_scale = 0.01

[models.mine]
plugin = "@NAME@"

[models.fft]
plugin = "fft.block"

[[evaluate]]
plugin = "metrics"
)TPL"},
    {Kind::generator, R"TPL([source]
plugin = "@NAME@"

[models.fft]
plugin = "fft.block"

[[evaluate]]
plugin = "metrics"
)TPL"},
    {Kind::trainer, R"TPL([source]
plugin = "noisy_sinusoid"
phase_scale = 0.01

[models.lsq]
plugin = "lsq"

[[evaluate]]
plugin = "metrics"

# A trainer fits models whose descriptor says they are trainable, e.g.
#   [models.lstm]  plugin = "lstm.stateful"  trainer = "mine"
#   [trainers.mine]  plugin = "@NAME@"
)TPL"},
    {Kind::evaluator, R"TPL([source]
plugin = "noisy_sinusoid"
phase_scale = 0.01

[models.fft]
plugin = "fft.block"

[[evaluate]]
plugin = "metrics"

[[evaluate]]
plugin = "@NAME@"
)TPL"},
};

}  // namespace

std::vector<fs::path> scaffold_plugin(Kind kind, const std::string& name, const fs::path& dir) {
    // The loader's rule, so that what is scaffolded also loads (and "..." never reaches
    // the class name below empty).
    if (auto problem = name_problem("plugin name", name); !problem.empty()) throw std::runtime_error(problem);
    std::string base, klass;
    bool upper = true;
    for (char c : name) {
        const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
        base += alnum ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
        if (alnum) klass += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        upper = !alnum;
    }
    if (!std::isalpha(static_cast<unsigned char>(klass.front()))) klass = "Plugin" + klass, base = "plugin_" + base;
    std::error_code ec;
    if (fs::exists(dir) && !fs::is_empty(dir, ec))
        throw std::runtime_error(fmt::format("{} exists and is not empty; choose a new folder", dir.string()));

    const std::map<std::string, std::string> values = {
        {"NAME", name},
        {"BASE", base},
        {"CLASS", klass},
        {"TEST", fill(test_templates.at(kind), {{"BASE", base}, {"CLASS", klass}})}};
    const std::vector<std::pair<fs::path, std::string>> files = {
        {"CMakeLists.txt", fill(cmake_template, values)},
        {fs::path("src") / (base + ".hpp"), fill(class_templates.at(kind), values)},
        {fs::path("src") / "plugin.cpp", fill(plugin_cpp, values)},
        {fs::path("tests") / (base + "_test.cpp"), fill(test_cpp, values)},
        {fs::path("tests") / "main.cpp", test_main_cpp},
        {"pipeline.toml", fill(pipeline_templates.at(kind), values)},
    };
    std::vector<fs::path> written;
    for (const auto& [rel, text] : files) {
        const fs::path file = dir / rel;
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
        written.push_back(file);
    }
    return written;
}

}  // namespace sigx::host
