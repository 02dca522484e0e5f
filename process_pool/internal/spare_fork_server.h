// cf/process_pool/internal/spare_fork_server.h — the spare fork server: one server that
// cf::InitProcessPool starts in the background, so that the program's first kForkServer pool
// does not wait for a whole copy of the program to start.
//
// Not part of the public API (see cf::InitProcessPool in cf/process_pool/process_pool_executor.h).
//
//   cf::InitProcessPool: an ordinary program (Role kNone), on the main thread, and
//   CF_PROCESS_POOL_PRESTART is not 0
//     └─ PrestartForkServer(): this program started as a fork server (fork()+execve() when this
//        process has one thread, else posix_spawn()); no wait for its hello
//          └─ the spare, kReady. Then one of these, whichever comes first (a compare-and-swap):
//               • the first kForkServer pool of this program (default worker_binary):
//                 TakeSpareForkServer() on its manager thread awaits the hello; the pool owns
//                 the server from then on, as if it had spawned it            ─► kTaken
//                 (if this process changed since, below, that pool kills and reaps the spare
//                 and spawns its own instead)
//               • exit(): an atexit handler kills and reaps it                 ─► kGone
//               • in a fork() child only: an atfork handler closes the child's copies of its
//                 descriptors; the parent keeps its spare                     ─► kGone
//
// Which thread spawns it, and why that matters: PR_SET_PDEATHSIG binds the server to the thread
// that spawned it, and the server's workers die with the server. The spare is spawned by the
// thread that calls InitProcessPool, and only if that is the main thread (otherwise no spare is
// started and every pool spawns its own, as before); so it lives as long as the main thread,
// which is as long as the program unless main() ends with pthread_exit() while other threads go
// on. If the main thread does exit, the spare gets SIGKILL: a pool that has not taken it yet
// finds it dead and spawns its own; a pool that took it breaks with BrokenProcessPool ("the
// fork server ... died"), as any pool whose fork server is killed.
//
// A spare found dead when its pool takes it (killed before or after its hello, or exited: e.g.
// code 127, its exec failed) is reaped and the pool spawns a fresh server, which reports any
// error as before. A spare whose hello does not come within the pool's start timeout is killed
// and reaped, and the pool gets ForkServer::Start's error ("did not start within ..."), so the
// pool breaks as it would have: a fresh server would most likely be as slow.
//
// The spare is a copy of this process as it was at InitProcessPool, and its workers inherit it.
// A pool takes it only if this process still has the same environment, working directory,
// standard descriptors (0-2), user and group ids, resource limits and (for the taking thread)
// CPU affinity; otherwise the spare is discarded and the pool spawns its own, so its workers see
// what they would have seen without the spare. (The umask, nice value and ignored signals are
// not compared.) Only the first pool that asks takes it; later pools spawn their own servers.
// A new spare for them is not started: spawned from a pool's manager thread it would die with
// that thread, so it would need a thread of its own for the whole program, to save a later pool
// about 1.5 ms (an opt build's server start; first_result_probe's second_pool figure).
//
// fork(): the spare belongs to the process that spawned it (compared by pid). A pthread_atfork
// child handler closes the child's copies of its descriptors (async-signal-safe: an atomic and
// a few system calls, fstat(), a read of /proc/self/fdinfo, close(); no lock, no allocation;
// it also runs in kFork workers, which close those descriptors anyway), so a child can neither
// use it nor keep it alive. A child made without
// fork() (a raw clone) finds the pid differs when it would take it, and closes them then.
//
// A program may close descriptors it does not know (closefrom(3)) and reuse their numbers: cf
// then never closes, signals or waits on those numbers (it checks first: the socket by its
// inode, the pidfd by its inode and the pid /proc/self/fdinfo gives), and the spare, which saw
// its socket close, is reaped by pid and replaced by a fresh server.
//
// Exit: an atexit handler kills and reaps a spare no pool took, so no zombie or orphan is left;
// if the program dies without exit() the server sees its socket close (and PR_SET_PDEATHSIG)
// and exits, and init reaps it. A program that never makes a kForkServer pool pays the spare's
// start (about 1 ms of CPU on the development VM, alongside the program's own start: on busy
// cores a kFork pool's first result in a fresh process went from 0.3 to 1.3 ms) and then the
// idle server process (its memory, and one process among its children: a program that waits
// for any child, wait() or waitpid(-1, ...), sees it too); nothing with
// CF_PROCESS_POOL_PRESTART=0.
//
// What it saves (first_result_probe, opt build, medians of 41 fresh processes, 2-core VM): the
// first forkserver pool's construction → first result, 1.7 ms without the spare, is 0.45 ms
// when the program works 3 ms between InitProcessPool and the pool (1.7 ms if it makes the pool
// at once: no head start); the program's start → first result drops by the same ~1.1 ms.
//
// Thread-safe: a compare-and-swap decides the one owner among the pools, the fork handler and
// the exit handler.
#ifndef CF_PROCESS_POOL_INTERNAL_SPARE_FORK_SERVER_H_
#define CF_PROCESS_POOL_INTERNAL_SPARE_FORK_SERVER_H_

#include <sys/types.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/fork_server.h"

namespace cf::internal {

// "0" (or "false", "no", "off") in this variable: InitProcessPool starts no spare.
inline constexpr char kPrestartEnvVar[] = "CF_PROCESS_POOL_PRESTART";

// Called by InitProcessPool in an ordinary program. Spawns the spare unless it is disabled,
// this is not the main thread, or a spare was already started. Returns without waiting for it;
// if it cannot be spawned, quietly does nothing (the first pool spawns its own and reports why).
void PrestartForkServer();

// Called by a kForkServer launcher for this program (the default worker_binary), on the pool's
// manager thread, which then owns the server. nullptr: no spare for this caller (none started,
// already taken, this is another process, the context changed, or it died): spawn one as usual.
// An error: the spare's hello did not come within `start_timeout` (it has been killed and
// reaped).
absl::StatusOr<std::unique_ptr<ForkServer>> TakeSpareForkServer(absl::Duration start_timeout);

// Tests. The spare not taken yet, as this process sees it: pid -1 when there is none.
struct SpareForkServerForTesting {
  pid_t pid = -1;
  int control_fd = -1;
  int pidfd = -1;
};
SpareForkServerForTesting GetSpareForkServerForTesting();
// Tests: waits up to `timeout` until the spare's hello is waiting on its socket (not consumed).
bool AwaitSpareHelloForTesting(absl::Duration timeout);
// Tests: kills and reaps the spare not taken yet, if any, and lets PrestartForkServer() start
// another. Call only while no pool is starting.
void ResetSpareForkServerForTesting();

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_SPARE_FORK_SERVER_H_
