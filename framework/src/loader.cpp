#include <sigx/host/errors.hpp>
#include <sigx/host/loader.hpp>
#include <sigx/host/names.hpp>

#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace sigx::host {

namespace {

bool has_elf_header(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in.gcount() == 4 && std::memcmp(magic,
                                           "\x7f"
                                           "ELF",
                                           4) == 0;
}

// Boost.DLL wraps the dlerror text; keep only the part a user needs.
std::string dlerror_text(const std::string& what) {
    const std::string tag = "dlerror system message: ";
    auto pos = what.find(tag);
    if (pos == std::string::npos) return what;
    std::string text = what.substr(pos + tag.size());
    if (!text.empty() && text.back() == ')') text.pop_back();
    return text;
}

std::string sdk_version(const sigx_abi_record& r) {
    return fmt::format("{}.{}.{}", r.sdk_major, r.sdk_minor, r.sdk_patch);
}

// Why a library's ABI record does not fit this host, or empty when it does.
std::string abi_problem(const sigx_abi_record& found) {
    const sigx_abi_record want = current_abi_record();
    if (found.magic != want.magic) return "not a sigx plugin (bad magic in sigx_library record)";
    if (found.abi_version != want.abi_version)
        return fmt::format("ABI mismatch: expected ABI version {}, found {} (built with SDK {}, host has SDK {})",
                           want.abi_version, found.abi_version, sdk_version(found), sdk_version(want));
    if (found.sdk_major != want.sdk_major || found.sdk_minor > want.sdk_minor)
        return fmt::format(
            "SDK version mismatch: built with SDK {}, host has SDK {} (needs same major, minor <= host's)",
            sdk_version(found), sdk_version(want));
    // An older minor SDK describes a prefix of the host's list (a minor release appends).
    const bool older = found.sdk_minor < want.sdk_minor;
    if (!found.types || (older ? found.type_count > want.type_count : found.type_count != want.type_count))
        return fmt::format("ABI mismatch: the library describes {} boundary types, the host {}", found.type_count,
                           want.type_count);
    for (std::uint32_t i = 0; i < found.type_count; ++i) {
        const sigx_type_layout &mine = want.types[i], &theirs = found.types[i];
        const std::string name = theirs.name ? theirs.name : "?";
        if (name != mine.name)
            return fmt::format("ABI mismatch: boundary type #{} is {} in the library, {} in the host", i, name,
                               mine.name);
        if (theirs.size != mine.size || theirs.align != mine.align)
            return fmt::format(
                "ABI mismatch: {} has size {} and alignment {} in the library, size {} and alignment {} in the host "
                "(built with another compiler, standard library, its flags, or edited SDK headers?)",
                name, theirs.size, theirs.align, mine.size, mine.align);
    }
    return {};
}

// Libraries that link LibTorch stay loaded until the process exits.
void keep_loaded(std::shared_ptr<boost::dll::shared_library> lib) {
    static auto* pinned = new std::vector<std::shared_ptr<boost::dll::shared_library>>();
    pinned->push_back(std::move(lib));
}

}  // namespace

void Registry::add_path(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(path, ec))
            if (e.path().extension() == ".so") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) load_library(f);
    } else if (fs::exists(path, ec)) {
        load_library(path);
    } else {
        rejections_.push_back({path, "no such file or directory"});
    }
}

bool Registry::load_library(const fs::path& given) {
    const fs::path file = fs::weakly_canonical(given);
    if (std::find(loaded_files_.begin(), loaded_files_.end(), file) != loaded_files_.end()) return true;
    auto reject = [&](std::string reason) {
        rejections_.push_back({file, std::move(reason)});
        return false;
    };
    if (!has_elf_header(file)) return reject("not a shared library (no ELF header)");

    auto lib = std::make_shared<boost::dll::shared_library>();
    try {
        lib->load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return reject("cannot be loaded: " + dlerror_text(e.what()));
    }
    if (!lib->has(SIGX_LIBRARY_SYMBOL)) {
        if (lib->has("sigx_library"))  // how SDK 0.x exported its record
            return reject(
                fmt::format("built with SDK 0.x (ABI 1); this host has SDK {}.{} (ABI {}): rebuild the "
                            "plugin against it",
                            SIGX_SDK_VERSION_MAJOR, SIGX_SDK_VERSION_MINOR, SIGX_ABI_VERSION));
        return reject("not a sigx plugin (no " SIGX_LIBRARY_SYMBOL " symbol)");
    }
    const sigx_library* found = nullptr;
    try {
        found = lib->get<const sigx_library*()>(SIGX_LIBRARY_SYMBOL)();
    } catch (const std::exception& e) {
        return reject(std::string(SIGX_LIBRARY_SYMBOL "() threw: ") + e.what());
    } catch (...) {
        return reject(SIGX_LIBRARY_SYMBOL "() threw a non-standard exception");
    }
    if (!found) return reject(SIGX_LIBRARY_SYMBOL "() returned no record");
    const sigx_library& record = *found;
    if (auto problem = abi_problem(record.abi); !problem.empty()) return reject(problem);

    loaded_files_.push_back(file);
    bool pin = false;
    for (std::uint32_t i = 0, n = record.count(); i < n; ++i) {
        const sigx_plugin_entry* entry = record.entry(i);
        if (!entry || entry->kind > static_cast<std::uint32_t>(Kind::evaluator)) {
            reject(fmt::format("plugin #{} has an invalid entry", i));
            continue;
        }
        pin = pin || (entry->flags & SIGX_FLAG_KEEP_LOADED);
        const Descriptor* descriptor = nullptr;
        try {
            descriptor = static_cast<const Descriptor*>(entry->describe());
        } catch (const std::exception& e) {
            reject(fmt::format("plugin #{}: describe() threw: {}", i, e.what()));
            continue;
        } catch (...) {
            reject(fmt::format("plugin #{}: describe() threw a non-standard exception", i));
            continue;
        }
        if (!descriptor) {
            reject(fmt::format("plugin #{}: describe() returned nothing", i));
            continue;
        }
        PluginInfo info{descriptor, entry, file, lib};
        const std::string& name = info.descriptor->name;
        if (auto problem = name_problem("plugin name", name); !problem.empty()) {
            reject(fmt::format("plugin #{}: {}", i, problem));
            continue;
        }
        if (auto it = plugins_.find(name); it != plugins_.end()) {
            auto& files = duplicates_[name];
            if (files.empty()) files.push_back(it->second.file);
            files.push_back(file);
            reject(fmt::format("duplicate plugin name '{}': also provided by {}", name, it->second.file.string()));
            continue;
        }
        plugins_.emplace(name, std::move(info));
    }
    if (pin) keep_loaded(lib);
    return true;
}

