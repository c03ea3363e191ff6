// A library whose sigx_library record says it was built against ABI version 99. It is
// exported the way sigx/register.hpp exports the real record (BOOST_DLL_ALIAS), so the
// host finds and reads it, and must refuse it without calling anything in it.
#include <sigx/abi.hpp>

#include <boost/dll/alias.hpp>

namespace abi99 {

std::uint32_t count() { return 0; }
const sigx_plugin_entry* entry(std::uint32_t) { return nullptr; }

constexpr sigx_abi_record record_abi() {
    sigx_abi_record r = sigx::current_abi_record();
    r.abi_version = 99;
    return r;
}

const sigx_library record = {record_abi(), &count, &entry};

}  // namespace abi99

BOOST_DLL_ALIAS(abi99::record, sigx_library)
