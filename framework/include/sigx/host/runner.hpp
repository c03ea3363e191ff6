// Runs a validated pipeline: generator -> fit every model (by its trainer, or itself) ->
// every model predicts every test set -> evaluators -> run directory and report.
// Plugins never call each other; the runner owns this sequence.
#pragma once

#include <sigx/host/console.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/world.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace sigx::host {

// Every plugin of a pipeline, constructed.
struct Instances {
    std::shared_ptr<Generator> source;
    std::vector<std::shared_ptr<Model>> models;      // Pipeline::models order
    std::vector<std::shared_ptr<Trainer>> trainers;  // Pipeline::trainers order
    std::vector<std::shared_ptr<Evaluator>> evaluators;
};

// Constructs every plugin. A ParamError becomes a ConfigError at the parameter's line;
// any other construction failure a PluginError naming the plugin and its file. Then
// refuses (ConfigError) a pipeline with a model that cannot read the generator's number
// of input channels, or whose data, as its generator sizes it, cannot fit in the memory
// available.
Instances instantiate(const Pipeline& p, const Registry& registry);

// A prediction must have one channel per component, each as long as the record, and only
// finite values. Throws std::runtime_error naming the model and the first bad sample.
void check_prediction(const std::string& model, const Task& task, std::size_t samples, const Prediction& p);

// Names the records a generator left unnamed: "train-K", "record-K".
void name_records(Dataset& d);

// What a generator returns must be usable: records with safe names, unique in their set
// (they become file names), one sample rate for the whole dataset, the declared number of
// input channels, all of one length, finite samples; tasks with safe, unique labels (file
// names and CSV columns), the same in every record; a truth, where there is one, with one
// finite reference per component, as long as the input; uniquely named test sets.
// Throws std::runtime_error naming the generator, the record and the problem.
void check_dataset(const std::string& generator, const Dataset& d, std::uint32_t channels);

struct RunResult {
    std::filesystem::path dir;  // the finished run directory
    std::vector<Metric> metrics;
    std::string report;  // report.md
};

// Where a run writes: a new run directory under `parent`, or an interrupted run's
// directory to resume (its plugins pick up their checkpoints there).
struct RunTarget {
    std::filesystem::path parent = "runs";
    std::filesystem::path resume;  // empty: a new run
    World world;                   // the processes of the run (a data-parallel run: several)
};

// A run across several processes fits every model that has a trainer with all of them
// (data-parallel), and nothing else anywhere but rank 0. Refuses (ConfigError, before any
// work) a pipeline with no model that has a trainer, a trainer that does not offer
// sigx::DataParallel, or a model that its trainer cannot fit across processes.
void check_data_parallel(const Pipeline& p, Instances& in, const World& world);

// Runs everything. A model that fails does not stop the others: their metrics and report
// are written to the temporary directory, the failure stated in it, and the error then
// propagates. On any failure the temporary directory stays (with its log); on Ctrl-C,
// Interrupted names that directory for --resume.
// Across processes (target.world.size > 1) the models with a trainer are fitted first, by
// every rank together, and a failure there ends the run. Rank 0 does the rest and writes
// the run directory; the other ranks make the same data, train, and write only their log
// lines (prefixed with their rank) to standard error; their result has no directory.
RunResult run_pipeline(const Pipeline& p, const Registry& registry, const RunTarget& target, Console& console);

}  // namespace sigx::host
