// Pipeline validation on malformed files (tests/pipeline/bad): each is refused with a
// ConfigError whose message says what is wrong and whose origin is the exact
// file:line:col of the offending key or value (or the file alone when nothing is there).
#include "support/support.hpp"

#include <sigx/host/errors.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/runner.hpp>

#include <catch2/catch.hpp>

using namespace sigx;
using namespace sigx::host;
namespace fs = std::filesystem;
using sigx::test::builtin_registry;
using sigx::test::pipeline_dir;

namespace {

fs::path bad(const std::string& name) { return pipeline_dir() / "bad" / name; }

// Reads, validates and constructs the pipeline, as `sigx validate` does.
void load(const fs::path& file) {
    const PipelineSource src = read_pipeline(file, {});
    const Pipeline p = validate_pipeline(src, builtin_registry());
    instantiate(p, builtin_registry());
}

// `line` 0: the origin is the file alone.
void expect_error(const std::string& name, int line, int column, const std::vector<std::string>& fragments) {
    const fs::path file = bad(name);
    REQUIRE(fs::exists(file));
    try {
        load(file);
        FAIL(name << " was accepted");
    } catch (const ConfigError& e) {
        const std::string where =
            line ? file.string() + ":" + std::to_string(line) + ":" + std::to_string(column) : file.string();
        CHECK(e.origin.file == file.string());
        CHECK(e.origin.line == line);
        CHECK(e.origin.column == column);
        CHECK(e.origin.str() == where);
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith(where + ": "));
        for (const auto& f : fragments) CHECK_THAT(e.what(), Catch::Matchers::Contains(f));
    }
}

}  // namespace

TEST_CASE("validation: unknown top-level key, with did-you-mean", "[validation]") {
    expect_error("unknown_top_level_key.toml", 8, 3,
                 {"unknown key 'evalute'; did you mean 'evaluate'?",
                  "(allowed: pipeline, plugins, source, models, trainers, evaluate, output, sweep)"});
}

TEST_CASE("validation: unknown key in [pipeline], with did-you-mean", "[validation]") {
    expect_error("unknown_pipeline_key.toml", 3, 1,
                 {"unknown key 'pipeline.sead'; did you mean 'seed'? (allowed: name, description, seed)"});
}

TEST_CASE("validation: unknown plugin parameter, with did-you-mean", "[validation]") {
    expect_error("unknown_parameter.toml", 4, 1,
                 {"unknown key 'source.phase_scal': plugin 'noisy_sinusoid' has no parameter 'phase_scal'; "
                  "did you mean 'phase_scale'?",
                  "(allowed: plugin, frequencies, sample_rate, duration, amplitude, phase_scale, mix_weight, "
                  "train_seed, test_seed"});
}

TEST_CASE("validation: wrong type names the expected and found types", "[validation]") {
    expect_error("wrong_type.toml", 3, 12, {"'source.duration': expected real, found string"});
}

TEST_CASE("validation: wrong list element type points at the element", "[validation]") {
    expect_error("wrong_element_type.toml", 4, 16,
                 {"'source.frequencies': expected a list of reals, found an element of type string"});
}

TEST_CASE("validation: value out of range names the range", "[validation]") {
    expect_error("out_of_range.toml", 3, 15, {"'source.phase_scale': value -0.5 is out of range: must be >= 0"});
}

TEST_CASE("validation: string not among the choices lists them", "[validation]") {
    expect_error("choice_not_allowed.toml", 6, 11,
                 {"'models.fft.planner': \"patient\" is not allowed: must be one of estimate, measure"});
}

TEST_CASE("validation: unknown plugin name lists the known plugins of its kind", "[validation]") {
    expect_error("unknown_plugin.toml", 5, 10,
                 {"no model plugin named 'fft.blok'; known model plugins: " + sigx::test::builtin_names(Kind::model)});
}

TEST_CASE("validation: a section without a plugin key", "[validation]") {
    expect_error("missing_plugin_key.toml", 4, 1, {"[models.fft] needs a 'plugin' key naming a model plugin"});
}

TEST_CASE("validation: an evaluator listed twice (one folder, one set of rows)", "[validation]") {
    expect_error(
        "duplicate_evaluator.toml", 10, 1,
        {"evaluator 'metrics' is listed twice (also at " + bad("duplicate_evaluator.toml").string() + ":7:1)"});
}

TEST_CASE("validation: a model naming a missing trainer", "[validation]") {
    expect_error("missing_trainer.toml", 6, 11,
                 {"model 'fft' names trainer 'adam', which is not defined; add a [trainers.adam] section"});
}

TEST_CASE("validation: frequency at or above Nyquist is refused by the generator at the key's line", "[validation]") {
    // The schema cannot see Nyquist: the file validates, and the plugin's constructor
    // throws ParamError("frequencies"), which instantiate maps to the key's position.
    const PipelineSource src = read_pipeline(bad("nyquist.toml"), {});
    const Pipeline p = validate_pipeline(src, builtin_registry());
    CHECK(p.source.params.real_list("frequencies") == RealList{1.0, 600.0});
    expect_error(
        "nyquist.toml", 5, 15,
        {"[source] plugin 'noisy_sinusoid': frequency 600 Hz is at or above Nyquist (500 Hz = sample_rate / 2)"});
}

