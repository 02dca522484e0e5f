#include "cf/core/internal/shared_state.h"

#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <typeinfo>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"

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
  switch (code()) {
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

bool StateBase::WaitFor(absl::Duration timeout) const {
  if (done()) return true;
  if (timeout <= absl::ZeroDuration()) return false;
  absl::MutexLock lock(&mu_);
  NoteWaiterLocked();
  if (timeout == absl::InfiniteDuration()) {
    mu_.Await(absl::Condition(this, &StateBase::DoneLocked));
    return true;
  }
  return mu_.AwaitWithTimeout(absl::Condition(this, &StateBase::DoneLocked), timeout);
}

void StateBase::WaitForValue(absl::Duration timeout) const {
  if (code() != StateCode::kFinished) {
    if (!WaitFor(timeout)) throw TimeoutError();
    if (cancelled()) throw CancelledError();
  }
  if (error_ != nullptr) std::rethrow_exception(error_);
}

StateBase::Take StateBase::TryTake() {
  uint64_t refs = refs_.load(std::memory_order_acquire);
  do {
    if ((refs & kTaken) != 0) return Take::kAlreadyTaken;
    if (Handles(refs) != 1) return Take::kShared;
    // Acquire: every read of the value through a handle since dropped happened-before this.
  } while (!refs_.compare_exchange_weak(refs, refs | kTaken, std::memory_order_acq_rel,
                                        std::memory_order_acquire));
  return Take::kLast;
}

int StateBase::other_handles() const { return Handles(refs_.load(std::memory_order_acquire)) - 1; }

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

void StateBase::AwaitCallbacks() const {
  if (!callbacks_pending_.load(std::memory_order_acquire)) return;
  absl::MutexLock lock(&mu_);
  // From a callback of this future: the others wait for us, so waiting would deadlock. Its own
  // handle counts, so the value is copied (or, for a move-only type, refused) instead.
  if (callbacks_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
  // Announced before the condition first reads the flag (see callback_awaiters_).
  callback_awaiters_.fetch_add(1, std::memory_order_seq_cst);
  mu_.Await(absl::Condition(this, &StateBase::CallbacksRanLocked));
  callback_awaiters_.fetch_sub(1, std::memory_order_relaxed);
}

void StateBase::RunCallbacks(CallbackNode* list) {
  if (list == nullptr) return;
  // Detached under mu_ by PublishLocked; nothing else reaches these nodes any more. Each
  // node's OnDone may free the node (read `next` first) but not this state: the completing
  // thread holds a reference.
  while (list != nullptr) {
    CallbackNode* next = list->next_callback;
    list->OnDone(this);
    list = next;
  }
  // An rvalue Result() may now move the value out. The lock only wakes one that waits.
  callbacks_pending_.store(false, std::memory_order_seq_cst);
  if (callback_awaiters_.load(std::memory_order_seq_cst) > 0) absl::MutexLock lock(&mu_);
}

void StateBase::AddCallbackNode(CallbackNode* node) {
  CallbackNode* head = callbacks_.load(std::memory_order_acquire);
  while (head != kClosedList) {
    node->next_callback = head;
    if (callbacks_.compare_exchange_weak(head, node, std::memory_order_release,
                                         std::memory_order_acquire)) {
      return;
    }
  }
  // Closed: done, or a completion is between closing the list and publishing the code.
  AwaitFinished();
  node->OnDone(this);
}

StateBase::~StateBase() {
  // Only a state that never became done still has nodes (done closes the list).
  CallbackNode* node = callbacks_.load(std::memory_order_acquire);
  if (node == kClosedList) return;
  while (node != nullptr) {
    CallbackNode* next = node->next_callback;
    node->Drop();
    node = next;
  }
}

bool StateBase::WaitUntil(absl::Time deadline) const {
  if (done()) return true;
  if (deadline == absl::InfiniteFuture()) return WaitFor(absl::InfiniteDuration());
  if (deadline <= absl::Now()) return false;
  absl::MutexLock lock(&mu_);
  NoteWaiterLocked();
  return mu_.AwaitWithDeadline(absl::Condition(this, &StateBase::DoneLocked), deadline);
}

bool StateBase::ClaimFinish(StateCode* from) {
  StateCode c = code_.load(std::memory_order_relaxed);
  while (c == StateCode::kPending || c == StateCode::kRunning) {
    const StateCode claimed = c == StateCode::kPending ? StateCode::kFinishingFromPending
                                                       : StateCode::kFinishingFromRunning;
    if (code_.compare_exchange_weak(c, claimed, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
      *from = c;
      return true;
    }
  }
  return false;  // done, or another completion holds the claim
}

CallbackNode* StateBase::PublishFinished() {
  // The list is closed and marked pending before the code is published, so whoever sees the
  // state done also sees that its callbacks are pending (AwaitCallbacks).
  CallbackNode* callbacks = DetachCallbacks();
  code_.store(StateCode::kFinished, std::memory_order_seq_cst);
  if (has_waiters_.load(std::memory_order_seq_cst)) {
    absl::MutexLock lock(&mu_);  // its release re-evaluates the waiters' conditions
    NotifyWaitersLocked();
  }
  return callbacks;
}

bool StateBase::TryCancelLocked(StateCode& found, CallbackNode** list) {
  found = StateCode::kPending;
  if (!code_.compare_exchange_strong(found, StateCode::kCancelled, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return false;
  }
  // A cancelled state has no value to take, so the list may close after the code changed.
  *list = DetachCallbacks();
  NotifyWaitersLocked();
  return true;
}

CallbackNode* StateBase::DetachCallbacks() {
  CallbackNode* node = callbacks_.exchange(kClosedList, std::memory_order_acq_rel);
  if (node == nullptr) return nullptr;
  // RunCallbacks follows in this thread.
  callbacks_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  callbacks_pending_.store(true, std::memory_order_relaxed);
  CallbackNode* in_order = nullptr;  // the list is newest first: reverse it
  while (node != nullptr) {
    CallbackNode* next = node->next_callback;
    node->next_callback = in_order;
    in_order = node;
    node = next;
  }
  return in_order;
}

void StateBase::NotifyWaitersLocked() {
  // A done future never notifies again, so each waiter is told once and unlinked here.
  WaiterNode* node = waiters_;
  waiters_ = nullptr;
  while (node != nullptr) {
    WaiterNode* next = node->next;
    node->linked = false;
    node->prev = node->next = nullptr;
    node->waiter->OnDone(this, node->index);
    node = next;
  }
}

bool StateBase::Cancel() {
  CallbackNode* callbacks = nullptr;
  StateCode c;
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = TryCancelLocked(c, &callbacks);
  }
  if (cancelled) {
    RunCallbacks(callbacks);
    return true;
  }
  if (Finishing(c)) {
    AwaitFinished();  // so that a false answer comes with Done() true, as for a finished one
    return false;
  }
  return c == StateCode::kCancelled || c == StateCode::kCancelledAndNotified;
}

bool StateBase::RequestStop() {
  CallbackNode* callbacks = nullptr;
  StateCode c;
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = TryCancelLocked(c, &callbacks);
  }
  if (cancelled) {
    RunCallbacks(callbacks);
    return true;
  }
  // Running: signalled outside mu_, since a token runs its std::stop_callbacks, which may use
  // the future. The work may finish meanwhile; the state (with a task's stop source) lives on
  // through the caller's handle.
  if (c == StateCode::kRunning) return RequestStopRunning();
  if (Finishing(c)) AwaitFinished();
  return false;  // done: nothing to stop
}

void StateBase::AwaitFinished() const {
  // A completion between its claim and its publication only constructs the value and
  // publishes it, so this wait is short.
  while (!done()) std::this_thread::yield();
}

bool StateBase::SetRunningOrNotifyCancel() {
  StateCode c = StateCode::kPending;
  if (code_.compare_exchange_strong(c, StateCode::kRunning, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
    return true;
  }
  // Done states are final, and only this call leaves kCancelled.
  if (c == StateCode::kCancelled &&
      code_.compare_exchange_strong(c, StateCode::kCancelledAndNotified,
                                    std::memory_order_acq_rel, std::memory_order_acquire)) {
    return false;
  }
  throw InvalidStateError(absl::StrCat("Future in unexpected state: ", StateName(), ": ",
                                       DebugString()));
}

void StateBase::SetError(std::exception_ptr error) {
  if (!TrySetError(std::move(error))) ThrowInvalidState();
}

bool StateBase::TrySetError(std::exception_ptr error) {
  if (error == nullptr) {
    throw std::invalid_argument(
        "SetException needs an exception: pass std::current_exception() or "
        "std::make_exception_ptr(...), not a null std::exception_ptr");
  }
  StateCode from;
  if (!ClaimFinish(&from)) return false;
  error_ = std::move(error);
  RunCallbacks(PublishFinished());
  return true;
}

bool StateBase::AddWaiter(WaiterNode* node) {
  absl::MutexLock lock(&mu_);
  NoteWaiterLocked();
  if (DoneLocked()) return false;
  node->prev = nullptr;
  node->next = waiters_;
  if (waiters_ != nullptr) waiters_->prev = node;
  waiters_ = node;
  node->linked = true;
  return true;
}

void StateBase::RemoveWaiter(WaiterNode* node) {
  absl::MutexLock lock(&mu_);
  if (!node->linked) return;
  if (node->prev != nullptr) {
    node->prev->next = node->next;
  } else {
    waiters_ = node->next;
  }
  if (node->next != nullptr) node->next->prev = node->prev;
  node->prev = node->next = nullptr;
  node->linked = false;
}

}  // namespace cf::internal
