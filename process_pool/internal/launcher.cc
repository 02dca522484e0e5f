#include "cf/process_pool/internal/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cf::internal {

// One per start method: fork_launcher.cc, spawn_launcher.cc, fork_server.cc.
std::unique_ptr<Launcher> MakeForkLauncher();
std::unique_ptr<Launcher> MakeSpawnLauncher(const std::string& binary);
std::unique_ptr<Launcher> MakeForkServerLauncher(const std::string& binary,
                                                 absl::Duration start_timeout);

std::unique_ptr<Launcher> MakeLauncher(StartMethod method, const std::string& worker_binary,
                                       absl::Duration start_timeout) {
  switch (method) {
    case StartMethod::kSpawn:
      return MakeSpawnLauncher(worker_binary);
    case StartMethod::kForkServer:
      return MakeForkServerLauncher(worker_binary, start_timeout);
    case StartMethod::kFork:
    case StartMethod::kAuto:
      break;
  }
  return MakeForkLauncher();
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
