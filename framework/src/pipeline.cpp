#include <sigx/host/names.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/saved_model.hpp>

#include <fmt/format.h>

#include <glob.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sigx::host {

Origin origin_of(const toml::source_region& r, const std::string& fallback_file) {
    Origin o;
    o.file = r.path ? *r.path : fallback_file;
    o.line = static_cast<int>(r.begin.line);
    o.column = static_cast<int>(r.begin.column);
    return o;
}

namespace {

const char* const command_line = "command line";

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

void insert_param(toml::table& t, const std::string& key, const ParamValue& v);

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Validates one table against a fixed key set or a plugin schema. Knows the file and the
// override origins so every message can point at its source.
class Checker {
public:
    explicit Checker(const PipelineSource& src) : src_(src) {}

    Origin where(const std::string& path, const toml::source_region& region) const {
        if (auto it = src_.override_origins.find(path); it != src_.override_origins.end()) return it->second;
        return origin_of(region, src_.file.string());
    }
    Origin where(const std::string& path, const toml::node& n) const { return where(path, n.source()); }

    [[noreturn]] void fail(const Origin& o, const std::string& message) const { throw ConfigError(o, message); }

    void unknown_key(const std::string& path, const toml::key& key, const std::vector<std::string>& allowed,
                     const std::string& what) const {
        std::string msg = fmt::format("unknown key '{}'{}", path, what);
        if (auto near = closest(std::string(key.str()), allowed); !near.empty())
            msg += fmt::format("; did you mean '{}'?", near);
        if (!allowed.empty()) msg += fmt::format(" (allowed: {})", join(allowed));
        fail(where(path, key.source()), msg);
    }

    // A [models.X] or [trainers.X] key: X names a folder of the run directory.
    void section_name(const char* what, const std::string& parent, const toml::key& key) const {
        if (auto problem = name_problem(what, key.str()); !problem.empty())
            fail(where(parent + "." + std::string(key.str()), key.source()), problem);
    }

    const toml::table& table(const std::string& path, const toml::node& n) const {
        if (!n.is_table()) fail(where(path, n), fmt::format("'{}' must be a table, found {}", path, toml_type_name(n)));
        return *n.as_table();
    }

    std::string string(const std::string& path, const toml::node& n) const {
        if (!n.is_string())
            fail(where(path, n), fmt::format("'{}' must be a string, found {}", path, toml_type_name(n)));
        return **n.as_string();
    }