TEST_CASE("validation: a tolerance reaching the Nyquist frequency, or overlapping tones, is refused at its line",
          "[validation]") {
    expect_error("tolerance_nyquist.toml", 7, 13,
                 {"[source] plugin 'noisy_sinusoid': the tolerance of '490Hz' (480 to 500 Hz) reaches the Nyquist "
                  "frequency (500 Hz)"});
    expect_error("tolerance_overlap.toml", 6, 13,
                 {"the tolerance bands of '5Hz' (4 to 6 Hz) and '7Hz' (5.6 to 8.4 Hz) overlap"});
    // Drift the task does not admit: refused at the section, which lacks the tolerance.
    expect_error("drift_without_tolerance.toml", 2, 1, {"the tones drift: give the tolerance that covers it"});
}

TEST_CASE("task_problem: tolerances, harmonics and bands, in one line naming the components", "[validation]") {
    Task t;
    t.components = {{"a", 50, 1, 1, -1}, {"b", 100, 1, 2, 0}, {"c", 150, 1, 3, 0}};
    CHECK(task_problem(t, 16000).empty());
    t.components[2].tolerance = 2.5;  // not 3 x the fundamental's
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("is not its multiple of its fundamental 'a''s (3 Hz)"));
    t.components[2].tolerance = 3, t.components[2].fundamental = 1;
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("'c' is a harmonic of 'b', itself a harmonic"));
    t.components[2].fundamental = 2;
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("not another component"));
    t.components[2].fundamental = 7;
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("not another component"));
    t.components[2].fundamental = 0;
    CHECK_THAT(task_problem(t, 300), Catch::Contains("reaches the Nyquist frequency (150 Hz)"));
    t.components[0].tolerance = 60, t.components[1].tolerance = 120, t.components[2].tolerance = 180;
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("reaches 0 Hz"));
    t.components = {{"a", 50, 1, 0, -1}, {"b", 50.5, 1, 0, -1}};
    CHECK(task_problem(t, 16000).empty());  // exact tones never meet
    t.components[1].tolerance = 1;          // a band over an exact tone
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("the tolerance bands of 'b' (49.5 to 51.5 Hz) and 'a' (50 Hz)"));
    t.components = {{"x", 150, 1, 0, -1}, {"wide", 100, 1, 40, -1}, {"y", 139, 1, 0, -1}};  // y inside wide's band
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("'wide' (60 to 140 Hz) and 'y' (139 Hz)"));
    t.components[0].tolerance = std::nan("");
    CHECK_THAT(task_problem(t, 16000), Catch::Contains("not a finite number"));
}

TEST_CASE("validation: negative duration", "[validation]") {
    expect_error("negative_duration.toml", 3, 12, {"'source.duration': value -2 is out of range: must be > 0"});
}

TEST_CASE("validation: empty frequency list", "[validation]") {
    expect_error("empty_frequencies.toml", 3, 15, {"'source.frequencies': must not be empty"});
}

TEST_CASE("validation: TOML syntax error", "[validation]") {
    expect_error("syntax_error.toml", 3, 16, {"TOML syntax error: "});
}

TEST_CASE("validation: missing [source]", "[validation]") {
    expect_error("missing_source.toml", 0, 0, {"the pipeline has no [source] section"});
}

TEST_CASE("validation: no models", "[validation]") {
    expect_error("no_models.toml", 0, 0, {"the pipeline has no models: add at least one [models.NAME] section"});
}

TEST_CASE("validation: a missing pipeline file", "[validation]") {
    const fs::path file = bad("does_not_exist.toml");
    CHECK_THROWS_MATCHES(read_pipeline(file, {}), ConfigError,
                         Catch::Matchers::Message(file.string() + ": no such pipeline file"));
}

TEST_CASE("validation: a valid file resolves every plugin and fills in defaults", "[validation]") {
    const PipelineSource src = read_pipeline(pipeline_dir() / "good.toml", {});
    const Pipeline p = validate_pipeline(src, builtin_registry());
    CHECK(p.name == "good");
    CHECK(p.seed == 7);
    CHECK(p.source.plugin == "noisy_sinusoid");
    CHECK(p.source.params.real_list("frequencies") == RealList{1.0, 3.0});
    CHECK(p.source.params.real_list("amplitude") == RealList{0.8, 1.2});  // default
    CHECK(p.source.params.integer("train_seed") == 1);                    // default
    CHECK(p.source.origin_of("duration").str() == src.file.string() + ":10:12");
    REQUIRE(p.models.size() == 1);
    CHECK(p.models[0].name == "fft");
    CHECK(p.models[0].params.string("planner") == "estimate");
    REQUIRE(p.evaluators.size() == 1);
    CHECK(p.evaluators[0].plugin == "metrics");
    const Instances in = instantiate(p, builtin_registry());
    // The instances are built from these parameters: the generator sizes its data from
    // them (100 samples per record; 1 training, 1 test and 2 unseen-phase records).
    const auto* size = dataset_size(*in.source);
    REQUIRE(size != nullptr);
    CHECK(size->samples == 4 * 100);
    CHECK(size->test_samples == 3 * 100);
    CHECK(size->components == 2);
    CHECK(in.models.size() == 1);
    // The resolved config holds the defaults too.
    const toml::table r = p.resolved();
    CHECK(r["source"]["mix_weight"].value<double>() == 0.0);
    CHECK(r["source"]["phase_scale"].value<double>() == 0.01);
    CHECK(r["models"]["fft"]["plugin"].value<std::string>() == "fft.block");
}

TEST_CASE("closest suggests only near names", "[validation]") {
    CHECK(closest("phase_scal", {"duration", "phase_scale"}) == "phase_scale");
    CHECK(closest("frequency", {"frequencies", "duration"}) == "frequencies");
    CHECK(closest("zzz", {"duration", "phase_scale"}).empty());
    CHECK(closest("x", {}).empty());
}
