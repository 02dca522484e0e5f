// cf/core/internal/shared_state.h — the one heap object behind every Future/Promise pair.
//
// Not part of the public API: use cf/core/future.h.
//
// SharedState<T> is StateBase (cf/core/internal/state_base.h: the reference counts, the state
// code and its transitions, the stored exception, the waiters and the done-callbacks — and the
// thread-safety contract of it all) plus the value slot (ValueSlot, cf/core/internal/
// value_slot.h), so a future costs exactly one allocation; a done-callback costs one more (its
// node), and a continuation (Then) none: its result's state is its node. Future<T>, Promise<T>
// and the continuations (cf/core/internal/then.h) use it; so do executors that keep their task
// in the same allocation (thread_pool/internal/task.h, process_pool/internal/pool_task.h).
//
// This header also brings in StateBase, StateCode and cf::FutureState, so including it is
// enough for anything that handles shared states.
//
// Thread safety: as StateBase's. The value is written once, by the completion that claimed the
// state, before the state code is published with release ordering; it is read only after an
// acquire load of the code has seen kFinished.
#ifndef CF_CORE_INTERNAL_SHARED_STATE_H_
#define CF_CORE_INTERNAL_SHARED_STATE_H_

#include <exception>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "cf/core/internal/state_base.h"
#include "cf/core/internal/value_slot.h"

namespace cf {
namespace internal {

// Executors may derive from SharedState<T> to keep their task in the same allocation (the
// thread pool's TaskState); the derived class must not change the completion protocol.
template <typename T>
class SharedState : public StateBase {
 public:
  SharedState() : StateBase(!std::is_void_v<T> && !std::is_copy_constructible_v<T>) {}
  // A state finished at construction, with a value or (ReadyError) an exception; for
  // MakeReadyFuture / MakeExceptionalFuture.
  struct ReadyValue {};
  struct ReadyError {};
  template <typename... A>
  explicit SharedState(ReadyValue, A&&... args) : SharedState() {
    slot_.Emplace(std::forward<A>(args)...);
    PublishFinishedUnshared();
  }
  SharedState(ReadyError, std::exception_ptr error) : SharedState() {
    error_ = std::move(error);
    PublishFinishedUnshared();
  }

  // Stores the result; InvalidStateError when already finished or cancelled.
  template <typename... A>
  void SetValue(A&&... args) {
    if (!TrySetValue(std::forward<A>(args)...)) ThrowInvalidState();
  }
  template <typename... A>
  bool TrySetValue(A&&... args) {
    StateCode from;
    if (!ClaimFinish(&from)) return false;
    return StoreClaimedValue(from, std::forward<A>(args)...);
  }
  // TrySetValue for the sole completer of a state it set running itself (ClaimFinishRunning).
  template <typename... A>
  void SetValueWhileRunning(A&&... args) {
    ClaimFinishRunning();
    StoreClaimedValue(StateCode::kRunning, std::forward<A>(args)...);
  }

 private:
  template <typename... A>
  bool StoreClaimedValue(StateCode from, A&&... args) {
    if constexpr (std::is_void_v<T> || std::is_nothrow_constructible_v<T, A&&...>) {
      slot_.Emplace(std::forward<A>(args)...);
    } else {
      try {
        slot_.Emplace(std::forward<A>(args)...);
      } catch (...) {
        UnclaimFinish(from);  // still pending (or running): the caller may store an error
        throw;
      }
    }
    RunCallbacks(PublishFinished());
    return true;
  }

 public:
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
    if constexpr (!std::is_copy_constructible_v<T>) AwaitCallbacks();
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

  // Runs fn(const Future<T>&) now (in this thread) if done, else queues it (one allocation:
  // its node). Defined in cf/core/future.h.
  template <typename F>
  void AddCallback(F&& fn);

  const std::type_info& result_type() const override { return typeid(T); }

 private:
  ValueSlot<T> slot_;
};

}  // namespace internal
}  // namespace cf

#endif  // CF_CORE_INTERNAL_SHARED_STATE_H_
