// cf/core/internal/state_base.h — the part of a future's shared state that does not depend on
// the result type: StateBase, its state codes and its completion protocol.
//
// Not part of the public API: use cf/core/future.h. SharedState<T> (cf/core/internal/
// shared_state.h, which includes this header) derives from it and adds the value; AnyFuture,
// Wait/AsCompleted (cf/core/wait.h), the executors and the callback nodes hold a StateBase
// without knowing T. Defined in shared_state.cc (the state machine) and state_text.cc (names,
// DebugString, error messages), except AddAnyCallback (cf/core/future.cc).
//
// StateBase holds everything that does not depend on the result type: the intrusive
// reference count, the mutex, the state code, the stored exception, the waiters that
// Wait()/AsCompleted() install and the done-callbacks (CallbackNodes).
//
// State codes (Python's names in brackets):
//
//   kPending ──SetRunningOrNotifyCancel()──► kRunning ──SetValue/SetError──► kFinished
//      │  └──────────────SetValue/SetError────────────────────────────────► kFinished
//      └──Cancel()──► kCancelled ──SetRunningOrNotifyCancel()──► kCancelledAndNotified
//
// SetValue/SetError pass through kFinishingFromPending/kFinishingFromRunning while they store
// the outcome (a claim, so that a racing Cancel() sees the future as no longer pending).
//
// kCancelled, kCancelledAndNotified and kFinished are "done" and final. Unlike CPython, waiters
// (Wait, AsCompleted) and blocked Result() calls are woken by Cancel() itself (docs/semantics.md
// deviation 1); kCancelledAndNotified only records that the executor saw the cancellation.
//
// References: every Future<T> and AnyFuture handle, every Promise and every reference an
// executor holds (a queued task) keeps the state alive; the last one deletes it. Handles are
// counted apart (RefHandle/UnrefHandle), so that Result() on an rvalue handle can tell whether
// it is the last handle and may move the value out (TryTake). Promises and executors never read
// the value, so they do not count as handles. The two counts and the "taken" mark share one
// atomic word, which makes that check race-free: no handle can appear between the check and the
// mark without seeing the mark.
//
// Thread safety: every member function may be called from any thread. The hot transitions take
// no lock: kPending → kRunning (SetRunningOrNotifyCancel) and the completion's claim are
// compare-and-swaps on the code, and the callback list is an atomic stack. Cancel() and
// RequestStop() move kPending → kCancelled by a compare-and-swap under mu_ (whoever loses sees
// the other's state). mu_ guards the waiters (Wait, AsCompleted, blocked Result() calls): a
// completion takes it only if someone ever waited. A waiter marks the callback word
// (kWaitersBit, under mu_, before it checks the code); the completion closes that word with one
// exchange before it publishes the code, so it either sees the mark (and takes mu_ afterwards to
// wake the waiter) or the waiter sees the word closed (and waits out the few instructions to the
// publication instead of sleeping). The state code is published with release ordering after the
// value or exception is stored, so readers that load it with acquire ordering (Done(), Result()
// fast paths) see the value without taking the lock. Callbacks run outside mu_, exactly once,
// in registration order, in the thread that completed or cancelled the future (or immediately
// in the caller of AddCallbackNode when already done).
#ifndef CF_CORE_INTERNAL_STATE_BASE_H_
#define CF_CORE_INTERNAL_STATE_BASE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <typeinfo>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/internal/callback_node.h"
#include "cf/core/internal/state_text.h"
#include "cf/core/internal/waiter.h"

namespace cf {

enum class FutureState { kPending, kRunning, kCancelled, kFinished };

class AnyFuture;
template <typename T>
class Future;

namespace internal {

enum class StateCode : uint8_t {
  kPending,
  kRunning,
  // A completion has claimed the state and is storing the outcome (not done yet; public
  // state as before the claim).
  kFinishingFromPending,
  kFinishingFromRunning,
  kCancelled,
  kCancelledAndNotified,
  kFinished,
};

class StateBase;

class StateBase {
 public:
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;

