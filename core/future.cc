#include "cf/core/future.h"

#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cf/core/internal/shared_state.h"

namespace cf {
namespace {

struct HandlerSlot {
  absl::Mutex mu;
  std::shared_ptr<const CallbackExceptionHandler> handler ABSL_GUARDED_BY(mu);
};

HandlerSlot& Slot() {
  static HandlerSlot* const slot = new HandlerSlot();  // never destroyed: used at exit too
  return *slot;
}

// `origin` names work without a future (Post); null for a done-callback.
void DefaultCallbackExceptionHandler(const AnyFuture& future, std::exception_ptr error,
                                     const char* origin) {
  const std::string line =
      origin != nullptr
          ? absl::StrCat("exception in ", origin, ": ", internal::ExceptionMessage(error), "\n")
          : absl::StrCat("exception calling callback for ", future.DebugString(), ": ",
                         internal::ExceptionMessage(error), "\n");
  std::fputs(line.c_str(), stderr);
}

void Report(const AnyFuture& future, const std::exception_ptr& error, const char* origin) {
  std::shared_ptr<const CallbackExceptionHandler> handler;
  {
    HandlerSlot& slot = Slot();
    absl::MutexLock lock(&slot.mu);
    handler = slot.handler;
  }
  try {
    if (handler) {
      (*handler)(future, error);
    } else {
      DefaultCallbackExceptionHandler(future, error, origin);
    }
  } catch (...) {
    // A throwing handler must not take down the calling thread; fall back to stderr.
    DefaultCallbackExceptionHandler(future, error, origin);
  }
}

}  // namespace

CallbackExceptionHandler SetCallbackExceptionHandler(CallbackExceptionHandler handler) {
  std::shared_ptr<const CallbackExceptionHandler> next;
  if (handler) next = std::make_shared<const CallbackExceptionHandler>(std::move(handler));
  HandlerSlot& slot = Slot();
  absl::MutexLock lock(&slot.mu);
  std::swap(slot.handler, next);
  return next ? *next : CallbackExceptionHandler();
}

std::exception_ptr AnyFuture::Exception(Timeout timeout) const {
  internal::StateBase* s = checked("Exception");
  if (!s->WaitFor(timeout.duration())) throw TimeoutError();
  if (s->cancelled()) throw CancelledError();
  return s->error();
}

namespace internal {

void ThrowInvalidFuture(const char* method) {
  throw std::logic_error(absl::StrCat(
      "cf::Future::", method,
      " called on an invalid (default-constructed or moved-from) future; get futures from "
      "Promise::GetFuture() or an executor's Submit()"));
}

void ReportCallbackException(const AnyFuture& future, std::exception_ptr error) {
  Report(future, error, nullptr);
}

void ReportDetachedException(std::exception_ptr error, const char* origin) {
  Report(AnyFuture(), error, origin);
}

namespace {

// AnyFuture::AddDoneCallback's node: the callable, called with an untyped handle.
class AnyCallback final : public CallbackNode {
 public:
  explicit AnyCallback(absl::AnyInvocable<void(const AnyFuture&)> fn) : fn_(std::move(fn)) {}

  void OnDone(StateBase* state) noexcept override {
    {
      const AnyFuture self = FutureAccess::AdoptState(state);
      try {
        fn_(self);
      } catch (...) {
        ReportCallbackException(self, std::current_exception());
      }
    }
    delete this;
  }
  void Drop() noexcept override { delete this; }

 private:
  absl::AnyInvocable<void(const AnyFuture&)> fn_;
};

}  // namespace

// Declared in state_base.h; defined here, where AnyFuture is complete.
void StateBase::AddAnyCallback(absl::AnyInvocable<void(const AnyFuture&)> fn) {
  AddCallbackNode(new AnyCallback(std::move(fn)));
}

}  // namespace internal
}  // namespace cf
