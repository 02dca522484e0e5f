// cf/core/compose.h — cf::WhenAll, cf::WhenAny and cf::Collect: futures made of futures.
//
// Each takes a std::vector of futures (or a braced list) and returns at once a new future that
// completes when its inputs allow (see docs/semantics.md §1.9):
//
//   WhenAll(fs)  → Future<std::vector<F>>: the same futures, in input order, once every one of
//                  them is done (finished or cancelled). It never fails. F is Future<T> or
//                  AnyFuture.
//   WhenAny(fs)  → Future<std::size_t>: the position in `fs` of the first input to become done
//                  (finished or cancelled). If several are already done at the call, the lowest
//                  position. An empty input gives a future already failed with
//                  std::invalid_argument ("cf::WhenAny of no futures").
//   Collect(fs)  → Future<std::vector<T>> (Future<void> for Future<void> inputs): the values, in
//                  input order, once every input has finished. It fails with the first exception
//                  to occur, in completion order; a cancelled input counts as a failure with
//                  cf::CancelledError. On that first failure it calls Cancel() on every input:
//                  those still pending are cancelled, running ones run on and are ignored.
//                  T must be copyable (values are copied out of their futures: Future::Result()
//                  hands out a const T&).
//
// Cancelled inputs count as done at once, as for cf::Wait (docs/semantics.md deviation 1). An
// empty input completes WhenAll and Collect at once with an empty vector (nothing for void).
// A future that appears several times is handled at each of its positions. A default-constructed
// (invalid) input throws std::invalid_argument from the call, before anything is registered.
//
// Nothing polls and nothing blocks: each call registers one done-callback per input (WhenAny
// stops registering once it has its answer), so the total work is O(n). The bookkeeping is one
// allocation shared by those callbacks, freed when the last of them has run (or has been
// destroyed with its input). An input that never completes keeps the result pending forever;
// nothing is leaked for it beyond that bookkeeping, which its callback holds until then.
//
// Thread safety: the calls may be made from any thread, concurrently with their inputs being
// completed or cancelled from any threads. The result is completed exactly once, in the thread
// whose input decided it (the last input to finish for WhenAll and a successful Collect; the
// first to finish for WhenAny; the first to fail for a failed Collect), or in the calling thread
// when the inputs already decide it. Its done-callbacks run there. Happens-before: the
// completion of every input that the result waited for happens-before the result's completion,
// and so before anything that observes it (Result(), Done(), its callbacks).
//
// Example:
//   cf::ThreadPoolExecutor pool(4);
//   std::vector<cf::Future<int>> parts;
//   for (int i = 0; i < 4; ++i) parts.push_back(pool.Submit(Square, i));
//   std::vector<int> squares = cf::Collect(parts).Result();       // {0, 1, 4, 9}, or throws
//   std::size_t first = cf::WhenAny(parts).Result();               // which finished first
//   cf::WhenAll(parts).AddDoneCallback([](const auto& all) { /* all.Result(): every input */ });
#ifndef CF_CORE_COMPOSE_H_
#define CF_CORE_COMPOSE_H_

#include <atomic>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "cf/core/errors.h"
#include "cf/core/future.h"

namespace cf {

namespace internal {

// Throws std::invalid_argument naming `function` and the position of the first invalid handle.
[[noreturn]] void ThrowInvalidComposeInput(const char* function, std::size_t position);
// The exception WhenAny's result fails with for an empty input.
std::exception_ptr EmptyWhenAnyError();

template <typename F>
void ValidateComposeInputs(const std::vector<F>& futures, const char* function) {
  for (std::size_t i = 0; i < futures.size(); ++i) {
    if (!futures[i].valid()) ThrowInvalidComposeInput(function, i);
  }
}

// The bookkeeping of one WhenAll/WhenAny/Collect call, shared by its done-callbacks through
// ComposeRef handles (an intrusive count, so each callback captures one pointer and fits in
// absl::AnyInvocable's inline storage). Freed when the last handle goes.
template <typename Derived>
class ComposeRef {
 public:
  explicit ComposeRef(Derived* state) noexcept : state_(state) {
    state_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  ComposeRef(ComposeRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  ComposeRef& operator=(ComposeRef&&) = delete;
  ~ComposeRef() {
    if (state_ != nullptr && state_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete state_;
    }
  }
  Derived* get() const { return state_; }
  Derived* operator->() const { return state_; }

 private:
  Derived* state_;
};

class ComposeStateBase {
 private:
  template <typename D>
  friend class ComposeRef;
  std::atomic<std::size_t> refs_{0};
};

// Counts the inputs still to arrive, plus one share for the registering call itself, so the
// result is not completed (and `futures` not moved out) while the call still reads the inputs.
template <typename F>
class WhenAllState : public ComposeStateBase {
 public:
  explicit WhenAllState(std::vector<F> futures)
      : futures_(std::move(futures)), remaining_(futures_.size() + 1) {}

  const std::vector<F>& futures() const { return futures_; }
  Future<std::vector<F>> result() const { return promise_.GetFuture(); }

  void Arrive() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // The last arrival: every input is done and every other arrival happened-before this one.
    promise_.SetResult(std::move(futures_));
  }

 private:
  std::vector<F> futures_;
  std::atomic<std::size_t> remaining_;
  Promise<std::vector<F>> promise_;
};

// A first-wins flag: the first arrival sets the result, the others only release their share.
class WhenAnyState : public ComposeStateBase {
 public:
  Future<std::size_t> result() const { return promise_.GetFuture(); }
  bool decided() const { return decided_.load(std::memory_order_acquire); }

