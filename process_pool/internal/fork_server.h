// cf/process_pool/internal/fork_server.h — kForkServer: the pool's side of the fork server.
//
// Not part of the public API (see launcher.h for the start methods).
//
// The server is the worker program spawned with the role forkserver:3:<parent>; it forks each
// worker on request and, being their parent, reports their exit statuses. Messages on the
// SOCK_SEQPACKET control socket (host byte order; both ends run on the same machine):
//   pool → server   'F'                 + five descriptors (SCM_RIGHTS): call read end, result
//                                         write end, the three channel memfds. "Fork a worker
//                                         on these."
//   server → pool   'H' pid             hello: the server runs (sent once, first)
//   server → pool   'P' pid             the worker forked for the last 'F' (pid -errno: failed)
//   server → pool   'X' pid status      a worker exited with this wait status
// The server exits (killing its workers) when the socket closes: the pool is gone or done.
//
// A server is spawned and then awaited (Start does both); cf::InitProcessPool spawns one ahead
// of time and the first pool awaits it (spare_fork_server.h).
//
// Thread-compatible: one thread at a time (the pool's manager) uses a ForkServer.
#ifndef CF_PROCESS_POOL_INTERNAL_FORK_SERVER_H_
#define CF_PROCESS_POOL_INTERNAL_FORK_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/unique_fd.h"

namespace cf::internal {

class ForkServer {
 public:
  // Spawns the server (`binary` empty: this program) and waits up to `start_timeout` for its
  // hello. FailedPrecondition if it exited first (e.g. main() lacks cf::InitProcessPool).
  static absl::StatusOr<std::unique_ptr<ForkServer>> Start(const std::string& binary,
                                                           absl::Duration start_timeout);
  // Spawns the server without waiting for its hello. Its PR_SET_PDEATHSIG binds it to the
  // calling thread: it is killed when that thread exits. kPosixSpawn reports a program that
  // cannot be executed at once; kForkExec returns sooner (see ForkExecProgram in
  // process_util.h), and such a program then shows as a server that exited with code 127.
  enum class Via { kPosixSpawn, kForkExec };
  static absl::StatusOr<std::unique_ptr<ForkServer>> Spawn(const std::string& binary,
                                                           Via via = Via::kPosixSpawn);
  // Waits up to `timeout` for the hello of a server from Spawn(). Otherwise the server is
  // reaped (killed first if it still runs; the object is then inert) and the error says how it
  // ended: FailedPrecondition if it exited, DeadlineExceeded if it stayed silent.
  absl::Status AwaitHello(absl::Duration timeout);
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  // Closes the control socket; the server then kills its workers and exits; it is reaped here.
  ~ForkServer();

  // Asks the server for a worker on the shared channel `channel_fds` (three descriptors).
  absl::StatusOr<WorkerProcess> Fork(absl::Span<const int> channel_fds);
  // The wait status of a worker the server reported as exited, waiting up to `timeout` for the
  // report. kUnavailable when it has not arrived in time.
  absl::StatusOr<int> WorkerExitStatus(pid_t pid, absl::Duration timeout);
  // Reads any exit reports waiting on the socket without blocking. Unavailable once the server
  // has exited (its workers die with it: PR_SET_PDEATHSIG).
  absl::Status Poll();
  // The exit reports read and not yet asked for (a dead server's, say), by pid.
  absl::flat_hash_map<pid_t, int> TakeExitStatuses() { return std::move(exit_statuses_); }

  // Forgets its process and descriptors without closing, signalling or reaping anything (they
  // are no longer its own, e.g. in a fork() child); the object is then inert.
  void Disown() {
    pid_ = -1;
    (void)pidfd_.Release();
    (void)control_.Release();
  }

  pid_t pid() const { return pid_; }
  int control_fd() const { return control_.get(); }
  int pidfd() const { return pidfd_.get(); }

 private:
  ForkServer() = default;
  absl::Status ReadMessages(absl::Duration timeout, pid_t want_fork_reply, pid_t* forked);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd control_;
  absl::flat_hash_map<pid_t, int> exit_statuses_;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_FORK_SERVER_H_
