// Internal: the table of exception types that are rebuilt as themselves in another process.
// Public API: cf/serialization/exception.h (CF_EXCEPTION, RebuildException).
//
// Keys are demangled type names ("std::out_of_range", "cf::BrokenProcessPool"); values make an
// exception_ptr holding a new object of that type from a what() message. The standard exception
// types and cf's errors are present from the start; CF_EXCEPTION adds more during static
// initialisation. Two different types with one name (types in anonymous namespaces of two
// files) are a conflict: printed to stderr and neither is rebuilt by that name.
//
// Thread safety: all methods are safe to call concurrently. Lookups — Make, Contains and
// status() — take no lock: they read an immutable table published through an atomic pointer.
// That is what makes them fork-safe: a child forked from a multi-threaded parent (a process
// pool's kFork worker, which may rebuild exceptions if its task uses a pool of its own) inherits,
// still locked forever, every lock another parent thread held at fork() (including abseil's
// global deadlock-detection lock, which every absl::Mutex operation takes in a build without
// NDEBUG), so it must take no lock that another parent thread may hold. Add() serializes on a
// mutex, copies the table with the new type and publishes the copy; tables and their slots are
// never freed while the registry lives (the global one never dies), so a reader never sees one
// freed under it. n registrations therefore keep O(n^2) table slots; registration is rare.
#ifndef CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_
#define CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_

#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cf::internal {

using ExceptionFactory = std::exception_ptr (*)(const std::string& message);

template <typename T>
std::exception_ptr MakeExceptionFromMessage(const std::string& message) {
  return std::make_exception_ptr(T(message));
}

class ExceptionRegistry {
 public:
  // The registry CF_EXCEPTION fills, with the built-in types. Never destroyed. Built during
  // static initialisation (building takes the writer lock), so a forked child finds it built.
  static ExceptionRegistry& Global();

  // An empty registry (tests); Global() starts with the built-ins.
  ExceptionRegistry();
  ExceptionRegistry(const ExceptionRegistry&) = delete;
  ExceptionRegistry& operator=(const ExceptionRegistry&) = delete;
  ~ExceptionRegistry();

  // Registers `type` under `name` (normally TypeName(type)); `location` is for messages.
  void Add(std::string name, const std::type_info& type, ExceptionFactory factory,
           std::string location, bool report = true) ABSL_LOCKS_EXCLUDED(mu_);

  // A new exception of the type registered under `name`, or nullptr if there is none (or the
  // name is in conflict). Lock-free (the factory runs the type's constructor).
  std::exception_ptr Make(absl::string_view name, const std::string& message) const;
  // True if `name` is registered and not in conflict. Lock-free.
  bool Contains(absl::string_view name) const;

  // OK, or FailedPrecondition naming every conflicting type name. Lock-free.
  absl::Status status() const;

  // Test-only: the mutex Add() holds. Tests hold it to show that lookups never take it.
  absl::Mutex& MutexForTesting() const ABSL_LOCK_RETURNED(mu_) { return mu_; }

 private:
  // One name's state. Immutable once published: a second type under the name publishes a new
  // Slot.
  struct Slot {
    std::string name;
    const std::type_info* type = nullptr;
    ExceptionFactory factory = nullptr;
    std::vector<std::string> locations;
    bool conflict = false;
  };
  // An immutable snapshot. Each key points into its Slot's name.
  using Table = absl::flat_hash_map<absl::string_view, const Slot*>;
  static std::string ConflictMessage(const Slot& slot);

  // Takes ownership of `table` and makes it the one lookups see.
  void Publish(std::unique_ptr<Table> table) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The slot for `name` in the current table, or nullptr.
  const Slot* Find(absl::string_view name) const;

  mutable absl::Mutex mu_;  // serializes writers; readers never take it
  std::atomic<const Table*> table_;
  // Everything ever published, kept until the registry is destroyed.
  std::vector<std::unique_ptr<const Slot>> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<const Table>> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_
