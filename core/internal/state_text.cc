// What a future says about itself (cf/core/internal/state_text.h): Python's state names,
// DebugString() (Python's repr), the demangled type names they use, and the InvalidStateError
// messages of StateBase (cf/core/internal/state_base.h).
#include "cf/core/internal/state_text.h"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cf/core/errors.h"
#include "cf/core/internal/shared_state.h"

namespace cf::internal {

std::string DemangledName(const std::type_info& type) {
  if (type == typeid(std::string)) return "std::string";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  std::string out = (status == 0 && name != nullptr) ? name.get() : type.name();
  return absl::StrReplaceAll(
      out, {{"std::__cxx11::", "std::"},
            {"std::basic_string<char, std::char_traits<char>, std::allocator<char> >",
             "std::string"}});
}

std::string ExceptionTypeName(const std::exception_ptr& error) {
  if (error == nullptr) return "nothing";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return DemangledName(typeid(e));
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? DemangledName(*type) : "unknown exception";
  }
}

std::string ExceptionMessage(const std::exception_ptr& error) {
  if (error == nullptr) return "";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return absl::StrCat("exception of type ", ExceptionTypeName(error));
  }
}

FutureState StateBase::public_state() const {
  StateCode c = code();
  if (c == StateCode::kPending && may_start_elsewhere_) c = ObserveStartedElsewhere();
  switch (c) {
    case StateCode::kPending:
    case StateCode::kFinishingFromPending:
      return FutureState::kPending;
    case StateCode::kRunning:
    case StateCode::kFinishingFromRunning:
      return FutureState::kRunning;
    case StateCode::kCancelled:
    case StateCode::kCancelledAndNotified:
      return FutureState::kCancelled;
    case StateCode::kFinished:
      break;
  }
  return FutureState::kFinished;
}

const char* StateBase::StateName() const {
  switch (code()) {
    case StateCode::kPending:
    case StateCode::kFinishingFromPending:
      return "PENDING";
    case StateCode::kRunning:
    case StateCode::kFinishingFromRunning:
      return "RUNNING";
    case StateCode::kCancelled:
      return "CANCELLED";
    case StateCode::kCancelledAndNotified:
      return "CANCELLED_AND_NOTIFIED";
    case StateCode::kFinished:
      break;
  }
  return "FINISHED";
}

std::string StateBase::DebugString() const {
  const StateCode c = code();
  const void* self = this;
  switch (c) {
    case StateCode::kPending:
    case StateCode::kFinishingFromPending:
      return absl::StrFormat("<Future at %p state=pending>", self);
    case StateCode::kRunning:
    case StateCode::kFinishingFromRunning:
      return absl::StrFormat("<Future at %p state=running>", self);
    case StateCode::kCancelled:
    case StateCode::kCancelledAndNotified:
      return absl::StrFormat("<Future at %p state=cancelled>", self);
    case StateCode::kFinished:
      break;
  }
  if (error_ != nullptr) {
    return absl::StrFormat("<Future at %p state=finished raised %s>", self,
                           ExceptionTypeName(error_));
  }
  return absl::StrFormat("<Future at %p state=finished returned %s>", self,
                         DemangledName(result_type()));
}

void StateBase::ThrowInvalidState() const {
  throw InvalidStateError(absl::StrCat(StateName(), ": ", DebugString()));
}

void StateBase::ThrowValueTaken() const {
  throw InvalidStateError(absl::StrCat(
      "Result(): the value of ", DebugString(),
      " was moved out by an earlier Result() on an rvalue handle (std::move(future).Result(), "
      "or Result() on a temporary future); use the value that call returned"));
}

void StateBase::ThrowMoveOnlyShared() const {
  const int others = other_handles();
  throw InvalidStateError(absl::StrCat(
      "Result() on an rvalue Future<T> of a move-only T needs the last handle: ", others,
      others == 1 ? " other handle shares" : " other handles share",
      " this future; std::move them all, or read it with Result() on an lvalue (a const "
      "reference). T is ",
      DemangledName(result_type())));
}

}  // namespace cf::internal
