// cf/core/internal/then.h — the templates behind Future<T>::Then and Future<T>::ThenValue.
//
// Not part of the public API: included at the end of cf/core/future.h, which documents the
// members.
//
// One allocation per link: a continuation is a ThenState, which is at once
//   * the shared state of its result (a SharedState<U>: the Future<U> that Then returns),
//   * the done-callback node on its source (a ContinuationNode in the source's list), and
//   * the item queued on this thread's trampoline once the source is done (the same node),
// and it holds fn. Its producer reference (the one a Promise would hold) belongs to the link
// itself and is dropped once fn ran (or the link was given up), which frees the link as soon as
// nobody holds its result.
//
//   source done ──OnDone──► keeps the handle to the source it is given ──RunOrQueue──►
//     inline form:    Execute: result running (unless cancelled) → fn → result completed
//     executor form:  Dispatch: executor.Post(RunOnExecutor) (else Submit) ─► on the executor:
//                     RunOrQueue → Execute
//   Execute/refusal ──► fn and the source handle released, producer reference dropped
//
// Trampoline: a continuation that runs inline completes its result, which runs the result's
// own callbacks (the next link of a chain) in the same thread. To keep the stack flat for long
// chains, RunOrQueue runs a link at once only when this thread is not already running one;
// otherwise it appends the link to a thread_local intrusive FIFO that the outermost call drains
// before it returns. The queue is per-thread, so it needs no synchronisation, and queueing
// allocates nothing. A queued link holds a handle to its source, so the source (and its value)
// outlives it.
//
// Executor refusals: Post/Submit may refuse the work by throwing (cf::ShutdownError), or drop
// it unrun later (Shutdown with cancel_futures) by destroying the callable. The callable owns
// the link until it runs; destroyed unrun it fails the result with cf::BrokenPromise — unless
// that happens inside the Post/Submit call that then throws, in which case the result fails
// with what it threw (a thread_local marker tells the two apart: then.cc).
#ifndef CF_CORE_INTERNAL_THEN_H_
#define CF_CORE_INTERNAL_THEN_H_

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cf/core/errors.h"
#include "cf/core/internal/task.h"
#include "cf/core/internal/then_parts.h"

namespace cf {
namespace internal {

// A link: the done-callback node on its source, which is also the item queued on this
// thread's trampoline once the source is done (linked through next_callback, which the source
// no longer uses by then).
class ContinuationNode : public CallbackNode {
 public:
  // Runs the link's next step (then.h's ThenState): fn inline, or the hand-off to its executor,
  // or — on the executor — fn.
  virtual void RunQueued() noexcept = 0;
  // The executor destroyed the work without running it.
  virtual void DroppedUnrun() noexcept = 0;

 protected:
  ~ContinuationNode() = default;
};

// Runs c->RunQueued() now, or — when this thread is already running a continuation — right
// after it, from the outermost call (core/internal/then.cc).
void RunOrQueue(ContinuationNode* c) noexcept;

// Called by the executor's callable when destroyed unrun: marks the link dropped if this
// thread is inside its Dispatch (which then fails it), else calls DroppedUnrun().
void NoteDropped(ContinuationNode* c) noexcept;

// Dispatch's marker: set while this thread hands `link` to an executor.
struct DispatchMarker {
  const ContinuationNode* link;
  bool dropped = false;
  DispatchMarker* outer = nullptr;
};
// Installs / removes this thread's innermost marker.
void PushDispatchMarker(DispatchMarker* marker) noexcept;
void PopDispatchMarker(DispatchMarker* marker) noexcept;

// What an executor runs: owns the link until called (move-only; Post takes it as it is).
template <typename S>
class RunOnExecutor {
 public:
  explicit RunOnExecutor(S* link) : link_(link) {}
  RunOnExecutor(RunOnExecutor&& other) noexcept : link_(std::exchange(other.link_, nullptr)) {}
  RunOnExecutor& operator=(RunOnExecutor&&) = delete;
  ~RunOnExecutor() {
    if (link_ != nullptr) NoteDropped(link_);
  }
  void operator()() noexcept { RunOrQueue(std::exchange(link_, nullptr)); }

