// cf/core/wait.h — cf::Wait and cf::AsCompleted: Python's concurrent.futures.wait and
// as_completed over many futures at once.
//
// Both accept any range whose elements are Future<T> or AnyFuture (a std::vector, a std::set,
// ...), or a map keyed by them — std::map, std::unordered_map, absl's hash maps (the
// `future_to_url` pattern: the key is the future) — plus braced lists: Wait({f1, f2}).
// Duplicates are collapsed (each future counted once), and the results keep input order.
//
// Neither polls. Each registers one waiter node on every pending future; a future that
// completes (or is cancelled) notifies its waiters in the completing thread, so Wait returns
// and AsCompleted yields within microseconds of the completion that satisfies it, and
// AsCompleted over n futures costs O(n) in total.
//
// Difference from CPython (docs/semantics.md deviation 1): a cancelled future is done here as
// soon as Cancel() returns; CPython keeps it "not done" for wait/as_completed until an executor
// notices.
//
// Thread safety: both may be called from any thread, concurrently with the futures being
// completed, cancelled or waited on elsewhere. An AsCompleted range object is used by one
// thread at a time.
//
// Example:
//   std::vector<cf::Future<int>> fs = ...;
//   auto [done, not_done] = cf::Wait(fs, absl::Seconds(1), cf::ReturnWhen::kFirstCompleted);
//   for (const cf::Future<int>& f : cf::AsCompleted(fs, absl::Seconds(10))) use(f.Result());
#ifndef CF_CORE_WAIT_H_
#define CF_CORE_WAIT_H_

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/future.h"
#include "cf/core/timeout.h"

namespace cf {

// Python's FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class ReturnWhen { kFirstCompleted, kFirstException, kAllCompleted };

// Python's DoneAndNotDoneFutures(done, not_done), as vectors in input order.
template <typename F>
struct DoneAndNotDone {
  std::vector<F> done;
  std::vector<F> not_done;
};

namespace internal {

template <typename E>
struct IsFutureHandle : std::false_type {};
template <typename T>
struct IsFutureHandle<Future<T>> : std::true_type {};
template <>
struct IsFutureHandle<AnyFuture> : std::true_type {};

// The future type a range element stands for: the element itself, or a map entry's key.
template <typename E, typename = void>
struct FutureOfElement {
  using type = E;
};
template <typename E>
struct FutureOfElement<E, std::enable_if_t<!IsFutureHandle<E>::value,
                                           std::void_t<decltype(std::declval<E&>().first)>>> {
  using type = std::remove_cvref_t<decltype(std::declval<E&>().first)>;
};

template <typename Range>
using RangeElement = std::remove_cvref_t<decltype(*std::begin(std::declval<const Range&>()))>;

template <typename Range>
using FutureOfRange = typename FutureOfElement<RangeElement<Range>>::type;

template <typename E>
const auto& FutureOf(const E& element) {
  if constexpr (IsFutureHandle<E>::value) {
    return element;
  } else {
    return element.first;
  }
}

// Copies the distinct futures of `range` into `futures` (input order) and their states into
// `states`.
template <typename F, typename Range>
void CollectUnique(const Range& range, std::vector<F>& futures, std::vector<StateBase*>& states) {
  static_assert(IsFutureHandle<F>::value,
                "cf::Wait/cf::AsCompleted need a range of cf::Future<T> or cf::AnyFuture, or a "
                "map keyed by them");
  absl::flat_hash_set<const StateBase*> seen;
  if constexpr (requires { std::size(range); }) {
    const size_t n = std::size(range);
    futures.reserve(n);
    states.reserve(n);
    seen.reserve(n);
  }
  for (const auto& element : range) {
    const F& f = FutureOf(element);
    StateBase* s = FutureAccess::State(f);
    if (s == nullptr) ThrowInvalidFuture("Wait/AsCompleted (an element)");
    if (seen.insert(s).second) {
      futures.push_back(f);
      states.push_back(s);
    }
  }
}

// Waits as Wait() describes; returns one done flag per state.
std::vector<char> WaitForStates(const std::vector<StateBase*>& states, absl::Duration timeout,
                                ReturnWhen return_when);

// The engine behind AsCompleted: registers on every future, then hands out indices of done
// futures — those already done first (input order), then in completion order.
class CompletionQueue {
 public:
  explicit CompletionQueue(std::vector<StateBase*> states);
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;
  // Unregisters from every future; no notification runs after it returns.
  ~CompletionQueue();

