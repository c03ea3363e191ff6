// Finds, opens and checks plugin libraries (Boost.DLL), and creates plugin instances whose
// lifetime is bound to their library.
#pragma once

#include <sigx/abi.hpp>
#include <sigx/plugin.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace boost::dll {
class shared_library;
}

namespace sigx::host {

namespace fs = std::filesystem;

// One plugin class found in a library.
struct PluginInfo {
    const Descriptor* descriptor = nullptr;  // owned by the library
    const sigx_plugin_entry* entry = nullptr;
    fs::path file;
    std::shared_ptr<boost::dll::shared_library> library;
};

// What the host uses where a pipeline or a command names nothing, read from the built-in
// plugin folder's defaults.toml: the host itself names no plugin.
struct Defaults {
    std::vector<std::string> evaluate;                // evaluators of a pipeline without [[evaluate]]
    std::string data, trainer, trained_model, model;  // `sigx check`'s helpers ([check])
};

// A library that was not accepted, and why (one line).
struct Rejection {
    fs::path file;
    std::string reason;
    std::string str() const { return file.string() + ": " + reason; }
};

class Registry {
public:
    // Scans a directory (non-recursively) for *.so files, or loads one file.
    void add_path(const fs::path& path);
    // Loads one library; on failure records a Rejection and returns false.
    bool load_library(const fs::path& file);

    const PluginInfo* find(const std::string& name) const;
    // The built-in plugin folder: its plugins, and its defaults.toml (none: no defaults).
    // Throws std::runtime_error naming the file when that file cannot be read.
    void add_builtin(const fs::path& dir);
    const Defaults& defaults() const { return defaults_; }
    // Every accepted plugin, sorted by name.
    std::vector<const PluginInfo*> all() const;
    const std::vector<Rejection>& rejections() const { return rejections_; }
    // Names provided by more than one library, with every file that provides them.
    const std::map<std::string, std::vector<fs::path>>& duplicates() const { return duplicates_; }

    // Plugin that must exist and be of `kind`; throws PluginError naming what exists.
    const PluginInfo& require(const std::string& name, Kind kind) const;

    // Constructs an instance; the returned pointer keeps the library loaded.
    // An instance of the plugin as its kind's base class; throws std::logic_error when the
    // plugin is of another kind (the host asked for the wrong one).
    template <class Base> std::shared_ptr<Base> create(const PluginInfo& info, const Params& params) const {
        check_kind(info, kind_of_base<Base>());
        return std::shared_ptr<Base>(static_cast<Base*>(create_raw(info, params)),
                                     [lib = info.library](Base* p) { delete p; });
    }

private:
    template <class Base> static constexpr Kind kind_of_base() {
        if constexpr (std::is_same_v<Base, Generator>)
            return Kind::generator;
        else if constexpr (std::is_same_v<Base, Model>)
            return Kind::model;
        else if constexpr (std::is_same_v<Base, Trainer>)
            return Kind::trainer;
        else {
            static_assert(std::is_same_v<Base, Evaluator>, "create<Base>: Base is a plugin kind's base class");
            return Kind::evaluator;
        }
    }
    static void check_kind(const PluginInfo& info, Kind wanted);
    void* create_raw(const PluginInfo& info, const Params& params) const;

    std::map<std::string, PluginInfo> plugins_;
    std::map<std::string, std::vector<fs::path>> duplicates_;
    std::vector<Rejection> rejections_;
    std::vector<fs::path> loaded_files_;
    Defaults defaults_;
};

// The built-in plugin folder for an executable: <exe dir>/plugins in a build tree,
// <prefix>/lib/sigx/plugins when installed.
fs::path builtin_plugin_dir(const fs::path& executable);

// Why a library is not safe to load, or empty when it is: it, or the folder it lies in,
// is writable by its group or by anyone, or owned by a user other than this one and root
// (anyone able to write there could have replaced the code sigx would run).
std::string unsafe_to_load(const fs::path& library);

// Splits SIGX_PLUGIN_PATH (colon-separated) into its folders.
std::vector<fs::path> env_plugin_paths();

// The plugins every command sees, in this order: the built-in folder, SIGX_PLUGIN_PATH,
// then `paths` (--plugin-path, a pipeline's [plugins] paths).
Registry plugin_registry(const fs::path& builtin_dir, const std::vector<fs::path>& paths);

}  // namespace sigx::host
