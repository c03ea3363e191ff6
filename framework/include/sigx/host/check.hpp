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
    bool note = false;  // not a check that ran: skipped, or a capability the plugin lacks (detail says)
};

// Loads `library` on its own and checks, for every plugin in it: ABI record, descriptor
// complete, schema valid, constructs with defaults, runs a tiny pipeline of its kind
// (data, models and trainers it needs come from `helpers`, as its defaults() name them; a
// check whose helper is missing is a note, skipped), handles the boundary values of its
// schema, and lets no exception escape its calls. A model's optional extensions are held
// to what the host relies on: the stream gives predict's samples in blocks of any size
// and its declared latency is true; saved state restores a fresh instance bit for bit.
std::vector<CheckResult> check_library(const std::filesystem::path& library, const Registry& helpers, Console& console);

}  // namespace sigx::host
