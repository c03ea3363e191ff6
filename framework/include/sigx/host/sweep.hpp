// Sweeps: a [sweep] table maps key paths to lists of values; the cross product of those
// values gives one sub-run each, run as separate `sigx run` processes (up to --jobs at a
// time) inside one sweep directory, followed by a summary table and a plot. A sub-run
// that fails is reported and the others go on.
#pragma once

#include <sigx/host/console.hpp>
#include <sigx/host/pipeline.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace sigx::host {

struct SweepAxis {
    std::string key;                  // e.g. "source.phase_scale"
    std::vector<std::string> values;  // TOML text of each value, e.g. "0.01"
};

// The most points a sweep may have: a bigger cross product is refused before it is built.
inline constexpr std::size_t max_sweep_points = 10000;

// The [sweep] axes of a pipeline (empty when it has none). Throws ConfigError, also when
// the cross product has more than max_sweep_points points.
std::vector<SweepAxis> read_sweep(const PipelineSource& src);

// One override list per point of the cross product, first axis slowest.
std::vector<std::vector<std::string>> sweep_points(const std::vector<SweepAxis>& axes);

// Every point as a validated plain pipeline (the sweep table removed, the point's values
// applied as overrides), each plugin constructed once. Throws ConfigError / PluginError.
std::vector<Pipeline> validate_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes,
                                     const Registry& registry);

struct SweepOptions {
    std::filesystem::path executable;       // this sigx, to run each point
    std::vector<std::string> plugin_paths;  // passed on to every point
    std::filesystem::path out = "runs";
    int jobs = 1;
};

struct SweepResult {
    std::filesystem::path dir;
    std::string summary;  // summary.md
    int failed = 0;
};

// Validates every point, then runs them; command-line overrides already in `src` apply
// to every point.
SweepResult run_sweep(const PipelineSource& src, const std::vector<SweepAxis>& axes, const Registry& registry,
                      const SweepOptions& options, Console& console);

}  // namespace sigx::host
