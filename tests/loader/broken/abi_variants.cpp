// Libraries whose sigx_library record differs from the host's in one field each, built
// from this one file with SIGX_TEST_VARIANT: 1 a newer SDK minor version, 2 another
// sizeof(sigx::Signal) (what a different compiler or standard library would give). The
// host must refuse each with the field named, without calling anything in them.
#include <sigx/abi.hpp>

#include <boost/dll/alias.hpp>

namespace variant {

std::uint32_t count() { return 0; }
const sigx_plugin_entry* entry(std::uint32_t) { return nullptr; }

constexpr sigx_abi_record record_abi() {
    sigx_abi_record r = sigx::current_abi_record();
#if SIGX_TEST_VARIANT == 1
    r.sdk_minor += 1;
#else
    r.size_signal += 8;
#endif
    return r;
}

const sigx_library record = {record_abi(), &count, &entry};

}  // namespace variant

BOOST_DLL_ALIAS(variant::record, sigx_library)
