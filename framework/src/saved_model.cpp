#include <sigx/files.hpp>
#include <sigx/host/guard.hpp>
#include <sigx/host/saved_model.hpp>
#include <sigx/stream.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace sigx::host {

namespace fs = std::filesystem;

namespace {

std::string sdk_version() {
    return fmt::format("{}.{}.{}", SIGX_SDK_VERSION_MAJOR, SIGX_SDK_VERSION_MINOR, SIGX_SDK_VERSION_PATCH);
}

std::string components_text(const std::vector<Component>& cs) {
    std::vector<std::string> parts;
    for (const auto& c : cs)
        parts.push_back(c.tolerance > 0 ? fmt::format("{} ({} Hz +- {})", c.label, c.frequency, c.tolerance)
                                        : fmt::format("{} ({} Hz)", c.label, c.frequency));
    return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

std::string why_not_causal(Model& model, const Record& like) {
    Streaming* s = streaming(model);
    if (!s) return "it offers no streaming (sigx.model.stream/1)";
    try {
        s->configure(StreamConfig{like.input.sample_rate, static_cast<std::uint32_t>(like.input.channels.size()), 0.0,
                                  like.task, 256});
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "it refuses to stream";
    }
    return {};
}

std::string save_model(const fs::path& dir, const PluginUse& use, Model& model, const Record& fitted_on,
                       const std::vector<fs::path>& plugin_paths) {
    const std::string who = plugin_role("model", use);
    ModelState* state = guarded(who, "extension", [&] { return model_state(model); });
    if (!state)
        return fmt::format("plugin '{}' does not offer {}, so nothing fitted can be kept for `from =` or `sigx apply`",
                           use.plugin, model_state_id);
    fs::create_directories(dir / "state");
    guarded(who, "save_state", [&] { state->save_state(dir / "state"); });
    nlohmann::ordered_json j;
    j["model"] = use.name;
    j["plugin"] = use.plugin;
    j["plugin_version"] = use.info->descriptor->version;
    // Where the plugin came from: `sigx apply` and `sigx stream` find it there again.
    j["library"] = fs::absolute(use.info->file).string();
    j["plugin_paths"] = nlohmann::ordered_json::array();
    for (const auto& p : plugin_paths) j["plugin_paths"].push_back(fs::absolute(p).string());
    j["sdk"] = sdk_version();
    j["abi"] = SIGX_ABI_VERSION;
    const char* torch = guarded(who, "extension", [&] { return torch_version_of(model); });
    j["torch"] = torch ? torch : "";
    // Causal: it streams (it offers sigx.model.stream/1, and accepts this task in it).
    const std::string non_causal = why_not_causal(model, fitted_on);
    j["causal"] = non_causal.empty();
    if (!non_causal.empty()) j["non_causal"] = non_causal;
    j["trained"] = !use.trainer.empty();
    auto& params = j["params"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : use.params.values()) params[k] = param_text(v);
    j["state_params"] = guarded(who, "state_params", [&] { return state->state_params(); });
    auto& comps = j["components"] = nlohmann::ordered_json::array();
    for (const auto& c : fitted_on.task.components)
        comps.push_back({{"label", c.label},
                         {"frequency", c.frequency},
                         {"gain", c.gain},
                         {"tolerance", c.tolerance},
                         {"fundamental", c.fundamental},
                         {"amplitude", c.amplitude}});
    j["sample_rate"] = fitted_on.input.sample_rate;
    j["channels"] = fitted_on.input.channels.size();
    write_file_atomic(dir / "manifest.json", j.dump(2) + "\n");
    return {};
}

SavedModel read_saved_model(const fs::path& dir) {
    const fs::path file = dir / "manifest.json";
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("{}: no saved model there (no manifest.json)", dir.string()));
    try {
        const auto j = nlohmann::json::parse(in);
        SavedModel m;
        m.dir = dir;
        m.name = j.at("model").get<std::string>();
        m.plugin = j.at("plugin").get<std::string>();
        m.plugin_version = j.at("plugin_version").get<std::string>();
        m.sdk = j.at("sdk").get<std::string>();
        m.torch = j.at("torch").get<std::string>();
        m.library = j.value("library", std::string());
        for (const auto& p : j.value("plugin_paths", nlohmann::json::array()))
            m.plugin_paths.push_back(p.get<std::string>());
        m.params = j.at("params").get<std::map<std::string, std::string>>();
        m.state_params = j.at("state_params").get<std::vector<std::string>>();
        for (const auto& c : j.at("components"))
            m.components.push_back({c.at("label").get<std::string>(), c.at("frequency").get<double>(),
                                    c.at("gain").get<double>(), c.value("tolerance", 0.0),
                                    c.value("fundamental", std::int64_t{-1}), c.value("amplitude", 0.0)});
        m.sample_rate = j.at("sample_rate").get<double>();
        m.channels = j.at("channels").get<std::uint32_t>();
        return m;
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: not a readable manifest: {}", file.string(), e.what()));
    }
}

std::vector<std::string> saved_models(const fs::path& run) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(run, ec))
        if (e.is_directory() && fs::exists(e.path() / "manifest.json")) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

fs::path find_saved_model(const fs::path& given, const std::string& name) {
    if (fs::exists(given / "manifest.json")) return given;
    if (!fs::is_directory(given))
        throw std::runtime_error(fmt::format(
            "{}: {}", given.string(),
            fs::exists(given) ? "not a run directory or a saved model's directory" : "no such run directory"));
    const auto names = saved_models(given);
    if (!name.empty() && std::find(names.begin(), names.end(), name) != names.end()) return given / name;
    if (name.empty() && names.size() == 1) return given / names.front();
    const std::string held =
        names.empty() ? "it holds no saved model" : fmt::format("it holds {}", fmt::join(names, ", "));
    if (name.empty()) throw std::runtime_error(fmt::format("{}: name the model ({})", given.string(), held));
    if (std::ifstream why(given / name / not_saved_file); why) {
        std::string line;
        std::getline(why, line);
        throw std::runtime_error(fmt::format("{}: model '{}' was fitted there but not saved: {}", given.string(), name,
                                             line.substr(0, 500)));
    }
    throw std::runtime_error(fmt::format("{}: no saved model '{}' ({})", given.string(), name, held));
}

std::string task_mismatch(const SavedModel& saved, const Record& record) {
    const auto& now = record.task.components;
    bool same = now.size() == saved.components.size();
    for (std::size_t k = 0; same && k < now.size(); ++k)
        same = now[k].label == saved.components[k].label && now[k].frequency == saved.components[k].frequency &&
               now[k].tolerance == saved.components[k].tolerance &&
               now[k].fundamental == saved.components[k].fundamental;
    if (!same)
        return fmt::format("fitted for the components {}, the data has {}", components_text(saved.components),
                           components_text(now));
    if (record.input.sample_rate != saved.sample_rate)
        return fmt::format("fitted at a sample rate of {} Hz, the data has {} Hz", saved.sample_rate,
                           record.input.sample_rate);
    if (record.input.channels.size() != saved.channels)
        return fmt::format("fitted on {} input channel(s), the data has {}", saved.channels,
                           record.input.channels.size());
    return {};
}

}  // namespace sigx::host
