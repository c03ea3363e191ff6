// Command-line overrides (key=value): applied to the parsed file and validated exactly like
// file values, with the override itself as the origin of any error.
#include "support/support.hpp"

#include <sigx/host/errors.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/runner.hpp>

#include <catch2/catch.hpp>

using namespace sigx;
using namespace sigx::host;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using sigx::test::builtin_registry;
using sigx::test::pipeline_dir;

namespace {

fs::path good() { return pipeline_dir() / "good.toml"; }

Pipeline load(const std::vector<std::string>& overrides, bool construct = false) {
    const Pipeline p = validate_pipeline(read_pipeline(good(), overrides), builtin_registry());
    if (construct) instantiate(p, builtin_registry());
    return p;
}

// The message is the override, then `message` (or, with prefix_only, starts with it).
void expect_error(const std::string& override, const std::string& message, bool construct = false,
                  bool prefix_only = false) {
    try {
        load({override}, construct);
        FAIL("override " << override << " was accepted");
    } catch (const ConfigError& e) {
        const std::string origin = "command line override '" + override + "'";
        CHECK(e.origin.file == origin);
        CHECK(e.origin.line == 0);
        if (prefix_only)
            CHECK_THAT(e.what(), Catch::Matchers::StartsWith(origin + ": " + message));
        else
            CHECK(std::string(e.what()) == origin + ": " + message);
    }
}

}  // namespace

TEST_CASE("overrides: bad values are refused like file values, naming the override", "[overrides]") {
    expect_error("source.phase_scale=abc", "'source.phase_scale': expected real, found string");
    expect_error("source.phase_scale=-1", "'source.phase_scale': value -1 is out of range: must be >= 0");
    expect_error("source.duration=nan", "'source.duration': must be a finite number");
    expect_error("source.frequencies=[]", "'source.frequencies': must not be empty");
    expect_error("source.amplitude=[1.0]", "'source.amplitude': has 1 elements, expected 2");
    expect_error("models.fft.planner=patient",
                 "'models.fft.planner': \"patient\" is not allowed: must be one of estimate, measure");
    expect_error("models.fft.plugin=fft.blok",
                 "no model plugin named 'fft.blok'; known model plugins: " + sigx::test::builtin_names(Kind::model) +
                     " (plugins are found in the built-in folder, SIGX_PLUGIN_PATH, --plugin-path and a pipeline's "
                     "[plugins] paths)");
    expect_error("source.phase_scal=0.1",
                 "unknown key 'source.phase_scal': plugin 'noisy_sinusoid' has no parameter 'phase_scal'; did you "
                 "mean 'phase_scale'? (allowed: plugin, frequencies, sample_rate, duration, amplitude, phase_scale, "
                 "mix_weight, train_seed, test_seed",
                 false, true);
    expect_error("models.fft.trainer=adam",
                 "model 'fft' names trainer 'adam', which is not defined; add a [trainers.adam] section");
}

TEST_CASE("overrides: a constructor's ParamError points at the override", "[overrides]") {
    expect_error("source.frequencies=[1.0, 50.0]",
                 "[source] plugin 'noisy_sinusoid': frequency 50 Hz is at or above Nyquist (50 Hz = sample_rate / 2)",
                 true);
    // The same pipeline without the override constructs fine.
    CHECK_NOTHROW(load({}, true));
}

TEST_CASE("overrides: malformed overrides", "[overrides]") {
    expect_error("source.phase_scale", "an override must look like key.path=value");
    expect_error("=1", "an override must look like key.path=value");
    expect_error("source..duration=1", "empty segment in key path 'source..duration'");
    expect_error("evaluate.5.plugin=metrics", "index 5 is past the end of the array (1 elements)");
    expect_error("evaluate.x.plugin=metrics", "'x' indexes an array: use a number, e.g. evaluate.0.plugin");
    // The message names the value in the way, not the segment after it.
    expect_error("source.duration.x=1", "cannot set 'source.duration.x': 'source.duration' is not a table");
    expect_error("source.duration.x.y=1", "cannot set 'source.duration.x.y': 'source.duration' is not a table");
    expect_error("evaluate.0=1", "cannot set 'evaluate.0': 'evaluate' is not a table");
}

TEST_CASE("overrides: a valid override changes the resolved value", "[overrides]") {
    const Pipeline base = load({});
    CHECK(base.source.params.real("phase_scale") == 0.01);
    const Pipeline p = load({"source.phase_scale=0.25", "source.duration=3", "pipeline.seed=11"});
    CHECK(p.source.params.real("phase_scale") == 0.25);
    CHECK(p.source.params.real("duration") == 3.0);  // a TOML integer where a real is expected
    CHECK(p.seed == 11);
    CHECK(p.source.origin_of("phase_scale").str() == "command line override 'source.phase_scale=0.25'");
    const toml::table r = p.resolved();
    CHECK(r["source"]["phase_scale"].value<double>() == 0.25);
    CHECK(r["pipeline"]["seed"].value<std::int64_t>() == 11);
    // The last override of a key wins.
    CHECK(load({"source.phase_scale=0.25", "source.phase_scale=0.5"}).source.params.real("phase_scale") == 0.5);
}

TEST_CASE("overrides: a bare word is a string, so plugin names need no quotes", "[overrides]") {
    const Pipeline p =
        load({"models.fft.plugin=fft.block", "models.fft.planner=measure", "models.extra.plugin=fft.block"});
    REQUIRE(p.models.size() == 2);
    CHECK(p.models[0].name == "fft");
    CHECK(p.models[0].plugin == "fft.block");
    CHECK(p.models[0].params.string("planner") == "measure");
    CHECK(p.models[1].name == "extra");  // a new section made by the override
    CHECK(p.models[1].plugin == "fft.block");
    // Quoted TOML strings work too, and an array element is addressed by its index.
    const Pipeline q = load({"models.fft.planner=\"measure\"", "evaluate.0.plugin=metrics"});
    CHECK(q.models[0].params.string("planner") == "measure");
    CHECK(q.evaluators.at(0).plugin == "metrics");
}
