// Sweeps: a [sweep] table maps key paths to lists of values; the cross product of those
// values gives one sub-run each, run as separate `sigx run` processes (up to --jobs at a
// time) inside one sweep directory, followed by a summary table and a plot. A sub-run
// that fails is reported and the others go on.
//
// Repeats: `repeats = K` in [sweep] (or `sigx run --repeats K`) runs every point K times
// with other training seeds: repeat r sets [pipeline] seed to seed + r (the models' and
// trainers' seeds derive from it) and, where the generator has an integer parameter
// `train_seed`, that to train_seed + 7919 r (its training data; the test sets keep their
// seeds). The summary then gives each model's mean and standard deviation over the
// repeats, and its per-seed differences from the best model.
#pragma once

#include <sigx/host/console.hpp>
#include <sigx/host/pipeline.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sigx::host {

struct SweepAxis {
    std::string key;                  // e.g. "source.phase_scale"; "repeat" for the repeats
    std::vector<std::string> values;  // TOML text of each value, e.g. "0.01"; the repeat index
};

// The most repeats of a point.
inline constexpr std::int64_t max_repeats = 1000;

// The most points a sweep may have: a bigger cross product is refused before it is built.
inline constexpr std::size_t max_sweep_points = 10000;

// The [sweep] axes of a pipeline (empty when it has none), the repeats last. Throws
// ConfigError, also when the cross product has more than max_sweep_points points.
std::vector<SweepAxis> read_sweep(const PipelineSource& src);

// One override list per point of the cross product, first axis slowest. A repeat is
// written "repeat=R"; expand_repeat turns it into the seed overrides it stands for.
std::vector<std::vector<std::string>> sweep_points(const std::vector<SweepAxis>& axes);
std::vector<std::string> expand_repeat(const std::vector<std::string>& overrides, const PipelineSource& src,
                                       const Registry& registry);

// Every point as a validated plain pipeline (the sweep table removed, the point's values
// applied as overrides), each plugin constructed once. Throws ConfigError / PluginError.
std::vector<Pipeline> validate_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes,
                                     const Registry& registry);

struct SweepOptions {
    std::filesystem::path executable;       // this sigx, to run each point
    std::vector<std::string> plugin_paths;  // passed on to every point
    std::filesystem::path out = "runs";
    int jobs = 1;
    // Sharding: this process runs the points p with p mod shards = shard, into the sweep
    // directory all shards share, <out>/<name>-sweep; 0 shards: every point, into a
    // directory of its own.
    int shard = 0, shards = 0;
};

struct SweepResult {
    std::filesystem::path dir;
    std::string summary;  // summary.md, or a shard's account of its points
    int failed = 0;
    std::vector<std::string> missing;  // points not finished (a partial collect)
};

// A sweep directory's plan (sweep.json) and which points have finished (their run
// directory holds metrics.json). Throws ConfigError when `dir` holds no plan.
struct SweepProgress {
    nlohmann::ordered_json plan;
    std::map<std::string, std::filesystem::path> finished;  // point name -> its run directory
    std::vector<std::string> missing;
};
SweepProgress sweep_progress(const std::filesystem::path& dir);

// The summary (summary.md, summary.json, the plot) of whatever points have finished,
// listing the others; `exit_status` gives the exit codes of points this process ran.
SweepResult collect_sweep(const std::filesystem::path& dir, const std::map<std::string, int>& exit_status,
                          Console& console);

// Validates every point, then runs them; command-line overrides already in `src` apply
// to every point.
SweepResult run_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes, const Registry& registry,
                      const SweepOptions& options, Console& console);

}  // namespace sigx::host
