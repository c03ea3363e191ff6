#include <sigx/host/names.hpp>

#include <fmt/format.h>

#include <cstdint>

namespace sigx::host {

namespace {
bool safe_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

// The name as it can be shown on one line: non-printable bytes as \xNN, cut when long.
std::string printable(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size() && i < 80; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        out += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
    }
    if (name.size() > 80) out += "...";
    return out;
}
}  // namespace

std::string name_problem(std::string_view what, std::string_view name) {
    const std::string rule =
        fmt::format("use 1 to {} characters from A-Z a-z 0-9 . _ -, not starting with '.'", max_name_length);
    if (name.empty()) return fmt::format("{} is empty; {}", what, rule);
    if (name.size() > max_name_length)
        return fmt::format("{} '{}' is {} characters long; {}", what, printable(name), name.size(), rule);
    if (name.front() == '.') return fmt::format("{} '{}' starts with '.'; {}", what, printable(name), rule);
    for (char c : name)
        if (!safe_char(c))
            return fmt::format("{} '{}' contains '{}'; {}", what, printable(name), printable(std::string_view(&c, 1)),
                               rule);
    return {};
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            n = 1, cp = c & 0x1Fu, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            n = 2, cp = c & 0x0Fu, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            n = 3, cp = c & 0x07u, min = 0x10000;
        else
            return false;
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;  // overlong, out of range, surrogate
        i += n + 1;
    }
    return true;
}

}  // namespace sigx::host
