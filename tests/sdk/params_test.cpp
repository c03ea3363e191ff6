// The parameter schema of the SDK (sigx/params.hpp): check_value, Params, and the words
// describe_constraints puts into error messages and `sigx inspect`.
#include <sigx/params.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace sigx;

namespace {
bool valid(const ParamSpec& s, const ParamValue& v) { return !check_value(s, v).has_value(); }
std::string problem(const ParamSpec& s, const ParamValue& v) { return check_value(s, v).value_or("(valid)"); }
}  // namespace

TEST_CASE("check_value refuses a value of another type, naming both types", "[params]") {
    const auto r = ParamSpec::real("lr", 0.1);
    CHECK(valid(r, 0.5));
    CHECK(problem(r, std::int64_t{1}) == "expected real, found integer");
    CHECK(problem(r, std::string("x")) == "expected real, found string");
    CHECK(problem(ParamSpec::integer("n", 1), 1.0) == "expected integer, found real");
    CHECK(problem(ParamSpec::boolean("b", true), std::int64_t{1}) == "expected boolean, found integer");
    CHECK(problem(ParamSpec::string("s", "a"), true) == "expected string, found boolean");
    CHECK(problem(ParamSpec::real_list("l", {}), 1.0) == "expected list of reals, found real");
    CHECK(valid(ParamSpec::boolean("b", true), false));
    CHECK(valid(ParamSpec::string("s", "a"), std::string("anything")));
}

TEST_CASE("check_value applies inclusive and exclusive bounds", "[params]") {
    auto inclusive = ParamSpec::real("x", 0.5).range(0.0, 1.0);
    CHECK(valid(inclusive, 0.0));
    CHECK(valid(inclusive, 1.0));
    CHECK(problem(inclusive, -1e-9) == "value -1e-09 is out of range: must be in [0, 1]");
    CHECK(problem(inclusive, 1.5) == "value 1.5 is out of range: must be in [0, 1]");

    auto positive = ParamSpec::real("x", 1.0).positive();
    CHECK(valid(positive, 1e-300));
    CHECK(problem(positive, 0.0) == "value 0 is out of range: must be > 0");
    CHECK_FALSE(valid(positive, -2.0));

    auto exclusive_range = ParamSpec::real("x", 0.5).range(0.0, 1.0);
    exclusive_range.min_exclusive = true;
    CHECK_FALSE(valid(exclusive_range, 0.0));
    CHECK(valid(exclusive_range, 1.0));
    CHECK(problem(exclusive_range, 0.0) == "value 0 is out of range: must be in (0, 1]");

    auto at_least = ParamSpec::integer("n", 1).at_least(1);
    CHECK(valid(at_least, std::int64_t{1}));
    CHECK(problem(at_least, std::int64_t{0}) == "value 0 is out of range: must be >= 1");

    auto at_most = ParamSpec::real("x", 0.0);
    at_most.max = 2.5;
    CHECK(valid(at_most, -1e9));
    CHECK(problem(at_most, 3.0) == "value 3 is out of range: must be <= 2.5");
}

TEST_CASE("check_value refuses non-finite numbers, alone or in a list", "[params]") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto unbounded = ParamSpec::real("x", 0.0);
    CHECK(problem(unbounded, inf) == "must be a finite number");
    CHECK(problem(unbounded, -inf) == "must be a finite number");
    CHECK(problem(unbounded, nan) == "must be a finite number");
    // NaN compares false with every bound: without the explicit check it would pass.
    CHECK(problem(ParamSpec::real("x", 0.5).range(0.0, 1.0), nan) == "must be a finite number");
    CHECK(problem(ParamSpec::real_list("l", {}), RealList{1.0, nan}) == "must be a finite number");
}

TEST_CASE("check_value allows only the listed choices for a string", "[params]") {
    auto s = ParamSpec::string("optimizer", "adam").one_of({"adam", "sgd"});
    CHECK(valid(s, std::string("adam")));
    CHECK(valid(s, std::string("sgd")));
    CHECK(problem(s, std::string("Adam")) == "\"Adam\" is not allowed: must be one of adam, sgd");
    CHECK_FALSE(valid(s, std::string()));
}

