#include "ranks.hpp"
#include "store.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <mutex>
#include <thread>

namespace sigx::torch_trainer {

struct Ranks::Group {
    std::string addr;
    int port = 0;
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

namespace {

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

// The first line of an exception's text (c10 appends a C++ backtrace to some).
std::string first_line(const std::exception& e) {
    std::string s = e.what();
    return s.substr(0, s.find('\n'));
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& addr) {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
        return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    if (addr == "localhost") return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    if (addr.rfind("127.", 0) == 0) return c10d::ProcessGroupGloo::createDeviceForHostname(addr);
    return c10d::ProcessGroupGloo::createDefaultDevice();  // this machine's hostname's address
}

}  // namespace

Ranks::~Ranks() = default;

std::string Ranks::where() const { return fmt::format("Gloo, rendezvous at {}:{}", group_->addr, group_->port); }

std::shared_ptr<Ranks> Ranks::join(std::chrono::seconds timeout) {
    static std::mutex mutex;
    static std::weak_ptr<Ranks> current;  // one world per process, as long as a trainer holds it
    std::lock_guard lock(mutex);
    if (auto r = current.lock()) return r;
    const int size = env_int("WORLD_SIZE", 1);
    if (size <= 1) return nullptr;
    std::shared_ptr<Ranks> r(new Ranks);
    r->rank_ = env_int("RANK", 0), r->size_ = size, r->local_size_ = std::max(1, env_int("LOCAL_WORLD_SIZE", 1));
    r->timeout_ = timeout;
    r->group_ = std::make_unique<Group>();
    Group& g = *r->group_;
    g.addr = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
    g.port = env_int("MASTER_PORT", 29500);
    try {
        g.store = c10::make_intrusive<BoundStore>(g.addr, g.port, r->rank_ == 0, timeout);
    } catch (const std::exception& e) {
        throw std::runtime_error(
            r->rank_ == 0 ? fmt::format("rank 0 cannot open the rendezvous at {}:{} (MASTER_ADDR/MASTER_PORT): {}",
                                        g.addr, g.port, first_line(e))
                          : fmt::format("rank {} cannot reach rank 0's rendezvous at {}:{} (MASTER_ADDR/MASTER_PORT) "
                                        "within {} s: {}",
                                        r->rank_, g.addr, g.port, timeout.count(), first_line(e)));
    }
    g.store->set(fmt::format("joined/{}", r->rank_), std::vector<std::uint8_t>{1});
    std::vector<std::string> everyone;
    for (int k = 0; k < size; ++k) everyone.push_back(fmt::format("joined/{}", k));
    try {
        g.store->wait(everyone, timeout);
    } catch (const std::exception&) {
        std::vector<int> missing;
        for (int k = 0; k < size; ++k)
            if (!g.store->check({everyone[static_cast<std::size_t>(k)]})) missing.push_back(k);
        throw std::runtime_error(
            fmt::format("rank {}: rank(s) {} of {} did not join the rendezvous at {}:{} within "
                        "{} s (started? same MASTER_ADDR/MASTER_PORT and WORLD_SIZE?)",
                        r->rank_, fmt::join(missing, ", "), size, g.addr, g.port, timeout.count()));
    }
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(g.addr));
    g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, r->rank_, size, options);
    current = r;
    return r;
}

// Runs one collective of the process group on `t` and waits for it; a failure becomes
// failed()'s error naming the missing rank.
template <class Collective> void Ranks::run(torch::Tensor& t, const char* what, Collective collective) {
    try {
        std::vector<at::Tensor> ts{t};
        collective(*group_->pg, ts)->wait();
    } catch (const std::exception& e) {
        failed(what, e);
    }
}

void Ranks::sum(torch::Tensor& t, const char* what) {
    run(t, what, [](c10d::ProcessGroupGloo& pg, std::vector<at::Tensor>& ts) { return pg.allreduce(ts); });
}

void Ranks::broadcast(torch::Tensor& t, const char* what) {
    run(t, what, [](c10d::ProcessGroupGloo& pg, std::vector<at::Tensor>& ts) { return pg.broadcast(ts); });
}

std::string Ranks::broadcast(const std::string& bytes, const char* what) {
    auto size = torch::tensor({static_cast<std::int64_t>(bytes.size())}, torch::kInt64);
    broadcast(size, what);
    auto data = torch::empty({size.item<std::int64_t>()}, torch::kUInt8);
    if (rank_ == 0 && !bytes.empty()) std::memcpy(data.data_ptr(), bytes.data(), bytes.size());
    broadcast(data, what);
    return {static_cast<const char*>(data.data_ptr()), static_cast<std::size_t>(data.numel())};
}

// A collective failed: a rank died (its connections closed at once) or stalled past the
// timeout. The survivors check in at the store and name the ranks that did not; the store
// itself gone means rank 0, which holds it, is.
void Ranks::failed(const char* what, const std::exception& e) {
    std::string who;
    try {
        group_->store->set(fmt::format("alive/{}", rank_), std::vector<std::uint8_t>{1});
        std::this_thread::sleep_for(std::chrono::seconds(1));  // the other survivors check in too
        std::vector<int> gone;
        for (int k = 0; k < size_; ++k)
            if (k != rank_ && !group_->store->check({fmt::format("alive/{}", k)})) gone.push_back(k);
        who = gone.empty() ? "no rank is missing" : fmt::format("rank {} stopped answering", fmt::join(gone, ", "));
    } catch (const std::exception&) {
        who = "rank 0 stopped answering (the rendezvous store it holds is gone)";
    }
    throw std::runtime_error(fmt::format("rank {} stopped: {} ({} failed, timeout {} s: {})", rank_, who, what,
                                         timeout_.count(), first_line(e)));
}

}  // namespace sigx::torch_trainer