 private:
  S* link_;
};

// The same, copyable, for executors whose Submit wants a copyable callable.
template <typename S>
struct SharedRunOnExecutor {
  std::shared_ptr<RunOnExecutor<S>> run;
  void operator()() const noexcept { (*run)(); }
};

// One link. kValue: ThenValue (else Then). E: the executor type, or Inline.
template <bool kValue, typename T, typename U, typename Fn, typename E>
class ThenState final : public SharedState<U>, public ContinuationNode, public TaskBaseFor<E> {
 public:
  template <typename F>
  ThenState(E* executor, F&& fn) : exec_(executor), fn_(std::forward<F>(fn)) {}

  // The source is done (its completing thread, or the registering one).
  void OnDone(StateBase* source) noexcept override {
    source_ = FutureAccess::AdoptTypedState(static_cast<SharedState<T>*>(source));
    RunOrQueue(this);
  }
  // The source was destroyed without ever completing.
  void Drop() noexcept override { FailAndRelease(std::make_exception_ptr(BrokenPromise())); }

  void RunQueued() noexcept override {
    if constexpr (std::is_same_v<E, Inline>) {
      Execute();
    } else if (exec_.dispatched) {
      Execute();  // on the executor
    } else {
      Dispatch();
    }
  }
  void DroppedUnrun() noexcept override {
    FailAndRelease(std::make_exception_ptr(BrokenPromise()));
  }

  // The Task interface, for executors that queue Tasks (TaskPusher).
  void RunTask() noexcept { RunOrQueue(this); }
  void CancelTask() noexcept { DroppedUnrun(); }
  void FailTask(std::exception_ptr error) noexcept { FailAndRelease(std::move(error)); }
  void DiscardTask() noexcept { NoteDropped(this); }

 private:
  void Execute() noexcept {
    bool run = false;
    try {
      if constexpr (kValue) {
        if (source_.Cancelled()) {
          this->TrySetError(std::make_exception_ptr(CancelledError()));
        } else if (const std::exception_ptr& e = FutureAccess::State(source_)->error();
                   e != nullptr) {
          this->TrySetError(e);
        } else {
          run = this->SetRunningOrNotifyCancel();  // false: the result was cancelled
        }
      } else {
        run = this->SetRunningOrNotifyCancel();
      }
    } catch (...) {
      this->TrySetError(std::current_exception());
    }
    if (run) {
      CompleteWith([this]() -> decltype(auto) {
        if constexpr (!kValue) {
          return std::invoke(std::move(fn_.get()), std::as_const(source_));
        } else if constexpr (std::is_void_v<T>) {
          return std::invoke(std::move(fn_.get()));
        } else {
          return std::invoke(std::move(fn_.get()), source_.Result());
        }
      });
    }
    Release();
  }

  // Calls call() and completes the result with what it returns (or, for a future, with that
  // future's outcome once it is done) or with what it throws.
  template <typename Call>
  void CompleteWith(Call&& call) noexcept {
    using R = decltype(call());
    try {
      if constexpr (ThenResultOf<std::remove_cvref_t<R>>::kFlatten) {
        std::remove_cvref_t<R> inner = call();
        if (!inner.valid()) {
          throw std::invalid_argument("a Then continuation returned an invalid cf::Future");
        }
        inner.AddDoneCallback([ref = CompletingRef<U>(this)](const Future<U>& g) {
          ForwardOutcome(*ref, g);
        });
      } else if constexpr (std::is_void_v<R>) {
        call();
        this->SetValueWhileRunning();  // this link set its result running: the sole completer
      } else {
        this->SetValueWhileRunning(call());
      }
    } catch (...) {
      this->TrySetError(std::current_exception());
    }
  }

