#include "cf/process_pool/internal/process_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

extern char** environ;

namespace cf::internal {
namespace {

// Async-signal-safe: writes the pieces to stderr.
void WriteStderr(std::initializer_list<const char*> pieces) {
  for (const char* piece : pieces) {
    if (piece == nullptr) continue;
    size_t left = strlen(piece);
    while (left > 0) {
      const ssize_t n = write(2, piece, left);
      if (n <= 0) return;
      piece += n;
      left -= static_cast<size_t>(n);
    }
  }
}

bool SigchldIgnored() {
  struct sigaction current;
  if (sigaction(SIGCHLD, nullptr, &current) != 0) return false;
  return (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) ||
         (current.sa_flags & SA_NOCLDWAIT) != 0;
}

}  // namespace

absl::Status ErrnoStatus(absl::string_view what) {
  return absl::ErrnoToStatus(errno, absl::StrCat("process pool: ", what));
}

absl::StatusOr<UniqueFd> MoveHigh(int fd) {
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0 && errno == EINVAL) high = fcntl(fd, F_DUPFD_CLOEXEC, 5);  // a limit <= 10
  const int saved = errno;
  close(fd);
  if (high < 0) {
    errno = saved;
    return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC)");
  }
  return UniqueFd(high);
}

absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2");
  absl::StatusOr<UniqueFd> r = MoveHigh(fds[0]);
  absl::StatusOr<UniqueFd> w = MoveHigh(fds[1]);
  if (!r.ok()) return r.status();
  if (!w.ok()) return w.status();
  read_end = *std::move(r);
  write_end = *std::move(w);
  return absl::OkStatus();
}

int PidfdSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

absl::StatusOr<UniqueFd> PidFdOpen(pid_t pid) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoStatus(absl::StrCat("pidfd_open(", pid, ")"));
  return MoveHigh(fd);
}

void SetUpChild(const int* fds, int count) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Close everything else first (a forked child holds all of its parent's descriptors), so that
  // the moves below find room even under a low descriptor limit.
  int sorted[8];
  int n = 0;
  for (int i = 0; i < count && i < 8; ++i) {
    int j = n++;
    for (; j > 0 && sorted[j - 1] > fds[i]; --j) sorted[j] = sorted[j - 1];
    sorted[j] = fds[i];
  }
  unsigned next = 3;
  for (int i = 0; i < n; ++i) {
    if (static_cast<unsigned>(sorted[i]) > next) {
      close_range(next, static_cast<unsigned>(sorted[i]) - 1, 0);
    }
    next = static_cast<unsigned>(sorted[i]) + 1;
  }
  close_range(next, ~0U, 0);
  // Out of the way, above every target (so no source is a later target), then into place;
  // dup2 leaves the new descriptor without FD_CLOEXEC.
  int high[8];
  for (int i = 0; i < count && i < 8; ++i) {
    high[i] = fcntl(fds[i], F_DUPFD, 3 + count);
    if (high[i] < 0) {
      WriteStderr({"cf: process-pool worker could not move its pipes into place: fcntl(F_DUPFD): ",
                   strerrorname_np(errno),
                   " (raise the descriptor limit, ulimit -n)\n"});
      _exit(kSetupFailedExitCode);
    }
  }
  for (int i = 0; i < count && i < 8; ++i) {
    if (dup2(high[i], 3 + i) < 0) {
      WriteStderr({"cf: process-pool worker could not move its pipes into place: dup2: ",
                   strerrorname_np(errno), "\n"});
      _exit(kSetupFailedExitCode);
    }
  }
  close_range(static_cast<unsigned>(3 + count), ~0U, 0);
}

std::string RoleValue(absl::string_view role, absl::string_view fds) {
  return absl::StrCat(role, ":", fds, ":", getpid());
}

namespace {

// The argument and environment vectors of a spawned program: this one's environment with
// CF_PROCESS_POOL_ROLE=role.
class ProgramArgs {
 public:
  ProgramArgs(const std::string& binary, const std::string& role)
      : path_(binary.empty() ? "/proc/self/exe" : binary), arg0_(path_) {
    for (char** e = environ; *e != nullptr; ++e) {
      if (absl::StartsWith(*e, absl::StrCat(kRoleEnvVar, "="))) continue;
      env_strings_.emplace_back(*e);
    }
    env_strings_.push_back(absl::StrCat(kRoleEnvVar, "=", role));
    for (std::string& s : env_strings_) envp_.push_back(s.data());
    envp_.push_back(nullptr);
    argv_[0] = arg0_.data();
  }
  const std::string& path() const { return path_; }
  char** argv() { return argv_; }
  char** envp() { return envp_.data(); }

