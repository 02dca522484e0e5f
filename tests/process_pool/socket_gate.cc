#include "tests/process_pool/socket_gate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"

namespace cf::testing {
namespace {

std::atomic<int64_t> next_gate{1};

// Tests run in sandboxes with their own pid namespaces, so a pid does not name a process
// uniquely among concurrently running tests; a random nonce per process does.
int64_t ProcessNonce() {
  static const int64_t nonce = [] {
    uint32_t value = 0;
    std::FILE* f = std::fopen("/dev/urandom", "rb");
    if (f != nullptr) {
      if (std::fread(&value, sizeof(value), 1, f) != 1) value = 0;
      std::fclose(f);
    }
    return static_cast<int64_t>((value ^ static_cast<uint32_t>(getpid())) & 0x7fffffff);
  }();
  return nonce;
}

// Abstract socket address "\0cf-gate-<nonce>-<n>" for gate id (nonce << 24 | n).
socklen_t GateAddress(int64_t id, sockaddr_un& addr) {
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  const std::string name = absl::StrCat("cf-gate-", id >> 24, "-", id & 0xffffff);
  memcpy(addr.sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

}  // namespace

// Accepts connections on a thread; writes one byte to each once the gate is open.
class SocketGate::Server {
 public:
  explicit Server(int64_t id) {
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr;
    const socklen_t len = GateAddress(id, addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listen_fd_, 128) != 0) {
      throw std::runtime_error(absl::StrCat("SocketGate: cannot listen: ", strerror(errno)));
    }
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("SocketGate: pipe2");
    stop_read_ = pipe_fds[0];
    stop_write_ = pipe_fds[1];
    thread_ = std::thread([this] { Serve(); });
  }
  ~Server() {
    Open();
    char byte = 's';
    (void)!write(stop_write_, &byte, 1);
    thread_.join();
    for (int fd : clients_) close(fd);
    close(listen_fd_);
    close(stop_read_);
    close(stop_write_);
  }

  void Open() {
    absl::MutexLock lock(&mu_);
    if (open_) return;
    open_ = true;
    for (int fd : clients_) Release(fd);
  }
  int arrivals() const {
    absl::MutexLock lock(&mu_);
    return arrivals_;
  }
  bool AwaitArrivals(int n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return arrivals_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  static void Release(int fd) {
    const char go = 'g';
    (void)!send(fd, &go, 1, MSG_NOSIGNAL);
  }

  void Serve() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 && errno != EINTR) return;
      if (p[1].revents != 0) return;
      if (p[0].revents == 0) continue;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      absl::MutexLock lock(&mu_);
      clients_.push_back(fd);
      ++arrivals_;
      if (open_) Release(fd);
    }
  }

  int listen_fd_ = -1;
  int stop_read_ = -1;
  int stop_write_ = -1;
  std::thread thread_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int arrivals_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> clients_ ABSL_GUARDED_BY(mu_);
};

SocketGate::SocketGate()
    : id_((ProcessNonce() << 24) | next_gate.fetch_add(1)),
      server_(std::make_unique<Server>(id_)) {}

SocketGate::~SocketGate() = default;

void SocketGate::Open() { server_->Open(); }
int SocketGate::arrivals() const { return server_->arrivals(); }
bool SocketGate::AwaitArrivals(int n, absl::Duration timeout) const {
  return server_->AwaitArrivals(n, timeout);
}

int SocketGate::Pass(int64_t id, int value) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("SocketGate::Pass: socket");
  sockaddr_un addr;
  const socklen_t len = GateAddress(id, addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    close(fd);
    throw std::runtime_error(absl::StrCat("SocketGate::Pass: gate ", id, " is gone"));
  }
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, 60'000);
  } while (rc < 0 && errno == EINTR);
  close(fd);
  if (rc == 0) throw TimeoutError("SocketGate::Pass: the gate stayed closed for 60 s");
  return value;
}

}  // namespace cf::testing
