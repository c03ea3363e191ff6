// Typed plugin parameters and their schema.
//
// A plugin declares one ParamSpec per parameter in its Descriptor. The host validates
// every value from a pipeline file (or a command-line override) against the spec before
// any plugin is constructed, fills in defaults, and hands the plugin a complete Params.
// A `path` or `path_list` value written relative in a pipeline file is resolved against
// that file's folder (glob patterns in a path_list expanded, sorted), and must exist.
#pragma once

#include <sigx/version.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

enum class ParamType { boolean, integer, real, string, real_list, string_list, path, path_list };

inline const char* to_string(ParamType t) {
    switch (t) {
    case ParamType::boolean: return "boolean";
    case ParamType::integer: return "integer";
    case ParamType::real: return "real";
    case ParamType::string: return "string";
    case ParamType::real_list: return "list of reals";
    case ParamType::string_list: return "list of strings";
    case ParamType::path: return "path";
    case ParamType::path_list: return "list of paths";
    }
    return "?";
}

using RealList = std::vector<double>;
using StringList = std::vector<std::string>;
using PathList = std::vector<std::filesystem::path>;
// Index order matches ParamType.
using ParamValue =
    std::variant<bool, std::int64_t, double, std::string, RealList, StringList, std::filesystem::path, PathList>;

inline ParamType type_of(const ParamValue& v) { return static_cast<ParamType>(v.index()); }

// Thrown by a plugin (usually its constructor) when a parameter value passes the schema
// but makes no sense in context, e.g. a frequency at or above Nyquist. `key` names the
// parameter so the host can point at its line in the pipeline file.
struct __attribute__((visibility("default"))) ParamError : std::runtime_error {
    ParamError(std::string key_, const std::string& message) : std::runtime_error(message), key(std::move(key_)) {}
    std::string key;
};

// Thrown by Params when a plugin reads a parameter its schema does not declare, or with the
// getter of another type: a bug in the plugin, not in the pipeline, and reported so.
struct __attribute__((visibility("default"))) ParamAccessError : std::logic_error {
    using std::logic_error::logic_error;
};

// One parameter: name, type, default, constraints and a line of help. Built fluently:
//   ParamSpec::real("lr", 1e-3).range(0.0, 1.0).help("learning rate")
// A required parameter has no default: its default_value is an example, shown in help
// and used by `sigx check` and scaffolded tests, never by a pipeline.
//   ParamSpec::path_list("train", {"train.wav"}).required().help("recordings to fit on")
struct ParamSpec {
    std::string name;
    ParamType type = ParamType::real;
    ParamValue default_value;
    std::optional<double> min, max;     // inclusive bounds (numbers, each list element)
    bool min_exclusive = false;         // true: value must be > min
    std::vector<std::string> choices;   // strings: the allowed values
    std::optional<std::size_t> length;  // lists: exact element count
    bool non_empty = false;             // lists: at least one element
    bool is_required = false;           // no default: the pipeline must give a value
    std::string help_text;

    static ParamSpec boolean(std::string n, bool d) { return make(std::move(n), ParamType::boolean, d); }
    static ParamSpec integer(std::string n, std::int64_t d) { return make(std::move(n), ParamType::integer, d); }
    static ParamSpec real(std::string n, double d) { return make(std::move(n), ParamType::real, d); }
    static ParamSpec string(std::string n, std::string d) {
        return make(std::move(n), ParamType::string, std::move(d));
    }
    static ParamSpec real_list(std::string n, RealList d) {
        return make(std::move(n), ParamType::real_list, std::move(d));
    }
    static ParamSpec string_list(std::string n, StringList d) {
        return make(std::move(n), ParamType::string_list, std::move(d));
    }
    static ParamSpec path(std::string n, std::filesystem::path d) {
        return make(std::move(n), ParamType::path, std::move(d));
    }
    static ParamSpec path_list(std::string n, PathList d) {
        return make(std::move(n), ParamType::path_list, std::move(d));
    }

    ParamSpec& range(double lo, double hi) {
        min = lo;
        max = hi;
        return *this;
    }
    ParamSpec& at_least(double lo) {
        min = lo;
        return *this;
    }
    ParamSpec& positive() {
        min = 0.0;
        min_exclusive = true;
        return *this;
    }
    ParamSpec& one_of(std::vector<std::string> c) {
        choices = std::move(c);
        return *this;
    }
    ParamSpec& size(std::size_t n) {
        length = n;
        return *this;
    }
    ParamSpec& not_empty() {
        non_empty = true;
        return *this;
    }
    ParamSpec& required() {
        is_required = true;
        return *this;
    }
    ParamSpec& help(std::string h) {
        help_text = std::move(h);
        return *this;
    }

private:
    static ParamSpec make(std::string n, ParamType t, ParamValue d) {
        ParamSpec s;
        s.name = std::move(n);
        s.type = t;
        s.default_value = std::move(d);
        return s;
    }
};

namespace detail {
// A number as a user wrote it: "0.25", "1e-08", "-3", and never rounded to something
// else (std::to_string prints 1e-8 as "0.000000"). 15 significant digits unless 17 are
// needed to read back the same double.
inline std::string number_text(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", x);
    if (std::strtod(buf, nullptr) != x) std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}
}  // namespace detail

