#include "cf/process_pool/internal/fork_server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/process_util.h"
#include "cf/process_pool/internal/shared_region.h"

namespace cf::internal {
namespace {

struct ServerMessage {
  char type;
  int32_t pid;
  int32_t status;
};

// A worker's descriptors in an 'F' message: its two pipe ends and its channel's memfds.
constexpr size_t kChannelFdCount = SharedRegion::kWorkerChannelFds;
constexpr size_t kPassedFds = 2 + kChannelFdCount;

// An 'F' message with room for its descriptors, set up for sendmsg/recvmsg.
struct ForkRequest {
  ForkRequest() {
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
  ForkRequest(const ForkRequest&) = delete;
  ForkRequest& operator=(const ForkRequest&) = delete;

  ServerMessage message{};
  iovec iov{&message, sizeof(message)};
  alignas(cmsghdr) char control[CMSG_SPACE(kPassedFds * sizeof(int))] = {};
  msghdr header{};
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
  absl::StatusOr<std::unique_ptr<ForkServer>> server = Spawn(binary);
  if (!server.ok()) return server.status();
  if (absl::Status s = (*server)->AwaitHello(start_timeout); !s.ok()) return s;
  return server;
}

absl::StatusOr<std::unique_ptr<ForkServer>> ForkServer::Spawn(const std::string& binary, Via via) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoStatus("socketpair");
  absl::StatusOr<UniqueFd> ours = MoveHigh(sv[0]);
  absl::StatusOr<UniqueFd> theirs = MoveHigh(sv[1]);
  if (!ours.ok()) return ours.status();
  if (!theirs.ok()) return theirs.status();
  const std::string role = RoleValue("forkserver", absl::StrCat(kForkServerFd));
  absl::StatusOr<pid_t> pid = via == Via::kForkExec
                                  ? ForkExecProgram(binary, role, {theirs->get()})
                                  : SpawnProgram(binary, role, {theirs->get()});
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
  return server;
}

absl::Status ForkServer::AwaitHello(absl::Duration start_timeout) {
  // Wait for the server's hello; a program without cf::InitProcessPool never sends it.
  const absl::Time deadline = absl::Now() + start_timeout;
  for (;;) {
    ServerMessage m;
    const ssize_t n = recv(control_.get(), &m, sizeof(m), MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof(m)) && m.type == 'H') return absl::OkStatus();
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p[2] = {{control_.get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
    poll(p, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (p[1].revents != 0 && (p[0].revents & POLLIN) == 0) break;  // exited without a word
  }
  // No hello: say how the server ended (or kill it if it is still running).
  const pid_t server_pid = pid_;
  UniqueFd server_pidfd = std::move(pidfd_);
  pid_ = -1;
  control_.Reset();
  absl::StatusOr<int> status = ReapChild(server_pid, server_pidfd.get(), absl::ZeroDuration());
  if (absl::IsUnavailable(status.status())) {
    PidfdSignal(server_pidfd.get(), SIGKILL);
    ReapChild(server_pid, server_pidfd.get(), absl::InfiniteDuration()).IgnoreError();
    return absl::DeadlineExceededError(absl::StrCat(
        "the fork server (pid ", server_pid, ") did not start within ",
        absl::FormatDuration(start_timeout)));
  }
  if (!status.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the fork server (pid ", server_pid, ") exited before it started; ",
        status.status().message()));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the fork server (pid ", server_pid, ") exited with ",
                   DescribeWaitStatus(*status),
                   *status == (kMissingInitExitCode << 8)
                       ? " because it reached a ProcessPoolExecutor instead of serving"
                       : " before it started"));
}

ForkServer::~ForkServer() {
  if (pid_ <= 0) return;
  control_.Reset();  // the server sees EOF, kills its workers and exits
  if (absl::IsUnavailable(ReapChild(pid_, pidfd_.get(), absl::Seconds(5)).status())) {
    PidfdSignal(pidfd_.get(), SIGKILL);
    ReapChild(pid_, pidfd_.get(), absl::InfiniteDuration()).IgnoreError();
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
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return ErrnoStatus("recv(fork server)");
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
    if (poll(&p, 1, ms) < 0 && errno != EINTR) return ErrnoStatus("poll(fork server)");
    if (want_fork_reply == 0 && p.revents == 0) return absl::OkStatus();
  }
}

absl::StatusOr<WorkerProcess> ForkServer::Fork(absl::Span<const int> channel_fds) {
  if (channel_fds.size() != kChannelFdCount) {
    return absl::InvalidArgumentError("the fork server takes three channel descriptors");
  }
  UniqueFd call_read, call_write, result_read, result_write;
  if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
  if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
  ForkRequest request;
  request.message = ServerMessage{'F', 0, 0};
  msghdr& msg = request.header;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(kPassedFds * sizeof(int));
  int fds[kPassedFds] = {call_read.get(), result_write.get()};
  std::copy(channel_fds.begin(), channel_fds.end(), fds + 2);
  memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
  ssize_t n;
  do {
    n = sendmsg(control_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(absl::StrCat("sendmsg(fork server pid ", pid_, ")"));
  pid_t pid = 0;
  if (absl::Status s = ReadMessages(absl::Seconds(30), /*want_fork_reply=*/1, &pid); !s.ok()) {
    return s;
  }
  if (pid <= 0) {
    return absl::ErrnoToStatus(-pid, "process pool: the fork server could not fork a worker");
  }
  return FinishStart(pid, std::move(call_write), std::move(result_read), /*is_child=*/false);
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
    ForkRequest request;
    const ServerMessage& m = request.message;
    msghdr& msg = request.header;
    const ssize_t n = recvmsg(control_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the pool closed the socket or died
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (m.type != 'F' || cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS ||
        cmsg->cmsg_len != CMSG_LEN(kPassedFds * sizeof(int))) {
      break;  // not our protocol: stop rather than guess
    }
    int fds[kPassedFds];
    memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));
    const pid_t server = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != server) _exit(1);
      SetUpChild(fds, kPassedFds);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      _exit(worker_main(kWorkerInFd, kWorkerOutFd, kWorkerChannelFd));
    }
    for (int fd : fds) close(fd);
    if (pid > 0) children.push_back(pid);
    SendMessage(control_fd, ServerMessage{'P', pid > 0 ? pid : -errno, 0});
  }
  for (pid_t child : children) kill(child, SIGKILL);
  for (pid_t child : children) waitpid(child, nullptr, 0);
  _exit(0);
}

}  // namespace cf::internal
