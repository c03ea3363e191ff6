#include <sigx/host/names.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/saved_model.hpp>

#include "pipeline_checker.hpp"

#include <fmt/format.h>

#include <glob.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sigx::host {

using detail::Checker;
using detail::join;

Origin origin_of(const toml::source_region& r, const std::string& fallback_file) {
    Origin o;
    o.file = r.path ? *r.path : fallback_file;
    o.line = static_cast<int>(r.begin.line);
    o.column = static_cast<int>(r.begin.column);
    return o;
}

namespace {

const char* const command_line = "command line";

void insert_param(toml::table& t, const std::string& key, const ParamValue& v);

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

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
    const Checker c(src);
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
    const Checker c(src);
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

namespace {

// [pipeline] and [output], and no section the file format does not know.
void read_settings(const Checker& c, const PipelineSource& src, Pipeline& p) {
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
        for (auto&& entry : c.table("output", *n)) {  // not a structured binding: clang 14 cannot capture one
            const toml::node& value = entry.second;
            const std::string k(entry.first.str()), path = "output." + k;
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
                c.unknown_key(path, entry.first, {"predictions", "components"}, "");
        }
    }
}

// One [models.NAME] section: its plugin and parameters, and how it is fitted (a trainer,
// a saved model, both or neither) agreeing with what the plugin is.
PluginUse read_model(const Checker& c, const Pipeline& p, const toml::key& key, const toml::node& value,
                     const Registry& registry) {
    c.section_name("model name", "models", key);
    const std::string path = "models." + std::string(key.str());
    PluginUse m = c.plugin_section(path, value, registry, Kind::model, {"trainer", "from", "fine_tune"});
    m.name = std::string(key.str());
    std::vector<std::string> trainer_names;
    for (const auto& t : p.trainers) trainer_names.push_back(t.name);
    const bool trainable = m.info->descriptor->trainable;
    if (!m.from.empty()) check_saved(m, path);
    if (m.fine_tune && (m.from.empty() || !trainable))
        c.fail(m.origin_of("fine_tune"),
               m.from.empty() ? fmt::format("model '{}': fine_tune needs from = \"RUN_DIR\" (a saved model)", m.name)
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
        c.fail(m.origin_of("trainer"), msg);
    }
    if (trainable && fitted_here && m.trainer.empty())
        c.fail(m.origin,
               fmt::format("model '{}' (plugin '{}') is trained: name a trainer with trainer = \"...\"{}", m.name,
                           m.plugin, trainer_names.empty() ? "" : fmt::format(" (defined: {})", join(trainer_names))));
    if ((!trainable || !fitted_here) && !m.trainer.empty())
        c.fail(m.origin_of("trainer"),
               trainable ? fmt::format("model '{}' starts from a saved model and is not trained (add fine_tune = "
                                       "true to train on); remove 'trainer'",
                                       m.name)
                         : fmt::format("model '{}' (plugin '{}') is not trained by a trainer; remove 'trainer'", m.name,
                                       m.plugin));
    return m;
}

// [[evaluate]], or the installed defaults (defaults.toml beside the built-in plugins).
void read_evaluators(const Checker& c, const PipelineSource& src, const Registry& registry, Pipeline& p) {
    const toml::node* n = src.table.get("evaluate");
    if (!n) {
        for (const std::string& name : registry.defaults().evaluate) {
            PluginUse e;
            e.section = fmt::format("evaluate[{}]", p.evaluators.size());
            e.name = e.plugin = name;
            e.origin = {src.file.string()};
            e.info = &registry.require(name, Kind::evaluator);
            e.params = Params::with_defaults(e.info->descriptor->params);
            p.evaluators.push_back(std::move(e));
        }
        return;
    }
    if (!n->is_array_of_tables())
        c.fail(c.where("evaluate", *n), "'evaluate' must be an array of tables: write [[evaluate]] sections");
    for (const auto& e : *n->as_array()) {
        PluginUse added =
            c.plugin_section(fmt::format("evaluate[{}]", p.evaluators.size()), e, registry, Kind::evaluator, {});
        added.name = added.plugin;
        for (const auto& before : p.evaluators)
            if (before.name == added.name)
                c.fail(added.origin, fmt::format("evaluator '{}' is listed twice (also at {}): both would write "
                                                 "into one folder and one set of rows; keep one",
                                                 added.name, before.origin.str()));
        p.evaluators.push_back(std::move(added));
    }
}

}  // namespace

Pipeline validate_pipeline(const PipelineSource& src, const Registry& registry) {
    const Checker c(src);
    Pipeline p;
    p.file = src.file;
    p.name = src.file.stem().string();
    p.plugin_paths = plugin_paths(src);
    read_settings(c, src, p);

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
    for (auto&& [key, value] : *models->as_table()) p.models.push_back(read_model(c, p, key, value, registry));
    // toml++ tables are sorted by key; reports list models in the order the file gives.
    auto by_line = [](const PluginUse& a, const PluginUse& b) {
        auto line = [](const PluginUse& u) { return u.origin.line ? u.origin.line : 1 << 30; };
        return line(a) < line(b);
    };
    std::stable_sort(p.models.begin(), p.models.end(), by_line);
    std::stable_sort(p.trainers.begin(), p.trainers.end(), by_line);

    read_evaluators(c, src, registry, p);
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
