// sigx SDK version and ABI version.
//
// Compatibility rules (enforced by the host's loader, see docs/plugins.md):
//  - SIGX_ABI_VERSION changes whenever a type that crosses the plugin boundary changes
//    layout or meaning. A plugin built against another ABI version is refused.
//  - A plugin built with SDK MAJOR.MINOR loads in a host with the same MAJOR and a MINOR
//    that is equal or newer (minor releases only add, by new extension ids).
#pragma once

#define SIGX_SDK_VERSION_MAJOR 2
#define SIGX_SDK_VERSION_MINOR 0
#define SIGX_SDK_VERSION_PATCH 0
#define SIGX_ABI_VERSION 3

// Every SDK type lives in an ABI-versioned inline namespace, so that mixing two ABIs in
// one process fails at link or load time instead of corrupting memory.
#define SIGX_ABI_NAMESPACE_BEGIN inline namespace abi_v3 {
#define SIGX_ABI_NAMESPACE_END }
