#include "cf/mpi/internal/mpi_runtime.h"

#include <mpi.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/mpi/internal/mpi_worker.h"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/wire.h"

namespace cf::internal {
namespace {

std::atomic<bool> ready{false};
std::atomic<bool> damaged{false};
std::atomic<bool> wedged{false};
int world_size = 1;
int world_rank = 0;

absl::Mutex world_mu(absl::kConstInit);
bool world_busy ABSL_GUARDED_BY(world_mu) = false;

// atexit on the main rank: every world worker leaves its loop, then MPI ends here.
void FinalizeMpiPool() {
  // After a spawned job died, or with a manager thread stuck inside Open MPI (holding the
  // lock), finalising could wait forever: the process ends without it.
  if (damaged.load()) return;
  BlockSigpipeInThisThread();  // the process is ending: a dead peer must not end it first
  if (!MpiLock().LockWhenWithTimeout(absl::Condition::kTrue, absl::Seconds(5))) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    ByteBuffer scratch;
    for (int rank = 1; rank < world_size; ++rank) {
      SendMpiFrame(MPI_COMM_WORLD, rank, kCallTag, FrameKind::kShutdown, 0, {}, &scratch)
          .IgnoreError();
    }
    MPI_Finalize();
  }
  MpiLock().Unlock();
}

[[noreturn]] void ServeAndExit(MPI_Comm comm, bool spawned) {
  const int code = RunMpiWorker(comm, /*main_rank=*/0, /*send_hello=*/spawned);
  if (spawned && code == 0) MPI_Comm_disconnect(&comm);
  MPI_Finalize();
  std::exit(code);
}

}  // namespace

absl::Mutex& MpiLock() {
  static absl::Mutex mu(absl::kConstInit);
  return mu;
}

void MarkMpiDamaged() { damaged.store(true); }
void MarkMpiWedged() {
  damaged.store(true);
  wedged.store(true);
}
bool MpiWedged() { return wedged.load(); }

bool MpiPoolReady() { return ready.load(std::memory_order_acquire); }
int MpiWorldSize() { return world_size; }
int MpiWorldRank() { return world_rank; }

void AcquireWorld() {
  absl::MutexLock lock(&world_mu);
  world_mu.Await(absl::Condition(
      +[](bool* busy) { return !*busy; }, &world_busy));
  world_busy = true;
}

void ReleaseWorld() {
  absl::MutexLock lock(&world_mu);
  world_busy = false;
}

void BlockSigpipeInThisThread() {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
}

void InitMpiRuntime(int* argc, char*** argv) {
  if (MpiPoolReady()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = 0;
  if (initialized) {
    MPI_Query_thread(&provided);
  } else {
    // Open MPI's threads start inside MPI_Init_thread with this thread's mask: SIGPIPE blocked
    // (mpi_runtime.h). This thread gets its own mask back, after a SIGPIPE raised here
    // meanwhile is consumed rather than delivered later.
    sigset_t pipe_only, previous;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    std::fputs("cf::InitMpiPool: this Open MPI does not offer MPI_THREAD_SERIALIZED, which "
               "MpiPoolExecutor's manager thread needs\n",
               stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  if (parent != MPI_COMM_NULL) ServeAndExit(parent, /*spawned=*/true);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (world_rank != 0) ServeAndExit(MPI_COMM_WORLD, /*spawned=*/false);
  ready.store(true, std::memory_order_release);
  std::atexit(&FinalizeMpiPool);
}

}  // namespace cf::internal
