#include "cf/process_pool/internal/spare_fork_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/fork_server.h"
#include "cf/process_pool/internal/process_util.h"

extern char** environ;

namespace cf::internal {
namespace {

// kNone ─► kStarting ─► kReady ─► kTaken (a pool owns it) or kGone (discarded or forgotten).
enum State : int { kNone, kStarting, kReady, kTaken, kGone };

struct Spare {
  std::unique_ptr<ForkServer> server;  // moved out by its one owner (see State)
  pid_t owner = -1;                    // the process that spawned it
  // Copies of the server's figures, for the fork handler and the tests (immutable once kReady).
  pid_t pid = -1;
  int control_fd = -1;
  int pidfd = -1;
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  std::string context;  // SpawnContext() when it was spawned
};

std::atomic<int> state{kNone};
// Set before state becomes kReady (release); never freed while a process may read it.
std::atomic<Spare*> spare{nullptr};

bool PrestartDisabled() {
  const char* value = getenv(kPrestartEnvVar);
  if (value == nullptr) return false;
  const std::string v = absl::AsciiStrToLower(value);
  return v == "0" || v == "false" || v == "no" || v == "off";
}

// What a spawned server inherits from the calling thread that a program may change between
// InitProcessPool and its first pool (see the header).
std::string SpawnContext() {
  std::string c;
  char cwd[PATH_MAX];
  absl::StrAppend(&c, "cwd=", getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : "?", "\n");
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  absl::StrAppend(&c, "ids=", ruid, ",", euid, ",", suid, ",", rgid, ",", egid, ",", sgid, ":");
  std::vector<gid_t> groups(static_cast<size_t>(std::max(0, getgroups(0, nullptr))));
  const int n = getgroups(static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < n; ++i) absl::StrAppend(&c, groups[i], ",");
  c += "\nlimits=";
  for (const auto resource : {RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE,
                              RLIMIT_LOCKS, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE,
                              RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_RSS, RLIMIT_RTPRIO,
                              RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK}) {
    rlimit limit{};
    getrlimit(resource, &limit);
    absl::StrAppend(&c, limit.rlim_cur, ":", limit.rlim_max, ",");
  }
  c += "\nstdio=";
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st {};
    if (fstat(fd, &st) == 0) {
      absl::StrAppend(&c, st.st_dev, ":", st.st_ino, ",");
    } else {
      c += "closed,";
    }
  }
  c += "\naffinity=";
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  sched_getaffinity(0, sizeof(cpus), &cpus);
  c.append(reinterpret_cast<const char*>(&cpus), sizeof(cpus));
  c += "\nenv=";
  for (char** e = environ; *e != nullptr; ++e) {
    c += *e;
    c += '\0';
  }
  return c;
}

// The spare of another process (a child made by a raw clone, which ran no fork handler): never
// signalled or reaped from here. Its control socket is closed if the descriptor still is it.
void ForgetForeign(Spare& s) {
  struct stat st {};
  if (fstat(s.control_fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s.socket_dev &&
      st.st_ino == s.socket_ino) {
    close(s.control_fd);
  }
  (void)s.server.release();  // its descriptors are not ours to close again
}

void KillAndReap(std::unique_ptr<ForkServer> server) {
  if (server == nullptr) return;
  PidfdSignal(server->pidfd(), SIGKILL);
  server.reset();  // ~ForkServer closes the socket and reaps the (dead or dying) server
}

// pthread_atfork child handler. Async-signal-safe, no lock: a kFork worker runs it too.
void ForgetInChild() {
  int ready = kReady;
  if (!state.compare_exchange_strong(ready, kGone, std::memory_order_acq_rel)) return;
  const Spare* s = spare.load(std::memory_order_acquire);
  close(s->control_fd);
  close(s->pidfd);
  // s->server keeps the closed numbers; nothing destroys it in this process (see Reset).
}

// atexit handler: no zombie, no orphan left behind.
void DiscardAtExit() {
  int ready = kReady;
  if (!state.compare_exchange_strong(ready, kGone, std::memory_order_acq_rel)) return;
  Spare* s = spare.load(std::memory_order_acquire);
  if (s->owner != getpid()) {
    ForgetForeign(*s);
    return;
  }
  KillAndReap(std::move(s->server));
}

// Threads in this process (field 20 of /proc/self/stat); 0 if unknown.
int ThreadCount() {
  char buf[1024];
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');  // the command name may hold spaces and parentheses
  for (int field = 2; p != nullptr && field < 20; ++field) p = strchr(p + 1, ' ');
  return p == nullptr ? 0 : atoi(p + 1);
}

bool Exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

}  // namespace

void PrestartForkServer() {
  if (PrestartDisabled() || syscall(SYS_gettid) != getpid()) return;
  int none = kNone;
  if (!state.compare_exchange_strong(none, kStarting, std::memory_order_acq_rel)) return;
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, &ForgetInChild);
    std::atexit(&DiscardAtExit);
    return true;
  }();
  (void)registered;
  auto s = std::make_unique<Spare>();
  s->context = SpawnContext();
  // fork()+execve() returns at once, where posix_spawn() waits for the child to exec (on a busy
  // machine, for the scheduler: milliseconds). Only in a single-threaded process (the usual case
  // at the top of main()): a sanitizer's interceptors are not safe in the child of a
  // multi-threaded one, and a big multi-threaded process has many page tables to copy.
  const ForkServer::Via via =
      ThreadCount() == 1 ? ForkServer::Via::kForkExec : ForkServer::Via::kPosixSpawn;
  absl::StatusOr<std::unique_ptr<ForkServer>> server = ForkServer::Spawn(/*binary=*/"", via);
  struct stat st {};
  if (!server.ok() || fstat((*server)->control_fd(), &st) != 0) {
    if (server.ok()) KillAndReap(*std::move(server));
    state.store(kGone, std::memory_order_release);
    return;
  }
  s->owner = getpid();
  s->pid = (*server)->pid();
  s->control_fd = (*server)->control_fd();
  s->pidfd = (*server)->pidfd();
  s->socket_dev = st.st_dev;
  s->socket_ino = st.st_ino;
  s->server = *std::move(server);
  spare.store(s.release(), std::memory_order_release);
  state.store(kReady, std::memory_order_release);
}

