// Libraries whose record differs from the host's in one field each, built from this one
// file with SIGX_TEST_VARIANT: 1 a newer SDK minor version; 2 another alignment of
// sigx::Record in the layout fingerprint (what a packing flag would give); 3 the record an
// SDK 0.x library exported (a "sigx_library" variable, no sigx_plugin_library). The host
// must refuse each with the reason named, without calling anything in them. 4: a library
// of the previous major, SDK 1.2 (ABI 2), which must be rebuilt (SDK 2.0 added the
// frequency tolerance to Component). 5: the same minor SDK with only a prefix of the
// fingerprint (what an older minor would describe): refused, since only an older minor
// may describe a prefix.
#include <sigx/abi.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace variant {

std::uint32_t count() { return 0; }
const sigx_plugin_entry* entry(std::uint32_t) { return nullptr; }

// The SDK's fingerprint with sigx::Record aligned to 4 instead of 8.
const auto types = [] {
    std::array<sigx_type_layout, std::size(sigx::boundary_types)> t{};
    std::copy(std::begin(sigx::boundary_types), std::end(sigx::boundary_types), t.begin());
    for (auto& e : t)
        if (std::strcmp(e.name, "sigx::Record") == 0) e.align = 4;
    return t;
}();

sigx_abi_record record_abi() {
    sigx_abi_record r = sigx::current_abi_record();
#if SIGX_TEST_VARIANT == 1
    r.sdk_minor += 1;
#elif SIGX_TEST_VARIANT == 4
    r.abi_version = 2, r.sdk_major = 1, r.sdk_minor = 2, r.sdk_patch = 0;
#elif SIGX_TEST_VARIANT == 5
    r.type_count -= 1;
#else
    r.types = types.data();
#endif
    return r;
}

const sigx_library record = {record_abi(), &count, &entry};

}  // namespace variant

#if SIGX_TEST_VARIANT == 3
extern "C" {
__attribute__((visibility("default"))) const sigx_library* sigx_library = &variant::record;
}
#else
extern "C" __attribute__((visibility("default"))) const sigx_library* sigx_plugin_library() { return &variant::record; }
#endif
