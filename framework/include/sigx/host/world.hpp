// The processes of one run: which one this is, from the variables the launchers people
// already run set (torchrun, Slurm's srun and job arrays, Open MPI's mpirun), and
// `sigx run --nproc N`, which starts N local ranks itself like `torchrun --standalone`.
#pragma once

#include <sigx/host/console.hpp>

#include <string>
#include <utility>
#include <vector>

namespace sigx::host {

struct World {
    int rank = 0, size = 1;              // size 1: a run in one process
    int local_rank = 0, local_size = 1;  // on this machine (1 where the launcher does not say)
    std::string master_addr;             // rank 0's address: the rendezvous store listens there
    int master_port = 29500;             // torch.distributed's default
    std::string source;                  // the variables it came from, e.g. "RANK/WORLD_SIZE"
};

// RANK/WORLD_SIZE (torchrun, or set by hand), else SLURM_PROCID/SLURM_NTASKS (srun), else
// OMPI_COMM_WORLD_RANK/SIZE (mpirun); the local rank and size likewise from LOCAL_RANK/
// LOCAL_WORLD_SIZE, SLURM_LOCALID/SLURM_NTASKS_PER_NODE or OMPI_COMM_WORLD_LOCAL_RANK/SIZE.
// Throws ConfigError for a malformed value, or for a world of several processes without
// MASTER_ADDR.
World world_from_env();

// Sets torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) from `w`: what a data-parallel trainer reads (sigx::DataParallel).
void export_world(const World& w);

// Unsets every launcher variable above, in a child process that is a run of its own (a
// sweep point) and must not take itself for a rank.
void clear_launcher_env();

// A sweep's share for this process: `given` ("K/N", from --shard), else RANK/WORLD_SIZE,
// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or OMPI_COMM_WORLD_RANK/SIZE; {0, 0} for none.
std::pair<int, int> sweep_shard(const std::string& given);

// A TCP port free on the loopback address now (the kernel's pick), for a rendezvous.
int free_loopback_port();

// Runs `args` (a sigx command line, its executable first) as `nproc` ranks on this
// machine: rendezvous on the loopback address at a free port, the cores split between
// them (OMP_NUM_THREADS, unless set). Signals are passed on. Returns rank 0's exit status,
// or the first failing rank's, after saying which rank failed and how.
int run_local_ranks(const std::vector<std::string>& args, int nproc, Console& console);

}  // namespace sigx::host
