// kSpawn: each worker is a new run of the worker program (see launcher.h).
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {
namespace {

class SpawnLauncher final : public ChildLauncher {
 public:
  explicit SpawnLauncher(std::string binary) : binary_(std::move(binary)) {}

  absl::StatusOr<WorkerProcess> Start(int channel_fd) override {
    UniqueFd call_read, call_write, result_read, result_write;
    if (absl::Status s = MakePipe(call_read, call_write); !s.ok()) return s;
    if (absl::Status s = MakePipe(result_read, result_write); !s.ok()) return s;
    absl::StatusOr<pid_t> pid = SpawnProgram(
        binary_,
        RoleValue("worker", absl::StrCat(kWorkerInFd, ",", kWorkerOutFd, ",", kWorkerChannelFd)),
        {call_read.get(), result_write.get(), channel_fd});
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
