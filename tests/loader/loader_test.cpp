// The plugin loader against real libraries: the built-in plugins, and the folder of broken
// ones built from tests/loader/broken (each refused with a one-line reason while the host
// goes on and loads the healthy libraries beside them).
#include "support/support.hpp"

#include <sigx/host/errors.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

using namespace sigx;
using namespace sigx::host;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using sigx::test::broken_dir;
using sigx::test::plugin_dir;
using sigx::test::TestHost;

namespace {

fs::path broken(const std::string& file) { return fs::weakly_canonical(broken_dir() / file); }

std::string reason_for(const Registry& r, const std::string& file) {
    std::string found;
    for (const auto& rej : r.rejections())
        if (rej.file.filename() == file) {
            CHECK(found.empty());  // one rejection per library
            found = rej.reason;
        }
    return found;
}

// True while the dynamic linker has `file` loaded in this process.
bool is_loaded(const fs::path& file) {
    void* h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (h) ::dlclose(h);
    return h != nullptr;
}

}  // namespace

TEST_CASE("loader: the built-in plugins load with their descriptors", "[loader]") {
    Registry r;
    r.add_path(plugin_dir());
    CHECK(r.rejections().empty());
    std::vector<std::string> names;
    for (const auto* p : r.all()) names.push_back(p->descriptor->name);
    CHECK(std::is_sorted(names.begin(), names.end()));
    for (const char* name : {"fft.block", "metrics", "noisy_sinusoid"})
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
    const PluginInfo* gen = r.find("noisy_sinusoid");
    REQUIRE(gen);
    CHECK(gen->descriptor->kind == Kind::generator);
    CHECK(gen->descriptor->version == "1.0.0");
    CHECK(gen->file == fs::weakly_canonical(plugin_dir() / "sigx_noisy_sinusoid.so"));
    std::vector<std::string> params;
    for (const auto& s : gen->descriptor->params) params.push_back(s.name);
    for (const char* name : {"frequencies", "sample_rate", "duration", "amplitude", "phase_scale", "mix_weight",
                             "train_seed", "test_seed"})
        CHECK(std::find(params.begin(), params.end(), name) != params.end());
    CHECK(r.find("fft.block")->descriptor->kind == Kind::model);
    CHECK(r.find("metrics")->descriptor->kind == Kind::evaluator);
    CHECK(r.find("nope") == nullptr);
    // Loading the same folder again adds nothing.
    r.add_path(plugin_dir());
    CHECK(r.all().size() == names.size());
    CHECK(r.rejections().empty());
}

TEST_CASE("loader: create<Base> refuses a plugin of another kind", "[loader]") {
    Registry r;
    r.add_path(plugin_dir());
    const PluginInfo& metrics = r.require("metrics", Kind::evaluator);
    CHECK_THROWS_WITH(r.create<Model>(metrics, Params::with_defaults(metrics.descriptor->params)),
                      Catch::Contains("plugin 'metrics'") && Catch::Contains("is of kind evaluator, not model"));
    CHECK(r.create<Evaluator>(metrics, Params::with_defaults(metrics.descriptor->params)) != nullptr);
}

