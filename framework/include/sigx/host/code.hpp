// What will run: every plugin library a pipeline or a saved model loads, and every file
// of code its plugins run beyond them (sigx.plugin.code_files/1), with full paths, so
// that a user sees before any work which code a shared pipeline or run directory brings.
#pragma once

#include <sigx/host/apply.hpp>
#include <sigx/host/pipeline.hpp>
#include <sigx/host/runner.hpp>

#include <string>
#include <vector>

namespace sigx::host {

// One line per library ("loads LIBRARY: plugin 'x' for [models.a], ...") and per file of
// code ("runs SCRIPT: [models.b] (plugin 'python')").
std::vector<std::string> code_lines(const Pipeline& p, Instances& in);
std::vector<std::string> code_lines(const LoadedModel& m);

// `sigx validate`'s report: everything a run checks, every plugin constructed, nothing run;
// "FILE: ok: ..." and, for a pipeline, its code_lines() indented. Throws as a run would.
std::vector<std::string> validate_file(const std::filesystem::path& file, const PipelineSource& src,
                                       Registry& registry);

}  // namespace sigx::host