    // Checks a plugin section: `plugin` key, optional extra host keys, every parameter.
    PluginUse plugin_section(const std::string& path, const toml::node& node, const Registry& registry, Kind kind,
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
                    if (!value.is_boolean())
                        fail(where(kpath, value), fmt::format("'{}' must be true or false", kpath));
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

    // A TOML number as a double, exactly: an integer that a double cannot hold is refused
    // rather than rounded.
    double real(const std::string& path, const toml::node& n) const {
        if (const auto* f = n.as_floating_point()) return f->get();
        const std::int64_t i = n.as_integer()->get();
        const auto d = static_cast<double>(i);
        // 2^63 itself is not an int64: compare in the double domain first.
        if (d >= 0x1p63 || static_cast<std::int64_t>(d) != i)
            fail(where(path, n),
                 fmt::format("'{}': the integer {} is not exactly representable as a real; write it as a "
                             "real (e.g. {:e}) if the rounding is intended",
                             path, i, d));
        return d;
    }

private:
    ParamValue to_param(const ParamSpec& spec, const std::string& path, const toml::node& n) const {
        auto mismatch = [&] {
            fail(where(path, n),
                 fmt::format("'{}': expected {}, found {}", path, to_string(spec.type), toml_type_name(n)));
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
                    fail(where(path, e), fmt::format("'{}': expected a list of reals, found an element of type {}",
                                                     path, toml_type_name(e)));
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

    // A list parameter's elements; a single value stands for a list of one.
    std::vector<const toml::node*> elements(const std::string& path, const toml::node& n) const {
        std::vector<const toml::node*> out;
        if (const auto* a = n.as_array())
            for (const auto& e : *a) out.push_back(&e);
        else if (n.is_string())
            out.push_back(&n);
        else
            fail(where(path, n), fmt::format("'{}': expected a list of strings, found {}", path, toml_type_name(n)));
        return out;
    }

    // A path as written: relative to the pipeline file's folder (a command-line override:
    // to the working directory), a glob pattern expanded in sorted order. Every file must
    // exist; a pattern must match at least one.
    std::vector<std::filesystem::path> existing(const std::string& path, const toml::node& n,
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

    const PipelineSource& src_;
};

// Parses an override value as TOML; a bare word that is not TOML is taken as a string
// (as Hydra does), so `models.lstm.plugin=lstm.stateful` needs no quotes.
toml::table parse_override_value(const std::string& value) {
    try {
        return toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
        toml::table t;
        t.insert("v", value);
        return t;
    }
}

}  // namespace

void apply_override(PipelineSource& src, const std::string& arg, const std::string& source) {
    if (!valid_utf8(arg)) throw ConfigError({fmt::format("{}", source), 0, 0}, "an override is not valid UTF-8 text");
    const Origin o{fmt::format("{} '{}'", source, arg), 0, 0};
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError(o, "an override must look like key.path=value");
    const std::string path = arg.substr(0, eq);
    std::vector<std::string> parts;
    std::stringstream ss(path);
    for (std::string p; std::getline(ss, p, '.');) {
        if (p.empty()) throw ConfigError(o, fmt::format("empty segment in key path '{}'", path));
        parts.push_back(p);
    }
    toml::table value = parse_override_value(arg.substr(eq + 1));

    // The key path of parts[0, n), for naming the node that is in the way.
    auto prefix = [&](std::size_t n) {
        std::string r;
        for (std::size_t i = 0; i < n; ++i) r += (i ? "." : "") + parts[i];
        return r;
    };
    toml::node* cursor = &src.table;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const std::string& p = parts[i];
        if (auto* t = cursor->as_table()) {
            if (!t->contains(p)) t->insert(p, toml::table{});
            cursor = t->get(p);
        } else if (auto* a = cursor->as_array()) {
            std::size_t idx = 0;
            try {
                idx = std::stoul(p);
            } catch (const std::exception&) {
                throw ConfigError(o, fmt::format("'{}' indexes an array: use a number, e.g. evaluate.0.plugin", p));
            }
            if (idx >= a->size())
                throw ConfigError(o,
                                  fmt::format("index {} is past the end of the array ({} elements)", idx, a->size()));
            cursor = a->get(idx);
        } else {
            throw ConfigError(o, fmt::format("cannot set '{}': '{}' is not a table", path, prefix(i)));
        }
    }
    auto* parent = cursor->as_table();
    if (!parent)
        throw ConfigError(o, fmt::format("cannot set '{}': '{}' is not a table", path, prefix(parts.size() - 1)));
    parent->insert_or_assign(parts.back(), std::move(*value.get("v")));
    src.override_origins[path] = o;
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

Origin PluginUse::origin_of(const std::string& param) const {
    auto it = param_origins.find(param);
    return it != param_origins.end() ? it->second : origin;
}

const PluginUse* Pipeline::trainer(const std::string& n) const {
    for (const auto& t : trainers)
        if (t.name == n) return &t;
    return nullptr;
}

PipelineSource read_pipeline(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw ConfigError({file.string()}, "is a directory, not a pipeline file");
    // Read as a stream, so that pipes (`<(...)`, /dev/stdin) work like files.
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(file, ec)) throw ConfigError({file.string()}, "no such pipeline file");
        throw ConfigError({file.string()}, fmt::format("cannot be read: {}", std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError({file.string()}, fmt::format("cannot be read: {}", std::strerror(errno)));
    return parse_pipeline(text.str(), file, overrides);
}

PipelineSource parse_pipeline(const std::string& text, const std::filesystem::path& file,
                              const std::vector<std::string>& overrides) {
    PipelineSource src;
    src.file = file;
    try {
        src.table = toml::parse(text, file.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError(origin_of(e.source(), file.string()), "TOML syntax error: " + std::string(e.description()));
    }
    for (const auto& o : overrides) apply_override(src, o, fmt::format("{} override", command_line));
    return src;
}

std::vector<std::filesystem::path> plugin_paths(const PipelineSource& src) {
    std::vector<std::filesystem::path> out;
    Checker c(src);
    const toml::node* plugins = src.table.get("plugins");
    if (!plugins) return out;
    const toml::table& t = c.table("plugins", *plugins);
    for (auto&& [key, value] : t) {
        if (key.str() != "paths") c.unknown_key("plugins." + std::string(key.str()), key, {"paths"}, "");
        if (!value.is_array()) c.fail(c.where("plugins.paths", value), "'plugins.paths' must be an array of strings");
        for (const auto& p : *value.as_array()) {
            std::filesystem::path path = c.string("plugins.paths", p);
            out.push_back(path.is_absolute() ? path : std::filesystem::absolute(src.file).parent_path() / path);
        }
    }
    return out;
}

PluginUse validate_plugin(const PipelineSource& src, const std::string& section, Kind kind, const Registry& registry) {
    Checker c(src);
    const toml::node* node = src.table.get(section);
    if (!node) throw ConfigError({src.file.string()}, fmt::format("no [{}] section", section));
    PluginUse use = c.plugin_section(section, *node, registry, kind, {});
    use.name = section;
    return use;
}

namespace {
// A model that starts from a saved one: the saved model exists, is of the same plugin,
// and every parameter its state depends on has the same value here.
void check_saved(PluginUse& m, const std::string& path) {
    SavedModel saved;
    try {
        m.from = find_saved_model(m.from, m.name);
        saved = read_saved_model(m.from);
    } catch (const std::exception& e) {
        throw ConfigError(m.origin_of("from"), fmt::format("'{}.from': {}", path, e.what()));
    }
    if (saved.plugin != m.plugin)
        throw ConfigError(m.origin_of("from"),
                          fmt::format("'{}.from': the saved model {} is plugin '{}', this section's is '{}'", path,
                                      m.from.string(), saved.plugin, m.plugin));
    for (const auto& name : saved.state_params) {
        const auto it = saved.params.find(name);
        const std::string was = it == saved.params.end() ? "unset" : it->second;
        const std::string now = m.params.contains(name) ? param_text(m.params.values().at(name)) : "unset";
        if (was != now)
            throw ConfigError(m.origin_of(name),
                              fmt::format("[{}] parameter '{}' is {} here and {} in the saved model {}: the fitted "
                                          "state depends on it; set {} = {}, or fit anew without 'from'",
                                          path, name, now, was, m.from.string(), name, was));
    }
}
}  // namespace

Pipeline validate_pipeline(const PipelineSource& src, const Registry& registry) {
    Checker c(src);
    Pipeline p;
    p.file = src.file;
    p.name = src.file.stem().string();
    p.plugin_paths = plugin_paths(src);

    // [sweep] is read by read_sweep and taken out of every point before validation here.
    const std::vector<std::string> sections = {"pipeline", "plugins",  "source", "models",
                                               "trainers", "evaluate", "output", "sweep"};
    for (auto&& [key, value] : src.table) {
        const std::string k(key.str());
        if (std::find(sections.begin(), sections.end(), k) == sections.end()) c.unknown_key(k, key, sections, "");
    }

    if (const toml::node* n = src.table.get("pipeline")) {
        for (auto&& [key, value] : c.table("pipeline", *n)) {
            const std::string k(key.str()), path = "pipeline." + k;
            if (k == "name") {
                p.name = c.string(path, value);
                if (auto problem = name_problem("pipeline name", p.name); !problem.empty())
                    c.fail(c.where(path, value), problem);
            } else if (k == "description")
                p.description = c.string(path, value);
            else if (k == "seed") {
                if (!value.is_integer()) c.fail(c.where(path, value), fmt::format("'{}' must be an integer", path));
                p.seed = **value.as_integer();
            } else
                c.unknown_key(path, key, {"name", "description", "seed"}, "");
        }
    }

    if (p.name == src.file.stem().string())  // not set in the file: named after it
        if (auto problem = name_problem("pipeline name", p.name); !problem.empty())
            c.fail({src.file.string()}, problem + " (it comes from the file name: set name in [pipeline])");

    if (const toml::node* n = src.table.get("output")) {
        for (auto&& [key, value] : c.table("output", *n)) {
            const std::string k(key.str()), path = "output." + k;
            auto choice = [&](std::string& field, const std::vector<std::string>& allowed) {
                field = c.string(path, value);
                if (std::find(allowed.begin(), allowed.end(), field) == allowed.end())
                    c.fail(c.where(path, value),
                           fmt::format("'{}': \"{}\" is not allowed: must be one of {}", path, field, join(allowed)));
            };
            if (k == "predictions")
                choice(p.output.predictions, {"auto", "csv", "none"});
            else if (k == "components")
                choice(p.output.components, {"wav", "none"});
            else
                c.unknown_key(path, key, {"predictions", "components"}, "");
        }
    }

    const toml::node* source = src.table.get("source");
    if (!source)
        c.fail({src.file.string()}, "the pipeline has no [source] section (the generator that makes the data)");
    p.source = c.plugin_section("source", *source, registry, Kind::generator, {});
    p.source.name = "source";

    if (const toml::node* n = src.table.get("trainers")) {
        for (auto&& [key, value] : c.table("trainers", *n)) {
            c.section_name("trainer name", "trainers", key);
            p.trainers.push_back(
                c.plugin_section("trainers." + std::string(key.str()), value, registry, Kind::trainer, {}));
            p.trainers.back().name = std::string(key.str());
        }
    }

    const toml::node* models = src.table.get("models");
    if (!models || c.table("models", *models).empty())
        c.fail(models ? c.where("models", *models) : Origin{src.file.string()},
               "the pipeline has no models: add at least one [models.NAME] section");
    std::vector<std::string> trainer_names;
    for (const auto& t : p.trainers) trainer_names.push_back(t.name);
    for (auto&& [key, value] : *models->as_table()) {
        c.section_name("model name", "models", key);
        const std::string path = "models." + std::string(key.str());
        PluginUse m = c.plugin_section(path, value, registry, Kind::model, {"trainer", "from", "fine_tune"});
        m.name = std::string(key.str());
        const bool trainable = m.info->descriptor->trainable;
        if (!m.from.empty()) check_saved(m, path);
        if (m.fine_tune && (m.from.empty() || !trainable))
            c.fail(m.origin_of("fine_tune"),
                   m.from.empty()
                       ? fmt::format("model '{}': fine_tune needs from = \"RUN_DIR\" (a saved model)", m.name)
                       : fmt::format("model '{}' (plugin '{}') is not trained by a trainer: fine_tune "
                                     "has nothing to continue; remove it",
                                     m.name, m.plugin));
        const bool fitted_here = m.from.empty() || m.fine_tune;
        if (!m.trainer.empty() && !p.trainer(m.trainer)) {
            std::string msg = fmt::format("model '{}' names trainer '{}', which is not defined", m.name, m.trainer);
            if (auto near = closest(m.trainer, trainer_names); !near.empty())
                msg += fmt::format("; did you mean '{}'?", near);
            msg += trainer_names.empty() ? "; add a [trainers." + m.trainer + "] section"
                                         : fmt::format(" (defined trainers: {})", join(trainer_names));
            c.fail(c.where(path + ".trainer", *value.as_table()->get("trainer")), msg);
        }
        if (trainable && fitted_here && m.trainer.empty())
            c.fail(
                m.origin,
                fmt::format("model '{}' (plugin '{}') is trained: name a trainer with trainer = \"...\"{}", m.name,
                            m.plugin, trainer_names.empty() ? "" : fmt::format(" (defined: {})", join(trainer_names))));
        if ((!trainable || !fitted_here) && !m.trainer.empty())
            c.fail(c.where(path + ".trainer", *value.as_table()->get("trainer")),
                   trainable ? fmt::format("model '{}' starts from a saved model and is not trained (add fine_tune = "
                                           "true to train on); remove 'trainer'",
                                           m.name)
                             : fmt::format("model '{}' (plugin '{}') is not trained by a trainer; remove 'trainer'",
                                           m.name, m.plugin));
        p.models.push_back(std::move(m));
    }
    // toml++ tables are sorted by key; reports list models in the order the file gives.
    auto by_line = [](const PluginUse& a, const PluginUse& b) {
        auto line = [](const PluginUse& u) { return u.origin.line ? u.origin.line : 1 << 30; };
        return line(a) < line(b);
    };
    std::stable_sort(p.models.begin(), p.models.end(), by_line);
    std::stable_sort(p.trainers.begin(), p.trainers.end(), by_line);

    if (const toml::node* n = src.table.get("evaluate")) {
        if (!n->is_array_of_tables())
            c.fail(c.where("evaluate", *n), "'evaluate' must be an array of tables: write [[evaluate]] sections");
        std::size_t i = 0;
        for (const auto& e : *n->as_array()) {
            p.evaluators.push_back(c.plugin_section(fmt::format("evaluate[{}]", i), e, registry, Kind::evaluator, {}));
            PluginUse& added = p.evaluators.back();
            added.name = added.plugin;
            for (std::size_t k = 0; k + 1 < p.evaluators.size(); ++k)
                if (p.evaluators[k].name == added.name)
                    c.fail(added.origin, fmt::format("evaluator '{}' is listed twice (also at {}): both would write "
                                                     "into one folder and one set of rows; keep one",
                                                     added.name, p.evaluators[k].origin.str()));
            ++i;
        }
    } else {
        // No [[evaluate]]: the fair comparison by default: metrics, the diagnosis (with
        // the classical bound row) and the figures.
        for (const char* name : {"metrics", "diagnose", "plots"}) {
            PluginUse e;
            e.section = fmt::format("evaluate[{}]", p.evaluators.size());
            e.name = e.plugin = name;
            e.origin = {src.file.string()};
            e.info = &registry.require(name, Kind::evaluator);
            e.params = Params::with_defaults(e.info->descriptor->params);
            p.evaluators.push_back(std::move(e));
        }
    }
    // Models, evaluators and the source each write into a folder of their own name.
    for (const auto& m : p.models)
        for (const auto& e : p.evaluators)
            if (m.name == e.name || m.name == "source")
                c.fail(m.origin, fmt::format("model name '{}' is taken by {}: its folder in the run directory would be "
                                             "shared; rename the model",
                                             m.name, m.name == "source" ? "the source" : "evaluator '" + e.name + "'"));
    return p;
}

namespace {
void insert_param(toml::table& t, const std::string& key, const ParamValue& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, RealList> || std::is_same_v<T, StringList>) {
                toml::array a;
                for (const auto& e : x) a.push_back(e);
                t.insert(key, std::move(a));
            } else if constexpr (std::is_same_v<T, PathList>) {
                toml::array a;
                for (const auto& e : x) a.push_back(e.string());
                t.insert(key, std::move(a));
            } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
                t.insert(key, x.string());
            } else {
                t.insert(key, x);
            }
        },
        v);
}

toml::table section_table(const PluginUse& u) {
    toml::table t;
    t.insert("plugin", u.plugin);
    if (!u.trainer.empty()) t.insert("trainer", u.trainer);
    if (!u.from.empty()) t.insert("from", u.from.string());
    if (u.fine_tune) t.insert("fine_tune", true);
    for (const auto& [k, v] : u.params.values()) insert_param(t, k, v);
    return t;
}
}  // namespace

std::string param_text(const ParamValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) {
                return x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::string>) {
                return quoted(x);
            } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
                return quoted(x.string());
            } else if constexpr (std::is_same_v<T, RealList>) {
                return fmt::format("[{}]", fmt::join(x, ", "));
            } else if constexpr (std::is_same_v<T, StringList> || std::is_same_v<T, PathList>) {
                std::vector<std::string> items;
                for (const auto& e : x) items.push_back(quoted(std::filesystem::path(e).string()));
                return fmt::format("[{}]", fmt::join(items, ", "));
            } else {
                return fmt::format("{}", x);
            }
        },
        v);
}

toml::table Pipeline::resolved() const {
    toml::table root;
    toml::table pipeline{{"name", name}, {"seed", seed}};
    if (!description.empty()) pipeline.insert("description", description);
    root.insert("pipeline", std::move(pipeline));
    if (!plugin_paths.empty()) {
        toml::array a;
        for (const auto& path : plugin_paths) a.push_back(path.string());
        root.insert("plugins", toml::table{{"paths", std::move(a)}});
    }
    root.insert("source", section_table(source));
    toml::table m, t;
    for (const auto& u : models) m.insert(u.name, section_table(u));
    for (const auto& u : trainers) t.insert(u.name, section_table(u));
    root.insert("models", std::move(m));
    if (!t.empty()) root.insert("trainers", std::move(t));
    toml::array e;
    for (const auto& u : evaluators) e.push_back(section_table(u));
    root.insert("evaluate", std::move(e));
    root.insert("output", toml::table{{"predictions", output.predictions}, {"components", output.components}});
    return root;
}

}  // namespace sigx::host
