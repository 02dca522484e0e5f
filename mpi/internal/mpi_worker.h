// cf/mpi/internal/mpi_worker.h — what a worker rank does: receive calls, run them, answer.
//
// Not part of the public API.
//
// The loop (mpi_protocol.h has the messages): [kHello] then, until kShutdown, for each kCall
// from `main_rank`: RunTaskCall (cf/serialization/task.h) — the process pool's worker side —
// and send its kResult or kException back. One call at a time, in arrival order; the main rank
// keeps several queued here so the next call is waiting when one ends.
//
// Waiting: Open MPI's blocking receive spins at full CPU, which on an oversubscribed host
// takes the cores the main rank and busy workers need. The loop spins on MPI_Iprobe for
// kWorkerSpin, then sleeps in growing steps (up to kWorkerMaxSleep) between probes: a busy
// worker pays nothing, an idle one costs almost no CPU, and its first call after an idle spell
// waits at most kWorkerMaxSleep.
#ifndef CF_MPI_INTERNAL_MPI_WORKER_H_
#define CF_MPI_INTERNAL_MPI_WORKER_H_

#include <mpi.h>

#include "absl/time/time.h"

namespace cf::internal {

inline constexpr absl::Duration kWorkerSpin = absl::Microseconds(200);
inline constexpr absl::Duration kWorkerMaxSleep = absl::Microseconds(500);

// Serves `main_rank` of `comm` until kShutdown (returns 0) or a malformed message (says why
// on stderr, returns 2). With send_hello, first sends kHello (the spawned route).
int RunMpiWorker(MPI_Comm comm, int main_rank, bool send_hello);

// Probes `comm` for a message from `source` with `tag` as described above; blocks until one is
// there and fills *status.
void AwaitMpiMessage(MPI_Comm comm, int source, int tag, MPI_Status* status);

}  // namespace cf::internal

#endif  // CF_MPI_INTERNAL_MPI_WORKER_H_
