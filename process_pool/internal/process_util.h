// cf/process_pool/internal/process_util.h — the system-call helpers the launchers share: pipes,
// pidfds, putting a child's descriptors in place, spawning the worker program, reaping.
//
// Not part of the public API. Every function is thread-safe; the *InChild functions are
// async-signal-safe (they run between fork() and exec or the worker loop).
#ifndef CF_PROCESS_POOL_INTERNAL_PROCESS_UTIL_H_
#define CF_PROCESS_POOL_INTERNAL_PROCESS_UTIL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/unique_fd.h"

namespace cf::internal {

absl::Status ErrnoStatus(absl::string_view what);

// A pipe whose both ends are O_CLOEXEC and numbered above the descriptors a child uses (>= 10
// when the descriptor limit allows, else >= 5), so renumbering them in a child never collides.
absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end);
// Moves fd above the low numbers the same way, O_CLOEXEC; closes the original.
absl::StatusOr<UniqueFd> MoveHigh(int fd);
absl::StatusOr<UniqueFd> PidFdOpen(pid_t pid);
int PidfdSignal(int pidfd, int sig);

// In a forked child: switches off abseil's deadlock detection (its graph lock may be held by a
// parent thread), then keeps only stdin/out/err and `fds`, renumbered to 3, 4, ... On failure
// it prints why on stderr and _exit(kSetupFailedExitCode)s.
void SetUpChild(const int* fds, int count);

// posix_spawn of `binary` (empty: this program) with CF_PROCESS_POOL_ROLE=role and `fds` moved
// to 3, 4, ...
absl::StatusOr<pid_t> SpawnProgram(const std::string& binary, const std::string& role,
                                   const std::vector<int>& fds);
// The same with fork() and execve(): returns as soon as the child exists, where posix_spawn()
// waits until the child has exec'd (on a busy machine, until the scheduler runs it: milliseconds
// at times). The price: a program that cannot be executed is not reported here; the child exits
// with code 127. The child of fork() runs this process's pthread_atfork handlers, then only
// async-signal-safe calls.
absl::StatusOr<pid_t> ForkExecProgram(const std::string& binary, const std::string& role,
                                      const std::vector<int>& fds);
// "<role>:<fds>:<this pid>".
std::string RoleValue(absl::string_view role, absl::string_view fds);

// The parent's side of a started worker: its pidfd and the two pipe ends. Kills and reaps a
// child whose pidfd cannot be opened.
absl::StatusOr<WorkerProcess> FinishStart(pid_t pid, UniqueFd call_write, UniqueFd result_read,
                                          bool is_child);

// Waits up to `timeout` for a child of this process to exit, reaps it and returns its wait
// status; kUnavailable if it still runs; kFailedPrecondition naming the reason when the status
// was lost because SIGCHLD is ignored here (the kernel reaped the child itself).
absl::StatusOr<int> ReapChild(pid_t pid, int pidfd, absl::Duration timeout);

// "exit code 3", "signal 9 (SIGKILL)".
std::string DescribeWaitStatus(int wait_status);

// The part of Launcher shared by kFork and kSpawn, whose workers are this process's children.
class ChildLauncher : public Launcher {
 public:
  absl::StatusOr<int> ExitStatus(const WorkerProcess& worker, absl::Duration timeout) override;
  void Release(const WorkerProcess& worker) override;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_PROCESS_UTIL_H_
