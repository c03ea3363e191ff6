// A library whose record says it was built against ABI version 99. It exports the record
// the way sigx/register.hpp does, so the host finds and reads it, and must refuse it
// without calling anything else in it.
#include <sigx/abi.hpp>

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

extern "C" __attribute__((visibility("default"))) const sigx_library* sigx_plugin_library() { return &abi99::record; }
