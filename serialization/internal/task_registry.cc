#include "cf/serialization/internal/task_registry.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace cf::internal {

TaskRegistry& TaskRegistry::Global() {
  static TaskRegistry* const registry = new TaskRegistry();
  return *registry;
}

absl::Status TaskRegistry::ConflictStatus(const Slot& slot) {
  return absl::FailedPreconditionError(absl::StrCat(
      "cf: CF_TASK name \"", slot.entry.name, "\" is registered for different functions, at ",
      slot.entry.location, " and ", absl::StrJoin(slot.conflicts, " and "),
      "; task names must be unique: qualify them, e.g. CF_TASK(my_namespace::", slot.entry.name,
      ")"));
}

void TaskRegistry::Add(TaskEntry entry, bool report) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = by_name_.try_emplace(entry.name);
    Slot& slot = it->second;
    if (inserted) {
      by_function_.try_emplace(entry.function, entry.name);
      slot.entry = std::move(entry);
      return;
    }
    if (slot.entry.function == entry.function) return;  // the same task again: harmless
    slot.conflicts.push_back(entry.location);
    by_function_.try_emplace(entry.function, entry.name);
    message = std::string(ConflictStatus(slot).message());
  }
  if (report) std::fprintf(stderr, "%s\n", message.c_str());
}

absl::StatusOr<const TaskEntry*> TaskRegistry::FindByName(absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("no task is registered under the name \"", name,
                                            "\" (CF_TASK(", name, ") registers one)"));
  }
  if (!it->second.conflicts.empty()) return ConflictStatus(it->second);
  return &it->second.entry;
}

absl::StatusOr<const TaskEntry*> TaskRegistry::FindByFunction(ErasedFunction fn) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_function_.find(fn);
  if (it == by_function_.end()) return absl::NotFoundError("the function is not registered");
  auto slot = by_name_.find(it->second);
  if (!slot->second.conflicts.empty()) return ConflictStatus(slot->second);
  return &slot->second.entry;
}

absl::Status TaskRegistry::status() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> problems;
  for (const auto& [name, slot] : by_name_) {
    if (!slot.conflicts.empty()) problems.emplace_back(ConflictStatus(slot).message());
  }
  if (problems.empty()) return absl::OkStatus();
  std::sort(problems.begin(), problems.end());
  return absl::FailedPreconditionError(absl::StrJoin(problems, "\n"));
}

std::vector<std::string> TaskRegistry::Names() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(by_name_.size());
  for (const auto& [name, slot] : by_name_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cf::internal
