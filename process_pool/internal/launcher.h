// cf/process_pool/internal/launcher.h — starting, watching and reaping worker processes.
//
// Not part of the public API (see cf/process_pool/process_pool_executor.h). This layer knows
// nothing about frames or tasks: it creates a worker with two pipes (calls in, results out) and
// tells the pool when and how the worker ended.
//
// Start methods (DESIGN §5):
//   ForkWorker   fork()s this process; the child runs `worker_main(3, 4)` and _exit()s with its
//                result. Works without InitProcessPool.
//   SpawnWorker  posix_spawn()s `binary` (this program by default) with the role variable
//                CF_PROCESS_POOL_ROLE=worker:3,4:<parent pid>; cf::InitProcessPool(argc, argv)
//                at the top of the child's main sees it and runs the worker loop instead of main.
//   ForkServer   spawns one server that way (role forkserver:3:<parent pid>), then asks it over a
//                Unix socket to fork each worker; the server passes the workers' exit statuses
//                back because it, not the pool, is their parent.
//
// Hygiene, for every method: every descriptor cf creates is O_CLOEXEC; a worker keeps only
// stdin/stdout/stderr and its own two pipe ends (fork: close_range in the child; spawn:
// posix_spawn_file_actions_addclosefrom_np). Workers die with the parent: PR_SET_PDEATHSIG
// (SIGKILL) plus a getppid() check, and they also exit on EOF of their call pipe.
//
// Threads: PR_SET_PDEATHSIG fires when the *thread* that created the child exits, so the pool
// creates workers only from its long-lived manager thread. A ForkServer object is used by one
// thread at a time.
#ifndef CF_PROCESS_POOL_INTERNAL_LAUNCHER_H_
#define CF_PROCESS_POOL_INTERNAL_LAUNCHER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cf::internal {

// A move-only owner of a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The environment variable that tells a spawned program which role it plays.
inline constexpr char kRoleEnvVar[] = "CF_PROCESS_POOL_ROLE";
// The descriptors a worker reads calls from and writes results to.
inline constexpr int kWorkerInFd = 3;
inline constexpr int kWorkerOutFd = 4;
// The descriptor of a fork server's control socket.
inline constexpr int kForkServerFd = 3;
// Exit code of a spawned program that reached cf::ProcessPoolExecutor without having called
// cf::InitProcessPool (it would otherwise start pools of its own: a fork bomb).
inline constexpr int kMissingInitExitCode = 86;

// The worker loop: reads calls from in_fd, writes results to out_fd; returns the exit code.
using WorkerMain = int (*)(int in_fd, int out_fd);

struct WorkerProcess {
  pid_t pid = -1;
  UniqueFd pidfd;        // readable once the process has exited
  UniqueFd to_worker;    // the parent writes calls here
  UniqueFd from_worker;  // the parent reads results here
  bool is_child = true;  // false for fork-server workers: the server reaps them
};

// A pipe whose both ends are O_CLOEXEC and numbered >= 10 (so moving them to 3 and 4 in a child
// never collides).
absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end);

// kFork. The child calls worker_main(kWorkerInFd, kWorkerOutFd) and _exit()s.
absl::StatusOr<WorkerProcess> ForkWorker(WorkerMain worker_main);

// kSpawn. `binary` empty means this program (/proc/self/exe).
absl::StatusOr<WorkerProcess> SpawnWorker(const std::string& binary);

// Waits up to `timeout` for a child of this process (is_child) to exit, reaps it and returns its
// wait status; kUnavailable if it is still running then.
absl::StatusOr<int> ReapChild(const WorkerProcess& worker, absl::Duration timeout);

// "exit code 3", "signal 9 (SIGKILL)".
std::string DescribeWaitStatus(int wait_status);

// kForkServer: the pool's side of the fork server.
class ForkServer {
 public:
  // Spawns the server (`binary` empty: this program) and waits up to `start_timeout` for its
  // hello. FailedPrecondition if it exited first (e.g. main() lacks cf::InitProcessPool).
  static absl::StatusOr<std::unique_ptr<ForkServer>> Start(const std::string& binary,
                                                           absl::Duration start_timeout);
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  // Closes the control socket; the server then kills its workers and exits; it is reaped here.
  ~ForkServer();

  // Asks the server for a worker.
  absl::StatusOr<WorkerProcess> Fork();
  // The wait status of a worker the server reported as exited, waiting up to `timeout` for the
  // report. kUnavailable when it has not arrived in time.
  absl::StatusOr<int> WorkerExitStatus(pid_t pid, absl::Duration timeout);
  // Reads any exit reports waiting on the socket without blocking.
  absl::Status Poll();

  pid_t pid() const { return pid_; }
  // Readable when the server sent something (exit reports): for the pool's poll set.
  int control_fd() const { return control_.get(); }

 private:
  ForkServer() = default;
  absl::Status ReadMessages(absl::Duration timeout, pid_t want_fork_reply, pid_t* forked);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd control_;
  absl::flat_hash_map<pid_t, int> exit_statuses_;
};

// Run by cf::InitProcessPool in a spawned fork server; never returns.
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
