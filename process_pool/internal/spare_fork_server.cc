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
#include <sys/wait.h>
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
  dev_t pidfd_dev = 0;
  ino_t pidfd_ino = 0;
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

bool SameFile(int fd, dev_t dev, ino_t ino) {
  struct stat st {};
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// The pid in fd's /proc/self/fdinfo "Pid:" line (a pidfd's process; -1 once it is reaped), or
// 0 if there is none. Async-signal-safe: system calls only, no allocation.
long FdinfoPid(int fd) {
  char path[48] = "/proc/self/fdinfo/";
  size_t len = strlen(path);
  char digits[12];
  int n = 0;
  for (unsigned v = static_cast<unsigned>(fd); n == 0 || v > 0; v /= 10) digits[n++] = '0' + v % 10;
  while (n > 0) path[len++] = digits[--n];
  path[len] = '\0';
  const int info = open(path, O_RDONLY | O_CLOEXEC);
  if (info < 0) return 0;
  char buf[512];
  const ssize_t got = read(info, buf, sizeof(buf) - 1);
  close(info);
  if (got <= 0) return 0;
  buf[got] = '\0';
  const char* p = strstr(buf, "\nPid:");
  if (p == nullptr) return 0;
  for (p += 5; *p == ' ' || *p == '\t'; ++p) {
  }
  const bool negative = *p == '-';
  long value = 0;
  for (p += negative ? 1 : 0; *p >= '0' && *p <= '9'; ++p) value = value * 10 + (*p - '0');
  return negative ? -value : value;
}

// Whether the spare's descriptors are still its own here: a program may close descriptors it
// does not know (closefrom(3), say) and reuse the numbers. The socket's inode is unique; a
// pidfd's is not before Linux 6.9, so it must also name the spare (or no process: reaped).
// Async-signal-safe.
bool SocketIntact(const Spare& s) { return SameFile(s.control_fd, s.socket_dev, s.socket_ino); }
bool PidfdIntact(const Spare& s) {
  if (!SameFile(s.pidfd, s.pidfd_dev, s.pidfd_ino)) return false;
  const long pid = FdinfoPid(s.pidfd);
  return pid == s.pid || pid == -1;
}
bool Intact(const Spare& s) { return SocketIntact(s) && PidfdIntact(s); }

// Closes this process's copies of the spare's descriptors, those still its own; never a number
// the program reused. Async-signal-safe.
void CloseOurCopies(const Spare& s) {
  if (SocketIntact(s)) close(s.control_fd);
  if (PidfdIntact(s)) close(s.pidfd);
}

// The spare of another process (a child made by a raw clone, which ran no fork handler): never
// signalled or reaped from here.
void ForgetForeign(Spare& s) {
  CloseOurCopies(s);
  if (s.server != nullptr) s.server->Disown();  // its descriptors are not ours to close again
  s.server.reset();
}

// In the process that spawned it: kills and reaps the spare.
void Discard(Spare& s) {
  std::unique_ptr<ForkServer> server = std::move(s.server);
  if (server == nullptr) return;
  if (Intact(s)) {
    PidfdSignal(server->pidfd(), SIGKILL);
    server.reset();  // ~ForkServer closes the socket and reaps the (dead or dying) server
    return;
  }
  server->Disown();  // its descriptor numbers are no longer (all) its own
  server.reset();
  CloseOurCopies(s);
  // Still our unreaped child, so its pid cannot have been reused.
  if (waitpid(s.pid, nullptr, WNOHANG) == 0 && kill(s.pid, SIGKILL) == 0) {
    while (waitpid(s.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

// pthread_atfork child handler. Async-signal-safe, no lock: a kFork worker runs it too.
void ForgetInChild() {
  int ready = kReady;
  if (!state.compare_exchange_strong(ready, kGone, std::memory_order_acq_rel)) return;
  CloseOurCopies(*spare.load(std::memory_order_acquire));
  // The Spare keeps the numbers; nothing destroys it in this process (see Reset).
}

// atexit handler: no zombie, no orphan left behind.
void DiscardAtExit() {
  int ready = kReady;
  if (!state.compare_exchange_strong(ready, kGone, std::memory_order_acq_rel)) return;
  Spare* s = spare.load(std::memory_order_acquire);
  if (s->owner != getpid()) {
    ForgetForeign(*s);
  } else {
    Discard(*s);
  }
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
  struct stat socket_st {}, pidfd_st {};
  if (!server.ok() || fstat((*server)->control_fd(), &socket_st) != 0 ||
      fstat((*server)->pidfd(), &pidfd_st) != 0) {
    if (server.ok()) PidfdSignal((*server)->pidfd(), SIGKILL);  // ~ForkServer reaps it
    state.store(kGone, std::memory_order_release);
    return;
  }
  s->owner = getpid();
  s->pid = (*server)->pid();
  s->control_fd = (*server)->control_fd();
  s->pidfd = (*server)->pidfd();
  s->socket_dev = socket_st.st_dev;
  s->socket_ino = socket_st.st_ino;
  s->pidfd_dev = pidfd_st.st_dev;
  s->pidfd_ino = pidfd_st.st_ino;
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
  if (!Intact(*s) || SpawnContext() != s->context) {
    Discard(*s);  // it can serve no pool: spawn one that sees this process as it is now
    return nullptr;
  }
  std::unique_ptr<ForkServer> server = std::move(s->server);
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
  return {s->pid, s->control_fd, s->pidfd};
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
      Discard(*s);
    } else {
      ForgetForeign(*s);
    }
  }
  Spare* old = spare.exchange(nullptr, std::memory_order_acq_rel);
  if (old != nullptr) {
    if (old->server != nullptr) old->server->Disown();  // a fork() child's closed copy
    delete old;
  }
  state.store(kNone, std::memory_order_release);
}

}  // namespace cf::internal
