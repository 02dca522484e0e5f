// Internal: the process-wide table behind CF_TASK. Public API: cf/serialization/task.h.
//
// Each CF_TASK(fn) adds one entry during static initialisation: the name "#fn", the function
// pointer (type-erased), the invoker instantiated for fn's signature, and where the macro was.
// Names map to functions and functions to names. Registering the same function under the same
// name again is harmless (a CF_TASK in a header seen by several files); a name claimed by two
// different functions is a conflict: it is printed to stderr at once, kept in status(), and
// every lookup of that name or of either function fails with that description.
//
// Thread safety: all methods are safe to call concurrently (registration normally happens
// before main, but dlopen can register later).
#ifndef CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_
#define CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cf/serialization/internal/archive.h"

namespace cf::internal {

using ErasedFunction = void (*)();
// Decodes one call's arguments from `in`, calls `fn`, encodes its result (if any) into `out`.
// Throws whatever decoding, the call or encoding throws.
using TaskInvoker = void (*)(ErasedFunction fn, WireInputArchive& in, WireOutputArchive& out);

struct TaskEntry {
  std::string name;
  ErasedFunction function = nullptr;
  TaskInvoker invoker = nullptr;
  std::string location;  // "file.cc:12"
};

class TaskRegistry {
 public:
  // The registry CF_TASK fills. Never destroyed.
  static TaskRegistry& Global();

  TaskRegistry() = default;
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;

  // Adds an entry; a conflict is recorded (and printed to stderr when `report` is true).
  void Add(TaskEntry entry, bool report = true) ABSL_LOCKS_EXCLUDED(mu_);

  // The entry for `name`: NotFound if there is none, FailedPrecondition if two functions
  // claim it. Entries live as long as the registry.
  absl::StatusOr<const TaskEntry*> FindByName(absl::string_view name) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The entry registered for `fn` (the first name, if it has several): NotFound if it has none,
  // FailedPrecondition if its name is in conflict.
  absl::StatusOr<const TaskEntry*> FindByFunction(ErasedFunction fn) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // OK, or FailedPrecondition describing every conflicting name.
  absl::Status status() const ABSL_LOCKS_EXCLUDED(mu_);
  // Every registered name, sorted.
  std::vector<std::string> Names() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Slot {
    TaskEntry entry;
    std::vector<std::string> conflicts;  // locations of other functions claiming the name
  };
  static absl::Status ConflictStatus(const Slot& slot);

  mutable absl::Mutex mu_;
  absl::node_hash_map<std::string, Slot> by_name_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ErasedFunction, std::string> by_function_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_
