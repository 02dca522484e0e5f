// cf/mpi/internal/mpi_runtime.h — this process's place in the MPI job, set once by
// cf::InitMpiPool, and the lock that serialises its MPI calls.
//
// Not part of the public API.
//
// Roles (decided in InitMpiPool, after MPI_Init_thread(MPI_THREAD_SERIALIZED)):
//   spawned worker   MPI_Comm_get_parent() is not MPI_COMM_NULL: serves the spawning
//                    executor over the parent intercommunicator, then finalises and exits
//   world worker     world rank > 0: serves rank 0 over MPI_COMM_WORLD until rank 0's
//                    exit sends kShutdown, then finalises and exits (SPMD route)
//   main             world rank 0: InitMpiPool returns; at exit (atexit) every world worker
//                    gets kShutdown and MPI_Finalize runs
// Threads: Open MPI is initialised MPI_THREAD_SERIALIZED, so at most one thread may be inside
// MPI at a time. Every MPI call on the main rank is made with MpiLock() held (the executors'
// manager threads, spawn, the exit handler); worker ranks are single-threaded.
//
// World ownership (SPMD route): the world's worker ranks serve one MpiPoolExecutor at a time;
// AcquireWorld() blocks until the previous one's manager has finished (its calls are all
// answered, so no message of it is still on the way).
#ifndef CF_MPI_INTERNAL_MPI_RUNTIME_H_
#define CF_MPI_INTERNAL_MPI_RUNTIME_H_

#include "absl/synchronization/mutex.h"

namespace cf::internal {

// Serialises this process's MPI calls (see the file comment).
absl::Mutex& MpiLock();

// Blocks SIGPIPE in the calling thread. Open MPI writes to sockets whose other end may be gone
// (a spawned worker that died, the job Open MPI then aborted); an unblocked SIGPIPE would end
// the whole program (seen under load: the test program died of SIGPIPE in 12 of 30 runs of
// SpawnTest.AKilledWorkerFailsThePendingFutures). Every thread of cf's that makes MPI calls
// calls this first; Open MPI's own threads, made inside MPI_Init_thread and MPI_Comm_spawn,
// inherit the blocked mask from them (InitMpiPool blocks it around MPI_Init_thread only, and
// gives the caller's thread its mask back). A write to a closed socket then fails with EPIPE.
void BlockSigpipeInThisThread();

// True once InitMpiPool has initialised MPI in this process (the main rank).
bool MpiPoolReady();
// MPI_COMM_WORLD's size and this process's rank in it (valid once MpiPoolReady()).
int MpiWorldSize();
int MpiWorldRank();

// The world's worker ranks for one executor at a time (see the file comment).
void AcquireWorld();
void ReleaseWorld();

// A spawned job died under an executor: Open MPI calls may never return now, so the exit
// handler skips MPI_Finalize.
void MarkMpiDamaged();
// An MPI call never returned and holds MpiLock() for good (mpi_spawn.cc): no executor can use
// MPI in this process any more. MarkMpiWedged implies MarkMpiDamaged.
void MarkMpiWedged();
bool MpiWedged();

// Runs InitMpiPool's role decision; returns only on the main rank.
void InitMpiRuntime(int* argc, char*** argv);

}  // namespace cf::internal

#endif  // CF_MPI_INTERNAL_MPI_RUNTIME_H_
