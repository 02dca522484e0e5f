// cf/mpi/internal/mpi_core.h — the type-erased engine of MpiPoolExecutor.
//
// Not part of the public API. The data flow (mpi_pool_executor.h draws it) in short:
// submitters append PoolTasks (cf/process_pool/internal/pool_task.h: the process pool's
// CallTask/BatchTask) to pending_; one manager thread per executor takes them, marks each
// running (a task cancelled while queued is dropped here), sends its TaskCall to the least
// loaded worker rank as one MPI message (MPI_Isend; up to calls_per_worker per rank), probes
// for replies (MPI_Iprobe), and completes the futures outside every lock.
//
// Workers, by route:
//   kWorld  ranks 1..N-1 of MPI_COMM_WORLD (SPMD: mpiexec -n N), one executor at a time
//   kSpawn  max_workers processes MPI_Comm_spawn'ed at construction, over an intercommunicator;
//           told to exit (kShutdown, then MPI_Comm_disconnect) when the executor ends
//   kLocal  no worker: a job of one rank; the manager runs each call itself with RunTaskCall
//           (same encoding, same exception transport), one at a time
//
// Failure (kSpawn): Open MPI 4.1 tells the parent nothing when a spawned process dies; it
// aborts the rest of the spawned job. Worse, an MPI call that then makes progress towards the
// dead peers may spin inside Open MPI and never return (seen: MPI_Test looping in its TCP
// transport's event loop). So liveness is a watchdog thread's job, and it needs no MPI: every
// kLivenessPeriod it checks that each worker's pid on this host still exists; when one does
// not, it breaks the pool itself — takes every in-flight task out of the manager's lists
// (flight_mu_) and every pending one (mu_) and fails them with BrokenProcessPool — so no
// future waits on a manager that may be stuck inside Open MPI. Shutdown then waits for such
// a manager at most kStuckManagerGrace and leaves it behind (its thread spins until exit; the
// exit handler skips MPI_Finalize). (kWorld: Open MPI's runtime aborts the whole job when a
// rank dies; see the public header.)
//
// Threads: Submit/Shutdown from any thread (mu_); MPI calls only on the manager thread (or the
// constructor, for spawning), always under MpiLock(); futures complete on the manager thread,
// or on the watchdog when it breaks the pool. Lock order: MpiLock, then flight_mu_; mu_ is
// never held with flight_mu_.
#ifndef CF_MPI_INTERNAL_MPI_CORE_H_
#define CF_MPI_INTERNAL_MPI_CORE_H_

#include <mpi.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/executor_control.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/task.h"

namespace cf::internal {

struct MpiPoolConfig {
  enum Route { kWorld, kSpawn, kLocal };
  Route route = kWorld;
  int max_workers = 1;
  int calls_per_worker = 32;
  std::uint64_t max_payload_size = 0;
  std::string worker_binary;             // kSpawn
  std::vector<std::string> worker_args;  // kSpawn
  std::string hostfile;                  // kSpawn: MPI_Info "hostfile"
  TaskCall initializer;                  // run on every worker first, if any
};

inline constexpr absl::Duration kLivenessPeriod = absl::Milliseconds(50);
inline constexpr absl::Duration kStuckManagerGrace = absl::Seconds(2);
// Shutdown(kTerminate): how long a spawned worker has after SIGTERM before SIGKILL.
inline constexpr absl::Duration kKillGrace = absl::Seconds(1);

class MpiCore : public std::enable_shared_from_this<MpiCore> {
 public:
  // Spawns the workers (kSpawn; throws BrokenProcessPool saying why it could not) or takes the
  // world's ranks (kWorld; blocks while another executor holds them), then starts the manager.
  static std::shared_ptr<MpiCore> Start(MpiPoolConfig config);
  explicit MpiCore(MpiPoolConfig config);
  MpiCore(const MpiCore&) = delete;
  MpiCore& operator=(const MpiCore&) = delete;
  ~MpiCore();

