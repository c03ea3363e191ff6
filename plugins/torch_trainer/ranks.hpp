// The processes that train one model together (data-parallel): torch.distributed's c10d
// process group over Gloo, met through a store at MASTER_ADDR:MASTER_PORT (store.hpp), as torchrun
// describes them (the host sets its variables from any launcher). The c10d headers stay
// in ranks.cpp.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>

namespace sigx::torch_trainer {

class Ranks {
public:
    // The world of WORLD_SIZE > 1 processes, joined within `timeout`, shared by every
    // trainer in this process; nullptr in a run of one process. Throws, naming the ranks
    // that did not join or the address that could not be reached.
    static std::shared_ptr<Ranks> join(std::chrono::seconds timeout);
    ~Ranks();

    int rank() const { return rank_; }
    int size() const { return size_; }
    int local_size() const { return local_size_; }
    std::string where() const;  // "Gloo, rendezvous at ADDR:PORT"

    // Sums `t` (contiguous, CPU) over the ranks in place; every rank gets the same bits.
    // `what` names the step in an error. A rank that dies or stalls past the timeout ends
    // the others with an error naming it.
    void sum(torch::Tensor& t, const char* what);
    // Rank 0's `t` on every rank (same shape everywhere).
    void broadcast(torch::Tensor& t, const char* what);
    // Rank 0's bytes on every rank.
    std::string broadcast(const std::string& bytes, const char* what);

    struct Group;  // c10d's store and process group

private:
    Ranks() = default;
    template <class Collective> void run(torch::Tensor& t, const char* what, Collective collective);
    [[noreturn]] void failed(const char* what, const std::exception& e);
    int rank_ = 0, size_ = 1, local_size_ = 1;
    std::chrono::seconds timeout_{60};
    std::unique_ptr<Group> group_;
};

}  // namespace sigx::torch_trainer