  // A reference that is not a handle (a Promise, an executor's queue).
  void Ref() const { refs_.fetch_add(kRef, std::memory_order_relaxed); }
  void Unref() const { Release(kRef); }
  // A Future<T> or AnyFuture handle (also a reference).
  void RefHandle() const { refs_.fetch_add(kHandle, std::memory_order_relaxed); }
  // The same, for the first handle of a state no other thread can see yet (no atomic
  // read-modify-write): FutureAccess::FirstHandle.
  void RefFirstHandle() const {
    refs_.store(refs_.load(std::memory_order_relaxed) + kHandle, std::memory_order_relaxed);
  }
  // A state made done at construction (MakeReadyFuture): its one reference becomes the first
  // handle's, and nothing else holds it.
  void BecomeOnlyHandle() const { refs_.store(kHandle, std::memory_order_relaxed); }
  void UnrefHandle() const { Release(kHandle); }

  // What Result() on an rvalue handle may do with the value (see TryTake).
  enum class Take { kLast, kShared, kAlreadyTaken };
  // Called through a handle once finished with a value. kLast: the calling handle is the only
  // one; the value is marked taken and is the caller's to move out. kShared: other handles
  // exist (their number is other_handles()); copy it. kAlreadyTaken: an earlier Take moved it
  // out. A handle made later (Promise::GetFuture) sees the mark: value_taken().
  Take TryTake();
  bool value_taken() const { return (refs_.load(std::memory_order_acquire) & kTaken) != 0; }
  int other_handles() const;
  // Result() when the value was moved out by an rvalue Result(): InvalidStateError.
  [[noreturn]] void ThrowValueTaken() const;
  // Result() on an rvalue handle of a move-only T that is not the last: InvalidStateError.
  [[noreturn]] void ThrowMoveOnlyShared() const;

  // Blocks until the done-callbacks queued before completion have run, unless called from one
  // of them (their thread). Result() on an rvalue handle of a move-only T calls it before
  // TryTake, so that every callback has read the value before it is handed over. (For a
  // copyable T there is no need: each queued callback holds a handle from the completion on,
  // so TryTake answers kShared and the value is copied while any of them still runs.)
  void AwaitCallbacks() const;

  StateCode code() const { return code_.load(std::memory_order_acquire); }
  bool done() const { return code() >= StateCode::kCancelled; }
  bool running() const {
    StateCode c = code();
    if (c == StateCode::kPending && may_start_elsewhere_) c = ObserveStartedElsewhere();
    return c == StateCode::kRunning || c == StateCode::kFinishingFromRunning;
  }
  bool cancelled() const {
    const StateCode c = code();
    return c == StateCode::kCancelled || c == StateCode::kCancelledAndNotified;
  }
  FutureState public_state() const;
  // True when finished with an exception. Only meaningful once done().
  bool has_error() const { return code() == StateCode::kFinished && error_ != nullptr; }
  // The stored exception; only meaningful once code() == kFinished.
  const std::exception_ptr& error() const { return error_; }

  // Blocks until done or the timeout passes; returns done(). Negative or zero timeouts only
  // check. Wakes on completion and on Cancel().
  bool WaitFor(absl::Duration timeout) const;
  // What Result() does before reading the value: WaitFor(timeout), then throws TimeoutError,
  // CancelledError or the stored exception; returns once finished with a value.
  void WaitForValue(absl::Duration timeout) const;
  // Like WaitFor with an absolute deadline.
  bool WaitUntil(absl::Time deadline) const;

  // Python's cancel(): kPending → kCancelled (true); already cancelled → true; running or
  // finished → false. Wakes waiters and runs callbacks on the first cancellation.
  bool Cancel();
  // Future::RequestStop(): kPending → kCancelled as Cancel() (true); kRunning → asks the
  // running work to stop through RequestStopRunning(), outside mu_ (its answer; the work may
  // finish meanwhile); otherwise (done) false.
  bool RequestStop();
  // Python's set_running_or_notify_cancel(): kPending → kRunning (true); kCancelled →
  // kCancelledAndNotified (false). Throws InvalidStateError in any other state.
  bool SetRunningOrNotifyCancel();
  // Stores an exception; InvalidStateError when already finished or cancelled.
  void SetError(std::exception_ptr error);
  // Like SetError but returns false instead of throwing (executors racing with Cancel()).
  bool TrySetError(std::exception_ptr error);