  // Queues the task. Throws ShutdownError after Shutdown, BrokenProcessPool once broken,
  // SerializationError over the payload limit, std::invalid_argument for SharedBuffer args.
  void Submit(std::unique_ptr<PoolTask> task);
  void Shutdown(bool wait, bool cancel_futures);
  // MpiPoolExecutor::Shutdown(ShutdownOptions), AwaitTermination and stats().
  bool Shutdown(const ShutdownOptions& options);
  bool AwaitTermination(absl::Duration timeout) const;
  ExecutorStats stats() const;
  int max_workers() const { return static_cast<int>(workers_.size()); }
  MpiPoolConfig::Route route() const { return config_.route; }
  // (rank, pid, host) of each worker: kWorld ranks report no pid (0).
  struct WorkerInfo {
    int rank = 0;
    pid_t pid = 0;
    std::string host{};
  };
  std::vector<WorkerInfo> workers() const;

 private:
  struct Worker {
    WorkerInfo info{};
    bool local_host = false;
    std::deque<std::pair<std::uint64_t, std::unique_ptr<PoolTask>>> in_flight{};
  };
  struct Send {
    MPI_Request request;
    ByteBuffer bytes;
  };
  struct Delivery {
    std::unique_ptr<PoolTask> task{};
    FrameKind kind = FrameKind::kResult;
    ByteBuffer message{};  // the whole frame; payload from kFrameHeaderSize
    std::exception_ptr error{};
    void Run();
  };

  // Runs config_.initializer on every worker (kLocal: here) and waits for each answer, before
  // the manager starts; one that throws breaks the pool (its workers stay alive and in step).
  void RunInitializer();
  // mpi_spawn.cc
  void SpawnWorkers();
  void StopSpawnedWorkers();
  // The watchdog thread: checks each local worker's pid; a dead one breaks the pool.
  void Watch();

  void Run();  // the manager thread
  void Dispatch(std::deque<std::unique_ptr<PoolTask>>& taken, std::vector<Delivery>& deliveries);
  bool ReceiveReplies(std::vector<Delivery>& deliveries);
  void TestSends();
  // Marks the pool broken and moves every pending and in-flight task into deliveries, failed.
  // Any thread; takes mu_ and flight_mu_ (not together).
  void Break(const std::string& detail, std::vector<Delivery>& deliveries);
  bool broken() const;
  int FreeSlots() const;
  // Shut down, and the manager ended (or the pool broke: its manager may never end).
  bool TerminatedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ && (manager_done_ || broken_);
  }
  bool AllCallsEnded() const;
  // SIGTERM or SIGKILL to the spawned workers on this host (the watchdog then breaks the pool).
  void SignalLocalWorkers(int sig);

  const MpiPoolConfig config_;
  const std::shared_ptr<PoolCounters> counters_ = std::make_shared<PoolCounters>();
  MPI_Comm comm_ = MPI_COMM_NULL;
  // Fixed after Start (a deque: Workers do not move); their in-flight lists under flight_mu_.
  std::deque<Worker> workers_;
  mutable absl::Mutex flight_mu_;
  std::atomic<std::size_t> in_flight_{0};  // written under flight_mu_
  bool flight_broken_ ABSL_GUARDED_BY(flight_mu_) = false;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<PoolTask>> pending_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_detail_ ABSL_GUARDED_BY(mu_);
  std::uint64_t submissions_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread manager_ ABSL_GUARDED_BY(mu_);
  std::thread::id manager_id_;
  std::thread watchdog_ ABSL_GUARDED_BY(mu_);
  std::thread::id watchdog_id_;
  bool manager_done_ ABSL_GUARDED_BY(mu_) = false;
  // Set before the manager tells the spawned workers to exit: their ends are expected then.
  bool releasing_workers_ ABSL_GUARDED_BY(mu_) = false;
  // Broken by a failing initializer: the workers are alive and idle, to be released as usual.
  bool workers_intact_ ABSL_GUARDED_BY(mu_) = false;
  bool world_held_ = false;

  // Manager thread only.
  std::vector<Send> sends_;
  std::vector<MPI_Request> requests_;  // TestSends' scratch
  std::vector<int> indices_;
  std::vector<ByteBuffer> spare_buffers_;  // sent calls' and delivered replies' buffers, reused
  std::size_t next_worker_ = 0;
  ByteBuffer message_;
};

}  // namespace cf::internal

#endif  // CF_MPI_INTERNAL_MPI_CORE_H_