absl::StatusOr<std::unique_ptr<ForkServer>> TakeSpareForkServer(absl::Duration start_timeout) {
  if (state.load(std::memory_order_acquire) != kReady) return nullptr;
  int ready = kReady;
  if (!state.compare_exchange_strong(ready, kTaken, std::memory_order_acq_rel)) return nullptr;
  Spare* s = spare.load(std::memory_order_acquire);
  if (s->owner != getpid()) {
    state.store(kGone, std::memory_order_release);
    ForgetForeign(*s);
    return nullptr;
  }
  std::unique_ptr<ForkServer> server = std::move(s->server);
  if (SpawnContext() != s->context) {
    KillAndReap(std::move(server));
    return nullptr;
  }
  absl::Status hello = server->AwaitHello(start_timeout);
  if (absl::IsFailedPrecondition(hello)) return nullptr;  // it exited: spawn a fresh one
  if (!hello.ok()) return hello;
  if (Exited(server->pidfd())) return nullptr;  // killed after its hello; ~ForkServer reaps it
  return server;
}

SpareForkServerForTesting GetSpareForkServerForTesting() {
  if (state.load(std::memory_order_acquire) != kReady) return {};
  const Spare* s = spare.load(std::memory_order_acquire);
  if (s->owner != getpid()) return {};
  return {s->pid, s->control_fd};
}

bool AwaitSpareHelloForTesting(absl::Duration timeout) {
  const SpareForkServerForTesting s = GetSpareForkServerForTesting();
  if (s.pid < 0) return false;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    char type = 0;
    if (recv(s.control_fd, &type, 1, MSG_PEEK | MSG_DONTWAIT) == 1) return type == 'H';
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{s.control_fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
  }
}

void ResetSpareForkServerForTesting() {
  int ready = kReady;
  if (state.compare_exchange_strong(ready, kGone, std::memory_order_acq_rel)) {
    Spare* s = spare.load(std::memory_order_acquire);
    if (s->owner == getpid()) {
      KillAndReap(std::move(s->server));
    } else {
      ForgetForeign(*s);
    }
  }
  Spare* old = spare.exchange(nullptr, std::memory_order_acq_rel);
  if (old != nullptr) {
    (void)old->server.release();  // only a fork() child's closed copy can be left here
    delete old;
  }
  state.store(kNone, std::memory_order_release);
}

}  // namespace cf::internal