  // Registers node (whose waiter and index are set) unless the future is already done; returns
  // false (node not linked) when it is done.
  bool AddWaiter(WaiterNode* node);
  // Unlinks node if it is still linked. After it returns, no OnDone call for node is running.
  void RemoveWaiter(WaiterNode* node);

  // "<Future at 0x... state=...>", Python's repr.
  std::string DebugString() const;
  // Python's state names: PENDING, RUNNING, CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED.
  const char* StateName() const;

  virtual const std::type_info& result_type() const = 0;

  // Registers `node` (which the caller gives up): queued while the future is not done — its
  // OnDone then runs in the completing thread, after every node queued before it — or, when
  // it is done already, OnDone runs at once in this thread.
  void AddCallbackNode(CallbackNode* node);
  // A type-erased callback (AnyFuture::AddDoneCallback).
  void AddAnyCallback(absl::AnyInvocable<void(const AnyFuture&)> fn);

 protected:
  // await_callbacks: whether AwaitCallbacks is used (a move-only T), so completions must
  // track when their callbacks have run.
  explicit StateBase(bool await_callbacks) : await_callbacks_(await_callbacks) {}
  // A state destroyed without ever being done (its producer discarded it unrun) drops the
  // nodes still queued.
  virtual ~StateBase();

  // Completion protocol for subclasses, without a lock: ClaimFinish(&from) — false when done
  // or claimed already; then store the value or error_ (if that throws: UnclaimFinish(from));
  // then RunCallbacks(PublishFinished()) — which closes the callback list, publishes kFinished
  // with release ordering and wakes the waiters, and then runs the callbacks in this thread.
  bool ClaimFinish(StateCode* from);
  // Makes a state that no other thread can see yet finished (its value or error_ stored
  // already): no atomic read-modify-write, no callbacks, no waiters.
  void PublishFinishedUnshared() {
    callbacks_.store(kClosed, std::memory_order_relaxed);
    code_.store(StateCode::kFinished, std::memory_order_relaxed);
  }
  // The same for the sole completer of a state it set running itself (a task, a continuation):
  // nothing else can leave kRunning, so a plain store claims it.
  void ClaimFinishRunning() {
    code_.store(StateCode::kFinishingFromRunning, std::memory_order_relaxed);
  }
  void UnclaimFinish(StateCode from) { code_.store(from, std::memory_order_release); }
  CallbackNode* PublishFinished();
  bool DoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return code_.load(std::memory_order_seq_cst) >= StateCode::kCancelled;
  }
  [[noreturn]] void ThrowInvalidState() const;

  // Work that may start outside this process's view of the state: the process pool's calls
  // waiting in a worker's ring, which the worker takes with a compare-and-swap in shared memory
  // while the future is still kPending here. A subclass that sets may_start_elsewhere_ answers,
  // with mu_ held, on a pending state: has the work started? With revoke (Cancel(),
  // RequestStop()), if it has not, it must make sure it never will before answering false. A
  // true answer turns the state kRunning (Running(), state() and Cancel() agree with the
  // worker), false with revoke lets Cancel() win. The default: false.
  virtual bool StartedElsewhere(bool revoke) {
    (void)revoke;
    return false;
  }
  bool may_start_elsewhere_ = false;  // set once, in the subclass's constructor
  // The same subclasses hear of their outcome, once, from the thread that makes the state
  // done, before it wakes a waiter or runs a callback (an executor's statistics): cancelled
  // (with mu_ held, right after the state turned kCancelled) or finished (just before kFinished
  // is published; error_ says how).
  virtual void NoteOutcome(bool cancelled) { (void)cancelled; }

  // Signals the stop token of the running work, if it has one (the thread pool's tasks that
  // take a std::stop_token); returns whether it did. Called from RequestStop() once the state
  // was seen running, from any thread, without mu_. The default: no token, false.
  virtual bool RequestStopRunning() { return false; }

  // Runs the callbacks PublishFinished (or a cancellation) detached (nullptr: none), in order;
  // called once, by the thread that made the state done, without mu_.
  void RunCallbacks(CallbackNode* list);

  mutable absl::Mutex mu_;
  std::exception_ptr error_;  // written once, by the claiming completion, before kFinished

