// cf/core/internal/shared_state.h — the one heap object behind every Future/Promise pair.
//
// Not part of the public API: use cf/core/future.h.
//
// StateBase holds everything that does not depend on the result type: the intrusive
// reference count, the mutex, the state code, the stored exception and the list of waiters that
// Wait()/AsCompleted() install. SharedState<T> adds the value slot and the typed callbacks, so a
// future costs exactly one allocation (callbacks and waiters allocate only when used).
//
// State codes (Python's names in brackets):
//
//   kPending ──SetRunningOrNotifyCancel()──► kRunning ──SetValue/SetError──► kFinished
//      │  └──────────────SetValue/SetError────────────────────────────────► kFinished
//      └──Cancel()──► kCancelled ──SetRunningOrNotifyCancel()──► kCancelledAndNotified
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
// Thread safety: every member function may be called from any thread. Transitions happen under
// mu_. The state code is also published with release ordering after the value or exception is
// stored, so readers that load it with acquire ordering (Done(), Result() fast paths) see the
// value without taking the lock. Callbacks run outside mu_, exactly once, in registration order,
// in the thread that completed or cancelled the future (or immediately in the caller of
// AddCallback when already done).
#ifndef CF_CORE_INTERNAL_SHARED_STATE_H_
#define CF_CORE_INTERNAL_SHARED_STATE_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"

namespace cf {

enum class FutureState { kPending, kRunning, kCancelled, kFinished };

class AnyFuture;
template <typename T>
class Future;

namespace internal {

enum class StateCode : uint8_t {
  kPending,
  kRunning,
  kCancelled,
  kCancelledAndNotified,
  kFinished,
};

class StateBase;

// Something blocked on several futures at once (Wait, AsCompleted). OnDone is called with the
// future's mutex held, exactly once per registered node, when that future becomes done.
class Waiter {
 public:
  virtual void OnDone(StateBase* state, uint32_t index) = 0;

 protected:
  ~Waiter() = default;
};

// One registration of a Waiter on one future; owned by the waiter side, linked into the
// future's intrusive list while registered.
struct WaiterNode {
  Waiter* waiter = nullptr;
  uint32_t index = 0;  // the waiter's own numbering (position in its input)
  WaiterNode* prev = nullptr;
  WaiterNode* next = nullptr;
  bool linked = false;
};

// Demangled C++ type names for DebugString(): "int", "std::string", "std::invalid_argument".
std::string DemangledName(const std::type_info& type);
// The dynamic type name of a stored exception ("unknown exception" for a non-std type).
std::string ExceptionTypeName(const std::exception_ptr& error);
// what() of a stored exception, or a placeholder for non-std types.
std::string ExceptionMessage(const std::exception_ptr& error);

// Hands an exception thrown by a done-callback to the process-wide handler (see
// cf::SetCallbackExceptionHandler in future.h).
void ReportCallbackException(const AnyFuture& future, std::exception_ptr error);
// The same for work that has no future (ThreadPoolExecutor::Post): the handler gets an invalid
// AnyFuture; the default one prints "exception in <origin>: <what>".
void ReportDetachedException(std::exception_ptr error, const char* origin);

class StateBase {
 public:
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;

  // A reference that is not a handle (a Promise, an executor's queue).
  void Ref() const { refs_.fetch_add(kRef, std::memory_order_relaxed); }
  void Unref() const { Release(kRef); }
  // A Future<T> or AnyFuture handle (also a reference).
  void RefHandle() const { refs_.fetch_add(kHandle, std::memory_order_relaxed); }
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
  // of them (their thread). Result() on an rvalue handle calls it before TryTake, so that
  // every callback reads the value before it may be moved out.
  void AwaitCallbacks() const;

  StateCode code() const { return code_.load(std::memory_order_acquire); }
  bool done() const { return code() >= StateCode::kCancelled; }
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
  // Registers a type-erased callback (AnyFuture::AddDoneCallback).
  virtual void AddAnyCallback(absl::AnyInvocable<void(const AnyFuture&)> fn) = 0;

 protected:
  StateBase() = default;
  virtual ~StateBase() = default;

  // Completion protocol for subclasses, with mu_ held: check FinishableLocked(), store the
  // value or error_, then PublishLocked(code) — which stores the code with release ordering
  // and notifies waiters. Callbacks run after mu_ is released (RunCallbacks).
  bool FinishableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const StateCode c = code_.load(std::memory_order_relaxed);
    return c == StateCode::kPending || c == StateCode::kRunning;
  }
  void PublishLocked(StateCode code) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool DoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return code_.load(std::memory_order_relaxed) >= StateCode::kCancelled;
  }
  [[noreturn]] void ThrowInvalidState() const;

