#include "cf/process_pool/internal/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace cf::internal {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::ErrnoToStatus(errno, absl::StrCat("process pool: ", what));
}

// Moves fd to a number >= 10 with O_CLOEXEC; closes the original.
absl::StatusOr<UniqueFd> HighCloexec(int fd) {
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  const int saved = errno;
  close(fd);
  if (high < 0) {
    errno = saved;
    return Errno("fcntl(F_DUPFD_CLOEXEC)");
  }
  return UniqueFd(high);
}

int PidfdSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

absl::StatusOr<UniqueFd> PidFdOpen(pid_t pid) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return Errno(absl::StrCat("pidfd_open(", pid, ")"));
  return HighCloexec(fd);
}

// In a forked child: keep only stdin/out/err and the given descriptors, renumbered to 3, 4, ...
// Async-signal-safe calls only (the parent may be multi-threaded).
void KeepOnly(const int* fds, int count) {
  // First out of the way (so no source is a later target), then into place; dup2 leaves the
  // new descriptor without FD_CLOEXEC.
  int high[8];
  for (int i = 0; i < count && i < 8; ++i) high[i] = fcntl(fds[i], F_DUPFD, 100);
  for (int i = 0; i < count && i < 8; ++i) dup2(high[i], 3 + i);
  close_range(3 + count, ~0U, 0);
}

void UnblockAllSignals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::string RoleValue(absl::string_view role, absl::string_view fds) {
  return absl::StrCat(role, ":", fds, ":", getpid());
}

// posix_spawn of `binary` with the role variable set and `fds` moved to 3, 4, ...
absl::StatusOr<pid_t> Spawn(const std::string& binary, const std::string& role,
                            const std::vector<int>& fds) {
  const std::string path = binary.empty() ? "/proc/self/exe" : binary;
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

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, absl::StrCat(kRoleEnvVar, "="))) continue;
    env_strings.emplace_back(*e);
  }
  env_strings.push_back(absl::StrCat(kRoleEnvVar, "=", role));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[] = {arg0.data(), nullptr};

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::ErrnoToStatus(rc, absl::StrCat("process pool: cannot start worker program '",
                                                path, "' (set Options::worker_binary?)"));
  }
  return pid;
}

// The parent's side of a started worker: its pidfd and the parent's two pipe ends. Kills and
// reaps a child whose pidfd cannot be opened.
absl::StatusOr<WorkerProcess> Finish(pid_t pid, UniqueFd call_write, UniqueFd result_read,
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
  worker.is_child = is_child;
  return worker;
}

}  // namespace

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  absl::StatusOr<UniqueFd> r = HighCloexec(fds[0]);
  absl::StatusOr<UniqueFd> w = HighCloexec(fds[1]);
  if (!r.ok()) return r.status();
  if (!w.ok()) return w.status();
  read_end = *std::move(r);
  write_end = *std::move(w);
  return absl::OkStatus();
}

absl::StatusOr<WorkerProcess> ForkWorker(WorkerMain worker_main) {
  UniqueFd call_read, call_write, result_read, result_write;
  if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
  if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    // The child: only async-signal-safe calls until the descriptors are settled.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int keep[2] = {call_read.get(), result_write.get()};
    KeepOnly(keep, 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    UnblockAllSignals();
    _exit(worker_main(kWorkerInFd, kWorkerOutFd));
  }
  return Finish(pid, std::move(call_write), std::move(result_read), /*is_child=*/true);
}

absl::StatusOr<WorkerProcess> SpawnWorker(const std::string& binary) {
  UniqueFd call_read, call_write, result_read, result_write;
  if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
  if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
  absl::StatusOr<pid_t> pid = Spawn(
      binary, RoleValue("worker", absl::StrCat(kWorkerInFd, ",", kWorkerOutFd)),
      {call_read.get(), result_write.get()});
  if (!pid.ok()) return pid.status();
  return Finish(*pid, std::move(call_write), std::move(result_read), /*is_child=*/true);
}

