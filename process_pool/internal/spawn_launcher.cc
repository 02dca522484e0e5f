// kSpawn: each worker is a new run of the worker program (see launcher.h).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {
namespace {

class SpawnLauncher final : public ChildLauncher {
 public:
  explicit SpawnLauncher(std::string binary) : binary_(std::move(binary)) {}

  absl::StatusOr<WorkerProcess> Start(absl::Span<const int> channel_fds) override {
    UniqueFd call_read, call_write, result_read, result_write;
    if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
    if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
    std::vector<int> fds = {call_read.get(), result_write.get()};
    fds.insert(fds.end(), channel_fds.begin(), channel_fds.end());
    absl::StatusOr<pid_t> pid = SpawnProgram(
        binary_,
        RoleValue("worker", absl::StrCat(kWorkerInFd, ",", kWorkerOutFd, ",", kWorkerChannelFd)),
        fds);
    if (!pid.ok()) return pid.status();
    return FinishStart(*pid, std::move(call_write), std::move(result_read), /*is_child=*/true);
  }

 private:
  const std::string binary_;
};

}  // namespace

std::unique_ptr<Launcher> MakeSpawnLauncher(const std::string& binary) {
  return std::make_unique<SpawnLauncher>(binary);
}

}  // namespace cf::internal