  // Index of the next done future, -1 when all were handed out. Throws TimeoutError
  // ("2 (of 4) futures unfinished") when the deadline passes first.
  int64_t Next(absl::Time deadline);

 private:
  class Waiter;
  std::vector<StateBase*> states_;
  std::unique_ptr<WaiterNode[]> nodes_;
  std::unique_ptr<Waiter> waiter_;
  std::vector<uint32_t> batch_;  // ready indices taken from the waiter, consumed from pos_
  size_t pos_ = 0;
  size_t handed_out_ = 0;
};

}  // namespace internal

// Blocks until `return_when` is satisfied or `timeout` passes (an absl::Duration or a
// std::chrono duration; negative or zero: just checks),
// then returns the done and not-done futures, each in input order. Never throws TimeoutError.
//   kFirstCompleted: any future is done.
//   kFirstException: any future finished with an exception, or all are done.
//   kAllCompleted:   all are done.
template <typename Range>
auto Wait(const Range& futures, Timeout timeout = absl::InfiniteDuration(),
          ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  using F = internal::FutureOfRange<Range>;
  std::vector<F> unique;
  std::vector<internal::StateBase*> states;
  internal::CollectUnique<F>(futures, unique, states);
  const std::vector<char> done =
      internal::WaitForStates(states, timeout.duration(), return_when);
  DoneAndNotDone<F> out;
  for (size_t i = 0; i < unique.size(); ++i) {
    (done[i] ? out.done : out.not_done).push_back(std::move(unique[i]));
  }
  return out;
}
template <typename F>
auto Wait(std::initializer_list<F> futures, Timeout timeout = absl::InfiniteDuration(),
          ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  return Wait<std::initializer_list<F>>(futures, timeout, return_when);
}

// The range AsCompleted returns: an input range of futures, each yielded once, as they become
// done. Iteration (begin()) starts the timeout clock, like Python's first next(); begin() and
// ++ block until the next future is done and throw TimeoutError
// ("<pending> (of <total>) futures unfinished") when the deadline passes first.
// Destroying the range (e.g. breaking out of the loop) unregisters from the futures.
template <typename F>
class AsCompletedRange {
 public:
  class iterator {
   public:
    using value_type = F;
    using difference_type = std::ptrdiff_t;
    const F& operator*() const { return range_->current_; }
    const F* operator->() const { return &range_->current_; }
    iterator& operator++() {
      range_->Advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class AsCompletedRange;
    explicit iterator(AsCompletedRange* range) : range_(range) {}
    bool at_end() const { return range_->exhausted_; }
    AsCompletedRange* range_;
  };

  AsCompletedRange(std::vector<F> futures, std::vector<internal::StateBase*> states,
                   absl::Duration timeout)
      : futures_(std::move(futures)), states_(std::move(states)), timeout_(timeout) {}
  AsCompletedRange(AsCompletedRange&&) = default;
  AsCompletedRange& operator=(AsCompletedRange&&) = default;

  iterator begin() {
    if (queue_ == nullptr && !exhausted_) {
      deadline_ = timeout_ == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                       : absl::Now() + timeout_;
      queue_ = std::make_unique<internal::CompletionQueue>(std::move(states_));
      Advance();
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const { return std::default_sentinel; }

 private:
  void Advance() {
    const int64_t next = queue_->Next(deadline_);
    if (next < 0) {
      exhausted_ = true;
      current_ = F();
      return;
    }
    current_ = futures_[next];
  }

  std::vector<F> futures_;
  std::vector<internal::StateBase*> states_;
  absl::Duration timeout_;
  absl::Time deadline_;
  std::unique_ptr<internal::CompletionQueue> queue_;
  F current_;
  bool exhausted_ = false;
};

// Yields each distinct future of `futures` once as it completes: those already done first (in
// input order), then in completion order. `timeout` counts from the start of iteration.
template <typename Range>
auto AsCompleted(const Range& futures, Timeout timeout = absl::InfiniteDuration()) {
  using F = internal::FutureOfRange<Range>;
  std::vector<F> unique;
  std::vector<internal::StateBase*> states;
  internal::CollectUnique<F>(futures, unique, states);
  return AsCompletedRange<F>(std::move(unique), std::move(states), timeout.duration());
}
template <typename F>
auto AsCompleted(std::initializer_list<F> futures, Timeout timeout = absl::InfiniteDuration()) {
  return AsCompleted<std::initializer_list<F>>(futures, timeout);
}

}  // namespace cf

#endif  // CF_CORE_WAIT_H_