  void Dispatch() noexcept {
    exec_.dispatched = true;
    DispatchMarker marker{this};
    PushDispatchMarker(&marker);
    std::exception_ptr refused;
    bool owned = false;  // a callable owns the link (else a refusal must fail it here)
    try {
      if constexpr (PushesTasks<E>) {
        owned = true;
        TaskPusher<E>::Push(*exec_.executor, this);
      } else if constexpr (requires(E& e, RunOnExecutor<ThenState> run) {
                             e.Post(std::move(run));
                           }) {
        RunOnExecutor<ThenState> run(this);
        owned = true;
        exec_.executor->Post(std::move(run));
      } else {
        static_assert(requires(E& e, SharedRunOnExecutor<ThenState> run) { e.Submit(run); },
                      "Then(executor, fn): the executor needs a Submit(callable) or "
                      "Post(callable)");
        SharedRunOnExecutor<ThenState> run{std::make_shared<RunOnExecutor<ThenState>>(this)};
        owned = true;
        exec_.executor->Submit(std::move(run));
      }
    } catch (...) {
      refused = std::current_exception();  // e.g. cf::ShutdownError
      if (!owned) marker.dropped = true;
    }
    PopDispatchMarker(&marker);
    // Accepted: the link may already have run and be gone. Refused: the callable was
    // destroyed inside the call (marker.dropped), or the executor kept it (then it owns it).
    if (!marker.dropped) return;
    FailAndRelease(refused != nullptr ? refused : std::make_exception_ptr(BrokenPromise()));
  }

  void FailAndRelease(std::exception_ptr error) noexcept {
    this->TrySetError(std::move(error));
    Release();
  }

  // fn and the source handle go, then the link's own reference (which may free it).
  void Release() noexcept {
    fn_.reset();
    source_ = Future<T>();
    this->Unref();
  }

  [[no_unique_address]] ExecutorSlot<E> exec_;
  [[no_unique_address]] FnSlot<Fn> fn_;
  Future<T> source_;  // set once the source is done
};

// Registers a new link on `source` and returns its result.
template <bool kValue, typename U, typename T, typename Fn, typename E, typename F>
Future<U> Attach(SharedState<T>* source, E* executor, F&& fn) {
  auto* link = new ThenState<kValue, T, U, Fn, E>(executor, std::forward<F>(fn));
  Future<U> result = FutureAccess::FirstHandle<U>(link);
  source->AddCallbackNode(link);
  return result;
}

}  // namespace internal

template <typename T>
template <typename F>
auto Future<T>::Then(F&& fn) const {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn, const Future<T>&>,
                "Future<T>::Then(fn): fn must be callable with a const cf::Future<T>&");
  using U = internal::ThenResult<std::invoke_result_t<Fn, const Future<T>&>>;
  return internal::Attach<false, U, T, Fn>(checked("Then"), static_cast<internal::Inline*>(nullptr),
                                           std::forward<F>(fn));
}

template <typename T>
template <typename F>
auto Future<T>::ThenValue(F&& fn) const {
  using Fn = std::decay_t<F>;
  using U = internal::ThenResult<internal::ThenValueInvoked<Fn, T>>;
  return internal::Attach<true, U, T, Fn>(checked("ThenValue"),
                                          static_cast<internal::Inline*>(nullptr),
                                          std::forward<F>(fn));
}

template <typename T>
template <typename E, typename F>
auto Future<T>::Then(E& executor, F&& fn) const {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn, const Future<T>&>,
                "Future<T>::Then(executor, fn): fn must be callable with a const cf::Future<T>&");
  using U = internal::ThenResult<std::invoke_result_t<Fn, const Future<T>&>>;
  return internal::Attach<false, U, T, Fn>(checked("Then"), &executor, std::forward<F>(fn));
}

template <typename T>
template <typename E, typename F>
auto Future<T>::ThenValue(E& executor, F&& fn) const {
  using Fn = std::decay_t<F>;
  using U = internal::ThenResult<internal::ThenValueInvoked<Fn, T>>;
  return internal::Attach<true, U, T, Fn>(checked("ThenValue"), &executor, std::forward<F>(fn));
}

}  // namespace cf

#endif  // CF_CORE_INTERNAL_THEN_H_
