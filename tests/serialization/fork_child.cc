#include "tests/serialization/fork_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include "absl/strings/str_cat.h"

namespace cf::testing {

LockHolder::LockHolder(absl::Mutex& mu) {
  if (pipe2(held_, O_CLOEXEC) != 0 || pipe2(release_, O_CLOEXEC) != 0) return;
  thread_ = std::thread([this, &mu] {
    absl::MutexLock lock(&mu);
    const char byte = 1;
    (void)!write(held_[1], &byte, 1);
    pollfd until_released{release_[0], POLLIN, 0};
    poll(&until_released, 1, 60'000);
  });
}

LockHolder::~LockHolder() {
  if (thread_.joinable()) {
    const char byte = 1;
    (void)!write(release_[1], &byte, 1);
    thread_.join();
  }
  for (int fd : {held_[0], held_[1], release_[0], release_[1]}) {
    if (fd >= 0) close(fd);
  }
}

bool LockHolder::WaitUntilHeld() {
  if (!thread_.joinable()) return false;
  pollfd until_held{held_[0], POLLIN, 0};
  int ready;
  do {
    ready = poll(&until_held, 1, 30'000);
  } while (ready < 0 && errno == EINTR);
  return ready == 1;
}

std::string RunInForkedChild(const std::function<int()>& child, absl::Duration limit) {
  const pid_t pid = fork();
  if (pid < 0) return absl::StrCat("fork failed: errno ", errno);
  if (pid == 0) {
    int code = 100;
    try {
      code = child();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child threw: %s\n", e.what());
      code = 101;
    } catch (...) {
      code = 101;
    }
    _exit(code);
  }
  // Waits on the child's pidfd, bounded by `limit`: no polling loop.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return absl::StrCat("pidfd_open failed: errno ", errno);
  }
  pollfd p{pidfd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(limit)));
  } while (ready < 0 && errno == EINTR);
  close(pidfd);
  int status = 0;
  if (ready != 1) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return absl::StrCat("hung: still running after ", absl::FormatDuration(limit), ", killed");
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  return absl::StrCat("killed by signal ", WTERMSIG(status));
}

}  // namespace cf::testing
