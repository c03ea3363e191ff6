// The one guard around every call into a plugin, for `sigx run`, `check`, `apply` and
// `stream` alike: whatever a plugin throws, a standard exception or not, comes back as one
// error that names the call, the plugin and its library; a parameter read with the wrong
// getter is said to be the plugin's bug. A cancellation passes through untouched.
#pragma once

#include <sigx/host/errors.hpp>
#include <sigx/host/pipeline.hpp>

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace sigx::host {

// A plugin failed while running (exit 1).
struct PluginFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Who is called, as errors name it: "model 'lstm' (plugin 'lstm.stateful', /lib/sigx_lstm.so)".
inline std::string plugin_role(std::string_view role, std::string_view name, const PluginInfo& info) {
    return fmt::format("{} '{}' (plugin '{}', {})", role, name, info.descriptor->name, info.file.string());
}
inline std::string plugin_role(std::string_view role, const PluginUse& use) {
    return plugin_role(role, use.name, *use.info);
}

// Runs f, one call into a plugin (`call` names it: "predict", "save_state", ...).
template <class F> auto guarded(const std::string& who, std::string_view call, F&& f) -> decltype(f()) {
    auto failed = [&](const std::string& why) {
        return PluginFailure(fmt::format("{} failed in {}: {}", who, call, why));
    };
    try {
        return f();
    } catch (const Interrupted&) {
        throw;
    } catch (const ParamAccessError& e) {
        throw failed(std::string(e.what()) + ": a bug in the plugin");
    } catch (const std::exception& e) {
        throw failed(e.what());
    } catch (...) {
        throw failed("it threw something that is not a std::exception");
    }
}

// Constructs a plugin from validated parameters: a ParamError (a value the schema passed
// but the plugin refuses) is the pipeline's error at that key's line; anything else is
// the plugin's (PluginError, exit 3), naming its library.
template <class Base> std::shared_ptr<Base> construct(const PluginUse& use, const Registry& registry) {
    auto failed = [&](const std::string& why) {
        return PluginError(fmt::format("{}: plugin '{}' ([{}]) could not be constructed: {}", use.info->file.string(),
                                       use.plugin, use.section, why));
    };
    try {
        return registry.create<Base>(*use.info, use.params);
    } catch (const ParamError& e) {
        throw ConfigError(use.origin_of(e.key), fmt::format("[{}] plugin '{}': {}", use.section, use.plugin, e.what()));
    } catch (const ParamAccessError& e) {
        throw failed(std::string(e.what()) + ": a bug in the plugin, not in the pipeline");
    } catch (const std::exception& e) {
        throw failed(e.what());
    } catch (...) {
        throw failed("it threw something that is not a std::exception");
    }
}

}  // namespace sigx::host
