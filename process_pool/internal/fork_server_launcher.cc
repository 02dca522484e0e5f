// kForkServer's Launcher (launcher.h): one ForkServer per pool, taken from InitProcessPool's
// spare or spawned with the first worker, and replaced when it dies (its workers die with it;
// their ends go to the failure policy as the server reported them, or as unknown).
#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/fork_server.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/spare_fork_server.h"

namespace cf::internal {

namespace {

// The fork server is started with the first worker (or, for this program, taken from
// InitProcessPool if it left a spare), and lives as long as the launcher.
class ForkServerLauncher final : public Launcher {
 public:
  ForkServerLauncher(std::string binary, absl::Duration start_timeout)
      : binary_(std::move(binary)), start_timeout_(start_timeout) {}

  absl::StatusOr<WorkerProcess> Start(absl::Span<const int> channel_fds) override {
    for (int attempt = 0;; ++attempt) {
      if (server_ == nullptr) {
        absl::StatusOr<std::unique_ptr<ForkServer>> server = nullptr;
        if (binary_.empty()) server = TakeSpareForkServer(start_timeout_);
        if (server.ok() && *server == nullptr) server = ForkServer::Start(binary_, start_timeout_);
        if (!server.ok()) return server.status();
        server_ = *std::move(server);
      }
      absl::StatusOr<WorkerProcess> worker = server_->Fork(channel_fds);
      if (worker.ok()) {
        served_.insert(worker->pid);
        return worker;
      }
      // The server had exited (killed by someone): a new one, once.
      if (!absl::IsUnavailable(worker.status()) || attempt > 0) return worker.status();
      DropDeadServer();
    }
  }
  absl::StatusOr<int> ExitStatus(const WorkerProcess& worker, absl::Duration timeout) override {
    if (auto it = orphans_.find(worker.pid); it != orphans_.end()) {
      const auto [status, server] = it->second;
      orphans_.erase(it);
      if (status >= 0) return status;
      return absl::UnavailableError(
          absl::StrCat("the fork server (pid ", server, ") died, and its workers with it"));
    }
    served_.erase(worker.pid);
    if (server_ == nullptr) return absl::UnavailableError("the fork server is gone");
    return server_->WorkerExitStatus(worker.pid, timeout);
  }
  void Release(const WorkerProcess&) override {}  // the server reaps its children
  int poll_fd() const override { return server_ == nullptr ? -1 : server_->control_fd(); }
  absl::Status Poll() override {
    if (server_ == nullptr) return absl::OkStatus();
    absl::Status s = server_->Poll();
    if (s.ok()) return s;
    if (absl::IsUnavailable(s)) {
      // It exited, and its workers die with it: each one's end goes to the failure policy as
      // it comes (an unknown status, saying why), and the next worker gets a new server.
      DropDeadServer();
      return absl::OkStatus();
    }
    return absl::UnavailableError(
        absl::StrCat("the fork server (pid ", server_->pid(), ") broke the protocol: ",
                     s.message()));
  }

 private:
  // Reaps the exited server; what its workers' ends were, as far as it said, is kept for
  // ExitStatus.
  void DropDeadServer() {
    absl::flat_hash_map<pid_t, int> reported = server_->TakeExitStatuses();
    for (pid_t pid : served_) {
      auto it = reported.find(pid);
      orphans_[pid] = {it != reported.end() ? it->second : -1, server_->pid()};
    }
    served_.clear();
    server_.reset();
  }

  const std::string binary_;
  const absl::Duration start_timeout_;
  std::unique_ptr<ForkServer> server_;
  absl::flat_hash_set<pid_t> served_;  // the server's workers whose end has not been asked for
  // A dead server's workers whose end has not been asked for: the wait status it reported (-1:
  // none), and its pid.
  absl::flat_hash_map<pid_t, std::pair<int, pid_t>> orphans_;
};

}  // namespace

std::unique_ptr<Launcher> MakeForkServerLauncher(const std::string& binary,
                                                 absl::Duration start_timeout) {
  return std::make_unique<ForkServerLauncher>(binary, start_timeout);
}

}  // namespace cf::internal
