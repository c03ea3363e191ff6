// Runs a validated pipeline: generator -> fit every model (by its trainer, or itself) ->
// every model predicts every test set -> evaluators -> run directory and report.
// Plugins never call each other; the runner owns this sequence.
#pragma once

#include <sigx/host/console.hpp>
#include <sigx/host/pipeline.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace sigx::host {

// Every plugin of a pipeline, constructed.
struct Instances {
    std::shared_ptr<Generator> source;
    std::vector<std::shared_ptr<Model>> models;       // Pipeline::models order
    std::vector<std::shared_ptr<Trainer>> trainers;   // Pipeline::trainers order
    std::vector<std::shared_ptr<Evaluator>> evaluators;
};

// Constructs every plugin. A ParamError becomes a ConfigError at the parameter's line;
// any other construction failure a PluginError naming the plugin and its file.
Instances instantiate(const Pipeline& p, const Registry& registry);

// A prediction must have one channel per component, each as long as the record.
void check_prediction(const std::string& model, const Signal& record, const Prediction& p);

struct RunResult {
    std::filesystem::path dir;        // the finished run directory
    std::vector<Metric> metrics;
    std::string report;               // report.md
};

// Where a run writes: a new run directory under `parent`, or an interrupted run's
// directory to resume (its plugins pick up their checkpoints there).
struct RunTarget {
    std::filesystem::path parent = "runs";
    std::filesystem::path resume;  // empty: a new run
};

// Runs everything. On failure the temporary directory stays (with its log) and the
// exception propagates; on Ctrl-C, Interrupted names that directory for --resume.
RunResult run_pipeline(const Pipeline& p, const Registry& registry, const RunTarget& target, Console& console);

}  // namespace sigx::host
