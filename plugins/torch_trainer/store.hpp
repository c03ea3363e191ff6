// The rendezvous store the ranks meet at: a c10d::Store of our own, because LibTorch
// 1.13's TCPStore listens on every interface and has no bind address. Rank 0 serves it
// on MASTER_ADDR alone (127.0.0.1 for --nproc; the interface MASTER_ADDR names across
// machines); every rank, rank 0 included, is a client. Like TCPStore it authenticates
// nothing: whoever reaches the address and port is a peer.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sigx::torch_trainer {

class BoundStore final : public c10d::Store {
public:
    // Serves the store (when `serve`) on addr:port, then connects to it within `timeout`.
    // Throws with the reason (address in use, unreachable, ...).
    BoundStore(const std::string& addr, int port, bool serve, std::chrono::milliseconds timeout);
    ~BoundStore() override;

    void set(const std::string& key, const std::vector<std::uint8_t>& value) override;
    std::vector<std::uint8_t> compareSet(const std::string& key, const std::vector<std::uint8_t>& current,
                                         const std::vector<std::uint8_t>& value) override;
    std::vector<std::uint8_t> get(const std::string& key) override;  // waits for the key
    std::int64_t add(const std::string& key, std::int64_t value) override;
    bool deleteKey(const std::string& key) override;
    bool check(const std::vector<std::string>& keys) override;
    std::int64_t getNumKeys() override;
    void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

    class Server;

private:
    // One request; nullopt: a miss (get, check, delete) or a request refused.
    std::optional<std::vector<std::uint8_t>> call(char op, const std::string& key,
                                                  const std::vector<std::uint8_t>& value = {});
    std::unique_ptr<Server> server_;  // rank 0's
    std::string where_;               // "addr:port", for errors
    int socket_ = -1;
    std::mutex mutex_;  // one request at a time on the connection
};

}  // namespace sigx::torch_trainer