  // Signals the stop token of the running work, if it has one (the thread pool's tasks that
  // take a std::stop_token); returns whether it did. Called from RequestStop() once the state
  // was seen running, from any thread, without mu_. The default: no token, false.
  virtual bool RequestStopRunning() { return false; }

  // Runs the pending callbacks; called once, by the thread that made the state done, after it
  // released mu_.
  virtual void RunCallbacks() = 0;
  // A callback was queued (AddCallback on a state not yet done).
  void NoteCallbackQueuedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    callbacks_pending_.store(true, std::memory_order_relaxed);
  }
  // The queued callbacks have all run (RunCallbacks, when there were any).
  void NoteCallbacksRan();

  mutable absl::Mutex mu_;
  std::exception_ptr error_;  // written once under mu_ before code_ becomes kFinished

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
    return !callbacks_pending_.load(std::memory_order_relaxed);
  }

  mutable std::atomic<uint64_t> refs_{kRef};
  std::atomic<StateCode> code_{StateCode::kPending};
  // Queued callbacks not yet all run: set under mu_ before completion (so a thread that saw the
  // completion sees it), cleared under mu_ by callbacks_thread_ once they ran.
  std::atomic<bool> callbacks_pending_{false};
  std::thread::id callbacks_thread_ ABSL_GUARDED_BY(mu_);  // the thread that runs them
  WaiterNode* waiters_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// The value slot: raw storage so T needs no default constructor; void has none.
template <typename T>
class ValueSlot {
 public:
  ~ValueSlot() {
    if (engaged_) value().~T();
  }
  template <typename... A>
  void Emplace(A&&... args) {
    ::new (static_cast<void*>(storage_)) T(std::forward<A>(args)...);
    engaged_ = true;
  }
  T& value() { return *std::launder(reinterpret_cast<T*>(storage_)); }
  const T& value() const { return *std::launder(reinterpret_cast<const T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  bool engaged_ = false;
};

template <>
class ValueSlot<void> {
 public:
  void Emplace() {}
};

// Executors may derive from SharedState<T> to keep their task in the same allocation (the
// thread pool's TaskState); the derived class must not change the completion protocol.
template <typename T>
class SharedState : public StateBase {
 public:
  using Callback = absl::AnyInvocable<void(const Future<T>&)>;

  SharedState() = default;

  // Stores the result; InvalidStateError when already finished or cancelled.
  template <typename... A>
  void SetValue(A&&... args) {
    if (!TrySetValue(std::forward<A>(args)...)) ThrowInvalidState();
  }
  template <typename... A>
  bool TrySetValue(A&&... args) {
    {
      absl::MutexLock lock(&mu_);
      if (!FinishableLocked()) return false;
      slot_.Emplace(std::forward<A>(args)...);
      PublishLocked(StateCode::kFinished);
    }
    RunCallbacks();
    return true;
  }

  // Only after code() == kFinished and no error. For the library's own readers (MapResults);
  // handles go through ValueForRead / TakeValue.
  auto& value()
    requires(!std::is_void_v<T>)
  {
    return slot_.value();
  }

  // Result() on an lvalue handle, after WaitForValue: the value, unless it was moved out.
  std::add_lvalue_reference_t<const T> ValueForRead() const
    requires(!std::is_void_v<T>)
  {
    if (value_taken()) ThrowValueTaken();
    return slot_.value();
  }

  // Result() on an rvalue handle, after WaitForValue: the value moved out when the calling
  // handle is the last one, copied otherwise (a move-only T: InvalidStateError).
  T TakeValue()
    requires(!std::is_void_v<T>)
  {
    AwaitCallbacks();
    switch (TryTake()) {
      case Take::kLast:
        return std::move(slot_.value());
      case Take::kShared:
        if constexpr (std::is_copy_constructible_v<T>) {
          return slot_.value();
        } else {
          ThrowMoveOnlyShared();
        }
      case Take::kAlreadyTaken:
        break;
    }
    ThrowValueTaken();
  }

  // Runs fn now (in this thread) if done, else queues it.
  void AddCallback(Callback fn);

  const std::type_info& result_type() const override { return typeid(T); }
  void AddAnyCallback(absl::AnyInvocable<void(const AnyFuture&)> fn) override;

 private:
  void RunCallbacks() override;
  void Invoke(Callback& fn);

  ValueSlot<T> slot_;
  std::vector<Callback> callbacks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace cf

#endif  // CF_CORE_INTERNAL_SHARED_STATE_H_
