#include "cf/serialization/internal/exception_registry.h"

#include <algorithm>
#include <any>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cf/core/errors.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/internal/demangle.h"

namespace cf::internal {
namespace {

template <typename T>
std::exception_ptr MakeDefault(const std::string& /*message*/) {
  // These types have no message constructor; their what() is fixed by the library.
  return std::make_exception_ptr(T());
}

template <typename T>
void AddWithMessage(ExceptionRegistry& registry) {
  registry.Add(TypeName(typeid(T)), typeid(T), &MakeExceptionFromMessage<T>, "built-in");
}

template <typename T>
void AddDefault(ExceptionRegistry& registry) {
  registry.Add(TypeName(typeid(T)), typeid(T), &MakeDefault<T>, "built-in");
}

void AddBuiltIns(ExceptionRegistry& registry) {
  // <exception>, <new>, <typeinfo>, <functional>, <memory>, <optional>, <variant>, <any>.
  AddDefault<std::exception>(registry);
  AddDefault<std::bad_exception>(registry);
  AddDefault<std::bad_alloc>(registry);
  AddDefault<std::bad_array_new_length>(registry);
  AddDefault<std::bad_cast>(registry);
  AddDefault<std::bad_typeid>(registry);
  AddDefault<std::bad_function_call>(registry);
  AddDefault<std::bad_weak_ptr>(registry);
  AddDefault<std::bad_optional_access>(registry);
  AddDefault<std::bad_variant_access>(registry);
  AddDefault<std::bad_any_cast>(registry);
  // <stdexcept>.
  AddWithMessage<std::logic_error>(registry);
  AddWithMessage<std::domain_error>(registry);
  AddWithMessage<std::invalid_argument>(registry);
  AddWithMessage<std::length_error>(registry);
  AddWithMessage<std::out_of_range>(registry);
  AddWithMessage<std::runtime_error>(registry);
  AddWithMessage<std::range_error>(registry);
  AddWithMessage<std::overflow_error>(registry);
  AddWithMessage<std::underflow_error>(registry);
  // cf's errors (cf::RemoteError and the std::system_error family need more than a message and
  // are handled by cf/serialization/exception.cc).
  AddWithMessage<cf::Error>(registry);
  AddWithMessage<cf::CancelledError>(registry);
  AddWithMessage<cf::TimeoutError>(registry);
  AddWithMessage<cf::InvalidStateError>(registry);
  AddWithMessage<cf::BrokenPromise>(registry);
  AddWithMessage<cf::ShutdownError>(registry);
  AddWithMessage<cf::BrokenExecutor>(registry);
  AddWithMessage<cf::BrokenThreadPool>(registry);
  AddWithMessage<cf::BrokenProcessPool>(registry);
  AddWithMessage<cf::SerializationError>(registry);
}

}  // namespace

ExceptionRegistry& ExceptionRegistry::Global() {
  static ExceptionRegistry* const registry = [] {
    auto* r = new ExceptionRegistry();
    AddBuiltIns(*r);
    return r;
  }();
  return *registry;
}

std::string ExceptionRegistry::ConflictMessage(absl::string_view name, const Slot& slot) {
  return absl::StrCat("cf: CF_EXCEPTION type name \"", name,
                      "\" belongs to different types, registered at ",
                      absl::StrJoin(slot.locations, " and "),
                      "; such exceptions arrive as cf::RemoteError. Give the types distinct "
                      "names (types in anonymous namespaces share theirs).");
}

void ExceptionRegistry::Add(std::string name, const std::type_info& type,
                            ExceptionFactory factory, std::string location, bool report) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = by_name_.try_emplace(std::move(name));
    Slot& slot = it->second;
    if (inserted) {
      slot.type = &type;
      slot.factory = factory;
      slot.locations.push_back(std::move(location));
      return;
    }
    if (*slot.type == type) return;  // the same type again: harmless
    slot.conflict = true;
    slot.locations.push_back(std::move(location));
    message = ConflictMessage(it->first, slot);
  }
  if (report) std::fprintf(stderr, "%s\n", message.c_str());
}

std::exception_ptr ExceptionRegistry::Make(absl::string_view name,
                                           const std::string& message) const {
  ExceptionFactory factory = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end() || it->second.conflict) return nullptr;
    factory = it->second.factory;
  }
  return factory(message);
}

bool ExceptionRegistry::Contains(absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_name_.find(name);
  return it != by_name_.end() && !it->second.conflict;
}

absl::Status ExceptionRegistry::status() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> problems;
  for (const auto& [name, slot] : by_name_) {
    if (slot.conflict) problems.push_back(ConflictMessage(name, slot));
  }
  if (problems.empty()) return absl::OkStatus();
  std::sort(problems.begin(), problems.end());
  return absl::FailedPreconditionError(absl::StrJoin(problems, "\n"));
}

}  // namespace cf::internal
