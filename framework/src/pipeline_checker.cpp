#include "pipeline_checker.hpp"

#include <sigx/host/names.hpp>

#include <fmt/format.h>

#include <glob.h>
#include <algorithm>

namespace sigx::host {

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}
}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

namespace detail {

std::string toml_type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "real";
    case toml::node_type::boolean: return "boolean";
    default: return "date/time";
    }
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

Origin Checker::where(const std::string& path, const toml::source_region& region) const {
    if (auto it = src_.override_origins.find(path); it != src_.override_origins.end()) return it->second;
    return origin_of(region, src_.file.string());
}

void Checker::unknown_key(const std::string& path, const toml::key& key, const std::vector<std::string>& allowed,
                          const std::string& what) const {
    std::string msg = fmt::format("unknown key '{}'{}", path, what);
    if (auto near = closest(std::string(key.str()), allowed); !near.empty())
        msg += fmt::format("; did you mean '{}'?", near);
    if (!allowed.empty()) msg += fmt::format(" (allowed: {})", join(allowed));
    fail(where(path, key.source()), msg);
}

void Checker::section_name(const char* what, const std::string& parent, const toml::key& key) const {
    if (auto problem = name_problem(what, key.str()); !problem.empty())
        fail(where(parent + "." + std::string(key.str()), key.source()), problem);
}

const toml::table& Checker::table(const std::string& path, const toml::node& n) const {
    if (!n.is_table()) fail(where(path, n), fmt::format("'{}' must be a table, found {}", path, toml_type_name(n)));
    return *n.as_table();
}

std::string Checker::string(const std::string& path, const toml::node& n) const {
    if (!n.is_string()) fail(where(path, n), fmt::format("'{}' must be a string, found {}", path, toml_type_name(n)));
    return **n.as_string();
}

PluginUse Checker::plugin_section(const std::string& path, const toml::node& node, const Registry& registry, Kind kind,
                                  const std::vector<std::string>& host_keys) const {
    const toml::table& t = table(path, node);
    PluginUse use;
    use.section = path;
    use.origin = where(path, node);
    const toml::node* plugin = t.get("plugin");
    if (!plugin) {
        std::string msg = fmt::format("[{}] needs a 'plugin' key naming a {} plugin", path, to_string(kind));
        for (auto&& [key, value] : t)
            if (closest(std::string(key.str()), {"plugin"}) == "plugin")
                fail(where(path + "." + std::string(key.str()), key.source()),
                     msg + fmt::format("; did you mean 'plugin' instead of '{}'?", key.str()));
        fail(use.origin, msg);
    }
    use.plugin = string(path + ".plugin", *plugin);
    try {
        use.info = &registry.require(use.plugin, kind);
    } catch (const PluginError& e) {
        std::string msg = e.what();
        if (!registry.rejections().empty())
            msg += fmt::format(" ({} plugin libraries were rejected; `sigx plugins` lists why)",
                               registry.rejections().size());
        fail(where(path + ".plugin", *plugin), msg);
    }
    const auto& specs = use.info->descriptor->params;
    std::vector<std::string> allowed = {"plugin"};
    allowed.insert(allowed.end(), host_keys.begin(), host_keys.end());
    for (const auto& s : specs) allowed.push_back(s.name);

    for (auto&& [key, value] : t) {
        const std::string k(key.str());
        const std::string kpath = path + "." + k;
        if (k == "plugin") continue;
        if (std::find(host_keys.begin(), host_keys.end(), k) != host_keys.end()) {
            if (k == "trainer") use.trainer = string(kpath, value);
            if (k == "from") use.from = existing(kpath, value, string(kpath, value)).front();
            if (k == "fine_tune") {
                if (!value.is_boolean()) fail(where(kpath, value), fmt::format("'{}' must be true or false", kpath));
                use.fine_tune = **value.as_boolean();
            }
            use.param_origins[k] = where(kpath, value);
            continue;
        }
        auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == k; });
        if (spec == specs.end())
            unknown_key(kpath, key, allowed, fmt::format(": plugin '{}' has no parameter '{}'", use.plugin, k));
        const Origin o = where(kpath, value);
        auto v = to_param(*spec, kpath, value);
        if (auto problem = check_value(*spec, v)) fail(o, fmt::format("'{}': {}", kpath, *problem));
        use.params.set(k, std::move(v));
        use.param_origins[k] = o;
    }
    for (const auto& s : specs)
        if (s.is_required && !use.params.contains(s.name))
            fail(use.origin, fmt::format("[{}] plugin '{}': parameter '{}' is required ({}), e.g. {} = {}", path,
                                         use.plugin, s.name, s.help_text, s.name, param_text(s.default_value)));
    use.params = Params::with_defaults(specs, std::move(use.params));
    return use;
}

