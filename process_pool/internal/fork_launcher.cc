// kFork: each worker is a fork() of this process (see launcher.h).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>

#include "absl/status/statusor.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/process_util.h"
#include "cf/process_pool/internal/worker_loop.h"

namespace cf::internal {
namespace {

class ForkLauncher final : public ChildLauncher {
 public:
  absl::StatusOr<WorkerProcess> Start(absl::Span<const int> channel_fds) override {
    UniqueFd call_read, call_write, result_read, result_write;
    if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
    if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return ErrnoStatus("fork");
    if (pid == 0) {
      // The child of a possibly multi-threaded process: async-signal-safe calls only, and no
      // lock another thread may hold, until the worker loop runs the user's task.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int keep[8] = {call_read.get(), result_write.get()};
      int count = 2;
      for (int fd : channel_fds) keep[count++] = fd;
      SetUpChild(keep, count);
      signal(SIGPIPE, SIG_DFL);
      signal(SIGCHLD, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      _exit(RunWorker(kWorkerInFd, kWorkerOutFd, kWorkerChannelFd));
    }
    return FinishStart(pid, std::move(call_write), std::move(result_read), /*is_child=*/true);
  }
};

}  // namespace

std::unique_ptr<Launcher> MakeForkLauncher() { return std::make_unique<ForkLauncher>(); }

}  // namespace cf::internal
