// Error types of the host, each carrying the context a user needs to act on it, and the
// process exit codes they map to (documented in docs/cli.md).
#pragma once

#include <stdexcept>
#include <string>

namespace sigx::host {

enum ExitCode : int {
    exit_ok = 0,
    exit_runtime = 1,       // a plugin or the host failed while running
    exit_config = 2,        // bad command line, pipeline file or override
    exit_plugin = 3,        // a plugin could not be found, loaded or constructed
    exit_interrupted = 130  // Ctrl-C / SIGTERM; the partial run directory is kept for --resume
};

// Where a value came from: a pipeline file position or a command-line override.
struct Origin {
    std::string file;  // path as given, or "<command line>"
    int line = 0;      // 1-based; 0 when unknown
    int column = 0;
    std::string str() const {
        if (line == 0) return file;
        return file + ":" + std::to_string(line) + ":" + std::to_string(column);
    }
};

// A problem in the pipeline description: "file:line:col: message".
struct ConfigError : std::runtime_error {
    ConfigError(const Origin& where, const std::string& message)
        : std::runtime_error(where.str() + ": " + message), origin(where) {}
    Origin origin;
};

// A problem with a file the user named, from an error whose message may already start
// with the file's name ("data/x.raw: cannot be read"): the name said once.
inline ConfigError file_error(const std::string& file, std::string message) {
    const std::string prefix = file + ": ";
    if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
    return ConfigError({file, 0, 0}, message);
}

// A plugin that cannot be found, loaded or constructed; the message names the file.
struct PluginError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The run was cancelled by the user. `run_dir` is the partial run directory, if any.
struct Interrupted : std::runtime_error {
    explicit Interrupted(std::string dir = {}) : std::runtime_error("interrupted"), run_dir(std::move(dir)) {}
    std::string run_dir;
};

}  // namespace sigx::host
