// The binary records a plugin library exports, in plain C so that the host can read and
// check them before it trusts anything else in the library (see register.hpp for the
// plugin side and docs/plugins.md for the versioning rules).
#pragma once

#include <sigx/plugin.hpp>

#include <cstdint>

extern "C" {
struct sigx_abi_record {
    std::uint32_t magic;        // SIGX_ABI_MAGIC
    std::uint32_t abi_version;  // SIGX_ABI_VERSION the library was built with
    std::uint32_t sdk_major, sdk_minor, sdk_patch;
    // Sizes of types that cross the boundary, as the library's compiler saw them.
    std::uint32_t size_string, size_signal, size_params, size_descriptor;
};

// One plugin class in the library.
struct sigx_plugin_entry {
    std::uint32_t kind;                   // sigx::Kind
    std::uint32_t flags;                  // SIGX_FLAG_*
    const void* (*describe)(void);        // -> const sigx::Descriptor*
    void* (*create)(const void* params);  // const sigx::Params* -> the kind's base class*
};

// Exported by every plugin library under the name "sigx_library".
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

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

constexpr sigx_abi_record current_abi_record() {
    return {SIGX_ABI_MAGIC,         SIGX_ABI_VERSION,       SIGX_SDK_VERSION_MAJOR,
            SIGX_SDK_VERSION_MINOR, SIGX_SDK_VERSION_PATCH, sizeof(std::string),
            sizeof(Signal),         sizeof(Params),         sizeof(Descriptor)};
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