 private:
  // refs_: bits 0-31 count every reference, bits 32-62 the handles among them, bit 63 is the
  // "value taken" mark.
  static constexpr uint64_t kRef = 1;
  static constexpr uint64_t kHandle = (uint64_t{1} << 32) | kRef;
  static constexpr uint64_t kRefMask = (uint64_t{1} << 32) - 1;
  static constexpr uint64_t kTaken = uint64_t{1} << 63;
  static int Handles(uint64_t refs) { return static_cast<int>((refs & ~kTaken) >> 32); }
  void Release(uint64_t n) const {
    if (((refs_.fetch_sub(n, std::memory_order_acq_rel) - n) & kRefMask) == 0) delete this;
  }
  bool CallbacksRanLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !callbacks_pending_.load(std::memory_order_seq_cst);
  }
  // Cancel() and RequestStop() on a pending state, with mu_ held: kPending → kCancelled by a
  // compare-and-swap (an executor may be starting it without the lock). Returns the detached
  // callback list through *list and true, or false with the state it found (kRunning).
  bool TryCancelLocked(StateCode& found, CallbackNode** list) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the callback list (later AddCallbackNode calls run their node at once) and returns
  // its nodes in registration order; marks them pending for AwaitCallbacks. Called once, by
  // the thread that makes the state done, before it publishes the code.
  CallbackNode* DetachCallbacks(bool* waiters = nullptr);
  // Calls OnDone on each node of a detached list, in order.
  void RunNodes(CallbackNode* list) noexcept;
  static bool Finishing(StateCode c) {
    return c == StateCode::kFinishingFromPending || c == StateCode::kFinishingFromRunning;
  }
  // running()/public_state() of a pending state whose work may start elsewhere: asks
  // StartedElsewhere(false) under mu_ and turns the state kRunning if it has; returns the code.
  StateCode ObserveStartedElsewhere() const;
  // Waits out a completion that has claimed the state (ClaimFinish) until it is published.
  void AwaitFinished() const;
  // Announces a waiter (with mu_ held, before it checks the code): true when a completion will
  // see it; false when the callback word is closed already — the state is done or a completion
  // is about to publish it (AwaitFinished), with no wake-up to wait for.
  bool NoteWaiterLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (callbacks_.fetch_or(kWaitersBit, std::memory_order_acq_rel) & kClosed) == 0;
  }
  // Wakes and unlinks the waiters of a state that just became done.
  void NotifyWaitersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::atomic<uint64_t> refs_{kRef};
  std::atomic<StateCode> code_{StateCode::kPending};
  // Queued callbacks not yet all run: set before completion publishes the code (so a thread
  // that saw the completion sees it), cleared by the thread that ran them — without mu_
  // unless an rvalue Result() waits for it (callback_awaiters_; both sides use sequentially
  // consistent accesses, so either the waiter sees the flag cleared or the clearing thread
  // sees the waiter and takes mu_ to wake it).
  std::atomic<bool> callbacks_pending_{false};
  const bool await_callbacks_;  // whether callbacks_pending_ is kept (a move-only T)
  mutable std::atomic<int> callback_awaiters_{0};
  WaiterNode* waiters_ ABSL_GUARDED_BY(mu_) = nullptr;
  // One word: the done-callbacks (the newest node, linked to older ones through next_callback),
  // pushed without mu_ by a compare-and-swap, and kWaitersBit once someone waited (sticky). A
  // completion swaps in kClosed just before it publishes the code, so an AddCallbackNode that
  // finds it closed waits (a few instructions) until the state is done and then runs its node
  // at once.
  static constexpr uintptr_t kClosed = 1;
  static constexpr uintptr_t kWaitersBit = 2;
  static constexpr uintptr_t kNodeMask = ~(kClosed | kWaitersBit);  // nodes are 8-aligned
  static CallbackNode* NodeOf(uintptr_t word) {
    return reinterpret_cast<CallbackNode*>(word & kNodeMask);
  }
  mutable std::atomic<uintptr_t> callbacks_{0};
};

}  // namespace internal
}  // namespace cf

#endif  // CF_CORE_INTERNAL_STATE_BASE_H_
