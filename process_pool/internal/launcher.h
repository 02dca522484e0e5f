// cf/process_pool/internal/launcher.h — how a pool starts, watches and reaps its workers: one
// interface, one implementation per start method.
//
// Not part of the public API (see cf/process_pool/process_pool_executor.h). This layer knows
// nothing about frames or tasks: it creates a worker with two pipes (calls in, results out) and
// the pool's shared channel (its three memfds, then the program's two call slots), and tells the
// pool how the worker ended.
//
//   start method  implementation        how a worker starts
//   kFork         fork_launcher.cc      fork() of this process; the child runs RunWorker(3, 4, 5).
//   kSpawn        spawn_launcher.cc     posix_spawn() of the worker program (this one by
//                                       default) with CF_PROCESS_POOL_ROLE=worker:3,4,5:<parent>;
//                                       cf::InitProcessPool at the top of its main() runs
//                                       RunWorker instead of main.
//   kForkServer   fork_server.{h,cc}    one server spawned that way (role forkserver:3:<parent>)
//                                       forks each worker on request over a Unix socket, and
//                                       reports their exit statuses, since it is their parent.
//
// Hygiene, for every method: every descriptor cf creates is O_CLOEXEC; a worker keeps only
// stdin/stdout/stderr, its own two pipe ends and its channel, renumbered to 3, 4 and 5-9; workers die with the
// parent (PR_SET_PDEATHSIG plus a getppid() check) and exit on EOF of their call pipe. A worker
// that cannot put its pipes in place (e.g. no descriptor left) says why on stderr and exits with
// kSetupFailedExitCode.
//
// Fork safety (kFork): the child of a multi-threaded process inherits, still locked, every lock
// another thread held at fork(). Between fork() and the user's task the child takes no lock
// another thread may hold: only async-signal-safe calls until the worker loop starts, abseil's
// deadlock detection (a global lock in every absl::Mutex call of a debug build) switched off
// first, lock-free task and exception registries, and no absl::Mutex in the worker loop.
//
// Threads: PR_SET_PDEATHSIG fires when the *thread* that created the child exits, so the pool
// uses a Launcher only from its long-lived manager thread. Thread-compatible. (One exception:
// the spare fork server a kForkServer launcher may take was created by the main thread, in
// InitProcessPool; see spare_fork_server.h.)
#ifndef CF_PROCESS_POOL_INTERNAL_LAUNCHER_H_
#define CF_PROCESS_POOL_INTERNAL_LAUNCHER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/unique_fd.h"
#include "cf/process_pool/start_method.h"

namespace cf::internal {

// The environment variable that tells a spawned program which role it plays.
inline constexpr char kRoleEnvVar[] = "CF_PROCESS_POOL_ROLE";
// The descriptors a worker reads calls from and writes results to.
inline constexpr int kWorkerInFd = 3;
inline constexpr int kWorkerOutFd = 4;
// The first of the worker's channel descriptors (shared_region.h: the rings, the call arena,
// the result arena, at 5, 6 and 7).
inline constexpr int kWorkerChannelFd = 5;
// The descriptor of a fork server's control socket.
inline constexpr int kForkServerFd = 3;
// Exit code of a spawned program that reached cf::ProcessPoolExecutor without having called
// cf::InitProcessPool (it would otherwise start pools of its own: a fork bomb).
inline constexpr int kMissingInitExitCode = 86;
// Exit code of a worker that could not put its pipes in place (it printed why on stderr).
inline constexpr int kSetupFailedExitCode = 87;

// The worker loop: reads calls from in_fd, writes results to out_fd; returns the exit code.
using WorkerMain = int (*)(int in_fd, int out_fd, int channel_fd);

struct WorkerProcess {
  pid_t pid = -1;
  UniqueFd pidfd;        // readable once the process has exited
  UniqueFd to_worker;    // the parent writes calls here
  UniqueFd from_worker;  // the parent reads results here
};

class Launcher {
 public:
  virtual ~Launcher() = default;

  // Starts one worker with `channel_fds` (which the caller keeps) as its shared channel. An
  // error says why none could be started (its message is the cause).
  virtual absl::StatusOr<WorkerProcess> Start(absl::Span<const int> channel_fds) = 0;
  // Once the worker's pidfd fired: its wait status, waiting up to `timeout` for it. An error
  // says why the status cannot be known (e.g. SIGCHLD is ignored, so the kernel reaped it).
  virtual absl::StatusOr<int> ExitStatus(const WorkerProcess& worker, absl::Duration timeout) = 0;
  // Frees what is left of a worker that is gone (or was just SIGKILLed): reaps a child.
  virtual void Release(const WorkerProcess& worker) = 0;
  // A descriptor for the manager's poll set, or -1; when it fires, the manager calls Poll(),
  // whose error means the launcher itself died (the pool cannot start or watch workers).
  virtual int poll_fd() const { return -1; }
  virtual absl::Status Poll() { return absl::OkStatus(); }
};

// The launcher for `method` (never kAuto). `worker_binary` empty: this program.
std::unique_ptr<Launcher> MakeLauncher(StartMethod method, const std::string& worker_binary,
                                       absl::Duration start_timeout);

// Run by cf::InitProcessPool in a spawned fork server; never returns (fork_server.cc).
[[noreturn]] void RunForkServer(int control_fd, pid_t parent, WorkerMain worker_main);

// What InitProcessPool found in the environment.
struct Role {
  enum Kind { kNone, kWorker, kForkServer } kind = kNone;
  pid_t parent = -1;
};
// Parses and removes CF_PROCESS_POOL_ROLE (so the program's own children do not see it).
absl::StatusOr<Role> TakeRoleFromEnvironment();
// True if this process was spawned as a worker or server (the variable is still set).
bool SpawnedByProcessPool();
// In a freshly started worker or server: die with the parent (PR_SET_PDEATHSIG), and exit now
// if the parent is already gone.
void DieWithParent(pid_t parent);

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_LAUNCHER_H_