TEST_CASE("check_value checks a list's size, emptiness and every element", "[params]") {
    auto pair = ParamSpec::real_list("amplitude", {0.8, 1.2}).size(2).at_least(0.0);
    CHECK(valid(pair, RealList{0.0, 3.0}));
    CHECK(problem(pair, RealList{1.0}) == "has 1 elements, expected 2");
    CHECK(problem(pair, RealList{1.0, 2.0, 3.0}) == "has 3 elements, expected 2");
    CHECK(problem(pair, RealList{1.0, -0.5}) == "value -0.5 is out of range: must be >= 0, exactly 2 elements");

    auto freqs = ParamSpec::real_list("frequencies", {1.0}).not_empty().positive();
    CHECK(valid(freqs, RealList{1.0, 3.0}));
    CHECK(problem(freqs, RealList{}) == "must not be empty");
    CHECK(problem(freqs, RealList{1.0, 0.0}) == "value 0 is out of range: must be > 0, not empty");
    // Without not_empty an empty list is fine.
    CHECK(valid(ParamSpec::real_list("l", {}), RealList{}));
}

TEST_CASE("describe_constraints puts a spec's constraints into words", "[params]") {
    CHECK(describe_constraints(ParamSpec::real("x", 0)) == "");
    CHECK(describe_constraints(ParamSpec::real("x", 0).range(0.25, 10)) == "in [0.25, 10]");
    CHECK(describe_constraints(ParamSpec::real("x", 1).positive()) == "> 0");
    CHECK(describe_constraints(ParamSpec::real("x", 1).at_least(-1.5)) == ">= -1.5");
    CHECK(describe_constraints(ParamSpec::string("s", "a").one_of({"a", "b", "c"})) == "one of a, b, c");
    CHECK(describe_constraints(ParamSpec::real_list("l", {}).size(3)) == "exactly 3 elements");
    CHECK(describe_constraints(ParamSpec::real_list("l", {}).not_empty()) == "not empty");
    CHECK(describe_constraints(ParamSpec::real_list("l", {}).not_empty().size(2).at_least(0)) ==
          ">= 0, exactly 2 elements, not empty");
}

TEST_CASE("numbers in constraint messages are never rounded to another value", "[params]") {
    // Small bounds and values keep their value (fixed-point printing would say "0").
    auto lr = ParamSpec::real("lr", 1e-3).range(1e-8, 0.1);
    CHECK(describe_constraints(lr) == "in [1e-08, 0.1]");
    CHECK(problem(lr, 1e-9) == "value 1e-09 is out of range: must be in [1e-08, 0.1]");
    CHECK(problem(lr, 0.30000000000000004) == "value 0.30000000000000004 is out of range: must be in [1e-08, 0.1]");
    CHECK(describe_constraints(ParamSpec::real("x", 0).at_least(-1e300)) == ">= -1e+300");
}

TEST_CASE("Params::with_defaults fills in missing values and keeps given ones", "[params]") {
    const std::vector<ParamSpec> specs = {
        ParamSpec::real("lr", 1e-3), ParamSpec::integer("epochs", 30), ParamSpec::string("optimizer", "adam"),
        ParamSpec::real_list("sizes", {1.0, 2.0}), ParamSpec::boolean("shuffle", true)};
    Params given;
    given.set("epochs", std::int64_t{5});
    given.set("extra", std::string("kept"));
    const Params p = Params::with_defaults(specs, given);
    CHECK(p.real("lr") == 1e-3);
    CHECK(p.integer("epochs") == 5);
    CHECK(p.string("optimizer") == "adam");
    CHECK(p.real_list("sizes") == RealList{1.0, 2.0});
    CHECK(p.boolean("shuffle"));
    CHECK(p.string("extra") == "kept");
    CHECK(p.values().size() == 6);
    CHECK(Params::with_defaults(specs).values().size() == specs.size());
}

TEST_CASE("Params access by the wrong name or type is the plugin's bug: ParamAccessError, not ParamError", "[params]") {
    Params p({{"lr", 0.1}});
    // Not a ParamError: the host would take that for the pipeline's fault, at the key's line.
    CHECK_THROWS_AS(p.integer("lr"), ParamAccessError);
    CHECK_THROWS_WITH(p.integer("lr"), "it reads parameter 'lr' as integer, but its schema declares a real");
    CHECK_THROWS_WITH(p.real("momentum"), "it reads parameter 'momentum', which its schema does not declare");
    CHECK_THROWS_WITH(p.path_list("lr"), "it reads parameter 'lr' as list of paths, but its schema declares a real");
    CHECK(p.contains("lr"));
    CHECK_FALSE(p.contains("momentum"));
}
