// Named arrays of numbers in a file format of sigx's own, for a model's learned weights.
// Read as data: nothing in it is code. (LibTorch's archives are TorchScript modules whose
// code is compiled as they load, and its reader crashes on some corrupt files.) Every
// problem (missing, oversized, cut short, inconsistent, a checksum that does not match,
// anything after the end) is one std::runtime_error naming the file.
//
// Layout, little-endian: "SIGXARR1", u32 count, then per array: u32 name length, the
// name, u8 element type, u32 rank, i64 sizes[rank], u64 byte count, the bytes; last, a
// u64 FNV-1a hash of everything before it.
#pragma once

#include <sigx/files.hpp>
#include <sigx/version.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace sigx {
SIGX_ABI_NAMESPACE_BEGIN

enum class ElementType : std::uint8_t { f32 = 1, f64 = 2, i64 = 3 };

inline std::size_t element_size(ElementType t) { return t == ElementType::f32 ? 4 : 8; }

struct NamedArray {
    std::string name;
    ElementType type = ElementType::f32;
    std::vector<std::int64_t> sizes;
    std::string bytes;  // the elements, row-major
};

namespace detail {
inline std::uint64_t fnv1a(const char* p, std::size_t n) {
    std::uint64_t h = 14695981039346656037ull;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
    return h;
}
template <class T> void put(std::string& out, T v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
constexpr char arrays_magic[] = "SIGXARR1";
}  // namespace detail

// Written atomically (write_file_atomic).
inline void write_arrays(const std::filesystem::path& file, const std::vector<NamedArray>& arrays) {
    std::string out(detail::arrays_magic, 8);
    detail::put(out, static_cast<std::uint32_t>(arrays.size()));
    for (const auto& a : arrays) {
        detail::put(out, static_cast<std::uint32_t>(a.name.size()));
        out += a.name;
        detail::put(out, static_cast<std::uint8_t>(a.type));
        detail::put(out, static_cast<std::uint32_t>(a.sizes.size()));
        for (const auto s : a.sizes) detail::put(out, s);
        detail::put(out, static_cast<std::uint64_t>(a.bytes.size()));
        out += a.bytes;
    }
    detail::put(out, detail::fnv1a(out.data(), out.size()));
    write_file_atomic(file, out);
}

// More than `max_bytes` is refused before reading.
inline std::vector<NamedArray> read_arrays(const std::filesystem::path& file, std::uintmax_t max_bytes) {
    auto fail = [&](const std::string& why) -> void { throw std::runtime_error(file.string() + ": " + why); };
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) fail("missing, or not a file");
    const auto size = std::filesystem::file_size(file, ec);
    if (ec || size > max_bytes)
        fail(std::to_string(size) + " bytes, more than these weights take (" + std::to_string(max_bytes) + ")");
    std::ifstream in(file, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 8 + 4 + 8 || data.compare(0, 8, detail::arrays_magic, 8) != 0)
        fail("not a file of sigx's saved weights");
    const std::size_t body = data.size() - 8;
    std::uint64_t sum = 0;
    std::memcpy(&sum, data.data() + body, 8);
    if (sum != detail::fnv1a(data.data(), body)) fail("its checksum does not match (corrupt or cut short)");
    std::size_t at = 8;
    auto take = [&](void* to, std::size_t n) {
        if (n > body - at) fail("cut short");
        std::memcpy(to, data.data() + at, n);
        at += n;
    };
    std::uint32_t count = 0;
    take(&count, 4);
    if (count > 65536) fail("claims " + std::to_string(count) + " arrays");
    std::vector<NamedArray> arrays;
    for (std::uint32_t k = 0; k < count; ++k) {
        NamedArray a;
        std::uint32_t name = 0, rank = 0;
        take(&name, 4);
        if (name > 1024) fail("an array name of " + std::to_string(name) + " bytes");
        a.name.resize(name);
        take(a.name.data(), name);
        std::uint8_t type = 0;
        take(&type, 1);
        if (type < 1 || type > 3) fail("array '" + a.name + "' has an unknown element type");
        a.type = static_cast<ElementType>(type);
        take(&rank, 4);
        if (rank > 16) fail("array '" + a.name + "' has rank " + std::to_string(rank));
        std::uint64_t elements = 1;
        for (std::uint32_t d = 0; d < rank; ++d) {
            std::int64_t s = 0;
            take(&s, 8);
            if (s < 0 || static_cast<std::uint64_t>(s) > body) fail("array '" + a.name + "' has an impossible size");
            elements *= static_cast<std::uint64_t>(s);
            if (elements > body) fail("array '" + a.name + "' is larger than the file");
            a.sizes.push_back(s);
        }
        std::uint64_t bytes = 0;
        take(&bytes, 8);
        if (bytes != elements * element_size(a.type))
            fail("array '" + a.name + "' holds " + std::to_string(bytes) + " bytes for " + std::to_string(elements) +
                 " elements");
        a.bytes.resize(static_cast<std::size_t>(bytes));
        take(a.bytes.data(), a.bytes.size());
        arrays.push_back(std::move(a));
    }
    if (at != body) fail("holds more than its arrays");
    return arrays;
}

SIGX_ABI_NAMESPACE_END
}  // namespace sigx
