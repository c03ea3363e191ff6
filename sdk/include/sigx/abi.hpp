// The binary records a plugin library exports, in plain C so that the host can read and
// check them before it trusts anything else in the library (see register.hpp for the
// plugin side and docs/plugins.md for the versioning rules).
//
// A library exports exactly one function, `sigx_plugin_library` (extern "C", no
// arguments), returning its sigx_library record. The first five fields of sigx_abi_record
// never move, in any ABI version, so that the host can always say which SDK a library was
// built with.
#pragma once

#include <sigx/host.hpp>
#include <sigx/plugin.hpp>
#include <sigx/stream.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

extern "C" {
// The size and alignment of one type as the library's compiler laid it out.
struct sigx_type_layout {
    const char* name;
    std::uint32_t size, align;
};

struct sigx_abi_record {
    std::uint32_t magic;        // SIGX_ABI_MAGIC
    std::uint32_t abi_version;  // SIGX_ABI_VERSION the library was built with
    std::uint32_t sdk_major, sdk_minor, sdk_patch;
    // Every type that crosses the boundary, containers' element types included.
    std::uint32_t type_count;
    const sigx_type_layout* types;
};

// One plugin class in the library.
struct sigx_plugin_entry {
    std::uint32_t kind;                   // sigx::Kind
    std::uint32_t flags;                  // SIGX_FLAG_*
    const void* (*describe)(void);        // -> const sigx::Descriptor*
    void* (*create)(const void* params);  // const sigx::Params* -> the kind's base class*
};

struct sigx_library {
    sigx_abi_record abi;
    std::uint32_t (*count)(void);
    const sigx_plugin_entry* (*entry)(std::uint32_t index);
};
}

#define SIGX_ABI_MAGIC 0x78676973u  // "sigx"
// The library must never be unloaded: it links LibTorch, whose global state does not
// survive dlclose. Set for plugins deriving from sigx::TorchModel (sigx/torch.hpp).
#define SIGX_FLAG_KEEP_LOADED 1u
// The one symbol a plugin library exports.
#define SIGX_LIBRARY_SYMBOL "sigx_plugin_library"

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

#define SIGX_TYPE_LAYOUT(T) \
    sigx_type_layout { #T, sizeof(T), alignof(T) }
// The fingerprint: what the loader compares, entry by entry, with its own. Standard
// library types first (another standard library or its old string ABI changes them),
// then every SDK type, then the element types of its containers. A minor SDK release
// appends the types of the extensions it adds, never reorders: a library built with an
// older minor describes a prefix of this list.
inline constexpr sigx_type_layout boundary_types[] = {
    SIGX_TYPE_LAYOUT(std::string),
    SIGX_TYPE_LAYOUT(std::string_view),
    SIGX_TYPE_LAYOUT(std::filesystem::path),
    SIGX_TYPE_LAYOUT(sigx::Samples),
    SIGX_TYPE_LAYOUT(sigx::Metadata),
    SIGX_TYPE_LAYOUT(sigx::Component),
    SIGX_TYPE_LAYOUT(sigx::Task),
    SIGX_TYPE_LAYOUT(sigx::Input),
    SIGX_TYPE_LAYOUT(sigx::Truth),
    SIGX_TYPE_LAYOUT(std::optional<sigx::Truth>),
    SIGX_TYPE_LAYOUT(sigx::Record),
    SIGX_TYPE_LAYOUT(sigx::Records),
    SIGX_TYPE_LAYOUT(sigx::RecordSet),
    SIGX_TYPE_LAYOUT(sigx::Dataset),
    SIGX_TYPE_LAYOUT(sigx::Prediction),
    SIGX_TYPE_LAYOUT(sigx::ParamType),
    SIGX_TYPE_LAYOUT(sigx::RealList),
    SIGX_TYPE_LAYOUT(sigx::StringList),
    SIGX_TYPE_LAYOUT(sigx::PathList),
    SIGX_TYPE_LAYOUT(sigx::ParamValue),
    SIGX_TYPE_LAYOUT(sigx::ParamSpec),
    SIGX_TYPE_LAYOUT(sigx::Params),
    SIGX_TYPE_LAYOUT(sigx::ParamError),
    SIGX_TYPE_LAYOUT(sigx::Kind),
    SIGX_TYPE_LAYOUT(sigx::Descriptor),
    SIGX_TYPE_LAYOUT(sigx::DatasetSize),
    SIGX_TYPE_LAYOUT(sigx::ModelState),
    SIGX_TYPE_LAYOUT(sigx::ModelNature),
    SIGX_TYPE_LAYOUT(sigx::Metric),
    SIGX_TYPE_LAYOUT(sigx::ReportRow),
    SIGX_TYPE_LAYOUT(sigx::Headline),
    SIGX_TYPE_LAYOUT(sigx::Artifacts),
    SIGX_TYPE_LAYOUT(sigx::ModelOutput),
    SIGX_TYPE_LAYOUT(sigx::LogLevel),
    SIGX_TYPE_LAYOUT(sigx::Progress),
    SIGX_TYPE_LAYOUT(sigx::Host),
    SIGX_TYPE_LAYOUT(sigx::Plugin),
    SIGX_TYPE_LAYOUT(sigx::Generator),
    SIGX_TYPE_LAYOUT(sigx::Model),
    SIGX_TYPE_LAYOUT(sigx::Trainer),
    SIGX_TYPE_LAYOUT(sigx::Evaluator),
    SIGX_TYPE_LAYOUT(sigx_plugin_entry),
    // element types inside the containers above
    SIGX_TYPE_LAYOUT(double),
    SIGX_TYPE_LAYOUT(std::int64_t),
    SIGX_TYPE_LAYOUT(bool),
    SIGX_TYPE_LAYOUT(std::vector<sigx::Component>),
    SIGX_TYPE_LAYOUT(std::vector<sigx::Samples>),
    SIGX_TYPE_LAYOUT(std::vector<sigx::RecordSet>),
    SIGX_TYPE_LAYOUT(std::vector<sigx::ParamSpec>),
    SIGX_TYPE_LAYOUT(std::vector<std::string>),
    SIGX_TYPE_LAYOUT(std::optional<double>),
    SIGX_TYPE_LAYOUT(std::optional<std::size_t>),
    SIGX_TYPE_LAYOUT(std::vector<std::vector<sigx::Prediction>>),
    // streaming (sigx/stream.hpp; SDK 1.1)
    SIGX_TYPE_LAYOUT(sigx::ConstBlock),
    SIGX_TYPE_LAYOUT(sigx::Block),
    SIGX_TYPE_LAYOUT(sigx::StreamConfig),
    SIGX_TYPE_LAYOUT(sigx::Streaming),
    // data-parallel trainers (SDK 1.2)
    SIGX_TYPE_LAYOUT(sigx::DataParallel),
};
#undef SIGX_TYPE_LAYOUT

constexpr sigx_abi_record current_abi_record() {
    return {SIGX_ABI_MAGIC,         SIGX_ABI_VERSION,       SIGX_SDK_VERSION_MAJOR,
            SIGX_SDK_VERSION_MINOR, SIGX_SDK_VERSION_PATCH, static_cast<std::uint32_t>(std::size(boundary_types)),
            boundary_types};
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