const PluginInfo* Registry::find(const std::string& name) const {
    auto it = plugins_.find(name);
    return it == plugins_.end() ? nullptr : &it->second;
}

std::vector<const PluginInfo*> Registry::all() const {
    std::vector<const PluginInfo*> out;
    for (const auto& [name, info] : plugins_) out.push_back(&info);
    return out;
}

const PluginInfo& Registry::require(const std::string& name, Kind kind) const {
    if (auto it = duplicates_.find(name); it != duplicates_.end()) {
        std::string files;
        for (const auto& f : it->second) files += (files.empty() ? "" : " and ") + f.string();
        throw PluginError(fmt::format(
            "plugin '{}' is provided by more than one library: {}; remove one from the plugin path", name, files));
    }
    const PluginInfo* info = find(name);
    if (info && info->descriptor->kind == kind) return *info;
    std::string known;
    for (const auto& [n, i] : plugins_)
        if (i.descriptor->kind == kind) known += (known.empty() ? "" : ", ") + n;
    if (info)
        throw PluginError(fmt::format("plugin '{}' ({}) is a {}, not a {}; {} plugins: {}", name, info->file.string(),
                                      to_string(info->descriptor->kind), to_string(kind), to_string(kind), known));
    throw PluginError(
        fmt::format("no {} plugin named '{}'; known {} plugins: {} (plugins are found in the built-in "
                    "folder, SIGX_PLUGIN_PATH, --plugin-path and a pipeline's [plugins] paths)",
                    to_string(kind), name, to_string(kind), known.empty() ? "none" : known));
}

void Registry::add_builtin(const fs::path& dir) {
    add_path(dir);
    const fs::path file = dir / "defaults.toml";
    if (!fs::exists(file)) return;
    try {
        const toml::table t = toml::parse_file(file.string());
        Defaults d;
        if (const auto* list = t["evaluate"].as_array())
            for (const auto& e : *list) d.evaluate.push_back(e.value<std::string>().value());
        d.data = t["check"]["data"].value_or(std::string());
        d.trainer = t["check"]["trainer"].value_or(std::string());
        d.trained_model = t["check"]["trained_model"].value_or(std::string());
        d.model = t["check"]["model"].value_or(std::string());
        defaults_ = std::move(d);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: cannot be read: {}", file.string(), e.what()));
    }
}

std::string unsafe_to_load(const fs::path& library) {
    for (const fs::path& p : {library, library.parent_path()}) {
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0)
            return fmt::format("{} cannot be examined: {}", p.string(), std::strerror(errno));
        if (st.st_mode & (S_IWGRP | S_IWOTH))
            return fmt::format("{} is writable by {}", p.string(), st.st_mode & S_IWOTH ? "anyone" : "its group");
        if (st.st_uid != 0 && st.st_uid != ::geteuid())
            return fmt::format("{} is owned by another user (uid {})", p.string(), st.st_uid);
    }
    return {};
}

void Registry::check_kind(const PluginInfo& info, Kind wanted) {
    if (info.descriptor->kind != wanted)
        throw std::logic_error(fmt::format("plugin '{}' ({}) is of kind {}, not {}", info.descriptor->name,
                                           info.file.string(), to_string(info.descriptor->kind), to_string(wanted)));
}

void* Registry::create_raw(const PluginInfo& info, const Params& params) const {
    void* p = info.entry->create(&params);
    if (!p)
        throw PluginError(
            fmt::format("{}: plugin '{}' returned no instance", info.file.string(), info.descriptor->name));
    return p;
}

fs::path builtin_plugin_dir(const fs::path& executable) {
    const fs::path dir = executable.parent_path();
    if (fs::is_directory(dir / "plugins")) return dir / "plugins";
    return dir.parent_path() / "lib" / "sigx" / "plugins";
}

Registry plugin_registry(const fs::path& builtin_dir, const std::vector<fs::path>& paths) {
    Registry r;
    if (!builtin_dir.empty()) r.add_builtin(builtin_dir);
    for (const auto& p : env_plugin_paths()) r.add_path(p);
    for (const auto& p : paths) r.add_path(p);
    return r;
}

std::vector<fs::path> env_plugin_paths() {
    std::vector<fs::path> out;
    const char* env = std::getenv("SIGX_PLUGIN_PATH");
    if (!env) return out;
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto end = s.find(':', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.emplace_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace sigx::host