  void Arrive(std::size_t position) {
    if (decided_.exchange(true, std::memory_order_acq_rel)) return;
    promise_.SetResult(position);
  }

 private:
  std::atomic<bool> decided_{false};
  Promise<std::size_t> promise_;
};

template <typename T>
using CollectResult = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;

// A first-failure flag and a countdown (inputs plus the registering call's share). Whoever sets
// the flag fails the result; the last arrival sets the values unless the flag is set. The flag
// is set before that arrival's decrement, so the last arrival always sees it: exactly one
// completion.
template <typename T>
class CollectState : public ComposeStateBase {
 public:
  explicit CollectState(std::vector<Future<T>> futures)
      : futures_(std::move(futures)), remaining_(futures_.size() + 1) {}

  const std::vector<Future<T>>& futures() const { return futures_; }
  Future<CollectResult<T>> result() const { return promise_.GetFuture(); }

  // `input` is done, or nullptr for the registering call's own share.
  void Arrive(const Future<T>* input) {
    if (input != nullptr) {
      std::exception_ptr error = input->Cancelled()
                                     ? std::make_exception_ptr(CancelledError())
                                     : input->Exception();  // done: does not block
      if (error != nullptr && !failed_.exchange(true, std::memory_order_acq_rel)) {
        // Cancel first, so that whoever sees the failure also sees the others cancelled.
        // Their callbacks (this function again) run here and find the flag set.
        for (const Future<T>& other : futures_) other.Cancel();
        promise_.SetException(std::move(error));
      }
    }
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      if constexpr (std::is_void_v<T>) {
        promise_.SetResult();
      } else {
        std::vector<T> values;
        values.reserve(futures_.size());
        for (const Future<T>& f : futures_) values.push_back(f.Result());
        promise_.SetResult(std::move(values));
      }
    } catch (...) {  // copying a value threw: that is the result
      promise_.TrySetException(std::current_exception());
    }
  }

 private:
  const std::vector<Future<T>> futures_;
  std::atomic<std::size_t> remaining_;
  std::atomic<bool> failed_{false};
  Promise<CollectResult<T>> promise_;
};

template <typename F>
Future<std::vector<F>> WhenAllOf(std::vector<F> futures) {
  ValidateComposeInputs(futures, "cf::WhenAll");
  ComposeRef<WhenAllState<F>> state(new WhenAllState<F>(std::move(futures)));
  Future<std::vector<F>> result = state->result();
  for (const F& f : state->futures()) {
    f.AddDoneCallback([ref = ComposeRef(state.get())](const F&) { ref->Arrive(); });
  }
  state->Arrive();  // the call's own share: from here on, the last input completes the result
  return result;
}

template <typename F>
Future<std::size_t> WhenAnyOf(const std::vector<F>& futures) {
  ValidateComposeInputs(futures, "cf::WhenAny");
  if (futures.empty()) return MakeExceptionalFuture<std::size_t>(EmptyWhenAnyError());
  ComposeRef<WhenAnyState> state(new WhenAnyState());
  Future<std::size_t> result = state->result();
  for (std::size_t i = 0; i < futures.size() && !state->decided(); ++i) {
    futures[i].AddDoneCallback(
        [ref = ComposeRef(state.get()), i](const F&) { ref->Arrive(i); });
  }
  return result;
}

}  // namespace internal

// The same futures, in input order, once all are done. Never fails.
template <typename T>
Future<std::vector<Future<T>>> WhenAll(std::vector<Future<T>> futures) {
  return internal::WhenAllOf(std::move(futures));
}
template <typename T>
Future<std::vector<Future<T>>> WhenAll(std::initializer_list<Future<T>> futures) {
  return internal::WhenAllOf(std::vector<Future<T>>(futures));
}
inline Future<std::vector<AnyFuture>> WhenAll(std::vector<AnyFuture> futures) {
  return internal::WhenAllOf(std::move(futures));
}

// The position of the first input to become done. An empty input: a future that has failed
// with std::invalid_argument.
template <typename T>
Future<std::size_t> WhenAny(const std::vector<Future<T>>& futures) {
  return internal::WhenAnyOf(futures);
}
template <typename T>
Future<std::size_t> WhenAny(std::initializer_list<Future<T>> futures) {
  return internal::WhenAnyOf(std::vector<Future<T>>(futures));
}
inline Future<std::size_t> WhenAny(const std::vector<AnyFuture>& futures) {
  return internal::WhenAnyOf(futures);
}

// The values in input order (Future<void> for void inputs), or the first failure, after which
// the inputs still pending are cancelled.
template <typename T>
Future<internal::CollectResult<T>> Collect(std::vector<Future<T>> futures) {
  static_assert(std::is_void_v<T> || std::is_copy_constructible_v<T>,
                "cf::Collect copies each value out of its future, whose Result() gives a const "
                "T&; a move-only T cannot be collected");
  internal::ValidateComposeInputs(futures, "cf::Collect");
  using State = internal::CollectState<T>;
  internal::ComposeRef<State> state(new State(std::move(futures)));
  Future<internal::CollectResult<T>> result = state->result();
  for (const Future<T>& f : state->futures()) {
    f.AddDoneCallback(
        [ref = internal::ComposeRef(state.get())](const Future<T>& done) { ref->Arrive(&done); });
  }
  state->Arrive(nullptr);
  return result;
}
template <typename T>
Future<internal::CollectResult<T>> Collect(std::initializer_list<Future<T>> futures) {
  return Collect(std::vector<Future<T>>(futures));
}

}  // namespace cf

#endif  // CF_CORE_COMPOSE_H_
