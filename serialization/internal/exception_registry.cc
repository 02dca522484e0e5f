#include "cf/serialization/internal/exception_registry.h"

#include <algorithm>
#include <any>
#include <atomic>
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
  AddWithMessage<cf::SharedBufferError>(registry);
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

namespace {
// Built during static initialisation, so that a child forked later finds it built: building it
// takes the writer lock, which a forked child must not take.
[[maybe_unused]] const ExceptionRegistry& global_registry_at_start = ExceptionRegistry::Global();
}  // namespace

// No lock: nothing else can see the registry yet.
ExceptionRegistry::ExceptionRegistry() {
  tables_.push_back(std::make_unique<const Table>());
  table_.store(tables_.back().get(), std::memory_order_release);
}

ExceptionRegistry::~ExceptionRegistry() = default;

std::string ExceptionRegistry::ConflictMessage(const Slot& slot) {
  return absl::StrCat("cf: CF_EXCEPTION type name \"", slot.name,
                      "\" belongs to different types, registered at ",
                      absl::StrJoin(slot.locations, " and "),
                      "; such exceptions arrive as cf::RemoteError. Give the types distinct "
                      "names (types in anonymous namespaces share theirs).");
}

void ExceptionRegistry::Publish(std::unique_ptr<Table> table) {
  tables_.push_back(std::move(table));
  table_.store(tables_.back().get(), std::memory_order_release);
}

void ExceptionRegistry::Add(std::string name, const std::type_info& type,
                            ExceptionFactory factory, std::string location, bool report) {
  std::string message;
  {
    absl::MutexLock lock(&mu_);
    // Only writers replace the table, and they hold mu_.
    const Table& old = *table_.load(std::memory_order_relaxed);
    auto it = old.find(name);
    std::unique_ptr<Slot> slot;
    if (it == old.end()) {
      slot = std::make_unique<Slot>();
      slot->name = std::move(name);
      slot->type = &type;
      slot->factory = factory;
      slot->locations.push_back(std::move(location));
    } else {
      if (*it->second->type == type) return;  // the same type again: harmless
      slot = std::make_unique<Slot>(*it->second);
      slot->conflict = true;
      slot->locations.push_back(std::move(location));
      message = ConflictMessage(*slot);
    }
    auto table = std::make_unique<Table>(old);
    table->erase(slot->name);  // its key points into the slot it replaces
    table->emplace(slot->name, slot.get());
    slots_.push_back(std::move(slot));
    Publish(std::move(table));
  }
  if (report && !message.empty()) std::fprintf(stderr, "%s\n", message.c_str());
}

const ExceptionRegistry::Slot* ExceptionRegistry::Find(absl::string_view name) const {
  const Table& table = *table_.load(std::memory_order_acquire);
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

std::exception_ptr ExceptionRegistry::Make(absl::string_view name,
                                           const std::string& message) const {
  const Slot* slot = Find(name);
  if (slot == nullptr || slot->conflict) return nullptr;
  return slot->factory(message);
}

bool ExceptionRegistry::Contains(absl::string_view name) const {
  const Slot* slot = Find(name);
  return slot != nullptr && !slot->conflict;
}

absl::Status ExceptionRegistry::status() const {
  const Table& table = *table_.load(std::memory_order_acquire);
  std::vector<std::string> problems;
  for (const auto& [name, slot] : table) {
    if (slot->conflict) problems.push_back(ConflictMessage(*slot));
  }
  if (problems.empty()) return absl::OkStatus();
  std::sort(problems.begin(), problems.end());
  return absl::FailedPreconditionError(absl::StrJoin(problems, "\n"));
}

}  // namespace cf::internal
