// The pipeline file's checker, internal to pipeline.cpp.
#pragma once

#include <sigx/host/pipeline.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace sigx::host::detail {

std::string toml_type_name(const toml::node& n);
std::string join(const std::vector<std::string>& items);

// Validates one table against a fixed key set or a plugin schema. Knows the file and the
// override origins, so that every message points at the file's line:column or at the
// command-line override that set the value.
class Checker {
public:
    explicit Checker(const PipelineSource& src) : src_(src) {}

    Origin where(const std::string& path, const toml::source_region& region) const;
    Origin where(const std::string& path, const toml::node& n) const { return where(path, n.source()); }

    [[noreturn]] void fail(const Origin& o, const std::string& message) const { throw ConfigError(o, message); }

    void unknown_key(const std::string& path, const toml::key& key, const std::vector<std::string>& allowed,
                     const std::string& what) const;

    // A [models.X] or [trainers.X] key: X names a folder of the run directory.
    void section_name(const char* what, const std::string& parent, const toml::key& key) const;

    const toml::table& table(const std::string& path, const toml::node& n) const;

    std::string string(const std::string& path, const toml::node& n) const;

    // Checks a plugin section: `plugin` key, optional extra host keys, every parameter.
    PluginUse plugin_section(const std::string& path, const toml::node& node, const Registry& registry, Kind kind,
                             const std::vector<std::string>& host_keys) const;

    // A TOML number as a double, exactly: an integer that a double cannot hold is refused
    // rather than rounded.
    double real(const std::string& path, const toml::node& n) const;

private:
    ParamValue to_param(const ParamSpec& spec, const std::string& path, const toml::node& n) const;

    // A list parameter's elements; a single value stands for a list of one.
    std::vector<const toml::node*> elements(const std::string& path, const toml::node& n) const;

    // A path as written: relative to the pipeline file's folder (a command-line override:
    // to the working directory), a glob pattern expanded in sorted order. Every file must
    // exist; a pattern must match at least one.
    std::vector<std::filesystem::path> existing(const std::string& path, const toml::node& n,
                                                const std::string& text) const;

    const PipelineSource& src_;
};

}  // namespace sigx::host::detail
