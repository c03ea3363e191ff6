#include "store.hpp"

#include <fmt/format.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

namespace sigx::torch_trainer {

// The wire: a request is an op byte, then key and value, each a 32-bit length and its
// bytes; a reply is a status byte and a value the same way.
namespace {

enum Op : char {
    op_set = 's',
    op_get = 'g',
    op_add = 'a',
    op_check = 'c',
    op_delete = 'd',
    op_count = 'n',
    op_compare_set = 'x'
};
using Bytes = std::vector<std::uint8_t>;

bool read_all(int fd, void* data, std::size_t n) {
    auto* p = static_cast<char*>(data);
    while (n > 0) {
        const ssize_t got = ::recv(fd, p, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got, n -= static_cast<std::size_t>(got);
    }
    return true;
}
bool write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        p += put, n -= static_cast<std::size_t>(put);
    }
    return true;
}
bool read_bytes(int fd, std::string& out) {
    std::uint32_t n = 0;
    if (!read_all(fd, &n, sizeof n) || n > (64u << 20)) return false;  // no peer of ours sends 64 MiB
    out.resize(n);
    return read_all(fd, out.data(), n);
}
bool write_bytes(int fd, const void* data, std::size_t n) {
    const auto len = static_cast<std::uint32_t>(n);
    return write_all(fd, &len, sizeof len) && write_all(fd, data, n);
}

Bytes bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
Bytes bytes_of(std::int64_t v) {
    Bytes b(sizeof v);
    std::memcpy(b.data(), &v, sizeof v);
    return b;
}
std::int64_t int_of(const Bytes& b) {
    std::int64_t v = 0;
    std::memcpy(&v, b.data(), std::min(b.size(), sizeof v));
    return v;
}

// The addresses `addr:port` resolves to (numeric or a host name).
struct Addresses {
    addrinfo* list = nullptr;
    Addresses(const std::string& addr, int port, bool passive) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC, hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
        if (const int e = ::getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &list))
            throw std::runtime_error(fmt::format("cannot resolve {}: {}", addr, ::gai_strerror(e)));
    }
    ~Addresses() { ::freeaddrinfo(list); }
};

}  // namespace