double Checker::real(const std::string& path, const toml::node& n) const {
    if (const auto* f = n.as_floating_point()) return f->get();
    const std::int64_t i = n.as_integer()->get();
    const auto d = static_cast<double>(i);
    // 2^63 itself is not an int64: compare in the double domain first.
    if (d >= 0x1p63 || static_cast<std::int64_t>(d) != i)
        fail(where(path, n), fmt::format("'{}': the integer {} is not exactly representable as a real; write it as a "
                                         "real (e.g. {:e}) if the rounding is intended",
                                         path, i, d));
    return d;
}

ParamValue Checker::to_param(const ParamSpec& spec, const std::string& path, const toml::node& n) const {
    auto mismatch = [&] {
        fail(where(path, n), fmt::format("'{}': expected {}, found {}", path, to_string(spec.type), toml_type_name(n)));
    };
    switch (spec.type) {
    case ParamType::boolean:
        if (!n.is_boolean()) mismatch();
        return **n.as_boolean();
    case ParamType::integer:
        if (!n.is_integer()) mismatch();
        return **n.as_integer();
    case ParamType::real:
        if (!n.is_number()) mismatch();
        return real(path, n);
    case ParamType::string:
        if (!n.is_string()) mismatch();
        return **n.as_string();
    case ParamType::real_list: {
        if (!n.is_array()) mismatch();
        RealList list;
        for (const auto& e : *n.as_array()) {
            if (!e.is_number())
                fail(where(path, e), fmt::format("'{}': expected a list of reals, found an element of type {}", path,
                                                 toml_type_name(e)));
            list.push_back(real(path, e));
        }
        return list;
    }
    case ParamType::string_list: {
        StringList list;
        for (const toml::node* e : elements(path, n)) list.push_back(string(path, *e));
        return list;
    }
    case ParamType::path:
        if (!n.is_string()) mismatch();
        return existing(path, n, **n.as_string()).front();
    case ParamType::path_list: {
        PathList list;
        for (const toml::node* e : elements(path, n))
            for (auto& f : existing(path, *e, string(path, *e))) list.push_back(std::move(f));
        return list;
    }
    }
    mismatch();
    return {};
}

std::vector<const toml::node*> Checker::elements(const std::string& path, const toml::node& n) const {
    std::vector<const toml::node*> out;
    if (const auto* a = n.as_array())
        for (const auto& e : *a) out.push_back(&e);
    else if (n.is_string())
        out.push_back(&n);
    else
        fail(where(path, n), fmt::format("'{}': expected a list of strings, found {}", path, toml_type_name(n)));
    return out;
}

std::vector<std::filesystem::path> Checker::existing(const std::string& path, const toml::node& n,
                                                     const std::string& text) const {
    namespace fs = std::filesystem;
    if (text.empty()) fail(where(path, n), fmt::format("'{}': an empty path", path));
    fs::path p = text;
    if (p.is_relative())
        p = src_.override_origins.count(path) ? fs::absolute(p) : fs::absolute(src_.file).parent_path() / p;
    p = p.lexically_normal();
    if (text.find_first_of("*?[") == std::string::npos) {
        std::error_code ec;
        if (!fs::exists(p, ec))
            fail(where(path, n), fmt::format("'{}': no such file or directory: {}", path, p.string()));
        return {p};
    }
    glob_t g{};
    const int rc = ::glob(p.c_str(), 0, nullptr, &g);
    std::vector<fs::path> out;
    for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    if (out.empty()) fail(where(path, n), fmt::format("'{}': no file matches {}", path, p.string()));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace detail
}  // namespace sigx::host