TEST_CASE("loader: each broken library is refused with its reason and the host goes on", "[loader]") {
    Registry r;
    r.add_path(broken_dir());
    for (const auto& rej : r.rejections()) UNSCOPED_INFO(rej.str());

    CHECK(reason_for(r, "test_not_elf.so") == "not a shared library (no ELF header)");
    CHECK_THAT(reason_for(r, "test_abi99.so"),
               StartsWith("ABI mismatch: expected ABI version 3, found 99 (built with SDK 2.0.0, host has SDK 2.0.0)"));
    const std::string undefined = reason_for(r, "sigx_test_undefined.so");
    CHECK_THAT(undefined, StartsWith("cannot be loaded: "));
    CHECK_THAT(undefined, Contains("undefined symbol: sigx_test_symbol_defined_nowhere"));
    CHECK(reason_for(r, "test_not_a_plugin.so") == "not a sigx plugin (no sigx_plugin_library symbol)");
    CHECK(reason_for(r, "sigx_test_dup_b.so") ==
          "duplicate plugin name 'dup.eval': also provided by " + broken("sigx_test_dup_a.so").string());
    CHECK_THAT(
        reason_for(r, "test_sdk_newer.so"),
        StartsWith(
            "SDK version mismatch: built with SDK 2.1.0, host has SDK 2.0.0 (needs same major, minor <= host's)"));
    // A library of the previous major (SDK 1.2, ABI 2) must be rebuilt.
    CHECK(reason_for(r, "test_sdk_older.so") ==
          "ABI mismatch: expected ABI version 3, found 2 (built with SDK 1.2.0, host has SDK 2.0.0)");
    // Only an older minor may describe a prefix of the fingerprint.
    CHECK_THAT(reason_for(r, "test_sdk_prefix.so"), StartsWith("ABI mismatch: the library describes "));
    // The layout fingerprint: one type's alignment differs.
    CHECK(reason_for(r, "test_size_mismatch.so") ==
          fmt::format("ABI mismatch: sigx::Record has size {0} and alignment 4 in the library, size {0} and alignment "
                      "{1} in the host (built with another compiler, standard library, its flags, or edited SDK "
                      "headers?)",
                      sizeof(Record), alignof(Record)));
    // A plugin really built with another layout (libstdc++'s old std::string): its first
    // differing type gives it away.
    CHECK(reason_for(r, "sigx_test_old_string_abi.so") ==
          fmt::format("ABI mismatch: std::string has size 8 and alignment 8 in the library, size {} and alignment "
                      "{} in the host (built with another compiler, standard library, its flags, or edited SDK "
                      "headers?)",
                      sizeof(std::string), alignof(std::string)));
    CHECK(reason_for(r, "test_sdk0.so") ==
          "built with SDK 0.x (ABI 1); this host has SDK 2.0 (ABI 3): rebuild the plugin against it");
    CHECK(reason_for(r, "sigx_test_describe_throws.so") == "plugin #0: describe() threw a non-standard exception");
    CHECK_THAT(reason_for(r, "sigx_test_bad_name.so"),
               StartsWith("plugin #0: plugin name '../escape' starts with '.'"));
    CHECK(r.find("test.beside_thrower"));  // the healthy plugin in the thrower's library
    CHECK(r.rejections().size() == 13);
    for (const auto& rej : r.rejections()) {
        CHECK(rej.reason.find('\n') == std::string::npos);  // one line each
        CHECK(rej.file.is_absolute());
        CHECK_THAT(rej.str(), StartsWith(rej.file.string() + ": "));
    }

    // The healthy plugins beside them are loaded and work.
    const PluginInfo* good = r.find("test.good");
    REQUIRE(good);
    CHECK(good->file == broken("sigx_test_good.so"));
    Params p;
    p.set("offset", std::int64_t{40});
    auto eval = r.create<Evaluator>(*good, Params::with_defaults(good->descriptor->params, p));
    TestHost host;
    Dataset two_sets;
    two_sets.tests.resize(2);
    const auto ms = eval->evaluate(two_sets, {}, host);
    REQUIRE(ms.size() == 1);
    CHECK(ms[0].value == 42.0);
    CHECK(r.find("test.undefined") == nullptr);

    // The first library with the duplicated name is kept; the name is still unusable.
    const PluginInfo* dup = r.find("dup.eval");
    REQUIRE(dup);
    CHECK(dup->file == broken("sigx_test_dup_a.so"));
    REQUIRE(r.duplicates().count("dup.eval") == 1);
    CHECK(r.duplicates().at("dup.eval") ==
          std::vector<fs::path>{broken("sigx_test_dup_a.so"), broken("sigx_test_dup_b.so")});
    try {
        r.require("dup.eval", Kind::evaluator);
        FAIL("require accepted a duplicated name");
    } catch (const PluginError& e) {
        CHECK_THAT(e.what(),
                   Contains("plugin 'dup.eval' is provided by more than one library: " +
                            broken("sigx_test_dup_a.so").string() + " and " + broken("sigx_test_dup_b.so").string()));
    }
    CHECK(r.require("test.good", Kind::evaluator).descriptor->name == "test.good");
}

TEST_CASE("loader: a missing path and single files", "[loader]") {
    Registry r;
    r.add_path(broken_dir() / "no_such_library.so");
    REQUIRE(r.rejections().size() == 1);
    CHECK(r.rejections()[0].reason == "no such file or directory");
    // A library given as a file rather than a folder.
    CHECK(r.load_library(broken_dir() / "sigx_test_good.so"));
    CHECK(r.find("test.good"));
    CHECK_FALSE(r.load_library(broken_dir() / "test_abi99.so"));
    CHECK(r.rejections().size() == 2);
}

