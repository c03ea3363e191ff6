#include <sigx/host/services.hpp>

namespace sigx::host {

std::atomic<bool>& cancel_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}

std::uint64_t derive_seed(std::int64_t pipeline_seed, const std::string& section) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a of the section name
    for (unsigned char c : section) h = (h ^ c) * 1099511628211ull;
    std::uint64_t z = h ^ static_cast<std::uint64_t>(pipeline_seed) ^ 0x9e3779b97f4a7c15ull;  // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::filesystem::path Services::output_dir() {
    std::filesystem::create_directories(dir_);
    return dir_;
}

}  // namespace sigx::host
