// A pipeline file parsed with toml++, with command-line overrides applied and every key
// validated against the plugins' parameter schemas, before any work is done.
#pragma once

#include <sigx/host/errors.hpp>
#include <sigx/host/loader.hpp>

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sigx::host {

// Where a TOML node stands: its file (fallback_file when toml++ knows none), line, column.
Origin origin_of(const toml::source_region& r, const std::string& fallback_file);

// One section that names a plugin: [source], [models.X], [trainers.X] or [[evaluate]].
struct PluginUse {
    std::string section;  // key path, e.g. "models.fft", "evaluate[0]"
    std::string name;     // models and trainers: X; else the section
    std::string plugin;
    const PluginInfo* info = nullptr;
    Params params;                                // validated, defaults filled in
    Origin origin;                                // the section
    std::map<std::string, Origin> param_origins;  // parameters set explicitly
    std::string trainer;                          // models only: a key of Pipeline::trainers, or empty
    std::filesystem::path from;                   // models only: a saved model folder to start from, or empty
    bool fine_tune = false;                       // models only, with `from`: train on from the saved state

    // Where a parameter came from, for error messages (the section when defaulted).
    Origin origin_of(const std::string& param) const;
};

// [output]: what the run writes besides metrics and the report.
struct OutputOptions {
    // "csv": predictions.csv always; "none": never; "auto" (the default): only when it
    // would take at most predictions_csv_auto_bytes (a warning says when it is left out).
    std::string predictions = "auto";
    // "wav": every model's extracted components, one float WAV per record; "none".
    std::string components = "wav";
};
inline constexpr double predictions_csv_auto_bytes = 64e6;

struct Pipeline {
    std::filesystem::path file;
    std::string name;
    std::string description;
    std::int64_t seed = 0;
    std::vector<std::filesystem::path> plugin_paths;  // [plugins] paths, made absolute
    PluginUse source;
    std::vector<PluginUse> models;    // in file order
    std::vector<PluginUse> trainers;  // in file order
    std::vector<PluginUse> evaluators;
    OutputOptions output;

    const PluginUse* trainer(const std::string& name) const;
    // The pipeline with overrides applied and defaults filled in, as TOML.
    toml::table resolved() const;
};

// Reads a pipeline file and applies `key=value` overrides. Throws ConfigError.
struct PipelineSource {
    std::filesystem::path file;
    toml::table table;
    std::map<std::string, Origin> override_origins;  // by key path
};
PipelineSource read_pipeline(const std::filesystem::path& file, const std::vector<std::string>& overrides);
// The same for pipeline text already in memory; `file` names it in messages and anchors
// relative [plugins] paths.
PipelineSource parse_pipeline(const std::string& text, const std::filesystem::path& file,
                              const std::vector<std::string>& overrides);

// Sets `key.path=value` (value parsed as TOML, a bare word as a string) in the table; its
// errors and those of the value name `source` (e.g. "command line override").
void apply_override(PipelineSource& src, const std::string& arg, const std::string& source);

// The folders named in [plugins] paths, relative to the pipeline file.
std::vector<std::filesystem::path> plugin_paths(const PipelineSource& src);

// Validates one plugin section alone, e.g. a saved model's parameters written as
// [model]. Throws ConfigError or PluginError like validate_pipeline.
PluginUse validate_plugin(const PipelineSource& src, const std::string& section, Kind kind, const Registry& registry);

// Validates every key and value and resolves plugins in `registry`. Throws ConfigError,
// or PluginError when a named plugin does not exist or cannot be used.
Pipeline validate_pipeline(const PipelineSource& src, const Registry& registry);

// A parameter value as a user would write it in a pipeline file, e.g. [1, 2] or "a.wav".
std::string param_text(const ParamValue& v);

// "did you mean" helper: the candidate closest to `word`, or empty when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace sigx::host
