// A fitted model kept in a run directory, to serve again without fitting: the folder
// <run>/<model>/ holds state/ (what the model's ModelState extension wrote) and
// manifest.json (the host's manifest: the plugin and its parameters, the versions it was
// built with, and the task and sample rate it was fitted for).
#pragma once

#include <sigx/host/pipeline.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sigx::host {

struct SavedModel {
    std::filesystem::path dir;  // <run>/<model>
    std::string name, plugin, plugin_version;
    std::map<std::string, std::string> params;        // every parameter, as written in a pipeline file
    std::vector<std::string> state_params;            // those the state depends on
    std::string sdk, torch;                           // versions; torch empty for a model without LibTorch
    std::filesystem::path library;                    // the plugin library it was fitted with (absolute)
    std::vector<std::filesystem::path> plugin_paths;  // the run's [plugins] paths
    std::vector<Component> components;                // the task it was fitted for
    double sample_rate = 0;
    std::uint32_t channels = 1;

    std::filesystem::path state() const { return dir / "state"; }
};

// A model fitted but not saved leaves why in <run>/<model>/ under this name.
inline constexpr const char* not_saved_file = "not_saved.txt";

// Why a fitted model is not causal, or empty when it is: it streams records like `like`
// (it offers sigx.model.stream/1 and its configure() accepts them; a refusal says why).
std::string why_not_causal(Model& model, const Record& like);

// Saves a fitted model: its state through the ModelState extension, then the manifest
// (with the library it came from and the run's [plugins] paths). `fitted_on` is a
// training record (its task and sample rate go into the manifest). Returns why nothing
// was saved (the model offers no saved state), or empty.
std::string save_model(const std::filesystem::path& dir, const PluginUse& use, Model& model, const Record& fitted_on,
                       const std::vector<std::filesystem::path>& plugin_paths);

// Reads a manifest. Throws std::runtime_error naming the file.
SavedModel read_saved_model(const std::filesystem::path& dir);

// The names of the saved models in a run directory, sorted.
std::vector<std::string> saved_models(const std::filesystem::path& run);

// A model folder from what a user wrote: a model folder itself, or a run directory and
// the model's name (when the run has only one model, that one). Throws
// std::runtime_error listing what the run holds.
std::filesystem::path find_saved_model(const std::filesystem::path& given, const std::string& name);

// Why a saved model cannot serve a record (another task or sample rate), or empty.
std::string task_mismatch(const SavedModel& saved, const Record& record);

}  // namespace sigx::host