// The constraint part of a spec as words, e.g. "in [0, 1]" or "one of adam, sgd".
inline std::string describe_constraints(const ParamSpec& s) {
    const auto num = detail::number_text;
    std::string out;
    if (!s.choices.empty()) {
        out = "one of ";
        for (std::size_t i = 0; i < s.choices.size(); ++i) out += (i ? ", " : "") + s.choices[i];
    } else if (s.min && s.max) {
        out = (s.min_exclusive ? "in (" : "in [") + num(*s.min) + ", " + num(*s.max) + "]";
    } else if (s.min) {
        out = (s.min_exclusive ? "> " : ">= ") + num(*s.min);
    } else if (s.max) {
        out = "<= " + num(*s.max);
    }
    if (s.length) out += (out.empty() ? "" : ", ") + std::string("exactly ") + std::to_string(*s.length) + " elements";
    if (s.non_empty) out += (out.empty() ? "" : ", ") + std::string("not empty");
    return out;
}

// Checks a value against a spec. Returns an error message, or nothing when valid.
// (The host converts a TOML integer to a real where the spec asks for a real.)
inline std::optional<std::string> check_value(const ParamSpec& s, const ParamValue& v) {
    const auto expected = [&] {
        return "expected " + std::string(to_string(s.type)) + ", found " + to_string(type_of(v));
    };
    if (type_of(v) != s.type) return expected();
    auto check_number = [&](double x) -> std::optional<std::string> {
        if (!std::isfinite(x)) return std::string("must be a finite number");
        bool below = s.min && (s.min_exclusive ? x <= *s.min : x < *s.min);
        bool above = s.max && x > *s.max;
        if (below || above)
            return "value " + detail::number_text(x) + " is out of range: must be " + describe_constraints(s);
        return std::nullopt;
    };
    auto check_count = [&](std::size_t n) -> std::optional<std::string> {
        if (s.non_empty && n == 0) return std::string("must not be empty");
        if (s.length && n != *s.length)
            return "has " + std::to_string(n) + " elements, expected " + std::to_string(*s.length);
        return std::nullopt;
    };
    switch (s.type) {
    case ParamType::integer: return check_number(static_cast<double>(std::get<std::int64_t>(v)));
    case ParamType::real: return check_number(std::get<double>(v));
    case ParamType::string: {
        const auto& str = std::get<std::string>(v);
        if (s.choices.empty()) return std::nullopt;
        for (const auto& c : s.choices)
            if (c == str) return std::nullopt;
        return "\"" + str + "\" is not allowed: must be " + describe_constraints(s);
    }
    case ParamType::real_list: {
        const auto& list = std::get<RealList>(v);
        if (auto e = check_count(list.size())) return e;
        for (double x : list)
            if (auto e = check_number(x)) return e;
        return std::nullopt;
    }
    case ParamType::string_list: return check_count(std::get<StringList>(v).size());
    case ParamType::path: {
        if (std::get<std::filesystem::path>(v).empty()) return std::string("must not be empty");
        return std::nullopt;
    }
    case ParamType::path_list: return check_count(std::get<PathList>(v).size());
    case ParamType::boolean: return std::nullopt;
    }
    return std::nullopt;
}

// The complete, validated parameter values handed to a plugin.
class Params {
public:
    Params() = default;
    explicit Params(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}

    template <class T> const T& get(const std::string& name) const {
        auto it = values_.find(name);
        if (it == values_.end())
            throw ParamAccessError("it reads parameter '" + name + "', which its schema does not declare");
        if (auto p = std::get_if<T>(&it->second)) return *p;
        throw ParamAccessError("it reads parameter '" + name + "' as " +
                               to_string(static_cast<ParamType>(ParamValue(std::in_place_type<T>).index())) +
                               ", but its schema declares a " + to_string(type_of(it->second)));
    }
    double real(const std::string& n) const { return get<double>(n); }
    std::int64_t integer(const std::string& n) const { return get<std::int64_t>(n); }
    bool boolean(const std::string& n) const { return get<bool>(n); }
    const std::string& string(const std::string& n) const { return get<std::string>(n); }
    const RealList& real_list(const std::string& n) const { return get<RealList>(n); }
    const StringList& string_list(const std::string& n) const { return get<StringList>(n); }
    const std::filesystem::path& path(const std::string& n) const { return get<std::filesystem::path>(n); }
    const PathList& path_list(const std::string& n) const { return get<PathList>(n); }

    bool contains(const std::string& n) const { return values_.count(n) != 0; }
    void set(const std::string& n, ParamValue v) { values_[n] = std::move(v); }
    const std::map<std::string, ParamValue>& values() const { return values_; }

    // Defaults for every spec (for a required one, its example); values already present win.
    static Params with_defaults(const std::vector<ParamSpec>& specs, Params given = {}) {
        for (const auto& s : specs)
            if (!given.contains(s.name)) given.set(s.name, s.default_value);
        return given;
    }

private:
    std::map<std::string, ParamValue> values_;
};

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