TEST_CASE("loader: require names what exists when a plugin is missing or of another kind", "[loader]") {
    Registry r;
    r.add_path(plugin_dir());
    const std::string models = sigx::test::builtin_names(Kind::model);
    CHECK_THAT(models, StartsWith("fft.block"));
    CHECK_THROWS_WITH(r.require("fft.blok", Kind::model),
                      "no model plugin named 'fft.blok'; known model plugins: " + models +
                          " (plugins are found in the built-in folder, SIGX_PLUGIN_PATH, --plugin-path and a "
                          "pipeline's [plugins] paths)");
    CHECK_THROWS_AS(r.require("x", Kind::generator), PluginError);
    CHECK_THROWS_WITH(
        r.require("x", Kind::generator),
        StartsWith("no generator plugin named 'x'; known generator plugins: noisy_sinusoid, recording ("));
    Registry only_evaluators;
    only_evaluators.add_path(broken_dir() / "sigx_test_good.so");
    CHECK_THROWS_WITH(only_evaluators.require("x", Kind::trainer),
                      StartsWith("no trainer plugin named 'x'; known trainer plugins: none ("));
    try {
        r.require("fft.block", Kind::generator);
        FAIL("no exception");
    } catch (const PluginError& e) {
        CHECK_THAT(e.what(), StartsWith("plugin 'fft.block' ("));
        CHECK_THAT(e.what(), Contains("sigx_fft.so) is a model, not a generator; generator plugins: noisy_sinusoid"));
    }
}

TEST_CASE("loader: an instance keeps its library loaded after the registry is gone", "[loader]") {
    auto registry = std::make_unique<Registry>();
    registry->add_path(plugin_dir());
    const fs::path file = registry->require("noisy_sinusoid", Kind::generator).file;
    const auto& info = registry->require("noisy_sinusoid", Kind::generator);
    Params p;
    p.set("duration", 0.5);
    auto gen = registry->create<Generator>(info, Params::with_defaults(info.descriptor->params, p));
    registry.reset();
    REQUIRE(is_loaded(file));
    TestHost host;
    const Dataset d = gen->generate(host);  // code and descriptor data of the library
    CHECK(d.train.at(0).size() == 500);
    CHECK(d.train[0].task.size() == 4);
    CHECK(d.train[0].input.metadata.at("generator") == "noisy_sinusoid");
}

TEST_CASE("loader: a KEEP_LOADED library stays loaded when nothing uses it, another is unloaded", "[loader]") {
    const fs::path keep = broken("sigx_test_keep_loaded.so"), plain = broken("sigx_test_good.so");
    {
        Registry r;
        REQUIRE(r.load_library(keep));
        REQUIRE(r.load_library(plain));
        auto e = r.create<Evaluator>(r.require("test.keep_loaded", Kind::evaluator), Params{});
        REQUIRE(is_loaded(keep));
        REQUIRE(is_loaded(plain));
    }  // registry and instance gone
    CHECK(is_loaded(keep));
#ifndef SIGX_TEST_SANITIZED         // there glibc keeps the library (unique symbols bound in a Debug build)
    CHECK_FALSE(is_loaded(plain));  // what the flag prevents
#endif
}

TEST_CASE("loader: plugin folders from the executable and SIGX_PLUGIN_PATH", "[loader]") {
    CHECK(fs::weakly_canonical(builtin_plugin_dir(sigx::test::sigx_exe())) == fs::weakly_canonical(plugin_dir()));
    // Installed layout: <prefix>/bin/sigx -> <prefix>/lib/sigx/plugins.
    CHECK(builtin_plugin_dir("/nonexistent/prefix/bin/sigx") == fs::path("/nonexistent/prefix/lib/sigx/plugins"));

    const char* saved = std::getenv("SIGX_PLUGIN_PATH");
    const std::string old = saved ? saved : "";
    ::setenv("SIGX_PLUGIN_PATH", "/a/b::relative/c:", 1);
    const auto paths = env_plugin_paths();
    ::unsetenv("SIGX_PLUGIN_PATH");
    CHECK(env_plugin_paths().empty());
    if (saved) ::setenv("SIGX_PLUGIN_PATH", old.c_str(), 1);
    CHECK(paths == std::vector<fs::path>{"/a/b", "relative/c"});
}
