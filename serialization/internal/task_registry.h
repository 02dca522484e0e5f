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
// before main, but dlopen can register later). Lookups — FindByName, FindByFunction, status()
// and Names() — take no lock: they read an immutable table published through an atomic pointer.
// That is what makes them fork-safe: a process pool's kFork worker is forked from a
// multi-threaded parent and inherits, still locked forever, every lock another parent thread
// held at fork() (including abseil's global deadlock-detection lock, which every absl::Mutex
// operation takes in a build without NDEBUG), so the worker must take no lock between fork and
// its task. Add() serializes on a mutex, copies the table with the new entry and publishes the
// copy; entries and tables are never freed while the registry lives (the global one never dies),
// so a `const TaskEntry*` stays valid and a reader never sees a table freed under it. n
// registrations therefore keep O(n^2) table slots; registration is rare.
#ifndef CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_
#define CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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

  TaskRegistry();
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;
  ~TaskRegistry();

  // Adds an entry; a conflict is recorded (and printed to stderr when `report` is true).
  void Add(TaskEntry entry, bool report = true) ABSL_LOCKS_EXCLUDED(mu_);

  // The entry for `name`: NotFound if there is none, FailedPrecondition if two functions
  // claim it. Entries live as long as the registry. Lock-free.
  absl::StatusOr<const TaskEntry*> FindByName(absl::string_view name) const;
  // The entry registered for `fn` (the first name, if it has several): NotFound if it has none,
  // FailedPrecondition if its name is in conflict. Lock-free.
  absl::StatusOr<const TaskEntry*> FindByFunction(ErasedFunction fn) const;

  // OK, or FailedPrecondition describing every conflicting name. Lock-free.
  absl::Status status() const;
  // Every registered name, sorted. Lock-free.
  std::vector<std::string> Names() const;

  // Test-only: the mutex Add() holds. Tests hold it to show that lookups never take it.
  absl::Mutex& MutexForTesting() const ABSL_LOCK_RETURNED(mu_) { return mu_; }

 private:
  // One name's state. Immutable once published: a conflict publishes a new Slot.
  struct Slot {
    const TaskEntry* entry = nullptr;    // the first function registered under the name
    std::vector<std::string> conflicts;  // locations of other functions claiming the name
  };
  // An immutable snapshot. Keys point into the TaskEntry names, which never move.
  struct Table {
    absl::flat_hash_map<absl::string_view, const Slot*> by_name;
    absl::flat_hash_map<ErasedFunction, absl::string_view> by_function;
  };
  static absl::Status ConflictStatus(const Slot& slot);

  // Takes ownership of `table` and makes it the one lookups see.
  void Publish(std::unique_ptr<Table> table) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;  // serializes writers; readers never take it
  std::atomic<const Table*> table_;
  // Everything ever published, kept until the registry is destroyed.
  std::vector<std::unique_ptr<const TaskEntry>> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<const Slot>> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<const Table>> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_TASK_REGISTRY_H_
