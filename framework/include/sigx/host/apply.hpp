// `sigx apply`: a model fitted in an earlier run, applied to recordings with no training
// and no pipeline file.
#pragma once

#include <sigx/host/loader.hpp>
#include <sigx/host/saved_model.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sigx::host {

// A saved model, constructed from its manifest's parameters and restored from its state.
struct LoadedModel {
    SavedModel saved;
    std::shared_ptr<Model> model;
    Task task;
    std::string who;  // how errors name it: model, plugin, library
    const PluginInfo* info = nullptr;
    std::vector<std::string> code;  // code_lines(): the library loaded and the code it runs
};
// A line for the user, said at once (where a plugin is loaded from).
using Note = std::function<void(const std::string&)>;
// `run` is a run directory (then `name` picks its model, or its only one) or a model
// folder. A plugin that `registry` does not provide is loaded from the library the run
// recorded, when that is safe (outside the run directory, writable by no one else: see
// unsafe_to_load), saying so through `note` first; a path parameter that points inside the
// run directory is refused before the plugin is constructed (a run directory never makes
// sigx run code it carries). Throws ConfigError for what the user
// named, PluginError for the plugin.
LoadedModel load_saved_model(const std::filesystem::path& run, const std::string& name, Registry& registry,
                             const Note& note);

// The saved model's prediction for one input (`source` names it in errors: a file, an
// array): refused (ConfigError) at another sample rate or channel count than the model
// was fitted for; the prediction checked like a run's (one finite channel per component).
Prediction predict_saved(LoadedModel& m, const Input& in, const std::string& source);

struct ApplyOptions {
    std::filesystem::path run;
    std::string model;
    std::vector<std::filesystem::path> inputs;
    std::filesystem::path out = ".";
    bool csv = false;
};

// One float WAV per input, OUT/<input stem>.<model>.wav, one channel per component (and
// with `csv`, OUT/<input stem>.<model>.csv: time and one column per component). An input
// whose sample rate or channel count is not the model's is refused before anything is
// written. Returns the files written.
std::vector<std::filesystem::path> apply_model(const ApplyOptions& o, Registry registry, const Note& note);

}  // namespace sigx::host