 private:
  std::string path_;
  std::string arg0_;
  char* argv_[2] = {nullptr, nullptr};
  std::vector<std::string> env_strings_;
  std::vector<char*> envp_;
};

}  // namespace

absl::StatusOr<pid_t> SpawnProgram(const std::string& binary, const std::string& role,
                                   const std::vector<int>& fds) {
  ProgramArgs args(binary, role);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (size_t i = 0; i < fds.size(); ++i) {
    posix_spawn_file_actions_adddup2(&actions, fds[i], static_cast<int>(3 + i));
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, static_cast<int>(3 + fds.size()));
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, args.path().c_str(), &actions, &attr, args.argv(), args.envp());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::ErrnoToStatus(rc, absl::StrCat("process pool: cannot start worker program '",
                                                args.path(), "' (set Options::worker_binary?)"));
  }
  return pid;
}

absl::StatusOr<pid_t> ForkExecProgram(const std::string& binary, const std::string& role,
                                      const std::vector<int>& fds) {
  ProgramArgs args(binary, role);
  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid > 0) return pid;
  // The child: async-signal-safe calls only, then the program (posix_spawn's settings). It
  // yields first: a new child may otherwise preempt the parent on its core when every core is
  // busy, and the parent then waits for the child's exec and start (about 1.3 ms on the 2-core
  // development VM under load, against 0.15 ms; sched_yield() makes that rarer).
  sched_yield();
  SetUpChild(fds.data(), static_cast<int>(fds.size()));
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &default_action, nullptr);
  sigaction(SIGCHLD, &default_action, nullptr);
  execve(args.path().c_str(), args.argv(), args.envp());
  _exit(127);
}

absl::StatusOr<WorkerProcess> FinishStart(pid_t pid, UniqueFd call_write, UniqueFd result_read,
                                          bool is_child) {
  absl::StatusOr<UniqueFd> pidfd = PidFdOpen(pid);
  if (!pidfd.ok()) {
    if (is_child) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    return pidfd.status();
  }
  WorkerProcess worker;
  worker.pid = pid;
  worker.pidfd = *std::move(pidfd);
  worker.to_worker = std::move(call_write);
  worker.from_worker = std::move(result_read);
  return worker;
}

absl::StatusOr<int> ReapChild(pid_t pid, int pidfd, absl::Duration timeout) {
  if (timeout > absl::ZeroDuration()) {
    pollfd p{pidfd, POLLIN, 0};
    const int ms = timeout == absl::InfiniteDuration()
                       ? -1
                       : static_cast<int>(absl::ToInt64Milliseconds(timeout));
    int rc;
    do {
      rc = poll(&p, 1, ms);
    } while (rc < 0 && errno == EINTR);
  }
  siginfo_t info{};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == ECHILD && SigchldIgnored()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "its exit status cannot be known: SIGCHLD is ignored in this process (SIG_IGN or "
          "SA_NOCLDWAIT), so the kernel reaped worker ", pid,
          " before its status could be read"));
    }
    return ErrnoStatus(absl::StrCat("waitid(worker ", pid, ")"));
  }
  if (info.si_pid == 0) {
    return absl::UnavailableError(absl::StrCat("worker ", pid, " is still running"));
  }
  // Rebuild a wait status so callers use the usual W* macros.
  if (info.si_code == CLD_EXITED) return (info.si_status & 0xff) << 8;
  return info.si_status & 0x7f;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return absl::StrCat("signal ", sig, " (", abbrev != nullptr ? absl::StrCat("SIG", abbrev)
                                                                 : std::string("unknown"),
                        ")");
  }
  return absl::StrCat("wait status ", status);
}

absl::StatusOr<int> ChildLauncher::ExitStatus(const WorkerProcess& worker,
                                              absl::Duration timeout) {
  return ReapChild(worker.pid, worker.pidfd.get(), timeout);
}

void ChildLauncher::Release(const WorkerProcess& worker) {
  ReapChild(worker.pid, worker.pidfd.get(), absl::InfiniteDuration()).IgnoreError();
}

}  // namespace cf::internal
