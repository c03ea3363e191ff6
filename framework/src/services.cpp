#include <sigx/host/services.hpp>

#include <csignal>
#include <set>

namespace sigx::host {

std::atomic<bool>& cancel_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}

namespace {
std::mutex active_mutex;
std::string active_dir;
std::mutex children_mutex;
std::set<int> children;
}  // namespace

void track_child(int pid) {
    std::lock_guard lock(children_mutex);
    children.insert(pid);
}
void untrack_child(int pid) {
    std::lock_guard lock(children_mutex);
    children.erase(pid);
}
void signal_children(int signal) {
    std::lock_guard lock(children_mutex);
    for (int pid : children) ::kill(pid, signal);
}

ActiveRun::ActiveRun(const std::filesystem::path& dir) {
    std::lock_guard lock(active_mutex);
    active_dir = dir.string();
}
ActiveRun::~ActiveRun() {
    std::lock_guard lock(active_mutex);
    active_dir.clear();
}
std::string ActiveRun::dir() {
    std::lock_guard lock(active_mutex);
    return active_dir;
}

std::uint64_t derive_seed(std::int64_t pipeline_seed, const std::string& section) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a of the section name
    for (char c : section) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::uint64_t z = h ^ static_cast<std::uint64_t>(pipeline_seed) ^ 0x9e3779b97f4a7c15ull;  // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::filesystem::path Services::output_dir() {
    if (dir_.empty())
        throw std::logic_error("this process has no run directory: in a run across processes only rank 0 writes one");
    std::filesystem::create_directories(dir_);
    return dir_;
}

}  // namespace sigx::host
