// The state machine of StateBase (cf/core/internal/state_base.h): waiting, cancelling,
// completing, and the done-callbacks and waiters that completion wakes. (What a state says about
// itself — names, DebugString, error messages — is in state_text.cc.)
#include "cf/core/internal/shared_state.h"

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"

namespace cf::internal {

bool StateBase::WaitFor(absl::Duration timeout) const {
  if (done()) return true;
  if (timeout <= absl::ZeroDuration()) return false;
  absl::MutexLock lock(&mu_);
  if (!NoteWaiterLocked()) {
    AwaitFinished();  // the completion does not need mu_ any more
    return true;
  }
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

namespace {

// The states whose callbacks this thread is running (tracked for move-only results only:
// AwaitCallbacks), innermost first.
struct RunningCallbacks {
  const StateBase* state;
  const RunningCallbacks* outer;
};
thread_local const RunningCallbacks* running_callbacks = nullptr;

bool RunningCallbacksOf(const StateBase* state) {
  for (const RunningCallbacks* r = running_callbacks; r != nullptr; r = r->outer) {
    if (r->state == state) return true;
  }
  return false;
}

}  // namespace

void StateBase::AwaitCallbacks() const {
  if (!callbacks_pending_.load(std::memory_order_acquire)) return;
  // From a callback of this future: the others wait for us, so waiting would deadlock. Its own
  // handle counts, so the value is refused instead.
  if (RunningCallbacksOf(this)) return;
  absl::MutexLock lock(&mu_);
  // Announced before the condition first reads the flag (see callback_awaiters_).
  callback_awaiters_.fetch_add(1, std::memory_order_seq_cst);
  mu_.Await(absl::Condition(this, &StateBase::CallbacksRanLocked));
  callback_awaiters_.fetch_sub(1, std::memory_order_relaxed);
}

void StateBase::RunCallbacks(CallbackNode* list) {
  if (list == nullptr) return;
  if (!await_callbacks_) {
    RunNodes(list);
    return;
  }
  // A move-only result: record that this thread runs these callbacks (AwaitCallbacks from one
  // of them must not wait for itself), then clear callbacks_pending_.
  RunningCallbacks frame{this, running_callbacks};
  running_callbacks = &frame;
  RunNodes(list);
  running_callbacks = frame.outer;
  // An rvalue Result() of a move-only T may now take the value. The lock only wakes one that
  // waits.
  callbacks_pending_.store(false, std::memory_order_seq_cst);
  if (callback_awaiters_.load(std::memory_order_seq_cst) > 0) absl::MutexLock lock(&mu_);
}

void StateBase::RunNodes(CallbackNode* list) noexcept {
  // Detached by DetachCallbacks; nothing else reaches these nodes any more. Each node's OnDone
  // may free the node (read `next` first) but not this state: the completing thread holds a
  // reference.
  while (list != nullptr) {
    CallbackNode* next = list->next_callback;
    list->OnDone(this);
    list = next;
  }
}

void StateBase::AddCallbackNode(CallbackNode* node) {
  uintptr_t word = callbacks_.load(std::memory_order_acquire);
  while ((word & kClosed) == 0) {
    node->next_callback = NodeOf(word);
    if (callbacks_.compare_exchange_weak(word,
                                         reinterpret_cast<uintptr_t>(node) | (word & kWaitersBit),
                                         std::memory_order_release, std::memory_order_acquire)) {
      return;
    }
  }
  // Closed: done, or a completion is between closing the list and publishing the code.
  AwaitFinished();
  RefHandle();  // the node's (see callback_node.h)
  node->OnDone(this);
}

StateBase::~StateBase() {
  // Only a state that never became done still has nodes (done closes the list).
  const uintptr_t word = callbacks_.load(std::memory_order_acquire);
  if ((word & kClosed) != 0) return;
  CallbackNode* node = NodeOf(word);
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
  if (!NoteWaiterLocked()) {
    AwaitFinished();
    return true;
  }
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
  bool waiters;
  CallbackNode* callbacks = DetachCallbacks(&waiters);
  if (may_start_elsewhere_) NoteOutcome(/*cancelled=*/false);
  code_.store(StateCode::kFinished, std::memory_order_release);
  if (waiters) {
    absl::MutexLock lock(&mu_);  // its release re-evaluates the waiters' conditions
    NotifyWaitersLocked();
  }
  return callbacks;
}

StateCode StateBase::ObserveStartedElsewhere() const {
  auto* self = const_cast<StateBase*>(this);
  absl::MutexLock lock(&mu_);
  StateCode c = StateCode::kPending;
  if (code() == StateCode::kPending && self->StartedElsewhere(/*revoke=*/false)) {
    self->code_.compare_exchange_strong(c, StateCode::kRunning, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }
  return code();
}

bool StateBase::TryCancelLocked(StateCode& found, CallbackNode** list) {
  found = StateCode::kPending;
  if (may_start_elsewhere_ && code() == StateCode::kPending && StartedElsewhere(/*revoke=*/true)) {
    // A worker took it: running now, which Cancel() cannot undo.
    code_.compare_exchange_strong(found, StateCode::kRunning, std::memory_order_acq_rel,
                                  std::memory_order_acquire);
    found = code();
    return false;
  }
  if (!code_.compare_exchange_strong(found, StateCode::kCancelled, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return false;
  }
  if (may_start_elsewhere_) NoteOutcome(/*cancelled=*/true);
  // A cancelled state has no value to take, so the list may close after the code changed.
  *list = DetachCallbacks();
  NotifyWaitersLocked();
  return true;
}

CallbackNode* StateBase::DetachCallbacks(bool* waiters) {
  const uintptr_t word = callbacks_.exchange(kClosed, std::memory_order_acq_rel);
  if (waiters != nullptr) *waiters = (word & kWaitersBit) != 0;
  CallbackNode* node = NodeOf(word);
  if (node == nullptr) return nullptr;
  if (await_callbacks_) callbacks_pending_.store(true, std::memory_order_relaxed);
  CallbackNode* in_order = nullptr;  // the list is newest first: reverse it
  uint64_t count = 0;
  while (node != nullptr) {
    CallbackNode* next = node->next_callback;
    node->next_callback = in_order;
    in_order = node;
    node = next;
    ++count;
  }
  refs_.fetch_add(count * kHandle, std::memory_order_relaxed);  // one handle for each node
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
  if (!NoteWaiterLocked()) {
    AwaitFinished();
    return false;
  }
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