// Rank 0's side: the keys, and a thread per connected rank answering its requests.
class BoundStore::Server {
public:
    Server(const std::string& addr, int port) {
        const Addresses where(addr, port, true);  // MASTER_ADDR itself, never the wildcard
        int error = 0;
        for (addrinfo* a = where.list; a && listener_ < 0; a = a->ai_next) {
            const int s = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            const int on = 1;
            if (s >= 0 && ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
                ::bind(s, a->ai_addr, a->ai_addrlen) == 0 && ::listen(s, 128) == 0) {
                listener_ = s;
                break;
            }
            error = errno;
            if (s >= 0) ::close(s);
        }
        if (listener_ < 0) throw std::runtime_error(std::strerror(error));
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~Server() {
        stopping_ = true;
        acceptor_.join();
        std::lock_guard lock(mutex_);
        for (const int fd : clients_) ::shutdown(fd, SHUT_RDWR);  // ends each answering thread's recv
        for (auto& t : answering_) t.join();
        for (const int fd : clients_) ::close(fd);
        ::close(listener_);
    }

private:
    void accept_loop() {
        while (!stopping_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            const int on = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            std::lock_guard lock(mutex_);
            clients_.push_back(fd);
            answering_.emplace_back([this, fd] { answer(fd); });
        }
    }
    void answer(int fd) {
        char op = 0;
        std::string key, value;
        while (read_all(fd, &op, 1) && read_bytes(fd, key) && read_bytes(fd, value)) {
            Bytes reply;
            bool ok = true;
            {
                std::lock_guard lock(mutex_);
                reply = apply(op, key, Bytes(value.begin(), value.end()), ok);
            }
            const char status = ok ? 1 : 0;
            if (!write_all(fd, &status, 1) || !write_bytes(fd, reply.data(), reply.size())) break;
        }
    }
    // One request on the keys (under mutex_); `ok` false: a get of a missing key, a
    // check or delete that found nothing.
    Bytes apply(char op, const std::string& key, Bytes value, bool& ok) {
        const auto it = keys_.find(key);
        switch (op) {
        case op_set: keys_[key] = std::move(value); return {};
        case op_get: ok = it != keys_.end(); return ok ? it->second : Bytes{};
        case op_add: {  // kept as decimal text, as TCPStore keeps a counter
            std::int64_t sum = int_of(value);
            if (it != keys_.end()) {  // a value set as something else is no counter: refused, never a throw here
                const std::string text(it->second.begin(), it->second.end());
                char* end = nullptr;
                const long long before = std::strtoll(text.c_str(), &end, 10);
                if (text.empty() || end != text.c_str() + text.size()) return ok = false, Bytes{};
                sum += before;
            }
            keys_[key] = bytes_of(std::to_string(sum));
            return bytes_of(sum);
        }
        case op_check: ok = it != keys_.end(); return {};
        case op_delete:
            ok = it != keys_.end();
            if (ok) keys_.erase(it);
            return {};
        case op_count: return bytes_of(static_cast<std::int64_t>(keys_.size()));
        case op_compare_set: {  // value: current's length, current, then the new value
            std::uint32_t n = 0;
            std::memcpy(&n, value.data(), std::min(value.size(), sizeof n));
            if (value.size() < sizeof n + n) return ok = false, Bytes{};
            const Bytes current(value.begin() + sizeof n, value.begin() + sizeof n + n),
                replacement(value.begin() + sizeof n + n, value.end());
            if (it == keys_.end()) {  // TCPStore's rule: an empty expectation creates the key
                if (!current.empty()) return current;
                return keys_[key] = replacement;
            }
            if (it->second == current) it->second = replacement;
            return it->second;
        }
        default: ok = false; return {};
        }
    }

    int listener_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mutex_;  // keys_, clients_, answering_
    std::map<std::string, Bytes> keys_;
    std::vector<int> clients_;
    std::vector<std::thread> answering_;
};

BoundStore::BoundStore(const std::string& addr, int port, bool serve, std::chrono::milliseconds timeout)
    : c10d::Store(timeout), where_(fmt::format("{}:{}", addr, port)) {
    if (serve) server_ = std::make_unique<Server>(addr, port);
    // Rank 0 may not serve yet: connect until the timeout.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string why = "no address";
    while (socket_ < 0) {
        const Addresses where(addr, port, false);
        for (addrinfo* a = where.list; a && socket_ < 0; a = a->ai_next) {
            const int s = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            if (s >= 0 && ::connect(s, a->ai_addr, a->ai_addrlen) == 0) {
                socket_ = s;
                break;
            }
            why = std::strerror(errno);
            if (s >= 0) ::close(s);
        }
        if (socket_ >= 0) break;
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(why);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const int on = 1;
    ::setsockopt(socket_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

BoundStore::~BoundStore() {
    if (socket_ >= 0) ::close(socket_);
}

std::optional<Bytes> BoundStore::call(char op, const std::string& key, const Bytes& value) {
    std::lock_guard lock(mutex_);
    char status = 0;
    std::string reply;
    if (!write_all(socket_, &op, 1) || !write_bytes(socket_, key.data(), key.size()) ||
        !write_bytes(socket_, value.data(), value.size()) || !read_all(socket_, &status, 1) ||
        !read_bytes(socket_, reply))
        throw std::runtime_error("the rendezvous store at " + where_ + " closed (rank 0 gone?)");
    if (status == 0) return std::nullopt;  // a miss, or a request refused
    return Bytes(reply.begin(), reply.end());
}

void BoundStore::set(const std::string& key, const Bytes& value) { call(op_set, key, value); }

Bytes BoundStore::compareSet(const std::string& key, const Bytes& current, const Bytes& value) {
    const auto n = static_cast<std::uint32_t>(current.size());
    Bytes request(sizeof n);
    std::memcpy(request.data(), &n, sizeof n);
    request.insert(request.end(), current.begin(), current.end());
    request.insert(request.end(), value.begin(), value.end());
    auto r = call(op_compare_set, key, request);
    if (!r) throw std::runtime_error("the rendezvous store refused a compare-and-set on '" + key + "'");
    return *r;
}

Bytes BoundStore::get(const std::string& key) {
    wait({key});
    auto r = call(op_get, key);
    if (!r) throw std::runtime_error("the rendezvous store lost key '" + key + "'");
    return *r;
}

std::int64_t BoundStore::add(const std::string& key, std::int64_t value) {
    const auto r = call(op_add, key, bytes_of(value));
    if (!r) throw std::runtime_error("the rendezvous store's key '" + key + "' is not a counter");
    return int_of(*r);
}

bool BoundStore::deleteKey(const std::string& key) { return call(op_delete, key).has_value(); }

bool BoundStore::check(const std::vector<std::string>& keys) {
    for (const auto& k : keys)
        if (!call(op_check, k)) return false;
    return true;
}

std::int64_t BoundStore::getNumKeys() { return int_of(call(op_count, {}).value_or(Bytes{})); }

// Polls: the keys a rendezvous waits for come within milliseconds to seconds.
void BoundStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
    const auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::milliseconds(1);
    while (!check(keys)) {
        if (timeout != kNoTimeout && std::chrono::steady_clock::now() - start > timeout)
            throw std::runtime_error(
                fmt::format("timed out after {} ms waiting for the rendezvous store at {}", timeout.count(), where_));
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
}

}  // namespace sigx::torch_trainer
