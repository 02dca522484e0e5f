#include "cf/serialization/internal/task_registry.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
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

// No lock: nothing else can see the registry yet, and a registry first used in a forked child
// must not take one.
TaskRegistry::TaskRegistry() {
  tables_.push_back(std::make_unique<const Table>());
  table_.store(tables_.back().get(), std::memory_order_release);
}

TaskRegistry::~TaskRegistry() = default;

absl::Status TaskRegistry::ConflictStatus(const Slot& slot) {
  return absl::FailedPreconditionError(absl::StrCat(
      "cf: CF_TASK name \"", slot.entry->name, "\" is registered for different functions, at ",
      slot.entry->location, " and ", absl::StrJoin(slot.conflicts, " and "),
      "; task names must be unique: qualify them, e.g. CF_TASK(my_namespace::",
      slot.entry->name, ")"));
}

void TaskRegistry::Publish(std::unique_ptr<Table> table) {
  tables_.push_back(std::move(table));
  table_.store(tables_.back().get(), std::memory_order_release);
}

void TaskRegistry::Add(TaskEntry entry, bool report) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    // Only writers replace the table, and they hold mu_.
    const Table& old = *table_.load(std::memory_order_relaxed);
    auto it = old.by_name.find(entry.name);
    if (it == old.by_name.end()) {
      entries_.push_back(std::make_unique<const TaskEntry>(std::move(entry)));
      const TaskEntry* stored = entries_.back().get();
      slots_.push_back(std::make_unique<const Slot>(Slot{stored, {}}));
      auto table = std::make_unique<Table>(old);
      table->by_name.emplace(stored->name, slots_.back().get());
      table->by_function.try_emplace(stored->function, stored->name);
      Publish(std::move(table));
      return;
    }
    const Slot& slot = *it->second;
    if (slot.entry->function == entry.function) return;  // the same task again: harmless
    auto conflict = std::make_unique<Slot>(slot);
    conflict->conflicts.push_back(std::move(entry.location));
    message = std::string(ConflictStatus(*conflict).message());
    auto table = std::make_unique<Table>(old);
    table->by_name[slot.entry->name] = conflict.get();
    table->by_function.try_emplace(entry.function, slot.entry->name);
    slots_.push_back(std::move(conflict));
    Publish(std::move(table));
  }
  if (report) std::fprintf(stderr, "%s\n", message.c_str());
}

absl::StatusOr<const TaskEntry*> TaskRegistry::FindByName(absl::string_view name) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  auto it = table.by_name.find(name);
  if (it == table.by_name.end()) {
    return absl::NotFoundError(absl::StrCat("no task is registered under the name \"", name,
                                            "\" (CF_TASK(", name, ") registers one)"));
  }
  if (!it->second->conflicts.empty()) return ConflictStatus(*it->second);
  return it->second->entry;
}

absl::StatusOr<const TaskEntry*> TaskRegistry::FindByFunction(ErasedFunction fn) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  auto it = table.by_function.find(fn);
  if (it == table.by_function.end()) return absl::NotFoundError("the function is not registered");
  const Slot& slot = *table.by_name.at(it->second);
  if (!slot.conflicts.empty()) return ConflictStatus(slot);
  return slot.entry;
}

absl::Status TaskRegistry::status() const {
  const Table& table = *table_.load(std::memory_order_acquire);
  std::vector<std::string> problems;
  for (const auto& [name, slot] : table.by_name) {
    if (!slot->conflicts.empty()) problems.emplace_back(ConflictStatus(*slot).message());
  }
  if (problems.empty()) return absl::OkStatus();
  std::sort(problems.begin(), problems.end());
  return absl::FailedPreconditionError(absl::StrJoin(problems, "\n"));
}

std::vector<std::string> TaskRegistry::Names() const {
  const Table& table = *table_.load(std::memory_order_acquire);
  std::vector<std::string> names;
  names.reserve(table.by_name.size());
  for (const auto& [name, slot] : table.by_name) names.emplace_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cf::internal
