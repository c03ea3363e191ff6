// `sigx check LIBRARY.so`: the conformance checks a plugin library must pass, each
// reported as pass or fail with a reason.
#pragma once

#include <sigx/host/console.hpp>
#include <sigx/host/loader.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace sigx::host {

struct CheckResult {
    std::string plugin;  // empty for library-level checks
    std::string check;
    bool pass = false;
    std::string detail;
};

// Loads `library` on its own and checks, for every plugin in it: ABI record, descriptor
// complete, schema valid, constructs with defaults, runs a tiny pipeline of its kind
// (data, models and trainers it needs come from `helpers`, e.g. the built-in plugins),
// handles the boundary values of its schema, and lets no exception escape its calls.
std::vector<CheckResult> check_library(const std::filesystem::path& library, const Registry& helpers, Console& console);

}  // namespace sigx::host
