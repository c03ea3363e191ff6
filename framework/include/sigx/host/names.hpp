// Names that become paths or CSV columns: the pipeline name (run directory), model,
// trainer and evaluator names (their folders), plugin names and component labels (file
// names and column headers). One rule for all of them, checked by the validator, the
// loader and the runner, so that no name can point outside the run directory, collide
// with another or break a file format.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sigx::host {

// The documented safe set: 1 to max_name_length characters from A-Z a-z 0-9 . _ -, not
// starting with '.' (so never ".", ".." or a hidden file).
inline constexpr std::size_t max_name_length = 64;

// Why `name` is not a safe name ("" when it is). `what` names it in the message, e.g.
// "model name".
std::string name_problem(std::string_view what, std::string_view name);

// True when `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text);

}  // namespace sigx::host