absl::StatusOr<int> ReapChild(const WorkerProcess& worker, absl::Duration timeout) {
  if (timeout > absl::ZeroDuration()) {
    pollfd p{worker.pidfd.get(), POLLIN, 0};
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
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(worker.pidfd.get()), &info,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Errno(absl::StrCat("waitid(worker ", worker.pid, ")"));
  if (info.si_pid == 0) {
    return absl::UnavailableError(absl::StrCat("worker ", worker.pid, " is still running"));
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

// ---- The fork server ----------------------------------------------------------------------
//
// Messages on the SOCK_SEQPACKET control socket (host byte order; both ends run the same
// program on the same machine):
//   pool → server   'F'                 + two descriptors (SCM_RIGHTS): call read end, result
//                                         write end. "Fork a worker on these."
//   server → pool   'H' pid             hello: the server runs (sent once, first)
//   server → pool   'P' pid             the worker forked for the last 'F' (pid -errno: failed)
//   server → pool   'X' pid status      a worker exited with this wait status

namespace {

struct ServerMessage {
  char type;
  int32_t pid;
  int32_t status;
};

bool SendMessage(int fd, const ServerMessage& m) {
  ssize_t n;
  do {
    n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(m));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ForkServer>> ForkServer::Start(const std::string& binary,
                                                             absl::Duration start_timeout) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Errno("socketpair");
  absl::StatusOr<UniqueFd> ours = HighCloexec(sv[0]);
  absl::StatusOr<UniqueFd> theirs = HighCloexec(sv[1]);
  if (!ours.ok()) return ours.status();
  if (!theirs.ok()) return theirs.status();
  absl::StatusOr<pid_t> pid =
      Spawn(binary, RoleValue("forkserver", absl::StrCat(kForkServerFd)), {theirs->get()});
  if (!pid.ok()) return pid.status();
  auto server = std::unique_ptr<ForkServer>(new ForkServer());
  server->pid_ = *pid;
  absl::StatusOr<UniqueFd> pidfd = PidFdOpen(*pid);
  if (!pidfd.ok()) {
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
    server->pid_ = -1;
    return pidfd.status();
  }
  server->pidfd_ = *std::move(pidfd);
  server->control_ = *std::move(ours);
  theirs->Reset();
  // Wait for the server's hello; a program without cf::InitProcessPool never sends it.
  const absl::Time deadline = absl::Now() + start_timeout;
  for (;;) {
    ServerMessage m;
    const ssize_t n = recv(server->control_.get(), &m, sizeof(m), MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof(m)) && m.type == 'H') return server;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p[2] = {{server->control_.get(), POLLIN, 0}, {server->pidfd_.get(), POLLIN, 0}};
    poll(p, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (p[1].revents != 0 && (p[0].revents & POLLIN) == 0) break;  // exited without a word
  }
  // No hello: say how the server ended (or kill it if it is still running).
  WorkerProcess as_child;
  as_child.pid = server->pid_;
  as_child.pidfd = std::move(server->pidfd_);
  server->pid_ = -1;
  absl::StatusOr<int> status = ReapChild(as_child, absl::ZeroDuration());
  if (!status.ok()) {
    PidfdSignal(as_child.pidfd.get(), SIGKILL);
    ReapChild(as_child, absl::InfiniteDuration()).IgnoreError();
    return absl::DeadlineExceededError(absl::StrCat(
        "the fork server (pid ", as_child.pid, ") did not start within ",
        absl::FormatDuration(start_timeout)));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the fork server (pid ", as_child.pid, ") exited with ",
                   DescribeWaitStatus(*status),
                   *status == (kMissingInitExitCode << 8)
                       ? " because it reached a ProcessPoolExecutor instead of serving"
                       : " before it started"));
}

ForkServer::~ForkServer() {
  if (pid_ <= 0) return;
  control_.Reset();  // the server sees EOF, kills its workers and exits
  WorkerProcess as_child;
  as_child.pid = pid_;
  as_child.pidfd = std::move(pidfd_);
  if (!ReapChild(as_child, absl::Seconds(5)).ok()) {
    kill(pid_, SIGKILL);
    ReapChild(as_child, absl::InfiniteDuration()).IgnoreError();
  }
}

absl::Status ForkServer::ReadMessages(absl::Duration timeout, pid_t want_fork_reply,
                                      pid_t* forked) {
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  bool got_any = false;
  for (;;) {
    ServerMessage m;
    const ssize_t n = recv(control_.get(), &m, sizeof(m), MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof(m))) {
      if (m.type == 'X') {
        exit_statuses_[m.pid] = m.status;
        got_any = true;
      } else if (m.type == 'P' && want_fork_reply != 0) {
        *forked = m.pid;
        return absl::OkStatus();
      }
      continue;
    }
    if (n == 0) {
      return absl::UnavailableError(absl::StrCat("the fork server (pid ", pid_, ") exited"));
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return Errno("recv(fork server)");
    if (n > 0) return absl::DataLossError("fork server: short message");
    // Nothing more there: done, unless we wait for a fork reply or for a first report.
    if (want_fork_reply == 0 && (got_any || timeout <= absl::ZeroDuration())) {
      return absl::OkStatus();
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the fork server (pid ", pid_, ") did not answer in time"));
    }
    pollfd p{control_.get(), POLLIN, 0};
    const int ms = deadline == absl::InfiniteFuture()
                       ? -1
                       : static_cast<int>(absl::ToInt64Milliseconds(deadline - now)) + 1;
    if (poll(&p, 1, ms) < 0 && errno != EINTR) return Errno("poll(fork server)");
    if (want_fork_reply == 0 && p.revents == 0) return absl::OkStatus();
  }
}

absl::StatusOr<WorkerProcess> ForkServer::Fork() {
  UniqueFd call_read, call_write, result_read, result_write;
  if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
  if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
  ServerMessage m{'F', 0, 0};
  iovec iov{&m, sizeof(m)};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int fds[2] = {call_read.get(), result_write.get()};
  memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
  ssize_t n;
  do {
    n = sendmsg(control_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(absl::StrCat("sendmsg(fork server pid ", pid_, ")"));
  pid_t pid = 0;
  if (absl::Status s = ReadMessages(absl::Seconds(30), /*want_fork_reply=*/1, &pid); !s.ok()) {
    return s;
  }
  if (pid <= 0) {
    return absl::ErrnoToStatus(-pid, "process pool: the fork server could not fork a worker");
  }
  return Finish(pid, std::move(call_write), std::move(result_read), /*is_child=*/false);
}

absl::StatusOr<int> ForkServer::WorkerExitStatus(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    auto it = exit_statuses_.find(pid);
    if (it != exit_statuses_.end()) {
      const int status = it->second;
      exit_statuses_.erase(it);
      return status;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(
          absl::StrCat("the fork server did not report worker ", pid, "'s exit in time"));
    }
    if (absl::Status s = ReadMessages(left, /*want_fork_reply=*/0, nullptr); !s.ok()) return s;
  }
}

absl::Status ForkServer::Poll() { return ReadMessages(absl::ZeroDuration(), 0, nullptr); }

void RunForkServer(int control_fd, pid_t parent, WorkerMain worker_main) {
  DieWithParent(parent);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  SendMessage(control_fd, ServerMessage{'H', getpid(), 0});
  std::vector<pid_t> children;
  auto reap = [&] {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      SendMessage(control_fd, ServerMessage{'X', pid, status});
      std::erase(children, pid);
    }
  };
  for (;;) {
    pollfd p[2] = {{control_fd, POLLIN, 0}, {sigfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents != 0) {
      signalfd_siginfo info;
      while (read(sigfd, &info, sizeof(info)) > 0) {
      }
      reap();
    }
    if (p[0].revents == 0) continue;
    ServerMessage m{};
    iovec iov{&m, sizeof(m)};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(control_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the pool closed the socket or died
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (m.type != 'F' || cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS ||
        cmsg->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
      break;  // not our protocol: stop rather than guess
    }
    int fds[2];
    memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));
    const pid_t server = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != server) _exit(1);
      KeepOnly(fds, 2);
      UnblockAllSignals();
      _exit(worker_main(kWorkerInFd, kWorkerOutFd));
    }
    close(fds[0]);
    close(fds[1]);
    if (pid > 0) children.push_back(pid);
    SendMessage(control_fd, ServerMessage{'P', pid > 0 ? pid : -errno, 0});
  }
  for (pid_t child : children) kill(child, SIGKILL);
  for (pid_t child : children) waitpid(child, nullptr, 0);
  _exit(0);
}

absl::StatusOr<Role> TakeRoleFromEnvironment() {
  const char* value = getenv(kRoleEnvVar);
  Role role;
  if (value == nullptr) return role;
  const std::string text = value;
  unsetenv(kRoleEnvVar);
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  int parent = -1;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &parent)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cf::InitProcessPool: malformed ", kRoleEnvVar, "='", text, "'"));
  }
  role.parent = parent;
  if (parts[0] == "worker") {
    role.kind = Role::kWorker;
  } else if (parts[0] == "forkserver") {
    role.kind = Role::kForkServer;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cf::InitProcessPool: unknown role in ", kRoleEnvVar, "='", text, "'"));
  }
  return role;
}

bool SpawnedByProcessPool() { return getenv(kRoleEnvVar) != nullptr; }

void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
}

}  // namespace cf::internal
