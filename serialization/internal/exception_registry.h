// Internal: the table of exception types that are rebuilt as themselves in another process.
// Public API: cf/serialization/exception.h (CF_EXCEPTION, RebuildException).
//
// Keys are demangled type names ("std::out_of_range", "cf::BrokenProcessPool"); values make an
// exception_ptr holding a new object of that type from a what() message. The standard exception
// types and cf's errors are present from the start; CF_EXCEPTION adds more during static
// initialisation. Two different types with one name (types in anonymous namespaces of two
// files) are a conflict: printed to stderr and neither is rebuilt by that name.
//
// Thread safety: all methods are safe to call concurrently.
#ifndef CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_
#define CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_

#include <exception>
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
  // The registry CF_EXCEPTION fills, with the built-in types. Never destroyed.
  static ExceptionRegistry& Global();

  // An empty registry (tests); Global() starts with the built-ins.
  ExceptionRegistry() = default;
  ExceptionRegistry(const ExceptionRegistry&) = delete;
  ExceptionRegistry& operator=(const ExceptionRegistry&) = delete;

  // Registers `type` under `name` (normally TypeName(type)); `location` is for messages.
  void Add(std::string name, const std::type_info& type, ExceptionFactory factory,
           std::string location, bool report = true) ABSL_LOCKS_EXCLUDED(mu_);

  // A new exception of the type registered under `name`, or nullptr if there is none (or the
  // name is in conflict).
  std::exception_ptr Make(absl::string_view name, const std::string& message) const
      ABSL_LOCKS_EXCLUDED(mu_);
  bool Contains(absl::string_view name) const ABSL_LOCKS_EXCLUDED(mu_);

  // OK, or FailedPrecondition naming every conflicting type name.
  absl::Status status() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Slot {
    const std::type_info* type = nullptr;
    ExceptionFactory factory = nullptr;
    std::vector<std::string> locations;
    bool conflict = false;
  };
  static std::string ConflictMessage(absl::string_view name, const Slot& slot);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Slot> by_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_EXCEPTION_REGISTRY_H_
